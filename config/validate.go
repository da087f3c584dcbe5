package config

import (
	"crypto/tls"
	"crypto/x509"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gopkg.in/yaml.v3"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/proxy"
)

// MinHMACSecret is the shortest HMAC secret accepted, in bytes.
const MinHMACSecret = 32

func (l *loader) validate(c *Config) {
	l.validateListeners(c)
	l.validateAuth(c)
	l.validateBuckets(c)
	l.validatePolicy(c)
	if c.Credentials.Source == "" {
		l.errorf([]any{"credentials"}, "credentials.source is required (static, env, assume_role, ecs_ram_role, rrsa, profile or default)")
	} else {
		l.validateCredentials(&c.Credentials, []any{"credentials"}, true)
	}
	l.validateLogging(c)
	if c.Limits.MaxHeaderBytes < 0 {
		l.errorf([]any{"limits", "max_header_bytes"}, "max_header_bytes must not be negative")
	}
	if c.Limits.ShutdownGrace < 0 {
		l.errorf([]any{"limits", "shutdown_grace"}, "shutdown_grace must not be negative")
	}
	l.validateAdmin(c)
	l.validateVend(c)
	l.validateUpstream(c)
}

func (l *loader) validateUpstream(c *Config) {
	u := c.Upstream
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"dial_timeout", u.DialTimeout}, {"tls_handshake_timeout", u.TLSHandshakeTimeout}, {"response_header_timeout", u.ResponseHeaderTimeout}} {
		if d.v < 0 || d.v > MaxUpstreamTimeout {
			l.errorf([]any{"upstream", d.name}, "upstream %s must be between 0 (default) and %v", d.name, MaxUpstreamTimeout)
		}
	}
}

func (l *loader) validateAdmin(c *Config) {
	a := c.Admin
	if a.Disabled {
		return
	}
	at := []any{"admin", "address"}
	addr := a.AddressOrDefault()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		l.errorf(at, "admin address %q is not host:port", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		l.errorf(at, "admin address %q has no numeric port", addr)
		return
	}
	for i, ln := range c.Listeners {
		if ln.NetworkOrDefault() != "tcp" {
			continue
		}
		lh, lp, err := net.SplitHostPort(ln.Address)
		if err != nil || lp != port || port == "0" || !sameHost(host, lh) {
			continue
		}
		l.errorf(at, "admin address %q is also listener %d (%s): the admin listener needs a port of its own", addr, i+1, ln.Address)
	}
}

// sameHost reports whether two listen hosts can share a port: equal,
// either a wildcard, or both loopback.
func sameHost(a, b string) bool {
	wild := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || ip != nil && ip.IsUnspecified()
	}
	loop := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "localhost" || ip != nil && ip.IsLoopback()
	}
	return a == b || wild(a) || wild(b) || loop(a) && loop(b)
}

