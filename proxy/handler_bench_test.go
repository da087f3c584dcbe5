package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ossproxy/ossproxy/signer"
)

// memUpstream answers every request with a 4 KiB object, in memory.
type memUpstream struct{ body []byte }

func (m memUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/octet-stream"}, "X-Oss-Request-Id": {"UP"}},
		ContentLength: int64(len(m.body)), Body: io.NopCloser(bytes.NewReader(m.body)), Request: r,
	}, nil
}

// BenchmarkHandlerGet isolates the proxy's own cost for a 4 KiB GET: no
// sockets, an in-memory upstream, a trivial authenticator and authorizer,
// and the real V4 signer.
func BenchmarkHandlerGet(b *testing.B) {
	h := newBenchHandler(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/bkt/ok/dir/object.bin", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	b.ReportAllocs()
	b.SetBytes(4096)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.Len() != 4096 {
			b.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
		}
	}
}

// newBenchHandler is the Handler of the in-memory benchmarks: one V4
// bucket, a trivial authenticator and authorizer, static credentials, the
// real signer, and an upstream that answers 4 KiB from memory. logger may
// be nil (no access log).
func newBenchHandler(b *testing.B, logger *slog.Logger) *Handler {
	b.Helper()
	cfg := Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
	creds := signer.Credentials{AccessKeyID: "LTAI5tBenchmarkKey", AccessKeySecret: "bench-secret"}
	h, err := New(Options{
		Config:        cfg,
		Authenticator: testAuthn,
		Authorizer:    prefixAuthz,
		Credentials:   CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:        NewOSSSigner(cfg),
		Upstream:      memUpstream{body: bytes.Repeat([]byte("x"), 4096)},
		Logger:        logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}
