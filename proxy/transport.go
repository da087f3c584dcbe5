package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// CredentialSource supplies the proxy's upstream credentials.
// credentials.Cache fits it through a small adapter in cmd/.
// Implementations must be safe for concurrent use.
type CredentialSource interface {
	// Retrieve returns credentials that are valid now. Errors make the
	// request fail with 503 (ErrCredentialsUnavailable).
	Retrieve(ctx context.Context) (signer.Credentials, error)
	// Invalidate reports that OSS rejected stale; the next Retrieve must
	// not return them again. Invalidating credentials that were already
	// replaced must be a no-op.
	Invalidate(stale signer.Credentials)
}

// CredentialFuncs adapts two functions to a CredentialSource. A nil
// InvalidateFunc does nothing.
type CredentialFuncs struct {
	RetrieveFunc   func(ctx context.Context) (signer.Credentials, error)
	InvalidateFunc func(stale signer.Credentials)
}

// Retrieve calls f.RetrieveFunc.
func (f CredentialFuncs) Retrieve(ctx context.Context) (signer.Credentials, error) {
	return f.RetrieveFunc(ctx)
}

// Invalidate calls f.InvalidateFunc if it is set.
func (f CredentialFuncs) Invalidate(stale signer.Credentials) {
	if f.InvalidateFunc != nil {
		f.InvalidateFunc(stale)
	}
}

// RequestSigner signs an upstream request in place (header signing): it
// sets x-oss-date, Date, x-oss-content-sha256 (V4), x-oss-security-token
// when the credentials have one, and Authorization. It must not read the
// body. Implementations must be safe for concurrent use.
type RequestSigner interface {
	SignRequest(ctx context.Context, r *http.Request, creds signer.Credentials, t Target, at time.Time) error
}

// RequestSignerFunc adapts a function to a RequestSigner.
type RequestSignerFunc func(ctx context.Context, r *http.Request, creds signer.Credentials, t Target, at time.Time) error

// SignRequest calls f.
func (f RequestSignerFunc) SignRequest(ctx context.Context, r *http.Request, creds signer.Credentials, t Target, at time.Time) error {
	return f(ctx, r, creds, t, at)
}

// Target is what the signer needs beyond the request: the decoded bucket
// and key (empty for bucket and service operations), the region and the
// signature version.
type Target struct {
	Bucket, Key, Region string
	Version             SignatureVersion
}

type targetKey struct{}

// WithTarget returns a context carrying t for the Transport. The Handler
// sets it on every request it forwards.
func WithTarget(ctx context.Context, t Target) context.Context {
	return context.WithValue(ctx, targetKey{}, t)
}

// TargetFromContext returns the Target set by WithTarget (or by the
// Handler, which stores it with its per-request state).
func TargetFromContext(ctx context.Context) (Target, bool) {
	switch v := ctx.Value(targetKey{}).(type) {
	case Target:
		return v, true
	case *state:
		return v.target, true
	}
	return Target{}, false
}

// Error codes after which the Transport invalidates the credentials and,
// for replayable requests, retries once.
var staleCredentialCodes = map[string]bool{
	"InvalidAccessKeyId":   true,
	"SecurityTokenExpired": true,
	"InvalidSecurityToken": true,
}

