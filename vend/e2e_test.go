package vend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/internal/alioss"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/vend"
)

const testIssuer = "https://idp.test"

// principalKey carries the test's caller in the request context, where
// the proxy would put the authenticated one.
type principalKey struct{}

func principalOf(ctx context.Context) (*auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*auth.Principal)
	return p, ok
}

func principal(name string) *auth.Principal {
	return &auth.Principal{Name: name, Mode: auth.ModeJWT, Issuer: testIssuer, Subject: name}
}

// countingSource wraps the signing credentials cache and counts retrievals
// and invalidations.
type countingSource struct {
	*credentials.Cache
	retrieves, invalidates atomic.Int64
}

func (c *countingSource) Retrieve(ctx context.Context) (credentials.Credentials, error) {
	c.retrieves.Add(1)
	return c.Cache.Retrieve(ctx)
}

func (c *countingSource) Invalidate(stale credentials.Credentials) {
	c.invalidates.Add(1)
	c.Cache.Invalidate(stale)
}

type env struct {
	cloud   *osstest.Cloud
	svc     *vend.Service
	api     *httptest.Server
	signing *countingSource
}

// newEnv starts the emulator and a vend Service whose presigned URLs and
// vended credentials point at it directly (not through the proxy). URLs
// are signed with credentials from the fake STS (AssumeRole for
// signingDuration) through the real credentials.STSClient.
func newEnv(t *testing.T, signingDuration time.Duration, mutate func(*vend.Options)) *env {
	t.Helper()
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"bkt"}})
	hc := cloud.CA.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	sts, err := credentials.NewSTSClient(credentials.STSConfig{Endpoint: cloud.STSEndpoint, Region: cloud.Region, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	admin := credentials.NewStatic(cloud.Admin.AccessKeyID, cloud.Admin.AccessKeySecret, "")
	role, err := credentials.NewAssumeRole(admin, sts, credentials.AssumeRoleInput{RoleARN: cloud.Role.ARN, SessionName: "presign", Duration: signingDuration})
	if err != nil {
		t.Fatal(err)
	}
	cache := credentials.NewCache(role, credentials.CacheOptions{Now: cloud.Clock.Now})
	t.Cleanup(func() { _ = cache.Close() })
	if _, err := cache.Retrieve(t.Context()); err != nil { // warm: its STS call is not the tests'
		t.Fatal(err)
	}
	signing := &countingSource{Cache: cache}
	pol, err := auth.NewPolicy([]auth.Rule{
		{Name: "home", Issuers: []string{testIssuer}, Buckets: []string{"bkt"}, Prefixes: []string{"users/${sub}/"},
			Actions: []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite, auth.ActionDelete}},
		{Name: "shared", Issuers: []string{testIssuer}, Buckets: []string{"bkt"}, Prefixes: []string{"shared/"},
			Actions: []auth.Action{auth.ActionRead}},
	})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := strings.Replace(cloud.OSSURL, "127.0.0.1", "localhost", 1) // ali-oss presigns only for host names
	opts := vend.Options{
		Buckets:     []vend.Bucket{{Name: "bkt", Region: cloud.Region, Endpoint: endpoint}},
		Policy:      pol,
		Principal:   principalOf,
		Credentials: signing,
		STS:         &vend.STSOptions{RoleARN: cloud.Role.ARN, Base: admin, Client: sts},
		MaxExpiry:   24 * time.Hour,
		Now:         cloud.Clock.Now,
	}
	if mutate != nil {
		mutate(&opts)
	}
	svc, err := vend.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name := r.Header.Get("X-Test-Principal"); name != "" {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, principal(name)))
		}
		svc.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	return &env{cloud: cloud, svc: svc, api: api, signing: signing}
}

// call POSTs body to path as caller and decodes the JSON answer into out.
func (e *env) call(t *testing.T, caller, path, body string, out any) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.api.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if caller != "" {
		req.Header.Set("X-Test-Principal", caller)
	}
	resp, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return resp.StatusCode, resp.Header
}

type apiError struct {
	Code, Message string
	RequestID     string `json:"request_id"`
}

