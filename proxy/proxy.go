package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Caller is an authenticated client as the proxy needs it. It never holds
// a token, secret or signature.
type Caller struct {
	// Name and Mode identify the caller in the access log ("alice", "jwt").
	Name, Mode string
	// StripHeaders and StripQuery name where the credential was found;
	// the proxy removes them before forwarding.
	StripHeaders []string
	StripQuery   []string
	// Principal is the authenticator's own value, handed unchanged to the
	// Authorizer (an *auth.Principal in cmd/ossproxy).
	Principal any
}

// Authenticator identifies the caller of a request. It runs before any
// routing decision reaches the client except the refusal of a malformed
// target, and must not read the body. bucket and key are the decoded
// target (empty for service and bucket requests), which access-key
// signatures cover. An error that has
// Status() int, Code() string and Message() string methods (auth.Error
// has) chooses the answer; any other error is a 401. It must be safe for
// concurrent use.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request, bucket, key string) (*Caller, error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(ctx context.Context, r *http.Request, bucket, key string) (*Caller, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, r *http.Request, bucket, key string) (*Caller, error) {
	return f(ctx, r, bucket, key)
}

// Authorizer decides whether caller may perform action on bucket and key
// (see Action for what bucket and key mean per action). It returns nil to
// allow; any error denies (403 unless the error chooses its status as for
// Authenticator). It must be safe for concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, caller *Caller, action Action, bucket, key string) error
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(ctx context.Context, caller *Caller, action Action, bucket, key string) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, caller *Caller, action Action, bucket, key string) error {
	return f(ctx, caller, action, bucket, key)
}

// Options configure a Handler. Authenticator, Authorizer, Credentials and
// Signer are required.
type Options struct {
	Config        Config
	Authenticator Authenticator
	Authorizer    Authorizer
	Credentials   CredentialSource
	Signer        RequestSigner
	// Upstream sends signed requests; nil means a NewUpstreamTransport.
	Upstream http.RoundTripper
	// Logger receives one access-log record per request; nil discards.
	Logger *slog.Logger
	// Now is the clock for signing and durations; nil means time.Now.
	Now func() time.Time
	// API serves the proxy's own endpoints under ReservedPrefix
	// ("/_ossproxy/…"), after authentication; it finds the caller with
	// CallerFromContext and the request id with RequestIDFromContext. Its
	// requests are never forwarded upstream. Nil answers them 404.
	API http.Handler
	// MaxHeaderBytes bounds the size of the request headers the proxy
	// forwards (names and values); larger requests get 431. 0 means
	// 64 KiB. http.Server.MaxHeaderBytes still bounds what is read.
	MaxHeaderBytes int
	// BodyTimeouts bound the wait for request body bytes; a context from
	// WithBodyTimeouts overrides them per request. The zero value sets
	// no bound.
	BodyTimeouts BodyTimeouts
}

// Handler is the proxy: authenticate → route → classify → authorize →
// rewrite → sign → stream. It is safe for concurrent use.
type Handler struct {
	router     *Router
	classifier *Classifier
	authn      Authenticator
	authz      Authorizer
	rp         *httputil.ReverseProxy
	log        *slog.Logger
	now        func() time.Time
	maxHeader  int
	api        http.Handler
	bodyTO     BodyTimeouts

	idPrefix string
	idSeq    atomic.Uint64
}

var _ http.Handler = (*Handler)(nil)

// ErrMissingOption is returned by New when a required option is nil.
var ErrMissingOption = errors.New("missing required option")

