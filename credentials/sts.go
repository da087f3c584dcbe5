package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcreds "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/ossproxy/ossproxy/signer"
)

// AssumeRoleInput is one STS AssumeRole request.
type AssumeRoleInput struct {
	RoleARN     string        // acs:ram::<account>:role/<name>; required
	SessionName string        // 2-64 characters of [A-Za-z0-9_.@-]; required
	Duration    time.Duration // 900s to the role's maximum (≤ 43200s); 0: 3600s
	ExternalID  string        // optional, 2-1224 characters
	Policy      string        // optional session policy (JSON), 1-2048 characters
}

// OIDCInput is one STS AssumeRoleWithOIDC request. Its String, Format and
// LogValue methods redact the token.
type OIDCInput struct {
	RoleARN         string        // required
	OIDCProviderARN string        // acs:ram::<account>:oidc-provider/<name>; required
	Token           string        // the OIDC token (a JWT); required; secret
	SessionName     string        // as in AssumeRoleInput; required
	Duration        time.Duration // as in AssumeRoleInput
	Policy          string        // optional session policy
}

// String implements fmt.Stringer without the token.
func (in OIDCInput) String() string {
	return fmt.Sprintf("OIDCInput{RoleARN: %s, OIDCProviderARN: %s, Token: [REDACTED], SessionName: %s, Duration: %s}",
		in.RoleARN, in.OIDCProviderARN, in.SessionName, in.Duration)
}

// Format implements fmt.Formatter so that every verb redacts.
func (in OIDCInput) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, in.String()) }

// LogValue implements slog.LogValuer without the token.
func (in OIDCInput) LogValue() slog.Value {
	return slog.GroupValue(slog.String("role_arn", in.RoleARN), slog.String("oidc_provider_arn", in.OIDCProviderARN),
		slog.String("session_name", in.SessionName))
}

// RoleAssumer calls STS AssumeRole, signing the request with base.
// STSClient implements it; tests substitute a stub.
type RoleAssumer interface {
	AssumeRole(ctx context.Context, base Credentials, in AssumeRoleInput) (Credentials, error)
}

// OIDCRoleAssumer calls STS AssumeRoleWithOIDC, which is not signed.
// STSClient implements it; tests substitute a stub.
type OIDCRoleAssumer interface {
	AssumeRoleWithOIDC(ctx context.Context, in OIDCInput) (Credentials, error)
}

// RoleAssumerFunc adapts a function to a RoleAssumer.
type RoleAssumerFunc func(ctx context.Context, base Credentials, in AssumeRoleInput) (Credentials, error)

// AssumeRole calls f.
func (f RoleAssumerFunc) AssumeRole(ctx context.Context, base Credentials, in AssumeRoleInput) (Credentials, error) {
	return f(ctx, base, in)
}

// OIDCRoleAssumerFunc adapts a function to an OIDCRoleAssumer.
type OIDCRoleAssumerFunc func(ctx context.Context, in OIDCInput) (Credentials, error)

// AssumeRoleWithOIDC calls f.
func (f OIDCRoleAssumerFunc) AssumeRoleWithOIDC(ctx context.Context, in OIDCInput) (Credentials, error) {
	return f(ctx, in)
}

// Environment variables read by STSConfigFromEnv. The ACK pod identity
// webhook (≥ 0.4.0) injects them; the Alibaba SDKs ignore the first.
const (
	EnvSTSEndpoint        = "ALIBABA_CLOUD_STS_ENDPOINT"
	EnvSTSRegion          = "ALIBABA_CLOUD_STS_REGION"
	EnvVPCEndpointEnabled = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
)

// DefaultSTSEndpoint is the global STS endpoint.
const DefaultSTSEndpoint = "sts.aliyuncs.com"

// STSConfig configures an STSClient. The zero value calls
// https://sts.aliyuncs.com with a 10s timeout.
type STSConfig struct {
	// Endpoint is the STS host, optionally with a port, e.g.
	// "sts.cn-hangzhou.aliyuncs.com" or "127.0.0.1:8443". A scheme prefix
	// "https://" is accepted; STS is always called over HTTPS.
	// Empty: STSEndpoint(Region, VPC).
	Endpoint string
	// Region is the STS region, e.g. "cn-hangzhou". It selects the regional
	// endpoint when Endpoint is empty and is sent as RegionId.
	Region string
	// VPC selects the VPC endpoint sts-vpc.<Region>.aliyuncs.com when
	// Endpoint is empty and Region is set.
	VPC bool
	// HTTPClient supplies the transport, including its TLS configuration
	// (a test trusts a fake STS's CA here). Its Timeout is ignored; use
	// Timeout. nil: a clone of http.DefaultTransport (never the shared one).
	HTTPClient *http.Client
	// Timeout bounds one STS call, connection included. 0: 10s.
	Timeout time.Duration
}

