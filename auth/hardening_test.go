package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/auth"
)

// hardIdP is an identity provider on a real listener: a discovery
// document whose jwks_uri each test chooses, and the JWKS of one RSA key.
type hardIdP struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	jwksURI  func(issuer string) string // the discovery document's jwks_uri
	redirect string                     // non-empty: discovery answers 302 to it
	jwksTo   string                     // non-empty: /jwks answers 302 to it
}

func newHardIdP(t *testing.T, key *rsa.PrivateKey, tls bool) *hardIdP {
	t.Helper()
	p := &hardIdP{key: key, jwksURI: func(iss string) string { return iss + "/jwks" }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if p.redirect != "" {
			http.Redirect(w, r, p.redirect, http.StatusFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.jwksURI(p.srv.URL)})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		if p.jwksTo != "" {
			http.Redirect(w, r, p.jwksTo, http.StatusFound)
			return
		}
		writeHardJWKS(w, &key.PublicKey)
	})
	if tls {
		p.srv = httptest.NewTLSServer(mux)
	} else {
		p.srv = httptest.NewServer(mux)
	}
	t.Cleanup(p.srv.Close)
	return p
}

func writeHardJWKS(w http.ResponseWriter, pub *rsa.PublicKey) {
	b64 := base64.RawURLEncoding.EncodeToString
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// hardCanary is a plain-http listener that must never be asked for
// anything: it stands for a key server reached without TLS.
type hardCanary struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newHardCanary(t *testing.T, pub *rsa.PublicKey) *hardCanary {
	t.Helper()
	c := &hardCanary{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		writeHardJWKS(w, pub) // the right keys: only the transport is wrong
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// TestDiscoveryRefusesPlainHTTPKeys: an https issuer cannot send the
// proxy to fetch its keys in plaintext: a discovery document with an
// http jwks_uri is a start-up error that says why, and a redirect from
// https to http (of the discovery document or of the JWKS) is not
// followed. An http issuer (tests, the demo, on loopback) may still
// publish http keys. The plaintext server sees no request.
func TestDiscoveryRefusesPlainHTTPKeys(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     bool
		setup   func(p *hardIdP, canary string)
		wantErr string // New fails with it; "" : New succeeds
		is      error
		names   func(canary string) string // the URL the error names, quoted
		works   bool                       // a token signed with the key verifies
	}{
		{name: "https issuer, https jwks_uri", tls: true, works: true},
		{name: "http issuer, http jwks_uri (loopback tests)", tls: false, works: true},
		{name: "https issuer, http jwks_uri", tls: true,
			setup:   func(p *hardIdP, canary string) { p.jwksURI = func(string) string { return canary + "/jwks" } },
			wantErr: "uses plain http while the issuer uses https", is: auth.ErrInvalidConfig,
			names: func(canary string) string { return `jwks_uri "` + canary + `/jwks"` }},
		{name: "https issuer, http jwks_uri in upper case", tls: true,
			setup: func(p *hardIdP, canary string) {
				p.jwksURI = func(string) string { return "HTTP" + strings.TrimPrefix(canary, "http") + "/jwks" }
			},
			wantErr: "uses plain http while the issuer uses https", is: auth.ErrInvalidConfig,
			// Named as parsed (the scheme in lower case), with no password.
			names: func(canary string) string { return `jwks_uri "` + canary + `/jwks"` }},
		{name: "https issuer, http jwks_uri with a password", tls: true,
			setup: func(p *hardIdP, canary string) {
				p.jwksURI = func(string) string {
					return "http://keys:hunter2@" + strings.TrimPrefix(canary, "http://") + "/jwks"
				}
			},
			wantErr: "uses plain http while the issuer uses https", is: auth.ErrInvalidConfig,
			names: func(canary string) string {
				return `jwks_uri "http://keys:xxxxx@` + strings.TrimPrefix(canary, "http://") + `/jwks"`
			}},
		{name: "https discovery redirected to http", tls: true,
			setup:   func(p *hardIdP, canary string) { p.redirect = canary + "/.well-known/openid-configuration" },
			wantErr: "refusing a redirect from https to http", is: auth.ErrInsecureRedirect,
			names: func(canary string) string { return "to " + canary + ":" }},
		{name: "https jwks_uri redirected to http", tls: true,
			setup: func(p *hardIdP, canary string) { p.jwksTo = canary + "/jwks" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newHardIdP(t, key, tc.tls)
			canary := newHardCanary(t, &key.PublicKey)
			if tc.setup != nil {
				tc.setup(p, canary.srv.URL)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel() // stops the JWKS refresh goroutine
			a, err := auth.New(ctx, auth.Config{
				Issuers: []auth.IssuerConfig{{
					Issuer: p.srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"},
					Discovery: true, KeyLookupTimeout: 5 * time.Second,
				}},
				HTTPClient: p.srv.Client(), // trusts the TLS issuer; plain http works too
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, tc.is) {
					t.Fatalf("New: %v, want an error with %q", err, tc.wantErr)
				}
				if w := tc.names(canary.srv.URL); !strings.Contains(err.Error(), w) {
					t.Fatalf("New: %v, want it to name %s", err, w)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("New: the error shows the jwks_uri's password: %v", err)
				}
				if n := canary.hits.Load(); n != 0 {
					t.Fatalf("the plaintext server got %d requests", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			jt := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
				"iss": p.srv.URL, "aud": "ossproxy", "sub": "alice",
				"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
			})
			jt.Header["kid"] = "k1"
			tok, err := jt.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://proxy/data/x", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			_, err = a.Authenticate(ctx, r, auth.Target{Bucket: "data", Key: "x"})
			if tc.works != (err == nil) {
				t.Fatalf("Authenticate: %v (want success: %v)", err, tc.works)
			}
			if n := canary.hits.Load(); n != 0 {
				t.Fatalf("the plaintext server got %d requests", n)
			}
		})
	}
}

// TestPolicyRejectsGlobPrefixes: a prefix with '*' is a configuration
// error naming the rule and the prefix, saying prefixes are literal and
// what to write instead (it used to compile and silently deny). Literal
// prefixes, ${claim} templates and a '?' (legal in keys) still work.
func TestPolicyRejectsGlobPrefixes(t *testing.T) {
	tests := []struct {
		prefix  string
		wantErr []string // substrings; nil: compiles
	}{
		{"logs/*", []string{`rule 1 ("r")`, `prefix "logs/*"`, "literal", `write "logs/"`}},
		{"logs/*.gz", []string{`prefix "logs/*.gz"`, `write "logs/"`}},
		{"*", []string{`prefix "*"`, "omit prefixes"}},
		{"logs/2026*", []string{`write "logs/2026" to grant every key starting with it (or "logs/" for a folder)`}},
		{"users/${sub}/*", []string{`prefix "users/${sub}/*"`, `write "users/${sub}/"`}},
		{"logs/", nil},
		{"users/${sub}/", nil},
		{"a?b/", nil},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			pol, err := auth.NewPolicy([]auth.Rule{{Name: "r", Subjects: []string{"alice"}, Buckets: []string{"data"},
				Prefixes: []string{tc.prefix}, Actions: []auth.Action{auth.ActionRead}}})
			if tc.wantErr != nil {
				if !errors.Is(err, auth.ErrInvalidPolicy) {
					t.Fatalf("NewPolicy: %v, want ErrInvalidPolicy", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("NewPolicy: %v", err)
			}
			p := &auth.Principal{Name: "alice", Mode: auth.ModeJWT, Subject: "alice", Claims: map[string]any{"sub": "alice"}}
			key := strings.Replace(tc.prefix, "${sub}", "alice", 1) + "x.txt"
			if err := pol.Authorize(p, auth.ActionRead, "data", key); err != nil {
				t.Fatalf("Authorize(%q): %v", key, err)
			}
		})
	}
}
