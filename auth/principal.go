package auth

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Mode says how a principal authenticated.
type Mode uint8

// Authentication modes.
const (
	ModeJWT       Mode = iota + 1 // a verified bearer JWT
	ModeAccessKey                 // a V1/V4 signature made with a proxy-issued access key
	ModeAnonymous                 // no credential, on a local listener with anonymous access enabled
)

// String returns "jwt", "accesskey" or "anonymous".
func (m Mode) String() string {
	switch m {
	case ModeJWT:
		return "jwt"
	case ModeAccessKey:
		return "accesskey"
	case ModeAnonymous:
		return "anonymous"
	}
	return "unknown"
}

// Principal is an authenticated caller. It never holds the raw token, a
// secret or a signature.
//
// Principals returned by [Authenticator.Authenticate] may be shared between
// requests (the token cache returns the same value for the same token), so
// they, their slices and their Claims map are read-only: do not mutate them.
type Principal struct {
	// Name identifies the caller in logs and policy ${name} templates: the
	// issuer's name claim (default "sub") for JWTs, the configured principal
	// of an access key, or the configured anonymous principal.
	Name string
	Mode Mode
	// Issuer and Subject are the verified iss and sub claims (JWT only).
	Issuer, Subject string
	// KeyID is the proxy-issued access key id (access-key mode only).
	KeyID string
	// Groups and Roles come from the issuer's groups and roles claims, or
	// from the access key or anonymous configuration.
	Groups, Roles []string
	// Claims are the verified JWT claims as decoded JSON (nil otherwise).
	Claims map[string]any
	// ExpiresAt is the token's exp (zero when the credential has no expiry).
	ExpiresAt time.Time
	// Carrier says where the credential was found, so the proxy can remove
	// it before forwarding the request upstream.
	Carrier Carrier
}

// LogValue implements slog.LogValuer with the fields that are safe and
// useful in logs.
func (p *Principal) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{slog.String("name", p.Name), slog.String("mode", p.Mode.String())}
	if p.Issuer != "" {
		attrs = append(attrs, slog.String("iss", p.Issuer))
	}
	if p.KeyID != "" {
		attrs = append(attrs, slog.String("access_key_id", p.KeyID))
	}
	return slog.GroupValue(attrs...)
}

var _ slog.LogValuer = (*Principal)(nil)

// Carrier names the request headers and query parameters that carried the
// credential (the same token may come in several). Empty fields mean "not
// used". For access-key signatures the header is Authorization, and for
// presigned URLs QueryParams lists the presign parameters.
type Carrier struct {
	Headers     []string // canonical header names, e.g. ["Authorization"]
	QueryParams []string // query parameter names, e.g. ["access_token"]
}

// Strip removes the credential from h and q in place, so a token or
// signature is never forwarded upstream. Either may be nil.
func (c Carrier) Strip(h http.Header, q url.Values) {
	if h != nil {
		for _, n := range c.Headers {
			h.Del(n)
		}
	}
	if q != nil {
		for _, p := range c.QueryParams {
			q.Del(p)
		}
	}
}
