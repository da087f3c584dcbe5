package auth

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Config configures an [Authenticator]. Modes are combined: a request with
// an OSS signature is checked against AccessKeys, one with a bearer token
// against Issuers, and one with no credential at all may be anonymous.
type Config struct {
	// Issuers are the trusted JWT issuers; a token's iss selects one.
	Issuers []IssuerConfig `yaml:"issuers"`
	// TokenHeader is an extra header that may carry the token (raw or as
	// "Bearer <token>"), besides Authorization: Bearer. "" means none.
	TokenHeader string `yaml:"token_header"`
	// TokenQueryParam is a query parameter that may carry the token, for
	// browser links. "" means none. The proxy must strip it before
	// forwarding (see Principal.Carrier).
	TokenQueryParam string `yaml:"token_query_param"`
	// MaxTokenSize refuses larger tokens before parsing (0: 8 KiB).
	MaxTokenSize int `yaml:"max_token_size"`
	// CacheSize bounds the verified-token cache (0: 10000; negative
	// disables the cache).
	CacheSize int `yaml:"cache_size"`
	// CacheTTL caps how long a verified token is cached (0: 5m), so keys
	// removed from a JWKS stop working within it. An entry is never used
	// after the token's exp, whatever the TTL. Both are checked with Now.
	CacheTTL time.Duration `yaml:"cache_ttl"`

	// AccessKeys are the proxy-issued access keys for OSS-signing clients.
	AccessKeys []AccessKey `yaml:"access_keys"`
	// AccessKeyRegion is the region clients sign V4 requests for (the
	// proxy's configured OSS region).
	AccessKeyRegion string `yaml:"access_key_region"`

	// Anonymous configures anonymous access (disabled by default).
	Anonymous AnonymousConfig `yaml:"anonymous"`

	// HTTPClient fetches JWKS and discovery documents. nil means a client
	// with a 10s timeout; set one with timeouts.
	HTTPClient *http.Client `yaml:"-"`
	// Logger receives failure reasons (never tokens or secrets). nil
	// discards.
	Logger *slog.Logger `yaml:"-"`
	// Now is the clock for token and signature time checks. nil means
	// time.Now.
	Now func() time.Time `yaml:"-"`
}

// Target is what the request addresses, as the proxy's router decoded it;
// signature verification needs it. Bucket and Key are "" for service and
// bucket operations respectively.
type Target struct {
	Bucket string
	Key    string
}

// cacheEntry is a verified principal, usable until min(exp, added+TTL).
type cacheEntry struct {
	p     *Principal
	until time.Time
}

// CacheStats counts verified-token cache lookups.
type CacheStats struct {
	Hits, Misses uint64
	Len          int
}

// Authenticator authenticates requests. It is immutable after [New] and
// safe for concurrent use.
type Authenticator struct {
	ext        extractor
	issuers    map[string]*issuer
	unverified *jwt.Parser
	cache      *expirable.LRU[[sha256.Size]byte, cacheEntry]
	cacheTTL   time.Duration
	tokenHash  tokenHasher
	hits       atomic.Uint64
	misses     atomic.Uint64
	keys       *accessKeys
	anon       *Principal
	log        *slog.Logger
	now        func() time.Time
}

const (
	defaultMaxToken  = 8 << 10
	defaultCacheSize = 10000
	defaultCacheTTL  = 5 * time.Minute
)

// New validates cfg and builds an Authenticator. It fetches OIDC discovery
// documents and JWKS once (a JWKS that is down at start-up is not fatal: it
// is retried in the background and on unknown kids; a discovery document
// that cannot be read is). ctx bounds the lifetime of the background JWKS
// refreshes: cancel it to stop them. Errors wrap [ErrInvalidConfig] or the
// cause.
//
// The token cache is an expirable.LRU with its background sweeper off (in
// golang-lru v2.0.7 that goroutine can never be stopped, so every New would
// leak one); entries expire on lookup by the injected clock instead, and
// the LRU bound evicts the rest. New starts no goroutine except keyfunc's
// JWKS refreshers, which end with ctx.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		ext: extractor{
			header:   http.CanonicalHeaderKey(cfg.TokenHeader),
			param:    cfg.TokenQueryParam,
			maxToken: cmp.Or(cfg.MaxTokenSize, defaultMaxToken),
		},
		issuers:    make(map[string]*issuer, len(cfg.Issuers)),
		unverified: jwt.NewParser(),
		log:        cfg.Logger,
		now:        cfg.Now,
	}
	if cfg.TokenHeader != "" && a.ext.header == "Authorization" {
		a.ext.header = "" // Authorization is always read
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if cfg.MaxTokenSize < 0 || cfg.CacheTTL < 0 {
		return nil, fmt.Errorf("negative max_token_size or cache_ttl: %w", ErrInvalidConfig)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, ic := range cfg.Issuers {
		if _, dup := a.issuers[ic.Issuer]; dup {
			return nil, fmt.Errorf("issuer %q configured twice: %w", ic.Issuer, ErrInvalidConfig)
		}
		is, err := newIssuer(ctx, ic, client, a.log, a.now)
		if err != nil {
			return nil, fmt.Errorf("configuring issuer: %w", err)
		}
		a.issuers[ic.Issuer] = is
	}
	if cfg.CacheSize >= 0 && len(a.issuers) > 0 {
		// TTL 0 turns off expirable's sweeper goroutine; cacheEntry.until
		// does the expiry.
		a.cache = expirable.NewLRU[[sha256.Size]byte, cacheEntry](cmp.Or(cfg.CacheSize, defaultCacheSize), nil, 0)
		a.cacheTTL = cmp.Or(cfg.CacheTTL, defaultCacheTTL)
	}
	keys, err := newAccessKeys(cfg.AccessKeys, cfg.AccessKeyRegion)
	if err != nil {
		return nil, fmt.Errorf("configuring access keys: %w", err)
	}
	a.keys = keys
	if cfg.Anonymous.Enabled {
		a.anon = &Principal{
			Name:   cmp.Or(cfg.Anonymous.Principal, "anonymous"),
			Mode:   ModeAnonymous,
			Groups: slices.Clone(cfg.Anonymous.Groups),
		}
	}
	return a, nil
}

// Authenticate identifies the caller of r. target is the bucket and key
// the proxy's router decoded from r (used to verify OSS signatures). The
// first credential found decides the mode: an OSS signature (Authorization
// "OSS …"/"OSS4-HMAC-SHA256 …" or presign query parameters), else a bearer
// token (Authorization, TokenHeader or TokenQueryParam), else anonymous
// access if enabled and r arrived on a local listener (its
// http.LocalAddrContextKey).
//
// Errors wrap one of the package's *Error sentinels (401/403 with an OSS
// code), or ctx's error if ctx ends during a key lookup. The failure
// reason is logged at Info level without the credential.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, target Target) (*Principal, error) {
	p, mode, err := a.authenticate(ctx, r, target)
	if err != nil {
		if ctx.Err() == nil {
			a.log.LogAttrs(ctx, slog.LevelInfo, "authentication failed",
				slog.String("mode", mode),
				slog.String("code", ErrorCode(err)),
				slog.String("reason", err.Error()),
				slog.String("remote_addr", r.RemoteAddr),
				slog.String("method", r.Method),
				slog.String("bucket", target.Bucket))
		}
		return nil, err
	}
	return p, nil
}

