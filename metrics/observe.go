package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ossproxy/ossproxy/proxy"
)

// exchange is what the observers learn about one request. It is also the
// request's context (the parent's, plus itself as a value), so a request
// costs one allocation for both. The handler goroutine writes every field
// except body.n, which the upstream transport's writer goroutine may
// still update.
type exchange struct {
	context.Context
	w     responseWriter
	body  countingBody
	start time.Time
	ttfb  time.Duration // -1 until the response headers are written

	bucket, key, mode string
	upstreamCode      string // OSS error code of the last upstream error response
	upstreamStatus    int
}

type exchangeKey struct{}

// Value returns the exchange itself for exchangeKey and defers to the
// parent context for any other key.
func (ex *exchange) Value(key any) any {
	if key == (exchangeKey{}) {
		return ex
	}
	return ex.Context.Value(key)
}

func fromContext(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// Middleware wraps the proxy handler: it measures every request (status,
// bytes both ways, duration, time to first byte) and hands the request
// a context through which Authenticator, Authorizer, Upstream and
// AccessLogHandler add what they learn (bucket, auth mode, OSS error
// code). It costs two allocations per request (the request copy, and
// the exchange record, which is also the context) on top of what
// client_golang needs, which is nothing for a label set seen before.
//
// On a nil *Metrics it still records the exchange for AccessLogHandler
// but counts nothing.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now
		if m != nil {
			now = m.now
			m.inFlight.Inc()
		}
		ex := &exchange{Context: r.Context(), start: now(), ttfb: -1}
		ex.w = responseWriter{ResponseWriter: w, ex: ex, now: now}
		r = r.WithContext(ex)
		if r.Body != nil && r.Body != http.NoBody {
			ex.body.rc = r.Body
			r.Body = &ex.body
		}
		if m != nil {
			defer m.finish(r, ex) // also after http.ErrAbortHandler panics
		}
		next.ServeHTTP(&ex.w, r)
	})
}

func (m *Metrics) finish(r *http.Request, ex *exchange) {
	m.inFlight.Dec()
	m.ObserveRequest(Request{
		Method: r.Method, Status: ex.w.code, Bucket: ex.bucket, AuthMode: ex.mode,
		BytesIn: ex.body.n.Load(), BytesOut: ex.w.bytes,
		Duration: m.now().Sub(ex.start), TTFB: ex.ttfb,
	})
}

// Authenticator wraps a proxy.Authenticator: it records the target
// bucket and key and the caller's auth mode for Middleware and
// AccessLogHandler, and counts failures by code (an error's Code()
// method, as auth.Error has).
func (m *Metrics) Authenticator(next proxy.Authenticator) proxy.Authenticator {
	return proxy.AuthenticatorFunc(func(ctx context.Context, r *http.Request, bucket, key string) (*proxy.Caller, error) {
		c, err := next.Authenticate(ctx, r, bucket, key)
		if ex := fromContext(ctx); ex != nil {
			ex.bucket, ex.key = bucket, key
			if err == nil && c != nil {
				ex.mode = c.Mode
			}
		}
		if err != nil {
			m.AuthFailed(false, errorCode(err))
		}
		return c, err
	})
}

// Authorizer wraps a proxy.Authorizer and counts its refusals by code
// ("AccessDenied" for errors without a Code method, as the proxy answers
// them).
func (m *Metrics) Authorizer(next proxy.Authorizer) proxy.Authorizer {
	return proxy.AuthorizerFunc(func(ctx context.Context, c *proxy.Caller, a proxy.Action, bucket, key string) error {
		err := next.Authorize(ctx, c, a, bucket, key)
		if err != nil {
			code := errorCode(err)
			if code == "" {
				code = "AccessDenied"
			}
			m.AuthFailed(true, code)
		}
		return err
	})
}

func errorCode(err error) string {
	if c, ok := errors.AsType[interface {
		error
		Code() string
	}](err); ok {
		return c.Code()
	}
	return ""
}

// Upstream wraps the transport that sends signed requests to OSS
// (proxy.Options.Upstream): it counts each request by status class and
// each error response by OSS code, read from at most 4 KiB of the error
// body (put back untouched) or from x-oss-err on HEAD. A nil next means
// http.DefaultTransport.
func (m *Metrics) Upstream(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &upstream{m: m, next: next}
}

type upstream struct {
	m    *Metrics
	next http.RoundTripper
}

const maxErrorPeek = 4 << 10

func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	now := time.Now
	if u.m != nil {
		now = u.m.now
	}
	start := now()
	resp, err := u.next.RoundTrip(r)
	d := now().Sub(start)
	if err != nil {
		if !clientSide(r, err) {
			u.m.UpstreamResponse(0, "", d)
		}
		return resp, err
	}
	code := ""
	if resp.StatusCode >= 400 {
		code = proxy.PeekErrorCode(resp, maxErrorPeek)
	}
	if ex := fromContext(r.Context()); ex != nil {
		ex.upstreamStatus, ex.upstreamCode = resp.StatusCode, code
	}
	u.m.UpstreamResponse(resp.StatusCode, code, d)
	return resp, nil
}

// clientSide reports whether a failed round trip was the client's doing,
// not OSS's: its request body broke or stalled (the proxy answers 400),
// or it went away and cancelled the request (499). Those are not
// upstream failures and are not counted as such.
func clientSide(r *http.Request, err error) bool {
	return errors.Is(err, proxy.ErrIncompleteBody) || errors.Is(err, proxy.ErrRequestTimeout) ||
		(errors.Is(err, context.Canceled) && r.Context().Err() == context.Canceled)
}

// countingBody counts the request body bytes the proxy reads.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

// responseWriter records the status, body bytes and time of the first
// header write. It unwraps for http.ResponseController.
type responseWriter struct {
	http.ResponseWriter
	ex    *exchange
	now   func() time.Time
	code  int
	bytes int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
		w.ex.ttfb = w.now().Sub(w.ex.start)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
		w.ex.ttfb = w.now().Sub(w.ex.start)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