// presignAnswer is the presign API's JSON answer as a client reads it. The
// field names are restated here, not taken from vend.PresignResult, so
// that renaming one on the wire fails these tests.
type presignAnswer struct {
	URL           string            `json:"url"`
	Method        string            `json:"method"`
	HeadersToSend map[string]string `json:"headers_to_send"`
	ExpiresAt     time.Time         `json:"expires_at"`
	ExpiresIn     int64             `json:"expires_in"`
	Capped        bool              `json:"capped"`
	CappedReason  string            `json:"capped_reason"`
	apiError
}

// callOK calls path as caller and fails the test unless the answer is
// 200; it returns the answer decoded as an A.
func callOK[A any](t *testing.T, e *env, caller, path, body string) A {
	t.Helper()
	var a A
	if st, _ := e.call(t, caller, path, body, &a); st != http.StatusOK {
		t.Fatalf("%s %s: %d %+v", path, body, st, a)
	}
	return a
}

func (e *env) presign(t *testing.T, caller, body string) presignAnswer {
	t.Helper()
	return callOK[presignAnswer](t, e, caller, vend.PresignPath, body)
}

// seed stores body at key in bucket bkt, unsigned.
func (e *env) seed(t *testing.T, key, body string) {
	t.Helper()
	if err := e.cloud.OSS.PutObject(t.Context(), "bkt", key, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

// curl runs the real curl binary and returns the status and body.
func curl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	st, body, _ := curlHeaders(t, args...)
	return st, body
}

// curlHeaders is curl that also returns the response headers.
func curlHeaders(t *testing.T, args ...string) (int, string, http.Header) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	dir := t.TempDir()
	out, hdr := filepath.Join(dir, "body"), filepath.Join(dir, "headers")
	cmd := exec.CommandContext(t.Context(), "curl", append([]string{"-sS", "-g", "-o", out, "-D", hdr, "-w", "%{http_code}"}, args...)...)
	code, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	body, _ := os.ReadFile(out)
	raw, _ := os.ReadFile(hdr)
	h := http.Header{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	st, _ := strconv.Atoi(string(code))
	return st, string(body), h
}

func TestPresignWithCurl(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	// Frozen, so that the test's Now is the signing time: a running clock
	// may pass a second boundary between the presign and the check.
	e.cloud.Clock.Set(e.cloud.Clock.Now())
	const key = "users/alice/a b+c~(1)&x=y ü.txt"
	e.seed(t, key, "hello")
	for _, version := range []string{"v4", "v1"} {
		t.Run(version, func(t *testing.T) {
			get := e.presign(t, "alice", `{"bucket":"bkt","key":"`+key+`","expires":60,"version":"`+version+`",
				"response":{"content-disposition":"attachment; filename=a.txt"}}`)
			if get.Capped || get.ExpiresIn != 60 || get.Method != "GET" || !get.ExpiresAt.Equal(e.cloud.Clock.Now().Truncate(time.Second).Add(time.Minute)) {
				t.Fatalf("answer %+v", get)
			}
			st, body, h := curlHeaders(t, get.URL)
			if st != 200 || body != "hello" || h.Get("Content-Disposition") != "attachment; filename=a.txt" {
				t.Fatalf("GET: %d %q, Content-Disposition %q", st, body, h.Get("Content-Disposition"))
			}

			upKey := "users/alice/up-" + version + ".txt"
			put := e.presign(t, "alice", `{"bucket":"bkt","key":"`+upKey+`","method":"PUT","expires":"5m","version":"`+version+`",
				"headers":{"content-type":"text/plain","x-oss-meta-origin":"curl"}}`)
			if put.HeadersToSend["Content-Type"] != "text/plain" || put.HeadersToSend["X-Oss-Meta-Origin"] != "curl" {
				t.Fatalf("headers to send %v", put.HeadersToSend)
			}
			file := filepath.Join(t.TempDir(), "up")
			if err := os.WriteFile(file, []byte("uploaded by curl"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"-T", file}
			for k, v := range put.HeadersToSend {
				args = append(args, "-H", k+": "+v)
			}
			if st, body := curl(t, append(args, put.URL)...); st != 200 {
				t.Fatalf("PUT: %d %s", st, body)
			}
			rc, err := e.cloud.OSS.OpenObject("bkt", upKey)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "uploaded by curl" {
				t.Fatalf("stored %q", got)
			}
			// Without the signed header the same URL is refused.
			if st, body := curl(t, "-T", file, put.URL); st != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
				t.Fatalf("PUT without signed headers: %d %s", st, body)
			}
		})
	}
}

func TestPresignExpires(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	e.seed(t, "users/alice/x", "x")
	for _, version := range []string{"v4", "v1"} {
		a := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"2m","version":"`+version+`"}`)
		if st, _ := curl(t, a.URL); st != 200 {
			t.Fatalf("%s: fresh URL: %d", version, st)
		}
		e.cloud.Clock.Advance(2*time.Minute + time.Second)
		if st, body := curl(t, a.URL); st != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
			t.Fatalf("%s: expired URL: %d %s", version, st, body)
		}
	}
}

func TestPresignDenied(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	before := len(e.cloud.Recorder.Requests(osstest.EndpointOSS))
	retrieves := e.signing.retrieves.Load()
	tests := []struct {
		name, caller, body string
		status             int
		code               string
	}{
		{"another user's key", "bob", `{"bucket":"bkt","key":"users/alice/x"}`, 403, "AccessDenied"},
		{"write where only read is granted", "alice", `{"bucket":"bkt","key":"shared/x","method":"PUT"}`, 403, "AccessDenied"},
		{"delete outside the prefix", "alice", `{"bucket":"bkt","key":"users/alicex/y","method":"DELETE"}`, 403, "AccessDenied"},
		{"unknown bucket", "alice", `{"bucket":"other","key":"users/alice/x"}`, 404, "NoSuchBucket"},
		{"no caller", "", `{"bucket":"bkt","key":"users/alice/x"}`, 401, "AccessDenied"},
		{"malformed", "alice", `{"bucket":"bkt","key":`, 400, "InvalidArgument"},
		{"copy source smuggled in a header", "alice", `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"x-oss-copy-source":"/bkt/users/bob/secret"}}`, 400, "InvalidArgument"},
		{"object ACL without the acl action", "alice", `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"x-oss-object-acl":"public-read"}}`, 403, "AccessDenied"},
		{"bucket ACL header without the acl action", "alice", `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"X-OSS-ACL":"public-read-write"}}`, 403, "AccessDenied"},
		{"upload callback", "alice", `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"x-oss-callback":"eyJjYWxsYmFja1VybCI6Imh0dHA6Ly9ldmlsIn0="}}`, 403, "AccessDenied"},
		{"upload callback variables", "alice", `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"x-oss-callback-var":"e30="}}`, 403, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a presignAnswer
			st, h := e.call(t, tt.caller, vend.PresignPath, tt.body, &a)
			if st != tt.status || a.Code != tt.code || a.URL != "" || a.RequestID == "" || a.RequestID != h.Get("X-Oss-Request-Id") {
				t.Fatalf("got %d %+v, want %d %s and no URL", st, a, tt.status, tt.code)
			}
		})
	}
	if n := e.signing.retrieves.Load() - retrieves; n != 0 {
		t.Errorf("refused requests retrieved signing credentials %d times", n)
	}
	if n := len(e.cloud.Recorder.Requests(osstest.EndpointOSS)) - before; n != 0 {
		t.Errorf("refused requests reached OSS %d times", n)
	}
	var a apiError
	req, _ := http.NewRequest(http.MethodGet, e.api.URL+vend.PresignPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || a.Code != "MethodNotAllowed" {
		t.Fatalf("GET: %d %+v", resp.StatusCode, a)
	}
	if st, _ := e.call(t, "alice", "/_ossproxy/v1/other", `{}`, &a); st != 404 || a.Code != "NotFound" {
		t.Fatalf("unknown path: %d %+v", st, a)
	}
}

func TestPresignCapped(t *testing.T) {
	e := newEnv(t, time.Hour, func(o *vend.Options) { o.MaxExpiry = 7 * 24 * time.Hour })
	e.seed(t, "users/alice/x", "x")
	// The signing credentials live one hour: a two-hour URL would break
	// after one, so it is capped at the credentials' remaining life.
	a := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"2h"}`)
	creds, err := e.signing.Cache.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Capped || !strings.Contains(a.CappedReason, "remaining lifetime of the signing credentials") ||
		a.ExpiresIn > 3600 || a.ExpiresIn < 3500 || a.ExpiresAt.After(creds.Expires) {
		t.Fatalf("answer %+v, credentials expire %s", a, creds.Expires)
	}
	if e.signing.invalidates.Load() != 0 {
		t.Fatal("fresh credentials were invalidated although new ones would not live longer")
	}
	if st, _ := curl(t, a.URL); st != 200 {
		t.Fatalf("capped URL: %d", st)
	}
	// A request above the configured maximum (7 days) is capped at it first.
	e2 := newEnv(t, time.Hour, func(o *vend.Options) { o.MaxExpiry = 30 * time.Minute })
	b := e2.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"200h"}`)
	if b.Capped != true || b.ExpiresIn != 1800 || !strings.Contains(b.CappedReason, "configured maximum of 30m0s") {
		t.Fatalf("answer %+v", b)
	}
}

// TestPresignRefreshesShortLivedCredentials: when the signing credentials
// have used up most of their life, the service asks the cache for fresh
// ones once instead of capping.
func TestPresignRefreshesShortLivedCredentials(t *testing.T) {
	e := newEnv(t, 15*time.Minute, nil)
	e.seed(t, "users/alice/x", "x")
	stsCalls := func() int { return len(e.cloud.Recorder.Requests(osstest.EndpointSTS)) }
	a := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"10m"}`)
	if a.Capped {
		t.Fatalf("fresh credentials capped a 10m URL: %+v", a)
	}
	calls := stsCalls()
	e.cloud.Clock.Advance(12 * time.Minute) // 3 minutes left: within the STS skew window
	b := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"10m"}`)
	if b.Capped || b.ExpiresIn != 600 || e.signing.invalidates.Load() != 1 || stsCalls() != calls+1 {
		t.Fatalf("answer %+v; invalidations %d, STS calls %d → %d", b, e.signing.invalidates.Load(), calls, stsCalls())
	}
	if st, _ := curl(t, b.URL); st != 200 {
		t.Fatalf("URL signed with refreshed credentials: %d", st)
	}
	c := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"1h"}`)
	if !c.Capped || e.signing.invalidates.Load() != 1 || stsCalls() != calls+1 {
		t.Fatalf("fresh credentials were refreshed again: %+v", c)
	}
}