// STSEndpoint returns the STS host for region: sts.<region>.aliyuncs.com,
// or sts-vpc.<region>.aliyuncs.com if vpc; DefaultSTSEndpoint if region is
// empty.
func STSEndpoint(region string, vpc bool) string {
	switch {
	case region == "":
		return DefaultSTSEndpoint
	case vpc:
		return "sts-vpc." + region + ".aliyuncs.com"
	default:
		return "sts." + region + ".aliyuncs.com"
	}
}

// STSConfigFromEnv returns the endpoint settings found in the environment
// (ALIBABA_CLOUD_STS_ENDPOINT, ALIBABA_CLOUD_STS_REGION,
// ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true); the caller adds HTTPClient and
// Timeout.
func STSConfigFromEnv(getenv func(string) string) STSConfig {
	return STSConfig{
		Endpoint: getenv(EnvSTSEndpoint),
		Region:   getenv(EnvSTSRegion),
		VPC:      strings.EqualFold(getenv(EnvVPCEndpointEnabled), "true"),
	}
}

// STSClient calls STS through the alibaba-cloud-sdk-go typed client
// (services/sts). It builds one SDK client per call: the SDK client writes
// its own fields on every request and so is not safe for concurrent use.
// Its automatic retries are off; the Cache retries with backoff.
//
// STSClient implements RoleAssumer and OIDCRoleAssumer and is safe for
// concurrent use. Its errors are *STSError values that carry the STS error
// code and request id but never a secret, token, signature or request URL.
type STSClient struct {
	endpoint string
	region   string
	rt       http.RoundTripper
	timeout  time.Duration
}

