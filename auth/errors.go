package auth

import (
	"errors"
	"net/http"
)

// Error is an authentication or authorization failure with the HTTP status
// and the OSS-style error code the proxy puts in its XML error body. The
// exported ErrX values are the only instances; functions in this package
// return them wrapped with context ("verifying token: %w"), so callers test
// with errors.Is and read the status and code with errors.As or with
// [StatusCode] and [ErrorCode]. Messages never contain a token, a secret or
// a signature.
type Error struct {
	status int
	code   string
	msg    string
}

func newError(status int, code, msg string) *Error {
	return &Error{status: status, code: code, msg: msg}
}

// Error returns the human-readable message, e.g. "auth: token has expired".
func (e *Error) Error() string { return "auth: " + e.msg }

// Status is the HTTP status the proxy should answer with (401 or 403).
func (e *Error) Status() int { return e.status }

// Code is the OSS-style error code for the XML body, e.g. "InvalidToken.Expired".
func (e *Error) Code() string { return e.code }

// Message is the message for the XML body; it is safe to show to the client.
func (e *Error) Message() string { return e.msg }

// Sentinel errors. Each has a distinct code; the status is 401 for missing or
// invalid bearer tokens and anonymous refusals, and 403 for access-key
// signature failures (as OSS answers them, which the OSS SDKs expect) and for
// policy denials.
var (
	// ErrTokenMissing: the request carries no credential and anonymous
	// access does not apply. Code "InvalidToken.Missing", 401.
	ErrTokenMissing = newError(http.StatusUnauthorized, "InvalidToken.Missing", "no credentials in request")
	// ErrTokenMalformed: not a compact JWS, undecodable, or several
	// different tokens in one request. Code "InvalidToken.Malformed", 401.
	ErrTokenMalformed = newError(http.StatusUnauthorized, "InvalidToken.Malformed", "token is malformed")
	// ErrTokenTooLarge: the token exceeds the configured maximum size and was
	// not parsed. Code "InvalidToken.TooLarge", 401.
	ErrTokenTooLarge = newError(http.StatusUnauthorized, "InvalidToken.TooLarge", "token is too large")
	// ErrTokenExpired: exp is in the past (beyond the leeway).
	// Code "InvalidToken.Expired", 401.
	ErrTokenExpired = newError(http.StatusUnauthorized, "InvalidToken.Expired", "token has expired")
	// ErrTokenNotYetValid: nbf or iat is in the future (beyond the leeway).
	// Code "InvalidToken.NotYetValid", 401.
	ErrTokenNotYetValid = newError(http.StatusUnauthorized, "InvalidToken.NotYetValid", "token is not valid yet")
	// ErrTokenIssuer: iss is missing or names no configured issuer.
	// Code "InvalidToken.Issuer", 401.
	ErrTokenIssuer = newError(http.StatusUnauthorized, "InvalidToken.Issuer", "token issuer is not trusted")
	// ErrTokenAudience: aud is missing or contains none of the issuer's
	// audiences. Code "InvalidToken.Audience", 401.
	ErrTokenAudience = newError(http.StatusUnauthorized, "InvalidToken.Audience", "token audience is not accepted")
	// ErrTokenSignature: the signature does not verify with the issuer's key.
	// Code "InvalidToken.Signature", 401.
	ErrTokenSignature = newError(http.StatusUnauthorized, "InvalidToken.Signature", "token signature is invalid")
	// ErrTokenAlgorithm: alg is "none", unknown, or not pinned for the
	// issuer (this is what algorithm confusion attacks hit).
	// Code "InvalidToken.Algorithm", 401.
	ErrTokenAlgorithm = newError(http.StatusUnauthorized, "InvalidToken.Algorithm", "token algorithm is not allowed")
	// ErrTokenUnknownKey: no key of the issuer has the token's kid, even
	// after the rate-limited JWKS refresh (or the refresh did not finish
	// within the issuer's KeyLookupTimeout), or the key found does not fit
	// the token (its JWK alg differs). Code "InvalidToken.UnknownKeyId", 401.
	ErrTokenUnknownKey = newError(http.StatusUnauthorized, "InvalidToken.UnknownKeyId", "token signing key is unknown")
	// ErrTokenClaims: a required claim is missing or has a value the issuer
	// configuration does not accept. Code "InvalidToken.Claims", 401.
	ErrTokenClaims = newError(http.StatusUnauthorized, "InvalidToken.Claims", "token claims are not accepted")

	// ErrAnonymousNotAllowed: no credential, anonymous access is enabled, but
	// the request did not arrive on a loopback or unix-socket listener.
	// Code "AccessDenied.AnonymousNotAllowed", 401.
	ErrAnonymousNotAllowed = newError(http.StatusUnauthorized, "AccessDenied.AnonymousNotAllowed", "anonymous access is only allowed on a local listener")

	// ErrInvalidAccessKeyID: the access key id in the signature is not one
	// the proxy issued. Code "InvalidAccessKeyId", 403.
	ErrInvalidAccessKeyID = newError(http.StatusForbidden, "InvalidAccessKeyId", "the access key id does not exist")
	// ErrSignatureMismatch: the V1/V4 signature does not verify, or the
	// signed request is malformed. Code "SignatureDoesNotMatch", 403.
	ErrSignatureMismatch = newError(http.StatusForbidden, "SignatureDoesNotMatch", "the request signature does not match")
	// ErrRequestExpired: a presigned URL is past its expiry.
	// Code "AccessDenied" (as OSS answers an expired presigned URL), 403;
	// errors.Is tells it apart from a policy denial.
	ErrRequestExpired = newError(http.StatusForbidden, "AccessDenied", "Request has expired.")
	// ErrRequestTimeSkewed: a header-signed request's date is too far from
	// now. Code "RequestTimeTooSkewed", 403.
	ErrRequestTimeSkewed = newError(http.StatusForbidden, "RequestTimeTooSkewed", "the difference between the request time and the current time is too large")

	// ErrDenied: the policy does not allow the action. Code "AccessDenied", 403.
	ErrDenied = newError(http.StatusForbidden, "AccessDenied", "access denied by ossproxy policy")
)

// Configuration errors, returned (wrapped) by [New] and [NewPolicy].
var (
	ErrInvalidConfig = errors.New("auth: invalid configuration")
	ErrInvalidPolicy = errors.New("auth: invalid policy")
	// ErrInsecureRedirect: a JWKS or discovery server answered an https
	// request with a redirect to plain http, which is not followed.
	ErrInsecureRedirect = errors.New("auth: insecure redirect")
)

// StatusCode returns the HTTP status for err: the status of the first
// [*Error] in its chain, or 0 when err carries none (a context error, for
// example, which the proxy maps itself).
func StatusCode(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.status
	}
	return 0
}

// ErrorCode returns the OSS-style code for err, or "" when err carries no
// [*Error].
func ErrorCode(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.code
	}
	return ""
}
