package signer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	secretID     = "LTAI5tSecretKeyId0001"
	secretSecret = "s3cr3t-access-key-secret"
	secretToken  = "CAISsecret-security-token"
)

// leaks reports which secret s contains, if any.
func leaks(s string) string {
	for _, secret := range []string{secretSecret, secretToken, secretID} {
		if strings.Contains(s, secret) {
			return secret
		}
	}
	return ""
}

func TestCredentialsRedaction(t *testing.T) {
	c := Credentials{AccessKeyID: secretID, AccessKeySecret: secretSecret, SecurityToken: secretToken}
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs[verb] = fmt.Sprintf(verb, c)
		outputs["&"+verb] = fmt.Sprintf(verb, &c)
		outputs["struct "+verb] = fmt.Sprintf(verb, struct{ C Credentials }{c})
	}
	outputs["String"] = c.String()
	outputs["GoString"] = c.GoString()
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("signing", "cred", c, "ptr", &c)
		outputs[buf.String()[:5]+" slog"] = buf.String()
	}
	for name, out := range outputs {
		if s := leaks(out); s != "" {
			t.Errorf("%s output %q leaks %q", name, out, s)
		}
	}
	if !strings.Contains(outputs["%v"], MaskID(secretID)) || !strings.Contains(outputs["%v"], "[REDACTED]") {
		t.Errorf("%%v = %q, want the masked id and [REDACTED]", outputs["%v"])
	}
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("x", "cred", c)
	if !strings.Contains(js.String(), `"access_key_id":"LTAI****0001"`) || !strings.Contains(js.String(), `"sts":true`) {
		t.Errorf("slog JSON = %s", js.String())
	}
}

func TestMaskID(t *testing.T) {
	for in, want := range map[string]string{"": "****", "short": "****", "12345678": "****", "LTAI5tSecretKeyId0001": "LTAI****0001"} {
		if got := MaskID(in); got != want {
			t.Errorf("MaskID(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoSecretsInErrorsOrLogs checks that what the verifier and parsers
// return (errors, Result, Authorization) never prints a secret, a token
// or a signature.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	cred := Credentials{AccessKeyID: secretID, AccessKeySecret: secretSecret, SecurityToken: secretToken}
	var outputs []string
	for _, c := range signedCases(t) {
		c.cred = cred
		r := mTemplate()
		if c.version == 4 {
			_ = (&V4{Region: "cn-hangzhou"}).Sign(r, cred, mBucket, mKey, mTime)
		} else {
			_ = V1{}.Sign(r, cred, mBucket, mKey, mTime)
		}
		a, err := ParseAuthorization(r.Header.Get("Authorization"))
		if err != nil || len(a.Signature) < 20 {
			t.Fatalf("parsing our own Authorization: %+v %v", a, err)
		}
		sig := a.Signature
		in := inbound(t, r.Method, r.URL.String(), r.Header)
		res, err := c.verify(in, mKey)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("verified", "result", res, "authz", a)
		outputs = append(outputs, fmt.Sprintf("%v %+v %#v %v %+v", res, res, res, a, a), buf.String())
		// Every failure mode's error text.
		for _, bad := range []*Verifier{
			{Region: "cn-hangzhou", Keys: staticKeys()},
			{Region: "cn-hangzhou", Keys: staticKeys(Credentials{AccessKeyID: secretID, AccessKeySecret: "other", SecurityToken: secretToken})},
			{Region: "cn-hangzhou", Keys: staticKeys(Credentials{AccessKeyID: secretID, AccessKeySecret: secretSecret, SecurityToken: "other"})},
		} {
			_, err := bad.Verify(context.Background(), in, mBucket, mKey, mTime)
			if err == nil {
				t.Fatal("want an error")
			}
			outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err))
		}
		for _, o := range outputs {
			if s := leaks(strings.ReplaceAll(o, MaskID(secretID), "")); s != "" && s != secretID {
				t.Errorf("output %q leaks %q", o, s)
			}
			if strings.Contains(o, sig) {
				t.Errorf("output %q contains the signature", o)
			}
		}
	}
	if err := (&V4{}).Sign(mTemplate(), cred, "b", "k", mTime); !errors.Is(err, ErrMissingRegion) || leaks(err.Error()) != "" {
		t.Errorf("Sign without region: %v", err)
	}
}