// Transport is an http.RoundTripper that signs each request with fresh
// credentials. When OSS answers InvalidAccessKeyId, SecurityTokenExpired
// or InvalidSecurityToken it calls Invalidate with the credentials it
// used and, if the request is replayable (no body, or GetBody set), sends
// it once more with new credentials; otherwise it passes the response
// through untouched (the bytes it peeked at are put back).
//
// RoundTrip never mutates the request it is given (except the Handler's
// own upstream request, which it signs in place) and closes its body on
// every error. The request's context must carry a Target (WithTarget).
// Transport is safe for concurrent use; do not change its fields after
// first use.
type Transport struct {
	// Base sends the signed requests. Nil means http.DefaultTransport; use
	// NewUpstreamTransport in production.
	Base http.RoundTripper
	// Credentials supplies credentials. It must not be nil.
	Credentials CredentialSource
	// Signer signs. It must not be nil.
	Signer RequestSigner
	// Now is the signing clock. Nil means time.Now.
	Now func() time.Time
	// MaxErrorPeek is how many bytes of an error body RoundTrip reads to
	// find the OSS error code; 0 means 4 KiB.
	MaxErrorPeek int64
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tgt, ok := TargetFromContext(req.Context())
	if !ok {
		closeBody(req.Body)
		return nil, ErrNoTarget
	}
	first := signClone
	if st, ok := req.Context().Value(targetKey{}).(*state); ok && req.URL == &st.upURL {
		first = signInPlace // the Handler's own upstream request (its rewrite set this URL)
	}
	resp, creds, err := t.send(req, tgt, req.Body, first)
	if err != nil {
		return nil, err
	}
	if !staleCredentialCodes[t.errorCode(resp)] {
		return resp, nil
	}
	t.Credentials.Invalidate(creds)
	var body io.ReadCloser
	switch {
	case req.Body == nil || req.Body == http.NoBody:
		body = req.Body
	case req.GetBody != nil:
		body, err = req.GetBody()
		if err != nil {
			return resp, nil // cannot replay: the caller sees OSS's answer
		}
	default:
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	resp.Body.Close()
	retry := signClone
	if first == signInPlace {
		retry = signCloneUnsigned // req carries the first attempt's signature
	}
	resp, _, err = t.send(req, tgt, body, retry)
	return resp, err
}

// How send signs.
const (
	// signClone signs a copy of req: RoundTrip never mutates its argument.
	signClone = iota
	// signInPlace signs req itself. Only for the request the Handler's
	// rewrite built (the ReverseProxy's private copy, which it does not
	// reuse), on the first attempt: it saves a second copy of the header.
	signInPlace
	// signCloneUnsigned signs a copy of req without the headers a signer
	// sets, for retrying a request signed in place. The Handler strips
	// them all from what it forwards (strippedHeaders), so removing them
	// restores the unsigned request; req itself is not written, as the
	// upstream transport may still be reading it.
	signCloneUnsigned
)

// signerHeaders are the headers a RequestSigner sets.
var signerHeaders = []string{"Authorization", "X-Oss-Security-Token", "X-Oss-Date", "X-Oss-Content-Sha256", "Date"}

// send signs req (or a copy, see mode) carrying body with freshly
// retrieved credentials and sends it.
func (t *Transport) send(req *http.Request, tgt Target, body io.ReadCloser, mode int) (*http.Response, signer.Credentials, error) {
	ctx := req.Context()
	creds, err := t.Credentials.Retrieve(ctx)
	if err != nil {
		closeBody(body)
		return nil, creds, fmt.Errorf("retrieving upstream credentials: %w: %w", ErrCredentialsUnavailable, err)
	}
	out := req
	if mode != signInPlace {
		out = cloneForSigning(req)
		out.Body = body
	}
	if mode == signCloneUnsigned {
		for _, k := range signerHeaders {
			delete(out.Header, k)
		}
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if err := t.Signer.SignRequest(ctx, out, creds, tgt, now()); err != nil {
		closeBody(body)
		return nil, creds, fmt.Errorf("signing upstream request: %w: %w", ErrSigning, err)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(out)
	return resp, creds, err
}

// signedHeaders is how many header keys a signer adds at most (Date,
// x-oss-date, x-oss-content-sha256, x-oss-security-token, Authorization,
// and one spare).
const signedHeaders = 6

// cloneForSigning returns the copy of req that send signs: its own URL and
// header, with room in the header map for the signer's keys, so that
// adding them does not grow the map (http.Request.Clone sizes it to the
// current keys and also copies forms and trailers, which a proxied request
// does not have). The other fields are shared and not modified.
func cloneForSigning(req *http.Request) *http.Request {
	out := new(http.Request)
	*out = *req
	u := *req.URL
	out.URL = &u
	nv := 0
	for _, vv := range req.Header {
		nv += len(vv)
	}
	sv := make([]string, nv) // one backing array for every value, as Header.Clone
	h := make(http.Header, len(req.Header)+signedHeaders)
	for k, vv := range req.Header {
		if vv == nil {
			h[k] = nil
			continue
		}
		n := copy(sv, vv)
		h[k], sv = sv[:n:n], sv[n:]
	}
	out.Header = h
	return out
}

// errorCode returns the OSS error code of a 400, 401 or 403 response, the
// statuses that can carry a stale-credentials code, or "".
func (t *Transport) errorCode(resp *http.Response) string {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest &&
		resp.StatusCode != http.StatusUnauthorized {
		return ""
	}
	return PeekErrorCode(resp, t.MaxErrorPeek)
}

// PeekErrorCode returns the Code of an OSS error response, or "". It reads
// at most limit bytes of the body (4 KiB when limit <= 0) and puts them
// back, so the response passes on unchanged, or decodes x-oss-err when the
// body is empty (HEAD). It does not look at the status.
func PeekErrorCode(resp *http.Response, limit int64) string {
	var doc []byte
	if resp.Body != nil && resp.Body != http.NoBody && resp.ContentLength != 0 {
		if limit <= 0 {
			limit = 4 << 10
		}
		peek, err := io.ReadAll(io.LimitReader(resp.Body, limit))
		resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(peek), resp.Body), closer: resp.Body}
		if err != nil {
			return ""
		}
		doc = peek
	}
	if len(doc) == 0 {
		h := resp.Header.Get("X-Oss-Err")
		if h == "" {
			return ""
		}
		var err error
		if doc, err = base64.StdEncoding.DecodeString(h); err != nil {
			return ""
		}
	}
	var e struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
	}
	if xml.Unmarshal(doc, &e) != nil {
		return ""
	}
	return e.Code
}

