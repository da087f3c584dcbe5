package credentials

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AssumeRoleWithOIDC makes stubSTS an STSAPI; it records the token.
func (s *stubSTS) AssumeRoleWithOIDC(ctx context.Context, in OIDCInput) (Credentials, error) {
	c, err := s.AssumeRole(ctx, Credentials{Source: "oidc-token:" + in.Token}, AssumeRoleInput{RoleARN: in.RoleARN, SessionName: in.SessionName, Duration: in.Duration})
	c.Source = "oidc"
	return c, err
}

const cliConfigJSON = `{
  "current": "ak",
  "profiles": [
    {"name": "ak", "mode": "AK", "access_key_id": "LTAIcliak000001", "access_key_secret": "cli-ak-secret"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "STS.cli00000001", "access_key_secret": "cli-sts-secret", "sts_token": "cli-sts-token"},
    {"name": "role", "mode": "RamRoleArn", "access_key_id": "LTAIclirole0001", "access_key_secret": "cli-role-secret",
     "ram_role_arn": "acs:ram::1234567890123456:role/a", "ram_session_name": "cli-sess", "expired_seconds": 900, "external_id": "ext-1"},
    {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "role", "ram_role_arn": "acs:ram::1234567890123456:role/b", "ram_session_name": "hop2"},
    {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "EcsRole"},
    {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1234567890123456:role/a", "oidc_provider_arn": "acs:ram::1234567890123456:oidc-provider/ack",
     "oidc_token_file": "TOKENFILE", "ram_session_name": "pod"},
    {"name": "loop1", "mode": "ChainableRamRoleArn", "source_profile": "loop2", "ram_role_arn": "acs:ram::1234567890123456:role/a"},
    {"name": "loop2", "mode": "ChainableRamRoleArn", "source_profile": "loop1", "ram_role_arn": "acs:ram::1234567890123456:role/a"},
    {"name": "noSecret", "mode": "AK", "access_key_id": "LTAIcliak000001"},
    {"name": "weird", "mode": "CloudSSO"}
  ]
}`