// TestPresignKeepsCredentialsWhenRefreshFails: the refresh the service
// asks for in place of capping is voluntary, so when STS fails it the
// still-valid credentials keep signing (capped) URLs, for that request and
// the next ones, instead of every presign failing until STS recovers.
func TestPresignKeepsCredentialsWhenRefreshFails(t *testing.T) {
	e := newEnv(t, 15*time.Minute, nil)
	e.seed(t, "users/alice/x", "x")
	_ = e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"10m"}`)
	e.cloud.Clock.Advance(12 * time.Minute) // 3 minutes left
	e.cloud.Faults.Add(osstest.EndpointSTS, osstest.Fault{Status: http.StatusServiceUnavailable})
	for i := range 2 {
		a := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x","expires":"10m"}`)
		if !a.Capped || a.ExpiresIn > 180 || a.ExpiresIn < 100 || e.signing.invalidates.Load() != 1 {
			t.Fatalf("presign %d while STS fails: %+v; invalidations %d", i, a, e.signing.invalidates.Load())
		}
		if st, _ := curl(t, a.URL); st != 200 {
			t.Fatalf("presign %d: capped URL: %d", i, st)
		}
	}
}

// stsAnswer is the STS API's JSON answer as a client reads it, restated
// for the same reason as presignAnswer.
type stsAnswer struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string
	SecurityToken   string
	Expiration      string
	Bucket          string `json:"bucket"`
	Region          string `json:"region"`
	Endpoint        string `json:"endpoint_url"`
	apiError
}