func (l *loader) validateVend(c *Config) {
	v := c.Vend
	if v.Disabled {
		return
	}
	pp := func(f ...any) []any { return append([]any{"vend", "presign"}, f...) }
	p := v.Presign
	switch {
	case p.MaxExpiry < 0 || p.MaxExpiry > MaxPresignExpiry:
		l.errorf(pp("max_expiry"), "max_expiry %s is not between 1s and 168h (7 days, the most OSS accepts)", p.MaxExpiry)
	case p.MaxExpiry%time.Second != 0:
		l.errorf(pp("max_expiry"), "max_expiry %s is not whole seconds", p.MaxExpiry)
	}
	maxExp := cmp(p.MaxExpiry, DefaultPresignMaxExpiry)
	switch {
	case p.DefaultExpiry < 0 || p.DefaultExpiry%time.Second != 0:
		l.errorf(pp("default_expiry"), "default_expiry %s is not a positive whole number of seconds", p.DefaultExpiry)
	case p.DefaultExpiry > maxExp:
		l.errorf(pp("default_expiry"), "default_expiry %s is above max_expiry %s", p.DefaultExpiry, maxExp)
	}
	switch {
	case p.ProxyURL != "" && p.ProxyAccessKey == "":
		l.errorf(pp("proxy_url"), "proxy_url needs proxy_access_key: the id of an auth.access_keys entry that signs the URLs")
	case p.ProxyURL == "" && p.ProxyAccessKey != "":
		l.errorf(pp("proxy_access_key"), "proxy_access_key is only used with proxy_url")
	case p.ProxyURL != "":
		if u, err := url.Parse(p.ProxyURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			l.errorf(pp("proxy_url"), "proxy_url %q is not an http(s) URL without a path, like https://files.example.com", p.ProxyURL)
		}
		if !slices.ContainsFunc(c.Auth.AccessKeys, func(k AccessKey) bool { return k.ID == p.ProxyAccessKey }) {
			l.errorf(pp("proxy_access_key"), "proxy_access_key %q is not an id in auth.access_keys", p.ProxyAccessKey)
		}
	}
	l.validateRateLimit(pp("rate_limit"), p.RateLimit)

	sp := func(f ...any) []any { return append([]any{"vend", "sts"}, f...) }
	st := v.STS
	if st.Disabled {
		return
	}
	if st.RoleARN != "" && !strings.HasPrefix(st.RoleARN, "acs:ram::") {
		l.errorf(sp("role_arn"), "role_arn %q is not a RAM role ARN (acs:ram::<account>:role/<name>)", st.RoleARN)
	}
	if n := len(st.SessionName); n != 0 && (n < 2 || n > 64) {
		l.errorf(sp("session_name"), "session_name must be 2 to 64 characters")
	}
	const minDur, maxDur = credentials.MinSessionDuration, credentials.MaxSessionDuration
	if d := st.MaxDuration; d != 0 && (d < minDur || d > maxDur || d%time.Second != 0) {
		l.errorf(sp("max_duration"), "max_duration %s is not whole seconds between 15m and 12h", d)
	}
	if d := st.DefaultDuration; d != 0 && (d < minDur || d > cmp(st.MaxDuration, time.Hour) || d%time.Second != 0) {
		l.errorf(sp("default_duration"), "default_duration %s is not whole seconds between 15m and max_duration (%s)", d, cmp(st.MaxDuration, time.Hour))
	}
	l.validateRateLimit(sp("rate_limit"), st.RateLimit)
}

func (l *loader) validateRateLimit(p []any, r RateLimit) {
	if r.PerSecond < 0 || math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0) {
		l.errorf(append(p, "per_second"), "per_second %v must be a positive number (0: the default)", r.PerSecond)
	}
	if r.Burst < 0 {
		l.errorf(append(p, "burst"), "burst %d must not be negative (0: the default)", r.Burst)
	}
}

