package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
	"github.com/ossproxy/ossproxy/vend"
)

// This file adapts the auth, credentials and signer packages to the
// interfaces package proxy consumes, and builds them from a config.Config.

var (
	_ proxy.Authenticator    = authenticator{}
	_ proxy.Authorizer       = authorizer{}
	_ proxy.CredentialSource = credentialSource{}
	_ vend.Authorizer        = livePolicy{}
)

// listenerInfo is stored in each request's context by the listener's
// http.Server (BaseContext), so the authenticator knows whether anonymous
// access is allowed where the request arrived.
type listenerInfo struct {
	name      string
	anonymous bool
}

type listenerKey struct{}

func withListener(ctx context.Context, li listenerInfo) context.Context {
	return context.WithValue(ctx, listenerKey{}, li)
}

// authenticator adapts the current *auth.Authenticator (SIGHUP replaces
// it) to proxy.Authenticator. An anonymous principal is refused unless the
// request's listener opted in (auth itself already requires a loopback or
// unix listener).
type authenticator struct{ st *atomic.Pointer[authState] }

func (w authenticator) Authenticate(ctx context.Context, r *http.Request, bucket, key string) (*proxy.Caller, error) {
	p, err := w.st.Load().authn.Authenticate(ctx, r, auth.Target{Bucket: bucket, Key: key})
	if err != nil {
		return nil, err
	}
	if p.Mode == auth.ModeAnonymous {
		if li, _ := ctx.Value(listenerKey{}).(listenerInfo); !li.anonymous {
			return nil, fmt.Errorf("listener %q does not allow anonymous access: %w", li.name, auth.ErrTokenMissing)
		}
	}
	return &proxy.Caller{
		Name: p.Name, Mode: p.Mode.String(),
		StripHeaders: p.Carrier.Headers, StripQuery: p.Carrier.QueryParams,
		Principal: p,
	}, nil
}

// authorizer adapts the current *auth.Policy (SIGHUP replaces it) to
// proxy.Authorizer; proxy.Action and auth.Action share their bit values.
type authorizer struct{ st *atomic.Pointer[authState] }

func (w authorizer) Authorize(_ context.Context, c *proxy.Caller, a proxy.Action, bucket, key string) error {
	p, _ := c.Principal.(*auth.Principal)
	return w.st.Load().policy.Authorize(p, auth.Action(a), bucket, key)
}

// livePolicy is the vend.Authorizer over the current policy.
type livePolicy struct{ st *atomic.Pointer[authState] }

func (w livePolicy) Authorize(p *auth.Principal, a auth.Action, bucket, key string) error {
	return w.st.Load().policy.Authorize(p, a, bucket, key)
}

func (w livePolicy) Grants(p *auth.Principal) []auth.Grant { return w.st.Load().policy.Grants(p) }

// credentialSource adapts *credentials.Cache to proxy.CredentialSource.
type credentialSource struct{ c *credentials.Cache }

func (w credentialSource) Retrieve(ctx context.Context) (signer.Credentials, error) {
	c, err := w.c.Retrieve(ctx)
	if err != nil {
		return signer.Credentials{}, err
	}
	return c.Credentials, nil
}

func (w credentialSource) Invalidate(stale signer.Credentials) {
	w.c.Invalidate(credentials.Credentials{Credentials: stale})
}