func (e *env) vend(t *testing.T, caller, body string) stsAnswer {
	t.Helper()
	return callOK[stsAnswer](t, e, caller, vend.STSPath, body)
}

func sdkClient(a stsAnswer) *oss.Client {
	cfg := oss.LoadDefaultConfig().WithRegion(a.Region).WithEndpoint(a.Endpoint).WithUsePathStyle(true).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(a.AccessKeyID, a.AccessKeySecret, a.SecurityToken))
	return oss.NewClient(cfg)
}

func ossCode(err error) string {
	if se, ok := errors.AsType[*oss.ServiceError](err); ok {
		return se.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestVendSTSWithSDK(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	ctx := t.Context()
	for _, k := range []string{"users/bob/secret.txt", "shared/readme.txt"} {
		e.seed(t, k, "seed")
	}
	stsCalls := func() int { return len(e.cloud.Recorder.Requests(osstest.EndpointSTS)) }
	calls := stsCalls()
	a := e.vend(t, "alice", `{}`)
	if a.Bucket != "bkt" || a.Region != e.cloud.Region || !strings.HasPrefix(a.AccessKeyID, "STS.") || a.SecurityToken == "" {
		t.Fatalf("answer %+v", a.apiError)
	}
	if exp, err := time.Parse(vend.STSTimeFormat, a.Expiration); err != nil || exp.Sub(e.cloud.Clock.Now()) > time.Hour {
		t.Fatalf("expiration %q: %v", a.Expiration, err)
	}
	if stsCalls() != calls+1 {
		t.Fatalf("STS calls %d → %d", calls, stsCalls())
	}
	c := sdkClient(a)
	steps := []struct {
		name string
		do   func() error
		code string
	}{
		{"put inside", func() error {
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("users/alice/sdk.txt"), Body: strings.NewReader("sdk")})
			return err
		}, ""},
		{"get inside", func() error {
			r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("users/alice/sdk.txt")})
			if err == nil {
				r.Body.Close()
			}
			return err
		}, ""},
		{"list inside", func() error {
			r, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt"), Prefix: oss.Ptr("users/alice/")})
			if err == nil && len(r.Contents) != 1 {
				return errors.New("listing shows " + strconv.Itoa(len(r.Contents)) + " objects")
			}
			return err
		}, ""},
		{"get shared", func() error {
			r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("shared/readme.txt")})
			if err == nil {
				r.Body.Close()
			}
			return err
		}, ""},
		{"get another user's", func() error {
			_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("users/bob/secret.txt")})
			return err
		}, "AccessDenied"},
		{"put into read-only shared", func() error {
			_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("shared/x"), Body: strings.NewReader("x")})
			return err
		}, "AccessDenied"},
		{"list the parent", func() error {
			_, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt"), Prefix: oss.Ptr("users/")})
			return err
		}, "AccessDenied"},
		{"delete inside", func() error {
			_, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("users/alice/sdk.txt")})
			return err
		}, ""},
	}
	for _, s := range steps {
		if got := ossCode(s.do()); got != s.code {
			t.Errorf("%s: code %q, want %q", s.name, got, s.code)
		}
	}

	// The same request inside the cache window makes no STS call.
	calls = stsCalls()
	if again := e.vend(t, "alice", `{}`); again.AccessKeyID != a.AccessKeyID || stsCalls() != calls {
		t.Fatalf("second request: STS calls %d → %d, same key %t", calls, stsCalls(), again.AccessKeyID == a.AccessKeyID)
	}
	// Narrower: read-only under a sub-prefix (a new policy, a new STS call).
	n := e.vend(t, "alice", `{"bucket":"bkt","prefix":"users/alice/docs/","actions":["read"],"duration_seconds":900}`)
	if stsCalls() != calls+1 {
		t.Fatalf("narrowed request: STS calls %d → %d", calls, stsCalls())
	}
	if exp, _ := time.Parse(vend.STSTimeFormat, n.Expiration); exp.Sub(e.cloud.Clock.Now()) > 15*time.Minute+time.Second {
		t.Fatalf("900s credentials expire at %s", n.Expiration)
	}
	nc := sdkClient(n)
	_, err := nc.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("users/alice/docs/x"), Body: strings.NewReader("x")})
	if ossCode(err) != "AccessDenied" {
		t.Fatalf("write with read-only credentials: %v", err)
	}
	// Wider than the grants: refused before any STS call.
	calls = stsCalls()
	for _, body := range []string{`{"bucket":"bkt","prefix":"users/"}`, `{"actions":["delete"],"bucket":"bkt","prefix":"shared/"}`} {
		var ae stsAnswer
		if st, _ := e.call(t, "alice", vend.STSPath, body, &ae); st != 403 || ae.Code != "AccessDenied" || ae.AccessKeyID != "" {
			t.Fatalf("widening %s: %d %+v", body, st, ae.apiError)
		}
	}
	if stsCalls() != calls {
		t.Fatalf("refused requests called STS")
	}
}

