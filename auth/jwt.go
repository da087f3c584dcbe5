package auth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// IssuerConfig trusts one token issuer. Exactly one kind of key source is
// used: JWKSURL, Discovery, Keys (any of these may be combined), or
// HMACSecret alone.
type IssuerConfig struct {
	// Issuer is the exact iss value. Required.
	Issuer string `yaml:"issuer"`
	// Audiences: the token's aud must contain at least one. Required.
	Audiences []string `yaml:"audiences"`
	// Algorithms pins the accepted alg values, e.g. ["RS256"]. Required.
	// "none" is never accepted; HS* algorithms only with HMACSecret, and
	// HMACSecret only with HS* algorithms.
	Algorithms []string `yaml:"algorithms"`

	// JWKSURL is fetched at start-up and every RefreshInterval, and again
	// (at most every MinRefreshInterval) when a token names an unknown kid.
	JWKSURL string `yaml:"jwks_url"`
	// Discovery fetches Issuer + "/.well-known/openid-configuration" at
	// start-up and uses its jwks_uri (Kubernetes service-account issuers
	// work this way). The document's issuer must equal Issuer, and the
	// jwks_uri of an https issuer must be https too (only an http issuer,
	// as in tests on loopback, may name an http one). Redirects from
	// https to http are not followed, for the JWKS either.
	Discovery bool `yaml:"discovery"`
	// Keys are static verification keys: PEM public keys or certificates,
	// or a JWK / JWK Set in JSON. The caller reads the file.
	Keys []byte `yaml:"-"`
	// HMACSecret is the shared secret for HS256/384/512, at least 32
	// bytes. The caller reads it from the environment or a file.
	HMACSecret Secret `yaml:"-"`

	// Leeway is the clock skew allowed for exp, nbf and iat (0: 30s).
	Leeway time.Duration `yaml:"leeway"`
	// RequiredClaims are checked after verification.
	RequiredClaims []ClaimRequirement `yaml:"required_claims"`
	// NameClaim (default "sub"), GroupsClaim (default "groups") and
	// RolesClaim (default "roles") name the claims that fill the
	// Principal's Name, Groups and Roles. Groups and roles claims may be a
	// string or an array of strings.
	NameClaim   string `yaml:"name_claim"`
	GroupsClaim string `yaml:"groups_claim"`
	RolesClaim  string `yaml:"roles_claim"`

	// RefreshInterval is how often the JWKS is re-fetched in the
	// background (0: 1h).
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// MinRefreshInterval rate-limits JWKS re-fetches caused by unknown
	// kids (0: 1m). The first one is immediate.
	MinRefreshInterval time.Duration `yaml:"min_refresh_interval"`
	// KeyLookupTimeout bounds the handling of an unknown kid, the re-fetch
	// included (0: 3s); when the rate limit forbids a re-fetch the token
	// fails at once.
	KeyLookupTimeout time.Duration `yaml:"key_lookup_timeout"`
}

// ClaimRequirement requires a claim in every token of an issuer.
type ClaimRequirement struct {
	// Claim is the claim name.
	Claim string `yaml:"claim"`
	// Values: if empty, the claim must be present and non-empty; otherwise
	// the claim (a string, or an array of strings) must contain one of them.
	Values []string `yaml:"values"`
}

// issuer is one compiled IssuerConfig. It is immutable after New and safe
// for concurrent use.
type issuer struct {
	name                             string
	algs                             []string
	parser                           *jwt.Parser
	keys                             keyfunc.Keyfunc // nil for HMAC
	hmac                             []byte
	lookupTimeout                    time.Duration
	required                         []ClaimRequirement
	nameClaim, groupsClaim, rolesCla string
}

const (
	defaultLeeway        = 30 * time.Second
	defaultRefresh       = time.Hour
	defaultMinRefresh    = time.Minute
	defaultLookupTimeout = 3 * time.Second
	maxDiscoveryBody     = 1 << 20
)