// New validates o and returns a Handler. Configuration errors wrap
// ErrConfig; a nil required option, ErrMissingOption.
func New(o Options) (*Handler, error) {
	switch {
	case o.Authenticator == nil:
		return nil, fmt.Errorf("creating proxy: %w: Authenticator", ErrMissingOption)
	case o.Authorizer == nil:
		return nil, fmt.Errorf("creating proxy: %w: Authorizer", ErrMissingOption)
	case o.Credentials == nil:
		return nil, fmt.Errorf("creating proxy: %w: Credentials", ErrMissingOption)
	case o.Signer == nil:
		return nil, fmt.Errorf("creating proxy: %w: Signer", ErrMissingOption)
	}
	rt, err := NewRouter(o.Config)
	if err != nil {
		return nil, fmt.Errorf("creating proxy: %w", err)
	}
	h := &Handler{
		router:     rt,
		classifier: NewClassifier(rt),
		authn:      o.Authenticator,
		authz:      o.Authorizer,
		log:        o.Logger,
		now:        o.Now,
		api:        o.API,
		bodyTO:     o.BodyTimeouts,
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxHeader = o.MaxHeaderBytes; h.maxHeader <= 0 {
		h.maxHeader = 64 << 10
	}
	var p [6]byte
	_, _ = rand.Read(p[:]) // never fails
	h.idPrefix = strings.ToUpper(hex.EncodeToString(p[:]))
	up := o.Upstream
	if up == nil {
		up = NewUpstreamTransport()
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:      h.rewrite,
		Transport:    &Transport{Base: up, Credentials: o.Credentials, Signer: o.Signer, Now: h.now},
		BufferPool:   newBufferPool(),
		ErrorHandler: h.proxyError,
		ErrorLog:     slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	return h, nil
}

// state is the per-request data shared by ServeHTTP, rewrite and
// proxyError through the request context.
type state struct {
	id     string
	caller *Caller
	route  Route
	op     *Operation
	bucket *bucketRoute
	target Target
	api    bool // served by Options.API
	err    error
	rec    recorder   // the response writer, allocated with the state
	body   clientBody // wraps the request body, if any
	bodyOn bool       // body wraps the request body
	upURL  url.URL    // the upstream URL rewrite builds; the Transport signs its request in place
}

// CallerFromContext returns the authenticated caller of the request whose
// context is ctx, as the Handler stores it for the Authorizer and
// Options.API; false outside a Handler request or before authentication.
func CallerFromContext(ctx context.Context) (*Caller, bool) {
	st, ok := ctx.Value(targetKey{}).(*state)
	if !ok || st.caller == nil {
		return nil, false
	}
	return st.caller, true
}

// RequestIDFromContext returns the proxy's request id (the x-oss-request-id
// of the errors it answers itself), or "" outside a Handler request.
func RequestIDFromContext(ctx context.Context) string {
	if st, ok := ctx.Value(targetKey{}).(*state); ok {
		return st.id
	}
	return ""
}

// hop-by-hop and credential headers never forwarded upstream. The signer
// sets Date, x-oss-date, x-oss-content-sha256 and x-oss-security-token.
var strippedHeaders = []string{
	"Authorization", "X-Oss-Security-Token", "X-Oss-Date", "X-Oss-Content-Sha256",
	"Date", "Cookie", "Proxy-Authorization", "Forwarded",
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	st := &state{id: h.nextID()}
	st.rec.ResponseWriter = w
	rec := &st.rec
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		bt := h.bodyTO
		if v, ok := r.Context().Value(bodyTimeoutsKey{}).(BodyTimeouts); ok {
			bt = v
		}
		// Socket deadlines are wall-clock time, whatever Options.Now says.
		st.body.start(w, r.Body, bt, time.Now())
		st.bodyOn = true
		r.Body = &st.body // as http.MaxBytesReader is used: the body is the handler's to read
	}
	defer func() {
		// ReverseProxy aborts with http.ErrAbortHandler when the upstream
		// fails mid-body; log the request, then let net/http abort it.
		if p := recover(); p != nil {
			if st.err == nil {
				cause := ErrUpstream
				if r.Context().Err() != nil { // the client left mid-answer
					cause = ErrClientClosed
				}
				st.err = fmt.Errorf("%w: response aborted: %v", cause, p)
			}
			h.accessLog(r, st, rec, h.now().Sub(start))
			panic(p)
		}
	}()
	r, err := h.prepare(r, st)
	if err != nil {
		h.answerError(rec, r, st, err)
	} else if st.api {
		h.api.ServeHTTP(rec, r)
	} else {
		h.rp.ServeHTTP(rec, r)
	}
	h.accessLog(r, st, rec, h.now().Sub(start))
}

// prepare runs everything that happens before the request may leave the
// proxy and returns the request to forward.
func (h *Handler) prepare(r *http.Request, st *state) (*http.Request, error) {
	ctx := r.Context()
	if r.Method == http.MethodConnect || r.Header.Get("Upgrade") != "" {
		return r, fmt.Errorf("%w: CONNECT or protocol upgrade", ErrInvalidURI)
	}
	if raw := r.RequestURI; raw != "" && !strings.HasPrefix(raw, "/") {
		return r, fmt.Errorf("%w: request target is not in origin form", ErrInvalidURI)
	}
	if headerSize(r.Header) > h.maxHeader {
		return r, ErrHeaderTooLarge
	}
	// A target that does not parse is refused before authentication: the
	// signature of an access-key request covers the decoded bucket and key.
	rte, routeErr := h.router.Route(r)
	if routeErr != nil && !errors.Is(routeErr, ErrNoSuchBucket) {
		return r, routeErr
	}
	caller, err := h.authn.Authenticate(ctx, r, rte.Bucket, rte.Key)
	if err != nil {
		if _, ok := errors.AsType[statusCoder](err); !ok {
			err = fmt.Errorf("authenticating: %w: %w", ErrUnauthenticated, err)
		}
		return r, err
	}
	if caller == nil {
		return r, fmt.Errorf("authenticating: %w", ErrUnauthenticated)
	}
	st.caller = caller
	if routeErr != nil {
		return r, routeErr
	}
	// One value from here on: the Authorizer and Options.API find the
	// caller and request id in it, and TargetFromContext the target.
	ctx = context.WithValue(ctx, targetKey{}, st)
	if rte.Reserved {
		if h.api == nil {
			return r, fmt.Errorf("routing: %w", ErrNotFound)
		}
		st.api = true
		return r.WithContext(ctx), nil
	}
	st.route = rte
	op, err := h.classifier.Classify(r, rte, caller.StripQuery)
	if err != nil {
		return r, err
	}
	st.op = op
	for _, c := range op.Checks {
		if err := h.authz.Authorize(ctx, caller, c.Action, c.Bucket, c.Key); err != nil {
			if _, ok := errors.AsType[statusCoder](err); !ok {
				err = fmt.Errorf("%w: %w", ErrDenied, err)
			}
			return r, fmt.Errorf("authorizing %s in bucket %s: %w", c.Action, c.Bucket, err) // keys stay out of messages (logs may redact them)
		}
	}
	bucket := rte.Bucket
	if bucket == "" { // ListBuckets goes to the default or first bucket's endpoint
		bucket = h.router.def
		if bucket == "" {
			bucket = h.router.first
		}
	}
	st.bucket, _ = h.router.bucket(bucket)
	st.target = Target{Bucket: rte.Bucket, Key: rte.Key, Region: st.bucket.Region, Version: st.bucket.sig}
	r = r.WithContext(ctx)
	if op.Body != nil {
		body := op.Body
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
		r.TransferEncoding = nil
	}
	return r, nil
}

// rewrite builds the upstream request: URL for the bucket's endpoint and
// addressing style with the canonically re-encoded key, the query without
// credential parameters, and the headers without credentials. It does not
// sign: the Transport does.
func (h *Handler) rewrite(pr *httputil.ProxyRequest) {
	st := pr.In.Context().Value(targetKey{}).(*state)
	b, out := st.bucket, pr.Out
	u := &st.upURL
	u.Scheme, u.Host = b.scheme, b.host
	var path string
	switch {
	case st.route.Bucket == "":
		path = "/"
	case b.style == PathStyle:
		path = "/" + st.route.Bucket + "/" + st.route.Key
	default:
		u.Host = st.route.Bucket + "." + b.host
		path = "/" + st.route.Key
	}
	u.Path, u.RawPath = path, escapePath(path)
	u.RawQuery = filterQuery(st.route.RawQuery, st.caller.StripQuery)
	out.URL, out.Host = u, ""
	for _, k := range strippedHeaders {
		out.Header.Del(k)
	}
	for _, k := range st.caller.StripHeaders {
		out.Header.Del(k)
	}
	if st.op.CopySource != "" {
		out.Header.Set("X-Oss-Copy-Source", st.op.CopySource)
	}
}

// filterQuery removes the presign and caller credential parameters from
// a raw query (already validated by the router) and re-encodes every
// other pair canonically (RFC 3986, %20 for space, %2B for '+'), in the
// order received, so OSS decodes exactly the values the classifier and
// the policy judged. A pair without '=' stays a bare key.
func filterQuery(raw string, extra []string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(raw) + 8)
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		k, v, hasValue := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || authQueryParams[dk] || contains(extra, dk) {
			continue // undecodable pairs were refused by the router already
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(escapeQueryValue(dk))
		if hasValue {
			b.WriteByte('=')
			b.WriteString(escapeQueryValue(dv))
		}
	}
	return b.String()
}

