package metrics

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/proxy"
)

func newTest(t testing.TB, o Options) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o.Registry = reg
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestLabelSets(t *testing.T) {
	if ossCodes[codeOther] != "other" || ossCodes[codeNone] != "none" || ossCodes[codeTransport] != "transport" ||
		len(ossCodes) != codeTransport+1 {
		t.Fatalf("ossCodes indexes drifted: %q %q %q", ossCodes[codeOther], ossCodes[codeNone], ossCodes[codeTransport])
	}
	if modeLabels[modeNone] != "none" || upstreamClassLabels[upstreamFailed] != "error" ||
		authCodes[len(authCodes)-1] != "other" {
		t.Fatal("label indexes drifted")
	}
	// Every auth error code documented by package auth has its own label.
	for _, err := range []error{auth.ErrTokenMissing, auth.ErrTokenMalformed, auth.ErrTokenTooLarge,
		auth.ErrTokenExpired, auth.ErrTokenNotYetValid, auth.ErrTokenIssuer, auth.ErrTokenAudience,
		auth.ErrTokenSignature, auth.ErrTokenAlgorithm, auth.ErrTokenUnknownKey, auth.ErrTokenClaims,
		auth.ErrAnonymousNotAllowed, auth.ErrInvalidAccessKeyID, auth.ErrSignatureMismatch,
		auth.ErrRequestExpired, auth.ErrRequestTimeSkewed, auth.ErrDenied} {
		if c := auth.ErrorCode(err); authCodeIndex(c) == len(authCodes)-1 {
			t.Errorf("auth code %q maps to other", c)
		}
	}
	tests := []struct {
		method string
		status int
		mode   string
		want   [3]int
	}{
		{"GET", 200, "jwt", [3]int{0, 1, 0}},
		{"get", 0, "accesskey", [3]int{6, 1, 1}},
		{"PROPFIND", 101, "anonymous", [3]int{6, 0, 2}},
		{"DELETE", 599, "", [3]int{4, 4, modeNone}},
		{"OPTIONS", 600, "x", [3]int{5, 5, 4}},
		{"POST", 99, "jwt", [3]int{3, 5, 0}},
	}
	for _, tc := range tests {
		got := [3]int{methodIndex(tc.method), classIndex(tc.status), modeIndex(tc.mode)}
		if got != tc.want {
			t.Errorf("%s %d %q → %v, want %v", tc.method, tc.status, tc.mode, got, tc.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); !errors.Is(err, ErrNoRegistry) {
		t.Errorf("no registry: %v", err)
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{Registry: reg})
	if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
		t.Errorf("second registration: %v", err)
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.ObserveRequest(Request{Method: "GET"})
	m.AuthFailed(true, "AccessDenied")
	m.UpstreamResponse(500, "InternalError", time.Second)
	m.Presigned("b", 200)
	m.Vended(200, true)
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fromContext(r.Context()) == nil {
			t.Error("no exchange in the context")
		}
		w.WriteHeader(204)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 204 {
		t.Errorf("status %d", rec.Code)
	}
}

// TestCardinalityIsBounded sends hostile label values and checks the
// number of series stays within the fixed sets.
func TestCardinalityIsBounded(t *testing.T) {
	m, reg := newTest(t, Options{Buckets: []string{"a", "b"}})
	for i := range 2000 {
		m.ObserveRequest(Request{
			Method: fmt.Sprintf("M%d", i), Status: 100 + i%700, Bucket: fmt.Sprintf("bucket-%d", i),
			AuthMode: fmt.Sprintf("mode-%d", i), BytesIn: 1, BytesOut: 1, Duration: time.Millisecond,
		})
		m.AuthFailed(i%2 == 0, fmt.Sprintf("Code%d", i))
		m.UpstreamResponse(400+i%100, fmt.Sprintf("Code%d", i), time.Millisecond)
		m.Presigned(fmt.Sprintf("bucket-%d", i), 200)
	}
	tests := []struct {
		name string
		max  int
	}{
		{"ossproxy_requests_total", 6 * 1 * 1}, // other method × classes 1xx..5xx+other × other bucket × other mode
		{"ossproxy_request_duration_seconds", 6},
		{"ossproxy_received_bytes_total", 1},
		{"ossproxy_auth_failures_total", 2},
		{"ossproxy_upstream_errors_total", 1},
		{"ossproxy_presigns_total", 1},
	}
	for _, tc := range tests {
		n, err := testutil.GatherAndCount(reg, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n > tc.max {
			t.Errorf("%s has %d series, want 1..%d", tc.name, n, tc.max)
		}
	}
	if got := testutil.ToFloat64(m.presigns.at(m.bucketIndex("x") * len(resultLabels))); got != 2000 {
		t.Errorf("presigns{bucket=other} = %v", got)
	}
}

func TestScrapeTimeCollectors(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	stats := credentials.Stats{
		Source: "rrsa", Expires: now.Add(90 * time.Second), Valid: true,
		LastRefresh: now.Add(-time.Minute), Refreshes: 3, Failures: 2, LastError: errors.New("x"),
	}
	m, reg := newTest(t, Options{
		Now:         func() time.Time { return now },
		Credentials: func() credentials.Stats { return stats },
		TokenCache:  func() auth.CacheStats { return auth.CacheStats{Hits: 7, Misses: 2, Len: 2} },
	})
	_ = m
	want := fmt.Sprintf(`
# HELP ossproxy_credentials_expiry_seconds Seconds until the cached upstream credentials expire (negative: expired; absent: they never expire or none are cached).
# TYPE ossproxy_credentials_expiry_seconds gauge
ossproxy_credentials_expiry_seconds 90
# HELP ossproxy_credentials_last_refresh_timestamp_seconds Unix time of the last successful upstream credential refresh.
# TYPE ossproxy_credentials_last_refresh_timestamp_seconds gauge
ossproxy_credentials_last_refresh_timestamp_seconds %d
# HELP ossproxy_credentials_refresh_failures_total Failed upstream credential refreshes.
# TYPE ossproxy_credentials_refresh_failures_total counter
ossproxy_credentials_refresh_failures_total 2
# HELP ossproxy_credentials_refreshes_total Successful upstream credential refreshes.
# TYPE ossproxy_credentials_refreshes_total counter
ossproxy_credentials_refreshes_total 3
# HELP ossproxy_credentials_valid 1 if valid upstream credentials are cached, else 0.
# TYPE ossproxy_credentials_valid gauge
ossproxy_credentials_valid 1
# HELP ossproxy_token_cache_entries Tokens in the verified-token cache.
# TYPE ossproxy_token_cache_entries gauge
ossproxy_token_cache_entries 2
# HELP ossproxy_token_cache_hits_total Verified-token cache hits.
# TYPE ossproxy_token_cache_hits_total counter
ossproxy_token_cache_hits_total 7
# HELP ossproxy_token_cache_misses_total Verified-token cache misses.
# TYPE ossproxy_token_cache_misses_total counter
ossproxy_token_cache_misses_total 2
`, now.Add(-time.Minute).Unix())
	names := []string{"ossproxy_credentials_expiry_seconds", "ossproxy_credentials_last_refresh_timestamp_seconds",
		"ossproxy_credentials_refresh_failures_total", "ossproxy_credentials_refreshes_total", "ossproxy_credentials_valid",
		"ossproxy_token_cache_entries", "ossproxy_token_cache_hits_total", "ossproxy_token_cache_misses_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Static credentials never expire: no expiry series, still valid.
	stats = credentials.Stats{Source: "static", Valid: true}
	if n, _ := testutil.GatherAndCount(reg, "ossproxy_credentials_expiry_seconds", "ossproxy_credentials_last_refresh_timestamp_seconds"); n != 0 {
		t.Errorf("%d expiry series for credentials that never expire", n)
	}
}

func TestUpstreamErrorCodes(t *testing.T) {
	xmlErr := func(code string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>m</Message></Error>`
	}
	tests := []struct {
		name   string
		status int
		body   string
		header string // x-oss-err
		err    error
		code   string // label value
	}{
		{"ok", 200, "hello", "", nil, ""},
		{"no such key", 404, xmlErr("NoSuchKey"), "", nil, "NoSuchKey"},
		{"unknown code", 403, xmlErr("BrandNewCode"), "", nil, "other"},
		{"head", 404, "", base64.StdEncoding.EncodeToString([]byte(xmlErr("NoSuchKey"))), nil, "NoSuchKey"},
		{"not xml", 502, "<html>bad gateway</html>", "", nil, "none"},
		{"large body", 500, xmlErr("InternalError") + strings.Repeat(" ", 10000), "", nil, "InternalError"},
		{"transport", 0, "", "", errors.New("connection refused"), "transport"},
		// The client's doing, not OSS's: not counted as upstream failures.
		{"client body broken", 0, "", "", fmt.Errorf("reading request body: %w: %w", proxy.ErrIncompleteBody, io.ErrUnexpectedEOF), ""},
		{"client body stalled", 0, "", "", proxy.ErrRequestTimeout, ""},
		{"client gone", 0, "", "", context.Canceled, ""},
		// A cancellation that is not the request's own still counts.
		{"canceled elsewhere", 0, "", "", fmt.Errorf("dial: %w", context.Canceled), "transport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTest(t, Options{})
			rt := m.Upstream(roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if tc.err != nil {
					return nil, tc.err
				}
				h := http.Header{}
				if tc.header != "" {
					h.Set("X-Oss-Err", tc.header)
				}
				return &http.Response{StatusCode: tc.status, Header: h, Body: io.NopCloser(strings.NewReader(tc.body)),
					ContentLength: int64(len(tc.body))}, nil
			}))
			ex := &exchange{}
			req := httptest.NewRequest("GET", "http://oss/b/k", nil)
			ctx, cancel := context.WithCancel(context.WithValue(req.Context(), exchangeKey{}, ex))
			defer cancel()
			if tc.name == "client gone" {
				cancel()
			}
			req = req.WithContext(ctx)
			resp, err := rt.RoundTrip(req)
			if tc.err != nil {
				if err == nil {
					t.Fatal("error lost")
				}
			} else {
				got, _ := io.ReadAll(resp.Body)
				if string(got) != tc.body {
					t.Errorf("body changed: %d bytes, want %d", len(got), len(tc.body))
				}
			}
			for i, c := range ossCodes {
				want := 0.0
				if c == tc.code {
					want = 1
				}
				if got := testutil.ToFloat64(m.upErrors.at(i)); got != want {
					t.Errorf("upstream_errors{code=%s} = %v, want %v", c, got, want)
				}
			}
			wantFailed := 0.0
			if tc.code == "transport" {
				wantFailed = 1
			}
			if got := testutil.ToFloat64(m.upstream.at(upstreamFailed)); got != wantFailed {
				t.Errorf("upstream failures = %v, want %v", got, wantFailed)
			}
			if tc.status >= 400 && ex.upstreamStatus != tc.status {
				t.Errorf("exchange status %d", ex.upstreamStatus)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAuthObservers(t *testing.T) {
	m, _ := newTest(t, Options{Buckets: []string{"b"}})
	authn := m.Authenticator(proxy.AuthenticatorFunc(func(_ context.Context, r *http.Request, _, _ string) (*proxy.Caller, error) {
		if r.Header.Get("X-Fail") != "" {
			return nil, auth.ErrTokenExpired
		}
		return &proxy.Caller{Name: "alice", Mode: "jwt"}, nil
	}))
	authz := m.Authorizer(proxy.AuthorizerFunc(func(context.Context, *proxy.Caller, proxy.Action, string, string) error {
		return errors.New("no rule")
	}))
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := authn.Authenticate(r.Context(), r, "b", "k")
		if err == nil {
			err = authz.Authorize(r.Context(), c, proxy.ActionRead, "b", "k")
		}
		w.WriteHeader(403)
	}))
	for _, fail := range []string{"1", ""} {
		r := httptest.NewRequest("GET", "/b/k", nil)
		r.Header.Set("X-Fail", fail)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := testutil.ToFloat64(m.authFail.at(stageAuthn*len(authCodes) + authCodeIndex("InvalidToken.Expired"))); got != 1 {
		t.Errorf("authenticate/InvalidToken.Expired = %v", got)
	}
	if got := testutil.ToFloat64(m.authFail.at(stageAuthz*len(authCodes) + authCodeIndex("AccessDenied"))); got != 1 {
		t.Errorf("authorize/AccessDenied = %v", got)
	}
	nb, nm, nc := len(m.bnames), len(modeLabels), len(classLabels)
	idx := func(mode int) int { return ((0*nc+3)*nb+0)*nm + mode }
	if got := testutil.ToFloat64(m.requests.at(idx(modeNone))); got != 1 {
		t.Errorf("GET 4xx b none = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.at(idx(0))); got != 1 {
		t.Errorf("GET 4xx b jwt = %v", got)
	}
}

// TestMiddlewareMeasures checks bytes both ways, time to first byte and
// duration with an injected clock, and that a panicking handler
// (http.ErrAbortHandler) is still counted.
func TestMiddlewareMeasures(t *testing.T) {
	var clock time.Time
	tick := func(d time.Duration) { clock = clock.Add(d) }
	m, reg := newTest(t, Options{Now: func() time.Time { return clock }, Buckets: []string{"b"}})
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ex := fromContext(r.Context()); ex != nil {
			ex.bucket = "b"
		}
		_, _ = io.Copy(io.Discard, r.Body)
		tick(2 * time.Second)
		w.WriteHeader(201)
		tick(3 * time.Second)
		_, _ = w.Write([]byte("12345"))
		http.NewResponseController(w).Flush()
		if r.Header.Get("X-Abort") != "" {
			panic(http.ErrAbortHandler)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/b/k", strings.NewReader("abcdefgh")))
	if !rec.Flushed {
		t.Error("Flush did not reach the underlying writer")
	}
	func() {
		defer func() { _ = recover() }()
		r := httptest.NewRequest("PUT", "/b/k", strings.NewReader("abcdefgh"))
		r.Header.Set("X-Abort", "1")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	want := `
# HELP ossproxy_received_bytes_total Request body bytes read from clients, by configured bucket.
# TYPE ossproxy_received_bytes_total counter
ossproxy_received_bytes_total{bucket="b"} 16
# HELP ossproxy_sent_bytes_total Response body bytes written to clients, by configured bucket.
# TYPE ossproxy_sent_bytes_total counter
ossproxy_sent_bytes_total{bucket="b"} 10
# HELP ossproxy_requests_in_flight Requests the proxy is serving now.
# TYPE ossproxy_requests_in_flight gauge
ossproxy_requests_in_flight 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ossproxy_received_bytes_total",
		"ossproxy_sent_bytes_total", "ossproxy_requests_in_flight"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.requests.at(((2*len(classLabels)+1)*len(m.bnames)+0)*len(modeLabels) + modeNone)); got != 2 {
		t.Errorf("PUT 2xx b none = %v", got)
	}
	// TTFB 2 s and duration 5 s, twice: sums of 4 and 10.
	for name, sum := range map[string]float64{"ossproxy_time_to_first_byte_seconds": 4, "ossproxy_request_duration_seconds": 10} {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == name {
				if got := mf.GetMetric()[0].GetHistogram().GetSampleSum(); got != sum {
					t.Errorf("%s sum = %v, want %v", name, got, sum)
				}
			}
		}
	}
}

func TestParseKeyLogging(t *testing.T) {
	tests := []struct {
		in   string
		want KeyLogging
		err  bool
	}{
		{"", KeyFull, false}, {"full", KeyFull, false}, {"hash", KeyHash, false}, {"none", KeyNone, false},
		{"FULL", "", true}, {"redact", "", true},
	}
	for _, tc := range tests {
		got, err := ParseKeyLogging(tc.in)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrInvalidOption)) {
			t.Errorf("ParseKeyLogging(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestAccessLogHandlerKeys(t *testing.T) {
	const key = "users/alice/passport.jpg"
	tests := []struct {
		keys     KeyLogging
		want     []string
		wantNot  []string
		exchange bool
	}{
		{KeyFull, []string{`"key":"users/alice/passport.jpg"`, `"ttfb":1500`, `"upstream_code":"NoSuchKey"`, `"bytes_in":42`}, nil, true},
		{KeyHash, []string{`"key":"` + hashKey(key) + `"`, `denied on b/` + hashKey(key)}, []string{"passport"}, true},
		{KeyNone, []string{`denied on b/<key>`}, []string{"passport", `"key"`}, true},
		{KeyHash, []string{`"key":"` + hashKey(key) + `"`}, []string{"passport", "ttfb"}, false},
		{KeyFull, []string{`"key":"users/alice/passport.jpg"`, `"bytes_in":0`}, []string{"ttfb"}, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%t", tc.keys, tc.exchange), func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(AccessLogHandler(slog.NewJSONHandler(&buf, nil), AccessLogOptions{Keys: tc.keys})).With("listener", "main")
			ctx := context.Background()
			if tc.exchange {
				ex := &exchange{ttfb: 1500, upstreamStatus: 404, upstreamCode: "NoSuchKey"}
				ex.body.n.Store(42)
				ctx = context.WithValue(ctx, exchangeKey{}, ex)
			}
			log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("bucket", "b"), slog.String("key", key),
				slog.Int64("bytes_in", 0), slog.String("error", "denied on b/"+key))
			log.InfoContext(ctx, "other record", "key", key)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines", len(lines))
			}
			for _, w := range tc.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("record lacks %s: %s", w, lines[0])
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(lines[0], w) {
					t.Errorf("record has %s: %s", w, lines[0])
				}
			}
			if !strings.Contains(lines[0], `"listener":"main"`) {
				t.Errorf("WithAttrs lost: %s", lines[0])
			}
			if !strings.Contains(lines[1], key) {
				t.Errorf("other records must pass unchanged: %s", lines[1])
			}
		})
	}
}

