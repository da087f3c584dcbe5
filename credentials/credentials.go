package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// Errors returned by providers and caches. Match them with errors.Is; the
// concrete error usually wraps one of these plus the underlying cause.
var (
	// ErrNotFound means a provider found no credentials in its source (an
	// environment variable or file is absent). The default chain skips such
	// providers and tries the next one.
	ErrNotFound = errors.New("credentials not found")
	// ErrInvalid means a source held malformed or incomplete credentials, or
	// a provider was configured with invalid options.
	ErrInvalid = errors.New("invalid credentials")
	// ErrExpiresTooSoon means a provider returned credentials that had
	// already expired, or would expire within the cache's minimum lifetime.
	ErrExpiresTooSoon = errors.New("credentials expire too soon")
	// ErrExpired means the cached credentials expired and every refresh
	// since has failed. It wraps the last refresh error.
	ErrExpired = errors.New("cached credentials expired")
	// ErrUnavailable means no credentials were ever retrieved successfully.
	// It wraps the last refresh error.
	ErrUnavailable = errors.New("credentials unavailable")
	// ErrClosed is returned by a Cache after Close.
	ErrClosed = errors.New("credentials cache closed")
	// ErrSTS means an STS call failed; the error is (or wraps) an *STSError.
	ErrSTS = errors.New("sts request failed")
	// ErrMetadata means the ECS instance metadata service failed.
	ErrMetadata = errors.New("ecs metadata request failed")
)

// Credentials are signing credentials plus their lifetime and origin.
//
// Like signer.Credentials they never print their secret or token: String,
// GoString, Format (every verb) and LogValue show a masked access key id,
// whether a token is present, the expiry and the source.
type Credentials struct {
	signer.Credentials
	// Expires is when the credentials stop working. The zero value means
	// they never expire (long-term access keys).
	Expires time.Time
	// Source names the provider that produced them, e.g. "env", "ecs",
	// "assume_role"; it is for logs and metrics and holds no secret.
	Source string
}

// CanExpire reports whether the credentials have an expiry.
func (c Credentials) CanExpire() bool { return !c.Expires.IsZero() }

// Valid reports whether the credentials have an access key id and secret.
func (c Credentials) Valid() bool { return c.AccessKeyID != "" && c.AccessKeySecret != "" }

// String implements fmt.Stringer without revealing the secret or the token.
func (c Credentials) String() string {
	exp := "never"
	if c.CanExpire() {
		exp = c.Expires.UTC().Format(time.RFC3339)
	}
	tok := "none"
	if c.SecurityToken != "" {
		tok = "[REDACTED]"
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %s, AccessKeySecret: [REDACTED], SecurityToken: %s, Expires: %s, Source: %s}",
		signer.MaskID(c.AccessKeyID), tok, exp, c.Source)
}

// GoString implements fmt.GoStringer, so %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb, %+v included, redacts.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("access_key_id", signer.MaskID(c.AccessKeyID)),
		slog.Bool("sts", c.SecurityToken != ""),
		slog.String("source", c.Source),
	}
	if c.CanExpire() {
		attrs = append(attrs, slog.Time("expires", c.Expires))
	}
	return slog.GroupValue(attrs...)
}

// sameKey reports whether c and o are the same key material.
func (c Credentials) sameKey(o Credentials) bool {
	return c.AccessKeyID == o.AccessKeyID && c.SecurityToken == o.SecurityToken &&
		c.AccessKeySecret == o.AccessKeySecret
}

// Provider fetches credentials from one source. Retrieve performs the fetch
// every time it is called (a network call for STS and ECS); wrap a Provider
// in a Cache to reuse and refresh credentials. Implementations must be safe
// for concurrent use and must never put a secret, token or JWT in an error
// string.
type Provider interface {
	Retrieve(ctx context.Context) (Credentials, error)
}

// ProviderFunc adapts a function to a Provider.
type ProviderFunc func(ctx context.Context) (Credentials, error)

// Retrieve calls f(ctx).
func (f ProviderFunc) Retrieve(ctx context.Context) (Credentials, error) { return f(ctx) }

// StaticProvider returns fixed credentials. It is safe for concurrent use.
type StaticProvider struct {
	Value Credentials
}

// NewStatic returns a provider of fixed credentials. An empty token means
// long-term access keys, which never expire.
func NewStatic(accessKeyID, accessKeySecret, securityToken string) *StaticProvider {
	return &StaticProvider{Value: Credentials{
		Credentials: signer.Credentials{AccessKeyID: accessKeyID, AccessKeySecret: accessKeySecret, SecurityToken: securityToken},
		Source:      "static",
	}}
}

// Retrieve returns the fixed credentials, or ErrInvalid if the id or secret
// is empty.
func (p *StaticProvider) Retrieve(context.Context) (Credentials, error) {
	if !p.Value.Valid() {
		return Credentials{}, fmt.Errorf("static credentials: %w: empty access key id or secret", ErrInvalid)
	}
	c := p.Value
	if c.Source == "" {
		c.Source = "static"
	}
	return c, nil
}

// Environment variables read by EnvProvider, in order of precedence.
const (
	EnvAccessKeyID     = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	EnvAccessKeySecret = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	EnvSecurityToken   = "ALIBABA_CLOUD_SECURITY_TOKEN"

	EnvOSSAccessKeyID     = "OSS_ACCESS_KEY_ID"
	EnvOSSAccessKeySecret = "OSS_ACCESS_KEY_SECRET"
	EnvOSSSessionToken    = "OSS_SESSION_TOKEN"
)

// EnvProvider reads credentials from environment variables through Getenv:
// ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / ALIBABA_CLOUD_SECURITY_TOKEN first
// (alibaba-cloud-sdk-go), then OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET /
// OSS_SESSION_TOKEN (the OSS SDKs). Variables are read on every Retrieve.
// It is safe for concurrent use if Getenv is.
type EnvProvider struct {
	// Getenv looks up a variable; cmd/ passes os.Getenv. It must not be nil.
	Getenv func(string) string
}

// NewEnv returns an EnvProvider reading through getenv.
func NewEnv(getenv func(string) string) *EnvProvider { return &EnvProvider{Getenv: getenv} }

// Retrieve returns the credentials from the first complete set of
// variables. It returns ErrNotFound if no id variable is set and ErrInvalid
// if an id is set without its secret.
func (p *EnvProvider) Retrieve(context.Context) (Credentials, error) {
	sets := [...]struct{ id, secret, token, source string }{
		{EnvAccessKeyID, EnvAccessKeySecret, EnvSecurityToken, "env"},
		{EnvOSSAccessKeyID, EnvOSSAccessKeySecret, EnvOSSSessionToken, "env_oss"},
	}
	for _, s := range sets {
		id := p.Getenv(s.id)
		if id == "" {
			continue
		}
		secret := p.Getenv(s.secret)
		if secret == "" {
			return Credentials{}, fmt.Errorf("reading environment: %w: %s is set but %s is empty", ErrInvalid, s.id, s.secret)
		}
		return Credentials{
			Credentials: signer.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: p.Getenv(s.token)},
			Source:      s.source,
		}, nil
	}
	return Credentials{}, fmt.Errorf("reading environment: %w: neither %s nor %s is set", ErrNotFound, EnvAccessKeyID, EnvOSSAccessKeyID)
}

var (
	_ Provider       = ProviderFunc(nil)
	_ Provider       = (*StaticProvider)(nil)
	_ Provider       = (*EnvProvider)(nil)
	_ fmt.Stringer   = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ fmt.Formatter  = Credentials{}
	_ slog.LogValuer = Credentials{}
)
