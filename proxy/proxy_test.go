package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/signer"
)

const testToken = "tok-abcdefghijklmnopqrstuvwxyz"

// testAuthn accepts "Authorization: Bearer testToken", the X-Proxy-Token
// header or the access_token query parameter.
var testAuthn = AuthenticatorFunc(func(_ context.Context, r *http.Request, _, _ string) (*Caller, error) {
	switch {
	case r.Header.Get("Authorization") == "Bearer "+testToken:
		return &Caller{Name: "tester", Mode: "jwt", StripHeaders: []string{"Authorization"}}, nil
	case r.Header.Get("X-Proxy-Token") == testToken:
		return &Caller{Name: "tester", Mode: "jwt", StripHeaders: []string{"X-Proxy-Token"}}, nil
	case r.URL.Query().Get("access_token") == testToken:
		return &Caller{Name: "tester", Mode: "jwt", StripQuery: []string{"access_token"}}, nil
	}
	return nil, errors.New("no token")
})

// prefixAuthz allows everything under "ok/" in bucket bkt, and bucket reads.
var prefixAuthz = AuthorizerFunc(func(_ context.Context, _ *Caller, a Action, bucket, key string) error {
	if bucket == "bkt" && (strings.HasPrefix(key, "ok/") || a == ActionBucketRead) {
		return nil
	}
	return errors.New("not under ok/")
})

type upstreamLog struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (u *upstreamLog) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("no upstream request")
	}
	return u.reqs[len(u.reqs)-1], u.body[len(u.body)-1]
}

func (u *upstreamLog) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

type fixture struct {
	h     *Handler
	proxy *httptest.Server
	up    *httptest.Server
	log   *upstreamLog
	logs  *e2etest.SyncBuffer
	creds *rotatingCreds
}

// newFixture starts an upstream that records requests and answers with
// handler (nil: 200 "upstream-body" with an x-oss-request-id), and a
// proxy in front of it. The bucket "bkt" is path-style, "vhost" is
// virtual-hosted under the name oss.test (dialled to the upstream).
func newFixture(t *testing.T, handler http.HandlerFunc, mutate func(*Options)) *fixture {
	t.Helper()
	f := &fixture{log: &upstreamLog{}, logs: &e2etest.SyncBuffer{}, creds: &rotatingCreds{}}
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Oss-Request-Id", "UPSTREAM-ID")
			io.WriteString(w, "upstream-body")
		}
	}
	f.up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.log.mu.Lock()
		f.log.reqs = append(f.log.reqs, r)
		f.log.body = append(f.log.body, b)
		f.log.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		handler(w, r)
	}))
	t.Cleanup(f.up.Close)
	upTransport := NewUpstreamTransport()
	upAddr := f.up.Listener.Addr().String()
	upTransport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, upAddr) // every upstream host is the test server
	}
	o := Options{
		Config: Config{Buckets: []BucketConfig{
			{Name: "bkt", Endpoint: f.up.URL, Region: "cn-test", AllowInsecureHTTP: true},
			{Name: "vhost", Endpoint: "http://oss.test", Region: "cn-test", AllowInsecureHTTP: true, AddressingStyle: VirtualHosted},
		}},
		Authenticator: testAuthn,
		Authorizer: AuthorizerFunc(func(ctx context.Context, c *Caller, a Action, bucket, key string) error {
			if bucket == "vhost" {
				return nil
			}
			return prefixAuthz(ctx, c, a, bucket, key)
		}),
		Credentials: f.creds,
		Signer:      fakeSign,
		Upstream:    upTransport,
		Logger:      slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.proxy = httptest.NewServer(h)
	t.Cleanup(f.proxy.Close)
	return f
}

