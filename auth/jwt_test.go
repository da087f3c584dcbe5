package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// testClock is an injected clock that tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// RSA key generation is slow under -race; share a few keys.
var testRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// jwksServer is a real JWKS endpoint whose key set, availability and
// latency tests change at run time.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []signingKey
	status  int           // 0: 200
	hang    chan struct{} // non-nil: requests block until it is closed
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T, keys ...signingKey) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", s.serveJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": s.URL, "jwks_uri": s.URL + "/jwks"})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		if s.hang != nil {
			close(s.hang)
			s.hang = nil
		}
		s.mu.Unlock()
		s.Close()
	})
	return s
}

func (s *jwksServer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	keys, status, hang := s.keys, s.status, s.hang
	s.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	var set jwkset.JWKSMarshal
	for _, k := range keys {
		jwk, err := jwkset.NewJWKFromKey(&k.key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (s *jwksServer) setKeys(keys ...signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

func (s *jwksServer) setHang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = make(chan struct{})
}

// claimsAt returns valid claims for iss at now.
func claimsAt(iss string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": iss, "aud": "ossproxy", "sub": "alice",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"groups": []string{"staff"}, "roles": "auditor",
	}
}

func signRS(t testing.TB, k signingKey, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if k.kid != "" {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testHTTPClient() *http.Client { return &http.Client{Timeout: 5 * time.Second} }

func bearerRequest(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://proxy.local/home/users/alice/a.txt", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

func newTestAuthenticator(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = testHTTPClient()
	}
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestJWTErrors(t *testing.T) {
	keys := testRSAKeys()
	k1 := signingKey{"k1", keys[0]}
	other := signingKey{"k1", keys[1]} // same kid, wrong key
	srv := newJWKSServer(t, k1)
	clock := newTestClock()
	now := clock.Now()
	var logs bytes.Buffer
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{{
			Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"},
			JWKSURL:        srv.URL + "/jwks",
			RequiredClaims: []ClaimRequirement{{Claim: "groups", Values: []string{"staff"}}},
		}},
		MaxTokenSize: 4096,
		Now:          clock.Now,
		Logger:       slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	with := func(edit func(c jwt.MapClaims)) jwt.MapClaims {
		c := claimsAt(srv.URL, now)
		edit(c)
		return c
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsWithPub := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt(srv.URL, now))
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	algNone := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(srv.URL, now)).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tampered := func() string {
		good := signRS(t, k1, claimsAt(srv.URL, now))
		parts := strings.Split(good, ".")
		evil := with(func(c jwt.MapClaims) { c["sub"] = "root" })
		b, _ := json.Marshal(evil)
		parts[1] = jwtB64(b)
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name string
		tok  string
		want *Error // nil: accepted
	}{
		{"valid", signRS(t, k1, claimsAt(srv.URL, now)), nil},
		{"valid within leeway", signRS(t, k1, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-10 * time.Second).Unix() })), nil},
		{"expired", signRS(t, k1, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), ErrTokenExpired},
		{"nbf in future", signRS(t, k1, with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), ErrTokenNotYetValid},
		{"iat in future", signRS(t, k1, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })), ErrTokenNotYetValid},
		{"wrong iss", signRS(t, k1, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })), ErrTokenIssuer},
		{"no iss", signRS(t, k1, with(func(c jwt.MapClaims) { delete(c, "iss") })), ErrTokenIssuer},
		{"wrong aud", signRS(t, k1, with(func(c jwt.MapClaims) { c["aud"] = []string{"other"} })), ErrTokenAudience},
		{"bad signature", signRS(t, other, claimsAt(srv.URL, now)), ErrTokenSignature},
		{"tampered payload", tampered(), ErrTokenSignature},
		{"alg none", algNone(), ErrTokenAlgorithm},
		{"HS256 with the RSA public key", hsWithPub(), ErrTokenAlgorithm},
		{"unknown kid", signRS(t, signingKey{"nowhere", keys[0]}, claimsAt(srv.URL, now)), ErrTokenUnknownKey},
		{"oversized", signRS(t, k1, with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 5000) })), ErrTokenTooLarge},
		{"malformed", "abc.def", ErrTokenMalformed},
		{"malformed base64", "e30.!!!.abc", ErrTokenMalformed},
		{"missing", "", ErrTokenMissing},
		{"no exp", signRS(t, k1, with(func(c jwt.MapClaims) { delete(c, "exp") })), ErrTokenClaims},
		{"required group missing", signRS(t, k1, with(func(c jwt.MapClaims) { c["groups"] = []string{"guests"} })), ErrTokenClaims},
		{"no sub", signRS(t, k1, with(func(c jwt.MapClaims) { delete(c, "sub") })), ErrTokenClaims},
	}
	codes := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			p, err := a.Authenticate(t.Context(), bearerRequest(tt.tok), Target{Bucket: "home"})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if p.Mode != ModeJWT || p.Name != "alice" || p.Subject != "alice" || p.Issuer != srv.URL ||
					len(p.Groups) != 1 || p.Groups[0] != "staff" || len(p.Roles) != 1 || p.Roles[0] != "auditor" ||
					p.ExpiresAt.IsZero() || p.Carrier.Headers[0] != "Authorization" {
					t.Fatalf("principal = %+v", p)
				}
				sig := tt.tok[strings.LastIndexByte(tt.tok, '.')+1:]
				if s := fmt.Sprintf("%+v", *p); strings.Contains(s, tt.tok) || strings.Contains(s, sig) {
					t.Fatalf("principal retains the token: %s", s)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Authenticate err = %v, want %v", err, tt.want)
			}
			if StatusCode(err) != http.StatusUnauthorized || ErrorCode(err) != tt.want.Code() {
				t.Fatalf("status, code = %d, %q; want 401, %q", StatusCode(err), ErrorCode(err), tt.want.Code())
			}
			if prev, ok := codes[tt.want.Code()]; ok && prev != tt.want.Error() {
				t.Fatalf("code %q shared by %q and %q", tt.want.Code(), prev, tt.want.Error())
			}
			codes[tt.want.Code()] = tt.want.Error()
			if tt.tok != "" {
				sig := tt.tok[strings.LastIndexByte(tt.tok, '.')+1:]
				for _, s := range []string{err.Error(), logs.String()} {
					if strings.Contains(s, tt.tok) || (len(sig) > 8 && strings.Contains(s, sig)) {
						t.Fatalf("token or signature leaked: %s", s)
					}
				}
			}
			if !strings.Contains(logs.String(), `"code":"`+tt.want.Code()+`"`) {
				t.Fatalf("log does not say why: %s", logs.String())
			}
		})
	}
	if len(codes) != 11 {
		t.Errorf("distinct codes = %d (%v), want 11", len(codes), codes)
	}
}

