package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"gopkg.in/ini.v1"
)

// STSAPI is what the profile files and the default chain need from STS.
// *STSClient implements it.
type STSAPI interface {
	RoleAssumer
	OIDCRoleAssumer
}

// Environment variables that select profiles.
const (
	EnvProfile            = "ALIBABA_CLOUD_PROFILE"              // profile name in either file
	EnvCLIProfileDisabled = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED" // "true": skip ~/.aliyun/config.json
	EnvCredentialsFile    = "ALIBABA_CLOUD_CREDENTIALS_FILE"     // path of the ini file
)

// ProfileOptions supplies what providers built from a profile file need.
type ProfileOptions struct {
	// STS serves every STS-backed profile. nil: an STSClient built from
	// STSConfig, with the profile's sts_region and enable_vpc unless
	// STSConfig.Endpoint is set.
	STS STSAPI
	// STSConfig is the base for STS clients built when STS is nil.
	STSConfig STSConfig
	// ECS configures EcsRamRole profiles; the profile's role name wins.
	ECS ECSConfig
	// ReadFile reads files (profile files and OIDC token files). nil:
	// os.ReadFile.
	ReadFile func(name string) ([]byte, error)
}

func (o *ProfileOptions) readFile(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (o *ProfileOptions) sts(region string, vpc bool) (STSAPI, error) {
	if o.STS != nil {
		return o.STS, nil
	}
	cfg := o.STSConfig
	if cfg.Endpoint == "" && region != "" {
		cfg.Region, cfg.VPC = region, vpc
	}
	return NewSTSClient(cfg)
}

// cliProfile is one profile of the aliyun CLI's config.json, with the field
// names of alibaba-cloud-sdk-go's cli_profile_credentials_provider.go.
type cliProfile struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
	SecurityToken   string `json:"sts_token"`
	RoleArn         string `json:"ram_role_arn"`
	RoleSessionName string `json:"ram_session_name"`
	DurationSeconds int    `json:"expired_seconds"`
	StsRegion       string `json:"sts_region"`
	EnableVpc       bool   `json:"enable_vpc"`
	SourceProfile   string `json:"source_profile"`
	RoleName        string `json:"ram_role_name"`
	OIDCTokenFile   string `json:"oidc_token_file"`
	OIDCProviderARN string `json:"oidc_provider_arn"`
	Policy          string `json:"policy"`
	ExternalID      string `json:"external_id"`
}

type cliConfig struct {
	Current  string        `json:"current"`
	Profiles []*cliProfile `json:"profiles"`
}

// ParseCLIProfile builds the provider for one profile of an aliyun CLI
// config.json (~/.aliyun/config.json). name "" selects the file's
// "current" profile. Supported modes: AK, StsToken, RamRoleArn,
// EcsRamRole, OIDC and ChainableRamRoleArn. Errors never quote the file.
func ParseCLIProfile(data []byte, name string, opts ProfileOptions) (Provider, error) {
	var conf cliConfig
	if err := json.Unmarshal(data, &conf); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("parsing cli config: %w: json syntax error at offset %d", ErrInvalid, se.Offset)
		}
		return nil, fmt.Errorf("parsing cli config: %w: not a config object", ErrInvalid)
	}
	if name == "" {
		name = conf.Current
	}
	return conf.provider(name, opts, 0)
}

func (conf *cliConfig) provider(name string, opts ProfileOptions, depth int) (Provider, error) {
	if depth > 8 {
		return nil, fmt.Errorf("cli profile %q: %w: source_profile chain too deep or circular", name, ErrInvalid)
	}
	var p *cliProfile
	for _, q := range conf.Profiles {
		if q != nil && q.Name == name {
			p = q
			break
		}
	}
	if p == nil {
		return nil, fmt.Errorf("cli profile %q: %w", name, ErrNotFound)
	}
	bad := func(what string) error {
		return fmt.Errorf("cli profile %q (mode %s): %w: %s", name, p.Mode, ErrInvalid, what)
	}
	static := func() (Provider, error) {
		if p.AccessKeyID == "" || p.AccessKeySecret == "" {
			return nil, bad("access_key_id and access_key_secret are required")
		}
		s := NewStatic(p.AccessKeyID, p.AccessKeySecret, "")
		s.Value.Source = "cli_profile"
		return s, nil
	}
	assume := func(base Provider) (Provider, error) {
		sts, err := opts.sts(p.StsRegion, p.EnableVpc)
		if err != nil {
			return nil, err
		}
		return asProvider(NewAssumeRole(base, sts, AssumeRoleInput{
			RoleARN: p.RoleArn, SessionName: p.RoleSessionName, Duration: time.Duration(p.DurationSeconds) * time.Second,
			ExternalID: p.ExternalID, Policy: p.Policy,
		}))
	}
	switch p.Mode {
	case "AK":
		return static()
	case "StsToken":
		if p.SecurityToken == "" {
			return nil, bad("sts_token is required")
		}
		s, err := static()
		if err == nil {
			s.(*StaticProvider).Value.SecurityToken = p.SecurityToken
		}
		return s, err
	case "RamRoleArn":
		base, err := static()
		if err != nil {
			return nil, err
		}
		return assume(base)
	case "ChainableRamRoleArn":
		base, err := conf.provider(p.SourceProfile, opts, depth+1)
		if err != nil {
			return nil, fmt.Errorf("cli profile %q: source profile: %w", name, err)
		}
		return assume(base)
	case "EcsRamRole":
		ecs := opts.ECS
		if p.RoleName != "" {
			ecs.RoleName = p.RoleName
		}
		return asProvider(NewECS(ecs))
	case "OIDC":
		sts, err := opts.sts(p.StsRegion, p.EnableVpc)
		if err != nil {
			return nil, err
		}
		return asProvider(NewOIDC(sts, OIDCConfig{
			RoleARN: p.RoleArn, OIDCProviderARN: p.OIDCProviderARN, TokenFile: p.OIDCTokenFile,
			SessionName: p.RoleSessionName, Duration: time.Duration(p.DurationSeconds) * time.Second,
			Policy: p.Policy, ReadFile: opts.readFile,
		}))
	default:
		return nil, bad("unsupported mode")
	}
}