func TestParseCLIProfile(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("eyJoidc.token.value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.ReplaceAll(cliConfigJSON, "TOKENFILE", tokenFile))
	tests := []struct {
		profile   string
		wantID    string
		wantToken string
		wantErr   error
		wantCalls []string // role ARNs assumed, in order
		check     func(t *testing.T, p Provider, sts *stubSTS)
	}{
		{profile: "", wantID: "LTAIcliak000001"}, // current
		{profile: "ak", wantID: "LTAIcliak000001"},
		{profile: "sts", wantID: "STS.cli00000001", wantToken: "cli-sts-token"},
		{profile: "role", wantID: "STS.stubkey0001", wantCalls: []string{"acs:ram::1234567890123456:role/a"}, check: func(t *testing.T, _ Provider, s *stubSTS) {
			if in := s.calls[0]; in.SessionName != "cli-sess" || in.Duration != 900*time.Second || in.ExternalID != "ext-1" || s.bases[0].AccessKeyID != "LTAIclirole0001" {
				t.Errorf("AssumeRole(%+v) signed by %s", in, s.bases[0].AccessKeyID)
			}
		}},
		{profile: "chain", wantID: "STS.stubkey0002", wantCalls: []string{"acs:ram::1234567890123456:role/a", "acs:ram::1234567890123456:role/b"}, check: func(t *testing.T, _ Provider, s *stubSTS) {
			if s.bases[1].AccessKeyID != "STS.stubkey0001" {
				t.Errorf("second hop signed by %s, want the first hop's credentials", s.bases[1].AccessKeyID)
			}
		}},
		{profile: "oidc", wantID: "STS.stubkey0001", wantCalls: []string{"acs:ram::1234567890123456:role/a"}, check: func(t *testing.T, _ Provider, s *stubSTS) {
			if s.bases[0].Source != "oidc-token:eyJoidc.token.value" {
				t.Errorf("OIDC token sent = %q", s.bases[0].Source)
			}
		}},
		{profile: "ecs", check: func(t *testing.T, p Provider, _ *stubSTS) {
			if e, ok := p.(*ECSProvider); !ok || e.cfg.RoleName != "EcsRole" {
				t.Errorf("provider = %T %+v, want an ECSProvider for EcsRole", p, p)
			}
		}},
		{profile: "loop1", wantErr: ErrInvalid},
		{profile: "noSecret", wantErr: ErrInvalid},
		{profile: "weird", wantErr: ErrInvalid},
		{profile: "absent", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run("profile="+tt.profile, func(t *testing.T) {
			sts := &stubSTS{}
			p, err := ParseCLIProfile(data, tt.profile, ProfileOptions{STS: sts})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantID == "" {
				tt.check(t, p, sts)
				return
			}
			c, err := p.Retrieve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tt.wantID || c.SecurityToken != tt.wantToken && tt.wantToken != "" {
				t.Fatalf("got %v", c)
			}
			var arns []string
			for _, in := range sts.calls {
				arns = append(arns, in.RoleARN)
			}
			if strings.Join(arns, ",") != strings.Join(tt.wantCalls, ",") {
				t.Fatalf("assumed %v, want %v", arns, tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, p, sts)
			}
		})
	}
}

const credentialsINI = `
[default]
type = access_key
access_key_id = LTAIinidefault1
access_key_secret = ini-default-secret

[role]
type = ram_role_arn
access_key_id = LTAIinirole0001
access_key_secret = ini-role-secret
role_arn = acs:ram::1234567890123456:role/a
role_session_name = ini-sess
policy = {"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}

[ecs]
type = ecs_ram_role
role_name = EcsIniRole

[broken]
type = access_key
access_key_id = LTAIonly

[other]
type = bearer
bearer_token = xyz
`

func TestParseCredentialsFile(t *testing.T) {
	tests := []struct {
		profile string
		wantID  string
		wantErr error
	}{
		{"", "LTAIinidefault1", nil},
		{"role", "STS.stubkey0001", nil},
		{"ecs", "", nil},
		{"broken", "", ErrInvalid},
		{"other", "", ErrInvalid},
		{"missing", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run("profile="+tt.profile, func(t *testing.T) {
			sts := &stubSTS{}
			p, err := ParseCredentialsFile([]byte(credentialsINI), tt.profile, ProfileOptions{STS: sts})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.profile == "ecs" {
				if e, ok := p.(*ECSProvider); !ok || e.cfg.RoleName != "EcsIniRole" {
					t.Fatalf("provider = %T", p)
				}
				return
			}
			c, err := p.Retrieve(t.Context())
			if err != nil || c.AccessKeyID != tt.wantID {
				t.Fatalf("Retrieve = %v, %v; want %s", c, err, tt.wantID)
			}
			if tt.profile == "role" {
				in := sts.calls[0]
				if in.SessionName != "ini-sess" || !strings.Contains(in.Policy, "oss:GetObject") || sts.bases[0].AccessKeyID != "LTAIinirole0001" {
					t.Fatalf("AssumeRole(%+v) by %s", in, sts.bases[0].AccessKeyID)
				}
			}
		})
	}
}

func TestProfileErrorsDoNotQuoteFiles(t *testing.T) {
	const secret = "Sup3rS3cretValue"
	inputs := []struct {
		name string
		err  error
	}{}
	_, err := ParseCLIProfile([]byte(`{"profiles":[{"name":"a","mode":"AK","access_key_secret":"`+secret+`"`), "a", ProfileOptions{})
	inputs = append(inputs, struct {
		name string
		err  error
	}{"truncated json", err})
	_, err = ParseCLIProfile([]byte(`{"profiles":[{"name":"a","mode":"AK","access_key_secret":`+secret+`}]}`), "a", ProfileOptions{})
	inputs = append(inputs, struct {
		name string
		err  error
	}{"bad json value", err})
	_, err = ParseCredentialsFile([]byte("[default]\ntype = access_key\naccess_key_secret "+secret+"\n"), "", ProfileOptions{})
	inputs = append(inputs, struct {
		name string
		err  error
	}{"ini line without =", err})
	_, err = ParseCredentialsFile([]byte("[default\naccess_key_secret="+secret+"\n"), "", ProfileOptions{})
	inputs = append(inputs, struct {
		name string
		err  error
	}{"ini bad section", err})
	for _, in := range inputs {
		if in.err == nil || !errors.Is(in.err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", in.name, in.err)
			continue
		}
		if strings.Contains(in.err.Error(), secret) {
			t.Errorf("%s: error quotes the secret: %v", in.name, in.err)
		}
	}
}

func TestDefaultChainOrder(t *testing.T) {
	home := t.TempDir()
	tokenFile := filepath.Join(home, "rrsa-token")
	write := func(path, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(tokenFile, "rrsa.jwt.token")
	write(filepath.Join(home, ".aliyun", "config.json"), strings.ReplaceAll(cliConfigJSON, "TOKENFILE", tokenFile))
	write(filepath.Join(home, ".alibabacloud", "credentials"), credentialsINI)
	deadECS := httptest.NewServer(nil)
	deadECS.Close() // connection refused

	envAK := map[string]string{EnvAccessKeyID: "LTAIenvkey00001", EnvAccessKeySecret: "env-secret"}
	envOSS := map[string]string{EnvOSSAccessKeyID: "LTAIossenv00001", EnvOSSAccessKeySecret: "oss-env-secret", EnvOSSSessionToken: "oss-tok"}
	rrsa := map[string]string{EnvRoleARN: "acs:ram::1234567890123456:role/a", EnvOIDCProviderARN: "acs:ram::1234567890123456:oidc-provider/ack", EnvOIDCTokenFile: tokenFile}
	noECS := map[string]string{EnvECSMetadataDisabled: "true"}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name      string
		env       map[string]string
		home      string
		wantID    string
		wantSrc   string
		wantErr   error
		wantNames string
	}{
		{"env wins", merge(envAK, envOSS, rrsa), home, "LTAIenvkey00001", "env", nil, "env,oidc,cli_profile,profile,ecs"},
		{"oss env vars", merge(envOSS, rrsa), home, "LTAIossenv00001", "env_oss", nil, ""},
		{"rrsa next", merge(rrsa, noECS), home, "STS.stubkey0001", "oidc", nil, "env,oidc,cli_profile,profile"},
		{"cli profile (current)", noECS, home, "LTAIcliak000001", "cli_profile", nil, ""},
		{"cli profile selected", merge(noECS, map[string]string{EnvProfile: "role"}), home, "STS.stubkey0001", "assume_role", nil, ""},
		{"cli disabled: ini", merge(noECS, map[string]string{EnvCLIProfileDisabled: "true"}), home, "LTAIinidefault1", "profile", nil, "env,profile"},
		{"nothing, no ecs", noECS, "", "", "", ErrNotFound, "env"},
		{"nothing but ecs", map[string]string{}, "", "", "", ErrMetadata, "env,ecs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts := &stubSTS{}
			chain, err := NewDefaultChain(ChainConfig{
				Getenv: func(k string) string { return tt.env[k] }, HomeDir: tt.home, STS: sts,
				ECS: ECSConfig{Endpoint: deadECS.URL, Timeout: time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNames != "" && strings.Join(chain.Names(), ",") != tt.wantNames {
				t.Errorf("chain = %v, want %s", chain.Names(), tt.wantNames)
			}
			c, err := chain.Retrieve(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.AccessKeyID != tt.wantID || c.Source != tt.wantSrc {
				t.Fatalf("Retrieve = %v, %v; want %s from %s", c, err, tt.wantID, tt.wantSrc)
			}
		})
	}
}

func TestChainStopsAtConfiguredFailureAndSticks(t *testing.T) {
	boom := errors.New("sts said no")
	var calls [3]int
	mk := func(i int, c Credentials, err error) Provider {
		return ProviderFunc(func(context.Context) (Credentials, error) { calls[i]++; return c, err })
	}
	notFound := mk(0, Credentials{}, ErrNotFound)
	failing := mk(1, Credentials{}, boom)
	ok := mk(2, stubCreds(1, time.Time{}), nil)
	if _, err := NewChain(nil, ChainEntry{"a", notFound}, ChainEntry{"b", failing}, ChainEntry{"c", ok}).Retrieve(t.Context()); !errors.Is(err, boom) || calls[2] != 0 {
		t.Fatalf("err = %v, later provider called %d times; want the configured failure and no fall-through", err, calls[2])
	}
	// Sticky: once c succeeds, a is no longer consulted.
	var aCalls int
	envLike := ProviderFunc(func(context.Context) (Credentials, error) { aCalls++; return Credentials{}, ErrNotFound })
	ch := NewChain(nil, ChainEntry{"a", envLike}, ChainEntry{"c", ok})
	for range 3 {
		if _, err := ch.Retrieve(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if aCalls != 1 {
		t.Fatalf("first provider consulted %d times, want 1 (chain sticks to the provider that succeeded)", aCalls)
	}
}

func TestEnvProvider(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantID  string
		wantTok string
		wantErr error
	}{
		{"alibaba vars", map[string]string{EnvAccessKeyID: "LTAIa000000001", EnvAccessKeySecret: "s", EnvSecurityToken: "t"}, "LTAIa000000001", "t", nil},
		{"oss vars", map[string]string{EnvOSSAccessKeyID: "LTAIo000000001", EnvOSSAccessKeySecret: "s", EnvOSSSessionToken: "t2"}, "LTAIo000000001", "t2", nil},
		{"alibaba first", map[string]string{EnvAccessKeyID: "LTAIa000000001", EnvAccessKeySecret: "s", EnvOSSAccessKeyID: "LTAIo000000001", EnvOSSAccessKeySecret: "s"}, "LTAIa000000001", "", nil},
		{"id without secret", map[string]string{EnvAccessKeyID: "LTAIa000000001"}, "", "", ErrInvalid},
		{"none", map[string]string{}, "", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewEnv(func(k string) string { return tt.env[k] }).Retrieve(t.Context())
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if c.AccessKeyID != tt.wantID || c.SecurityToken != tt.wantTok {
				t.Fatalf("got %s token %v", c.AccessKeyID, c.SecurityToken != "")
			}
		})
	}
}

func FuzzParseCLIProfile(f *testing.F) {
	f.Add([]byte(cliConfigJSON), "role")
	f.Add([]byte(cliConfigJSON), "")
	f.Add([]byte(`{"profiles":[{"name":"x","mode":"ChainableRamRoleArn","source_profile":"x"}]}`), "x")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		p, err := ParseCLIProfile(data, name, ProfileOptions{STS: &stubSTS{}})
		if (p == nil) == (err == nil) {
			t.Fatalf("provider %v with error %v", p, err)
		}
	})
}

func FuzzParseCredentialsFile(f *testing.F) {
	f.Add([]byte(credentialsINI), "role")
	f.Add([]byte(credentialsINI), "")
	f.Add([]byte("[default\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		p, err := ParseCredentialsFile(data, name, ProfileOptions{STS: &stubSTS{}})
		if (p == nil) == (err == nil) {
			t.Fatalf("provider %v with error %v", p, err)
		}
	})
}

func TestCLIProfileSTSRegion(t *testing.T) {
	data := []byte(`{"profiles":[{"name":"r","mode":"RamRoleArn","access_key_id":"LTAIx0000000001","access_key_secret":"s",
		"ram_role_arn":"acs:ram::1234567890123456:role/a","sts_region":"cn-shanghai","enable_vpc":true}]}`)
	tests := []struct {
		name string
		opts ProfileOptions
		want string
	}{
		{"profile region", ProfileOptions{}, "sts-vpc.cn-shanghai.aliyuncs.com"},
		{"configured endpoint wins", ProfileOptions{STSConfig: STSConfig{Endpoint: "sts.example.internal"}}, "sts.example.internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseCLIProfile(data, "r", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ar, ok := p.(*AssumeRoleProvider)
			if !ok {
				t.Fatalf("provider %T", p)
			}
			if got := ar.client.(*STSClient).Endpoint(); got != tt.want {
				t.Fatalf("endpoint = %s, want %s", got, tt.want)
			}
		})
	}
}
