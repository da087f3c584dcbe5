package proxy_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ossproxy/ossproxy/metrics"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// hardenLogs collects JSON log records and wakes a waiter on each one.
type hardenLogs struct {
	mu   sync.Mutex
	recs []map[string]any
	wake chan struct{}
}

func (l *hardenLogs) Write(p []byte) (int, error) {
	var rec map[string]any
	if err := json.Unmarshal(p, &rec); err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.recs = append(l.recs, rec)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *hardenLogs) requests() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, r := range l.recs {
		if r["msg"] == "request" {
			out = append(out, r)
		}
	}
	return out
}

// until waits (bounded by a 30 s hang guard) for cond, checking it
// again after each record.
func (l *hardenLogs) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("waited 30s for %s", what)
		}
	}
}

// emulated returns the results (OSS error code, "OK") of the emulator's
// finished requests with method and path, from its log.
func (l *hardenLogs) emulated(method, path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r["msg"] == "osstest request" && r["method"] == method && r["path"] == path {
			out = append(out, fmt.Sprint(r["result"]))
		}
	}
	return out
}

// waitRequest waits (bounded by a 30 s hang guard) for the access-log
// record after the first n and returns it.
func (l *hardenLogs) waitRequest(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if recs := l.requests(); len(recs) > n {
			return recs[n]
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("no access-log record after %d", n)
		}
	}
}

// hardenEnv is a real proxy listener, wrapped in metrics.Middleware as
// cmd/ossproxy wires it, in front of the osstest emulator. Every caller
// is allowed everything except keys under private/.
type hardenEnv struct {
	cloud *osstest.Cloud
	addr  string
	logs  *hardenLogs // the proxy's
	oss   *hardenLogs // the emulator's: one record per request it finished
	reg   *prometheus.Registry
}

func newHardenEnv(t *testing.T) *hardenEnv {
	t.Helper()
	oss := &hardenLogs{wake: make(chan struct{}, 1)}
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "open"},
		Logger: slog.New(slog.NewJSONHandler(oss, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	logs := &hardenLogs{wake: make(chan struct{}, 1)}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registry: reg, Buckets: []string{"data"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{
		{Name: "data", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true},
		{Name: "open", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true, AllowCallbacks: true},
	}}
	creds := signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}
	h, err := proxy.New(proxy.Options{
		Config: cfg,
		Authenticator: m.Authenticator(proxy.AuthenticatorFunc(func(context.Context, *http.Request, string, string) (*proxy.Caller, error) {
			return &proxy.Caller{Name: "tester", Mode: "jwt"}, nil
		})),
		Authorizer: proxy.AuthorizerFunc(func(_ context.Context, _ *proxy.Caller, _ proxy.Action, _, key string) error {
			if strings.HasPrefix(key, "private/") {
				return errors.New("private/ is off limits")
			}
			return nil
		}),
		Credentials: proxy.CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:      proxy.NewOSSSigner(cfg),
		Logger:      logger,
		Now:         cloud.Clock.Now,
		// The default configuration's body idle bound, far from being hit.
		BodyTimeouts: proxy.BodyTimeouts{Idle: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Middleware(h))
	t.Cleanup(srv.Close)
	return &hardenEnv{cloud: cloud, addr: srv.Listener.Addr().String(), logs: logs, oss: oss, reg: reg}
}

// requests is ossproxy_requests_total summed by status class.
func (e *hardenEnv) requests(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "ossproxy_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[hardenLabel(m, "status_class")] += m.GetCounter().GetValue()
		}
	}
	return out
}

// counted waits (30 s hang guard) until ossproxy_requests_total has
// grown past before, and returns it: metrics.Middleware counts a request
// after the handler returns, which can be after the client has its
// answer and the access log its record.
func (e *hardenEnv) counted(t *testing.T, before map[string]float64) map[string]float64 {
	t.Helper()
	sum := func(m map[string]float64) (n float64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if after := e.requests(t); sum(after) > sum(before) || time.Now().After(deadline) {
			return after
		}
	}
}

func hardenLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// object is the stored body of key, or "" and false when there is none.
func (e *hardenEnv) object(t *testing.T, key string) (string, bool) {
	t.Helper()
	rc, err := e.cloud.OSS.OpenObject("data", key)
	if err != nil {
		return "", false
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

// upstreamPuts counts the PUTs of path the emulator received.
func (e *hardenEnv) upstreamPuts(path string) int {
	n := 0
	for _, r := range e.cloud.Recorder.Requests(osstest.EndpointOSS) {
		if p, _, _ := strings.Cut(r.URL, "?"); r.Method == http.MethodPut && p == path {
			n++
		}
	}
	return n
}

// settled waits until the emulator has finished every PUT of path it
// received and returns their results (OSS error codes, "OK" for a
// success), so what it stored can be checked.
func (e *hardenEnv) settled(t *testing.T, path string) []string {
	t.Helper()
	n := e.upstreamPuts(path)
	e.oss.until(t, fmt.Sprintf("the emulator to finish %d PUTs of %s", n, path), func() bool {
		return len(e.oss.emulated(http.MethodPut, path)) >= n
	})
	return e.oss.emulated(http.MethodPut, path)
}

// exchange writes raw on a new connection and reads one response.
func (e *hardenEnv) exchange(t *testing.T, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
	// The proxy may answer before it has read everything (and close):
	// write concurrently so a refused body cannot block the test.
	go func() { _, _ = io.WriteString(c, raw) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// hardenChunk frames p as one chunk.
func hardenChunk(p string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(p), p) }

// TestClientBodyErrors: a request body the client frames badly is the
// client's error, 400 IncompleteBody (OSS's code for a body that ended
// early), not an upstream failure (it used to be 502 BadGateway, logged
// as a warning and counted as 5xx). Nothing of it is stored: the object
// is absent or keeps its old content, even when most of the body had
// already reached OSS. Also for the bodies the proxy reads itself
// (DeleteMultipleObjects).
func TestClientBodyErrors(t *testing.T) {
	e := newHardenEnv(t)
	mib := strings.Repeat("x", 64<<10)
	var valid strings.Builder // 1 MiB of good chunks: OSS has the request when the bad one comes
	for range 16 {
		valid.WriteString(hardenChunk(mib))
	}
	tests := []struct {
		name, key, body string
		reachesOSS      bool // the body starts well: the upload is forwarded, then aborted
	}{
		{"chunk size not hex", "new1", "zz\r\nabc\r\n0\r\n\r\n", false},
		{"chunk size overflow", "new2", "ffffffffffffffff1\r\nabc\r\n0\r\n\r\n", false},
		{"chunk data longer than its size", "new3", "3\r\nabcdef\r\n0\r\n\r\n", false},
		{"bad chunk after 1 MiB", "new4", valid.String() + "3\r\nabcdef\r\n0\r\n\r\n", true},
		{"bad chunk after 1 MiB, existing object", "old", valid.String() + "zz\r\n", true},
	}
	if err := e.cloud.OSS.PutObject(t.Context(), "data", "old", strings.NewReader("old content")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logged := len(e.logs.requests())
			before := e.requests(t)
			raw := "PUT /data/" + tc.key + " HTTP/1.1\r\nHost: " + e.addr + "\r\nTransfer-Encoding: chunked\r\n\r\n" + tc.body
			resp, body := e.exchange(t, raw)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<Code>IncompleteBody</Code>") {
				t.Fatalf("got %d %s, want 400 IncompleteBody", resp.StatusCode, body)
			}
			rec := e.logs.waitRequest(t, logged)
			if rec["status"] != float64(400) || rec["level"] != "INFO" || !strings.Contains(fmt.Sprint(rec["error"]), "malformed or ended") {
				t.Errorf("access log: %v", rec)
			}
			if after := e.counted(t, before); after["4xx"] != before["4xx"]+1 || after["5xx"] != before["5xx"] {
				t.Errorf("requests_total by class: %v, then %v", before, after)
			}
			if tc.reachesOSS { // wait: the emulator may get it after the client got its answer
				e.oss.until(t, "the upload to reach the emulator", func() bool { return len(e.oss.emulated(http.MethodPut, "/data/"+tc.key)) > 0 })
			}
			for _, res := range e.settled(t, "/data/"+tc.key) {
				if res == "OK" {
					t.Error("the emulator accepted the aborted upload")
				}
			}
			got, ok := e.object(t, tc.key)
			switch {
			case tc.key == "old" && got != "old content":
				t.Errorf("the object changed to %d bytes", len(got))
			case tc.key != "old" && ok:
				t.Errorf("a partial object of %d bytes was stored", len(got))
			}
		})
	}

	t.Run("DeleteMultipleObjects body", func(t *testing.T) {
		n := len(e.cloud.Recorder.Requests(osstest.EndpointOSS))
		raw := "POST /data/?delete HTTP/1.1\r\nHost: " + e.addr + "\r\nTransfer-Encoding: chunked\r\n\r\n" + "5\r\n<Dele\r\nzz\r\n"
		resp, body := e.exchange(t, raw)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<Code>IncompleteBody</Code>") {
			t.Fatalf("got %d %s, want 400 IncompleteBody", resp.StatusCode, body)
		}
		if got := len(e.cloud.Recorder.Requests(osstest.EndpointOSS)); got != n {
			t.Errorf("%d upstream requests", got-n)
		}
	})

	t.Run("well-formed chunked body", func(t *testing.T) { // the framing above is right
		raw := "PUT /data/good HTTP/1.1\r\nHost: " + e.addr + "\r\nTransfer-Encoding: chunked\r\n\r\n" + valid.String() + "0\r\n\r\n"
		resp, body := e.exchange(t, raw)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		if got, _ := e.object(t, "good"); got != strings.Repeat(mib, 16) {
			t.Fatalf("stored %d bytes", len(got))
		}
	})
}

