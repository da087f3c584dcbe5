package admin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ossproxy/ossproxy/admin"
	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
)

func get(t *testing.T, url string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// counting is a check that counts its calls and fails with err.
type counting struct {
	calls atomic.Int64
	err   error
}

func (c *counting) Check(context.Context) error { c.calls.Add(1); return c.err }

func serve(t *testing.T, o admin.Options) (*admin.Handler, string) {
	t.Helper()
	h, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func TestHealthzRunsNoCheckAndCallsNothingUpstream(t *testing.T) {
	var upstreamHits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { upstreamHits.Add(1) }))
	defer upstream.Close()
	tracker := admin.NewFetchTracker(nil)
	c := &counting{err: errors.New("down")}
	h, base := serve(t, admin.Options{Checks: []admin.Check{
		{Name: "dep", Checker: c},
		{Name: "jwks", Checker: tracker.JWKSFetched([]string{upstream.URL + "/jwks"}, 0)},
	}})
	h.SetDraining()
	for range 3 {
		status, body, hdr := get(t, base+"/healthz")
		if status != 200 || body != "ok\n" || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("healthz: %d %q", status, body)
		}
	}
	if c.calls.Load() != 0 || upstreamHits.Load() != 0 {
		t.Errorf("healthz ran %d checks and made %d upstream calls", c.calls.Load(), upstreamHits.Load())
	}
	// /readyz does run them, and a JWKS check never fetches by itself.
	if status, _, _ := get(t, base+"/readyz"); status != 503 || c.calls.Load() != 1 || upstreamHits.Load() != 0 {
		t.Errorf("readyz: %d, %d checks, %d upstream calls", status, c.calls.Load(), upstreamHits.Load())
	}
}

func TestReadyz(t *testing.T) {
	type result struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	tests := []struct {
		name     string
		config   bool
		creds    credentials.Stats
		drain    bool
		status   int
		failed   []string
		contains string
	}{
		{"all ready", true, credentials.Stats{Valid: true}, false, 200, nil, "readyz check passed"},
		{"config not loaded", false, credentials.Stats{Valid: true}, false, 503, []string{"config"}, "[-]config failed: not ready"},
		{"credentials failing", true, credentials.Stats{LastError: errors.New("sts: 403 NoPermission")}, false, 503,
			[]string{"credentials"}, "[-]credentials failed: no valid upstream credentials: not ready: last refresh: sts: 403 NoPermission"},
		{"draining", true, credentials.Stats{Valid: true}, true, 503, []string{"shutdown"}, "[-]shutdown failed: shutting down"},
		{"everything", false, credentials.Stats{}, true, 503, []string{"shutdown", "config", "credentials"}, "readyz check failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flag := new(admin.Flag)
			flag.Set(tc.config)
			creds := tc.creds
			h, base := serve(t, admin.Options{Checks: []admin.Check{
				{Name: "config", Checker: flag},
				{Name: "credentials", Checker: admin.CredentialsCheck(func() credentials.Stats { return creds })},
			}})
			if tc.drain {
				h.SetDraining()
			}
			if h.Draining() != tc.drain {
				t.Error("Draining disagrees")
			}
			status, body, _ := get(t, base+"/readyz")
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Errorf("text: %d\n%s", status, body)
			}
			for _, name := range []string{"shutdown", "config", "credentials"} {
				if !strings.Contains(body, "]"+name+" ") {
					t.Errorf("text omits check %s:\n%s", name, body)
				}
			}
			for _, jsonReq := range [][]string{{}, {"Accept", "application/json"}} {
				url := base + "/readyz"
				if len(jsonReq) == 0 {
					url += "?format=json"
				}
				status, body, hdr := get(t, url, jsonReq...)
				var doc struct {
					Status string   `json:"status"`
					Checks []result `json:"checks"`
				}
				if err := json.Unmarshal([]byte(body), &doc); err != nil || hdr.Get("Content-Type") != "application/json" {
					t.Fatalf("json: %v %q", err, body)
				}
				var failed []string
				for _, c := range doc.Checks {
					if !c.OK {
						failed = append(failed, c.Name)
						if c.Error == "" {
							t.Errorf("check %s failed without a reason", c.Name)
						}
					}
				}
				wantStatus := "ready"
				if tc.status != 200 {
					wantStatus = "unready"
				}
				if status != tc.status || doc.Status != wantStatus || len(doc.Checks) != 3 ||
					fmt.Sprint(failed) != fmt.Sprint(tc.failed) {
					t.Errorf("json: %d %s failed %v, want %d %v", status, doc.Status, failed, tc.status, tc.failed)
				}
			}
		})
	}
}

func TestReadyCheckTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := admin.New(admin.Options{CheckTimeout: 3 * time.Second, Checks: []admin.Check{
			{Name: "hangs", Checker: admin.CheckerFunc(func(ctx context.Context) error {
				<-ctx.Done()
				return fmt.Errorf("waiting: %w", ctx.Err())
			})},
			{Name: "fine", Checker: admin.CheckerFunc(func(context.Context) error { return nil })},
		}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, ok := h.Ready(t.Context())
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("readiness took %v, want the 3s check timeout", d)
		}
		if ok || res[1].Name != "hangs" || res[1].OK || !strings.Contains(res[1].Error, "deadline") || !res[2].OK {
			t.Errorf("results %+v", res)
		}
	})
}

func TestPprofOnlyWhenEnabled(t *testing.T) {
	paths := []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1"}
	for _, enabled := range []bool{false, true} {
		_, base := serve(t, admin.Options{Pprof: enabled})
		for _, p := range paths {
			status, _, _ := get(t, base+p)
			want := 404
			if enabled {
				want = 200
			}
			if status != want {
				t.Errorf("pprof %t %s: %d, want %d", enabled, p, status, want)
			}
		}
	}
}

func TestMetricsAndUnknownPaths(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ossproxy_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	_, base := serve(t, admin.Options{Gatherer: reg})
	status, body, _ := get(t, base+"/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := mfs["ossproxy_test_total"].GetMetric()[0].GetCounter().GetValue(); got != 3 {
		t.Errorf("counter %v", got)
	}
	// OpenMetrics on request.
	if _, body, hdr := get(t, base+"/metrics", "Accept", "application/openmetrics-text;version=1.0.0"); !strings.HasPrefix(hdr.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(body, "# EOF\n") {
		t.Errorf("openmetrics: %s", hdr.Get("Content-Type"))
	}
	_, base = serve(t, admin.Options{})
	for _, p := range []string{"/metrics", "/", "/data/key", "/healthz/x", "/debug/pprof/"} {
		if status, _, _ := get(t, base+p); status != 404 {
			t.Errorf("%s: %d, want 404", p, status)
		}
	}
	req, _ := http.NewRequest("POST", base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST /healthz: %d", resp.StatusCode)
	}
}

func TestNewRejectsBadChecks(t *testing.T) {
	ok := admin.CheckerFunc(func(context.Context) error { return nil })
	for _, cs := range [][]admin.Check{
		{{Name: "", Checker: ok}},
		{{Name: "a"}},
		{{Name: "a", Checker: ok}, {Name: "a", Checker: ok}},
		{{Name: "shutdown", Checker: ok}},
		{{Name: "two words", Checker: ok}},
	} {
		if _, err := admin.New(admin.Options{Checks: cs}); !errors.Is(err, admin.ErrInvalidCheck) {
			t.Errorf("%+v: %v", cs, err)
		}
	}
}

// jwksServer serves one RSA key as a JWK Set, or 503 while down.
func jwksServer(t *testing.T, key *rsa.PublicKey) (*httptest.Server, *atomic.Bool) {
	down := new(atomic.Bool)
	doc := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","n":%q,"e":%q}]}`,
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", 503)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, doc)
	}))
	t.Cleanup(srv.Close)
	return srv, down
}

// TestJWKSFetchedThroughAuth wires the tracker into a real
// auth.Authenticator: ready once auth has fetched the JWKS itself.
func TestJWKSFetchedThroughAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, down := range []bool{false, true} {
		t.Run(fmt.Sprintf("down=%t", down), func(t *testing.T) {
			srv, isDown := jwksServer(t, &key.PublicKey)
			isDown.Store(down)
			tracker := admin.NewFetchTracker(nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := auth.New(ctx, auth.Config{
				Issuers: []auth.IssuerConfig{{Issuer: "https://issuer.test", Audiences: []string{"ossproxy"},
					Algorithms: []string{"RS256"}, JWKSURL: srv.URL + "/jwks"}},
				HTTPClient: &http.Client{Transport: tracker, Timeout: 5 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			check := tracker.JWKSFetched([]string{srv.URL + "/jwks"}, 0)
			err = check.Check(t.Context())
			if down {
				if !errors.Is(err, admin.ErrNotReady) || !strings.Contains(err.Error(), srv.URL+"/jwks") {
					t.Fatalf("JWKS down: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("JWKS fetched by auth: %v", err)
			}
			isDown.Store(true) // later failures keep it ready
			if err := check.Check(t.Context()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJWKSFetchedDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	tracker := admin.NewFetchTracker(nil)
	check := tracker.JWKSFetched(nil, 1)
	fetch := func(path string) {
		resp, err := (&http.Client{Transport: tracker}).Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	fetch("/.well-known/openid-configuration")
	if err := check.Check(t.Context()); !errors.Is(err, admin.ErrNotReady) {
		t.Fatalf("after discovery only: %v", err)
	}
	fetch("/openid/v1/jwks")
	if err := check.Check(t.Context()); err != nil {
		t.Fatalf("after the JWKS: %v", err)
	}
}
