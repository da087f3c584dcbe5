package proxy

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// Error is a failure the proxy answers itself, with the HTTP status and
// the OSS error code of its XML body. The exported ErrX values are the only
// instances; the proxy wraps them with context ("routing: %w"), so match
// them with errors.Is. Message is what the client sees: it is fixed per
// code and never contains a secret, a key or any request detail.
type Error struct {
	status int
	code   string
	msg    string
}

func newError(status int, code, msg string) *Error {
	return &Error{status: status, code: code, msg: msg}
}

// Error returns the message prefixed with "proxy: ".
func (e *Error) Error() string { return "proxy: " + e.msg }

// Status is the HTTP status of the answer.
func (e *Error) Status() int { return e.status }

// Code is the OSS error code, e.g. "AccessDenied".
func (e *Error) Code() string { return e.code }

// Message is the message of the XML body.
func (e *Error) Message() string { return e.msg }

// Errors the proxy answers with. Statuses follow OSS where OSS has an
// equivalent.
var (
	// ErrUnauthenticated: the Authenticator refused the request and its
	// error carries no status of its own. 401 "AccessDenied".
	ErrUnauthenticated = newError(http.StatusUnauthorized, "AccessDenied", "authentication required")
	// ErrDenied: the Authorizer refused, or the operation is one the proxy
	// does not forward (unknown sub-resource). 403 "AccessDenied".
	ErrDenied = newError(http.StatusForbidden, "AccessDenied", "access denied by ossproxy policy")
	// ErrCallbackDenied: the request asks OSS for an upload callback
	// (x-oss-callback, x-oss-callback-var, callback, callback-var, in any
	// case; header names also with '_' for '-') and its
	// bucket does not set allow_callbacks. 403 "AccessDenied".
	ErrCallbackDenied = newError(http.StatusForbidden, "AccessDenied", "upload callbacks are not enabled for this bucket on ossproxy")
	// ErrUnsupported: an operation (sub-resource or method) the proxy does
	// not know and therefore denies. 403 "AccessDenied".
	ErrUnsupported = newError(http.StatusForbidden, "AccessDenied", "operation not supported by ossproxy")
	// ErrNoSuchBucket: the bucket is not listed in the configuration; the
	// request never leaves the proxy. 404 "NoSuchBucket".
	ErrNoSuchBucket = newError(http.StatusNotFound, "NoSuchBucket", "the specified bucket is not served by this proxy")
	// ErrNotFound: a path under the reserved /_ossproxy/ prefix that the
	// proxy does not serve. 404 "NotFound".
	ErrNotFound = newError(http.StatusNotFound, "NotFound", "not found")
	// ErrInvalidURI: the request target is ambiguous or dangerous (bad
	// percent-encoding, control characters, invalid UTF-8, dot segments,
	// backslashes, absolute form, CONNECT, repeated query parameters,
	// protocol upgrades). 400 "InvalidURI".
	ErrInvalidURI = newError(http.StatusBadRequest, "InvalidURI", "the request URI is ambiguous or malformed")
	// ErrInvalidBucketName: the bucket is not [a-z0-9-]{3,63}. 400.
	ErrInvalidBucketName = newError(http.StatusBadRequest, "InvalidBucketName", "the specified bucket name is not valid")
	// ErrInvalidObjectName: the key is empty where one is needed, too long,
	// or has a form the proxy refuses. 400 "InvalidObjectName".
	ErrInvalidObjectName = newError(http.StatusBadRequest, "InvalidObjectName", "the specified object name is not valid")
	// ErrInvalidArgument: a header such as x-oss-copy-source is malformed,
	// or an operation is ambiguous. 400 "InvalidArgument".
	ErrInvalidArgument = newError(http.StatusBadRequest, "InvalidArgument", "invalid argument")
	// ErrMalformedXML: the DeleteMultipleObjects body does not parse or
	// names more than 1000 keys. 400 "MalformedXML".
	ErrMalformedXML = newError(http.StatusBadRequest, "MalformedXML", "the XML you provided was not well-formed")
	// ErrEntityTooLarge: a body the proxy must read is over its limit.
	// 400 "EntityTooLarge".
	ErrEntityTooLarge = newError(http.StatusBadRequest, "EntityTooLarge", "the request body is too large")
	// ErrMethodNotAllowed: the method has no meaning for the resource.
	// 405 "MethodNotAllowed".
	ErrMethodNotAllowed = newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "the specified method is not allowed against this resource")
	// ErrMissingContentLength: a body without Content-Length on an
	// operation OSS only accepts with one. 411 "MissingContentLength".
	ErrMissingContentLength = newError(http.StatusLengthRequired, "MissingContentLength", "you must provide the Content-Length HTTP header")
	// ErrRequestTimeout: no request-body byte arrived within the body idle
	// timeout (BodyTimeouts.Idle). 400 "RequestTimeout", as OSS.
	ErrRequestTimeout = newError(http.StatusBadRequest, "RequestTimeout", "the request body was not received in time")
	// ErrHeaderTooLarge: request headers over the limit. 431.
	ErrHeaderTooLarge = newError(http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge", "the request headers are too large")
	// ErrCredentialsUnavailable: no upstream credentials could be
	// retrieved. 503 "ServiceUnavailable".
	ErrCredentialsUnavailable = newError(http.StatusServiceUnavailable, "ServiceUnavailable", "upstream credentials are unavailable")
	// ErrSigning: the upstream request could not be signed. 502.
	ErrSigning = newError(http.StatusBadGateway, "BadGateway", "the upstream request could not be signed")
	// ErrNoTarget: a request reached the Transport without a Target in
	// its context (a wiring bug). 502 "BadGateway".
	ErrNoTarget = newError(http.StatusBadGateway, "BadGateway", "no upstream target for request")
	// ErrUpstream: the upstream could not be reached or failed mid-way. 502.
	ErrUpstream = newError(http.StatusBadGateway, "BadGateway", "the upstream service is unreachable")
	// ErrUpstreamTimeout: the upstream did not answer in time. 504.
	ErrUpstreamTimeout = newError(http.StatusGatewayTimeout, "GatewayTimeout", "the upstream service timed out")
	// ErrClientClosed: the client went away before the answer (or
	// during it); nothing is logged above debug level. Its status,
	// StatusClientClosedRequest, is what the access log and metrics
	// record; no one reads it.
	ErrClientClosed = newError(StatusClientClosedRequest, "ClientClosedRequest", "the client closed the request")
	// ErrIncompleteBody: the request body could not be read: malformed
	// chunked encoding, or the client sent fewer bytes than its
	// Content-Length. Nothing of it is committed upstream (the upstream
	// request is aborted before its body ends). 400 "IncompleteBody".
	ErrIncompleteBody = newError(http.StatusBadRequest, "IncompleteBody", "the request body was malformed or ended before it was complete")
)

