package vend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/signer"
)

// API paths the Service answers, under the proxy's reserved prefix.
const (
	PresignPath = "/_ossproxy/v1/presign"
	STSPath     = "/_ossproxy/v1/sts"
)

// Authorizer is what the Service needs from the proxy's policy:
// *auth.Policy implements it. It must be safe for concurrent use.
type Authorizer interface {
	// Authorize returns nil if p may perform action on bucket and key.
	Authorize(p *auth.Principal, action auth.Action, bucket, key string) error
	// Grants lists what p may do, with templates expanded.
	Grants(p *auth.Principal) []auth.Grant
}

var _ Authorizer = (*auth.Policy)(nil)

// PrincipalFunc returns the authenticated caller of the request whose
// context is ctx, and false if there is none. cmd/ossproxy reads it from
// the proxy's context (proxy.CallerFromContext).
type PrincipalFunc func(ctx context.Context) (*auth.Principal, bool)

// Event is one answered API call, for metrics.
type Event struct {
	Kind      string // "presign" or "sts"
	Principal string // the caller's name; "" if unauthenticated
	Bucket    string // as requested; "" if unknown
	Method    string // presign only
	Code      string // "" on success, else the error code
	Status    int    // HTTP status
	Capped    bool   // presign: the expiry was capped
	Cached    bool   // sts: answered without an STS call of its own
}

