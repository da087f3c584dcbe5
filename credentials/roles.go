package credentials

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// DefaultSessionName is the RoleSessionName used when none is configured.
const DefaultSessionName = "ossproxy"

// AssumeRoleProvider gets credentials from STS AssumeRole, signed with the
// credentials of a base Provider, so it chains from any source (long-term
// keys, ECS role, OIDC, another AssumeRole). When the base credentials are
// themselves temporary, pass a Cache as Base so that each call does not
// fetch them anew. It is safe for concurrent use.
type AssumeRoleProvider struct {
	base   Provider
	client RoleAssumer
	in     AssumeRoleInput
}

// NewAssumeRole returns an AssumeRoleProvider. base and client must not be
// nil. An empty in.SessionName means DefaultSessionName; in.Duration 0 means
// 3600s. It returns ErrInvalid for an out-of-range parameter.
func NewAssumeRole(base Provider, client RoleAssumer, in AssumeRoleInput) (*AssumeRoleProvider, error) {
	if base == nil || client == nil {
		return nil, fmt.Errorf("configuring assume role: %w: nil base provider or sts client", ErrInvalid)
	}
	if in.SessionName == "" {
		in.SessionName = DefaultSessionName
	}
	if err := checkRoleInput(in.RoleARN, in.SessionName, in.Duration, in.Policy); err != nil {
		return nil, fmt.Errorf("configuring assume role: %w", err)
	}
	if in.ExternalID != "" && (len(in.ExternalID) < 2 || len(in.ExternalID) > 1224) {
		return nil, fmt.Errorf("configuring assume role: %w: external id must be 2-1224 characters", ErrInvalid)
	}
	return &AssumeRoleProvider{base: base, client: client, in: in}, nil
}

// Retrieve fetches the base credentials, then calls AssumeRole.
func (p *AssumeRoleProvider) Retrieve(ctx context.Context) (Credentials, error) {
	base, err := p.base.Retrieve(ctx)
	if err != nil {
		return Credentials{}, fmt.Errorf("getting base credentials to assume %s: %w", p.in.RoleARN, err)
	}
	c, err := p.client.AssumeRole(ctx, base, p.in)
	if err != nil {
		return Credentials{}, fmt.Errorf("assuming %s: %w", p.in.RoleARN, err)
	}
	if c.Source == "" {
		c.Source = "assume_role"
	}
	return c, nil
}

// Environment variables of RRSA (ACK pod identity), read by OIDCConfigFromEnv.
const (
	EnvRoleARN            = "ALIBABA_CLOUD_ROLE_ARN"
	EnvOIDCProviderARN    = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
	EnvOIDCTokenFile      = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
	EnvRoleSessionName    = "ALIBABA_CLOUD_ROLE_SESSION_NAME"
	DefaultOIDCTokenFile  = "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token"
	maxOIDCTokenFileBytes = 64 << 10
)

// OIDCConfig configures an OIDCProvider.
type OIDCConfig struct {
	RoleARN         string // required
	OIDCProviderARN string // required
	TokenFile       string // required; re-read on every Retrieve, as the token rotates
	// SessionName: "" means DefaultSessionName.
	SessionName string
	Duration    time.Duration // 900s..43200s; 0: 3600s
	Policy      string        // optional session policy
	// ReadFile reads TokenFile. nil: os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

// OIDCConfigFromEnv returns the RRSA settings injected by the ACK pod
// identity webhook, and false if ALIBABA_CLOUD_ROLE_ARN,
// ALIBABA_CLOUD_OIDC_PROVIDER_ARN or ALIBABA_CLOUD_OIDC_TOKEN_FILE is unset.
func OIDCConfigFromEnv(getenv func(string) string) (OIDCConfig, bool) {
	cfg := OIDCConfig{
		RoleARN:         getenv(EnvRoleARN),
		OIDCProviderARN: getenv(EnvOIDCProviderARN),
		TokenFile:       getenv(EnvOIDCTokenFile),
		SessionName:     getenv(EnvRoleSessionName),
	}
	return cfg, cfg.RoleARN != "" && cfg.OIDCProviderARN != "" && cfg.TokenFile != ""
}

// OIDCProvider gets credentials for an ACK pod (RRSA) from STS
// AssumeRoleWithOIDC, reading the projected service-account token from
// TokenFile on every Retrieve. It is safe for concurrent use.
type OIDCProvider struct {
	cfg    OIDCConfig
	client OIDCRoleAssumer
}

// NewOIDC returns an OIDCProvider. client must not be nil.
func NewOIDC(client OIDCRoleAssumer, cfg OIDCConfig) (*OIDCProvider, error) {
	if client == nil {
		return nil, fmt.Errorf("configuring oidc: %w: nil sts client", ErrInvalid)
	}
	if cfg.SessionName == "" {
		cfg.SessionName = DefaultSessionName
	}
	if cfg.OIDCProviderARN == "" || cfg.TokenFile == "" {
		return nil, fmt.Errorf("configuring oidc: %w: oidc provider arn and token file are required", ErrInvalid)
	}
	if err := checkRoleInput(cfg.RoleARN, cfg.SessionName, cfg.Duration, cfg.Policy); err != nil {
		return nil, fmt.Errorf("configuring oidc: %w", err)
	}
	if cfg.ReadFile == nil {
		cfg.ReadFile = os.ReadFile
	}
	return &OIDCProvider{cfg: cfg, client: client}, nil
}

// Retrieve reads the token file and calls AssumeRoleWithOIDC.
func (p *OIDCProvider) Retrieve(ctx context.Context) (Credentials, error) {
	b, err := p.cfg.ReadFile(p.cfg.TokenFile)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading oidc token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || len(b) > maxOIDCTokenFileBytes {
		return Credentials{}, fmt.Errorf("reading oidc token file %s: %w: empty or oversized token", p.cfg.TokenFile, ErrInvalid)
	}
	c, err := p.client.AssumeRoleWithOIDC(ctx, OIDCInput{
		RoleARN:         p.cfg.RoleARN,
		OIDCProviderARN: p.cfg.OIDCProviderARN,
		Token:           tok,
		SessionName:     p.cfg.SessionName,
		Duration:        p.cfg.Duration,
		Policy:          p.cfg.Policy,
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("assuming %s with oidc: %w", p.cfg.RoleARN, err)
	}
	if c.Source == "" {
		c.Source = "oidc"
	}
	return c, nil
}

var (
	_ Provider = (*AssumeRoleProvider)(nil)
	_ Provider = (*OIDCProvider)(nil)
)