// StatusClientClosedRequest (499, nginx's convention) is the status
// recorded for a request whose client went away before its answer. It
// keeps those requests out of the 5xx counts: the client failed, not the
// proxy or OSS.
const StatusClientClosedRequest = 499

// statusCoder is what errors from other packages (auth, credentials)
// implement to choose their status, OSS code and client-safe message.
type statusCoder interface {
	error
	Status() int
	Code() string
	Message() string
}

// classifyError maps err to the status, code and client message of the
// answer. Errors carrying a statusCoder win; then context errors and
// upstream failures; anything else is a 502.
func classifyError(err error) (status int, code, msg string) {
	if e, ok := errors.AsType[statusCoder](err); ok {
		return e.Status(), e.Code(), e.Message()
	}
	var e *Error
	switch {
	case errors.Is(err, context.Canceled):
		// A client that went away is recorded, not answered (see
		// Handler.answerError); one still waiting saw a cancellation of
		// the proxy's own (a credential source closing, say): 502.
		e = ErrUpstream
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		e = ErrUpstreamTimeout
	default:
		e = ErrUpstream
	}
	return e.status, e.code, e.msg
}

func isTimeout(err error) bool {
	t, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](err)
	return ok && t.Timeout()
}

// xmlError is the OSS error body.
type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeError writes err as an OSS XML error: Content-Type application/xml,
// x-oss-request-id set to requestID, the XML in the body, or base64 in
// x-oss-err (and no body) for HEAD, as OSS does. It returns the status.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, err error) int {
	status, code, msg := classifyError(err)
	body, _ := xml.Marshal(xmlError{Code: code, Message: msg, RequestID: requestID, HostID: r.Host}) // cannot fail: strings only
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Oss-Request-Id", requestID)
	h.Del("Content-Length")
	if r.Method == http.MethodHead {
		h.Set("X-Oss-Err", base64.StdEncoding.EncodeToString(body))
		w.WriteHeader(status)
		return status
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
	return status
}

// logLevel is the level at which a request that failed with err is logged:
// debug for a client that went away, warn for upstream failures, info
// otherwise.
func logLevel(err error) slog.Level {
	switch {
	case err == nil:
		return slog.LevelInfo
	case errors.Is(err, context.Canceled), errors.Is(err, ErrClientClosed):
		return slog.LevelDebug
	}
	if _, ok := errors.AsType[statusCoder](err); ok {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