// request is a request for target on the proxy with the test token.
func (f *fixture) request(method, target string, body io.Reader) *http.Request {
	req, _ := http.NewRequest(method, f.proxy.URL+target, body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}

func (f *fixture) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := f.proxy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestHandlerRewrite(t *testing.T) {
	f := newFixture(t, nil, nil)
	req := f.request(http.MethodPut, "/bkt/ok/a%20b.txt?x-oss-traffic-limit=800000&OSSAccessKeyId=AK&Signature=s&Expires=9&x-oss-signature=s4", strings.NewReader("hello"))
	req.Header.Set("Content-Md5", "XUFAKrxLKna5cZ2REBfFkg==")
	req.Header.Set("Content-Type", "text/x-weird; charset=latin1")
	req.Header.Set("X-Oss-Meta-Owner", "alice  bob")
	req.Header.Set("X-Oss-Security-Token", "client-token")
	req.Header.Set("X-Oss-Date", "20200101T000000Z")
	req.Header.Set("X-Oss-Content-Sha256", "abc")
	req.Header.Set("Cookie", "session=s3cr3t")
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("Connection", "X-Oss-Meta-Hop")
	req.Header.Set("X-Oss-Meta-Hop", "dropped")
	resp, body := f.do(t, req)
	if resp.StatusCode != 200 || string(body) != "upstream-body" || resp.Header.Get("X-Oss-Request-Id") != "UPSTREAM-ID" {
		t.Fatalf("response %d %q %v", resp.StatusCode, body, resp.Header)
	}
	up, upBody := f.log.last(t)
	if got, want := up.RequestURI, "/bkt/ok/a%20b.txt?x-oss-traffic-limit=800000"; got != want {
		t.Errorf("upstream URI %q, want %q", got, want)
	}
	if up.ContentLength != 5 || string(upBody) != "hello" {
		t.Errorf("upstream body %q length %d", upBody, up.ContentLength)
	}
	want := map[string]string{
		"Authorization":        "TEST AK1", // ours, from the signer
		"Content-Md5":          "XUFAKrxLKna5cZ2REBfFkg==",
		"Content-Type":         "text/x-weird; charset=latin1",
		"X-Oss-Meta-Owner":     "alice  bob",
		"X-Oss-Security-Token": "",
		"X-Oss-Date":           "",
		"X-Oss-Content-Sha256": "",
		"Cookie":               "",
		"X-Forwarded-Host":     "",
		"X-Forwarded-For":      "",
		"X-Oss-Meta-Hop":       "",
	}
	for k, v := range want {
		if got := up.Header.Get(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	if up.Host != f.up.Listener.Addr().String() {
		t.Errorf("upstream Host %q", up.Host)
	}
}

func TestHandlerCallerCredentialsStripped(t *testing.T) {
	f := newFixture(t, nil, nil)
	for _, tc := range []struct {
		name, target string
		header       string
		wantURI      string
	}{
		{"query token", "/bkt/ok/x?access_token=" + testToken + "&versionId=1", "", "/bkt/ok/x?versionId=1"},
		{"custom header", "/bkt/ok/x", "X-Proxy-Token", "/bkt/ok/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.proxy.URL+tc.target, nil)
			if tc.header != "" {
				req.Header.Set(tc.header, testToken)
			}
			if resp, _ := f.do(t, req); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			up, _ := f.log.last(t)
			if up.RequestURI != tc.wantURI {
				t.Errorf("upstream URI %q, want %q", up.RequestURI, tc.wantURI)
			}
			for k, v := range up.Header {
				if strings.Contains(strings.Join(v, ","), testToken) {
					t.Errorf("token forwarded in %s", k)
				}
			}
		})
	}
	if strings.Contains(f.logs.String(), testToken) {
		t.Error("token in the access log")
	}
}

func TestHandlerVirtualHostUpstream(t *testing.T) {
	f := newFixture(t, nil, nil)
	req := f.request(http.MethodGet, "/vhost/dir/k%2Bplus", nil)
	if resp, _ := f.do(t, req); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	up, _ := f.log.last(t)
	if up.Host != "vhost.oss.test" || up.RequestURI != "/dir/k%2Bplus" {
		t.Errorf("upstream %s %s, want vhost.oss.test /dir/k%%2Bplus", up.Host, up.RequestURI)
	}
}

func TestHandlerStreaming(t *testing.T) {
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.ServeContent(w, r, "x", time.Time{}, bytes.NewReader(bytes.Repeat([]byte("0123456789"), 10000)))
		}
	}, nil)
	t.Run("chunked put streams", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for range 10 {
				pw.Write(bytes.Repeat([]byte("z"), 1000))
			}
			pw.Close()
		}()
		req := f.request(http.MethodPut, "/bkt/ok/chunked", pr)
		if resp, _ := f.do(t, req); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		up, body := f.log.last(t)
		if up.ContentLength != -1 || len(body) != 10000 {
			t.Errorf("upstream length %d, %d bytes", up.ContentLength, len(body))
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		req := f.request(http.MethodPut, "/bkt/ok/expect", strings.NewReader("payload"))
		req.Header.Set("Expect", "100-continue")
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, body := f.log.last(t)
		if resp.StatusCode != 200 || string(body) != "payload" {
			t.Errorf("status %d, upstream body %q", resp.StatusCode, body)
		}
	})
	t.Run("range", func(t *testing.T) {
		req := f.request(http.MethodGet, "/bkt/ok/big", nil)
		req.Header.Set("Range", "bytes=5-14")
		resp, body := f.do(t, req)
		if resp.StatusCode != 206 || string(body) != "5678901234" || resp.Header.Get("Content-Range") != "bytes 5-14/100000" {
			t.Errorf("%d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Range"))
		}
	})
	t.Run("large get keeps length", func(t *testing.T) {
		req := f.request(http.MethodGet, "/bkt/ok/big", nil)
		resp, body := f.do(t, req)
		if resp.ContentLength != 100000 || len(body) != 100000 {
			t.Errorf("length %d, %d bytes", resp.ContentLength, len(body))
		}
	})
}