// TestClientDisconnectMidUpload: a client that leaves in the middle of
// its upload is not an upstream failure: the access log records status
// 499 (ClientClosedRequest) at debug level, ossproxy_requests_total
// counts it as 4xx, not 5xx, and nothing is stored.
func TestClientDisconnectMidUpload(t *testing.T) {
	e := newHardenEnv(t)
	for _, framing := range []string{"Content-Length: 4194304", "Transfer-Encoding: chunked"} {
		t.Run(framing, func(t *testing.T) {
			key := "left" + framing[:1]
			logged := len(e.logs.requests())
			before := e.requests(t)
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
			part := strings.Repeat("y", 1<<20)
			if framing[0] == 'T' {
				part = hardenChunk(part)
			}
			if _, err := io.WriteString(c, "PUT /data/"+key+" HTTP/1.1\r\nHost: "+e.addr+"\r\n"+framing+"\r\n\r\n"+part); err != nil {
				t.Fatal(err)
			}
			// Leave once the upload is on its way to OSS.
			for deadline := time.Now().Add(30 * time.Second); e.upstreamPuts("/data/"+key) == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the upload never reached the emulator")
				}
			}
			c.Close()
			rec := e.logs.waitRequest(t, logged)
			if rec["status"] != float64(proxy.StatusClientClosedRequest) || rec["level"] != "DEBUG" || !strings.Contains(fmt.Sprint(rec["error"]), "client closed") {
				t.Errorf("access log: %v", rec)
			}
			if after := e.counted(t, before); after["4xx"] != before["4xx"]+1 || after["5xx"] != before["5xx"] {
				t.Errorf("requests_total by class: %v, then %v", before, after)
			}
			if res := e.settled(t, "/data/"+key); len(res) != 1 || res[0] == "OK" {
				t.Errorf("the emulator finished the upload with %v", res)
			}
			if got, ok := e.object(t, key); ok {
				t.Errorf("a partial object of %d bytes was stored", len(got))
			}
		})
	}
}

