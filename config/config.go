package config

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/proxy"
)

// Config is a whole ossproxy configuration file, after ${ENV} expansion,
// secret files read and validation. It is plain data: Load returns a new
// value each time and nothing in this package keeps or mutates it, so the
// caller owns it. It is safe for concurrent reads.
type Config struct {
	// Listeners are where the proxy accepts requests. At least one.
	Listeners []Listener `yaml:"listeners"`
	// Auth configures how callers authenticate.
	Auth Auth `yaml:"auth"`
	// Policy is the deny-by-default authorization policy.
	Policy Policy `yaml:"policy"`
	// Proxy is the routing configuration, inlined at the top level of the
	// file: buckets, virtual_host_suffixes, default_bucket,
	// trust_forwarded_host (see proxy.Config and proxy.BucketConfig).
	Proxy proxy.Config `yaml:",inline"`
	// Credentials are the proxy's own upstream credentials.
	Credentials Credentials `yaml:"credentials"`
	// Logging configures the process logger and the access log.
	Logging Logging `yaml:"logging"`
	// Limits bound requests and shutdown.
	Limits Limits `yaml:"limits"`
	// Admin is the admin listener: /healthz, /readyz, /metrics, pprof.
	Admin Admin `yaml:"admin"`
	// Vend configures the /_ossproxy/v1/ API: presigned URLs and
	// down-scoped STS credentials.
	Vend Vend `yaml:"vend"`
	// Upstream tunes the connections to OSS (timeouts).
	Upstream Upstream `yaml:"upstream"`

	// File is the path the configuration was read from (for messages).
	File string `yaml:"-"`
}

// Listener is one socket the proxy serves on.
type Listener struct {
	// Name identifies the listener in logs ("" : its address).
	Name string `yaml:"name"`
	// Network is "tcp" (default) or "unix".
	Network string `yaml:"network"`
	// Address is host:port for tcp ("127.0.0.1:0" picks a free port) or a
	// socket path for unix.
	Address string `yaml:"address"`
	// TLS, if set, serves HTTPS with the certificate and key files (tcp only).
	TLS *TLS `yaml:"tls"`
	// SocketMode is the unix socket's file mode, e.g. "0660" (unix only;
	// 0: leave the umask's choice).
	SocketMode FileMode `yaml:"socket_mode"`
	// Anonymous lets requests without credentials through as the anonymous
	// principal. Only allowed on loopback and unix listeners.
	Anonymous bool `yaml:"anonymous"`
	// Timeouts are the http.Server timeouts.
	Timeouts Timeouts `yaml:"timeouts"`
	// MaxHeaderBytes is http.Server.MaxHeaderBytes (0: 64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// NetworkOrDefault returns l.Network, defaulting to "tcp".
func (l *Listener) NetworkOrDefault() string {
	if l.Network == "" {
		return "tcp"
	}
	return l.Network
}

// DisplayName returns l.Name, or the address when the name is empty.
func (l *Listener) DisplayName() string {
	if l.Name != "" {
		return l.Name
	}
	return l.Address
}

// TLS names a certificate and key in PEM files. The files are read
// again when their modification time changes (checked at most every
// ReloadInterval); a pair that does not load leaves the previous one in use.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ReloadInterval is the least time between two checks of the files'
	// modification times (0: DefaultTLSReloadInterval).
	ReloadInterval time.Duration `yaml:"reload_interval"`
}

// ReloadIntervalOrDefault returns ReloadInterval or
// DefaultTLSReloadInterval.
func (t *TLS) ReloadIntervalOrDefault() time.Duration {
	return cmp(t.ReloadInterval, DefaultTLSReloadInterval)
}

