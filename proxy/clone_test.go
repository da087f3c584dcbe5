package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/signer"
)

// BenchmarkHandlerGetSDKHeaders is BenchmarkHandlerGet with the headers
// an SDK sends with a GetObject (user agent, content type and MD5, a
// range, x-oss-* metadata): a header map of this size grows when the
// signer adds its headers unless the clone leaves room for them.
func BenchmarkHandlerGetSDKHeaders(b *testing.B) {
	h := newBenchHandler(b, nil)
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
	e2etest.BenchGet(b, h, req, 4096)
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
	h := newBenchHandler(b, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil)) })
	req := httptest.NewRequest(http.MethodGet, "/bkt/ok/dir/object.bin", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	e2etest.BenchGet(b, h, req, 4096)
}

// staleOnceUpstream answers the first request with OSS's
// SecurityTokenExpired and the others with 200, recording each request's
// headers.
type staleOnceUpstream struct {
	mu   sync.Mutex
	seen []http.Header
}

func (u *staleOnceUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Header.Clone())
	n := len(u.seen)
	u.mu.Unlock()
	status, body := 200, "ok"
	if n == 1 {
		status, body = 403, "<Error><Code>SecurityTokenExpired</Code></Error>"
	}
	return &http.Response{StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
		ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// TestHandlerRetrySignsAfresh checks the in-place signing of the Handler's
// own upstream request: the retry after a stale-token answer carries only
// the new credentials' headers (no leftover x-oss-security-token), and the
// inbound request is never modified.
func TestHandlerRetrySignsAfresh(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		t.Run(method, func(t *testing.T) {
			cfg := Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
			sts := signer.Credentials{AccessKeyID: "STS.old", AccessKeySecret: "s1", SecurityToken: "tok-old"}
			static := signer.Credentials{AccessKeyID: "LTAInew", AccessKeySecret: "s2"}
			var mu sync.Mutex
			cur := sts
			up := &staleOnceUpstream{}
			h, err := New(Options{
				Config: cfg, Authenticator: testAuthn, Authorizer: prefixAuthz,
				Credentials: CredentialFuncs{
					RetrieveFunc: func(context.Context) (signer.Credentials, error) {
						mu.Lock()
						defer mu.Unlock()
						return cur, nil
					},
					InvalidateFunc: func(signer.Credentials) { mu.Lock(); cur = static; mu.Unlock() },
				},
				// A signer that only sets headers: the Transport, not the
				// signer, must drop the first attempt's token.
				Signer: RequestSignerFunc(func(_ context.Context, r *http.Request, c signer.Credentials, _ Target, _ time.Time) error {
					r.Header.Set("Authorization", "TEST "+c.AccessKeyID)
					if c.SecurityToken != "" {
						r.Header.Set("X-Oss-Security-Token", c.SecurityToken)
					}
					return nil
				}),
				Upstream: up,
			})
			if err != nil {
				t.Fatal(err)
			}
			var body io.Reader
			if method == http.MethodPut {
				body = strings.NewReader("payload") // a server request body: no GetBody, not replayable
			}
			req := httptest.NewRequest(method, "/bkt/ok/k", body)
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("X-Oss-Meta-A", "1")
			before := req.Header.Clone()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)

			if !equalHeader(req.Header, before) {
				t.Errorf("inbound header changed: %v", req.Header)
			}
			if len(up.seen) == 0 || up.seen[0].Get("X-Oss-Security-Token") != "tok-old" {
				t.Fatalf("first upstream request %v, want the STS token", up.seen)
			}
			if method == http.MethodPut { // a streamed body is not replayed: OSS's answer passes through
				if w.Code != 403 || len(up.seen) != 1 {
					t.Errorf("status %d after %d upstream requests, want the 403 once", w.Code, len(up.seen))
				}
				return
			}
			if w.Code != 200 || len(up.seen) != 2 {
				t.Fatalf("status %d after %d upstream requests, want 200 after 2", w.Code, len(up.seen))
			}
			retry := up.seen[1]
			if v, ok := retry["X-Oss-Security-Token"]; ok {
				t.Errorf("retry still carries x-oss-security-token %q", v)
			}
			if a := retry.Get("Authorization"); a != "TEST LTAInew" {
				t.Errorf("retry Authorization %q, want the new key's", a)
			}
			if retry.Get("X-Oss-Meta-A") != "1" {
				t.Errorf("retry lost x-oss-meta-a: %v", retry)
			}
		})
	}
}
