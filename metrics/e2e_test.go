package metrics_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/internal/e2etest/wire"
	"github.com/ossproxy/ossproxy/metrics"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// A proxy-issued access key for clients that sign OSS requests.
const (
	proxyKeyID     = e2etest.ProxyKeyID
	proxyKeySecret = e2etest.ProxyKeySecret
)

// testIssuer is the JWT issuer the environment's auth trusts.
func testIssuer() e2etest.Issuer {
	return e2etest.Issuer{URL: "https://issuer.test", Audience: "ossproxy", Secret: []byte("metrics-hmac-secret-0123456789abcdef")}
}

// sentLog records every request a test client sends to the proxy, so a
// test can collect the secrets they carried.
type sentLog struct {
	mu   sync.Mutex
	reqs []*http.Request
	base http.RoundTripper
}

func (s *sentLog) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Clone(context.Background()))
	s.mu.Unlock()
	return s.base.RoundTrip(r)
}

// secrets returns the credentials, signatures and tokens the recorded
// requests carried.
func (s *sentLog) secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.reqs {
		if a := r.Header.Get("Authorization"); a != "" {
			switch {
			case strings.HasPrefix(a, "Bearer "):
				out = append(out, strings.TrimPrefix(a, "Bearer "))
			case strings.Contains(a, "Signature="):
				_, sig, _ := strings.Cut(a, "Signature=")
				out = append(out, sig)
			default: // OSS ak:sig
				_, sig, _ := strings.Cut(a, ":")
				out = append(out, sig)
			}
		}
		q := r.URL.Query()
		for _, k := range []string{"access_token", "Signature", "x-oss-signature", "security-token"} {
			if v := q.Get(k); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

type env struct {
	cloud    *osstest.Cloud
	proxyURL string
	logs     *e2etest.SyncBuffer
	reg      *prometheus.Registry
	m        *metrics.Metrics
	sent     *sentLog
	hc       *http.Client
	tokens   map[string]string
}

func newEnv(t testing.TB, keys metrics.KeyLogging) *env {
	t.Helper()
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other"}})
	logs := &e2etest.SyncBuffer{}
	base := slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	logger := slog.New(metrics.AccessLogHandler(base, metrics.AccessLogOptions{Keys: keys}))
	a := wire.NewAuthenticator(t, testIssuer(), cloud.Region, logger)
	pol, err := auth.NewPolicy([]auth.Rule{
		{Name: "alice", Subjects: []string{"alice"}, Buckets: []string{"data"}, Prefixes: []string{"alice/"},
			Actions: []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite, auth.ActionDelete}},
		{Name: "bob", AccessKeyIDs: []string{proxyKeyID}, Buckets: []string{"data"}, Prefixes: []string{"bob/"},
			Actions: []auth.Action{auth.ActionRead, auth.ActionWrite}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{
		Registry: reg, Buckets: []string{"data", "other"}, TokenCache: a.CacheStats, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{
		{Name: "data", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true},
		{Name: "other", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true},
	}}
	h, err := proxy.New(proxy.Options{
		Config:        cfg,
		Authenticator: m.Authenticator(wire.Authenticator(a)),
		Authorizer:    m.Authorizer(wire.Authorizer(pol)),
		Credentials:   wire.Static(creds),
		Signer:        proxy.NewOSSSigner(cfg),
		Upstream:      m.Upstream(proxy.NewUpstreamTransport()),
		Logger:        logger,
		Now:           cloud.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Middleware(h))
	t.Cleanup(srv.Close)
	sent := &sentLog{base: http.DefaultTransport}
	e := &env{cloud: cloud, proxyURL: srv.URL, logs: logs, reg: reg, m: m, sent: sent,
		hc: &http.Client{Transport: sent}, tokens: map[string]string{}}
	for _, sub := range []string{"alice", "mallory"} {
		e.tokens[sub] = testIssuer().Mint(t, sub, time.Hour)
	}
	return e
}

// do sends one request to the proxy and returns the status and the
// response body length.
func (e *env) do(t testing.TB, method, target, token string, body []byte, chunked bool) (int, int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // hides the length: chunked encoding
		}
	}
	req, err := http.NewRequest(method, e.proxyURL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, int(n)
}

// sdk returns an SDK-v2 client that signs with the proxy-issued key,
// with signature V4 or V1.
func (e *env) sdk(v1 bool) *oss.Client {
	cfg := oss.LoadDefaultConfig().WithRegion(e.cloud.Region).WithEndpoint(e.proxyURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(proxyKeyID, proxyKeySecret)).
		WithUsePathStyle(true).WithHttpClient(e.hc).WithRetryMaxAttempts(1)
	if v1 {
		cfg = cfg.WithSignatureVersion(oss.SignatureVersionV1)
	}
	return oss.NewClient(cfg)
}

// traffic sends a mix of allowed, refused and failing requests, with
// JWTs in headers and query strings and OSS signatures in headers and
// presigned URLs, and returns the bytes uploaded and downloaded.
func (e *env) traffic(t *testing.T) (in, out int) {
	t.Helper()
	body := make([]byte, 10_000)
	_, _ = rand.Read(body)
	alice := e.tokens["alice"]
	steps := []struct {
		method, target, token string
		body                  []byte
		chunked               bool
		status                int
	}{
		{"PUT", "/data/alice/a.bin", alice, body, false, 200},
		{"PUT", "/data/alice/chunked.bin", alice, body, true, 200},
		{"GET", "/data/alice/a.bin", alice, nil, false, 200},
		{"GET", "/data/alice/a.bin?access_token=" + url.QueryEscape(alice), "", nil, false, 200},
		{"HEAD", "/data/alice/a.bin", alice, nil, false, 200},
		{"GET", "/data/alice/missing", alice, nil, false, 404},     // upstream NoSuchKey
		{"HEAD", "/data/alice/missing", alice, nil, false, 404},    // upstream NoSuchKey in x-oss-err
		{"GET", "/data/bob/x", alice, nil, false, 403},             // policy
		{"GET", "/data/alice/a.bin", "", nil, false, 401},          // no credential
		{"GET", "/data/alice/a.bin", "not.a.jwt", nil, false, 401}, // malformed
		{"GET", "/nosuchbucket/k", alice, nil, false, 404},         // unknown bucket
		{"GET", "/data/alice/a.bin?access_token=junk-token-0123456789", "", nil, false, 401},
		{"PATCH", "/data/alice/a.bin", alice, nil, false, 0}, // odd method
	}
	for _, s := range steps {
		status, n := e.do(t, s.method, s.target, s.token, s.body, s.chunked)
		if s.status != 0 && status != s.status {
			t.Errorf("%s %s: status %d, want %d", s.method, s.target, status, s.status)
		}
		if status == 200 {
			in += len(s.body)
			out += n
		}
	}
	// OSS V4 and V1 header signatures (SDK) and presigned URLs, with the
	// proxy-issued access key.
	ctx := t.Context()
	for _, v1 := range []bool{false, true} {
		c := e.sdk(v1)
		if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("bob/k"), Body: bytes.NewReader(body[:1000])}); err != nil {
			t.Fatalf("SDK put (v1 %t): %v", v1, err)
		}
		in += 1000
		pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("bob/k")})
		if err != nil {
			t.Fatal(err)
		}
		status, n := e.do(t, "GET", strings.TrimPrefix(pr.URL, e.proxyURL), "", nil, false)
		if status != 200 || n != 1000 {
			t.Fatalf("presigned GET (v1 %t): %d, %d bytes", v1, status, n)
		}
		out += n
		if _, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/a.bin")}); err == nil {
			t.Fatal("bob read alice's object")
		}
	}
	return in, out
}