// Timeouts are a listener's http.Server timeouts. Read and Write are 0 by
// default: they bound a whole request or response body, which for
// multi-gigabyte objects means any value would cut legitimate streams, so
// slow clients are bounded by Idle and the kernel instead.
type Timeouts struct {
	// ReadHeader bounds reading the request headers, from the request's
	// first byte (0: 10s).
	ReadHeader time.Duration `yaml:"read_header"`
	// Read bounds reading the whole request, body included (0: none).
	Read time.Duration `yaml:"read"`
	// Write bounds writing the response (0: none).
	Write time.Duration `yaml:"write"`
	// Idle bounds the wait for a request, a connection's first request
	// too, as between keep-alive requests (0: 120s).
	Idle time.Duration `yaml:"idle"`
	// BodyIdle bounds the pause between two request-body bytes (0: 60s):
	// a body that stalls longer is abandoned, its upstream request
	// canceled and the client answered 400 RequestTimeout. Unlike Read
	// it never cuts a large upload that keeps moving.
	BodyIdle time.Duration `yaml:"body_idle"`
}

// Defaults applied by the …OrDefault accessors.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultBodyIdleTimeout   = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownGrace     = 30 * time.Second
	DefaultTLSReloadInterval = 10 * time.Second
	// DefaultAdminAddr is the admin listener's address: loopback only.
	DefaultAdminAddr = "127.0.0.1:9090"
	// DefaultPresignMaxExpiry caps presigned URL lifetimes unless
	// vend.presign.max_expiry says otherwise; MaxPresignExpiry is the
	// most OSS accepts.
	DefaultPresignMaxExpiry = time.Hour
	MaxPresignExpiry        = 7 * 24 * time.Hour
)

// ReadHeaderOrDefault returns ReadHeader or DefaultReadHeaderTimeout.
func (t Timeouts) ReadHeaderOrDefault() time.Duration {
	return cmp(t.ReadHeader, DefaultReadHeaderTimeout)
}

// IdleOrDefault returns Idle or DefaultIdleTimeout.
func (t Timeouts) IdleOrDefault() time.Duration { return cmp(t.Idle, DefaultIdleTimeout) }

// BodyIdleOrDefault returns BodyIdle or DefaultBodyIdleTimeout.
func (t Timeouts) BodyIdleOrDefault() time.Duration { return cmp(t.BodyIdle, DefaultBodyIdleTimeout) }

func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// MaxHeaderBytesOrDefault returns MaxHeaderBytes or DefaultMaxHeaderBytes.
func (l *Listener) MaxHeaderBytesOrDefault() int { return cmp(l.MaxHeaderBytes, DefaultMaxHeaderBytes) }

// FileMode is a unix permission written in octal in YAML ("0660").
type FileMode uint32

// UnmarshalText parses an octal mode.
func (m *FileMode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil || v > 0o777 {
		return fmt.Errorf("socket_mode %q is not an octal permission like 0660", b)
	}
	*m = FileMode(v)
	return nil
}

// Perm returns the mode as an os.FileMode.
func (m FileMode) Perm() os.FileMode { return os.FileMode(m) & os.ModePerm }

// Auth configures authentication; it maps onto auth.Config.
type Auth struct {
	Issuers         []Issuer      `yaml:"issuers"`
	TokenHeader     string        `yaml:"token_header"`
	TokenQueryParam string        `yaml:"token_query_param"`
	MaxTokenSize    int           `yaml:"max_token_size"`
	CacheSize       int           `yaml:"cache_size"`
	CacheTTL        time.Duration `yaml:"cache_ttl"`
	AccessKeys      []AccessKey   `yaml:"access_keys"`
	// AccessKeyRegion is the region clients sign V4 for ("" : the first
	// bucket's region).
	AccessKeyRegion string `yaml:"access_key_region"`
	// Anonymous names the principal of anonymous requests; listeners opt in
	// with anonymous: true.
	Anonymous Anonymous `yaml:"anonymous"`
}

// Anonymous is the identity given to anonymous requests.
type Anonymous struct {
	Principal string   `yaml:"principal"`
	Groups    []string `yaml:"groups"`
}

