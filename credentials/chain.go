package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Chain tries providers in order and returns the first credentials found.
// A provider answering ErrNotFound (its source is absent) is skipped; any
// other error stops the chain and is returned, so that a configured but
// failing source (say, an RRSA token STS rejects) never silently yields to
// a different identity further down. This differs from the Alibaba SDKs,
// which fall through on every error.
//
// Once a provider has succeeded, the chain sticks to it, as the SDKs do.
// A Chain is safe for concurrent use.
type Chain struct {
	names     []string
	providers []Provider
	log       *slog.Logger
	sticky    atomic.Int32 // index+1 of the provider that succeeded; 0: none yet
}

// ChainEntry is one named provider of a Chain.
type ChainEntry struct {
	Name     string // for logs and errors, e.g. "env"
	Provider Provider
}

// NewChain returns a Chain over entries, in order. logger nil: discard.
func NewChain(logger *slog.Logger, entries ...ChainEntry) *Chain {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Chain{log: logger}
	for _, e := range entries {
		c.names = append(c.names, e.Name)
		c.providers = append(c.providers, e.Provider)
	}
	return c
}

// Names returns the names of the chain's providers, in order.
func (c *Chain) Names() []string { return append([]string(nil), c.names...) }

// Retrieve implements Provider. If every provider answers ErrNotFound the
// error wraps ErrNotFound and lists what was tried.
func (c *Chain) Retrieve(ctx context.Context) (Credentials, error) {
	if i := int(c.sticky.Load()) - 1; i >= 0 {
		cr, err := c.providers[i].Retrieve(ctx)
		if err != nil {
			return Credentials{}, fmt.Errorf("credentials chain (%s): %w", c.names[i], err)
		}
		return cr, nil
	}
	var tried []string
	for i, p := range c.providers {
		cr, err := p.Retrieve(ctx)
		if errors.Is(err, ErrNotFound) {
			tried = append(tried, c.names[i])
			continue
		}
		if err != nil {
			if len(tried) > 0 {
				return Credentials{}, fmt.Errorf("credentials chain (%s; nothing found in %s): %w", c.names[i], strings.Join(tried, ", "), err)
			}
			return Credentials{}, fmt.Errorf("credentials chain (%s): %w", c.names[i], err)
		}
		if c.sticky.CompareAndSwap(0, int32(i+1)) {
			c.log.LogAttrs(ctx, slog.LevelInfo, "credentials source selected", slog.String("provider", c.names[i]))
		}
		return cr, nil
	}
	return Credentials{}, fmt.Errorf("credentials chain: %w in any of %s", ErrNotFound, strings.Join(tried, ", "))
}

// ChainConfig configures NewDefaultChain.
type ChainConfig struct {
	// Getenv looks up environment variables; cmd/ passes os.Getenv. Required.
	Getenv func(string) string
	// HomeDir is the user's home directory, for ~/.aliyun/config.json and
	// ~/.alibabacloud/credentials. "": those two files are skipped unless
	// ALIBABA_CLOUD_CREDENTIALS_FILE names the second.
	HomeDir string
	// STS serves the STS-backed providers. nil: an STSClient built from
	// STSConfig overlaid with STSConfigFromEnv.
	STS STSAPI
	// STSConfig carries the HTTPClient and Timeout for STS clients built
	// here, and the endpoint if the environment names none.
	STSConfig STSConfig
	// ECS configures the ECS RAM role provider; ALIBABA_CLOUD_ECS_METADATA
	// supplies the role name if ECS.RoleName is empty.
	ECS ECSConfig
	// ReadFile reads profile and token files. nil: os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Logger receives which source was selected. nil: discard.
	Logger *slog.Logger
}

// NewDefaultChain returns the Alibaba SDKs' default chain (PROTOCOL.md §4):
//
//  1. environment: ALIBABA_CLOUD_ACCESS_KEY_ID/…, then OSS_ACCESS_KEY_ID/…;
//  2. RRSA: ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN and _OIDC_TOKEN_FILE;
//  3. the aliyun CLI profile ~/.aliyun/config.json (profile
//     ALIBABA_CLOUD_PROFILE or the file's current one), unless
//     ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true;
//  4. ~/.alibabacloud/credentials or ALIBABA_CLOUD_CREDENTIALS_FILE
//     (profile ALIBABA_CLOUD_PROFILE or "default");
//  5. the ECS instance RAM role, unless ALIBABA_CLOUD_ECS_METADATA_DISABLED=true.
//
// ALIBABA_CLOUD_CREDENTIALS_URI is not supported. Wrap the result in a Cache.
func NewDefaultChain(cfg ChainConfig) (*Chain, error) {
	if cfg.Getenv == nil {
		return nil, fmt.Errorf("configuring credentials chain: %w: nil Getenv", ErrInvalid)
	}
	env := cfg.Getenv
	sc := cfg.STSConfig
	if fromEnv := STSConfigFromEnv(env); fromEnv.Endpoint != "" || fromEnv.Region != "" {
		sc.Endpoint, sc.Region, sc.VPC = fromEnv.Endpoint, fromEnv.Region, fromEnv.VPC
	}
	sts := cfg.STS
	if sts == nil {
		c, err := NewSTSClient(sc)
		if err != nil {
			return nil, fmt.Errorf("configuring credentials chain: %w", err)
		}
		sts = c
	}
	ecsCfg := cfg.ECS
	if ecsCfg.RoleName == "" {
		ecsCfg.RoleName = env(EnvECSMetadata)
	}
	// Profiles may name their own sts_region unless an STS client was given.
	opts := ProfileOptions{STS: cfg.STS, STSConfig: sc, ECS: ecsCfg, ReadFile: cfg.ReadFile}
	profile := env(EnvProfile)

	entries := []ChainEntry{{"env", NewEnv(env)}}
	if oc, ok := OIDCConfigFromEnv(env); ok {
		oc.ReadFile = cfg.ReadFile
		p, err := NewOIDC(sts, oc)
		if err != nil {
			return nil, fmt.Errorf("configuring credentials chain: %w", err)
		}
		entries = append(entries, ChainEntry{"oidc", p})
	}
	if cfg.HomeDir != "" && !strings.EqualFold(env(EnvCLIProfileDisabled), "true") {
		entries = append(entries, ChainEntry{"cli_profile", NewCLIProfile(filepath.Join(cfg.HomeDir, ".aliyun", "config.json"), profile, opts)})
	}
	credFile := env(EnvCredentialsFile)
	if credFile == "" && cfg.HomeDir != "" {
		credFile = filepath.Join(cfg.HomeDir, ".alibabacloud", "credentials")
	}
	if credFile != "" {
		entries = append(entries, ChainEntry{"profile", NewCredentialsFile(credFile, profile, opts)})
	}
	if !strings.EqualFold(env(EnvECSMetadataDisabled), "true") {
		p, err := NewECS(ecsCfg)
		if err != nil {
			return nil, fmt.Errorf("configuring credentials chain: %w", err)
		}
		entries = append(entries, ChainEntry{"ecs", p})
	}
	return NewChain(cfg.Logger, entries...), nil
}

var (
	_ Provider = (*Chain)(nil)
	_ Provider = (*fileProvider)(nil)
	_ STSAPI   = (*STSClient)(nil)
)