// NewSTSClient returns an STSClient for cfg.
func NewSTSClient(cfg STSConfig) (*STSClient, error) {
	ep := strings.TrimSuffix(strings.TrimPrefix(cfg.Endpoint, "https://"), "/")
	if ep == "" {
		ep = STSEndpoint(cfg.Region, cfg.VPC)
	}
	if strings.Contains(ep, "://") || strings.ContainsAny(ep, "/?#@ ") {
		return nil, fmt.Errorf("configuring sts: %w: endpoint %q is not a host[:port]", ErrInvalid, cfg.Endpoint)
	}
	// The SDK fills its package-level endpoint map on first use, without a
	// lock, and every call reads it: fill it here, before any goroutine of
	// ours can make a first call concurrently with another.
	_ = sts.GetEndpointMap()
	c := &STSClient{endpoint: ep, region: cfg.Region, timeout: cfg.Timeout}
	if c.region == "" {
		c.region = "cn-hangzhou"
	}
	if c.timeout <= 0 {
		c.timeout = 10 * time.Second
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		c.rt = cfg.HTTPClient.Transport
	} else {
		c.rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c, nil
}

// Endpoint returns the STS host the client calls.
func (c *STSClient) Endpoint() string { return c.endpoint }

// AssumeRole implements RoleAssumer.
func (c *STSClient) AssumeRole(ctx context.Context, base Credentials, in AssumeRoleInput) (Credentials, error) {
	if err := checkRoleInput(in.RoleARN, in.SessionName, in.Duration, in.Policy); err != nil {
		return Credentials{}, fmt.Errorf("assuming role: %w", err)
	}
	if !base.Valid() {
		return Credentials{}, fmt.Errorf("assuming role: %w: base credentials are empty", ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var cred sdkcreds.CredentialsProvider = sdkcreds.NewStaticAKCredentialsProvider(base.AccessKeyID, base.AccessKeySecret)
	if base.SecurityToken != "" {
		cred = sdkcreds.NewStaticSTSCredentialsProvider(base.AccessKeyID, base.AccessKeySecret, base.SecurityToken)
	}
	cli, err := c.client(ctx, cred, false)
	if err != nil {
		return Credentials{}, err
	}
	req := sts.CreateAssumeRoleRequest()
	c.prepare(req.RpcRequest)
	req.RoleArn, req.RoleSessionName, req.Policy, req.ExternalId = in.RoleARN, in.SessionName, in.Policy, in.ExternalID
	req.DurationSeconds = requests.NewInteger(durationSeconds(in.Duration))
	resp, err := cli.AssumeRole(req)
	if err != nil {
		return Credentials{}, stsError("AssumeRole", err, base.AccessKeySecret, base.SecurityToken)
	}
	return fromSTS("AssumeRole", resp.Credentials, resp.RequestId)
}

// AssumeRoleWithOIDC implements OIDCRoleAssumer. The request is sent
// unsigned, as the official credential providers send it.
func (c *STSClient) AssumeRoleWithOIDC(ctx context.Context, in OIDCInput) (Credentials, error) {
	if err := checkRoleInput(in.RoleARN, in.SessionName, in.Duration, in.Policy); err != nil {
		return Credentials{}, fmt.Errorf("assuming role with oidc: %w", err)
	}
	if in.OIDCProviderARN == "" || in.Token == "" {
		return Credentials{}, fmt.Errorf("assuming role with oidc: %w: empty oidc provider arn or token", ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cli, err := c.client(ctx, anonymous{}, true)
	if err != nil {
		return Credentials{}, err
	}
	req := sts.CreateAssumeRoleWithOIDCRequest()
	c.prepare(req.RpcRequest)
	req.RoleArn, req.OIDCProviderArn, req.OIDCToken = in.RoleARN, in.OIDCProviderARN, in.Token
	req.RoleSessionName, req.Policy = in.SessionName, in.Policy
	req.DurationSeconds = requests.NewInteger(durationSeconds(in.Duration))
	resp, err := cli.AssumeRoleWithOIDC(req)
	if err != nil {
		return Credentials{}, stsError("AssumeRoleWithOIDC", err, in.Token)
	}
	return fromSTS("AssumeRoleWithOIDC", resp.Credentials, resp.RequestId)
}

func (c *STSClient) prepare(r *requests.RpcRequest) {
	r.Scheme = requests.HTTPS
	r.Domain = c.endpoint
	r.SetReadTimeout(c.timeout)
	r.SetConnectTimeout(c.timeout)
}

// client builds a one-use SDK client whose transport binds ctx to every
// request and, for unsigned actions, drops the SDK's signature parameters.
func (c *STSClient) client(ctx context.Context, cred sdkcreds.CredentialsProvider, unsigned bool) (*sts.Client, error) {
	cfg := sdk.NewConfig()
	cfg.AutoRetry = false
	cfg.Scheme = requests.HTTPS
	cfg.Timeout = c.timeout
	// A RoundTripper that is not an *http.Transport: the SDK then leaves
	// its dialer, proxy and TLS settings alone.
	cfg.Transport = &callTransport{ctx: ctx, rt: c.rt, unsigned: unsigned}
	cli, err := sts.NewClientWithOptions(c.region, cfg, cred)
	if err != nil {
		return nil, fmt.Errorf("creating sts client: %w", err)
	}
	return cli, nil
}

// callTransport sends one SDK call's requests under that call's context.
type callTransport struct {
	ctx      context.Context
	rt       http.RoundTripper
	unsigned bool
}

// signatureParams are what the SDK's RPC signer adds; AssumeRoleWithOIDC is
// an anonymous action, sent without them.
var signatureParams = [...]string{"AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "SignatureType", "SecurityToken"}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.WithContext(t.ctx)
	if t.unsigned {
		u := *r.URL
		q := u.Query()
		for _, k := range signatureParams {
			q.Del(k)
		}
		u.RawQuery = q.Encode()
		r.URL = &u
		r.Header = r.Header.Clone()
		r.Header.Del("x-acs-credentials-provider")
	}
	return t.rt.RoundTrip(r)
}

// anonymous gives the SDK's signer empty credentials for unsigned actions.
type anonymous struct{}

func (anonymous) GetCredentials() (*sdkcreds.Credentials, error) { return &sdkcreds.Credentials{}, nil }
func (anonymous) GetProviderName() string                        { return "anonymous" }

// STSError is a failed STS call. It unwraps to ErrSTS and, for transport
// failures, to the cause (e.g. context.DeadlineExceeded). It never holds a
// secret: the SDK's own error text, which can include the request URL with
// the security token or OIDC token, is not kept.
type STSError struct {
	Action     string // "AssumeRole" or "AssumeRoleWithOIDC"
	StatusCode int    // HTTP status; 0 if no response arrived
	Code       string // STS error code, e.g. "NoPermission"
	RequestID  string // STS request id, for support tickets
	Err        error  // transport cause; nil for errors STS returned
}

func (e *STSError) Error() string {
	var b strings.Builder
	b.WriteString("sts ")
	b.WriteString(e.Action)
	if e.StatusCode != 0 {
		b.WriteString(": status ")
		b.WriteString(strconv.Itoa(e.StatusCode))
	}
	if e.Code != "" {
		b.WriteString(": code ")
		b.WriteString(e.Code)
	}
	if e.RequestID != "" {
		b.WriteString(": request id ")
		b.WriteString(e.RequestID)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns ErrSTS and the transport cause, if any.
func (e *STSError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSTS}
	}
	return []error{ErrSTS, e.Err}
}

// Retryable reports whether the call may succeed if repeated unchanged:
// transport failures, 5xx and throttling.
func (e *STSError) Retryable() bool {
	return e.StatusCode == 0 || e.StatusCode >= 500 || e.StatusCode == 429 || strings.HasPrefix(e.Code, "Throttling")
}

// stsError converts an SDK error, dropping any text that could carry
// secrets; the secrets are also scrubbed from what is kept.
func stsError(action string, err error, secrets ...string) error {
	e := &STSError{Action: action}
	var se *sdkerrors.ServerError
	var ue *url.Error
	var ce *sdkerrors.ClientError
	switch {
	case errors.As(err, &se):
		e.StatusCode, e.Code, e.RequestID = se.HttpStatus(), se.ErrorCode(), se.RequestId()
	case errors.As(err, &ue): // ue.Error() holds the URL and its tokens; keep only the cause
		e.Err = scrubbed(ue.Err, secrets)
	case errors.As(err, &ce):
		e.Code = ce.ErrorCode()
		if oe := ce.OriginError(); oe != nil {
			if errors.As(oe, &ue) {
				oe = ue.Err
			}
			e.Err = scrubbed(oe, secrets)
		}
	default:
		e.Err = scrubbed(err, secrets)
	}
	return e
}

// scrubbed returns err unchanged unless its text contains a secret, in which
// case the text is replaced and only the context sentinels are preserved.
func scrubbed(err error, secrets []string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, "[REDACTED]")
		}
	}
	if clean == msg {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", clean, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", clean, context.Canceled)
	}
	return errors.New(clean)
}

func fromSTS(action string, c sts.Credentials, requestID string) (Credentials, error) {
	if c.AccessKeyId == "" || c.AccessKeySecret == "" || c.SecurityToken == "" {
		return Credentials{}, fmt.Errorf("%w: %s request id %s: %w: response lacks credentials", ErrSTS, action, requestID, ErrInvalid)
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %s request id %s: %w: bad Expiration %q", ErrSTS, action, requestID, ErrInvalid, c.Expiration)
	}
	source := "assume_role"
	if action == "AssumeRoleWithOIDC" {
		source = "oidc"
	}
	return Credentials{
		Credentials: signer.Credentials{AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken},
		Expires:     exp,
		Source:      source,
	}, nil
}

func durationSeconds(d time.Duration) int {
	if d == 0 {
		return 3600
	}
	return int(d / time.Second)
}

// Limits on STS AssumeRole parameters (PROTOCOL.md §5).
const (
	MinSessionDuration = 900 * time.Second
	MaxSessionDuration = 43200 * time.Second
)

func checkRoleInput(roleARN, session string, d time.Duration, policy string) error {
	switch {
	case !strings.HasPrefix(roleARN, "acs:ram::") || !strings.Contains(roleARN, ":role/"):
		return fmt.Errorf("%w: role arn %q is not acs:ram::<account>:role/<name>", ErrInvalid, roleARN)
	case !validSessionName(session):
		return fmt.Errorf("%w: session name %q is not 2-64 characters of [A-Za-z0-9_.@-]", ErrInvalid, session)
	case d != 0 && (d < MinSessionDuration || d > MaxSessionDuration || d%time.Second != 0):
		return fmt.Errorf("%w: duration %s is not whole seconds in [%s, %s]", ErrInvalid, d, MinSessionDuration, MaxSessionDuration)
	case len(policy) > 2048:
		return fmt.Errorf("%w: session policy is %d characters, more than 2048", ErrInvalid, len(policy))
	}
	return nil
}

func validSessionName(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '@', r == '-':
		default:
			return false
		}
	}
	return true
}

var (
	_ RoleAssumer     = (*STSClient)(nil)
	_ OIDCRoleAssumer = (*STSClient)(nil)
	_ RoleAssumer     = RoleAssumerFunc(nil)
	_ OIDCRoleAssumer = OIDCRoleAssumerFunc(nil)
	_ fmt.Stringer    = OIDCInput{}
	_ slog.LogValuer  = OIDCInput{}
	_ error           = (*STSError)(nil)
)
