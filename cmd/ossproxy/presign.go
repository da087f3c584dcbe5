package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/vend"
)

// runPresign is `ossproxy presign --config FILE --bucket B --key K
// [--method GET] [--expires 15m] [--v1] [--header "Content-Type: x"]`: it
// prints a presigned URL signed with the configured upstream credentials,
// as the SDKs' sign_url does. The lifetime is capped at 7 days and at the
// credentials' remaining life (a note on stderr says so). Headers the URL
// is signed for, which the client must send, are listed on stderr.
func runPresign(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("presign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `file` (YAML)")
	in := vend.PresignRequest{}
	fs.StringVar(&in.Bucket, "bucket", "", "`bucket` (one of the configured buckets)")
	fs.StringVar(&in.Key, "key", "", "object `key`")
	fs.StringVar(&in.Method, "method", "GET", "HTTP `method`: GET, PUT, HEAD or DELETE")
	expires := fs.Duration("expires", 15*time.Minute, "URL `lifetime` (at most 7 days)")
	v1 := fs.Bool("v1", false, "sign with signature version 1 (HMAC-SHA1) instead of 4")
	fs.Func("header", "`name: value` the URL is signed for, e.g. \"Content-Type: text/plain\" (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		if !ok {
			return errors.New(`want "Name: value"`)
		}
		if in.Headers == nil {
			in.Headers = map[string]string{}
		}
		in.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
		return nil
	})
	const usage = "usage: ossproxy presign --config FILE --bucket B --key K [--method GET] [--expires 15m] [--v1] [--header 'Name: value']"
	if done, err := parseFlags(fs, args, usage); done {
		return err
	}
	if *path == "" || in.Bucket == "" || in.Key == "" {
		return usageError{usage}
	}
	if *expires < time.Second || *expires%time.Second != 0 {
		return usageError{"--expires must be whole seconds, at least 1s"}
	}
	in.Expires = vend.Expiry(*expires)
	if *v1 {
		in.Version = "v1"
	}
	cfg, err := config.Load(*path, config.Options{Getenv: getenv})
	if err != nil {
		return err
	}
	logger := newLogger(stderr, config.Logging{Level: "warn", Format: "text"})
	creds, closeCreds, err := buildCredentials(cfg.Credentials, credentialDeps{getenv: getenv, homeDir: getenv("HOME"), logger: logger})
	if err != nil {
		return err
	}
	defer closeCreds()
	svc, err := vend.New(vend.Options{
		Buckets: vendBuckets(cfg.Proxy), Policy: cliGrants{}, Credentials: creds,
		MaxExpiry: 7 * 24 * time.Hour, Logger: logger,
	})
	if err != nil {
		return err
	}
	res, err := svc.Presign(ctx, cliPrincipal(), in)
	if err != nil {
		return err
	}
	if res.Capped {
		fmt.Fprintf(stderr, "note: %s; the URL expires at %s\n", res.CappedReason, res.ExpiresAt.Format(time.RFC3339))
	}
	for k, v := range res.HeadersToSend {
		fmt.Fprintf(stderr, "send header: %s: %s\n", k, v)
	}
	_, err = fmt.Fprintln(stdout, res.URL)
	return err
}

// cliPrincipal is the caller of the presign and sts subcommands: whoever
// can read the configuration may use its credentials anyway.
func cliPrincipal() *auth.Principal { return &auth.Principal{Name: "ossproxy-cli"} }

// cliGrants is the vend.Authorizer of the subcommands: the operator may do
// anything the upstream credentials can, and the sts subcommand's flags
// are its one grant.
type cliGrants struct{ grant auth.Grant }

func (cliGrants) Authorize(*auth.Principal, auth.Action, string, string) error { return nil }

func (g cliGrants) Grants(*auth.Principal) []auth.Grant {
	if g.grant.Actions == 0 {
		return nil
	}
	return []auth.Grant{g.grant}
}