// newIssuer validates cfg and builds its parser and key source. ctx bounds
// the lifetime of the JWKS refresh goroutine.
func newIssuer(ctx context.Context, cfg IssuerConfig, client *http.Client, log *slog.Logger, now func() time.Time) (*issuer, error) {
	if cfg.Issuer == "" {
		return nil, fmt.Errorf("issuer is empty: %w", ErrInvalidConfig)
	}
	if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		return nil, fmt.Errorf("issuer %q: audiences are required: %w", cfg.Issuer, ErrInvalidConfig)
	}
	if len(cfg.Algorithms) == 0 {
		return nil, fmt.Errorf("issuer %q: algorithms are required: %w", cfg.Issuer, ErrInvalidConfig)
	}
	hmacAlgs := 0
	for _, a := range cfg.Algorithms {
		m := jwt.GetSigningMethod(a)
		if m == nil || a == "none" {
			return nil, fmt.Errorf("issuer %q: algorithm %q is not supported: %w", cfg.Issuer, a, ErrInvalidConfig)
		}
		if _, ok := m.(*jwt.SigningMethodHMAC); ok {
			hmacAlgs++
		}
	}
	remote := cfg.JWKSURL != "" || cfg.Discovery
	switch {
	case len(cfg.HMACSecret) > 0 && (remote || len(cfg.Keys) > 0):
		return nil, fmt.Errorf("issuer %q: an HMAC secret cannot be combined with public keys: %w", cfg.Issuer, ErrInvalidConfig)
	case len(cfg.HMACSecret) > 0 && hmacAlgs != len(cfg.Algorithms):
		return nil, fmt.Errorf("issuer %q: an HMAC secret needs HS* algorithms only: %w", cfg.Issuer, ErrInvalidConfig)
	case len(cfg.HMACSecret) == 0 && hmacAlgs > 0:
		return nil, fmt.Errorf("issuer %q: HS* algorithms need an HMAC secret: %w", cfg.Issuer, ErrInvalidConfig)
	case len(cfg.HMACSecret) == 0 && !remote && len(cfg.Keys) == 0:
		return nil, fmt.Errorf("issuer %q: no key source: %w", cfg.Issuer, ErrInvalidConfig)
	case len(cfg.HMACSecret) > 0 && len(cfg.HMACSecret) < 32:
		return nil, fmt.Errorf("issuer %q: HMAC secret shorter than 32 bytes: %w", cfg.Issuer, ErrInvalidConfig)
	}
	for _, rc := range cfg.RequiredClaims {
		if rc.Claim == "" {
			return nil, fmt.Errorf("issuer %q: required claim without a name: %w", cfg.Issuer, ErrInvalidConfig)
		}
	}
	leeway := cmp.Or(cfg.Leeway, defaultLeeway)
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("issuer %q: negative leeway: %w", cfg.Issuer, ErrInvalidConfig)
	}
	is := &issuer{
		name: cfg.Issuer,
		algs: slices.Clone(cfg.Algorithms),
		parser: jwt.NewParser(
			jwt.WithValidMethods(slices.Clone(cfg.Algorithms)),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(slices.Clone(cfg.Audiences)...),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
		),
		hmac:          slices.Clone(cfg.HMACSecret),
		lookupTimeout: cmp.Or(cfg.KeyLookupTimeout, defaultLookupTimeout),
		required:      slices.Clone(cfg.RequiredClaims),
		nameClaim:     cmp.Or(cfg.NameClaim, "sub"),
		groupsClaim:   cmp.Or(cfg.GroupsClaim, "groups"),
		rolesCla:      cmp.Or(cfg.RolesClaim, "roles"),
	}
	if len(is.hmac) > 0 {
		return is, nil
	}

	var static *keyfunc.Options
	if len(cfg.Keys) > 0 {
		store, err := parseStaticKeys(ctx, cfg.Keys)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: %w", cfg.Issuer, err)
		}
		static = &keyfunc.Options{Ctx: ctx, Storage: store}
	}
	jwksURL := cfg.JWKSURL
	if remote {
		client = noDowngrade(client)
	}
	if cfg.Discovery {
		u, err := discoverJWKS(ctx, client, cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: %w", cfg.Issuer, err)
		}
		if jwksURL == "" {
			jwksURL = u
		}
	}
	if jwksURL == "" {
		kf, err := keyfunc.New(*static)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: building key set: %w", cfg.Issuer, err)
		}
		is.keys = kf
		return is, nil
	}
	ov := keyfunc.Override{
		Client:            client,
		HTTPTimeout:       is.lookupTimeout,
		RefreshInterval:   cmp.Or(cfg.RefreshInterval, defaultRefresh),
		RefreshUnknownKID: rate.NewLimiter(rate.Every(cmp.Or(cfg.MinRefreshInterval, defaultMinRefresh)), 1),
		RateLimitWaitMax:  is.lookupTimeout,
		RefreshErrorHandlerFunc: func(u string) func(ctx context.Context, err error) {
			return func(ctx context.Context, err error) {
				log.LogAttrs(ctx, slog.LevelWarn, "refreshing JWKS failed; keeping cached keys",
					slog.String("iss", cfg.Issuer), slog.String("jwks_url", u), slog.String("error", err.Error()))
			}
		},
	}
	if static != nil {
		ov.Given = static.Storage
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{jwksURL}, ov)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: building JWKS client: %w", cfg.Issuer, err)
	}
	is.keys = kf
	return is, nil
}