func (a *Authenticator) authenticate(ctx context.Context, r *http.Request, target Target) (*Principal, string, error) {
	var query map[string][]string
	if r.URL != nil && r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	kind, tok, carrier, err := a.ext.extract(r.Header, query)
	if err != nil {
		return nil, "jwt", fmt.Errorf("extracting credential: %w", err)
	}
	switch kind {
	case credSignature:
		p, err := a.keys.verify(ctx, r, target, a.now())
		if err != nil {
			return nil, "accesskey", err
		}
		p.Carrier = carrier
		return p, "accesskey", nil
	case credBearer:
		if len(a.issuers) == 0 {
			return nil, "jwt", fmt.Errorf("bearer token but no issuer configured: %w", ErrTokenIssuer)
		}
		p, err := a.verifyToken(ctx, tok)
		if err != nil {
			return nil, "jwt", err
		}
		cp := *p // the cached principal is shared; the carrier is per request
		cp.Carrier = carrier
		return &cp, "jwt", nil
	}
	switch {
	case a.anon == nil:
		return nil, "none", ErrTokenMissing
	case !requestIsLocal(r.Context()):
		return nil, "anonymous", fmt.Errorf("request on a non-local listener: %w", ErrAnonymousNotAllowed)
	}
	cp := *a.anon
	return &cp, "anonymous", nil
}

// verifyToken returns the principal for tok, from the cache when possible.
// The returned principal must not be mutated.
func (a *Authenticator) verifyToken(ctx context.Context, tok string) (*Principal, error) {
	var sum [sha256.Size]byte
	if a.cache != nil {
		sum = a.tokenHash.sum(tok)
		if e, ok := a.cache.Get(sum); ok {
			if a.now().Before(e.until) {
				a.hits.Add(1)
				return e.p, nil
			}
			a.cache.Remove(sum)
		}
		a.misses.Add(1)
	}
	is, err := a.selectIssuer(tok)
	if err != nil {
		return nil, err
	}
	p, err := is.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if a.cache != nil {
		now := a.now()
		if until := now.Add(a.cacheTTL); now.Before(p.ExpiresAt) {
			if p.ExpiresAt.Before(until) {
				until = p.ExpiresAt
			}
			a.cache.Add(sum, cacheEntry{p: p, until: until})
		}
	}
	return p, nil
}

// selectIssuer reads iss and alg from the unverified token, only to choose
// the issuer whose parser then verifies everything, and refuses algorithms
// the issuer does not pin before any key is looked up.
func (a *Authenticator) selectIssuer(tok string) (*issuer, error) {
	claims := jwt.MapClaims{}
	t, _, err := a.unverified.ParseUnverified(tok, claims)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenUnverifiable) { // alg missing or unknown
			return nil, fmt.Errorf("parsing token: %w: %w", ErrTokenAlgorithm, err)
		}
		return nil, fmt.Errorf("parsing token: %w: %w", ErrTokenMalformed, err)
	}
	iss, err := claims.GetIssuer()
	if err != nil || iss == "" {
		return nil, fmt.Errorf("parsing token: no iss claim: %w", ErrTokenIssuer)
	}
	is, ok := a.issuers[iss]
	if !ok {
		return nil, fmt.Errorf("parsing token: issuer %q: %w", truncate(iss, 256), ErrTokenIssuer)
	}
	if alg := t.Method.Alg(); !slices.Contains(is.algs, alg) {
		return nil, fmt.Errorf("parsing token: alg %q for issuer %q: %w", truncate(alg, 32), iss, ErrTokenAlgorithm)
	}
	return is, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// CacheStats returns the verified-token cache counters, for metrics.
func (a *Authenticator) CacheStats() CacheStats {
	s := CacheStats{Hits: a.hits.Load(), Misses: a.misses.Load()}
	if a.cache != nil {
		s.Len = a.cache.Len()
	}
	return s
}