func TestHandlerRefusals(t *testing.T) {
	f := newFixture(t, nil, nil)
	tests := []struct {
		name, method, target string
		auth                 bool
		status               int
		code                 string
	}{
		{"no credentials", "GET", "/bkt/ok/x", false, 401, "AccessDenied"},
		{"denied prefix", "GET", "/bkt/no/x", true, 403, "AccessDenied"},
		{"malformed before auth", "GET", "/bkt/%2e%2e/x", false, 400, "InvalidURI"},
		{"unlisted after auth", "GET", "/nope/x", false, 401, "AccessDenied"},
		{"unlisted", "GET", "/nope/x", true, 404, "NoSuchBucket"},
		{"unknown sub-resource", "GET", "/bkt/ok/x?torrent", true, 403, "AccessDenied"},
		{"reserved", "GET", "/_ossproxy/x", true, 404, "NotFound"},
		{"head denied", "HEAD", "/bkt/no/x", true, 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.log.count()
			req, _ := http.NewRequest(tc.method, f.proxy.URL+tc.target, nil)
			if tc.auth {
				req.Header.Set("Authorization", "Bearer "+testToken)
			}
			resp, body := f.do(t, req)
			if resp.StatusCode != tc.status || (tc.method != "HEAD" && !strings.Contains(string(body), "<Code>"+tc.code+"</Code>")) {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if id := resp.Header.Get("X-Oss-Request-Id"); len(id) != 24 || (tc.method != "HEAD" && !strings.Contains(string(body), id)) {
				t.Errorf("request id %q not in body", id)
			}
			if tc.method == "HEAD" && resp.Header.Get("X-Oss-Err") == "" {
				t.Error("HEAD error without x-oss-err")
			}
			if f.log.count() != before {
				t.Error("refused request reached the upstream")
			}
		})
	}
}