// ParseCredentialsFile builds the provider for one section of an
// alibabacloud credentials ini file (~/.alibabacloud/credentials). name ""
// selects "default". Supported types, as in alibaba-cloud-sdk-go:
// access_key, ecs_ram_role and ram_role_arn. Errors never quote the file.
func ParseCredentialsFile(data []byte, name string, opts ProfileOptions) (Provider, error) {
	if name == "" {
		name = "default"
	}
	f, err := ini.LoadSources(ini.LoadOptions{}, data)
	if err != nil {
		// ini's messages can quote a malformed line, which may hold a secret.
		return nil, fmt.Errorf("parsing credentials file: %w: malformed ini", ErrInvalid)
	}
	sec, err := f.GetSection(name)
	if err != nil {
		return nil, fmt.Errorf("credentials file profile %q: %w", name, ErrNotFound)
	}
	get := func(k string) string { return strings.TrimSpace(sec.Key(k).String()) }
	typ := get("type")
	bad := func(what string) error {
		return fmt.Errorf("credentials file profile %q (type %s): %w: %s", name, typ, ErrInvalid, what)
	}
	switch typ {
	case "access_key":
		if get("access_key_id") == "" || get("access_key_secret") == "" {
			return nil, bad("access_key_id and access_key_secret are required")
		}
		s := NewStatic(get("access_key_id"), get("access_key_secret"), "")
		s.Value.Source = "profile"
		return s, nil
	case "ecs_ram_role":
		ecs := opts.ECS
		if r := get("role_name"); r != "" {
			ecs.RoleName = r
		}
		return asProvider(NewECS(ecs))
	case "ram_role_arn":
		if get("access_key_id") == "" || get("access_key_secret") == "" || get("role_arn") == "" || get("role_session_name") == "" {
			return nil, bad("access_key_id, access_key_secret, role_arn and role_session_name are required")
		}
		base := NewStatic(get("access_key_id"), get("access_key_secret"), "")
		base.Value.Source = "profile"
		sts, err := opts.sts("", false)
		if err != nil {
			return nil, err
		}
		return asProvider(NewAssumeRole(base, sts, AssumeRoleInput{
			RoleARN: get("role_arn"), SessionName: get("role_session_name"), Policy: get("policy"), Duration: time.Hour,
		}))
	default:
		return nil, bad("unsupported type")
	}
}

// fileProvider re-reads a profile file on every Retrieve (so edits take
// effect at the next refresh) and delegates to the provider it describes.
// A missing file is ErrNotFound.
type fileProvider struct {
	path, name string
	parse      func(data []byte, name string, opts ProfileOptions) (Provider, error)
	opts       ProfileOptions
}

// NewCLIProfile returns a provider for profile name ("" : the file's
// current profile) of the aliyun CLI config at path. The file is read on
// every Retrieve; a missing file is ErrNotFound. The provider is safe for
// concurrent use.
func NewCLIProfile(path, name string, opts ProfileOptions) Provider {
	return &fileProvider{path: path, name: name, parse: ParseCLIProfile, opts: opts}
}

// NewCredentialsFile returns a provider for profile name ("" : default)
// of the alibabacloud credentials ini file at path. The file is read on
// every Retrieve; a missing file is ErrNotFound. The provider is safe for
// concurrent use.
func NewCredentialsFile(path, name string, opts ProfileOptions) Provider {
	return &fileProvider{path: path, name: name, parse: ParseCredentialsFile, opts: opts}
}

func (p *fileProvider) Retrieve(ctx context.Context) (Credentials, error) {
	data, err := p.opts.readFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, fmt.Errorf("reading %s: %w", p.path, ErrNotFound)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("reading %s: %w", p.path, err)
	}
	inner, err := p.parse(data, p.name, p.opts)
	if err != nil {
		return Credentials{}, fmt.Errorf("reading %s: %w", p.path, err)
	}
	return inner.Retrieve(ctx)
}

// asProvider turns a constructor's (*T, error) into (Provider, error)
// without the typed-nil trap: on error the Provider is a true nil, not an
// interface holding a nil pointer.
func asProvider[P Provider](p P, err error) (Provider, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}