func jwtB64(b []byte) string { return strings.TrimRight(jwtEncoding.EncodeToString(b), "=") }

func TestOIDCDiscovery(t *testing.T) {
	k := signingKey{"sa-1", testRSAKeys()[0]}
	srv := newJWKSServer(t, k)
	clock := newTestClock()
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{{Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, Discovery: true}},
		Now:     clock.Now,
	})
	p, err := a.Authenticate(t.Context(), bearerRequest(signRS(t, k, claimsAt(srv.URL, clock.Now()))), Target{})
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if p.Subject != "alice" {
		t.Fatalf("sub = %q", p.Subject)
	}

	// A discovery document for another issuer is refused at start-up.
	_, err = New(t.Context(), Config{
		Issuers:    []IssuerConfig{{Issuer: srv.URL + "/other", Audiences: []string{"x"}, Algorithms: []string{"RS256"}, Discovery: true}},
		HTTPClient: testHTTPClient(),
	})
	if err == nil {
		t.Fatal("New with a mismatched discovery document succeeded")
	}
}

func TestJWKSRotationAndOutage(t *testing.T) {
	keys := testRSAKeys()
	k1, k2, k3 := signingKey{"k1", keys[0]}, signingKey{"k2", keys[1]}, signingKey{"k3", keys[2]}
	srv := newJWKSServer(t, k1)
	clock := newTestClock()
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{{
			Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"},
			JWKSURL:            srv.URL + "/jwks",
			MinRefreshInterval: time.Hour,
			// Far above the "prompt" bound below, so a loaded machine
			// cannot blur failing at once with waiting for a lookup.
			KeyLookupTimeout: 10 * time.Second,
		}},
		CacheSize: -1, // every call verifies
		Now:       clock.Now,
	})
	auth := func(k signingKey) (time.Duration, error) {
		r := bearerRequest(signRS(t, k, claimsAt(srv.URL, clock.Now()))) // signing is not timed
		start := time.Now()
		_, err := a.Authenticate(t.Context(), r, Target{})
		return time.Since(start), err
	}
	if _, err := auth(k1); err != nil {
		t.Fatalf("k1: %v", err)
	}
	startFetches := srv.fetches.Load()

	// Rotation: k2 appears; the first unknown kid refreshes at once.
	srv.setKeys(k1, k2)
	if _, err := auth(k2); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if got := srv.fetches.Load() - startFetches; got != 1 {
		t.Fatalf("fetches for rotation = %d, want 1", got)
	}

	// Within MinRefreshInterval another unknown kid does not refetch and
	// fails promptly.
	srv.setKeys(k1, k2, k3)
	d, err := auth(k3)
	if !errors.Is(err, ErrTokenUnknownKey) || d > 3*time.Second {
		t.Fatalf("rate-limited unknown kid: %v after %v", err, d)
	}
	if got := srv.fetches.Load() - startFetches; got != 1 {
		t.Fatalf("fetches after rate-limited kid = %d, want 1", got)
	}

	// Outage: the JWKS fails or hangs; cached keys keep working.
	srv.setStatus(http.StatusServiceUnavailable)
	for _, k := range []signingKey{k1, k2} {
		if _, err := auth(k); err != nil {
			t.Fatalf("%s during outage: %v", k.kid, err)
		}
	}
}

