package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/internal/e2etest/wire"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// testIssuer is the JWT issuer the environment's auth trusts.
func testIssuer() e2etest.Issuer {
	return e2etest.Issuer{URL: "https://issuer.test", Audience: "ossproxy", Secret: []byte("e2e-hmac-secret-0123456789abcdef")}
}

// A proxy-issued access key for clients that sign OSS requests.
const (
	proxyKeyID     = e2etest.ProxyKeyID
	proxyKeySecret = e2etest.ProxyKeySecret
)

func TestActionsMatchAuth(t *testing.T) {
	for a := proxy.ActionRead; a <= proxy.ActionACL; a <<= 1 {
		if got := auth.Action(a).String(); got != a.String() {
			t.Errorf("proxy %s is auth %s", a, got)
		}
	}
}

type env struct {
	cloud    *osstest.Cloud
	proxyURL string
	logs     *e2etest.SyncBuffer
	tokens   map[string]string // subject → JWT
	upstream *switchableCreds
}

// switchableCreds serves the upstream credentials and records Invalidate.
type switchableCreds struct {
	mu          sync.Mutex
	cur         signer.Credentials
	next        func() signer.Credentials
	invalidated []string
}

func (s *switchableCreds) Retrieve(context.Context) (signer.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, nil
}

func (s *switchableCreds) Invalidate(stale signer.Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, stale.AccessKeyID)
	if stale.AccessKeyID == s.cur.AccessKeyID && s.next != nil {
		s.cur = s.next()
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}})
	logs := &e2etest.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := wire.NewAuthenticator(t, testIssuer(), cloud.Region, logger)
	pol, err := auth.NewPolicy([]auth.Rule{
		{Name: "alice-home", Subjects: []string{"alice"}, Buckets: []string{"data"}, Prefixes: []string{"alice/"},
			Actions: []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite, auth.ActionDelete}},
		{Name: "alice-shared", Subjects: []string{"alice"}, Buckets: []string{"data"}, Prefixes: []string{"shared/"},
			Actions: []auth.Action{auth.ActionRead}},
		{Name: "root", Subjects: []string{"root"}, Buckets: []string{"*"}, Actions: []auth.Action{auth.ActionAll}},
		{Name: "bob-key", AccessKeyIDs: []string{proxyKeyID}, Buckets: []string{"data"}, Prefixes: []string{"bob/"},
			Actions: []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite, auth.ActionDelete}},
	})
	if err != nil {
		t.Fatal(err)
	}
	creds := &switchableCreds{cur: signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}}
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{
		{Name: "data", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true},
		{Name: "other", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true, SignatureVersion: proxy.SignatureV1},
	}, VirtualHostSuffixes: []string{"oss.local"}}
	h, err := proxy.New(proxy.Options{
		Config: cfg, Authenticator: wire.Authenticator(a), Authorizer: wire.Authorizer(pol),
		Credentials: creds, Signer: proxy.NewOSSSigner(cfg), Logger: logger, Now: cloud.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &env{cloud: cloud, proxyURL: srv.URL, logs: logs, tokens: map[string]string{}, upstream: creds}
	for _, sub := range []string{"alice", "root"} {
		e.tokens[sub] = testIssuer().Mint(t, sub, time.Hour)
	}
	return e
}

// client returns an official SDK-v2 client pointed at the proxy with
// anonymous credentials, authenticating with token.
func (e *env) client(token string) *oss.Client {
	hc := &http.Client{Transport: e2etest.Bearer{Token: token, Base: http.DefaultTransport}}
	if token == "" {
		hc = &http.Client{}
	}
	cfg := oss.LoadDefaultConfig().WithRegion(e.cloud.Region).WithEndpoint(e.proxyURL).
		WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).
		WithUsePathStyle(true).WithHttpClient(hc).WithRetryMaxAttempts(1)
	return oss.NewClient(cfg)
}