// newLogger builds the process logger from the logging section's level
// and format. redact_keys is applied by the access log's handler
// (metrics.AccessLogHandler with metrics.KeyHash, in newApp), which also
// redacts the key where an error names it.
func newLogger(w io.Writer, lc config.Logging) *slog.Logger {
	opts := &slog.HandlerOptions{Level: lc.SlogLevel()}
	if lc.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// newLogOutput returns the writer for the process log over w, and a
// function that writes what is still buffered and returns any write
// error (call it after the last record). When w is an *os.File (stderr
// as a file, pipe or terminal: one write(2) per record) and
// logging.flush_interval is not 0, records are batched by a logBuffer;
// any other writer (in memory, as in tests or an embedding program,
// where batching saves no system call) is returned as is.
func newLogOutput(w io.Writer, lc config.Logging) (io.Writer, func() error) {
	d := lc.FlushIntervalOrDefault()
	if _, isFile := w.(*os.File); !isFile || d <= 0 {
		return w, func() error { return nil }
	}
	b := newLogBuffer(w, logBufferSize, d)
	return b, b.Close
}

// credentialDeps is what building credential providers needs from outside.
type credentialDeps struct {
	getenv  func(string) string
	homeDir string
	logger  *slog.Logger
	hooks   credentials.Hooks // for the outer cache only
}

// buildCredentials returns the refresh-ahead cache over the configured
// source and a closer for it and for any inner caches. It performs no
// network call: the cache fetches in the background, so an unreachable
// STS delays credentials (503s) but not start-up.
func buildCredentials(cc config.Credentials, d credentialDeps) (*credentials.Cache, func(), error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	sts, err := newSTSClient(cc.STS, d.getenv)
	if err != nil {
		return nil, nil, err
	}
	cacheOpts := credentials.CacheOptions{
		Logger: d.logger, RefreshAt: cc.Cache.RefreshAt, Jitter: cc.Cache.Jitter,
		ExpiryWindow: cc.Cache.ExpiryWindow, MinLifetime: cc.Cache.MinLifetime, Timeout: cc.Cache.Timeout,
		RetryMin: cc.Cache.RetryMin, RetryMax: cc.Cache.RetryMax,
	}
	var build func(c *config.Credentials) (credentials.Provider, error)
	build = func(c *config.Credentials) (credentials.Provider, error) {
		switch c.Source {
		case config.SourceStatic:
			return credentials.NewStatic(c.AccessKeyID, c.AccessKeySecret.Reveal(), c.SecurityToken.Reveal()), nil
		case config.SourceEnv:
			return credentials.NewEnv(d.getenv), nil
		case config.SourceAssumeRole:
			base, err := build(c.Base)
			if err != nil {
				return nil, err
			}
			if c.Base.Source != config.SourceStatic && c.Base.Source != config.SourceEnv {
				// Temporary base credentials: cache them too.
				bc := credentials.NewCache(base, cacheOpts)
				closers = append(closers, func() { bc.Close() })
				base = bc
			}
			return credentials.NewAssumeRole(base, sts, credentials.AssumeRoleInput{
				RoleARN: c.RoleARN, SessionName: c.SessionName, Duration: c.Duration,
				ExternalID: c.ExternalID, Policy: c.SessionPolicy,
			})
		case config.SourceECS:
			return credentials.NewECS(credentials.ECSConfig{
				Endpoint: c.ECSEndpoint, RoleName: c.RoleName, AllowIMDSv1: c.AllowIMDSv1, Timeout: c.ECSTimeout,
			})
		case config.SourceRRSA:
			oc, _ := credentials.OIDCConfigFromEnv(d.getenv)
			oc.RoleARN = cmpOr(c.RoleARN, oc.RoleARN)
			oc.OIDCProviderARN = cmpOr(c.OIDCProviderARN, oc.OIDCProviderARN)
			oc.TokenFile = cmpOr(c.OIDCTokenFile, oc.TokenFile)
			oc.SessionName = cmpOr(c.SessionName, oc.SessionName)
			oc.Duration, oc.Policy = c.Duration, c.SessionPolicy
			return credentials.NewOIDC(sts, oc)
		case config.SourceProfile:
			opts := credentials.ProfileOptions{STS: sts}
			def := map[string]string{"cli": ".aliyun/config.json", "ini": ".alibabacloud/credentials"}[c.ProfileKind]
			file := c.ProfileFile
			if file == "" {
				if d.homeDir == "" {
					return nil, fmt.Errorf("profile_file is needed: HOME is not set for ~/%s: %w", def, config.ErrInvalid)
				}
				file = filepath.Join(d.homeDir, def)
			}
			if c.ProfileKind == "cli" {
				return credentials.NewCLIProfile(file, c.ProfileName, opts), nil
			}
			return credentials.NewCredentialsFile(file, c.ProfileName, opts), nil
		case config.SourceDefault:
			return credentials.NewDefaultChain(credentials.ChainConfig{Getenv: d.getenv, HomeDir: d.homeDir, STS: sts, Logger: d.logger})
		}
		return nil, fmt.Errorf("credentials source %q: %w", c.Source, config.ErrInvalid)
	}
	p, err := build(&cc)
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("building credentials: %w", err)
	}
	cacheOpts.Hooks = d.hooks
	cache := credentials.NewCache(p, cacheOpts)
	closers = append(closers, func() { cache.Close() })
	return cache, closeAll, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// newSTSClient builds the STS client: the configured endpoint, else
// ALIBABA_CLOUD_STS_ENDPOINT (and its region/VPC variables), else the
// configured region. It trusts the system roots plus ca_file, if set.
func newSTSClient(sc config.STS, getenv func(string) string) (*credentials.STSClient, error) {
	cfg := credentials.STSConfigFromEnv(getenv)
	switch {
	case sc.Endpoint != "":
		cfg.Endpoint, cfg.Region, cfg.VPC = sc.Endpoint, sc.Region, sc.VPC
	case cfg.Endpoint != "":
		cfg.Region = cmpOr(cfg.Region, sc.Region)
	case sc.Region != "":
		cfg.Region, cfg.VPC = sc.Region, sc.VPC
	}
	cfg.Timeout = sc.Timeout
	if len(sc.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(sc.CAPEM) {
			return nil, fmt.Errorf("sts ca_file: no certificate: %w", config.ErrInvalid)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		tr.Proxy = nil
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	c, err := credentials.NewSTSClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("building STS client: %w", err)
	}
	return c, nil
}
