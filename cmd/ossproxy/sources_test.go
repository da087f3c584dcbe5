package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/osstest"
)

// TestServeCredentialSources serves with each upstream credential source
// against the emulator and checks that a PUT and a GET go through signed
// with the credentials that source yields.
func TestServeCredentialSources(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "rrsa-token")
	if err := cloud.OIDC.WriteTokenFile(tokenFile, "system:serviceaccount:ns:ossproxy", time.Hour); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dir, "credentials")
	if err := os.WriteFile(ini, []byte("[default]\ntype = access_key\naccess_key_id = "+cloud.Admin.AccessKeyID+
		"\naccess_key_secret = "+cloud.Admin.AccessKeySecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cli, []byte(`{"current":"default","profiles":[{"name":"default","mode":"AK","access_key_id":"`+
		cloud.Admin.AccessKeyID+`","access_key_secret":"`+cloud.Admin.AccessKeySecret+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stsBlock := "  sts:\n    endpoint: " + cloud.STSEndpoint + "\n    ca_file: ca.pem\n"
	adminEnv := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": cloud.Admin.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": cloud.Admin.AccessKeySecret}
	tests := []struct {
		name     string
		creds    string
		env      map[string]string
		wantSTS  bool   // upstream requests carry a security token
		wantFrom string // the upstream access key id, if known
	}{
		{"static", "\ncredentials:\n  source: static\n  access_key_id: ${ADMIN_ID}\n  access_key_secret: ${ADMIN_SECRET}\n", nil, false, cloud.Admin.AccessKeyID},
		{"env", "\ncredentials:\n  source: env\n", adminEnv, false, cloud.Admin.AccessKeyID},
		{"assume_role", "", nil, true, ""},
		{"ecs_ram_role", "\ncredentials:\n  source: ecs_ram_role\n  ecs_endpoint: " + cloud.ECSURL + "\n", nil, true, ""},
		{"rrsa", "\ncredentials:\n  source: rrsa\n  role_arn: " + cloud.Role.ARN + "\n  oidc_provider_arn: " + cloud.OIDC.ARN +
			"\n  oidc_token_file: " + tokenFile + "\n" + stsBlock, nil, true, ""},
		{"rrsa from env", "\ncredentials:\n  source: rrsa\n" + stsBlock, map[string]string{
			"ALIBABA_CLOUD_ROLE_ARN": cloud.Role.ARN, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": cloud.OIDC.ARN, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": tokenFile}, true, ""},
		{"profile ini", "\ncredentials:\n  source: profile\n  profile_kind: ini\n  profile_file: " + ini + "\n", nil, false, cloud.Admin.AccessKeyID},
		{"profile cli", "\ncredentials:\n  source: profile\n  profile_kind: cli\n  profile_file: " + cli + "\n", nil, false, cloud.Admin.AccessKeyID},
		{"default chain", "\ncredentials:\n  source: default\n", adminEnv, false, cloud.Admin.AccessKeyID},
		{"sts endpoint from env", "\ncredentials:\n  source: assume_role\n  role_arn: " + cloud.Role.ARN +
			"\n  base:\n    source: env\n  sts:\n    ca_file: ca.pem\n", map[string]string{
			"ALIBABA_CLOUD_STS_ENDPOINT": cloud.STSEndpoint, "ALIBABA_CLOUD_ACCESS_KEY_ID": cloud.Admin.AccessKeyID,
			"ALIBABA_CLOUD_ACCESS_KEY_SECRET": cloud.Admin.AccessKeySecret}, true, ""},
	}
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, serveOpts{cloud: cloud, credentials: tc.creds, env: tc.env})
			cloud.Recorder.Reset()
			key := "root/" + strings.ReplaceAll(tc.name, " ", "-")
			for _, m := range []string{"PUT", "GET"} {
				var body io.Reader
				if m == "PUT" {
					body = strings.NewReader(tc.name)
				}
				code, b := do(t, m, s.url+"/data/"+key, tok, body)
				if code != 200 || (m == "GET" && string(b) != tc.name) {
					t.Fatalf("%s: %d %s\n%s", m, code, b, s.logs)
				}
			}
			reqs := cloud.Recorder.Requests(osstest.EndpointOSS)
			if len(reqs) != 2 {
				t.Fatalf("%d upstream requests", len(reqs))
			}
			for _, r := range reqs {
				if got := r.Header.Get("X-Oss-Security-Token") != ""; got != tc.wantSTS {
					t.Errorf("security token sent: %v, want %v", got, tc.wantSTS)
				}
				if tc.wantFrom != "" && !strings.Contains(r.Header.Get("Authorization"), "Credential="+tc.wantFrom+"/") {
					t.Errorf("signed with %q", r.Header.Get("Authorization"))
				}
			}
		})
	}
}

// TestAccessLogKeyRedaction: with logging.redact_keys the access log holds
// a hash instead of the object key; text format works too.
func TestAccessLogKeyRedaction(t *testing.T) {
	s := startServe(t, serveOpts{logging: "\nlogging:\n  format: text\n  level: info\n  redact_keys: true\n"})
	if code, _ := do(t, "PUT", s.url+"/data/alice/medical-record-42.pdf", mint(t, jwt.MapClaims{"sub": "alice"}), strings.NewReader("x")); code != 200 {
		t.Fatalf("PUT: %d", code)
	}
	logs := s.logs.String()
	if strings.Contains(logs, "medical-record-42") {
		t.Error("object key in the access log")
	}
	if !strings.Contains(logs, "msg=request") || !strings.Contains(logs, "key=sha256:") {
		t.Errorf("no redacted access log record:\n%s", logs)
	}
}

func TestNewLoggerLevelAndFormat(t *testing.T) {
	var b bytes.Buffer
	newLogger(&b, config.Logging{Level: "debug"}).Debug("request", "bucket", "data")
	if !strings.Contains(b.String(), `"bucket":"data"`) {
		t.Errorf("log = %s", b.String())
	}
	b.Reset()
	newLogger(&b, config.Logging{Level: "warn"}).Info("hidden")
	if b.Len() != 0 {
		t.Errorf("info logged at warn level: %s", b.String())
	}
}

func TestNewSTSClientEndpoint(t *testing.T) {
	tests := []struct {
		name string
		sts  config.STS
		env  map[string]string
		want string
	}{
		{"default", config.STS{}, nil, "sts.aliyuncs.com"},
		{"region", config.STS{Region: "cn-shanghai"}, nil, "sts.cn-shanghai.aliyuncs.com"},
		{"vpc", config.STS{Region: "cn-shanghai", VPC: true}, nil, "sts-vpc.cn-shanghai.aliyuncs.com"},
		{"env endpoint", config.STS{Region: "cn-shanghai"}, map[string]string{"ALIBABA_CLOUD_STS_ENDPOINT": "sts.example:443"}, "sts.example:443"},
		{"env region", config.STS{}, map[string]string{"ALIBABA_CLOUD_STS_REGION": "cn-beijing"}, "sts.cn-beijing.aliyuncs.com"},
		{"config wins", config.STS{Endpoint: "127.0.0.1:8443"}, map[string]string{"ALIBABA_CLOUD_STS_ENDPOINT": "sts.example"}, "127.0.0.1:8443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newSTSClient(tc.sts, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Endpoint(); got != tc.want {
				t.Errorf("endpoint %q, want %q", got, tc.want)
			}
		})
	}
}