func TestHandlerUpstreamFailures(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	canceled := make(chan struct{}, 1)
	arrived := make(chan struct{}, 1)
	f := newFixture(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bkt/ok/slow":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/bkt/ok/cancel":
			arrived <- struct{}{}
			<-r.Context().Done() // the proxy must cancel us when its client leaves
			canceled <- struct{}{}
		}
	}, func(o *Options) {
		o.Upstream.(*http.Transport).ResponseHeaderTimeout = 200 * time.Millisecond
	})
	t.Run("timeout is 504", func(t *testing.T) {
		req := f.request(http.MethodGet, "/bkt/ok/slow", nil)
		resp, body := f.do(t, req)
		if resp.StatusCode != 504 || !strings.Contains(string(body), "GatewayTimeout") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("client disconnect cancels upstream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.proxy.URL+"/bkt/ok/cancel", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		done := make(chan struct{})
		go func() {
			defer close(done)
			resp, err := f.proxy.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
		<-arrived // the request is at the upstream
		cancel()
		<-done
		select {
		case <-canceled:
		case <-time.After(5 * time.Second):
			t.Fatal("upstream request not canceled")
		}
	})
	t.Run("unreachable is 502", func(t *testing.T) {
		g := newFixture(t, nil, func(o *Options) { o.Upstream = nil })
		g.up.Close()
		req := g.request(http.MethodGet, "/bkt/ok/x", nil)
		resp, body := g.do(t, req)
		if resp.StatusCode != 502 || !strings.Contains(string(body), "BadGateway") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("credentials unavailable is 503", func(t *testing.T) {
		g := newFixture(t, nil, func(o *Options) {
			o.Credentials = CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) {
				return signer.Credentials{}, errors.New("sts: throttled")
			}}
		})
		req := g.request(http.MethodGet, "/bkt/ok/x", nil)
		resp, body := g.do(t, req)
		if resp.StatusCode != 503 || strings.Contains(string(body), "throttled") || g.log.count() != 0 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestHandlerDeleteMultipleForwardsSameBytes(t *testing.T) {
	f := newFixture(t, nil, nil)
	body := deleteBody("ok/a", "ok/b")
	req := f.request(http.MethodPost, "/bkt/?delete", strings.NewReader(body))
	if resp, _ := f.do(t, req); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	up, got := f.log.last(t)
	if string(got) != body || up.ContentLength != int64(len(body)) {
		t.Errorf("upstream body %q (%d)", got, up.ContentLength)
	}
	req = f.request(http.MethodPost, "/bkt/?delete", strings.NewReader(deleteBody("ok/a", "no/b")))
	if resp, _ := f.do(t, req); resp.StatusCode != 403 {
		t.Errorf("one foreign key: status %d, want 403", resp.StatusCode)
	}
}

func TestHandlerAccessLog(t *testing.T) {
	f := newFixture(t, nil, nil)
	req := f.request(http.MethodGet, "/bkt/ok/logged", nil)
	f.do(t, req)
	line := f.logs.String()
	for _, want := range []string{`"principal":"tester"`, `"mode":"jwt"`, `"bucket":"bkt"`, `"key":"ok/logged"`, `"status":200`, `"bytes_out":13`, `"op":"GetObject"`, `"upstream_request_id":"UPSTREAM-ID"`} {
		if !strings.Contains(line, want) {
			t.Errorf("access log lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{testToken, "secret"} {
		if strings.Contains(line, secret) {
			t.Errorf("access log contains %q", secret)
		}
	}

	// Errors name no key: a deployment may hash the "key" attribute.
	f.logs.Reset()
	req = f.request(http.MethodGet, "/bkt/no/private-name", nil)
	f.do(t, req)
	var rec struct{ Key, Error string }
	if err := json.Unmarshal(f.logs.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Key != "no/private-name" || rec.Error == "" || strings.Contains(rec.Error, "private-name") {
		t.Errorf("denied request logged as %+v", rec)
	}
}

func TestNewOptions(t *testing.T) {
	base := Options{Config: testConfig(), Authenticator: testAuthn, Authorizer: prefixAuthz, Credentials: &rotatingCreds{}, Signer: fakeSign}
	for name, mutate := range map[string]func(*Options){
		"authenticator": func(o *Options) { o.Authenticator = nil },
		"authorizer":    func(o *Options) { o.Authorizer = nil },
		"credentials":   func(o *Options) { o.Credentials = nil },
		"signer":        func(o *Options) { o.Signer = nil },
	} {
		o := base
		mutate(&o)
		if _, err := New(o); !errors.Is(err, ErrMissingOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	o := base
	o.Config = Config{}
	if _, err := New(o); !errors.Is(err, ErrConfig) {
		t.Errorf("empty config: %v", err)
	}
}

func TestFilterQuery(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"", ""},
		{"acl", "acl"},
		{"prefix=a+b/&delimiter=%2F", "prefix=a%20b%2F&delimiter=%2F"},
		{"prefix=a%2Bb", "prefix=a%2Bb"},
		{"x-oss-process=image/resize,w_10", "x-oss-process=image%2Fresize%2Cw_10"},
		{"OSSAccessKeyId=AK&Expires=1&Signature=s&security-token=t&versionId=v", "versionId=v"},
		{"x-oss-credential=c&x-oss-signature=s&x-oss-date=d&x-oss-expires=1&x-oss-signature-version=v&x-oss-additional-headers=h&x-oss-security-token=t", ""},
		{"access_token=tok&uploads", "uploads"},
		{"acl=", "acl="},
	}
	for _, tc := range tests {
		if got := filterQuery(tc.raw, []string{"access_token"}); got != tc.want {
			t.Errorf("filterQuery(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestHandlerHeaderLimit(t *testing.T) {
	f := newFixture(t, nil, func(o *Options) { o.MaxHeaderBytes = 1024 })
	req := f.request(http.MethodGet, "/bkt/ok/x", nil)
	req.Header.Set("X-Oss-Meta-Big", strings.Repeat("m", 2048))
	resp, _ := f.do(t, req)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || f.log.count() != 0 {
		t.Errorf("status %d, %d upstream requests", resp.StatusCode, f.log.count())
	}
}

func TestHandlerAPI(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := CallerFromContext(r.Context())
		if !ok {
			http.Error(w, "no caller", 500)
			return
		}
		w.Header().Set("X-Test-Request-Id", RequestIDFromContext(r.Context()))
		io.WriteString(w, c.Name+" "+r.URL.Path)
	})
	f := newFixture(t, nil, func(o *Options) { o.API = api })
	req := f.request(http.MethodPost, "/_ossproxy/v1/presign", strings.NewReader("{}"))
	resp, body := f.do(t, req)
	if resp.StatusCode != 200 || string(body) != "tester /_ossproxy/v1/presign" || len(resp.Header.Get("X-Test-Request-Id")) != 24 {
		t.Errorf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodPost, f.proxy.URL+"/_ossproxy/v1/presign", nil)
	if resp, _ := f.do(t, req); resp.StatusCode != 401 {
		t.Errorf("unauthenticated API call: %d", resp.StatusCode)
	}
	if f.log.count() != 0 {
		t.Error("API requests reached the upstream")
	}
	if _, ok := CallerFromContext(context.Background()); ok || RequestIDFromContext(context.Background()) != "" {
		t.Error("caller outside a request")
	}
	if !strings.Contains(f.logs.String(), `"op":"API"`) {
		t.Error("API call not in the access log")
	}
}

// TestHandlerAuthorizerContext: the Authorizer's context carries the
// caller and the request id, as CallerFromContext documents.
func TestHandlerAuthorizerContext(t *testing.T) {
	var got struct {
		sync.Mutex
		caller string
		id     string
	}
	f := newFixture(t, nil, func(o *Options) {
		next := o.Authorizer
		o.Authorizer = AuthorizerFunc(func(ctx context.Context, c *Caller, a Action, bucket, key string) error {
			got.Lock()
			if cc, ok := CallerFromContext(ctx); ok {
				got.caller = cc.Name
			}
			got.id = RequestIDFromContext(ctx)
			got.Unlock()
			return next.Authorize(ctx, c, a, bucket, key)
		})
	})
	req := f.request(http.MethodGet, "/bkt/ok/x", nil)
	resp, _ := f.do(t, req)
	got.Lock()
	defer got.Unlock()
	if resp.StatusCode != 200 || got.caller == "" || len(got.id) != 24 || !strings.Contains(f.logs.String(), `"request_id":"`+got.id+`"`) {
		t.Fatalf("status %d, caller %q, request id %q", resp.StatusCode, got.caller, got.id)
	}
}

func TestBufferPool(t *testing.T) {
	p := newBufferPool()
	b := p.Get()
	if len(b) != bufSize {
		t.Fatalf("len %d", len(b))
	}
	p.Put(b)
	p.Put(make([]byte, 10)) // foreign buffers are dropped
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { p.Put(p.Get()) }); n != 0 {
		t.Errorf("Get+Put allocates %v times", n)
	}
}

// TestHandlerUnixSocket serves the proxy on a unix socket, as for a
// sidecar, and sends a request through it.
func TestHandlerUnixSocket(t *testing.T) {
	f := newFixture(t, nil, nil)
	sock := t.TempDir() + "/ossproxy.sock"
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	srv := &http.Server{Handler: f.h}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "http://sidecar/bkt/ok/x", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "upstream-body" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}
