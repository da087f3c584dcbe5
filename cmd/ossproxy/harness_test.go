package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/internal/e2etest"
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
	e2etest.SyncBuffer
	wake chan struct{}
}

func newLogSink() *logSink { return &logSink{wake: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	n, err := s.SyncBuffer.Write(p)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return n, err
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
	jwks   *jwksFixture // the RS256 issuer's keys (serveOpts.hardened), else nil
	logs   *logSink
	addrs  map[string]string // listener name → address
	url    string            // http://127.0.0.1:port of listener "main"
	cfg    string            // path of the YAML file
	cancel context.CancelFunc
	done   chan error
	exited atomic.Bool // done has been received from
}

// stop cancels serve's context, as SIGTERM does, and returns serve's
// result, or an error if it did not return within pollLimit. It may be
// called from any goroutine.
func (s *server) stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		s.exited.Store(true)
		return err
	case <-time.After(pollLimit):
		return fmt.Errorf("serve did not return within %v of its context's end", pollLimit)
	}
}

// serveOpts configure startServe. The zero value serves one TCP listener
// "main"; an HS256 issuer (tIssuer) with the token query parameter
// access_token; the proxy-issued access key tKeyID; testPolicy; buckets
// data, other (signed V1 upstream) and secret; assume_role credentials
// through the emulator's STS; JSON logs at debug; and an admin listener on
// a free port.
type serveOpts struct {
	cloud *osstest.Cloud // nil: a fresh newCloud
	// hardened is the setup of SECURITY.md's attack and fault matrices:
	// an RS256 issuer (rsaIssuer) behind a JWKS endpoint (server.jwks),
	// virtual-host addressing under oss.local, upload callbacks allowed on
	// bucket other, and timeouts on the main listener.
	hardened bool
	// timeouts is the YAML map of the main listener's timeouts, e.g.
	// "{read_header: 1s}"; "": {read_header: 2s, idle: 10s} when hardened,
	// else none.
	timeouts       string
	extraListeners string // YAML list items appended to listeners; an anonymous one adds anonymousRule
	credentials    string // credentials section; "": assumeRole with no extra
	logging        string // logging section; "": JSON at debug
	// extraConfig is appended at the end (limits, upstream, vend...); an
	// admin section there replaces the default one.
	extraConfig string
	env         map[string]string   // extra environment for serve
	edit        func(string) string // if not nil, rewrites the generated YAML before serve reads it
	// hooks, if not nil, are the app's hooks: serve runs through
	// serveWith. nil: through run, as main calls it.
	hooks *appHooks
	// noAccessLog keeps access-log records out of server.logs (a soak
	// would otherwise measure the buffer's growth).
	noAccessLog bool
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

// newCloud is an emulator with the buckets startServe configures.
func newCloud(t testing.TB) *osstest.Cloud {
	t.Helper()
	return osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}})
}

// assumeRole is the credentials section of a serve config that assumes
// roleARN through the STS at stsEndpoint with the admin key in ADMIN_ID
// and ADMIN_SECRET, trusting the CA in ca.pem. extra is appended: lines
// indented by four spaces continue the sts block ("    timeout: 1s\n"),
// by two they are further credentials settings ("  duration: 15m\n").
func assumeRole(roleARN, stsEndpoint, extra string) string {
	return `
credentials:
  source: assume_role
  role_arn: ` + roleARN + `
  base:
    source: static
    access_key_id: ${ADMIN_ID}
    access_key_secret: ${ADMIN_SECRET}
  sts:
    endpoint: ` + stsEndpoint + `
    ca_file: ca.pem
` + extra
}

// retryingAssumeRole is assumeRole of cloud's role with a failed refresh
// retried quickly, for tests in which STS fails and comes back.
func retryingAssumeRole(cloud *osstest.Cloud) string {
	return assumeRole(cloud.Role.ARN, cloud.STSEndpoint, "  cache:\n    retry_min: 50ms\n    retry_max: 200ms\n")
}

