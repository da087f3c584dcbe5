package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/osstest"
)

// This file starts a real `ossproxy serve` (through run, in-process) in
// front of a real osstest.Cloud, from a YAML file written like a user's.

const (
	tIssuer   = "https://idp.test"
	tAudience = "ossproxy"
	tHMAC     = "serve-test-hmac-secret-0123456789abcdef"
	tKeyID    = "LTAIproxyapp0001"
	tKeySec   = "proxy-app-secret-value-0001"
)

// logSink collects the proxy's stderr and wakes waiters on each write.
type logSink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	wake chan struct{}
}

func newLogSink() *logSink { return &logSink{wake: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.buf.Write(p)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return n, err
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// records returns the JSON log records with the given msg.
func (s *logSink) records(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(s.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			// Text format: key=value pairs (values without spaces suffice here).
			m = map[string]any{}
			for f := range strings.FieldsSeq(line) {
				if k, v, ok := strings.Cut(f, "="); ok {
					m[k] = v
				}
			}
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// server is a running `ossproxy serve`.
type server struct {
	cloud  *osstest.Cloud
	logs   *logSink
	addrs  map[string]string // listener name → address
	url    string            // http://127.0.0.1:port of listener "main"
	cfg    string            // path of the YAML file
	cancel context.CancelFunc
	done   chan error
	exited bool // done has been received from
}

// stop cancels serve's context, as SIGTERM does, and returns its result.
func (s *server) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.exited = true
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
		return nil
	}
}

// serveOpts tune the generated configuration.
type serveOpts struct {
	extraListeners string // YAML list items appended to listeners
	credentials    string // credentials section; "" : assume_role via the fake STS
	extraConfig    string // appended at the end (limits, logging...)
	cloud          *osstest.Cloud
	env            map[string]string // extra environment for serve
	logging        string            // logging section; "" : json at debug
}

const testPolicy = `
policy:
  rules:
    - name: alice home
      subjects: [alice]
      buckets: [data]
      prefixes: [alice/]
      actions: [read, list, write, delete]
    - name: alice shared
      subjects: [alice]
      buckets: [data]
      prefixes: [shared/]
      actions: [read]
    - name: root
      subjects: [root]
      buckets: ["*"]
      actions: ["*"]
    - name: app key
      access_key_ids: [` + tKeyID + `]
      buckets: [data, other]
      prefixes: [app/]
      actions: [read, list, write, delete]
`

const anonymousRule = `    - name: sidecar
      anonymous: true
      buckets: [data]
      prefixes: [public/]
      actions: [read, list, write]
`

// startServe writes a config for cloud and runs `serve` until the test ends.
func startServe(t testing.TB, o serveOpts) *server {
	t.Helper()
	cloud := o.cloud
	if cloud == nil {
		cloud = osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}})
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, cloud.CA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := testPolicy
	if strings.Contains(o.extraListeners, "anonymous: true") {
		policy += anonymousRule
	}
	logging := o.logging
	if logging == "" {
		logging = "\nlogging:\n  format: json\n  level: debug\n"
	}
	creds := o.credentials
	if creds == "" {
		creds = fmt.Sprintf(`
credentials:
  source: assume_role
  role_arn: %s
  base:
    source: static
    access_key_id: ${ADMIN_ID}
    access_key_secret: ${ADMIN_SECRET}
  sts:
    endpoint: %s
    ca_file: ca.pem
`, cloud.Role.ARN, cloud.STSEndpoint)
	}
	text := `
listeners:
  - name: main
    address: "127.0.0.1:0"
` + o.extraListeners + `
auth:
  issuers:
    - issuer: ` + tIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
  token_query_param: access_token
  access_keys:
    - id: ` + tKeyID + `
      secret_file: key.secret
      principal: app
` + policy + `
buckets:
  - name: data
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
  - name: other
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    signature_version: v1
    allow_insecure_http: true
  - name: secret
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
` + creds + logging + o.extraConfig
	if !strings.Contains(o.extraConfig, "admin:") {
		// Never the default 127.0.0.1:9090: tests and other processes share the machine.
		text += "\nadmin:\n  address: \"127.0.0.1:0\"\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "key.secret"), []byte(tKeySec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ossproxy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{"HMAC": tHMAC, "ADMIN_ID": cloud.Admin.AccessKeyID, "ADMIN_SECRET": cloud.Admin.AccessKeySecret}
	for k, v := range o.env {
		envs[k] = v
	}
	s := runServeFile(t, path, func(k string) string { return envs[k] }, 1+strings.Count(o.extraListeners, "- name:"))
	s.cloud = cloud
	return s
}

// runServeFile runs `ossproxy serve --config path` and waits until every
// listener logged its address.
func runServeFile(t testing.TB, path string, getenv func(string) string, listeners int) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{logs: newLogSink(), cfg: path, cancel: cancel, done: make(chan error, 1), addrs: map[string]string{}}
	go func() { s.done <- run(ctx, []string{"serve", "--config", path}, getenv, &bytes.Buffer{}, s.logs) }()
	t.Cleanup(func() {
		cancel()
		if s.exited {
			return
		}
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.After(20 * time.Second)
	for {
		for _, r := range s.logs.records("listening") {
			s.addrs[r["listener"].(string)] = r["addr"].(string)
		}
		if a, ok := s.addrs["main"]; ok && len(s.addrs) == listeners {
			s.url = "http://" + a
			return s
		}
		select {
		case <-s.logs.wake:
		case err := <-s.done:
			s.exited = true
			t.Fatalf("serve exited: %v\n%s", err, s.logs)
		case <-deadline:
			t.Fatalf("serve not listening:\n%s", s.logs)
		}
	}
}

func mint(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	base := jwt.MapClaims{"iss": tIssuer, "aud": tAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base).SignedString([]byte(tHMAC))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer adds a JWT to every request of an SDK client.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func (s *server) upstreamRequests() int { return len(s.cloud.Recorder.Requests(osstest.EndpointOSS)) }

// assertNoCallerSecrets checks that nothing the callers authenticated with
// reached the emulator, and that no token or secret is in the proxy log.
func (s *server) assertNoCallerSecrets(t *testing.T, tokens ...string) {
	t.Helper()
	logs := s.logs.String()
	for _, tok := range tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if s.cloud.Recorder.Contains("", sig) {
			t.Error("a caller's JWT reached the emulator")
		}
		if strings.Contains(logs, sig) {
			t.Error("a caller's JWT is in the proxy log")
		}
	}
	for _, v := range []string{tKeyID, tKeySec, "Bearer", "access_token"} {
		if s.cloud.Recorder.Contains(osstest.EndpointOSS, v) {
			t.Errorf("the emulator saw the caller's %q", v)
		}
	}
	for _, v := range []string{tKeySec, tHMAC, s.cloud.Admin.AccessKeySecret} {
		if strings.Contains(logs, v) {
			t.Error("a secret is in the proxy log")
		}
	}
}

// pollLimit bounds waitFor: wall-clock time, generous, since a loaded
// 2-core CI machine running -race makes every try slower.
const pollLimit = 30 * time.Second

// waitFor calls cond every 10ms until it returns true, and reports whether
// it did within pollLimit. The bound is a deadline, not a number of tries:
// a count of tries shrinks to nothing when each try is slow.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(pollLimit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