// TestCallbackNamesAnyCase: an upload callback asked for with a query
// parameter or header name in another case (?Callback=, ?X-OSS-CALLBACK=,
// percent-encoded, x_oss_callback) is refused as a callback on a bucket
// without allow_callbacks, and never reaches OSS. (Before, such names were
// only refused by chance, as unknown sub-resources, and a header with
// '_' was forwarded.) On a bucket that allows callbacks they are
// forwarded like the canonical names.
func TestCallbackNamesAnyCase(t *testing.T) {
	e := newHardenEnv(t)
	cb := "eyJjYWxsYmFja1VybCI6Imh0dHA6Ly8xNjkuMjU0LjE2OS4yNTQvIn0" // {"callbackUrl":"http://169.254.169.254/"}
	tests := []struct {
		name, method, target, header string
	}{
		{"?Callback", "PUT", "/k?Callback=" + cb, ""},
		{"?CALLBACK-VAR", "PUT", "/k?CALLBACK-VAR=" + cb, ""},
		{"?X-OSS-CALLBACK", "PUT", "/k?X-OSS-CALLBACK=" + cb, ""},
		{"?x-Oss-Callback-Var", "PUT", "/k?x-Oss-Callback-Var=" + cb, ""},
		{"percent-encoded ?%43allback", "PUT", "/k?%43allback=" + cb, ""},
		{"bare ?cAllback", "PUT", "/k?cAllback", ""},
		{"CompleteMultipartUpload ?uploadId&Callback", "POST", "/k?uploadId=u1&Callback=" + cb, ""},
		{"header x-oss-callback", "PUT", "/k", "x-oss-callback: " + cb},
		{"header X-OSS-CALLBACK-VAR", "PUT", "/k", "X-OSS-CALLBACK-VAR: " + cb},
		{"header x_oss_callback", "PUT", "/k", "x_oss_callback: " + cb},
		{"header X_Oss_Callback_Var", "PUT", "/k", "X_Oss_Callback_Var: " + cb},
		{"empty header", "PUT", "/k", "X-Oss-Callback:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			head := "\r\n"
			if tc.header != "" {
				head = "\r\n" + tc.header + "\r\n"
			}
			raw := func(bucket string) string {
				return tc.method + " /" + bucket + tc.target + " HTTP/1.1\r\nHost: " + e.addr + head + "Content-Length: 3\r\n\r\nabc"
			}
			n := len(e.cloud.Recorder.Requests(osstest.EndpointOSS))
			resp, body := e.exchange(t, raw("data"))
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "upload callbacks are not enabled") {
				t.Fatalf("got %d %s, want 403: upload callbacks are not enabled", resp.StatusCode, body)
			}
			if got := len(e.cloud.Recorder.Requests(osstest.EndpointOSS)); got != n {
				t.Fatalf("%d upstream requests", got-n)
			}
			resp, body = e.exchange(t, raw("open")) // allow_callbacks: forwarded
			if strings.Contains(body, "upload callbacks are not enabled") || strings.Contains(body, "not supported by ossproxy") {
				t.Fatalf("opted-in bucket: %d %s", resp.StatusCode, body)
			}
			if got := len(e.cloud.Recorder.Requests(osstest.EndpointOSS)); got != n+1 {
				t.Fatalf("opted-in bucket: %d upstream requests, want 1", got-n)
			}
		})
	}
}