// vendBuckets maps the configured buckets onto vend buckets: URLs and
// vended credentials name a bucket's public_endpoint when it has one,
// else its upstream endpoint (with the upstream addressing style).
func vendBuckets(pc proxy.Config) []vend.Bucket {
	out := make([]vend.Bucket, 0, len(pc.Buckets))
	for _, b := range pc.Buckets {
		vb := vend.Bucket{Name: b.Name, Region: b.Region, Endpoint: b.PublicEndpoint}
		if vb.Endpoint == "" {
			vb.Endpoint, vb.Style = b.Endpoint, vend.AddressingStyle(b.AddressingStyle)
		}
		out = append(out, vb)
	}
	return out
}

// newVendAPI builds the /_ossproxy/v1/ API for serve (proxy.Options.API)
// from the vend section: presigned URLs signed by a credentials cache of
// its own over the configured source (so a refresh it asks for never
// stalls proxied requests), or, with vend.presign.proxy_url, by a
// proxy-issued access key, naming the proxy; and scoped STS credentials of
// vend.sts.role_arn (assumed with the upstream credentials) or, when the
// upstream credentials are assume_role, of that role, assumed with its
// base credentials. Limits per principal default to 10 presigns/s (burst
// 50) and 1 STS request/s (burst 5). obs, if not nil, sees every answer.
// keys returns the proxy-issued access keys in force, so URLs are signed
// with the current secret after a reload (nil: cfg's). The returned func
// closes the caches.
func newVendAPI(cfg *config.Config, pol vend.Authorizer, d credentialDeps, obs vend.Observer, keys func() []config.AccessKey) (*vendAPI, func(), error) {
	// The caches are built on first use: serving no vend call costs no STS
	// call. Building them fails only on what config.Load already checked.
	signing := &lazyCache{build: func() (*credentials.Cache, func(), error) { return buildCredentials(cfg.Credentials, d) }}
	closers := []func(){signing.close}
	var err error
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	vc := cfg.Vend
	o := vend.Options{
		Buckets: vendBuckets(cfg.Proxy), Policy: pol, Credentials: signing,
		Principal: apiPrincipal, RequestID: proxy.RequestIDFromContext,
		MaxExpiry:     cmp.Or(vc.Presign.MaxExpiry, config.DefaultPresignMaxExpiry),
		DefaultExpiry: vc.Presign.DefaultExpiry,
		PresignLimit:  rateLimit(vc.Presign.RateLimit, vend.RateLimit{PerSecond: 10, Burst: 50}),
		STSLimit:      rateLimit(vc.STS.RateLimit, vend.RateLimit{PerSecond: 1, Burst: 5}),
		Observer:      obs,
		Logger:        d.logger,
	}
	stsBuckets := o.Buckets
	if u := vc.Presign.ProxyURL; u != "" {
		o.Buckets = slices.Clone(o.Buckets)
		if keys == nil {
			keys = func() []config.AccessKey { return cfg.Auth.AccessKeys }
		}
		key := &accessKeyProvider{id: vc.Presign.ProxyAccessKey, keys: keys}
		region := cfg.AuthConfig().AccessKeyRegion // what the proxy verifies V4 scopes against
		for j := range o.Buckets {
			o.Buckets[j] = vend.Bucket{Name: o.Buckets[j].Name, Region: region, Endpoint: strings.TrimSuffix(u, "/"),
				Style: vend.PathStyle, Credentials: key}
		}
	}
	c := cfg.Credentials
	sts := &vend.STSOptions{
		RoleARN: vc.STS.RoleARN, Base: signing, ExternalID: vc.STS.ExternalID, SessionName: vc.STS.SessionName,
		MaxDuration: vc.STS.MaxDuration, DefaultDuration: vc.STS.DefaultDuration,
	}
	if sts.RoleARN == "" && c.Source == config.SourceAssumeRole && c.Base != nil {
		bc := *c.Base
		bc.STS, bc.Cache = c.STS, c.Cache
		base := &lazyCache{build: func() (*credentials.Cache, func(), error) { return buildCredentials(bc, d) }}
		closers = append(closers, base.close)
		sts.RoleARN, sts.Base, sts.ExternalID = c.RoleARN, base, cmpOr(sts.ExternalID, c.ExternalID)
	}
	if sts.RoleARN != "" && !vc.STS.Disabled {
		if sts.Client, err = newSTSClient(c.STS, d.getenv); err != nil {
			closeAll()
			return nil, nil, err
		}
		o.STS = sts
	}
	api := &vendAPI{}
	if vc.Presign.ProxyURL != "" && o.STS != nil {
		// vend.Bucket has one endpoint: presigned URLs name the proxy,
		// but STS credentials are for OSS and must name its endpoint.
		so := o
		so.Buckets, so.Credentials = stsBuckets, nil
		if api.sts, err = vend.New(so); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("building vend API: %w", err)
		}
		o.STS = nil
	}
	if api.presign, err = vend.New(o); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("building vend API: %w", err)
	}
	if api.sts == nil {
		api.sts = api.presign
	}
	return api, closeAll, nil
}