// Issuer trusts one JWT issuer; it maps onto auth.IssuerConfig.
type Issuer struct {
	Issuer     string   `yaml:"issuer"`
	Audiences  []string `yaml:"audiences"`
	Algorithms []string `yaml:"algorithms"`
	JWKSURL    string   `yaml:"jwks_url"`
	Discovery  bool     `yaml:"discovery"`
	// KeyFiles are PEM public keys/certificates or JWK (Set) JSON files;
	// their contents are concatenated into Keys by Load.
	KeyFiles []string `yaml:"key_files"`
	// HMACSecret (normally "${ENV}") or HMACSecretFile: one of them for HS*.
	HMACSecret     Secret `yaml:"hmac_secret"`
	HMACSecretFile string `yaml:"hmac_secret_file"`
	// AllowInsecureHTTP accepts an http:// JWKS URL or discovery issuer. For
	// tests only.
	AllowInsecureHTTP  bool                    `yaml:"allow_insecure_http"`
	Leeway             time.Duration           `yaml:"leeway"`
	RequiredClaims     []auth.ClaimRequirement `yaml:"required_claims"`
	NameClaim          string                  `yaml:"name_claim"`
	GroupsClaim        string                  `yaml:"groups_claim"`
	RolesClaim         string                  `yaml:"roles_claim"`
	RefreshInterval    time.Duration           `yaml:"refresh_interval"`
	MinRefreshInterval time.Duration           `yaml:"min_refresh_interval"`
	KeyLookupTimeout   time.Duration           `yaml:"key_lookup_timeout"`

	// Keys holds the contents of KeyFiles, read by Load.
	Keys []byte `yaml:"-"`
}

// AccessKey is a proxy-issued access key; it maps onto auth.AccessKey.
type AccessKey struct {
	ID         string   `yaml:"id"`
	Secret     Secret   `yaml:"secret"`
	SecretFile string   `yaml:"secret_file"`
	Principal  string   `yaml:"principal"`
	Groups     []string `yaml:"groups"`
	Roles      []string `yaml:"roles"`
}

// Policy holds the authorization rules (auth.Rule, field for field).
type Policy struct {
	Rules []auth.Rule `yaml:"rules"`
}

// Credential sources.
const (
	SourceStatic     = "static"
	SourceEnv        = "env"
	SourceAssumeRole = "assume_role"
	SourceECS        = "ecs_ram_role"
	SourceRRSA       = "rrsa"
	SourceProfile    = "profile"
	SourceDefault    = "default"
)

// Credentials selects and configures the upstream credential source. Only
// the fields of the chosen Source may be set.
type Credentials struct {
	// Source is one of static, env, assume_role, ecs_ram_role, rrsa,
	// profile, default.
	Source string `yaml:"source"`

	// static
	AccessKeyID         string `yaml:"access_key_id"`
	AccessKeySecret     Secret `yaml:"access_key_secret"`
	AccessKeySecretFile string `yaml:"access_key_secret_file"`
	SecurityToken       Secret `yaml:"security_token"`

	// assume_role (Base, RoleARN required) and rrsa (RoleARN,
	// OIDCProviderARN, OIDCTokenFile; empty ones come from the RRSA
	// environment variables).
	Base            *Credentials  `yaml:"base"`
	RoleARN         string        `yaml:"role_arn"`
	SessionName     string        `yaml:"session_name"`
	Duration        time.Duration `yaml:"duration"`
	ExternalID      string        `yaml:"external_id"`
	SessionPolicy   string        `yaml:"policy"`
	OIDCProviderARN string        `yaml:"oidc_provider_arn"`
	OIDCTokenFile   string        `yaml:"oidc_token_file"`

	// ecs_ram_role
	ECSEndpoint string        `yaml:"ecs_endpoint"`
	RoleName    string        `yaml:"role_name"`
	AllowIMDSv1 bool          `yaml:"allow_imdsv1"`
	ECSTimeout  time.Duration `yaml:"ecs_timeout"`

	// profile: ProfileKind "cli" (~/.aliyun/config.json) or "ini"
	// (~/.alibabacloud/credentials).
	ProfileKind string `yaml:"profile_kind"`
	ProfileFile string `yaml:"profile_file"`
	ProfileName string `yaml:"profile_name"`

	// STS is the STS endpoint for assume_role, rrsa, profile and default
	// (top level only).
	STS STS `yaml:"sts"`
	// Cache tunes the refresh-ahead cache (top level only).
	Cache Cache `yaml:"cache"`
}