func TestJWKSHangingUnknownKidIsBounded(t *testing.T) {
	k1 := signingKey{"k1", testRSAKeys()[0]}
	srv := newJWKSServer(t, k1)
	clock := newTestClock()
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{{
			Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"},
			JWKSURL:          srv.URL + "/jwks",
			KeyLookupTimeout: 200 * time.Millisecond,
		}},
		Now: clock.Now,
	})
	srv.setHang()
	start := time.Now()
	_, err := a.Authenticate(t.Context(), bearerRequest(signRS(t, signingKey{"k9", testRSAKeys()[1]}, claimsAt(srv.URL, clock.Now()))), Target{})
	d := time.Since(start)
	if !errors.Is(err, ErrTokenUnknownKey) || d > 2*time.Second {
		t.Fatalf("unknown kid against a hanging JWKS: %v after %v", err, d)
	}
	// Known keys are still served from the key cache.
	if _, err := a.Authenticate(t.Context(), bearerRequest(signRS(t, k1, claimsAt(srv.URL, clock.Now()))), Target{}); err != nil {
		t.Fatalf("k1 while JWKS hangs: %v", err)
	}
}

func TestJWKSDownAtStartup(t *testing.T) {
	k1 := signingKey{"k1", testRSAKeys()[0]}
	srv := newJWKSServer(t, k1)
	srv.setStatus(http.StatusBadGateway)
	clock := newTestClock()
	// New does not fail: the JWKS is retried in the background and on the
	// first unknown kid.
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{{Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, JWKSURL: srv.URL + "/jwks"}},
		Now:     clock.Now,
	})
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches at start-up = %d, want 1", n)
	}
	srv.setStatus(0)
	tok := signRS(t, k1, claimsAt(srv.URL, clock.Now()))
	if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); err != nil {
		t.Fatalf("after the JWKS came back: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refresh for the unknown kid)", n)
	}
}

// TestDefaultClockSynctest runs the default clock (time.Now) inside a
// synctest bubble: the token expires when fake time passes exp + leeway.
func TestDefaultClockSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		secret := Secret(strings.Repeat("k", 32))
		a, err := New(t.Context(), Config{
			Issuers:   []IssuerConfig{{Issuer: "hmac", Audiences: []string{"ossproxy"}, Algorithms: []string{"HS256"}, HMACSecret: secret, Leeway: 5 * time.Second}},
			CacheSize: -1, // the expirable cache's sweeper would outlive the bubble
		})
		if err != nil {
			t.Fatal(err)
		}
		c := claimsAt("hmac", time.Now())
		c["exp"] = time.Now().Add(time.Minute).Unix()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); err != nil {
			t.Fatalf("fresh: %v", err)
		}
		time.Sleep(time.Minute + 4*time.Second)
		if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		time.Sleep(2 * time.Second)
		if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("after exp+leeway: %v", err)
		}
	})
}

