package auth

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

func benchAuthenticator(b *testing.B, cacheSize int) (*Authenticator, *http.Request) {
	k1 := signingKey{"k1", testRSAKeys()[0]}
	clock := newTestClock()
	a := newTestAuthenticator(b, Config{
		Issuers: []IssuerConfig{{
			Issuer: "https://idp.example.com", Audiences: []string{"ossproxy"}, Algorithms: []string{"RS256"},
			Keys: mustJWKSJSON(b, k1),
		}},
		CacheSize: cacheSize,
		Now:       clock.Now,
	})
	return a, bearerRequest(signRS(b, k1, claimsAt("https://idp.example.com", clock.Now())))
}

func BenchmarkJWTVerifyCached(b *testing.B) {
	a, r := benchAuthenticator(b, 0)
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, r, Target{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, r, Target{}); err != nil {
			b.Fatal(err)
		}
	}
	if s := a.CacheStats(); s.Misses != 1 {
		b.Fatalf("cache misses = %d", s.Misses)
	}
}

func BenchmarkJWTVerifyUncached(b *testing.B) {
	a, r := benchAuthenticator(b, -1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, r, Target{}); err != nil {
			b.Fatal(err)
		}
	}
}

func mustJWKSJSON(tb testing.TB, keys ...signingKey) []byte {
	tb.Helper()
	s := `{"keys":[`
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(`{"kty":"RSA","kid":%q,"alg":"RS256","use":"sig","n":%q,"e":"AQAB"}`, k.kid, jwtB64(k.key.N.Bytes()))
	}
	return []byte(s + "]}")
}
