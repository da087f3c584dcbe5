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

// BenchmarkHandlerGetSDKHeaders is BenchmarkHandlerGet with the headers
// an SDK sends with a GetObject (user agent, content type and MD5, a
// range, x-oss-* metadata): a header map of this size grows when the
// signer adds its headers unless the clone leaves room for them.
func BenchmarkHandlerGetSDKHeaders(b *testing.B) {
	cfg := Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
	creds := signer.Credentials{AccessKeyID: "LTAI5tBenchmarkKey", AccessKeySecret: "bench-secret"}
	h, err := New(Options{
		Config:        cfg,
		Authenticator: testAuthn,
		Authorizer:    prefixAuthz,
		Credentials:   CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:        NewOSSSigner(cfg),
		Upstream:      memUpstream{body: bytes.Repeat([]byte("x"), 4096)},
	})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/bkt/ok/dir/object.bin", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range map[string]string{
		"User-Agent":      "aliyun-sdk-go/v1.6.1 (Linux/6.1; amd64) Go/go1.26",
		"Accept-Encoding": "identity",
		"Content-Type":    "application/octet-stream",
		"Range":           "bytes=0-4095",
		"X-Oss-Meta-Team": "bench",
		"Accept":          "*/*",
		"Traceparent":     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	} {
		req.Header.Set(k, v)
	}
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

func TestCloneForSigning(t *testing.T) {
	req := httptest.NewRequest(http.MethodPut, "/bkt/k?uploads", bytes.NewReader([]byte("body")))
	req.Header["X-Oss-Meta-Two"] = []string{"a", "b"}
	req.Header["X-Empty"] = nil
	req.Header.Set("Content-Type", "text/plain")
	out := cloneForSigning(req)

	if out.URL == req.URL || *out.URL != *req.URL {
		t.Fatalf("URL %p %v, want an equal copy of %p %v", out.URL, out.URL, req.URL, req.URL)
	}
	if !equalHeader(out.Header, req.Header) {
		t.Fatalf("header %v, want %v", out.Header, req.Header)
	}
	if v, ok := out.Header["X-Empty"]; !ok || v != nil {
		t.Errorf("nil-valued key: %v %v, want kept as nil", v, ok)
	}
	if out.Method != req.Method || out.Body != req.Body || out.ContentLength != req.ContentLength || out.Context() != req.Context() {
		t.Errorf("shared fields differ: %+v", out)
	}
	before := req.Header.Clone()
	out.Header.Set("Authorization", "OSS4-HMAC-SHA256 sig")
	out.Header.Set("X-Oss-Date", "20260101T000000Z")
	out.Header["X-Oss-Meta-Two"][0] = "changed"
	out.URL.RawQuery = "changed"
	if !equalHeader(req.Header, before) || req.URL.RawQuery != "uploads" {
		t.Errorf("writing the clone changed the original: %v %q", req.Header, req.URL.RawQuery)
	}
}

// BenchmarkHandlerGetAccessLog is BenchmarkHandlerGet with the access log
// on, as cmd/ossproxy configures it by default (JSON at info level), into
// io.Discard: the cost of formatting one record per request.
func BenchmarkHandlerGetAccessLog(b *testing.B) {
	cfg := Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
	creds := signer.Credentials{AccessKeyID: "LTAI5tBenchmarkKey", AccessKeySecret: "bench-secret"}
	h, err := New(Options{
		Config:        cfg,
		Authenticator: testAuthn,
		Authorizer:    prefixAuthz,
		Credentials:   CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:        NewOSSSigner(cfg),
		Upstream:      memUpstream{body: bytes.Repeat([]byte("x"), 4096)},
		Logger:        slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
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