// STS configures the STS client.
type STS struct {
	// Endpoint is host[:port]. "" : ALIBABA_CLOUD_STS_ENDPOINT, else from
	// Region and VPC, else sts.aliyuncs.com.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	VPC      bool   `yaml:"vpc"`
	// CAFile adds a PEM CA to the system roots (tests, the demo).
	CAFile  string        `yaml:"ca_file"`
	Timeout time.Duration `yaml:"timeout"`

	// CAPEM holds the contents of CAFile, read by Load.
	CAPEM []byte `yaml:"-"`
}

// Cache tunes credentials.CacheOptions; zero fields take its defaults.
type Cache struct {
	RefreshAt    float64       `yaml:"refresh_at"`
	Jitter       float64       `yaml:"jitter"`
	ExpiryWindow time.Duration `yaml:"expiry_window"`
	MinLifetime  time.Duration `yaml:"min_lifetime"`
	Timeout      time.Duration `yaml:"timeout"`
	RetryMin     time.Duration `yaml:"retry_min"`
	RetryMax     time.Duration `yaml:"retry_max"`
}

// Upstream bounds the phases of each request to OSS before its response
// streams (proxy.UpstreamTimeouts). Zero fields take the proxy's
// defaults; bodies are never bounded here.
type Upstream struct {
	// DialTimeout bounds opening a TCP connection (0: 10s).
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// TLSHandshakeTimeout bounds the TLS handshake (0: 10s).
	TLSHandshakeTimeout time.Duration `yaml:"tls_handshake_timeout"`
	// ResponseHeaderTimeout bounds the wait for OSS's response headers
	// once a request is sent (0: 2m); past it the client gets 504.
	// Server-side copies of large objects answer late: keep it generous.
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
}

// Timeouts returns u as proxy.UpstreamTimeouts.
func (u Upstream) Timeouts() proxy.UpstreamTimeouts {
	return proxy.UpstreamTimeouts{Dial: u.DialTimeout, TLSHandshake: u.TLSHandshakeTimeout, ResponseHeader: u.ResponseHeaderTimeout}
}

// MaxUpstreamTimeout is the largest upstream timeout accepted: longer
// ones are surely a unit mistake (1h, not 1h of dialing).
const MaxUpstreamTimeout = time.Hour

// Logging configures the logger.
type Logging struct {
	// Format is "json" (default) or "text".
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// RedactKeys replaces object keys in access-log records with a short
	// hash (keys can carry personal data).
	RedactKeys bool `yaml:"redact_keys"`
	// FlushInterval bounds how long a record may wait in the log's 64 KiB
	// buffer before it is written; a full buffer is written at once, and
	// what is buffered is written on a clean shutdown (nil:
	// DefaultLogFlushInterval; 0s: no buffer, one write per record; at
	// most MaxLogFlushInterval). A process killed with SIGKILL loses up
	// to this much of its log (192 KiB at most).
	FlushInterval *time.Duration `yaml:"flush_interval"`
}

// Log buffering defaults and bounds (Logging.FlushInterval).
const (
	// DefaultLogFlushInterval is 1s: one write(2) per 64 KiB of records
	// under load (about 150 access-log records), records on disk or in
	// the log shipper's pipe within a second when idle. Envoy's file
	// access logs flush every 10s by default; nginx buffers only when
	// told (access_log ... buffer= flush=).
	DefaultLogFlushInterval = time.Second
	// MaxLogFlushInterval bounds what a SIGKILL can lose.
	MaxLogFlushInterval = time.Minute
)

