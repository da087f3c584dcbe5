package auth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

// TestCacheTTLSynctest shows CacheTTL capping a long-lived token's cache
// entry, in fake time with the default clock.
func TestCacheTTLSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		secret := Secret(strings.Repeat("k", 32))
		a, err := New(t.Context(), Config{
			Issuers:  []IssuerConfig{{Issuer: "hmac", Audiences: []string{"ossproxy"}, Algorithms: []string{"HS256"}, HMACSecret: secret}},
			CacheTTL: time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsAt("hmac", time.Now())).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		use := func() {
			t.Helper()
			if _, err := a.Authenticate(t.Context(), bearerRequest(tok), Target{}); err != nil {
				t.Fatal(err)
			}
		}
		use()
		use()
		if s := a.CacheStats(); s.Hits != 1 || s.Misses != 1 {
			t.Fatalf("before TTL: %+v", s)
		}
		time.Sleep(time.Minute)
		use() // the entry has reached its TTL: verified again, cached again
		use()
		if s := a.CacheStats(); s.Hits != 2 || s.Misses != 2 || s.Len != 1 {
			t.Fatalf("after TTL: %+v", s)
		}
	})
}

// TestNoGoroutineLeak checks that an Authenticator with a JWKS issuer and
// a token cache leaves no goroutine behind once its ctx is canceled.
func TestNoGoroutineLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k1 := signingKey{"k1", testRSAKeys()[0]}
	srv := newJWKSServer(t, k1)
	tr := &http.Transport{}
	ctx, cancel := context.WithCancel(context.Background())
	clock := newTestClock()
	a, err := New(ctx, Config{
		Issuers:    []IssuerConfig{{Issuer: srv.URL, Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"}, JWKSURL: srv.URL + "/jwks", RefreshInterval: time.Hour}},
		HTTPClient: &http.Client{Transport: tr, Timeout: 5 * time.Second},
		Now:        clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, bearerRequest(signRS(t, k1, claimsAt(srv.URL, clock.Now()))), Target{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	tr.CloseIdleConnections()
	srv.Close()
}
