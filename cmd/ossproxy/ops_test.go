package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/golang-jwt/jwt/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ossproxy/ossproxy/vend"
)

// This file tests the operations side of serve: the vend API, the admin
// listener and its metrics, reloads, and TLS certificate reloads.

// send sends a request with a bearer token (none if tok is "") and
// returns the status and body. Unlike do, it may be called from any
// goroutine.
func send(ctx context.Context, method, url, tok string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// do is send with the test's context; an error fails the test.
func do(t *testing.T, method, url, tok string, body io.Reader) (int, []byte) {
	t.Helper()
	code, b, err := send(t.Context(), method, url, tok, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code, b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// proxyHost is the host of the vend.presign.proxy_url the vend tests
// configure: the proxy as a client would name it behind DNS or a load
// balancer. It resolves nowhere; clients connect to the main listener
// instead (curl --connect-to, toProxy), so no test has to name a port it
// does not hold.
const proxyHost = "proxy.test"

// toProxy is an HTTP client that connects to s's main listener whatever
// host a URL names.
func toProxy(s *server) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.addr())
	}}}
}

// TestServeVendAPI calls the vend API through a real serve with a JWT and
// uses what it answers against the emulator: a presigned PUT URL with a
// plain HTTP client, vended STS credentials with the official SDK v2, and
// a presigned URL that points at the proxy itself (vend.presign.proxy_url,
// used with the real curl).
func TestServeVendAPI(t *testing.T) {
	s := startServe(t, serveOpts{
		extraConfig: "vend:\n  presign:\n    max_expiry: 30m\n    proxy_url: http://" + proxyHost + "\n    proxy_access_key: " + tKeyID +
			"\n  sts:\n    max_duration: 45m\n",
	})
	alice, root := mint(t, jwt.MapClaims{"sub": "alice"}), mint(t, jwt.MapClaims{"sub": "root"})

	// Presign: the URL names the proxy (proxy_url), signed by the app key.
	code, body := do(t, "POST", s.url+vend.PresignPath, root, strings.NewReader(`{"bucket":"data","key":"app/presigned.txt","method":"PUT","expires":"2h"}`))
	var pr vend.PresignResult
	if code != 200 || json.Unmarshal(body, &pr) != nil {
		t.Fatalf("presign: %d %s", code, body)
	}
	if !strings.HasPrefix(pr.URL, "http://"+proxyHost+"/data/app/presigned.txt?") || !pr.Capped || pr.ExpiresIn != 1800 {
		t.Fatalf("presign answer: %s capped=%v expires_in=%d (want the proxy URL, capped at max_expiry 30m)", strings.SplitN(pr.URL, "?", 2)[0], pr.Capped, pr.ExpiresIn)
	}
	content := []byte("through a URL the proxy presigned for itself")
	file := filepath.Join(t.TempDir(), "upload.txt")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-T", file, "--connect-to", proxyHost + ":80:" + s.addr()}
	for k, v := range pr.HeadersToSend {
		args = append(args, "-H", k+": "+v)
	}
	if code, b := curlURL(t, append(args, pr.URL)...); code != "200" {
		t.Fatalf("curl PUT to the presigned proxy URL: %s %s", code, b)
	}
	if sum, _ := s.cloud.OSS.ObjectSHA256("data", "app/presigned.txt"); sum != sha256Hex(content) {
		t.Fatalf("object at the emulator: sha256 %q", sum)
	}
	if id := s.upstreamKeyOf(t, "PUT", "/data/app/presigned.txt"); id == tKeyID || id == "" {
		t.Fatalf("upstream PUT signed with %q, want the proxy's STS credentials", id)
	}

	// Presign refused by the policy, and without a token.
	if code, body := do(t, "POST", s.url+vend.PresignPath, alice, strings.NewReader(`{"bucket":"data","key":"bob/x"}`)); code != 403 || !strings.Contains(string(body), `"AccessDenied"`) {
		t.Fatalf("presign outside alice's grants: %d %s", code, body)
	}
	if code, _ := do(t, "POST", s.url+vend.PresignPath, "", strings.NewReader(`{"bucket":"data","key":"alice/x"}`)); code != 401 {
		t.Fatalf("presign without a token: %d", code)
	}

	// STS: credentials for alice's prefix, used with SDK v2 on the emulator.
	code, body = do(t, "POST", s.url+vend.STSPath, alice, strings.NewReader(`{"bucket":"data","prefix":"alice/","duration_seconds":7200}`))
	var sr vend.STSResult
	if code != 200 || json.Unmarshal(body, &sr) != nil || sr.SecurityToken == "" {
		t.Fatalf("sts: %d %s", code, body)
	}
	exp, err := time.Parse(vend.STSTimeFormat, sr.Expiration)
	if err != nil || time.Until(exp) > 46*time.Minute || time.Until(exp) < 40*time.Minute {
		t.Fatalf("expiration %q: want about 45m (max_duration caps the 2h asked for), %v", sr.Expiration, err)
	}
	if sr.Endpoint != s.cloud.OSSURL || sr.Bucket != "data" {
		t.Fatalf("sts names %q bucket %q, want %q data", sr.Endpoint, sr.Bucket, s.cloud.OSSURL)
	}
	c := oss.NewClient(oss.LoadDefaultConfig().WithRegion(sr.Region).WithEndpoint(sr.Endpoint).WithRetryMaxAttempts(1).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(sr.AccessKeyID, sr.AccessKeySecret, sr.SecurityToken)))
	if _, err := c.PutObject(t.Context(), &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/sts.txt"), Body: strings.NewReader("vended")}); err != nil {
		t.Fatalf("PutObject with vended credentials: %v", err)
	}
	_, err = c.PutObject(t.Context(), &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("bob/sts.txt"), Body: strings.NewReader("no")})
	var se *oss.ServiceError
	if !errors.As(err, &se) || se.StatusCode != 403 {
		t.Fatalf("PutObject outside the vended prefix: %v", err)
	}
	if sum, _ := s.cloud.OSS.ObjectSHA256("data", "alice/sts.txt"); sum != sha256Hex([]byte("vended")) {
		t.Fatalf("object written with vended credentials: sha256 %q", sum)
	}
	s.assertNoCallerSecrets(t, alice, root)
	if strings.Contains(s.logs.String(), sr.AccessKeySecret) || strings.Contains(s.logs.String(), sr.SecurityToken) {
		t.Fatal("vended credentials are in the proxy log")
	}
}