type peekedBody struct {
	io.Reader
	closer io.Closer
}

func (b *peekedBody) Close() error { return b.closer.Close() }

func closeBody(b io.ReadCloser) {
	if b != nil {
		_ = b.Close()
	}
}

// upstreamReadBuffer is the upstream connections' read buffer size.
const upstreamReadBuffer = 16 << 10

// Default upstream timeouts (UpstreamTimeouts zero values).
const (
	DefaultUpstreamDialTimeout         = 10 * time.Second
	DefaultUpstreamTLSHandshakeTimeout = 10 * time.Second
	// DefaultUpstreamResponseHeaderTimeout is generous: a large
	// server-side CopyObject answers late.
	DefaultUpstreamResponseHeaderTimeout = 2 * time.Minute
)

// UpstreamTimeouts bound the phases of an upstream request before its
// response streams. A zero field takes its default; none bounds the
// bodies, which stream for as long as the transfer takes.
type UpstreamTimeouts struct {
	// Dial bounds opening a TCP connection (DefaultUpstreamDialTimeout).
	Dial time.Duration
	// TLSHandshake bounds the TLS handshake
	// (DefaultUpstreamTLSHandshakeTimeout).
	TLSHandshake time.Duration
	// ResponseHeader bounds the wait for OSS's response headers once the
	// request is sent (DefaultUpstreamResponseHeaderTimeout); past it the
	// client gets 504 GatewayTimeout.
	ResponseHeader time.Duration
}

// NewUpstreamTransport returns NewUpstreamTransportTimeouts with the
// default timeouts.
func NewUpstreamTransport() *http.Transport {
	return NewUpstreamTransportTimeouts(UpstreamTimeouts{})
}

// NewUpstreamTransportTimeouts returns an http.Transport tuned for many
// concurrent requests to a few OSS endpoints: large idle pools, the dial,
// TLS handshake and response-header timeouts of t, TLS 1.2+ with
// certificate verification, no transparent gzip (bodies and their CRC
// pass through untouched) and no proxy from the environment. Callers may
// adjust the fields before first use.
func NewUpstreamTransportTimeouts(t UpstreamTimeouts) *http.Transport {
	d := &net.Dialer{Timeout: or(t.Dial, DefaultUpstreamDialTimeout), KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   or(t.TLSHandshake, DefaultUpstreamTLSHandshakeTimeout),
		ResponseHeaderTimeout: or(t.ResponseHeader, DefaultUpstreamResponseHeaderTimeout),
		ExpectContinueTimeout: 2 * time.Second,
		DisableCompression:    true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		// A response's headers and a small object's body in one read
		// (the default 4 KiB split a 4 KiB GET's response in two).
		// Large bodies bypass the buffer (32 KiB copy buffers).
		ReadBufferSize: upstreamReadBuffer,
	}
}

// or returns d, or def when d is not positive.
func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