// FlushIntervalOrDefault returns FlushInterval, or
// DefaultLogFlushInterval when it is not set.
func (l Logging) FlushIntervalOrDefault() time.Duration {
	if l.FlushInterval == nil {
		return DefaultLogFlushInterval
	}
	return *l.FlushInterval
}

// SlogLevel returns the slog level of l.Level (info when empty).
func (l Logging) SlogLevel() slog.Level {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cmp(l.Level, "info")))
	return lv
}

// Limits bound request sizes and shutdown.
type Limits struct {
	// MaxHeaderBytes bounds the request headers the proxy forwards
	// (proxy.Options.MaxHeaderBytes; 0: 64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// ShutdownGrace is how long in-flight requests may drain after a
	// signal (0: 30s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// ShutdownGraceOrDefault returns ShutdownGrace or DefaultShutdownGrace.
func (l Limits) ShutdownGraceOrDefault() time.Duration {
	return cmp(l.ShutdownGrace, DefaultShutdownGrace)
}

// Admin configures the admin listener, which serves /healthz, /readyz,
// /metrics and, with Pprof, /debug/pprof/ on its own address, never on a
// proxy listener.
type Admin struct {
	// Address is host:port ("": DefaultAddr, 127.0.0.1:9090). It must
	// not be a proxy listener's address. `serve --admin-addr` overrides it.
	Address string `yaml:"address"`
	// Disabled turns the admin listener off.
	Disabled bool `yaml:"disabled"`
	// Pprof serves the Go profiler under /debug/pprof/.
	Pprof bool `yaml:"pprof"`
}

// ValidateAdmin checks c.Admin against c.Listeners as Load does, for an
// address set after loading (serve --admin-addr). Errors wrap ErrInvalid.
func (c *Config) ValidateAdmin() error {
	l := &loader{file: c.File, root: &yaml.Node{Kind: yaml.MappingNode}}
	l.validateAdmin(c)
	if len(l.errs) > 0 {
		return l.errs
	}
	return nil
}

// AddressOrDefault returns Address or DefaultAdminAddr.
func (a Admin) AddressOrDefault() string { return cmp(a.Address, DefaultAdminAddr) }

// Vend configures the /_ossproxy/v1/ API served on the proxy listeners
// to authenticated callers (package vend).
type Vend struct {
	// Disabled turns the API off: its paths answer 404.
	Disabled bool        `yaml:"disabled"`
	Presign  VendPresign `yaml:"presign"`
	STS      VendSTS     `yaml:"sts"`
}

// VendPresign configures POST /_ossproxy/v1/presign. URLs name a bucket's
// public_endpoint when it has one, else its endpoint, unless ProxyURL is
// set.
type VendPresign struct {
	// MaxExpiry caps URL lifetimes (0: 1h; at most 7 days).
	MaxExpiry time.Duration `yaml:"max_expiry"`
	// DefaultExpiry is the lifetime when a request names none (0: 15m,
	// or MaxExpiry if less).
	DefaultExpiry time.Duration `yaml:"default_expiry"`
	// ProxyURL, if set, makes presigned URLs point at this proxy
	// (scheme://host[:port] as clients reach it, path style), signed with
	// the proxy-issued access key ProxyAccessKey instead of the upstream
	// credentials: the proxy then checks them like any signed request.
	ProxyURL string `yaml:"proxy_url"`
	// ProxyAccessKey is the id of an auth.access_keys entry; required
	// with ProxyURL.
	ProxyAccessKey string `yaml:"proxy_access_key"`
	// RateLimit per principal (zero: 10/s, burst 50).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// VendSTS configures POST /_ossproxy/v1/sts: AssumeRole of RoleARN with
// a session policy generated from the caller's grants.
type VendSTS struct {
	// Disabled turns the STS endpoint off (501).
	Disabled bool `yaml:"disabled"`
	// RoleARN is the role assumed, with the proxy's upstream credentials.
	// "": with credentials.source assume_role, that role, assumed with its
	// base credentials; else the endpoint is off.
	RoleARN string `yaml:"role_arn"`
	// SessionName is the RoleSessionName ("": ossproxy-vend).
	SessionName string `yaml:"session_name"`
	// ExternalID is sent with every AssumeRole if set ("" with RoleARN
	// unset: credentials.external_id).
	ExternalID string `yaml:"external_id"`
	// MaxDuration caps the session lifetime, 15m..12h (0: 1h).
	MaxDuration time.Duration `yaml:"max_duration"`
	// DefaultDuration is used when a request names none (0: MaxDuration).
	DefaultDuration time.Duration `yaml:"default_duration"`
	// RateLimit per principal (zero: 1/s, burst 5).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit is a token bucket per principal.
type RateLimit struct {
	// PerSecond is the sustained rate (0: the endpoint's default).
	PerSecond float64 `yaml:"per_second"`
	// Burst is the bucket size (0: the endpoint's default, or PerSecond
	// rounded up when PerSecond is set).
	Burst int `yaml:"burst"`
}

// Secret is a secret string read from the file (normally through ${ENV})
// or from a *_file. Every way of printing it redacts it.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format implements fmt.Formatter so that every verb redacts.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts, so encoding a Config never reveals a secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the code that uses it.
func (s Secret) Reveal() string { return string(s) }

var (
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)

// AuthConfig maps the configuration onto auth.Config. HTTPClient, Logger
// and Now are left for the caller. Anonymous access is enabled when any
// listener allows it; the caller must still refuse it on the others.
func (c *Config) AuthConfig() auth.Config {
	a := c.Auth
	out := auth.Config{
		TokenHeader: a.TokenHeader, TokenQueryParam: a.TokenQueryParam,
		MaxTokenSize: a.MaxTokenSize, CacheSize: a.CacheSize, CacheTTL: a.CacheTTL,
		AccessKeyRegion: a.AccessKeyRegion,
		Anonymous:       auth.AnonymousConfig{Enabled: c.AnyAnonymous(), Principal: a.Anonymous.Principal, Groups: a.Anonymous.Groups},
	}
	if out.AccessKeyRegion == "" && len(c.Proxy.Buckets) > 0 {
		out.AccessKeyRegion = c.Proxy.Buckets[0].Region
	}
	for _, is := range a.Issuers {
		ic := auth.IssuerConfig{
			Issuer: is.Issuer, Audiences: is.Audiences, Algorithms: is.Algorithms,
			JWKSURL: is.JWKSURL, Discovery: is.Discovery, Keys: is.Keys,
			Leeway: is.Leeway, RequiredClaims: is.RequiredClaims,
			NameClaim: is.NameClaim, GroupsClaim: is.GroupsClaim, RolesClaim: is.RolesClaim,
			RefreshInterval: is.RefreshInterval, MinRefreshInterval: is.MinRefreshInterval,
			KeyLookupTimeout: is.KeyLookupTimeout,
		}
		if is.HMACSecret != "" {
			ic.HMACSecret = auth.Secret(is.HMACSecret.Reveal())
		}
		out.Issuers = append(out.Issuers, ic)
	}
	for _, k := range a.AccessKeys {
		out.AccessKeys = append(out.AccessKeys, auth.AccessKey{
			ID: k.ID, Secret: auth.Secret(k.Secret.Reveal()), Principal: k.Principal, Groups: k.Groups, Roles: k.Roles,
		})
	}
	return out
}

// AnyAnonymous reports whether a listener allows anonymous access.
func (c *Config) AnyAnonymous() bool {
	for _, l := range c.Listeners {
		if l.Anonymous {
			return true
		}
	}
	return false
}
