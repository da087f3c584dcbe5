package signer

import (
	"errors"
	"net/http"
)

// Errors returned by signing.
var (
	// ErrMissingCredentials means the access key id or secret is empty.
	ErrMissingCredentials = errors.New("missing access key id or secret")
	// ErrMissingRegion means a V4 signer or verifier has no Region.
	ErrMissingRegion = errors.New("missing region")
	// ErrInvalidExpires means a presign lifetime is outside 1 s … 7 days.
	ErrInvalidExpires = errors.New("presign expiry must be between 1 second and 7 days")
	// ErrNilRequest means the request or its URL is nil.
	ErrNilRequest = errors.New("nil request or request URL")
)

// Errors returned by verification, each wrapped in a *VerifyError that
// carries the OSS error code. Match them with errors.Is.
var (
	// ErrMissingSignature: the request carries neither an Authorization
	// header nor presign query parameters (an anonymous request).
	// OSS code AccessDenied.
	ErrMissingSignature = errors.New("request is not signed")
	// ErrMalformedAuthorization: the Authorization header, the credential
	// scope or the presign parameters cannot be parsed. OSS code
	// InvalidArgument.
	ErrMalformedAuthorization = errors.New("malformed authorization")
	// ErrInvalidAccessKeyID: the key lookup does not know the access key
	// id. OSS code InvalidAccessKeyId.
	ErrInvalidAccessKeyID = errors.New("access key id does not exist")
	// ErrSignatureDoesNotMatch: the recomputed signature differs. OSS code
	// SignatureDoesNotMatch.
	ErrSignatureDoesNotMatch = errors.New("signature does not match")
	// ErrRequestTimeTooSkewed: the request time is more than the allowed
	// skew (15 min) away from now. OSS code RequestTimeTooSkewed.
	ErrRequestTimeTooSkewed = errors.New("request time too skewed")
	// ErrRequestExpired: a presigned URL is past its expiry. OSS code
	// AccessDenied.
	ErrRequestExpired = errors.New("request has expired")
	// ErrMissingDate: a header-signed request has neither Date nor
	// x-oss-date, or it does not parse. OSS code AccessDenied.
	ErrMissingDate = errors.New("missing or invalid date")
	// ErrInvalidSecurityToken: the STS security token sent does not belong
	// to the access key id. OSS code InvalidSecurityToken.
	ErrInvalidSecurityToken = errors.New("invalid security token")
	// ErrUnsupportedPayloadHash: a V4 x-oss-content-sha256 other than
	// UNSIGNED-PAYLOAD (the verifier does not read bodies). OSS code
	// InvalidArgument.
	ErrUnsupportedPayloadHash = errors.New("x-oss-content-sha256 must be UNSIGNED-PAYLOAD")
)

// OSS error codes a *VerifyError carries.
const (
	CodeAccessDenied          = "AccessDenied"
	CodeInvalidArgument       = "InvalidArgument"
	CodeInvalidAccessKeyID    = "InvalidAccessKeyId"
	CodeSignatureDoesNotMatch = "SignatureDoesNotMatch"
	CodeRequestTimeTooSkewed  = "RequestTimeTooSkewed"
	CodeInvalidSecurityToken  = "InvalidSecurityToken"
)

// VerifyError is the error Verify returns. Its Error text and Message hold
// no secret, token or signature, so they are safe to log and to send to
// the client.
type VerifyError struct {
	// Code is the OSS error code, e.g. "SignatureDoesNotMatch".
	Code string
	// Message is a human-readable detail in OSS's style.
	Message string
	// Err is one of the ErrX sentinels of this package.
	Err error
}

// Error implements error.
func (e *VerifyError) Error() string {
	return "verifying signature: " + e.Code + ": " + e.Message
}

// Unwrap returns the sentinel, so errors.Is(err, ErrSignatureDoesNotMatch) works.
func (e *VerifyError) Unwrap() error { return e.Err }

// HTTPStatus is the status OSS answers with: 400 for InvalidArgument,
// 403 otherwise.
func (e *VerifyError) HTTPStatus() int {
	if e.Code == CodeInvalidArgument {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// Code returns the OSS error code of err if it is (or wraps) a
// *VerifyError, and "" otherwise.
func Code(err error) string {
	if ve, ok := errors.AsType[*VerifyError](err); ok {
		return ve.Code
	}
	return ""
}

func verifyErr(sentinel error, msg string) *VerifyError {
	code := CodeAccessDenied
	switch sentinel {
	case ErrMalformedAuthorization, ErrUnsupportedPayloadHash:
		code = CodeInvalidArgument
	case ErrInvalidAccessKeyID:
		code = CodeInvalidAccessKeyID
	case ErrSignatureDoesNotMatch:
		code = CodeSignatureDoesNotMatch
	case ErrRequestTimeTooSkewed:
		code = CodeRequestTimeTooSkewed
	case ErrInvalidSecurityToken:
		code = CodeInvalidSecurityToken
	}
	return &VerifyError{Code: code, Message: msg, Err: sentinel}
}