// TestAccessLogRedactsEncodedKeys: an error that names the key as an
// upstream URL does (percent-encoded) is redacted too.
func TestAccessLogRedactsEncodedKeys(t *testing.T) {
	const key = "users/alice/Befund Müller+1.pdf"
	tests := []struct {
		name, err string
	}{
		{"verbatim", "denied on b/" + key},
		{"path-encoded", `Put "http://oss.test/b/users/alice/Befund%20M%C3%BCller+1.pdf": connection reset`},
		{"segment-encoded", "upstream /b/users%2Falice%2FBefund%20M%C3%BCller+1.pdf failed"},
		{"query-encoded", "source /b/users%2Falice%2FBefund+M%C3%BCller%2B1.pdf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(AccessLogHandler(slog.NewJSONHandler(&buf, nil), AccessLogOptions{Keys: KeyHash}))
			log.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("key", key), slog.String("error", tc.err))
			out := buf.String()
			if strings.Contains(out, "Befund") || strings.Contains(out, "M%C3%BCller") {
				t.Fatalf("key in the record: %s", out)
			}
			if !strings.Contains(out, hashKey(key)) {
				t.Fatalf("no hash in the error: %s", out)
			}
		})
	}
}

func FuzzPeekErrorCode(f *testing.F) {
	f.Add([]byte(`<Error><Code>NoSuchKey</Code></Error>`), "")
	f.Add([]byte(""), base64.StdEncoding.EncodeToString([]byte(`<Error><Code>AccessDenied</Code></Error>`)))
	f.Add([]byte("<Error><Code>"), "!!!")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		resp := &http.Response{StatusCode: 403, Header: http.Header{"X-Oss-Err": {header}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
		code := proxy.PeekErrorCode(resp, maxErrorPeek)
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("body not restored: %q vs %q", got, body)
		}
		if i := ossCodeIndex(code); i < 0 || i >= len(ossCodes) {
			t.Fatalf("code %q has no label", code)
		}
	})
}

