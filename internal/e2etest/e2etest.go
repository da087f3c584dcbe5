package e2etest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/internal/alioss"
)

// SyncBuffer is a log sink safe for concurrent handlers: every method
// holds its lock, so a test may read what a handler is still writing.
// The zero value is empty and ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what was written so far.
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// Issuer is an HS256 JWT issuer the tests both configure auth with and
// mint tokens from.
type Issuer struct {
	URL      string // the iss claim
	Audience string // the aud claim
	Secret   []byte // the HMAC key
}

// Mint returns a token for sub, issued now, that expires after ttl.
func (i Issuer) Mint(t testing.TB, sub string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": i.URL, "aud": i.Audience, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}).SignedString(i.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// MintClaims returns a token whose claims are the issuer's iss and aud,
// iat now and exp in an hour, changed by claims: a key with a value sets
// it (sub, or an expired exp, a future nbf, a foreign aud or iss), a key
// with nil removes it.
func (i Issuer) MintClaims(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	all := jwt.MapClaims{"iss": i.URL, "aud": i.Audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, all).SignedString(i.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The proxy-issued access key of the end-to-end environments, for
// clients that sign OSS requests themselves; its principal is "bob".
const (
	ProxyKeyID     = "PXYbobAccessKey0001"
	ProxyKeySecret = "bob-proxy-secret-0123456789"
)

// Bearer is an http.RoundTripper that adds "Authorization: Bearer
// Token" to every request (a clone: the caller's request is not changed)
// and sends it with Base.
type Bearer struct {
	Token string
	Base  http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b Bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.Token)
	return b.Base.RoundTrip(r)
}

// MemUpstream is an http.RoundTripper that answers every request with
// 200 and Body, in memory, as OSS answers a GetObject. It closes the
// request body unread.
type MemUpstream struct{ Body []byte }

// RoundTrip implements http.RoundTripper.
func (m MemUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/octet-stream"}, "X-Oss-Request-Id": {"UP"}},
		ContentLength: int64(len(m.Body)), Body: io.NopCloser(bytes.NewReader(m.Body)), Request: r,
	}, nil
}

// BenchGet is the loop of the in-memory handler benchmarks: it serves req
// with h into a fresh recorder per iteration and fails unless the answer
// is 200 with size bytes. It reports allocations and size bytes per
// operation.
func BenchGet(b *testing.B, h http.Handler, req *http.Request, size int) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.Len() != size {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
}

// AliOSS returns the driver of the npm ali-oss client, or skips the test
// when it is not installed (`make node-deps`, part of `make test`,
// installs it).
func AliOSS(t testing.TB) *alioss.Client {
	t.Helper()
	c, err := alioss.New()
	if errors.Is(err, alioss.ErrUnavailable) {
		t.Skipf("npm ali-oss not installed (make node-deps installs it): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}
