package config_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/proxy"
)

const hmac32 = "0123456789abcdef0123456789abcdef"

// good is a small valid configuration; bad cases are built by replacing
// one of its lines, so every expected line number refers to this text.
const good = `listeners:
  - name: main
    address: "127.0.0.1:0"
    anonymous: true
auth:
  issuers:
    - issuer: https://idp.test
      audiences: [ossproxy]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
  access_keys:
    - id: AKID
      secret: ${AK_SECRET}
policy:
  rules:
    - subjects: [alice]
      buckets: [data]
      prefixes: ["users/${sub}/"]
      actions: [read, list]
buckets:
  - name: data
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
credentials:
  source: static
  access_key_id: UPSTREAM
  access_key_secret: ${UP_SECRET:-fallback}
`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var goodEnv = env(map[string]string{"HMAC": hmac32, "AK_SECRET": "ak-secret-value"})

func TestParseGood(t *testing.T) {
	cfg, err := config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auth.Issuers[0].HMACSecret.Reveal(); got != hmac32 {
		t.Errorf("hmac secret not expanded: %d bytes", len(got))
	}
	if got := cfg.Credentials.AccessKeySecret.Reveal(); got != "fallback" {
		t.Errorf("default not used: %q", got)
	}
	if got := cfg.Policy.Rules[0].Prefixes[0]; got != "users/${sub}/" {
		t.Errorf("policy template was expanded: %q", got)
	}
	if got := cfg.Policy.Rules[0].Actions; len(got) != 2 || got[0] != auth.ActionRead || got[1] != auth.ActionList {
		t.Errorf("actions = %v", got)
	}
	ac := cfg.AuthConfig()
	if ac.AccessKeyRegion != "cn-hangzhou" || !ac.Anonymous.Enabled || string(ac.AccessKeys[0].Secret) != "ak-secret-value" {
		t.Errorf("AuthConfig = %+v", ac)
	}
	if cfg.Listeners[0].Timeouts.ReadHeaderOrDefault() != 10*time.Second || cfg.Listeners[0].MaxHeaderBytesOrDefault() != 64<<10 {
		t.Error("listener defaults")
	}
	// Printing the config, with any verb, never shows a secret.
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, hmac32) || strings.Contains(s, "ak-secret-value") || strings.Contains(s, "fallback") {
			t.Errorf("secret printed: %s", s)
		}
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("cfg", "secret", cfg.Auth.AccessKeys[0].Secret)
	if strings.Contains(b.String(), "ak-secret-value") || !strings.Contains(b.String(), "REDACTED") {
		t.Errorf("slog: %s", b.String())
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replace old (one line of good) with new
		env      map[string]string
		line     int
		msg      string
	}{
		{"unknown field", "    anonymous: true", "    anonymous: true\n    anonymus: false", nil, 5, `unknown field "anonymus" in listeners`},
		{"anonymous on public listener", `    address: "127.0.0.1:0"`, `    address: "0.0.0.0:8080"`, nil, 4, "anonymous access is only allowed on a loopback or unix listener"},
		{"no pinned algorithm", "      algorithms: [HS256]", "      algorithms: []", nil, 9, "has no pinned algorithm"},
		{"alg none", "      algorithms: [HS256]", "      algorithms: [none]", nil, 9, "algorithm none is never accepted"},
		{"http jwks", "      hmac_secret: ${HMAC}", "      jwks_url: http://idp.test/jwks", nil, 10, "uses plain http"},
		{"short hmac", "", "", map[string]string{"HMAC": "short-secret", "AK_SECRET": "x"}, 10, "hmac_secret is 12 bytes; at least 32"},
		{"missing env", "", "", map[string]string{"HMAC": hmac32}, 13, "environment variable AK_SECRET is not set"},
		{"bucket without region", "    region: cn-hangzhou", "", nil, 21, `bucket "data" has no region`},
		{"duplicate listener", `    anonymous: true`, "    anonymous: true\n  - address: \"127.0.0.1:9000\"\n  - address: \"127.0.0.1:9000\"", nil, 6, "duplicate listener: tcp 127.0.0.1:9000"},
		{"rule names unknown bucket", "      buckets: [data]", "      buckets: [data, photos]", nil, 17, `rule 1 names unknown bucket "photos"`},
		{"bad action", "      actions: [read, list]", "      actions: [read, fly]", nil, 19, `parsing action "fly"`},
		{"bad duration", "  access_key_id: UPSTREAM", "  access_key_id: UPSTREAM\n  duration: forever", nil, 27, "cannot unmarshal !!str `forever` into time.Duration"},
		{"field of another source", "  access_key_id: UPSTREAM", "  access_key_id: UPSTREAM\n  role_arn: acs:ram::1:role/x", nil, 27, "role_arn is not used by credentials source static"},
		{"http endpoint", "    endpoint: https://oss-cn-hangzhou.aliyuncs.com", "    endpoint: http://127.0.0.1:9000", nil, 22, "uses plain http"},
		{"bad source", "  source: static", "  source: magic", nil, 25, `credentials source "magic" is not one of`},
		{"unknown top-level", "policy:", "polcy:\n  rules: []\npolicy:", nil, 14, `unknown field "polcy"`},
		{"set twice", "    region: cn-hangzhou", "    region: cn-hangzhou\n    region: cn-beijing", nil, 24, `"region" is set twice`},
		{"bad env syntax", "      hmac_secret: ${HMAC}", "      hmac_secret: ${HMAC-x}", nil, 10, "bad environment reference"},
		{"unix socket mode on tcp", `    anonymous: true`, "    anonymous: true\n    socket_mode: \"0660\"", nil, 5, "socket_mode is only for unix listeners"},
		{"syntax error", "    region: cn-hangzhou", "    region: [cn-hangzhou", nil, 22, "did not find expected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := good
			if tc.old != "" {
				if !strings.Contains(text, tc.old+"\n") {
					t.Fatalf("test bug: %q not in good config", tc.old)
				}
				text = strings.Replace(text, tc.old+"\n", tc.new+"\n", 1)
			}
			getenv := goodEnv
			if tc.env != nil {
				getenv = env(tc.env)
			}
			_, err := config.Parse("bad.yaml", []byte(text), config.Options{Getenv: getenv})
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var es config.Errors
			if !errors.As(err, &es) {
				t.Fatalf("err is %T", err)
			}
			for _, e := range es {
				if e.File == "bad.yaml" && e.Line == tc.line && strings.Contains(e.Msg, tc.msg) {
					if !strings.HasPrefix(e.Error(), fmt.Sprintf("bad.yaml:%d: ", tc.line)) {
						t.Errorf("Error() = %q", e.Error())
					}
					return
				}
			}
			t.Errorf("want line %d %q, got:\n%v", tc.line, tc.msg, err)
		})
	}
}

func TestSecretFilesAndRelativePaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("hmac", hmac32+"\n")
	write("ak", "file-secret\n")
	text := strings.Replace(good, "      hmac_secret: ${HMAC}", "      hmac_secret_file: hmac", 1)
	text = strings.Replace(text, "      secret: ${AK_SECRET}", "      secret_file: ak", 1)
	path := filepath.Join(dir, "c.yaml")
	write("c.yaml", text)
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.Issuers[0].HMACSecret.Reveal() != hmac32 || cfg.Auth.AccessKeys[0].Secret.Reveal() != "file-secret" {
		t.Error("secret files not read or not trimmed")
	}
	// A missing file is an error at its line, without the file contents.
	text = strings.Replace(text, "secret_file: ak", "secret_file: nope", 1)
	write("c.yaml", text)
	_, err = config.Load(path, config.Options{})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:13: reading nope") {
		t.Fatalf("err = %v", err)
	}
	// Both value and file: refused.
	text = strings.Replace(text, "secret_file: nope", "secret_file: ak\n      secret: x", 1)
	write("c.yaml", text)
	if _, err = config.Load(path, config.Options{}); err == nil || !strings.Contains(err.Error(), "secret and secret_file are both set") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnixListenerAndEnvTypes(t *testing.T) {
	text := strings.Replace(good, `    address: "127.0.0.1:0"`, "    network: unix\n    address: ${SOCK}\n    socket_mode: \"0660\"\n    max_header_bytes: ${MHB}", 1)
	cfg, err := config.Parse("/etc/ossproxy/c.yaml", []byte(text), config.Options{Getenv: env(map[string]string{
		"HMAC": hmac32, "AK_SECRET": "x", "SOCK": "run/p.sock", "MHB": "4096"})})
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Listeners[0]
	if l.Address != "/etc/ossproxy/run/p.sock" || l.SocketMode.Perm() != 0o660 || l.MaxHeaderBytes != 4096 {
		t.Errorf("listener = %+v", l)
	}
}

func TestProxyConfigInline(t *testing.T) {
	text := good + "default_bucket: data\nvirtual_host_suffixes: [oss.local]\n"
	text = strings.Replace(text, "    region: cn-hangzhou", "    region: cn-hangzhou\n    signature_version: v1\n    addressing_style: path", 1)
	cfg, err := config.Parse("c.yaml", []byte(text), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Proxy.Buckets[0]
	if cfg.Proxy.DefaultBucket != "data" || cfg.Proxy.VirtualHostSuffixes[0] != "oss.local" ||
		b.SignatureVersion != proxy.SignatureV1 || b.AddressingStyle != proxy.PathStyle {
		t.Errorf("proxy config = %+v", cfg.Proxy)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(opsGood))
	f.Add([]byte("listeners: [{address: ${X:-a}}]\n"))
	f.Add([]byte("a: &x 1\nb: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("f.yaml", data, config.Options{Getenv: goodEnv, ReadFile: func(string) ([]byte, error) {
			return nil, os.ErrNotExist
		}})
		if err == nil {
			if cfg == nil || len(cfg.Listeners) == 0 || len(cfg.Proxy.Buckets) == 0 {
				t.Fatal("valid config without listeners or buckets")
			}
			return
		}
		if !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		if strings.Contains(err.Error(), hmac32) {
			t.Fatal("secret in error")
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIssuerKeyFiles(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "issuer.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(good, "      algorithms: [HS256]\n      hmac_secret: ${HMAC}\n", "      algorithms: [RS256]\n      key_files: [issuer.pem]\n", 1)
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(t.Context(), cfg.AuthConfig())
	if err != nil {
		t.Fatalf("auth.New with the file's key: %v", err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://idp.test", "aud": "ossproxy", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/data/users/alice/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	p, err := a.Authenticate(t.Context(), r, auth.Target{Bucket: "data", Key: "users/alice/x"})
	if err != nil || p.Name != "alice" {
		t.Fatalf("token signed with the key in key_files: %v", err)
	}
	// A missing key file names the file and line.
	text = strings.Replace(text, "[issuer.pem]", "[nope.pem]", 1)
	_, err = config.Parse(path, []byte(text), config.Options{Getenv: goodEnv})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:10: reading nope.pem") {
		t.Fatalf("err = %v", err)
	}
}