// discoverJWKS reads the OIDC discovery document of iss and returns its
// jwks_uri.
func discoverJWKS(ctx context.Context, client *http.Client, iss string) (string, error) {
	u := strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("building discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching discovery document: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching discovery document: status %d: %w", resp.StatusCode, ErrInvalidConfig)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBody)).Decode(&doc); err != nil {
		return "", fmt.Errorf("decoding discovery document: %w", err)
	}
	if doc.Issuer != iss {
		return "", fmt.Errorf("discovery document names issuer %q: %w", doc.Issuer, ErrInvalidConfig)
	}
	pu, err := url.Parse(doc.JWKSURI)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		// Not quoted: an unparsable value could hold anything, a
		// password included.
		return "", fmt.Errorf("discovery document has a bad jwks_uri (%d bytes): %w", len(doc.JWKSURI), ErrInvalidConfig)
	}
	// The keys are only as trustworthy as the channel they come by: an
	// https issuer must not send us to fetch them in plaintext (tests and
	// the demo run http issuers on loopback, whose keys are http too).
	if iu, _ := url.Parse(iss); pu.Scheme == "http" && (iu == nil || iu.Scheme != "http") {
		return "", fmt.Errorf("discovery document's jwks_uri %q uses plain http while the issuer uses https; "+
			"refusing to fetch its keys without TLS (the identity provider must publish an https jwks_uri, "+
			"or set jwks_url to its https address): %w", pu.Redacted(), ErrInvalidConfig)
	}
	return doc.JWKSURI, nil
}

// noDowngrade returns a copy of c that refuses to follow a redirect from
// https to plain http: discovery documents and keys fetched over TLS are
// never fetched in plaintext, whatever a server redirects to. c's own
// CheckRedirect, if any, still applies.
func noDowngrade(c *http.Client) *http.Client {
	cc := *c
	check := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" && slices.ContainsFunc(via, func(r *http.Request) bool { return r.URL.Scheme == "https" }) {
			return fmt.Errorf("refusing a redirect from https to %s://%s: %w", req.URL.Scheme, req.URL.Host, ErrInsecureRedirect)
		}
		if check != nil {
			return check(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// keyfunc returns the jwt.Keyfunc for one verification; ctx bounds an
// unknown-kid refresh together with the issuer's lookup timeout.
func (is *issuer) keyfunc(ctx context.Context) jwt.Keyfunc {
	if len(is.hmac) > 0 {
		return func(*jwt.Token) (any, error) { return is.hmac, nil }
	}
	return is.keys.KeyfuncCtx(ctx)
}

// verify verifies tok (already known to name this issuer) and builds the
// principal. Errors wrap one of the ErrToken* sentinels, or ctx's error.
func (is *issuer) verify(ctx context.Context, tok string) (*Principal, error) {
	claims := jwt.MapClaims{}
	lctx, cancel := context.WithTimeout(ctx, is.lookupTimeout)
	defer cancel()
	_, err := is.parser.ParseWithClaims(tok, claims, is.keyfunc(lctx))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("verifying token: %w", cerr) // the caller went away
		}
		return nil, fmt.Errorf("verifying token: %w: %w", classifyJWTError(err), err)
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		return nil, fmt.Errorf("verifying token: sub claim is empty: %w", ErrTokenClaims)
	}
	for _, rc := range is.required {
		if !claimSatisfies(claims[rc.Claim], rc.Values) {
			return nil, fmt.Errorf("verifying token: claim %q is missing or not accepted: %w", rc.Claim, ErrTokenClaims)
		}
	}
	exp, _ := claims.GetExpirationTime() // required by the parser
	p := &Principal{
		Mode:    ModeJWT,
		Issuer:  is.name,
		Subject: sub,
		Groups:  stringsClaim(claims[is.groupsClaim]),
		Roles:   stringsClaim(claims[is.rolesCla]),
		Claims:  claims,
	}
	if exp != nil {
		p.ExpiresAt = exp.Time
	}
	p.Name, _ = claims[is.nameClaim].(string)
	if p.Name == "" {
		p.Name = sub
	}
	return p, nil
}

// classifyJWTError maps jwt's sentinels to ours. Signature problems are
// checked before claims, as jwt checks them first.
func classifyJWTError(err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrTokenMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrTokenUnknownKey // the keyfunc found no key for the kid
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrTokenSignature
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrTokenIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrTokenAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrTokenNotYetValid
	}
	return ErrTokenClaims
}

// claimSatisfies implements ClaimRequirement for a decoded claim value.
func claimSatisfies(v any, want []string) bool {
	have := stringsClaim(v)
	if len(want) == 0 {
		switch v := v.(type) {
		case nil:
			return false
		case string:
			return v != ""
		case []any:
			return len(v) > 0
		}
		return true
	}
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// stringsClaim returns a string claim as one element, or the string
// elements of an array claim.
func stringsClaim(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