func (e *env) upstreamCount() int { return len(e.cloud.Recorder.Requests(osstest.EndpointOSS)) }

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestEndToEndLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.tokens["alice"])
	ctx := t.Context()
	body := randomBytes(t, 4096)
	key := "alice/dir/a file+(1).bin"

	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatal("GetObject body differs")
	}
	rng, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key), Range: oss.Ptr("bytes=10-19")})
	if err != nil {
		t.Fatalf("ranged GetObject: %v", err)
	}
	got, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if !bytes.Equal(got, body[10:20]) || rng.StatusCode != http.StatusPartialContent {
		t.Fatalf("range: status %d, %d bytes", rng.StatusCode, len(got))
	}
	head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key)})
	if err != nil || head.ContentLength != int64(len(body)) {
		t.Fatalf("HeadObject: %v, length %d", err, head.ContentLength)
	}
	list, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("alice/")})
	if err != nil || len(list.Contents) != 1 || oss.ToString(list.Contents[0].Key) != key {
		t.Fatalf("ListObjectsV2: %v %+v", err, list)
	}

	// Multipart, 3 parts.
	mpKey := "alice/big.bin"
	parts := [][]byte{randomBytes(t, 100<<10), randomBytes(t, 100<<10), randomBytes(t, 1234)}
	ini, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(mpKey)})
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	var done []oss.UploadPart
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(mpKey), UploadId: ini.UploadId,
			PartNumber: int32(i + 1), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		done = append(done, oss.UploadPart{PartNumber: int32(i + 1), ETag: up.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(mpKey),
		UploadId: ini.UploadId, CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: done}}); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	get, err = c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(mpKey)})
	if err != nil {
		t.Fatalf("GetObject multipart: %v", err)
	}
	got, _ = io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Fatal("multipart object differs")
	}

	// Append twice.
	apKey := "alice/log.txt"
	ap, err := c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(apKey), Position: oss.Ptr(int64(0)), Body: strings.NewReader("one,")})
	if err != nil {
		t.Fatalf("AppendObject: %v", err)
	}
	if _, err := c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(apKey), Position: oss.Ptr(ap.NextPosition), Body: strings.NewReader("two")}); err != nil {
		t.Fatalf("AppendObject 2: %v", err)
	}

	// Copy within alice's prefix.
	if _, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/copy.bin"), SourceKey: oss.Ptr(key)}); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if sum, _ := e.cloud.OSS.ObjectSHA256("data", "alice/copy.bin"); sum == "" {
		t.Fatal("copy missing upstream")
	}

	// Delete multiple.
	del, err := c.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: oss.Ptr("data"), Objects: []oss.DeleteObject{
		{Key: oss.Ptr(key)}, {Key: oss.Ptr(mpKey)}, {Key: oss.Ptr(apKey)}, {Key: oss.Ptr("alice/copy.bin")},
	}})
	if err != nil || len(del.DeletedObjects) != 4 {
		t.Fatalf("DeleteMultipleObjects: %v %+v", err, del)
	}
	if keys, _ := e.cloud.OSS.ObjectKeys("data"); len(keys) != 0 {
		t.Fatalf("left upstream: %q", keys)
	}

	// The SDK-v1-signed bucket works too (upstream V1).
	if _, err := e.client(e.tokens["root"]).PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("other"), Key: oss.Ptr("v1/x y"), Body: strings.NewReader("v1")}); err != nil {
		t.Fatalf("PutObject via V1 upstream: %v", err)
	}
	e.assertNoCallerSecrets(t)
}

// assertNoCallerSecrets checks the emulator's header log and the proxy's
// logs for the callers' tokens.
func (e *env) assertNoCallerSecrets(t *testing.T) {
	t.Helper()
	for sub, tok := range e.tokens {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		if e.cloud.Recorder.Contains(osstest.EndpointOSS, sig) {
			t.Errorf("%s's JWT reached the upstream", sub)
		}
		if strings.Contains(e.logs.String(), sig) {
			t.Errorf("%s's JWT is in the proxy log", sub)
		}
	}
	for _, s := range []string{"Bearer", "access_token", proxyKeyID, e.upstream.cur.AccessKeySecret} {
		if e.cloud.Recorder.Contains(osstest.EndpointOSS, s) {
			t.Errorf("upstream saw %q", s)
		}
	}
	if strings.Contains(e.logs.String(), e.upstream.cur.AccessKeySecret) {
		t.Error("upstream secret in the proxy log")
	}
}

func TestEndToEndAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := e.client(e.tokens["root"])
	for _, k := range []string{"alice/mine.txt", "bob/theirs.txt", "shared/readme.txt"} {
		if _, err := root.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("seeding %s: %v", k, err)
		}
	}
	alice := e.client(e.tokens["alice"])
	anon := e.client("")
	forged := e.client(testIssuer().Mint(t, "root", time.Hour)[:20] + "x.y.z")

	tests := []struct {
		name   string
		call   func() error
		status int    // 0: allowed
		code   string // expected OSS error code when denied
	}{
		{"read own", func() error {
			_, err := alice.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/mine.txt")})
			return err
		}, 0, ""},
		{"read shared", func() error {
			_, err := alice.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("shared/readme.txt")})
			return err
		}, 0, ""},
		{"list own prefix", func() error {
			_, err := alice.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("alice/")})
			return err
		}, 0, ""},
		{"read other prefix", func() error {
			_, err := alice.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("bob/theirs.txt")})
			return err
		}, 403, "AccessDenied"},
		{"write shared (read-only)", func() error {
			_, err := alice.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("shared/x"), Body: strings.NewReader("x")})
			return err
		}, 403, "AccessDenied"},
		{"other bucket", func() error {
			_, err := alice.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("other"), Key: oss.Ptr("alice/mine.txt")})
			return err
		}, 403, "AccessDenied"},
		{"unlisted bucket", func() error {
			_, err := root.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("secret"), Key: oss.Ptr("x")})
			return err
		}, 404, "NoSuchBucket"},
		{"list whole bucket", func() error {
			_, err := alice.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data")})
			return err
		}, 403, "AccessDenied"},
		{"list escaping prefix", func() error {
			_, err := alice.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("ali")})
			return err
		}, 403, "AccessDenied"},
		{"bucket action", func() error {
			_, err := alice.PutBucketAcl(ctx, &oss.PutBucketAclRequest{Bucket: oss.Ptr("data"), Acl: oss.BucketACLPublicRead})
			return err
		}, 403, "AccessDenied"},
		{"copy from other prefix", func() error {
			_, err := alice.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/stolen"), SourceKey: oss.Ptr("bob/theirs.txt")})
			return err
		}, 403, "AccessDenied"},
		{"copy from other bucket", func() error {
			_, err := alice.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/stolen"), SourceBucket: oss.Ptr("other"), SourceKey: oss.Ptr("x")})
			return err
		}, 403, "AccessDenied"},
		{"copy from unlisted bucket", func() error {
			_, err := root.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("stolen"), SourceBucket: oss.Ptr("secret"), SourceKey: oss.Ptr("x")})
			return err
		}, 403, "AccessDenied"},
		{"delete multiple with one foreign key", func() error {
			_, err := alice.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: oss.Ptr("data"), Objects: []oss.DeleteObject{
				{Key: oss.Ptr("alice/mine.txt")}, {Key: oss.Ptr("bob/theirs.txt")}}})
			return err
		}, 403, "AccessDenied"},
		{"no token", func() error {
			_, err := anon.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/mine.txt")})
			return err
		}, 401, "InvalidToken.Missing"},
		{"forged token", func() error {
			_, err := forged.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/mine.txt")})
			return err
		}, 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.upstreamCount()
			err := tc.call()
			after := e.upstreamCount()
			if tc.status == 0 {
				if err != nil || after != before+1 {
					t.Fatalf("allowed call: %v, %d upstream requests", err, after-before)
				}
				return
			}
			se, ok := errors.AsType[*oss.ServiceError](err)
			if !ok {
				t.Fatalf("error %v, want a ServiceError", err)
			}
			if se.StatusCode != tc.status || (tc.code != "" && se.Code != tc.code) || len(se.RequestID) != 24 {
				t.Errorf("got %d %s (request id %q), want %d %s", se.StatusCode, se.Code, se.RequestID, tc.status, tc.code)
			}
			if after != before {
				t.Errorf("denied request reached the upstream (%d requests)", after-before)
			}
		})
	}
	if keys, _ := e.cloud.OSS.ObjectKeys("data"); len(keys) != 3 {
		t.Errorf("objects after the matrix: %q", keys)
	}
	e.assertNoCallerSecrets(t)
}