func TestAuthenticateConcurrent(t *testing.T) {
	k1 := signingKey{"k1", testRSAKeys()[0]}
	clock := newTestClock()
	a := newTestAuthenticator(t, Config{
		Issuers:   []IssuerConfig{{Issuer: "i", Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, Keys: mustJWKSJSON(t, k1)}},
		CacheSize: 4,
		Now:       clock.Now,
	})
	toks := make([]string, 8)
	for i := range toks {
		c := claimsAt("i", clock.Now())
		c["sub"] = fmt.Sprint("user", i)
		toks[i] = signRS(t, k1, c)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				want := (g + i) % len(toks)
				p, err := a.Authenticate(t.Context(), bearerRequest(toks[want]), Target{})
				if err != nil || p.Subject != fmt.Sprint("user", want) {
					t.Errorf("goroutine %d: %v, %v", g, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if s := a.CacheStats(); s.Hits+s.Misses != 8*40 || s.Len > 4 {
		t.Fatalf("stats %+v", s)
	}
}

// FuzzAuthenticateToken sends arbitrary bearer tokens: none may be
// accepted (the fuzzer cannot forge an HMAC), none may panic, and every
// error is a 401 *Error whose text does not contain the token.
func FuzzAuthenticateToken(f *testing.F) {
	secret := Secret(strings.Repeat("f", 32))
	a, err := New(context.Background(), Config{
		Issuers:   []IssuerConfig{{Issuer: "hmac", Audiences: []string{"ossproxy"}, Algorithms: []string{"HS256"}, HMACSecret: secret}},
		CacheSize: -1,
	})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt("hmac", time.Now())).SignedString([]byte(strings.Repeat("g", 32)))
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJobWFjIn0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		r := bearerRequest("")
		r.Header.Set("Authorization", "Bearer "+tok)
		p, err := a.Authenticate(context.Background(), r, Target{})
		if err == nil {
			t.Fatalf("forged token accepted: %+v", p)
		}
		if StatusCode(err) != http.StatusUnauthorized || ErrorCode(err) == "" {
			t.Fatalf("error %v: status %d code %q", err, StatusCode(err), ErrorCode(err))
		}
		if len(tok) > 16 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error contains the token: %v", err)
		}
	})
}

// FuzzParseStaticKeys feeds arbitrary PEM/JSON key material to the
// static key parser: it must not panic, and what it accepts must hold at
// least one key.
func FuzzParseStaticKeys(f *testing.F) {
	der, _ := x509.MarshalPKIXPublicKey(&testRSAKeys()[0].PublicKey)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	f.Add(mustJWKSJSON(f, signingKey{"k", testRSAKeys()[0]}))
	f.Add([]byte(`{"kty":"oct","k":"c2VjcmV0"}`))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		store, err := parseStaticKeys(context.Background(), data)
		if err != nil {
			return
		}
		keys, err := store.KeyReadAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			t.Fatalf("accepted %q with no keys", data)
		}
	})
}

func TestTokenCache(t *testing.T) {
	k1 := signingKey{"k1", testRSAKeys()[0]}
	srv := newJWKSServer(t, k1)
	clock := newTestClock()
	a := newTestAuthenticator(t, Config{
		Issuers:   []IssuerConfig{{Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, JWKSURL: srv.URL + "/jwks", Leeway: time.Second}},
		CacheSize: 2,
		Now:       clock.Now,
	})
	c := claimsAt(srv.URL, clock.Now())
	c["exp"] = clock.Now().Add(time.Minute).Unix()
	tok := signRS(t, k1, c)

	p1, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{})
	if err != nil {
		t.Fatal(err)
	}
	if s := a.CacheStats(); s.Hits != 0 || s.Misses != 1 || s.Len != 1 {
		t.Fatalf("after first use: %+v", s)
	}
	r := bearerRequest("")
	r.URL.RawQuery = "x=1"
	r.Header.Set("Authorization", "Bearer "+tok)
	p2, err := a.Authenticate(t.Context(), r, Target{})
	if err != nil {
		t.Fatal(err)
	}
	if s := a.CacheStats(); s.Hits != 1 || s.Misses != 1 {
		t.Fatalf("after second use: %+v", s)
	}
	if p1 == p2 || p1.Subject != p2.Subject || p1.ExpiresAt != p2.ExpiresAt {
		t.Fatalf("cached principal: %p %+v vs %p %+v", p1, p1, p2, p2)
	}

	// At exp the entry is no longer used: the token is verified again
	// (and accepted within the leeway, but not cached).
	clock.Advance(time.Minute)
	if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); err != nil {
		t.Fatalf("at exp, within leeway: %v", err)
	}
	if s := a.CacheStats(); s.Hits != 1 || s.Misses != 2 || s.Len != 0 {
		t.Fatalf("at exp: %+v", s)
	}
	// Past the leeway verification rejects it.
	clock.Advance(2 * time.Second)
	if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after exp: %v", err)
	}
	if s := a.CacheStats(); s.Hits != 1 || s.Misses != 3 || s.Len != 0 {
		t.Fatalf("after exp: %+v", s)
	}

	// Bounded: three tokens, two entries.
	for i := range 3 {
		c := claimsAt(srv.URL, clock.Now())
		c["jti"] = i
		if _, err := a.Authenticate(t.Context(), bearerRequest(signRS(t, k1, c)), Target{}); err != nil {
			t.Fatal(err)
		}
	}
	if s := a.CacheStats(); s.Len != 2 {
		t.Fatalf("cache len = %d, want 2", s.Len)
	}
}