func TestVendResults(t *testing.T) {
	m, reg := newTest(t, Options{Buckets: []string{"photos"}})
	for _, c := range []struct {
		bucket string
		status int
	}{{"photos", 200}, {"photos", 200}, {"photos", 403}, {"photos", 401}, {"nope", 404}, {"photos", 429}, {"", 503}, {"photos", 400}} {
		m.Presigned(c.bucket, c.status)
	}
	for _, c := range []struct {
		status int
		cached bool
	}{{200, false}, {200, true}, {200, true}, {403, true}, {503, false}} {
		m.Vended(c.status, c.cached)
	}
	want := `
# HELP ossproxy_presigns_total Presign API calls, by configured bucket and result (ok, denied, invalid, throttled, error).
# TYPE ossproxy_presigns_total counter
ossproxy_presigns_total{bucket="none",result="error"} 1
ossproxy_presigns_total{bucket="other",result="invalid"} 1
ossproxy_presigns_total{bucket="photos",result="denied"} 2
ossproxy_presigns_total{bucket="photos",result="invalid"} 1
ossproxy_presigns_total{bucket="photos",result="ok"} 2
ossproxy_presigns_total{bucket="photos",result="throttled"} 1
# HELP ossproxy_sts_vends_total STS vend API calls, by result (ok, cached: ok without an STS call, denied, invalid, throttled, error).
# TYPE ossproxy_sts_vends_total counter
ossproxy_sts_vends_total{result="cached"} 2
ossproxy_sts_vends_total{result="denied"} 1
ossproxy_sts_vends_total{result="error"} 1
ossproxy_sts_vends_total{result="ok"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ossproxy_presigns_total", "ossproxy_sts_vends_total"); err != nil {
		t.Error(err)
	}
}
