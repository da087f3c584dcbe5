package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// Environment variables read by ECSConfigFromEnv.
const (
	EnvECSMetadata         = "ALIBABA_CLOUD_ECS_METADATA"          // role name
	EnvECSMetadataDisabled = "ALIBABA_CLOUD_ECS_METADATA_DISABLED" // "true": skip ECS in the chain
	EnvIMDSv1Disabled      = "ALIBABA_CLOUD_IMDSV1_DISABLED"       // "true": never fall back to IMDSv1
)

// DefaultECSEndpoint is the ECS instance metadata service.
const DefaultECSEndpoint = "http://100.100.100.200"

// ECSConfig configures an ECSProvider. The zero value uses IMDSv2 only,
// discovers the role name, and allows 2s per request, connection included.
type ECSConfig struct {
	// Endpoint is the metadata service base URL. "": DefaultECSEndpoint.
	Endpoint string
	// RoleName is the instance RAM role. "": discovered on every Retrieve
	// from /latest/meta-data/ram/security-credentials/.
	RoleName string
	// AllowIMDSv1 lets requests go without a session token when the token
	// request fails (the SDKs' default). false: IMDSv2 only.
	AllowIMDSv1 bool
	// TokenTTL is the lifetime requested for the IMDSv2 session token, 1s
	// to 6h. 0: 6h (what the SDKs request).
	TokenTTL time.Duration
	// HTTPClient sends the requests. nil: a client with its own transport
	// (never http.DefaultTransport), no proxy, and the timeouts below.
	HTTPClient *http.Client
	// Timeout bounds each metadata request. 0: 2s.
	Timeout time.Duration
}

// ECSConfigFromEnv returns the settings found in the environment
// (ALIBABA_CLOUD_ECS_METADATA as role name; ALIBABA_CLOUD_IMDSV1_DISABLED).
// Note that, unlike the SDKs, IMDSv1 stays off unless the caller sets
// AllowIMDSv1; the variable can only keep it off.
func ECSConfigFromEnv(getenv func(string) string) ECSConfig {
	return ECSConfig{RoleName: getenv(EnvECSMetadata)}
}

// ECSProvider fetches the instance RAM role's credentials from the ECS
// metadata service (PROTOCOL.md §6): PUT /latest/api/token for an IMDSv2
// session token, then GET /latest/meta-data/ram/security-credentials/<role>.
// Each Retrieve performs these requests; wrap it in a Cache. It is safe for
// concurrent use.
type ECSProvider struct {
	cfg    ECSConfig
	base   string
	client *http.Client
}

// NewECS returns an ECSProvider for cfg.
func NewECS(cfg ECSConfig) (*ECSProvider, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultECSEndpoint
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("configuring ecs metadata: %w: endpoint %q is not an http URL", ErrInvalid, cfg.Endpoint)
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = 6 * time.Hour
	}
	if cfg.TokenTTL < time.Second || cfg.TokenTTL > 6*time.Hour {
		return nil, fmt.Errorf("configuring ecs metadata: %w: token ttl %s outside 1s..6h", ErrInvalid, cfg.TokenTTL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if strings.ContainsAny(cfg.RoleName, "/?#") {
		return nil, fmt.Errorf("configuring ecs metadata: %w: role name %q", ErrInvalid, cfg.RoleName)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			Proxy:             nil, // the metadata service is link-local
			DisableKeepAlives: true,
		}}
	}
	return &ECSProvider{cfg: cfg, base: strings.TrimSuffix(cfg.Endpoint, "/"), client: client}, nil
}

// ecsCredentials is the metadata service's answer.
type ecsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"`
	Code            string `json:"Code"`
}

// Retrieve implements Provider.
func (p *ECSProvider) Retrieve(ctx context.Context) (Credentials, error) {
	token, err := p.token(ctx)
	if err != nil {
		if !p.cfg.AllowIMDSv1 {
			return Credentials{}, err
		}
		token = "" // IMDSv1 fallback, as configured
	}
	role := p.cfg.RoleName
	if role == "" {
		body, err := p.get(ctx, "/latest/meta-data/ram/security-credentials/", token)
		if err != nil {
			return Credentials{}, fmt.Errorf("discovering ecs role name: %w", err)
		}
		role = strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(body)), "\n", 2)[0])
		if role == "" || strings.ContainsAny(role, "/?# ") {
			return Credentials{}, fmt.Errorf("discovering ecs role name: %w: no role attached to the instance", ErrMetadata)
		}
	}
	body, err := p.get(ctx, "/latest/meta-data/ram/security-credentials/"+url.PathEscape(role), token)
	if err != nil {
		return Credentials{}, fmt.Errorf("fetching ecs role %q credentials: %w", role, err)
	}
	return parseECSCredentials(body)
}

// parseECSCredentials decodes a metadata credentials document.
func parseECSCredentials(body []byte) (Credentials, error) {
	var ec ecsCredentials
	if err := json.Unmarshal(body, &ec); err != nil {
		// The json error names a byte offset, never the document's content.
		return Credentials{}, fmt.Errorf("decoding ecs credentials: %w: %w", ErrMetadata, err)
	}
	if ec.Code != "Success" {
		return Credentials{}, fmt.Errorf("decoding ecs credentials: %w: code %q, want Success", ErrMetadata, truncate(ec.Code, 64))
	}
	if ec.AccessKeyID == "" || ec.AccessKeySecret == "" || ec.SecurityToken == "" {
		return Credentials{}, fmt.Errorf("decoding ecs credentials: %w: %w: missing key, secret or token", ErrMetadata, ErrInvalid)
	}
	exp, err := time.Parse(time.RFC3339, ec.Expiration)
	if err != nil {
		return Credentials{}, fmt.Errorf("decoding ecs credentials: %w: %w: bad Expiration %q", ErrMetadata, ErrInvalid, truncate(ec.Expiration, 64))
	}
	return Credentials{
		Credentials: signer.Credentials{AccessKeyID: ec.AccessKeyID, AccessKeySecret: ec.AccessKeySecret, SecurityToken: ec.SecurityToken},
		Expires:     exp,
		Source:      "ecs",
	}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// token gets an IMDSv2 session token.
func (p *ECSProvider) token(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.base+"/latest/api/token", http.NoBody)
	if err != nil {
		return "", fmt.Errorf("requesting ecs metadata token: %w", err)
	}
	req.Header.Set("X-aliyun-ecs-metadata-token-ttl-seconds", strconv.Itoa(int(p.cfg.TokenTTL/time.Second)))
	body, err := p.do(req)
	if err != nil {
		return "", fmt.Errorf("requesting ecs metadata token: %w", err)
	}
	tok := strings.TrimSpace(string(body))
	if tok == "" {
		return "", fmt.Errorf("requesting ecs metadata token: %w: empty token", ErrMetadata)
	}
	return tok, nil
}

func (p *ECSProvider) get(ctx context.Context, path, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, http.NoBody)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("X-aliyun-ecs-metadata-token", token)
	}
	return p.do(req)
}

// do sends req and returns the body of a 200 response. Errors name the
// method, path and status, never a body or header (they hold tokens).
func (p *ECSProvider) do(req *http.Request) ([]byte, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL; keep the cause
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrMetadata, req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: reading body: %w", ErrMetadata, req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s %s: status %d", ErrMetadata, req.Method, req.URL.Path, resp.StatusCode)
	}
	return body, nil
}

var _ Provider = (*ECSProvider)(nil)