// TestEndToEndRawTargets sends request targets no SDK would, over a raw
// socket-backed client: each is refused before the upstream, or
// forwarded with exactly the key the policy judged.
func TestEndToEndRawTargets(t *testing.T) {
	e := newEnv(t)
	tok := e.tokens["alice"]
	tests := []struct {
		name     string
		method   string
		target   string
		header   map[string]string
		status   int
		upstream string // the request URI OSS must see, "" for none
	}{
		{"encoded dotdot", "GET", "/data/alice/%2e%2e/bob/theirs.txt", nil, 400, ""},
		{"raw dotdot", "GET", "/data/alice/../bob/theirs.txt", nil, 400, ""},
		{"overlong dot", "GET", "/data/alice/%c0%ae%c0%ae/bob/x", nil, 400, ""},
		{"backslash", "GET", "/data/alice/..%5Cbob", nil, 400, ""},
		{"NUL", "GET", "/data/alice/a%00", nil, 400, ""},
		{"double slash", "GET", "/data//alice/a", nil, 400, ""},
		{"double encoding is a literal key", "GET", "/data/alice/%252e%252e/x", nil, 404, "/data/alice/%252e%252e/x"},
		{"encoded slash", "GET", "/data/alice%2Fx", nil, 404, "/data/alice/x"},
		{"canonical re-encoding", "GET", "/data/alice/%7e%41%20b", nil, 404, "/data/alice/~A%20b"},
		{"token in query is stripped", "GET", "/data/alice/q?access_token=" + tok, map[string]string{"Authorization": ""}, 404, "/data/alice/q"},
		{"host naming an unlisted bucket", "GET", "/data/alice/h", map[string]string{"Host": "secret.oss.local"}, 404, ""},
		{"spoofed host and forwarded host", "GET", "/data/alice/h", map[string]string{"Host": "evil.example", "X-Forwarded-Host": "secret.oss.local"}, 404, "/data/alice/h"},
		{"unknown sub-resource", "GET", "/data/alice/x?torrent", nil, 403, ""},
		{"repeated query", "GET", "/data/?prefix=alice/&prefix=bob/", nil, 400, ""},
		{"chunked complete is forwarded with a length", "POST", "/data/alice/x?uploadId=1", map[string]string{"Transfer-Encoding": "chunked"}, 400, "/data/alice/x?uploadId=1"},
		{"reserved prefix", "GET", "/_ossproxy/anything", nil, 404, ""},
		{"absolute form", "GET", "http://secret.oss-cn-hangzhou.aliyuncs.com/secret/x", nil, 400, ""},
		{"absolute form to a listed bucket", "GET", "http://127.0.0.1:1/data/alice/x", nil, 400, ""},
		{"CONNECT", "CONNECT", "evil.example:443", nil, 400, ""},
		{"upgrade", "GET", "/data/alice/x", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.cloud.Recorder.Reset()
			status, err := rawDo(e.proxyURL, tc.method, tc.target, tok, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.cloud.Recorder.Requests(osstest.EndpointOSS)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			switch {
			case tc.upstream == "" && len(reqs) != 0:
				t.Errorf("reached the upstream: %s", reqs[0].URL)
			case tc.upstream != "" && (len(reqs) != 1 || reqs[0].URL != tc.upstream):
				t.Errorf("upstream saw %+v, want %s", reqs, tc.upstream)
			}
		})
	}
	e.assertNoCallerSecrets(t)
}

// rawDo writes a request line verbatim on a TCP connection.
func rawDo(base, method, target, token string, header map[string]string) (int, error) {
	host := strings.TrimPrefix(base, "http://")
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, host)
	h := map[string]string{"Authorization": "Bearer " + token}
	for k, v := range header {
		h[k] = v
	}
	for k, v := range h {
		if v == "" {
			continue
		}
		if k == "Host" {
			b.Reset()
			fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, v)
			for k2, v2 := range h {
				if k2 != "Host" && v2 != "" {
					fmt.Fprintf(&b, "%s: %s\r\n", k2, v2)
				}
			}
			break
		}
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if header["Transfer-Encoding"] == "chunked" {
		b.WriteString("\r\n4\r\ndata\r\n0\r\n\r\n")
	} else {
		b.WriteString("\r\n")
	}
	return sendRaw(host, b.String())
}