func (l *loader) validateListeners(c *Config) {
	if len(c.Listeners) == 0 {
		l.errorf([]any{"listeners"}, "at least one listener is required")
	}
	seen := map[string]int{}
	names := map[string]bool{}
	for i := range c.Listeners {
		ln := &c.Listeners[i]
		at := func(f string) []any { return []any{"listeners", i, f} }
		network := ln.NetworkOrDefault()
		switch network {
		case "tcp":
			if _, _, err := net.SplitHostPort(ln.Address); err != nil {
				l.errorf(at("address"), "listener address %q is not host:port", ln.Address)
			}
			if ln.SocketMode != 0 {
				l.errorf(at("socket_mode"), "socket_mode is only for unix listeners")
			}
		case "unix":
			if ln.Address == "" {
				l.errorf(at("address"), "a unix listener needs a socket path as address")
			}
			if ln.TLS != nil {
				l.errorf(at("tls"), "tls is only for tcp listeners")
			}
			ln.Address = l.abs(ln.Address)
		default:
			l.errorf(at("network"), "network %q is not tcp or unix", ln.Network)
		}
		key := network + " " + ln.Address
		if j, dup := seen[key]; dup && ln.Address != "" && !strings.HasSuffix(ln.Address, ":0") {
			l.errorf(at("address"), "duplicate listener: %s %s is also listener %d", network, ln.Address, j+1)
		}
		seen[key] = i
		if ln.Name != "" {
			if names[ln.Name] {
				l.errorf(at("name"), "duplicate listener name %q", ln.Name)
			}
			names[ln.Name] = true
		}
		if ln.Anonymous && !auth.LocalListenAddr(network, ln.Address) {
			l.errorf(at("anonymous"), "anonymous access is only allowed on a loopback or unix listener, not %s %s", network, ln.Address)
		}
		if ln.TLS != nil {
			if ln.TLS.ReloadInterval < 0 {
				l.errorf(append(at("tls"), "reload_interval"), "reload_interval must not be negative")
			}
			tp := append(at("tls"), "cert_file")
			switch {
			case ln.TLS.CertFile == "" || ln.TLS.KeyFile == "":
				l.errorf(at("tls"), "tls needs cert_file and key_file")
			default:
				cert, ok1 := l.readFile(tp, ln.TLS.CertFile)
				key, ok2 := l.readFile(append(at("tls"), "key_file"), ln.TLS.KeyFile)
				if ok1 && ok2 {
					if _, err := tls.X509KeyPair(cert, key); err != nil {
						l.errorf(tp, "loading TLS certificate and key: %v", err)
					}
				}
				ln.TLS.CertFile, ln.TLS.KeyFile = l.abs(ln.TLS.CertFile), l.abs(ln.TLS.KeyFile)
			}
		}
		t := ln.Timeouts
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"read_header", t.ReadHeader}, {"read", t.Read}, {"write", t.Write}, {"idle", t.Idle}, {"body_idle", t.BodyIdle}} {
			if d.v < 0 {
				l.errorf(append(at("timeouts"), d.name), "timeout %s must not be negative", d.name)
			}
		}
		if ln.MaxHeaderBytes < 0 {
			l.errorf(at("max_header_bytes"), "max_header_bytes must not be negative")
		}
	}
}

func (l *loader) validateAuth(c *Config) {
	a := &c.Auth
	seen := map[string]bool{}
	for i := range a.Issuers {
		is := &a.Issuers[i]
		at := func(f string) []any { return []any{"auth", "issuers", i, f} }
		if is.Issuer == "" {
			l.errorf([]any{"auth", "issuers", i}, "issuer is required")
		} else if seen[is.Issuer] {
			l.errorf(at("issuer"), "issuer %q is configured twice", is.Issuer)
		}
		seen[is.Issuer] = true
		if len(is.Audiences) == 0 {
			l.errorf(at("audiences"), "issuer %q needs at least one audience", is.Issuer)
		}
		if len(is.Algorithms) == 0 {
			l.errorf(at("algorithms"), "issuer %q has no pinned algorithm: set algorithms, e.g. [RS256]", is.Issuer)
		}
		hmacAlgs := 0
		for _, alg := range is.Algorithms {
			switch {
			case strings.EqualFold(alg, "none"):
				l.errorf(at("algorithms"), "algorithm none is never accepted")
			case jwt.GetSigningMethod(alg) == nil:
				l.errorf(at("algorithms"), "unknown JWT algorithm %q", alg)
			case strings.HasPrefix(alg, "HS"):
				hmacAlgs++
			}
		}
		l.readSecret([]any{"auth", "issuers", i}, "hmac_secret", &is.HMACSecret, is.HMACSecretFile, false)
		is.HMACSecretFile = ""
		hasKeys := is.JWKSURL != "" || is.Discovery || len(is.KeyFiles) > 0
		switch {
		case is.HMACSecret != "" && hasKeys:
			l.errorf(at("hmac_secret"), "issuer %q: hmac_secret cannot be combined with jwks_url, discovery or key_files", is.Issuer)
		case is.HMACSecret == "" && !hasKeys:
			l.errorf([]any{"auth", "issuers", i}, "issuer %q has no key source: set jwks_url, discovery, key_files or hmac_secret", is.Issuer)
		case is.HMACSecret != "" && len(is.HMACSecret) < MinHMACSecret:
			l.errorf(at("hmac_secret"), "issuer %q: hmac_secret is %d bytes; at least %d are required", is.Issuer, len(is.HMACSecret), MinHMACSecret)
		}
		if hmacAlgs > 0 && is.HMACSecret == "" && len(is.Algorithms) > 0 {
			l.errorf(at("algorithms"), "issuer %q: HS* algorithms need hmac_secret", is.Issuer)
		}
		if is.HMACSecret != "" && hmacAlgs != len(is.Algorithms) {
			l.errorf(at("algorithms"), "issuer %q: with hmac_secret only HS256, HS384 or HS512 may be pinned", is.Issuer)
		}
		if is.JWKSURL != "" {
			l.checkURL(at("jwks_url"), "jwks_url", is.JWKSURL, is.AllowInsecureHTTP)
		}
		if is.Discovery {
			l.checkURL(at("issuer"), "discovery issuer", is.Issuer, is.AllowInsecureHTTP)
		}
		for j, f := range is.KeyFiles {
			if b, ok := l.readFile(append(at("key_files"), j), f); ok {
				is.Keys = append(append(is.Keys, b...), '\n')
			}
		}
		if is.Leeway < 0 {
			l.errorf(at("leeway"), "leeway must not be negative")
		}
		if is.Leeway > 5*time.Minute {
			l.errorf(at("leeway"), "leeway %s is more than 5m", is.Leeway)
		}
	}
	if a.TokenQueryParam != "" && !validToken(a.TokenQueryParam) {
		l.errorf([]any{"auth", "token_query_param"}, "token_query_param %q is not a plain parameter name", a.TokenQueryParam)
	}
	if a.TokenHeader != "" && !validToken(a.TokenHeader) {
		l.errorf([]any{"auth", "token_header"}, "token_header %q is not a header name", a.TokenHeader)
	}
	ids := map[string]bool{}
	for i := range a.AccessKeys {
		k := &a.AccessKeys[i]
		p := []any{"auth", "access_keys", i}
		if k.ID == "" {
			l.errorf(p, "access key id is required")
		} else if ids[k.ID] {
			l.errorf(append(p, "id"), "access key id %q is configured twice", k.ID)
		}
		ids[k.ID] = true
		l.readSecret(p, "secret", &k.Secret, k.SecretFile, true)
		k.SecretFile = ""
	}
	if len(a.Issuers) == 0 && len(a.AccessKeys) == 0 && !c.AnyAnonymous() {
		l.errorf([]any{"auth"}, "no way to authenticate: configure auth.issuers, auth.access_keys or an anonymous listener")
	}
}

