package vend

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Error is a failure the API answers with a JSON body
// {"code","message","request_id"} and an HTTP status. The exported ErrX values
// are the only instances; the package wraps them with context ("deciding
// expiry: %w"), so match them with errors.Is and read the status with
// StatusCode. No Error message contains a secret, token or signature.
type Error struct {
	status int
	code   string
	msg    string
}

func newError(status int, code, msg string) *Error {
	return &Error{status: status, code: code, msg: msg}
}

// Error returns the message prefixed with "vend: ".
func (e *Error) Error() string { return "vend: " + e.msg }

// Status is the HTTP status of the answer.
func (e *Error) Status() int { return e.status }

// Code is the error code of the JSON body, e.g. "AccessDenied".
func (e *Error) Code() string { return e.code }

// Errors the API answers with.
var (
	// ErrMalformed: the body is not one JSON object of the documented
	// shape, or a field has an invalid value. 400 "InvalidArgument".
	ErrMalformed = newError(http.StatusBadRequest, "InvalidArgument", "invalid request")
	// ErrUnauthenticated: the request reached the API without an
	// authenticated caller. 401 "AccessDenied".
	ErrUnauthenticated = newError(http.StatusUnauthorized, "AccessDenied", "authentication required")
	// ErrDenied: the caller may not do what the URL or the credentials
	// would allow; nothing was signed and no STS call was made.
	// 403 "AccessDenied".
	ErrDenied = newError(http.StatusForbidden, "AccessDenied", "access denied by ossproxy policy")
	// ErrNoSuchBucket: the bucket is not configured for vending. 404.
	ErrNoSuchBucket = newError(http.StatusNotFound, "NoSuchBucket", "the specified bucket is not served by this proxy")
	// ErrNotFound: an API path the service does not know. 404.
	ErrNotFound = newError(http.StatusNotFound, "NotFound", "not found")
	// ErrMethodNotAllowed: the API is called with a method other than POST.
	// 405.
	ErrMethodNotAllowed = newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "use POST")
	// ErrPolicyTooLarge: the generated session policy exceeds STS's 2048
	// characters even after compaction; narrow the request by bucket or
	// prefix. 400 "PolicyTooLarge".
	ErrPolicyTooLarge = newError(http.StatusBadRequest, "PolicyTooLarge", "the session policy for these grants exceeds 2048 characters; narrow the request by bucket or prefix")
	// ErrRateLimited: the caller exceeded its request rate; Retry-After
	// says when to come back. 429 "Throttling".
	ErrRateLimited = newError(http.StatusTooManyRequests, "Throttling", "too many requests")
	// ErrCredentialsUnavailable: no credentials to sign with, or STS failed.
	// 503 "ServiceUnavailable".
	ErrCredentialsUnavailable = newError(http.StatusServiceUnavailable, "ServiceUnavailable", "credentials are unavailable")
	// ErrNotConfigured: the endpoint is not enabled (no STS role or no
	// signing credentials configured). 501 "NotImplemented".
	ErrNotConfigured = newError(http.StatusNotImplemented, "NotImplemented", "this endpoint is not configured")
)

// StatusCode returns the HTTP status of the first *Error in err's chain,
// 500 if there is none, and 200 for a nil err.
func StatusCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.status
	}
	return http.StatusInternalServerError
}

// ErrorCode returns the code of the first *Error in err's chain, or
// "InternalError".
func ErrorCode(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.code
	}
	return "InternalError"
}

// errorBody is the JSON error answer.
type errorBody struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// writeError answers err as JSON. 4xx answers carry the whole error text,
// which the package builds from request fields and sentinels only; 5xx
// answers carry only the sentinel's message (the cause goes to the log).
func writeError(w http.ResponseWriter, id string, err error, retryAfter int) {
	status := StatusCode(err)
	msg := "internal error"
	if e, ok := errors.AsType[*Error](err); ok {
		msg = e.msg
		if status < 500 {
			msg = err.Error()
		}
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeJSON(w, status, errorBody{Code: ErrorCode(err), Message: msg, RequestID: id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only our own types are written
		status, b = http.StatusInternalServerError, []byte(`{"code":"InternalError","message":"encoding answer"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