// proxyError is the ReverseProxy's ErrorHandler: it records err for the
// access log and answers with an OSS XML error (see answerError).
func (h *Handler) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st, _ := r.Context().Value(targetKey{}).(*state)
	if st == nil { // not a request of ServeHTTP's
		writeError(w, r, "", err)
		return
	}
	h.answerError(w, r, st, err)
}

// answerError records err for the access log and answers it. A failure
// of the client's own comes first, whatever err the upstream transport
// made of it: a body that stalled is 400 RequestTimeout, a client that
// went away (its connection failed, which cancels the request context)
// is 499 with no body (nobody reads it; logged at debug), and a body that
// could not be read (malformed chunked encoding, shorter than its
// Content-Length) is 400 IncompleteBody. Then err chooses: 503 for
// credentials, 504 for timeouts, 502 for other upstream failures.
func (h *Handler) answerError(w http.ResponseWriter, r *http.Request, st *state, err error) {
	gone := r.Context().Err() != nil
	bodyFailed := st.bodyOn && st.body.failed.Load()
	switch {
	case bodyFailed && st.body.timedOut.Load():
		// net/http canceled the request when the body read failed;
		// the client may still listen for the answer.
		st.err = fmt.Errorf("forwarding request body: %w", ErrRequestTimeout)
		writeError(w, r, st.id, ErrRequestTimeout)
	case gone && (bodyFailed || errors.Is(err, context.Canceled)):
		st.err = fmt.Errorf("%w: %w", ErrClientClosed, err)
		w.WriteHeader(StatusClientClosedRequest) // the client is gone; keep it cheap
	case bodyFailed:
		if !errors.Is(err, ErrIncompleteBody) { // the transport's own error won
			err = fmt.Errorf("reading request body: %w: %w", ErrIncompleteBody, err)
		}
		st.err = err
		writeError(w, r, st.id, ErrIncompleteBody)
	default:
		st.err = err
		writeError(w, r, st.id, err)
	}
}