func validToken(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

func (l *loader) checkURL(path []any, what, raw string, allowHTTP bool) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		l.errorf(path, "%s %q is not an absolute URL", what, raw)
	case u.Scheme == "http" && !allowHTTP:
		l.errorf(path, "%s %q uses plain http; use https (allow_insecure_http: true is for tests)", what, raw)
	case u.Scheme != "https" && u.Scheme != "http":
		l.errorf(path, "%s %q must be https", what, raw)
	}
}

func (l *loader) validateBuckets(c *Config) {
	bs := c.Proxy.Buckets
	if len(bs) == 0 {
		l.errorf([]any{"buckets"}, "at least one bucket is required")
		return
	}
	seen := map[string]bool{}
	for i, b := range bs {
		at := func(f string) []any { return []any{"buckets", i, f} }
		if b.Name == "" {
			l.errorf([]any{"buckets", i}, "bucket name is required")
		} else if seen[b.Name] {
			l.errorf(at("name"), "bucket %q is configured twice", b.Name)
		}
		seen[b.Name] = true
		if b.Region == "" {
			l.errorf([]any{"buckets", i}, "bucket %q has no region", b.Name)
		}
		if b.Endpoint == "" {
			l.errorf([]any{"buckets", i}, "bucket %q has no endpoint", b.Name)
		} else if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			l.errorf(at("endpoint"), "bucket %q: endpoint %q is not an http(s) URL", b.Name, b.Endpoint)
		} else if u.Scheme == "http" && !b.AllowInsecureHTTP {
			l.errorf(at("endpoint"), "bucket %q: endpoint %q uses plain http; use https (allow_insecure_http: true is for tests)", b.Name, b.Endpoint)
		}
		switch b.AddressingStyle {
		case "", proxy.VirtualHosted, proxy.PathStyle:
		default:
			l.errorf(at("addressing_style"), "addressing_style %q is not virtual or path", b.AddressingStyle)
		}
		switch b.SignatureVersion {
		case "", proxy.SignatureV1, proxy.SignatureV4:
		default:
			l.errorf(at("signature_version"), "signature_version %q is not v1 or v4", b.SignatureVersion)
		}
		if b.PublicEndpoint != "" {
			if u, err := url.Parse(b.PublicEndpoint); err != nil || u.Host == "" {
				l.errorf(at("public_endpoint"), "bucket %q: public_endpoint %q is not a URL", b.Name, b.PublicEndpoint)
			}
		}
	}
	if d := c.Proxy.DefaultBucket; d != "" && !seen[d] {
		l.errorf([]any{"default_bucket"}, "default_bucket %q is not a configured bucket", d)
	}
	if len(l.errs) == 0 {
		if _, err := proxy.NewRouter(c.Proxy); err != nil {
			l.errorf([]any{"buckets"}, "%v", err)
		}
	}
}