// startServe writes a config for o.cloud as a user would, runs `serve` on
// it until the test ends, and waits until every listener logged its
// address.
func startServe(t testing.TB, o serveOpts) *server {
	t.Helper()
	cloud := o.cloud
	if cloud == nil {
		cloud = newCloud(t)
	}
	var jwks *jwksFixture
	issuers, vhosts, callbacks := "", "", ""
	timeouts := o.timeouts
	if o.hardened {
		jwks = newJWKSFixture(t)
		issuers = `    - issuer: ` + rsaIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [RS256]
      jwks_url: ` + jwks.srv.URL + `/jwks
      allow_insecure_http: true
      key_lookup_timeout: 1s
`
		vhosts = "virtual_host_suffixes: [oss.local]\n"
		callbacks = "    allow_callbacks: true\n"
		if timeouts == "" {
			timeouts = "{read_header: 2s, idle: 10s}"
		}
	}
	if timeouts != "" {
		timeouts = "    timeouts: " + timeouts + "\n"
	}
	policy := testPolicy
	if strings.Contains(o.extraListeners, "anonymous: true") {
		policy += anonymousRule
	}
	creds := o.credentials
	if creds == "" {
		creds = assumeRole(cloud.Role.ARN, cloud.STSEndpoint, "")
	}
	logging := o.logging
	if logging == "" {
		logging = "\nlogging:\n  format: json\n  level: debug\n"
	}
	text := `
listeners:
  - name: main
    address: "127.0.0.1:0"
` + timeouts + o.extraListeners + `
auth:
  issuers:
    - issuer: ` + tIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
` + issuers + `  token_query_param: access_token
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
` + callbacks + `  - name: secret
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
` + vhosts + creds + logging + o.extraConfig
	if !strings.Contains(o.extraConfig, "admin:") {
		// Never the default 127.0.0.1:9090: tests and other processes share the machine.
		text += "\nadmin:\n  address: \"127.0.0.1:0\"\n"
	}
	if o.edit != nil {
		text = o.edit(text)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{"ca.pem": cloud.CA.CertPEM(), "key.secret": []byte(tKeySec + "\n"), "ossproxy.yaml": []byte(text)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	envs := map[string]string{"HMAC": tHMAC, "ADMIN_ID": cloud.Admin.AccessKeyID, "ADMIN_SECRET": cloud.Admin.AccessKeySecret}
	maps.Copy(envs, o.env)
	getenv := func(k string) string { return envs[k] }

	path := filepath.Join(dir, "ossproxy.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{cloud: cloud, jwks: jwks, logs: newLogSink(), cfg: path, cancel: cancel, done: make(chan error, 1), addrs: map[string]string{}}
	var w io.Writer = s.logs
	if o.noAccessLog {
		w = dropAccessLog{s.logs}
	}
	go func() {
		if o.hooks == nil {
			s.done <- run(ctx, []string{"serve", "--config", path}, getenv, io.Discard, w)
		} else {
			s.done <- serveWith(ctx, []string{"--config", path}, getenv, w, *o.hooks)
		}
	}()
	t.Cleanup(func() {
		cancel()
		if s.exited.Load() {
			return
		}
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(pollLimit):
			t.Error("serve did not stop")
		}
	})
	listeners := 1 + strings.Count(o.extraListeners, "- name:")
	deadline := time.After(pollLimit)
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
			s.exited.Store(true)
			t.Fatalf("serve exited: %v\n%s", err, s.logs)
		case <-deadline:
			t.Fatalf("serve not listening:\n%s", s.logs)
		}
	}
}

// dropAccessLog forwards every JSON log record but the access log's.
type dropAccessLog struct{ w io.Writer }

func (d dropAccessLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), `"msg":"request"`) {
		return len(p), nil
	}
	return d.w.Write(p)
}

func (s *server) addr() string { return strings.TrimPrefix(s.url, "http://") }

// waitLog blocks until the proxy has logged more than n records with msg.
func (s *server) waitLog(t testing.TB, msg string, n int) {
	t.Helper()
	deadline := time.After(pollLimit)
	for len(s.logs.records(msg)) <= n {
		select {
		case <-s.logs.wake:
		case <-deadline:
			t.Fatalf("no %q log record after %d:\n%s", msg, n, s.logs)
		}
	}
}

// adminURL is the admin listener's base URL, from its log record.
func (s *server) adminURL(t testing.TB) string {
	t.Helper()
	s.waitLog(t, "admin listening", 0)
	return "http://" + s.logs.records("admin listening")[0]["addr"].(string)
}

const rsaIssuer = "https://rsa.idp.test"

// jwksFixture is a real JWKS endpoint (RS256, kid "k1") whose
// availability a test switches at run time.
type jwksFixture struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	mode    atomic.Int32 // jwksUp, jwksDown, jwksHang
	fetches atomic.Int64
	release chan struct{}
	once    sync.Once
}

const (
	jwksUp = iota
	jwksDown
	jwksHang
)

func newJWKSFixture(t testing.TB) *jwksFixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j := &jwksFixture{key: key, release: make(chan struct{})}
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		t.Fatal(err)
	}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		switch j.mode.Load() {
		case jwksDown:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case jwksHang:
			select {
			case <-r.Context().Done():
			case <-j.release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(func() {
		j.once.Do(func() { close(j.release) })
		j.srv.Close()
	})
	return j
}

// sign returns an RS256 token for claims (merged over valid defaults; a
// nil value deletes a claim) with the given header fields.
func (j *jwksFixture) sign(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	now := time.Now()
	base := jwt.MapClaims{"iss": rsaIssuer, "aud": tAudience, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, base)
	tok.Header["kid"] = "k1"
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(j.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mint returns an HS256 token of tIssuer for claims (see
// e2etest.Issuer.MintClaims: a nil value removes a claim).
func mint(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	return e2etest.Issuer{URL: tIssuer, Audience: tAudience, Secret: []byte(tHMAC)}.MintClaims(t, claims)
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
