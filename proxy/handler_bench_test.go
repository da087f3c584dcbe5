package proxy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/signer"
)

// BenchmarkHandlerGet isolates the proxy's own cost for a 4 KiB GET: no
// sockets, an in-memory upstream, a trivial authenticator and authorizer,
// and the real V4 signer.
func BenchmarkHandlerGet(b *testing.B) {
	h := newBenchHandler(b, nil)
	req := httptest.NewRequest(http.MethodGet, "/bkt/ok/dir/object.bin", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	e2etest.BenchGet(b, h, req, 4096)
}

// newBenchHandler is the Handler of the in-memory benchmarks: one V4
// bucket, a trivial authenticator and authorizer, static credentials, the
// real signer, an upstream that answers 4 KiB from memory and no access
// log, as changed by mutate (which may be nil).
func newBenchHandler(b *testing.B, mutate func(*Options)) *Handler {
	b.Helper()
	cfg := Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
	creds := signer.Credentials{AccessKeyID: "LTAI5tBenchmarkKey", AccessKeySecret: "bench-secret"}
	o := Options{
		Config:        cfg,
		Authenticator: testAuthn,
		Authorizer:    prefixAuthz,
		Credentials:   CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:        NewOSSSigner(cfg),
		Upstream:      e2etest.MemUpstream{Body: bytes.Repeat([]byte("x"), 4096)},
	}
	if mutate != nil {
		mutate(&o)
	}
	h, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	return h
}