func TestVendSTSWithAliOSS(t *testing.T) {
	node := e2etest.AliOSS(t)
	e := newEnv(t, time.Hour, nil)
	e.seed(t, "users/bob/secret.txt", "seed")
	a := e.vend(t, "alice", `{"bucket":"bkt","prefix":"users/alice/"}`)
	for _, v4 := range []bool{false, true} {
		cfg := alioss.Config{Endpoint: a.Endpoint, Bucket: a.Bucket, Region: "oss-" + a.Region,
			AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, STSToken: a.SecurityToken, V4: v4}
		steps := []struct{ op, key, body, code string }{
			{"put", "users/alice/node.txt", "from node", ""},
			{"get", "users/alice/node.txt", "", ""},
			{"list", "users/alice/", "", ""},
			{"get", "users/bob/secret.txt", "", "AccessDenied"},
			{"put", "shared/x.txt", "x", "AccessDenied"},
			{"delete", "users/alice/node.txt", "", ""},
		}
		for _, s := range steps {
			res, err := node.Op(t.Context(), cfg, s.op, s.key, s.body)
			if err != nil {
				t.Fatal(err)
			}
			if s.code == "" && (!res.OK || (s.op == "get" && res.Body != "from node")) {
				t.Errorf("v4=%t %s %s: %+v", v4, s.op, s.key, res)
			}
			if s.code != "" && (res.OK || res.Code != s.code) {
				t.Errorf("v4=%t %s %s: got %+v, want %s", v4, s.op, s.key, res, s.code)
			}
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, time.Hour, func(o *vend.Options) {
		o.STSLimit = vend.RateLimit{PerSecond: 0.1, Burst: 1}
	})
	// Frozen: the time between two calls on a loaded machine must not
	// refill the budget or shorten Retry-After.
	e.cloud.Clock.Set(e.cloud.Clock.Now())
	e.vend(t, "alice", `{}`)
	var a stsAnswer
	st, h := e.call(t, "alice", vend.STSPath, `{}`, &a)
	if st != http.StatusTooManyRequests || a.Code != "Throttling" || a.AccessKeyID != "" {
		t.Fatalf("second request: %d %+v", st, a.apiError)
	}
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); ra < 9 || ra > 10 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	// Another principal has its own budget; presign is not limited.
	e.vend(t, "bob", `{}`)
	e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/x"}`)
	e.cloud.Clock.Advance(10 * time.Second)
	e.vend(t, "alice", `{}`)
}