// TestEndToEndExpiredToken gives the proxy STS credentials that expire
// upstream: OSS answers SecurityTokenExpired, the proxy invalidates them
// and retries once with fresh ones for a replayable request, and passes
// the error through for a streamed body it cannot replay.
func TestEndToEndExpiredToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sts := e.cloud.Account.MintSTS("acs:ram::"+osstest.DefaultAccountID+":assumed-role/ossproxy/e2e", 15*time.Minute)
	admin := e.upstream.cur
	mint := func() signer.Credentials {
		return signer.Credentials{AccessKeyID: sts.AccessKeyID, AccessKeySecret: sts.AccessKeySecret, SecurityToken: sts.SecurityToken}
	}
	e.upstream.mu.Lock()
	e.upstream.cur, e.upstream.next = mint(), func() signer.Credentials { return admin }
	e.upstream.mu.Unlock()

	root := e.client(e.tokens["root"])
	if _, err := root.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("PutObject with valid STS credentials: %v", err)
	}
	e.cloud.Clock.Advance(20 * time.Minute) // the STS token is now expired upstream

	// A streamed PUT body cannot be replayed: OSS's answer passes through.
	_, err := root.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("k2"), Body: io.MultiReader(strings.NewReader("v2"))})
	if se, ok := errors.AsType[*oss.ServiceError](err); !ok || se.Code != "SecurityTokenExpired" {
		t.Fatalf("streamed PUT with expired token: %v", err)
	}
	e.upstream.mu.Lock()
	if got := e.upstream.invalidated; len(got) != 1 || got[0] != sts.AccessKeyID {
		t.Errorf("invalidated %v, want the STS key", got)
	}
	e.upstream.cur = mint() // stale again, for the replayable case
	e.upstream.invalidated = nil
	e.upstream.mu.Unlock()

	before := e.upstreamCount()
	get, err := root.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("k")})
	if err != nil {
		t.Fatalf("GET after expiry: %v", err)
	}
	get.Body.Close()
	if n := e.upstreamCount() - before; n != 2 {
		t.Errorf("%d upstream requests, want 2 (expired, retried)", n)
	}
	e.upstream.mu.Lock()
	defer e.upstream.mu.Unlock()
	if got := e.upstream.invalidated; len(got) != 1 || got[0] != sts.AccessKeyID || e.upstream.cur.AccessKeyID != admin.AccessKeyID {
		t.Errorf("invalidated %v, now using %s", got, signer.MaskID(e.upstream.cur.AccessKeyID))
	}
}

// TestEndToEndUpstreamReset makes the emulator reset the connection in
// the middle of a body: the client must see a broken response, never a
// short body that looks complete, and the proxy logs the failure.
func TestEndToEndUpstreamReset(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	root := e.client(e.tokens["root"])
	body := randomBytes(t, 256<<10)
	if _, err := root.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("big"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	inj := e.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Reset: true, ResetAfter: 64 << 10, Times: 1})
	defer inj.Remove()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.proxyURL+"/data/big", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["root"])
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		got, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if readErr == nil && bytes.Equal(got, body) {
			t.Fatal("reset upstream produced a complete body")
		}
		if readErr == nil {
			t.Fatalf("short body (%d of %d bytes) read without error", len(got), len(body))
		}
	}
	if inj.Fired() != 1 {
		t.Errorf("fault fired %d times", inj.Fired())
	}
	if !strings.Contains(e.logs.String(), "response aborted") {
		t.Error("aborted response not in the access log")
	}
}