// scrape reads the admin listener's /metrics.
func scrape(t *testing.T, adminURL string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return mfs
}

// sample sums the counter, gauge or histogram count values of family name
// whose labels include every pair in labels ("k=v").
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	var sum float64
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.Metric {
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestServeAdminMetrics sends mixed traffic through a real serve and
// checks, by scraping the admin listener before and after, that the
// counters and histograms moved by exactly that traffic; and that /healthz
// and /readyz answer on the admin listener, never on the proxy's.
func TestServeAdminMetrics(t *testing.T) {
	s := startServe(t, serveOpts{})
	admin := s.adminURL(t)
	if code, _ := do(t, "GET", admin+"/healthz", "", nil); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if !waitFor(func() bool { code, _ := do(t, "GET", admin+"/readyz", "", nil); return code == 200 }) {
		_, body := do(t, "GET", admin+"/readyz", "", nil)
		t.Fatalf("/readyz never 200: %s", body)
	}
	// The proxy port does not serve the admin paths: they are object keys
	// or 4xx there, never the admin answers.
	if code, body := do(t, "GET", s.url+"/metrics", "", nil); code == 200 || strings.Contains(string(body), "ossproxy_requests_total") {
		t.Fatalf("/metrics on the proxy port: %d", code)
	}
	before := scrape(t, admin)

	alice := mint(t, jwt.MapClaims{"sub": "alice"})
	sent := 0 // response body bytes of the requests for bucket data
	for i := range 3 {
		code, b := do(t, "PUT", s.url+"/data/alice/m"+strconv.Itoa(i), alice, bytes.NewReader(make([]byte, 1024)))
		if code != 200 {
			t.Fatalf("PUT: %d %s", code, b)
		}
		sent += len(b)
	}
	for range 2 {
		code, b := do(t, "GET", s.url+"/data/alice/m0", alice, nil)
		if code != 200 || len(b) != 1024 {
			t.Fatalf("GET: %d %d bytes", code, len(b))
		}
		sent += len(b)
	}
	code, b := do(t, "GET", s.url+"/data/alice/m0", "", nil)
	if code != 401 {
		t.Fatalf("GET without a token: %d", code)
	}
	sent += len(b)
	code, b = do(t, "GET", s.url+"/data/bob/m0", alice, nil)
	if code != 403 {
		t.Fatalf("GET outside the grants: %d", code)
	}
	sent += len(b)
	if code, b := do(t, "POST", s.url+vend.PresignPath, alice, strings.NewReader(`{"bucket":"data","key":"alice/m0"}`)); code != 200 {
		t.Fatalf("presign: %d %s", code, b)
	}
	if code, _ := do(t, "POST", s.url+vend.PresignPath, alice, strings.NewReader(`{"bucket":"data","key":"bob/m0"}`)); code != 403 {
		t.Fatalf("presign denied: %d", code)
	}
	for range 2 { // the second is answered from the scoped cache
		if code, b := do(t, "POST", s.url+vend.STSPath, alice, strings.NewReader(`{"bucket":"data","prefix":"alice/"}`)); code != 200 {
			t.Fatalf("sts: %d %s", code, b)
		}
	}
	after := scrape(t, admin)

	delta := func(name string, labels ...string) float64 {
		return sample(after, name, labels...) - max(sample(before, name, labels...), 0)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ossproxy_requests_total", []string{"method=PUT", "status_class=2xx", "bucket=data", "auth_mode=jwt"}, 3},
		{"ossproxy_requests_total", []string{"method=GET", "status_class=2xx", "bucket=data", "auth_mode=jwt"}, 2},
		{"ossproxy_requests_total", []string{"method=GET", "status_class=4xx"}, 2},
		{"ossproxy_requests_total", []string{"method=POST"}, 4},
		{"ossproxy_requests_total", nil, 11},
		{"ossproxy_request_duration_seconds", nil, 11},
		{"ossproxy_request_duration_seconds", []string{"method=PUT", "status_class=2xx"}, 3},
		{"ossproxy_time_to_first_byte_seconds", []string{"method=GET"}, 4},
		{"ossproxy_received_bytes_total", []string{"bucket=data"}, 3 * 1024},
		{"ossproxy_sent_bytes_total", []string{"bucket=data"}, float64(sent)},
		{"ossproxy_auth_failures_total", []string{"stage=authenticate", "code=InvalidToken.Missing"}, 1},
		{"ossproxy_auth_failures_total", []string{"stage=authorize"}, 1},
		{"ossproxy_upstream_requests_total", []string{"status_class=2xx"}, 5},
		{"ossproxy_upstream_response_seconds", nil, 5},
		{"ossproxy_presigns_total", []string{"bucket=data", "result=ok"}, 1},
		{"ossproxy_presigns_total", []string{"bucket=data", "result=denied"}, 1},
		{"ossproxy_sts_vends_total", []string{"result=ok"}, 1},
		{"ossproxy_sts_vends_total", []string{"result=cached"}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := sample(after, "ossproxy_credentials_valid"); v != 1 {
		t.Errorf("ossproxy_credentials_valid = %v", v)
	}
	if v := sample(after, "ossproxy_token_cache_misses_total"); v < 1 {
		t.Errorf("ossproxy_token_cache_misses_total = %v, want the JWT verified at least once", v)
	}
	for _, name := range []string{"ossproxy_build_info", "go_goroutines", "process_resident_memory_bytes"} {
		if sample(after, name) < 0 {
			t.Errorf("%s not exported", name)
		}
	}
}

// TestServeReload reloads the configuration file through the hook SIGHUP
// uses: a file with an error is refused with its file:line and the old
// policy keeps applying; a good file's policy, access keys and JWT issuer
// key apply to the next request; an upload streaming through the reloads
// completes.
func TestServeReload(t *testing.T) {
	reload := make(chan struct{})
	s := startServe(t, serveOpts{hooks: &appHooks{Reload: reload}})
	orig, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	alice := mint(t, jwt.MapClaims{"sub": "alice"})
	put := func(key string) int {
		code, _ := do(t, "PUT", s.url+"/data/"+key, alice, strings.NewReader("x"))
		return code
	}
	if put("alice/r1") != 200 || put("alice2/r1") != 403 {
		t.Fatal("initial policy not in force")
	}

	// An upload in flight across both reloads.
	data := randomBytes(4 << 20)
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s.url+"/data/alice/inflight.bin", pr)
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+alice)
	inflight := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			inflight <- 0
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	if _, err := pw.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	s.upstreamKeyOf(t, "PUT", "/data/alice/inflight.bin")

	write := func(text string) {
		if err := os.WriteFile(s.cfg, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A bad file: an unknown action in the first rule.
	bad := strings.Replace(string(orig), "actions: [read, list, write, delete]", "actions: [read, fly]", 1)
	badLine := 1 + strings.Count(bad[:strings.Index(bad, "actions: [read, fly]")], "\n")
	write(strings.Replace(bad, "prefixes: [alice/]", "prefixes: [alice2/]", 1))
	reload <- struct{}{}
	s.waitLog(t, "configuration reload refused; the running configuration stays in force", 0)
	rec := s.logs.records("configuration reload refused; the running configuration stays in force")[0]
	if want := s.cfg + ":" + strconv.Itoa(badLine) + ":"; !strings.Contains(rec["error"].(string), want) {
		t.Fatalf("refusal %q does not name %s", rec["error"], want)
	}
	if put("alice/r2") != 200 || put("alice2/r2") != 403 {
		t.Fatal("a refused reload changed the policy")
	}

	// A good file: alice moves to alice2/, and a new access key appears.
	const newID, newSecret = "LTAIreloaded00001", "reloaded-secret-value-0001"
	good := strings.Replace(string(orig), "prefixes: [alice/]", "prefixes: [alice2/]", 1)
	good = strings.Replace(good, "access_key_ids: ["+tKeyID+"]", "access_key_ids: ["+tKeyID+", "+newID+"]", 1)
	good = strings.Replace(good, "  access_keys:\n", "  access_keys:\n    - id: "+newID+"\n      secret: "+newSecret+"\n      principal: reloaded\n", 1)
	c := sdkV2(s.url, "", newID, newSecret, oss.SignatureVersionV4)
	putKey := func() error {
		_, err := c.PutObject(t.Context(), &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("app/reloaded.txt"), Body: strings.NewReader("k")})
		return err
	}
	if err := putKey(); err == nil {
		t.Fatal("the new access key works before the reload")
	}
	write(good)
	reload <- struct{}{}
	s.waitLog(t, "configuration reloaded", 0)
	if took, ok := s.logs.records("configuration reloaded")[0]["took"].(float64); ok {
		t.Logf("reload (read, validate, build authenticator and policy, swap) took %s", time.Duration(took))
	} else {
		t.Error("the reload log record has no duration")
	}
	if put("alice/r3") != 403 || put("alice2/r3") != 200 {
		t.Fatal("the reloaded policy does not apply to the next request")
	}
	if err := putKey(); err != nil {
		t.Fatalf("the reloaded access key: %v", err)
	}

	// Rotate the issuer's HMAC key: old tokens stop working, new ones work.
	const newHMAC = "rotated-hmac-secret-0123456789abcdef"
	write(strings.Replace(good, "hmac_secret: ${HMAC}", "hmac_secret: "+newHMAC, 1))
	reload <- struct{}{}
	s.waitLog(t, "configuration reloaded", 1)
	if code := put("alice2/r4"); code != 401 {
		t.Fatalf("a token signed with the old key after the rotation: %d", code)
	}
	rotated, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": tIssuer, "aud": tAudience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(newHMAC))
	if err != nil {
		t.Fatal(err)
	}
	if code, b := do(t, "PUT", s.url+"/data/alice2/r4", rotated, strings.NewReader("x")); code != 200 {
		t.Fatalf("a token signed with the new key: %d %s", code, b)
	}

	if _, err := pw.Write(data[len(data)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-inflight; code != 200 {
		t.Fatalf("upload in flight across the reloads: %d", code)
	}
	if sum, _ := s.cloud.OSS.ObjectSHA256("data", "alice/inflight.bin"); sum != sha256Hex(data) {
		t.Fatalf("upload in flight stored with sha256 %q", sum)
	}
	if logs := s.logs.String(); strings.Contains(logs, newHMAC) || strings.Contains(logs, newSecret) {
		t.Error("a reloaded secret is in the log")
	}
	const restart = "configuration changes that need a restart were not applied"
	if len(s.logs.records(restart)) != 0 {
		t.Error("a policy and auth change was reported as needing a restart")
	}
	// A change reload does not apply is applied nowhere, and said so.
	write(strings.Replace(string(orig), "  level: debug", "  level: warn", 1))
	reload <- struct{}{}
	s.waitLog(t, restart, 0)
	if got := s.logs.records(restart)[0]["sections"]; fmt.Sprint(got) != "[logging]" {
		t.Errorf("sections needing a restart: %v, want [logging]", got)
	}
	if len(s.logs.records("configuration reloaded")) != 3 {
		t.Error("the logging change was not logged at the old level: the logger was replaced")
	}
}

// TestCheckConfigOpsSections: check-config reports bad admin and vend
// values with their file:line, and serve refuses a bad --admin-addr.
func TestCheckConfigOpsSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ops.yaml")
	text := good(t) + `admin:
  address: "127.0.0.1"
vend:
  presign:
    max_expiry: 200h
    proxy_url: https://proxy.example.com
    proxy_access_key: nope
  sts:
    max_duration: 5m
    rate_limit:
      burst: -1
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"check-config", "--config", path}, getenv, &out, &errOut)
	if exitCode(err) != 1 {
		t.Fatalf("exit %d: %v", exitCode(err), err)
	}
	want := []string{
		path + `:21: admin address "127.0.0.1" is not host:port`,
		path + `:24: max_expiry 200h0m0s is not between 1s and 168h`,
		path + `:26: proxy_access_key "nope" is not an id in auth.access_keys`,
		path + `:28: max_duration 5m0s is not whole seconds between 15m and 12h`,
		path + `:30: burst -1 must not be negative`,
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); len(got) != len(want) {
		t.Errorf("%d problems reported, want %d:\n%s", len(got), len(want), out.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("missing %q in:\n%s", w, out.String())
		}
	}

	goodPath := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(goodPath, []byte(good(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"serve", "--config", goodPath, "--admin-addr", "nonsense"}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `--admin-addr: `+goodPath+`: admin address "nonsense" is not host:port`) {
		t.Fatalf("serve --admin-addr nonsense: %v", err)
	}
}

// TestServeReadyzJWKS: with a JWKS issuer whose keys are unavailable at
// start, /readyz fails naming the jwks check (and only it); once the JWKS
// answer and a token makes the proxy fetch them, it passes and the token
// is accepted.
func TestServeReadyzJWKS(t *testing.T) {
	j := newJWKSFixture(t)
	j.mode.Store(jwksDown)
	s := startServe(t, serveOpts{edit: func(text string) string {
		return strings.Replace(text, "  token_query_param:", "    - issuer: "+rsaIssuer+"\n      audiences: ["+tAudience+"]\n      algorithms: [RS256]\n"+
			"      jwks_url: "+j.srv.URL+"/jwks.json\n      allow_insecure_http: true\n      min_refresh_interval: 10ms\n  token_query_param:", 1)
	}})
	admin := s.adminURL(t)
	readyz := func() (int, string) {
		code, b := do(t, "GET", admin+"/readyz", "", nil)
		return code, string(b)
	}
	// Wait until the credentials check passes, so only jwks can fail.
	var code int
	var body string
	if !waitFor(func() bool {
		code, body = readyz()
		return code == 200 || strings.Contains(body, "[+]credentials")
	}) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if code == 200 {
		t.Fatalf("/readyz passed without the JWKS: %s", body)
	}
	if !strings.Contains(body, "[-]jwks") || !strings.Contains(body, "[+]config") || strings.Count(body, "[-]") != 1 {
		t.Fatalf("/readyz: %s", body)
	}
	j.mode.Store(jwksUp)
	tok := j.sign(t, jwt.MapClaims{"sub": "root"}, nil)
	if !waitFor(func() bool { code, _ := do(t, "GET", s.url+"/data/?list-type=2", tok, nil); return code == 200 }) {
		t.Fatalf("the RS256 token is refused after the JWKS came up:\n%s", s.logs)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("/readyz after the JWKS were fetched: %d %s", code, body)
	}
}

// TestServeVendProxyKeyRotation: presigned URLs that point at the proxy
// are signed with the proxy-issued access key in force, so after the key's
// secret is rotated by a reload new URLs work and URLs signed with the old
// secret stop working.
func TestServeVendProxyKeyRotation(t *testing.T) {
	reload := make(chan struct{})
	s := startServe(t, serveOpts{
		extraConfig: "vend:\n  presign:\n    proxy_url: http://" + proxyHost + "\n    proxy_access_key: " + tKeyID + "\n",
		hooks:       &appHooks{Reload: reload},
	})
	root := mint(t, jwt.MapClaims{"sub": "root"})
	presignPut := func(key string) string {
		code, body := do(t, "POST", s.url+vend.PresignPath, root, strings.NewReader(`{"bucket":"data","key":"`+key+`","method":"PUT"}`))
		var pr vend.PresignResult
		if code != 200 || json.Unmarshal(body, &pr) != nil {
			t.Fatalf("presign: %d %s", code, body)
		}
		return pr.URL
	}
	hc := toProxy(s)
	use := func(u string) int {
		req, err := http.NewRequestWithContext(t.Context(), "PUT", u, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("PUT %s: %v", u, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	before := presignPut("app/before.txt")
	if code := use(before); code != 200 {
		t.Fatalf("URL before the rotation: %d", code)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(s.cfg), "key.secret"), []byte("rotated-proxy-app-secret-0002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	s.waitLog(t, "configuration reloaded", 0)
	if code := use(before); code != 403 {
		t.Fatalf("URL signed with the old secret after the rotation: %d", code)
	}
	if code := use(presignPut("app/after.txt")); code != 200 {
		t.Fatalf("URL presigned after the rotation: %d", code)
	}
}