// errNoProxyKey: the access key presigned proxy URLs are signed with is no
// longer configured (a reload removed it).
var errNoProxyKey = errors.New("the access key that signs proxy URLs is not configured")

// accessKeyProvider serves the proxy-issued access key id from the keys in
// force, read on every call. It is safe for concurrent use.
type accessKeyProvider struct {
	id   string
	keys func() []config.AccessKey
}

func (p *accessKeyProvider) Retrieve(context.Context) (credentials.Credentials, error) {
	for _, k := range p.keys() {
		if k.ID == p.id {
			return credentials.NewStatic(k.ID, k.Secret.Reveal(), "").Retrieve(context.Background())
		}
	}
	return credentials.Credentials{}, fmt.Errorf("signing a proxy URL with access key %q: %w", p.id, errNoProxyKey)
}

// vendAPI is serve's /_ossproxy/v1/ handler: one vend.Service, or two
// when presigned URLs name the proxy (vend.presign.proxy_url) while vended
// STS credentials name OSS. It is safe for concurrent use.
type vendAPI struct{ presign, sts *vend.Service }

func (v *vendAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == vend.STSPath {
		v.sts.ServeHTTP(w, r)
		return
	}
	v.presign.ServeHTTP(w, r)
}

// Presign is vend.Service.Presign of the presign service.
func (v *vendAPI) Presign(ctx context.Context, p *auth.Principal, in vend.PresignRequest) (*vend.PresignResult, error) {
	return v.presign.Presign(ctx, p, in)
}

// Credentials is vend.Service.Credentials of the STS service.
func (v *vendAPI) Credentials(ctx context.Context, p *auth.Principal, in vend.STSRequest) (*vend.STSResult, error) {
	return v.sts.Credentials(ctx, p, in)
}

// rateLimit returns r, or def when r is zero; a rate without a burst
// takes vend's default burst.
func rateLimit(r config.RateLimit, def vend.RateLimit) vend.RateLimit {
	if r == (config.RateLimit{}) {
		return def
	}
	if r.PerSecond == 0 {
		return vend.RateLimit{PerSecond: def.PerSecond, Burst: r.Burst}
	}
	return vend.RateLimit{PerSecond: r.PerSecond, Burst: r.Burst}
}

// apiPrincipal is vend's PrincipalFunc over the proxy's context.
func apiPrincipal(ctx context.Context) (*auth.Principal, bool) {
	c, ok := proxy.CallerFromContext(ctx)
	if !ok {
		return nil, false
	}
	p, ok := c.Principal.(*auth.Principal)
	return p, ok && p != nil
}

var (
	_ vend.Authorizer    = cliGrants{}
	_ vend.PrincipalFunc = apiPrincipal
	_ http.Handler       = (*vend.Service)(nil)
)
