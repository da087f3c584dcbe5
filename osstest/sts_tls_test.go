package osstest

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsDoNotPrint(t *testing.T) {
	acct := NewAccount(testAccountID, nil)
	o, err := NewOIDCIssuer(acct, "p", "https://iss.test")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := NewTestCA("emulator.test")
	if err != nil {
		t.Fatal(err)
	}
	d := o.key.D.String()[:12] // a slice of the private exponent
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "issuer", o, "ca", ca)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprint(ca), fmt.Sprintf("%#v", ca), fmt.Sprintf("%#v", o), buf.String()} {
		if strings.Contains(s, d) || strings.Contains(s, "PrivateKey") || strings.Contains(s, "-----BEGIN") {
			t.Errorf("printed key material: %s", s)
		}
	}
	if !strings.Contains(buf.String(), o.ARN) {
		t.Errorf("log lacks the issuer ARN: %s", buf.String())
	}
}

func TestTestCAServesExtraHostnames(t *testing.T) {
	ca, err := NewTestCA("emulator.test", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	leaf := ca.ServerTLSConfig().Certificates[0].Leaf
	if leaf == nil {
		t.Fatal("server certificate has no parsed leaf")
	}
	for _, h := range []string{"localhost", "127.0.0.1", "emulator.test", "10.1.2.3"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
}