func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // ": " and CRLF
		}
	}
	return n
}

func (h *Handler) nextID() string {
	var b [24]byte
	copy(b[:], h.idPrefix)
	n := h.idSeq.Add(1)
	for i := 23; i >= 12; i-- {
		b[i] = upperHex[n&15]
		n >>= 4
	}
	return string(b[:])
}

func (h *Handler) accessLog(r *http.Request, st *state, rec *recorder, d time.Duration) {
	level := logLevel(st.err)
	ctx := r.Context()
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs, slog.String("request_id", st.id), slog.String("method", r.Method), slog.String("remote_addr", r.RemoteAddr))
	if st.caller != nil {
		attrs = append(attrs, slog.String("principal", st.caller.Name), slog.String("mode", st.caller.Mode))
	}
	switch {
	case st.op != nil:
		attrs = append(attrs, slog.String("op", st.op.Name))
	case st.api:
		attrs = append(attrs, slog.String("op", "API"), slog.String("path", r.URL.Path))
	}
	attrs = append(attrs,
		slog.String("bucket", st.route.Bucket), slog.String("key", st.route.Key),
		slog.Int("status", rec.status()), slog.Int64("bytes_in", max(r.ContentLength, 0)),
		slog.Int64("bytes_out", rec.bytes), slog.Duration("duration", d))
	if up := rec.Header().Get("X-Oss-Request-Id"); up != "" && up != st.id {
		attrs = append(attrs, slog.String("upstream_request_id", up))
	}
	if st.err != nil {
		attrs = append(attrs, slog.String("error", st.err.Error()))
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}

// recorder captures the status and body size for the access log. It
// unwraps for http.ResponseController (flushes, deadlines).
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// bufSize is the size of the streaming copy buffers.
const bufSize = 32 << 10

// bufferPool is an httputil.BufferPool over a sync.Pool of pointers to
// fixed-size arrays (Caddy's streamingBufPool idea): Put turns the slice
// back into its array pointer, so neither Get nor Put allocates.
type bufferPool struct {
	pool sync.Pool // *[bufSize]byte
}

// NewBufferPool returns the proxy's streaming copy buffer pool: 32 KiB
// buffers that neither Get nor Put allocates, for an
// httputil.ReverseProxy's BufferPool. Put drops buffers it did not hand
// out. Each call returns a new, independent pool safe for concurrent use.
func NewBufferPool() httputil.BufferPool { return newBufferPool() }

func newBufferPool() *bufferPool {
	p := &bufferPool{}
	p.pool.New = func() any { return new([bufSize]byte) }
	return p
}

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[bufSize]byte)[:] }

func (p *bufferPool) Put(b []byte) {
	if cap(b) != bufSize {
		return // not one of ours
	}
	p.pool.Put((*[bufSize]byte)(b[:bufSize]))
}

var _ httputil.BufferPool = (*bufferPool)(nil)