// TestWatermarkPipes: an x-oss-process value that pipes stages
// ("…|image/watermark,image_…") has every watermark image authorized as a
// read, whatever stage it is in, so a denied key never reaches OSS; a
// watermark before a pipe is parsed, not refused as undecodable; a sys/
// stage (saveas writes elsewhere) is refused on a read. Allowed values
// are forwarded.
func TestWatermarkPipes(t *testing.T) {
	e := newHardenEnv(t)
	if err := e.cloud.OSS.PutObject(t.Context(), "data", "pub/a.png", strings.NewReader("png")); err != nil {
		t.Fatal(err)
	}
	img := func(key string) string { return "image_" + base64.RawURLEncoding.EncodeToString([]byte(key)) }
	tests := []struct {
		name, process string
		status        int // 0: forwarded
		code          string
	}{
		{"denied watermark after a pipe", "image/resize,w_100|image/watermark," + img("private/x.png"), 403, "AccessDenied"},
		{"denied watermark before a pipe", "image/watermark," + img("private/x.png") + "|image/resize,w_10", 403, "AccessDenied"},
		{"allowed, then denied watermark", "image/watermark," + img("pub/logo.png") + "|image/watermark,g_se," + img("private/x.png"), 403, "AccessDenied"},
		{"watermark stage without a type", "image/resize,w_1|watermark," + img("private/x.png"), 403, "AccessDenied"},
		{"upper-case action after a pipe", "image/resize,w_1|IMAGE/WATERMARK,IMAGE_" + base64.RawURLEncoding.EncodeToString([]byte("private/x.png")), 403, "AccessDenied"},
		{"sys/saveas after a pipe", "image/resize,w_100|sys/saveas,o_" + base64.RawURLEncoding.EncodeToString([]byte("pub/out.png")) + ",b_ZGF0YQ", 400, "InvalidArgument"},
		{"SYS stage", "image/resize,w_100|SYS/saveas,o_eA", 400, "InvalidArgument"},
		{"allowed watermark before a pipe", "image/watermark," + img("pub/logo.png") + "|image/resize,w_10", 0, ""},
		{"pipe, no watermark", "image/resize,w_100|image/rotate,90", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.cloud.Recorder.Requests(osstest.EndpointOSS))
			raw := "GET /data/pub/a.png?x-oss-process=" + url.QueryEscape(tc.process) + " HTTP/1.1\r\nHost: " + e.addr + "\r\n\r\n"
			resp, body := e.exchange(t, raw)
			sent := len(e.cloud.Recorder.Requests(osstest.EndpointOSS)) - n
			if tc.status == 0 {
				if sent != 1 {
					t.Fatalf("%d upstream requests (answer %d %s), want it forwarded", sent, resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || sent != 0 {
				t.Fatalf("got %d %s with %d upstream requests, want %d %s and none", resp.StatusCode, body, sent, tc.status, tc.code)
			}
		})
	}
}

type hardenRoundTripFunc func(*http.Request) (*http.Response, error)

func (f hardenRoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCanceledUpstreamClientWaiting: a cancellation of the proxy's own
// while the client still waits (here the upstream transport returns
// context.Canceled) is answered 502 BadGateway in OSS XML; 499 is only
// recorded for a client that went away.
func TestCanceledUpstreamClientWaiting(t *testing.T) {
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{{Name: "data", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}}}
	creds := signer.Credentials{AccessKeyID: "LTAI5tHardenTestKey", AccessKeySecret: "harden-test-secret"}
	h, err := proxy.New(proxy.Options{
		Config: cfg,
		Authenticator: proxy.AuthenticatorFunc(func(context.Context, *http.Request, string, string) (*proxy.Caller, error) {
			return &proxy.Caller{Name: "tester", Mode: "jwt"}, nil
		}),
		Authorizer:  proxy.AuthorizerFunc(func(context.Context, *proxy.Caller, proxy.Action, string, string) error { return nil }),
		Credentials: proxy.CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return creds, nil }},
		Signer:      proxy.NewOSSSigner(cfg),
		Upstream: hardenRoundTripFunc(func(*http.Request) (*http.Response, error) {
			return nil, fmt.Errorf("dialing: %w", context.Canceled)
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/data/k")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "<Code>BadGateway</Code>") {
		t.Fatalf("got %d %s, want 502 BadGateway", resp.StatusCode, b)
	}
}
