package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// drainUpstream reads the request body and answers 200 without a body.
type drainUpstream struct{}

func (drainUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"X-Oss-Request-Id": {"UP"}}, Body: http.NoBody, Request: r}, nil
}

// deadlineRecorder is a ResponseRecorder that accepts read deadlines, as
// a server connection does, and counts them.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	calls int
}

func (d *deadlineRecorder) SetReadDeadline(time.Time) error { d.calls++; return nil }

// BenchmarkHandlerPutBodyIdle is the cost of the body idle wrapper on a
// 64 KiB PUT, in memory (the deadline calls cost no system call here).
func BenchmarkHandlerPutBodyIdle(b *testing.B) {
	for _, idle := range []time.Duration{0, time.Minute} {
		b.Run("idle="+idle.String(), func(b *testing.B) {
			h := newBenchHandler(b, func(o *Options) {
				o.Upstream, o.BodyTimeouts = drainUpstream{}, BodyTimeouts{Idle: idle}
			})
			body := bytes.Repeat([]byte("x"), 64<<10)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPut, "/bkt/ok/dir/object.bin", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testToken)
				w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
				h.ServeHTTP(w, req)
				if w.Code != 200 || (idle > 0) != (w.calls == 2) {
					b.Fatalf("status %d %s, %d deadlines", w.Code, w.Body, w.calls)
				}
			}
		})
	}
}