// TestEndToEndAccessKeyClients drives the proxy with clients that sign
// OSS requests themselves with a proxy-issued access key: SDK v2 with V4
// and V1 header signatures and presigned URLs. The proxy verifies their
// signatures (auth), then re-signs with its own credentials; the
// emulator never sees the client's key id or signature.
func TestEndToEndAccessKeyClients(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for _, v := range []oss.SignatureVersionType{oss.SignatureVersionV4, oss.SignatureVersionV1} {
		c := oss.NewClient(oss.LoadDefaultConfig().WithRegion(e.cloud.Region).WithEndpoint(e.proxyURL).
			WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(proxyKeyID, proxyKeySecret)).
			WithUsePathStyle(true).WithSignatureVersion(v).WithRetryMaxAttempts(1))
		key := fmt.Sprintf("bob/v%d/a b+c~(1)&x=y.txt", v)
		if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key), Body: strings.NewReader("hi")}); err != nil {
			t.Fatalf("V%d PutObject: %v", v, err)
		}
		list, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("bob/")})
		if err != nil || len(list.Contents) == 0 {
			t.Fatalf("V%d ListObjectsV2: %v", v, err)
		}
		_, err = c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/x")})
		if se, ok := errors.AsType[*oss.ServiceError](err); !ok || se.StatusCode != 403 {
			t.Fatalf("V%d read outside prefix: %v", v, err)
		}
		pre, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key)}, oss.PresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(pre.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != "hi" {
			t.Fatalf("V%d presigned GET: %d %q", v, resp.StatusCode, got)
		}
	}
	// A wrong secret is refused before the upstream.
	before := e.upstreamCount()
	bad := oss.NewClient(oss.LoadDefaultConfig().WithRegion(e.cloud.Region).WithEndpoint(e.proxyURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(proxyKeyID, "wrong")).WithUsePathStyle(true).WithRetryMaxAttempts(1))
	_, err := bad.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("bob/v4/x")})
	if se, ok := errors.AsType[*oss.ServiceError](err); !ok || se.Code != "SignatureDoesNotMatch" || e.upstreamCount() != before {
		t.Fatalf("wrong secret: %v", err)
	}
	e.assertNoCallerSecrets(t)
	for _, r := range e.cloud.Recorder.Requests(osstest.EndpointOSS) {
		if strings.Contains(r.URL, "Signature") || strings.Contains(r.URL, "x-oss-credential") {
			t.Errorf("presign parameters reached the upstream: %s", r.URL)
		}
	}
}

// TestEndToEndVirtualHost drives SDK v2 in virtual-host style: it sends
// Host "data.oss.local:port", which the proxy routes by its configured
// suffix (the client's connections are dialled to the proxy).
func TestEndToEndVirtualHost(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	proxyAddr := strings.TrimPrefix(e.proxyURL, "http://")
	_, port, _ := net.SplitHostPort(proxyAddr)
	base := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, proxyAddr)
	}}
	defer base.CloseIdleConnections()
	c := oss.NewClient(oss.LoadDefaultConfig().WithRegion(e.cloud.Region).WithEndpoint("http://oss.local:" + port).
		WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).WithRetryMaxAttempts(1).
		WithHttpClient(&http.Client{Transport: e2etest.Bearer{Token: e.tokens["alice"], Base: base}}))
	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/vh.txt"), Body: strings.NewReader("vh")}); err != nil {
		t.Fatalf("virtual-host PutObject: %v", err)
	}
	reqs := e.cloud.Recorder.Requests(osstest.EndpointOSS)
	if last := reqs[len(reqs)-1]; last.URL != "/data/alice/vh.txt" {
		t.Errorf("upstream saw %s %s, want path-style /data/alice/vh.txt", last.Host, last.URL)
	}
	_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("secret"), Key: oss.Ptr("x")})
	if se, ok := errors.AsType[*oss.ServiceError](err); !ok || se.StatusCode != 404 || len(e.cloud.Recorder.Requests(osstest.EndpointOSS)) != len(reqs) {
		t.Errorf("unlisted virtual host: %v", err)
	}
}

// TestEndToEndConcurrent runs puts and gets from several goroutines at
// once through one proxy (run it with -race).
func TestEndToEndConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := e.client(e.tokens["alice"])
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				key := fmt.Sprintf("alice/conc/%d-%d", g, i)
				want := fmt.Sprintf("body %d %d", g, i)
				if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key), Body: strings.NewReader(want)}); err != nil {
					errs <- err
					return
				}
				res, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(key)})
				if err != nil {
					errs <- err
					return
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(got) != want {
					errs <- fmt.Errorf("%s: got %q", key, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if keys, _ := e.cloud.OSS.ObjectKeys("data"); len(keys) != 40 {
		t.Errorf("%d objects, want 40", len(keys))
	}
}
