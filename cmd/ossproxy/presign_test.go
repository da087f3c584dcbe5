package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/vend"
)

const vendHMAC = "presign-test-hmac-secret-0123456789abcdef"

// vendConfig writes a configuration for cloud whose upstream credentials
// are assume_role of the cloud's role via its fake STS, and returns its
// path and the environment it needs.
func vendConfig(t *testing.T, cloud *osstest.Cloud) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), cloud.CA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`
listeners:
  - name: main
    address: "127.0.0.1:0"
auth:
  issuers:
    - issuer: https://idp.test
      audiences: [ossproxy]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
policy:
  rules:
    - name: alice
      subjects: [alice]
      buckets: [data]
      prefixes: [users/alice/]
      actions: [read, list, write]
buckets:
  - name: data
    endpoint: %s
    region: %s
    allow_insecure_http: true
`, cloud.OSSURL, cloud.Region) + assumeRole(cloud.Role.ARN, cloud.STSEndpoint, "  duration: 1h\n")
	path := filepath.Join(dir, "ossproxy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HMAC": vendHMAC, "ADMIN_ID": cloud.Admin.AccessKeyID, "ADMIN_SECRET": cloud.Admin.AccessKeySecret}
	return path, func(k string) string { return env[k] }
}

// runCmd runs the program with args and returns stdout, stderr and the error.
func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// curlURL fetches u with the real curl binary and returns status and body.
func curlURL(t *testing.T, extra ...string) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	out := filepath.Join(t.TempDir(), "body")
	code, err := exec.CommandContext(t.Context(), "curl", append([]string{"-sS", "-g", "-o", out, "-w", "%{http_code}"}, extra...)...).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	b, _ := os.ReadFile(out)
	return string(code), string(b)
}

func TestPresignCommand(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	path, getenv := vendConfig(t, cloud)
	const key = "dir/a b+c.txt"
	if err := cloud.OSS.PutObject(t.Context(), "data", key, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	for _, v1 := range []bool{false, true} {
		args := []string{"presign", "--config", path, "--bucket", "data", "--key", key, "--expires", "60s"}
		if v1 {
			args = append(args, "--v1")
		}
		out, errOut, err := runCmd(t, getenv, args...)
		if err != nil {
			t.Fatalf("v1=%t: %v\n%s", v1, err, errOut)
		}
		u := strings.TrimSpace(out)
		if strings.Contains(u, "\n") || !strings.HasPrefix(u, cloud.OSSURL+"/data/") || errOut != "" {
			t.Fatalf("v1=%t: stdout %q, stderr %q", v1, out, errOut)
		}
		if code, body := curlURL(t, u); code != "200" || body != "hello" {
			t.Fatalf("v1=%t: GET %s %q", v1, code, body)
		}
	}

	out, errOut, err := runCmd(t, getenv, "presign", "--config", path, "--bucket", "data", "--key", "up.txt",
		"--method", "put", "--header", "Content-Type: text/plain", "--expires", "3h")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "send header: Content-Type: text/plain") || !strings.Contains(errOut, "note: capped at the remaining lifetime") {
		t.Fatalf("stderr %q", errOut)
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("put by curl"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := curlURL(t, "-T", file, "-H", "Content-Type: text/plain", strings.TrimSpace(out)); code != "200" {
		t.Fatalf("PUT %s %s", code, body)
	}
	rc, err := cloud.OSS.OpenObject("data", "up.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "put by curl" {
		t.Fatalf("stored %q", got)
	}

	tests := []struct {
		name  string
		args  []string
		usage bool
		is    error
	}{
		{"no key", []string{"--bucket", "data"}, true, nil},
		{"sub-second expiry", []string{"--bucket", "data", "--key", "k", "--expires", "1500ms"}, true, nil},
		{"bad header", []string{"--bucket", "data", "--key", "k", "--header", "nocolon"}, true, nil},
		{"unknown bucket", []string{"--bucket", "nope", "--key", "k"}, false, vend.ErrNoSuchBucket},
		{"bad method", []string{"--bucket", "data", "--key", "k", "--method", "POST"}, false, vend.ErrMalformed},
		{"header not presignable", []string{"--bucket", "data", "--key", "k", "--header", "X-Oss-Security-Token: x"}, false, vend.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, getenv, append([]string{"presign", "--config", path}, tt.args...)...)
			if _, isUsage := errors.AsType[usageError](err); isUsage != tt.usage || (tt.is != nil && !errors.Is(err, tt.is)) || out != "" {
				t.Fatalf("err = %v (usage %t), stdout %q", err, isUsage, out)
			}
		})
	}
}

// TestNewVendAPI checks the wiring serve uses for proxy.Options.API: the
// configured bucket, a signing cache of its own, and STS vending of the
// configured assume_role role with its base credentials.
func TestNewVendAPI(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	path, getenv := vendConfig(t, cloud)
	cfg, err := config.Load(path, config.Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auth.NewPolicy(cfg.Policy.Rules)
	if err != nil {
		t.Fatal(err)
	}
	svc, closeAll, err := newVendAPI(cfg, pol, credentialDeps{getenv: getenv, logger: newLogger(io.Discard, cfg.Logging)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	alice := &auth.Principal{Name: "alice", Mode: auth.ModeJWT, Subject: "alice"}
	res, err := svc.Presign(t.Context(), alice, vend.PresignRequest{Bucket: "data", Key: "users/alice/x", Method: "PUT"})
	if err != nil || !strings.HasPrefix(res.URL, cloud.OSSURL+"/data/users/alice/x?") {
		t.Fatalf("presign: %v %v", res, err)
	}
	if code, body := curlURL(t, "-T", "/dev/null", res.URL); code != "200" {
		t.Fatalf("PUT: %s %s", code, body)
	}
	creds, err := svc.Credentials(t.Context(), alice, vend.STSRequest{})
	if err != nil || creds.Bucket != "data" || creds.Endpoint != cloud.OSSURL {
		t.Fatalf("sts: %v %v", creds, err)
	}
	id, err := cloud.Account.Lookup(creds.AccessKeyID, creds.SecurityToken, cloud.Clock.Now())
	if err != nil || !id.Allowed("oss:PutObject", "acs:oss:*:*:data/users/alice/y", nil) || id.Allowed("oss:PutObject", "acs:oss:*:*:data/users/bob/y", nil) {
		t.Fatalf("vended identity %v: %v", id, err)
	}
	if _, err := svc.Presign(t.Context(), &auth.Principal{Name: "bob", Subject: "bob"}, vend.PresignRequest{Bucket: "data", Key: "users/alice/x"}); !errors.Is(err, vend.ErrDenied) {
		t.Fatalf("bob: %v", err)
	}
}