func (l *loader) validatePolicy(c *Config) {
	buckets := map[string]bool{"*": true}
	for _, b := range c.Proxy.Buckets {
		buckets[b.Name] = true
	}
	anonListener := c.AnyAnonymous()
	if len(c.Policy.Rules) == 0 {
		l.errorf([]any{"policy"}, "policy.rules is empty: every request would be denied")
	}
	for i, r := range c.Policy.Rules {
		p := []any{"policy", "rules", i}
		for j, b := range r.Buckets {
			if !buckets[b] {
				l.errorf(append(p, "buckets", j), "rule %d names unknown bucket %q", i+1, b)
			}
		}
		if r.Anonymous && !anonListener {
			l.errorf(append(p, "anonymous"), "rule %d grants anonymous access but no listener has anonymous: true", i+1)
		}
		for j, id := range r.AccessKeyIDs {
			if !slices.ContainsFunc(c.Auth.AccessKeys, func(k AccessKey) bool { return k.ID == id }) {
				l.errorf(append(p, "access_key_ids", j), "rule %d names unknown access key %q", i+1, id)
			}
		}
		for j, iss := range r.Issuers {
			if !slices.ContainsFunc(c.Auth.Issuers, func(is Issuer) bool { return is.Issuer == iss }) {
				l.errorf(append(p, "issuers", j), "rule %d names unknown issuer %q", i+1, iss)
			}
		}
		if err := auth.CheckRule(r); err != nil {
			l.errorf(p, "rule %d: %v", i+1, err)
		}
	}
}

var sourceFields = map[string][]string{
	SourceStatic:     {"access_key_id", "access_key_secret", "access_key_secret_file", "security_token"},
	SourceEnv:        {},
	SourceAssumeRole: {"base", "role_arn", "session_name", "duration", "external_id", "policy"},
	SourceECS:        {"ecs_endpoint", "role_name", "allow_imdsv1", "ecs_timeout"},
	SourceRRSA:       {"role_arn", "oidc_provider_arn", "oidc_token_file", "session_name", "duration", "policy"},
	SourceProfile:    {"profile_kind", "profile_file", "profile_name"},
	SourceDefault:    {},
}