// Observer receives one Event per API call. It is called synchronously
// and must be quick and safe for concurrent use.
type Observer interface {
	Observe(ctx context.Context, ev Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(ctx context.Context, ev Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, ev Event) { f(ctx, ev) }

// Invalidator is implemented by credential caches that can drop stale
// credentials and fetch fresh ones (*credentials.Cache does).
type Invalidator interface {
	Invalidate(stale credentials.Credentials)
}

// AddressingStyle says how the bucket appears in a presigned URL.
type AddressingStyle string

// Addressing styles.
const (
	// VirtualHosted: https://bucket.endpoint-host/key. The default for
	// host names.
	VirtualHosted AddressingStyle = "virtual"
	// PathStyle: https://endpoint-host/bucket/key. The default for IP
	// addresses and localhost.
	PathStyle AddressingStyle = "path"
	// CNAME: the endpoint host names the bucket: https://host/key.
	CNAME AddressingStyle = "cname"
)

// Bucket is a bucket the Service vends access to.
type Bucket struct {
	// Name is the bucket name. Required.
	Name string
	// Region is the OSS region, e.g. "cn-hangzhou". Required.
	Region string
	// Endpoint is the scheme and host presigned URLs name and vended
	// credentials report, e.g. "https://oss-cn-hangzhou.aliyuncs.com": the
	// bucket's public endpoint, which may differ from the proxy's internal
	// upstream. Required.
	Endpoint string
	// Style is the URL style; "" picks PathStyle for IP addresses and
	// localhost, VirtualHosted otherwise.
	Style AddressingStyle
	// Credentials sign this bucket's URLs. nil: Options.Credentials.
	// To have URLs point at the proxy itself, set Endpoint to the proxy's
	// URL, Style to PathStyle and Credentials to a proxy-issued access key.
	Credentials credentials.Provider
}

// STSOptions enables POST /_ossproxy/v1/sts: AssumeRole of RoleARN with a
// session policy generated from the caller's grants.
type STSOptions struct {
	// RoleARN is the role assumed. Required.
	RoleARN string
	// Base signs the AssumeRole calls (typically the proxy's
	// credentials.Cache). Required.
	Base credentials.Provider
	// Client calls STS (*credentials.STSClient). Required.
	Client credentials.RoleAssumer
	// SessionName is the RoleSessionName. "": "ossproxy-vend".
	SessionName string
	// ExternalID is sent with every AssumeRole if set.
	ExternalID string
	// MaxDuration caps the session duration, 900s…43200s (it must not
	// exceed the role's MaxSessionDuration). 0: 3600s.
	MaxDuration time.Duration
	// DefaultDuration is used when a request names none. 0: MaxDuration.
	DefaultDuration time.Duration
	// MinRemaining is the least lifetime cached credentials must have left
	// to be handed out again. 0: 10 minutes. For short durations it is at
	// most half the duration.
	MinRemaining time.Duration
	// CacheSize bounds the cached credentials per duration. 0: 1024.
	CacheSize int
	// Timeout bounds one STS call. 0: 30s.
	Timeout time.Duration
}

// Options configure a Service. Buckets, Policy and Principal are required.
type Options struct {
	// Buckets are the buckets access is vended to; grants on "*" expand to
	// these.
	Buckets []Bucket
	// Policy decides what callers may do. Required.
	Policy Authorizer
	// Principal finds the authenticated caller in a request's context.
	// Required for ServeHTTP; the Go methods take the principal.
	Principal PrincipalFunc
	// Credentials sign presigned URLs. nil: presign answers 501 (unless
	// every bucket has its own). If it implements Invalidator (a
	// credentials.Cache does), a URL that would outlive the credentials
	// makes the Service ask it for fresh ones once per set of credentials,
	// when fresh ones would live noticeably longer; such a refresh drops
	// the cached credentials until it returns, so give the Service a Cache
	// of its own rather than the proxy's. If it fails, the Service keeps
	// signing with the old credentials until they expire.
	Credentials credentials.Provider
	// STS enables the STS endpoint. nil: it answers 501.
	STS *STSOptions
	// MaxExpiry caps presigned URL lifetimes (never above 7 days).
	// 0: 1 hour.
	MaxExpiry time.Duration
	// DefaultExpiry is used when a request names none. 0: 15 minutes,
	// or MaxExpiry if that is less.
	DefaultExpiry time.Duration
	// PresignLimit and STSLimit rate-limit each principal per endpoint.
	// Zero values: no limit.
	PresignLimit, STSLimit RateLimit
	// RequestID returns the id of the request whose context is ctx, for
	// the x-oss-request-id header and the request_id of errors (cmd/ossproxy
	// passes proxy.RequestIDFromContext). nil, or an empty answer: a random
	// id.
	RequestID func(ctx context.Context) string
	// Observer counts answers. nil: none.
	Observer Observer
	// Logger receives one record per API call, without secrets. nil:
	// discard.
	Logger *slog.Logger
	// Now is the clock. nil: time.Now.
	Now func() time.Time
}

// ErrConfig is wrapped by every configuration error of New.
var ErrConfig = errors.New("invalid vend configuration")

// Service issues temporary access: presigned URLs and scoped STS
// credentials, to authenticated callers and only within what the policy
// grants them. It is an http.Handler for the two API paths and has Go
// methods for the same operations. It is safe for concurrent use.
type Service struct {
	opts    Options
	buckets map[string]*bucket
	names   []string
	log     *slog.Logger
	now     func() time.Time
	maxExp  time.Duration
	defExp  time.Duration

	presignLim, stsLim *limiter

	mu     sync.Mutex
	scoped map[time.Duration]*credentials.ScopedCache
}

type bucket struct {
	Bucket
	scheme, host string
	v4           *signer.V4
	creds        credentials.Provider
	// longest credential lifetime seen, in ns: a refresh only helps if it
	// would give noticeably more than what is left.
	maxSeen atomic.Int64
	// access key id of the credentials last invalidated, so each set is
	// invalidated at most once.
	lastInvalidated atomic.Pointer[string]
	// the credentials last invalidated: the refresh was voluntary, so they
	// keep signing until they expire while the source fails.
	kept atomic.Pointer[credentials.Credentials]
}

var _ http.Handler = (*Service)(nil)

// New validates o and returns a Service. Errors wrap ErrConfig.
func New(o Options) (*Service, error) {
	if o.Policy == nil {
		return nil, fmt.Errorf("%w: Policy is required", ErrConfig)
	}
	if len(o.Buckets) == 0 {
		return nil, fmt.Errorf("%w: no buckets", ErrConfig)
	}
	s := &Service{opts: o, buckets: map[string]*bucket{}, log: o.Logger, now: o.Now,
		scoped: map[time.Duration]*credentials.ScopedCache{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, b := range o.Buckets {
		if !validBucketName(b.Name) {
			return nil, fmt.Errorf("%w: bucket name %q", ErrConfig, b.Name)
		}
		if _, dup := s.buckets[b.Name]; dup {
			return nil, fmt.Errorf("%w: bucket %q listed twice", ErrConfig, b.Name)
		}
		if b.Region == "" {
			return nil, fmt.Errorf("%w: bucket %q: region is required", ErrConfig, b.Name)
		}
		u, err := url.Parse(b.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("%w: bucket %q: endpoint must be http(s)://host[:port]", ErrConfig, b.Name)
		}
		switch b.Style {
		case "":
			b.Style = VirtualHosted
			if h := u.Hostname(); net.ParseIP(h) != nil || h == "localhost" {
				b.Style = PathStyle
			}
		case VirtualHosted, PathStyle, CNAME:
		default:
			return nil, fmt.Errorf("%w: bucket %q: style %q", ErrConfig, b.Name, b.Style)
		}
		bk := &bucket{Bucket: b, scheme: u.Scheme, host: u.Host, v4: &signer.V4{Region: b.Region}, creds: b.Credentials}
		if bk.creds == nil {
			bk.creds = o.Credentials
		}
		s.buckets[b.Name] = bk
		s.names = append(s.names, b.Name)
	}
	s.maxExp = o.MaxExpiry
	if s.maxExp <= 0 {
		s.maxExp = time.Hour
	}
	s.maxExp = min(s.maxExp, signer.MaxPresignExpiry)
	if s.maxExp < time.Second {
		return nil, fmt.Errorf("%w: max expiry below one second", ErrConfig)
	}
	s.defExp = o.DefaultExpiry
	if s.defExp <= 0 {
		s.defExp = 15 * time.Minute
	}
	s.defExp = min(s.defExp, s.maxExp)
	if st := o.STS; st != nil {
		cp := *st
		if cp.RoleARN == "" || cp.Base == nil || cp.Client == nil {
			return nil, fmt.Errorf("%w: STS needs RoleARN, Base and Client", ErrConfig)
		}
		if cp.MaxDuration == 0 {
			cp.MaxDuration = time.Hour
		}
		if cp.MaxDuration < credentials.MinSessionDuration || cp.MaxDuration > credentials.MaxSessionDuration {
			return nil, fmt.Errorf("%w: STS max duration %s outside 900s…43200s", ErrConfig, cp.MaxDuration)
		}
		if cp.DefaultDuration == 0 {
			cp.DefaultDuration = cp.MaxDuration
		}
		cp.DefaultDuration -= cp.DefaultDuration % credentials.MinSessionDuration
		if cp.DefaultDuration < credentials.MinSessionDuration || cp.DefaultDuration > cp.MaxDuration {
			return nil, fmt.Errorf("%w: STS default duration %s outside 900s…%s", ErrConfig, cp.DefaultDuration, cp.MaxDuration)
		}
		if cp.MinRemaining <= 0 {
			cp.MinRemaining = 10 * time.Minute
		}
		if cp.SessionName == "" {
			cp.SessionName = "ossproxy-vend"
		}
		s.opts.STS = &cp
		if _, err := s.scopedCache(cp.DefaultDuration); err != nil { // validates the rest
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	var err error
	if s.presignLim, err = newLimiter(o.PresignLimit); err != nil {
		return nil, fmt.Errorf("%w: presign limit: %w", ErrConfig, err)
	}
	if s.stsLim, err = newLimiter(o.STSLimit); err != nil {
		return nil, fmt.Errorf("%w: sts limit: %w", ErrConfig, err)
	}
	return s, nil
}

// PresignResult is the answer to a presign request. Its URL carries a
// signature (and a security token for STS credentials), so String and
// LogValue omit it.
type PresignResult struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	// HeadersToSend must accompany the request exactly: they are signed.
	HeadersToSend map[string]string `json:"headers_to_send"`
	ExpiresAt     time.Time         `json:"expires_at"`
	// ExpiresIn is the URL's lifetime in seconds from signing.
	ExpiresIn int64 `json:"expires_in"`
	// Capped is true when the lifetime is shorter than asked for;
	// CappedReason says why.
	Capped       bool   `json:"capped"`
	CappedReason string `json:"capped_reason,omitempty"`
}

// String implements fmt.Stringer without the URL.
func (r PresignResult) String() string {
	return fmt.Sprintf("presigned %s until %s (capped %t)", r.Method, r.ExpiresAt.UTC().Format(time.RFC3339), r.Capped)
}

// Format implements fmt.Formatter so that every verb, %#v included, omits
// the URL.
func (r PresignResult) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// LogValue implements slog.LogValuer without the URL.
func (r PresignResult) LogValue() slog.Value {
	return slog.GroupValue(slog.String("method", r.Method), slog.Time("expires_at", r.ExpiresAt), slog.Bool("capped", r.Capped))
}

// Presign returns a presigned URL for p to perform in.Method on in.Bucket
// and in.Key, if the policy allows it (else an error wrapping ErrDenied,
// and nothing is signed). The lifetime is in.Expires (or the default),
// capped by the configured maximum, by 7 days, and by the remaining lifetime
// of the signing credentials; the result says when and why it was capped.
// Errors wrap ErrMalformed, ErrNoSuchBucket, ErrDenied, ErrNotConfigured or
// ErrCredentialsUnavailable.
func (s *Service) Presign(ctx context.Context, p *auth.Principal, in PresignRequest) (*PresignResult, error) {
	if p == nil {
		return nil, fmt.Errorf("presigning: %w", ErrUnauthenticated)
	}
	if err := in.validate(); err != nil {
		return nil, fmt.Errorf("presigning: %w", err)
	}
	b, ok := s.buckets[in.Bucket]
	if !ok {
		return nil, fmt.Errorf("presigning: %w: %s", ErrNoSuchBucket, in.Bucket)
	}
	action := auth.ActionRead
	switch in.Method {
	case http.MethodPut:
		action = auth.ActionWrite
	case http.MethodDelete:
		action = auth.ActionDelete
	}
	err := s.opts.Policy.Authorize(p, action, in.Bucket, in.Key)
	if err == nil && changesACL(in.Headers) {
		err = s.opts.Policy.Authorize(p, auth.ActionACL, in.Bucket, in.Key)
	}
	if err != nil {
		if !errors.Is(err, auth.ErrDenied) { // auth's own denial says nothing more
			return nil, fmt.Errorf("presigning %s %s/%s: %w: %w", in.Method, in.Bucket, truncate(in.Key), ErrDenied, err)
		}
		return nil, fmt.Errorf("presigning %s %s/%s: %w", in.Method, in.Bucket, truncate(in.Key), ErrDenied)
	}
	if b.creds == nil {
		return nil, fmt.Errorf("presigning: %w: no signing credentials", ErrNotConfigured)
	}
	want := time.Duration(in.Expires)
	if want <= 0 {
		want = s.defExp
	}
	exp, reason := want, ""
	if exp > s.maxExp {
		exp, reason = s.maxExp, "capped at the configured maximum of "+s.maxExp.String()
	}
	creds, err := b.creds.Retrieve(ctx)
	if err != nil {
		k := b.kept.Load()
		if k == nil || k.Expires.Sub(s.now()) < time.Second {
			return nil, fmt.Errorf("presigning: getting signing credentials: %w: %w", ErrCredentialsUnavailable, err)
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "getting signing credentials failed; signing with those kept from before a refresh",
			slog.String("error", err.Error()), slog.Any("credentials", *k))
		creds = *k
	}
	now := s.now().Truncate(time.Second)
	if creds.CanExpire() {
		left := creds.Expires.Sub(now)
		b.noteLifetime(left)
		if left < exp {
			creds, left = s.fresher(ctx, b, creds, now, left)
		}
		if left < exp {
			exp = left.Truncate(time.Second)
			reason = "capped at the remaining lifetime of the signing credentials (" + exp.String() + ")"
		}
		if exp < time.Second {
			return nil, fmt.Errorf("presigning: %w: signing credentials expire now", ErrCredentialsUnavailable)
		}
	}
	req, err := b.request(in)
	if err != nil {
		return nil, fmt.Errorf("presigning: %w", err)
	}
	var u string
	if in.Version == "v1" {
		u, err = signer.V1{}.Presign(req, creds.Credentials, in.Bucket, in.Key, now, exp)
	} else {
		u, err = b.v4.Presign(req, creds.Credentials, in.Bucket, in.Key, now, exp)
	}
	if err != nil {
		return nil, fmt.Errorf("presigning: %w: %w", ErrCredentialsUnavailable, err)
	}
	headers := in.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	return &PresignResult{
		URL: u, Method: in.Method, HeadersToSend: headers,
		ExpiresAt: now.Add(exp).UTC(), ExpiresIn: int64(exp / time.Second),
		Capped: reason != "", CappedReason: reason,
	}, nil
}

// fresher asks an Invalidator source for fresh credentials when that would
// help: the current ones have used up a quarter of the longest lifetime
// seen, and were not invalidated before. It returns the longer-lived of the
// old and the new credentials and their remaining lifetime.
func (s *Service) fresher(ctx context.Context, b *bucket, c credentials.Credentials, now time.Time, left time.Duration) (credentials.Credentials, time.Duration) {
	seen := time.Duration(b.maxSeen.Load())
	inv, ok := b.creds.(Invalidator)
	if !ok || left > seen*3/4 {
		return c, left
	}
	if last := b.lastInvalidated.Load(); last != nil && *last == c.AccessKeyID {
		return c, left
	}
	id, kept := c.AccessKeyID, c
	b.lastInvalidated.Store(&id)
	b.kept.Store(&kept)
	inv.Invalidate(c)
	fresh, err := b.creds.Retrieve(ctx)
	if err != nil || !fresh.Expires.After(c.Expires) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "refreshing signing credentials for a presign failed; capping instead",
			slog.Any("error", err))
		return c, left
	}
	fl := fresh.Expires.Sub(now)
	b.noteLifetime(fl)
	return fresh, fl
}

// noteLifetime records the longest remaining lifetime seen.
func (b *bucket) noteLifetime(left time.Duration) {
	for {
		seen := b.maxSeen.Load()
		if int64(left) <= seen || b.maxSeen.CompareAndSwap(seen, int64(left)) {
			return
		}
	}
}

// request builds the request to presign: the bucket's public endpoint in
// its style, the response overrides in the query and the headers to sign.
func (b *bucket) request(in PresignRequest) (*http.Request, error) {
	u := &url.URL{Scheme: b.scheme, Host: b.host}
	var path string
	switch b.Style {
	case PathStyle:
		path = "/" + in.Bucket + "/" + in.Key
	case VirtualHosted:
		u.Host = in.Bucket + "." + b.host
		path = "/" + in.Key
	default:
		path = "/" + in.Key
	}
	u.Path, u.RawPath = path, signer.EscapePath(path)
	if len(in.Response) > 0 {
		q := url.Values{}
		for k, v := range in.Response {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	h := make(http.Header, len(in.Headers))
	for k, v := range in.Headers {
		h.Set(k, v)
	}
	return &http.Request{Method: in.Method, URL: u, Host: u.Host, Header: h}, nil
}

// STSResult is vended credentials in the shape of an STS AssumeRole
// answer (what ali-oss refreshSTSToken and the SDKs' StsAuth take), plus
// where to use them. It holds a secret and a token: String, Format and
// LogValue redact them.
//
// The endpoint is "endpoint_url", not "endpoint": ali-oss copies every
// field refreshSTSToken returns into its client options (after lowering
// the first letter), and a string "endpoint" there replaces the parsed
// endpoint and sends every later request to "http:///bucket/key".
// "bucket" and "region" are harmless there (same bucket; V4 strips the
// "oss-" prefix of the region anyway).
type STSResult struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"` // 2006-01-02T15:04:05Z
	// Bucket, Region and Endpoint name the bucket when the credentials
	// cover one bucket; "" otherwise.
	Bucket   string `json:"bucket,omitempty"`
	Region   string `json:"region,omitempty"`
	Endpoint string `json:"endpoint_url,omitempty"`
	// Prefix is the prefix asked for, if any.
	Prefix string `json:"prefix,omitempty"`
}

// String implements fmt.Stringer without the secret or the token.
func (r STSResult) String() string {
	return fmt.Sprintf("sts credentials %s for bucket %q until %s", signer.MaskID(r.AccessKeyID), r.Bucket, r.Expiration)
}

// Format implements fmt.Formatter so that every verb redacts.
func (r STSResult) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// LogValue implements slog.LogValuer without the secret or the token.
func (r STSResult) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", signer.MaskID(r.AccessKeyID)),
		slog.String("bucket", r.Bucket), slog.String("expiration", r.Expiration))
}

// STSTimeFormat is the layout of STSResult.Expiration, as STS writes it.
const STSTimeFormat = "2006-01-02T15:04:05Z"

// Credentials returns STS credentials for p, limited by a session policy
// generated from p's grants (see SessionPolicy), narrowed by in (see
// Narrow; never widened). Credentials for the same policy and duration are
// reused from the cache while they have enough lifetime left. The duration
// is in.DurationSeconds (or the default), capped by the configured maximum
// and rounded down to a multiple of 900s. Errors wrap ErrMalformed,
// ErrNoSuchBucket, ErrDenied, ErrPolicyTooLarge, ErrNotConfigured or
// ErrCredentialsUnavailable.
func (s *Service) Credentials(ctx context.Context, p *auth.Principal, in STSRequest) (*STSResult, error) {
	if p == nil {
		return nil, fmt.Errorf("vending credentials: %w", ErrUnauthenticated)
	}
	st := s.opts.STS
	if st == nil {
		return nil, fmt.Errorf("vending credentials: %w: no STS role", ErrNotConfigured)
	}
	if err := in.validate(); err != nil {
		return nil, fmt.Errorf("vending credentials: %w", err)
	}
	if in.Bucket != "" {
		if _, ok := s.buckets[in.Bucket]; !ok {
			return nil, fmt.Errorf("vending credentials: %w: %s", ErrNoSuchBucket, in.Bucket)
		}
	}
	grants, err := Narrow(ExpandBuckets(s.opts.Policy.Grants(p), s.names), in.Bucket, in.Prefix, auth.Action(in.Actions))
	if err != nil {
		return nil, fmt.Errorf("vending credentials: %w", err)
	}
	policy, err := SessionPolicy(grants)
	if err != nil {
		return nil, fmt.Errorf("vending credentials: %w", err)
	}
	d := st.DefaultDuration
	if in.DurationSeconds > 0 {
		d = time.Duration(in.DurationSeconds) * time.Second
	}
	d = min(d, st.MaxDuration)
	d -= d % credentials.MinSessionDuration
	sc, err := s.scopedCache(d)
	if err != nil {
		return nil, fmt.Errorf("vending credentials: %w", err)
	}
	c, err := sc.Retrieve(ctx, st.RoleARN, policy)
	if err != nil {
		return nil, fmt.Errorf("vending credentials: %w: %w", ErrCredentialsUnavailable, err)
	}
	res := &STSResult{
		AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken,
		Expiration: c.Expires.UTC().Format(STSTimeFormat), Prefix: in.Prefix,
	}
	one := in.Bucket
	if one == "" {
		for _, g := range grants {
			if g.Bucket != "" && one != "" && g.Bucket != one {
				one = ""
				break
			}
			if g.Bucket != "" {
				one = g.Bucket
			}
		}
	}
	if b, ok := s.buckets[one]; ok {
		res.Bucket, res.Region, res.Endpoint = b.Name, b.Region, b.scheme+"://"+b.host
	}
	return res, nil
}

// stsCalledKey carries an *atomic.Bool through the ScopedCache to its STS
// client, which sets it: the request caused an STS call.
type stsCalledKey struct{}

// scopedCache returns the credentials cache for session duration d,
// creating it on first use (at most one per 900s step up to MaxDuration).
func (s *Service) scopedCache(d time.Duration) (*credentials.ScopedCache, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.scoped[d]; ok {
		return c, nil
	}
	st := s.opts.STS
	client := credentials.RoleAssumerFunc(func(ctx context.Context, base credentials.Credentials, in credentials.AssumeRoleInput) (credentials.Credentials, error) {
		if called, ok := ctx.Value(stsCalledKey{}).(*atomic.Bool); ok {
			called.Store(true)
		}
		return st.Client.AssumeRole(ctx, base, in)
	})
	c, err := credentials.NewScopedCache(st.Base, client, credentials.ScopedOptions{
		Size: st.CacheSize, Duration: d, MinRemaining: min(st.MinRemaining, d/2),
		SessionName: st.SessionName, ExternalID: st.ExternalID, Timeout: st.Timeout,
		Now: s.now, Logger: s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("creating credentials cache for %s: %w", d, err)
	}
	s.scoped[d] = c
	return c, nil
}

// ServeHTTP answers POST PresignPath and POST STSPath with JSON, for the
// caller PrincipalFunc finds in the request context (401 without one), with
// the request id in x-oss-request-id.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := ""
	if s.opts.RequestID != nil {
		id = s.opts.RequestID(ctx)
	}
	if id == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = strings.ToUpper(hex.EncodeToString(b[:]))
	}
	w.Header().Set("X-Oss-Request-Id", id)
	ev := Event{}
	var res any
	var err error
	retry := 0
	switch r.URL.Path {
	case PresignPath:
		ev.Kind = "presign"
	case STSPath:
		ev.Kind = "sts"
	}
	var p *auth.Principal
	switch {
	case ev.Kind == "":
		err = fmt.Errorf("routing %s: %w", truncate(r.URL.Path), ErrNotFound)
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		err = ErrMethodNotAllowed
	default:
		ok := false
		if s.opts.Principal != nil {
			p, ok = s.opts.Principal(ctx)
		}
		if !ok || p == nil {
			p, err = nil, ErrUnauthenticated
			break
		}
		ev.Principal = p.Name
		lim := s.presignLim
		if ev.Kind == "sts" {
			lim = s.stsLim
		}
		if allowed, wait := lim.allow(principalKey(p), s.now()); !allowed {
			retry = max(1, int(math.Ceil(wait.Seconds())))
			err = fmt.Errorf("%w: retry after %ds", ErrRateLimited, retry)
			break
		}
		body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
		if rerr != nil {
			err = fmt.Errorf("%w: reading body: %s", ErrMalformed, bodyErr(rerr))
			break
		}
		res, err = s.handle(ctx, p, ev.Kind, body, &ev)
	}
	ev.Status, ev.Code = StatusCode(err), ""
	if err != nil {
		ev.Code = ErrorCode(err)
		writeError(w, id, err, retry)
	} else {
		writeJSON(w, http.StatusOK, res)
	}
	if s.opts.Observer != nil {
		s.opts.Observer.Observe(ctx, ev)
	}
	level := slog.LevelInfo
	if ev.Status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("request_id", id), slog.String("api", ev.Kind),
		slog.String("principal", ev.Principal), slog.String("bucket", ev.Bucket), slog.Int("status", ev.Status)}
	if ev.Capped {
		attrs = append(attrs, slog.Bool("capped", true))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, level, "vend", attrs...)
}

func (s *Service) handle(ctx context.Context, p *auth.Principal, kind string, body []byte, ev *Event) (any, error) {
	if kind == "presign" {
		in, err := DecodePresignRequest(body)
		if err != nil {
			return nil, err
		}
		ev.Bucket, ev.Method = in.Bucket, in.Method
		res, err := s.Presign(ctx, p, in)
		if err == nil {
			ev.Capped = res.Capped
		}
		return res, err
	}
	in, err := DecodeSTSRequest(body)
	if err != nil {
		return nil, err
	}
	ev.Bucket = in.Bucket
	called := new(atomic.Bool)
	res, err := s.Credentials(context.WithValue(ctx, stsCalledKey{}, called), p, in)
	ev.Cached = err == nil && !called.Load()
	return res, err
}

func bodyErr(err error) string {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fmt.Sprintf("body exceeds %d bytes", MaxBodySize)
	}
	return "connection error"
}

// principalKey identifies a principal for rate limiting.
func principalKey(p *auth.Principal) string {
	return p.Mode.String() + "\x00" + p.Issuer + "\x00" + p.Subject + "\x00" + p.KeyID + "\x00" + p.Name
}