func TestStaticKeys(t *testing.T) {
	clock := newTestClock()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := testRSAKeys()[0]
	jwk, err := jwkset.NewJWKFromKey(&rsaKey.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "j1"}})
	if err != nil {
		t.Fatal(err)
	}
	jwkJSON, err := json.Marshal(jwk.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	secret := Secret(strings.Repeat("s", 32))
	a := newTestAuthenticator(t, Config{
		Issuers: []IssuerConfig{
			{Issuer: "pem", Audiences: []string{"ossproxy"}, Algorithms: []string{"ES256"}, Keys: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})},
			{Issuer: "jwk", Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, Keys: jwkJSON},
			{Issuer: "hmac", Audiences: []string{"ossproxy"}, Algorithms: []string{"HS256"}, HMACSecret: secret},
		},
		Now: clock.Now,
	})
	sign := func(m jwt.SigningMethod, kid string, key any, iss string) string {
		tok := jwt.NewWithClaims(m, claimsAt(iss, clock.Now()))
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"pem", sign(jwt.SigningMethodES256, "", ec, "pem"), nil},
		{"jwk", sign(jwt.SigningMethodRS256, "j1", rsaKey, "jwk"), nil},
		{"jwk no kid", sign(jwt.SigningMethodRS256, "", rsaKey, "jwk"), nil},
		{"jwk unknown kid", sign(jwt.SigningMethodRS256, "j2", rsaKey, "jwk"), ErrTokenUnknownKey},
		{"hmac", sign(jwt.SigningMethodHS256, "", []byte(secret), "hmac"), nil},
		{"hmac wrong secret", sign(jwt.SigningMethodHS256, "", []byte(strings.Repeat("t", 32)), "hmac"), ErrTokenSignature},
		{"hmac issuer, RS256 token", sign(jwt.SigningMethodRS256, "", rsaKey, "hmac"), ErrTokenAlgorithm},
		{"pem issuer, HS256 token", sign(jwt.SigningMethodHS256, "", der, "pem"), ErrTokenAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Authenticate(t.Context(), bearerRequest(tt.tok), Target{})
			if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Authenticate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssuerConfigRejected(t *testing.T) {
	base := IssuerConfig{Issuer: "i", Audiences: []string{"a"}, Algorithms: []string{"HS256"}, HMACSecret: Secret(strings.Repeat("s", 32))}
	tests := []struct {
		name string
		edit func(c *IssuerConfig)
	}{
		{"no issuer", func(c *IssuerConfig) { c.Issuer = "" }},
		{"no audience", func(c *IssuerConfig) { c.Audiences = nil }},
		{"no algorithms", func(c *IssuerConfig) { c.Algorithms = nil }},
		{"alg none", func(c *IssuerConfig) { c.Algorithms = []string{"none"} }},
		{"hmac with RS256", func(c *IssuerConfig) { c.Algorithms = []string{"HS256", "RS256"} }},
		{"hmac with keys", func(c *IssuerConfig) { c.JWKSURL = "https://x/jwks" }},
		{"short secret", func(c *IssuerConfig) { c.HMACSecret = Secret("short") }},
		{"HS256 without secret", func(c *IssuerConfig) { c.HMACSecret = nil; c.Keys = []byte("{}") }},
		{"no key source", func(c *IssuerConfig) { c.HMACSecret = nil; c.Algorithms = []string{"RS256"} }},
		{"bad static keys", func(c *IssuerConfig) {
			c.HMACSecret = nil
			c.Algorithms = []string{"RS256"}
			c.Keys = []byte("garbage")
		}},
		{"negative leeway", func(c *IssuerConfig) { c.Leeway = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			if _, err := New(t.Context(), Config{Issuers: []IssuerConfig{c}}); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
	if _, err := New(t.Context(), Config{Issuers: []IssuerConfig{base, base}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("duplicate issuer: %v", err)
	}
	if _, err := New(t.Context(), Config{Issuers: []IssuerConfig{base}}); err != nil {
		t.Fatalf("base: %v", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	cfg := IssuerConfig{Issuer: "i", HMACSecret: Secret("hunter2-hunter2-hunter2-hunter2!")}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "secret", cfg.HMACSecret)
	for _, s := range []string{buf.String(), fmtAll(cfg), fmtAll(cfg.HMACSecret)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestAnonymous(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 80} }
	addrs := []struct {
		addr net.Addr
		want bool
	}{
		{tcp("127.0.0.1"), true},
		{tcp("127.8.9.10"), true},
		{tcp("::1"), true},
		{tcp("10.0.0.1"), false},
		{tcp("0.0.0.0"), false},
		{tcp("::"), false},
		{&net.UnixAddr{Name: "/run/ossproxy.sock", Net: "unix"}, true},
		{nil, false},
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1")}, false},
	}
	for _, tt := range addrs {
		if got := LocalAddr(tt.addr); got != tt.want {
			t.Errorf("LocalAddr(%v) = %v", tt.addr, got)
		}
	}
	listens := []struct {
		network, address string
		want             bool
	}{
		{"tcp", "127.0.0.1:8080", true},
		{"tcp", "[::1]:8080", true},
		{"tcp", "[::ffff:127.0.0.1]:8080", true},
		{"tcp", "localhost:8080", true},
		{"tcp", ":8080", false},
		{"tcp", "0.0.0.0:8080", false},
		{"tcp", "192.168.1.5:8080", false},
		{"tcp", "example.com:80", false},
		{"tcp", "garbage", false},
		{"unix", "/run/ossproxy.sock", true},
		{"udp", "127.0.0.1:53", false},
	}
	for _, tt := range listens {
		if got := LocalListenAddr(tt.network, tt.address); got != tt.want {
			t.Errorf("LocalListenAddr(%q, %q) = %v", tt.network, tt.address, got)
		}
	}

	on := newTestAuthenticator(t, Config{Anonymous: AnonymousConfig{Enabled: true, Principal: "sidecar", Groups: []string{"local"}}})
	off := newTestAuthenticator(t, Config{})
	withLocal := func(addr net.Addr) *http.Request {
		r := bearerRequest("")
		return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
	}
	if p, err := on.Authenticate(t.Context(), withLocal(tcp("127.0.0.1")), Target{}); err != nil || p.Name != "sidecar" || p.Mode != ModeAnonymous || p.Groups[0] != "local" {
		t.Fatalf("loopback: %+v, %v", p, err)
	}
	if _, err := on.Authenticate(t.Context(), withLocal(tcp("10.1.2.3")), Target{}); !errors.Is(err, ErrAnonymousNotAllowed) || StatusCode(err) != 401 {
		t.Fatalf("non-local: %v", err)
	}
	if _, err := on.Authenticate(t.Context(), bearerRequest(""), Target{}); !errors.Is(err, ErrAnonymousNotAllowed) {
		t.Fatalf("no local address: %v", err)
	}
	if _, err := off.Authenticate(t.Context(), withLocal(tcp("127.0.0.1")), Target{}); !errors.Is(err, ErrTokenMissing) {
		t.Fatalf("disabled: %v", err)
	}
	// A credential that fails is never downgraded to anonymous.
	if _, err := on.Authenticate(t.Context(), withLocal(tcp("127.0.0.1")), Target{}); err != nil {
		t.Fatal(err)
	}
	r := withLocal(tcp("127.0.0.1"))
	r.Header.Set("Authorization", "Bearer a.b.c")
	if _, err := on.Authenticate(t.Context(), r, Target{}); err == nil {
		t.Fatal("bad token on a local listener became anonymous")
	}

	// Over a real loopback socket, net/http sets the local address.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := on.Authenticate(r.Context(), r, Target{})
		if err != nil {
			http.Error(w, ErrorCode(err), StatusCode(err))
			return
		}
		_, _ = w.Write([]byte(p.Name))
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/cache/k")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || body.String() != "sidecar" {
		t.Fatalf("real loopback request: %d %q", resp.StatusCode, body.String())
	}
}

var jwtEncoding = base64.RawURLEncoding

func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s", v, v, v, v)
}