func TestSTSErrors(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	e.cloud.Faults.Add(osstest.EndpointSTS, osstest.Fault{Status: http.StatusServiceUnavailable})
	var a stsAnswer
	st, _ := e.call(t, "alice", vend.STSPath, `{}`, &a)
	if st != http.StatusServiceUnavailable || a.Code != "ServiceUnavailable" || strings.Contains(a.Message, "sts") {
		t.Fatalf("STS down: %d %+v", st, a.apiError)
	}
	e.cloud.Faults.Clear(osstest.EndpointSTS)
	a = stsAnswer{}
	if st, _ := e.call(t, "carol", vend.STSPath, `{"bucket":"bkt","actions":"bucket-write"}`, &a); st != 403 || a.Code != "AccessDenied" {
		t.Fatalf("action not granted: %d %+v", st, a.apiError)
	}
	body := bytes.Repeat([]byte(" "), vend.MaxBodySize+1)
	if st, _ := e.call(t, "alice", vend.STSPath, string(body)+"{}", &a); st != 400 || !strings.Contains(a.Message, "exceeds") {
		t.Fatalf("huge body: %d %+v", st, a.apiError)
	}
}

// TestVendSTSRefreshWithAliOSS: ali-oss's refreshSTSToken returns the
// API's answer unchanged and the client keeps working with the refreshed
// credentials. The first credentials cover users/alice/a/ only; writing to
// users/alice/b/ works only with the refreshed ones.
func TestVendSTSRefreshWithAliOSS(t *testing.T) {
	node := e2etest.AliOSS(t)
	e := newEnv(t, time.Hour, nil)
	first := e.vend(t, "alice", `{"bucket":"bkt","prefix":"users/alice/a/"}`)
	for _, v4 := range []bool{false, true} {
		cfg := alioss.Config{Endpoint: first.Endpoint, Bucket: first.Bucket, Region: "oss-" + first.Region,
			AccessKeyID: first.AccessKeyID, AccessKeySecret: first.AccessKeySecret, STSToken: first.SecurityToken, V4: v4,
			RefreshURL: e.api.URL + vend.STSPath, RefreshHeaders: map[string]string{"X-Test-Principal": "alice"}, RefreshBody: `{}`}
		res, err := node.Ops(t.Context(), cfg, []alioss.Step{
			{Op: "put", Key: "users/alice/a/1", Body: "first"},
			{Op: "put", Key: "users/alice/b/2", Body: "refreshed"},
			{Op: "get", Key: "users/alice/b/2"},
			{Op: "get", Key: "users/bob/x"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"ok", "ok", "ok", "AccessDenied"}
		if fmt.Sprint(res.Steps) != fmt.Sprint(want) || res.Message != "refreshes=4" {
			t.Errorf("v4=%t: steps %v (%s), want %v after 4 refreshes", v4, res.Steps, res.Message, want)
		}
	}
}

func TestPresignHeadAndDeleteWithCurl(t *testing.T) {
	e := newEnv(t, time.Hour, nil)
	e.seed(t, "users/alice/gone.txt", "bye")
	head := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/gone.txt","method":"HEAD"}`)
	if st, _, h := curlHeaders(t, "-I", head.URL); st != 200 || h.Get("Content-Length") != "3" {
		t.Fatalf("HEAD: %d %v", st, h)
	}
	del := e.presign(t, "alice", `{"bucket":"bkt","key":"users/alice/gone.txt","method":"DELETE"}`)
	// A DELETE URL does not work as a GET: the method is signed.
	if st, _ := curl(t, del.URL); st != 403 {
		t.Fatalf("GET with a DELETE URL: %d", st)
	}
	if st, body := curl(t, "-X", "DELETE", del.URL); st != 204 {
		t.Fatalf("DELETE: %d %s", st, body)
	}
	if keys, _ := e.cloud.OSS.ObjectKeys("bkt"); len(keys) != 0 {
		t.Fatalf("still stored: %v", keys)
	}
}

// TestPresignACLNeedsACLAction shows that a presigned URL that sets an
// object ACL is issued only to a caller with the acl action on that key, as
// the proxy demands for the same request, and that the URL works.
func TestPresignACLNeedsACLAction(t *testing.T) {
	e := newEnv(t, time.Hour, func(o *vend.Options) {
		pol, err := auth.NewPolicy([]auth.Rule{
			{Name: "home", Issuers: []string{testIssuer}, Buckets: []string{"bkt"}, Prefixes: []string{"users/${sub}/"},
				Actions: []auth.Action{auth.ActionRead, auth.ActionWrite, auth.ActionACL}},
		})
		if err != nil {
			t.Fatal(err)
		}
		o.Policy = pol
	})
	var a presignAnswer
	body := `{"bucket":"bkt","key":"users/alice/acl.txt","method":"PUT","headers":{"x-oss-object-acl":"private"}}`
	if st, _ := e.call(t, "alice", vend.PresignPath, body, &a); st != 200 || a.URL == "" {
		t.Fatalf("alice with acl: %d %+v", st, a)
	}
	var denied presignAnswer
	other := `{"bucket":"bkt","key":"users/bob/acl.txt","method":"PUT","headers":{"x-oss-object-acl":"private"}}`
	if st, _ := e.call(t, "alice", vend.PresignPath, other, &denied); st != 403 || denied.URL != "" {
		t.Fatalf("alice on bob's key: %d %+v", st, denied)
	}
}