func (l *loader) validateCredentials(cr *Credentials, p []any, top bool) {
	at := func(f string) []any { return append(slices.Clip(p), f) }
	allowed, ok := sourceFields[cr.Source]
	if !ok {
		l.errorf(at("source"), "credentials source %q is not one of static, env, assume_role, ecs_ram_role, rrsa, profile, default", cr.Source)
		return
	}
	// Fields of other sources are a mistake, not something to ignore.
	node := l.nodeAt(p)
	if node != nil {
		for i := 0; i+1 < len(node.Content); i += 2 {
			k := node.Content[i].Value
			if k == "source" || slices.Contains(allowed, k) || (top && (k == "sts" || k == "cache")) {
				continue
			}
			if !top && (k == "sts" || k == "cache") {
				l.errAt(node.Content[i].Line, "%s is only allowed at the top of credentials", k)
				continue
			}
			l.errAt(node.Content[i].Line, "%s is not used by credentials source %s", k, cr.Source)
		}
	}
	if cr.Duration != 0 && (cr.Duration < credentials.MinSessionDuration || cr.Duration > credentials.MaxSessionDuration) {
		l.errorf(at("duration"), "duration %s is outside 15m..12h", cr.Duration)
	}
	if n := len(cr.SessionName); n != 0 && (n < 2 || n > 64) {
		l.errorf(at("session_name"), "session_name must be 2 to 64 characters")
	}
	switch cr.Source {
	case SourceStatic:
		if cr.AccessKeyID == "" {
			l.errorf(p, "static credentials need access_key_id")
		}
		l.readSecret(p, "access_key_secret", &cr.AccessKeySecret, cr.AccessKeySecretFile, true)
		cr.AccessKeySecretFile = ""
	case SourceAssumeRole:
		if cr.RoleARN == "" {
			l.errorf(p, "assume_role needs role_arn")
		}
		if cr.Base == nil {
			l.errorf(p, "assume_role needs base credentials (base: {source: ...})")
		} else {
			if cr.Base.Source == "" {
				l.errorf(at("base"), "base.source is required")
			} else {
				l.validateCredentials(cr.Base, at("base"), false)
			}
		}
	case SourceRRSA:
		if cr.OIDCTokenFile != "" {
			cr.OIDCTokenFile = l.abs(cr.OIDCTokenFile)
		}
	case SourceECS:
		if cr.ECSEndpoint != "" {
			if u, err := url.Parse(cr.ECSEndpoint); err != nil || u.Host == "" {
				l.errorf(at("ecs_endpoint"), "ecs_endpoint %q is not a URL", cr.ECSEndpoint)
			}
		}
	case SourceProfile:
		switch cr.ProfileKind {
		case "cli", "ini":
		default:
			l.errorf(at("profile_kind"), "profile_kind must be cli (~/.aliyun/config.json) or ini (~/.alibabacloud/credentials)")
		}
		if cr.ProfileFile != "" {
			cr.ProfileFile = l.abs(cr.ProfileFile)
		}
	}
	if !top {
		return
	}
	sp := at("sts")
	if cr.STS.CAFile != "" {
		if b, ok := l.readFile(append(sp, "ca_file"), cr.STS.CAFile); ok {
			if !x509.NewCertPool().AppendCertsFromPEM(b) {
				l.errorf(append(sp, "ca_file"), "ca_file %s holds no PEM certificate", cr.STS.CAFile)
			}
			cr.STS.CAPEM = b
		}
	}
	if cr.STS.Timeout < 0 {
		l.errorf(append(sp, "timeout"), "timeout must not be negative")
	}
	cp := at("cache")
	if f := cr.Cache.RefreshAt; f < 0 || f >= 1 {
		l.errorf(append(cp, "refresh_at"), "refresh_at must be a fraction in [0, 1)")
	}
	if f := cr.Cache.Jitter; f >= 1 {
		l.errorf(append(cp, "jitter"), "jitter must be below 1")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"expiry_window", cr.Cache.ExpiryWindow}, {"min_lifetime", cr.Cache.MinLifetime}, {"timeout", cr.Cache.Timeout},
		{"retry_min", cr.Cache.RetryMin}, {"retry_max", cr.Cache.RetryMax}} {
		if d.v < 0 {
			l.errorf(append(cp, d.name), "%s must not be negative", d.name)
		}
	}
	if cr.Cache.RetryMax != 0 && cr.Cache.RetryMin > cr.Cache.RetryMax {
		l.errorf(append(cp, "retry_min"), "retry_min is above retry_max")
	}
}

func (l *loader) nodeAt(path []any) *yaml.Node {
	n := l.root
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	return n
}

func (l *loader) validateLogging(c *Config) {
	switch c.Logging.Format {
	case "", "json", "text":
	default:
		l.errorf([]any{"logging", "format"}, "logging.format %q is not json or text", c.Logging.Format)
	}
	switch strings.ToLower(c.Logging.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		l.errorf([]any{"logging", "level"}, "logging.level %q is not debug, info, warn or error", c.Logging.Level)
	}
	if d := c.Logging.FlushIntervalOrDefault(); d < 0 || d > MaxLogFlushInterval {
		l.errorf([]any{"logging", "flush_interval"}, "logging.flush_interval %v must be between 0s (no buffer) and %v", d, MaxLogFlushInterval)
	}
}