// scrape fetches /metrics over HTTP and parses the text format.
func scrape(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// sum adds the values of a family's series whose labels include want.
func sum(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	total := 0.0
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func TestScrapeAfterMixedTraffic(t *testing.T) {
	e := newEnv(t, metrics.KeyFull)
	in, out := e.traffic(t)
	mfs := scrape(t, e.reg)

	type L = map[string]string
	checks := []struct {
		name   string
		labels L
		want   float64
	}{
		{"ossproxy_requests_total", L{"method": "PUT", "status_class": "2xx", "bucket": "data", "auth_mode": "jwt"}, 2},
		{"ossproxy_requests_total", L{"method": "PUT", "status_class": "2xx", "bucket": "data", "auth_mode": "accesskey"}, 2},
		{"ossproxy_requests_total", L{"method": "GET", "status_class": "2xx", "bucket": "data", "auth_mode": "jwt"}, 2},
		{"ossproxy_requests_total", L{"method": "GET", "status_class": "2xx", "bucket": "data", "auth_mode": "accesskey"}, 2},
		{"ossproxy_requests_total", L{"method": "HEAD", "status_class": "4xx", "bucket": "data"}, 1},
		{"ossproxy_requests_total", L{"status_class": "4xx", "auth_mode": "none"}, 3},
		{"ossproxy_requests_total", L{"bucket": "other", "status_class": "4xx"}, 1}, // /nosuchbucket
		{"ossproxy_requests_total", L{"method": "other"}, 1},                        // PATCH
		{"ossproxy_requests_total", nil, 19},
		{"ossproxy_request_duration_seconds", nil, 19},
		{"ossproxy_time_to_first_byte_seconds", nil, 19},
		{"ossproxy_received_bytes_total", L{"bucket": "data"}, float64(in)},
		{"ossproxy_sent_bytes_total", L{"bucket": "data"}, 0}, // checked below: ≥ out
		{"ossproxy_upstream_errors_total", L{"code": "NoSuchKey"}, 2},
		{"ossproxy_auth_failures_total", L{"stage": "authenticate", "code": "InvalidToken.Malformed"}, 2},
		{"ossproxy_auth_failures_total", L{"stage": "authorize", "code": "AccessDenied"}, 3},
		{"ossproxy_requests_in_flight", nil, 0},
		{"ossproxy_build_info", L{"version": "test"}, 1},
	}
	for _, c := range checks {
		if c.name == "ossproxy_sent_bytes_total" {
			continue
		}
		if got := sum(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Bodies of successful GETs, plus the error documents of refusals.
	if got := sum(mfs, "ossproxy_sent_bytes_total", L{"bucket": "data"}); got < float64(out) {
		t.Errorf("sent bytes %v < %d downloaded", got, out)
	}
	if got := sum(mfs, "ossproxy_auth_failures_total", nil); got < 5 {
		t.Errorf("auth failures %v, want ≥ 5 (missing, 2 malformed, 2 denied)", got)
	}
	if got := sum(mfs, "ossproxy_upstream_requests_total", L{"status_class": "2xx"}); got != 9 {
		t.Errorf("upstream 2xx = %v, want 9", got)
	}
	if got := sum(mfs, "ossproxy_token_cache_hits_total", nil); got < 1 {
		t.Errorf("token cache hits = %v, want ≥ 1", got)
	}
	// The histogram buckets are cumulative and end with the count.
	for _, m := range mfs["ossproxy_request_duration_seconds"].GetMetric() {
		h := m.GetHistogram()
		bs := h.GetBucket()
		if bs[len(bs)-1].GetCumulativeCount() > h.GetSampleCount() || h.GetSampleSum() < 0 {
			t.Errorf("histogram %v is inconsistent", m.GetLabel())
		}
	}
	t.Logf("in %d out %d; %d families", in, out, len(mfs))
}

func TestAccessLogCarriesNoSecrets(t *testing.T) {
	e := newEnv(t, metrics.KeyHash)
	e.traffic(t)
	logs := e.logs.String()
	secrets := e.sent.secrets()
	secrets = append(secrets, proxyKeySecret, string(testIssuer().Secret), e.cloud.Admin.AccessKeySecret, e.tokens["mallory"])
	for _, r := range e.cloud.Recorder.Requests(osstest.EndpointOSS) {
		if a := r.Header.Get("Authorization"); a != "" {
			secrets = append(secrets, a[strings.LastIndexAny(a, ":=")+1:]) // upstream signature
		}
	}
	if len(secrets) < 20 {
		t.Fatalf("only %d secrets collected: the grep would prove little", len(secrets))
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("secret %q too short to grep for", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("log contains a secret (%d chars, starts %.4s…)", len(s), s)
		}
	}
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "alice/a.bin") {
			t.Log(line)
		}
	}
	for _, s := range []string{"Bearer", "access_token", "alice/a.bin"} {
		if strings.Contains(logs, s) {
			t.Errorf("log contains %q", s)
		}
	}
	// The fields the access log must carry.
	for _, field := range []string{`"request_id":`, `"principal":"alice"`, `"mode":"jwt"`, `"mode":"accesskey"`,
		`"bucket":"data"`, `"key":"sha256:`, `"method":"PUT"`, `"status":404`, `"bytes_in":10000`,
		`"bytes_out":`, `"duration":`, `"ttfb":`, `"upstream_request_id":`, `"upstream_code":"NoSuchKey"`} {
		if !strings.Contains(logs, field) {
			t.Errorf("log lacks %s", field)
		}
	}
	// The chunked upload has no Content-Length; bytes_in is what was read.
	n := 0
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"method":"PUT"`) &&
			strings.Contains(line, `"bytes_in":10000`) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d PUT records with bytes_in 10000, want 2 (plain and chunked)", n)
	}
}
