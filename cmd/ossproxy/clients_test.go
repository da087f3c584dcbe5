package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/internal/alioss"
	"github.com/ossproxy/ossproxy/internal/e2etest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// sdkV2 returns an official SDK-v2 client for the proxy: with a bearer
// token (anonymous credentials provider + a RoundTripper), or with a
// proxy-issued access key signing V1 or V4.
func sdkV2(url, token, keyID, keySecret string, ver oss.SignatureVersionType) *oss.Client {
	cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(url).WithUsePathStyle(true).
		WithRetryMaxAttempts(1).WithSignatureVersion(ver)
	if token != "" {
		cfg = cfg.WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).
			WithHttpClient(&http.Client{Transport: e2etest.Bearer{Token: token, Base: http.DefaultTransport}})
	} else {
		cfg = cfg.WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(keyID, keySecret))
	}
	return oss.NewClient(cfg)
}

// lifecycleV2 runs the full object lifecycle with SDK v2 under prefix.
func lifecycleV2(t *testing.T, c *oss.Client, bucket, prefix string) {
	t.Helper()
	ctx := t.Context()
	b := oss.Ptr(bucket)
	body := randomBytes(64 << 10)
	key := prefix + "dir/a file+(1).bin"
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: b, Key: oss.Ptr(key), Body: bytes.NewReader(body)})
	must("PutObject", err)
	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(key)})
	must("GetObject", err)
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject body differs (%v)", err)
	}
	rng, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(key), Range: oss.Ptr("bytes=100-199")})
	must("ranged GetObject", err)
	got, _ = io.ReadAll(rng.Body)
	rng.Body.Close()
	if rng.StatusCode != http.StatusPartialContent || !bytes.Equal(got, body[100:200]) {
		t.Fatalf("range: status %d, %d bytes", rng.StatusCode, len(got))
	}
	head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: b, Key: oss.Ptr(key)})
	must("HeadObject", err)
	if head.ContentLength != int64(len(body)) {
		t.Fatalf("HeadObject length %d", head.ContentLength)
	}
	list, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: b, Prefix: oss.Ptr(prefix)})
	must("ListObjectsV2", err)
	if len(list.Contents) != 1 || oss.ToString(list.Contents[0].Key) != key {
		t.Fatalf("ListObjectsV2 = %d entries", len(list.Contents))
	}
	mpKey := prefix + "multipart.bin"
	parts := [][]byte{randomBytes(100 << 10), randomBytes(100 << 10), randomBytes(777)}
	ini, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: b, Key: oss.Ptr(mpKey)})
	must("InitiateMultipartUpload", err)
	var done []oss.UploadPart
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: b, Key: oss.Ptr(mpKey), UploadId: ini.UploadId,
			PartNumber: int32(i + 1), Body: bytes.NewReader(p)})
		must("UploadPart", err)
		done = append(done, oss.UploadPart{PartNumber: int32(i + 1), ETag: up.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: b, Key: oss.Ptr(mpKey),
		UploadId: ini.UploadId, CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: done}})
	must("CompleteMultipartUpload", err)
	get, err = c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(mpKey)})
	must("GetObject multipart", err)
	got, _ = io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Fatal("multipart object differs")
	}
	apKey := prefix + "log.txt"
	ap, err := c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: oss.Ptr(apKey), Position: oss.Ptr(int64(0)), Body: strings.NewReader("one,")})
	must("AppendObject", err)
	_, err = c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: oss.Ptr(apKey), Position: oss.Ptr(ap.NextPosition), Body: strings.NewReader("two")})
	must("AppendObject 2", err)
	cpKey := prefix + "copy.bin"
	_, err = c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: b, Key: oss.Ptr(cpKey), SourceKey: oss.Ptr(key)})
	must("CopyObject", err)
	del, err := c.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: b, Objects: []oss.DeleteObject{
		{Key: oss.Ptr(key)}, {Key: oss.Ptr(mpKey)}, {Key: oss.Ptr(apKey)}, {Key: oss.Ptr(cpKey)}}})
	must("DeleteMultipleObjects", err)
	if len(del.DeletedObjects) != 4 {
		t.Fatalf("deleted %d objects", len(del.DeletedObjects))
	}
	list, err = c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: b, Prefix: oss.Ptr(prefix)})
	must("ListObjectsV2 after delete", err)
	if len(list.Contents) != 0 {
		t.Fatalf("%d objects left", len(list.Contents))
	}
}

// lifecycleLegacy runs the lifecycle with the legacy aliyun-oss-go-sdk.
func lifecycleLegacy(t *testing.T, b *v1oss.Bucket, prefix string) {
	t.Helper()
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	body := randomBytes(32 << 10)
	key := prefix + "dir/legacy file+(1).bin"
	must("PutObject", b.PutObject(key, bytes.NewReader(body)))
	rc, err := b.GetObject(key)
	must("GetObject", err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body) {
		t.Fatal("GetObject body differs")
	}
	rc, err = b.GetObject(key, v1oss.Range(10, 19))
	must("ranged GetObject", err)
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, body[10:20]) {
		t.Fatalf("range got %d bytes", len(got))
	}
	h, err := b.GetObjectDetailedMeta(key)
	must("HeadObject", err)
	if h.Get("Content-Length") != "32768" {
		t.Fatalf("HeadObject length %q", h.Get("Content-Length"))
	}
	l, err := b.ListObjectsV2(v1oss.Prefix(prefix))
	must("ListObjectsV2", err)
	if len(l.Objects) != 1 || l.Objects[0].Key != key {
		t.Fatalf("ListObjectsV2 = %d entries", len(l.Objects))
	}
	mpKey := prefix + "multipart.bin"
	imur, err := b.InitiateMultipartUpload(mpKey)
	must("InitiateMultipartUpload", err)
	parts := [][]byte{randomBytes(100 << 10), randomBytes(100 << 10), randomBytes(99)}
	var ups []v1oss.UploadPart
	for i, p := range parts {
		up, err := b.UploadPart(imur, bytes.NewReader(p), int64(len(p)), i+1)
		must("UploadPart", err)
		ups = append(ups, up)
	}
	_, err = b.CompleteMultipartUpload(imur, ups)
	must("CompleteMultipartUpload", err)
	apKey := prefix + "log.txt"
	next, err := b.AppendObject(apKey, strings.NewReader("one,"), 0)
	must("AppendObject", err)
	_, err = b.AppendObject(apKey, strings.NewReader("two"), next)
	must("AppendObject 2", err)
	cpKey := prefix + "copy.bin"
	_, err = b.CopyObject(key, cpKey)
	must("CopyObject", err)
	del, err := b.DeleteObjects([]string{key, mpKey, apKey, cpKey})
	must("DeleteObjects", err)
	if len(del.DeletedObjects) != 4 {
		t.Fatalf("deleted %d", len(del.DeletedObjects))
	}
}

func TestServeSDKv2Bearer(t *testing.T) {
	s := startServe(t, serveOpts{})
	alice := mint(t, jwt.MapClaims{"sub": "alice"})
	lifecycleV2(t, sdkV2(s.url, alice, "", "", oss.SignatureVersionV4), "data", "alice/v2/")
	root := mint(t, jwt.MapClaims{"sub": "root"})
	// The "other" bucket is signed upstream with V1.
	lifecycleV2(t, sdkV2(s.url, root, "", "", oss.SignatureVersionV4), "other", "root/")
	s.assertNoCallerSecrets(t, alice, root)
	// Every upstream request carried the proxy's STS credentials.
	for _, r := range s.cloud.Recorder.Requests("oss") {
		if r.Header.Get("X-Oss-Security-Token") == "" {
			t.Fatalf("upstream %s %s without a security token", r.Method, r.URL)
		}
	}
}

func TestServeAccessKeys(t *testing.T) {
	s := startServe(t, serveOpts{})
	for _, tc := range []struct {
		name string
		ver  oss.SignatureVersionType
	}{{"v4", oss.SignatureVersionV4}, {"v1", oss.SignatureVersionV1}} {
		t.Run("sdkv2-"+tc.name, func(t *testing.T) {
			lifecycleV2(t, sdkV2(s.url, "", tKeyID, tKeySec, tc.ver), "data", "app/v2"+tc.name+"/")
		})
	}
	for _, tc := range []struct {
		name string
		ver  v1oss.AuthVersionType
	}{{"v4", v1oss.AuthV4}, {"v1", v1oss.AuthV1}} {
		t.Run("legacy-"+tc.name, func(t *testing.T) {
			cl, err := v1oss.New(s.url, tKeyID, tKeySec, v1oss.ForcePathStyle(true), v1oss.AuthVersion(tc.ver), v1oss.Region("cn-hangzhou"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := cl.Bucket("data")
			if err != nil {
				t.Fatal(err)
			}
			lifecycleLegacy(t, b, "app/legacy"+tc.name+"/")
		})
	}
	s.assertNoCallerSecrets(t)
}

func TestServeAliOSS(t *testing.T) {
	c, err := alioss.New()
	if err != nil {
		t.Skipf("npm ali-oss not installed (make node-deps): %v", err)
	}
	s := startServe(t, serveOpts{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
	for _, v4 := range []bool{false, true} {
		name := map[bool]string{false: "v1", true: "v4"}[v4]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			res, err := c.Lifecycle(ctx, alioss.Config{Endpoint: "http://localhost:" + port, Bucket: "data",
				AccessKeyID: tKeyID, AccessKeySecret: tKeySec, V4: v4, Prefix: "app/alioss-" + name + "/"})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK {
				t.Fatalf("ali-oss step %s: %d %s %s", res.Step, res.Status, res.Code, res.Message)
			}
			// Denied outside the key's prefix, with the OSS code ali-oss parses.
			n := s.upstreamRequests()
			res, err = c.Op(ctx, alioss.Config{Endpoint: "http://localhost:" + port, Bucket: "data",
				AccessKeyID: tKeyID, AccessKeySecret: tKeySec, V4: v4}, "put", "alice/x", "x")
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Status != 403 || res.Code != "AccessDenied" || s.upstreamRequests() != n {
				t.Fatalf("denied put: %+v, upstream %d→%d", res, n, s.upstreamRequests())
			}
		})
	}
	s.assertNoCallerSecrets(t)
}

func TestServeCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	s := startServe(t, serveOpts{})
	tok := mint(t, jwt.MapClaims{"sub": "alice"})
	file := filepath.Join(t.TempDir(), "up.bin")
	body := randomBytes(200 << 10)
	if err := writeFile(file, body); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), curl, append([]string{"-sS", "-H", "Authorization: Bearer " + tok}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	if code := run("-o", "/dev/null", "-w", "%{http_code}", "-T", file, s.url+"/data/alice/curl.bin"); code != "200" {
		t.Fatalf("PUT: %s", code)
	}
	if got := run(s.url + "/data/alice/curl.bin"); got != string(body) {
		t.Fatalf("GET returned %d bytes", len(got))
	}
	if got := run("-r", "5-9", s.url+"/data/alice/curl.bin"); got != string(body[5:10]) {
		t.Fatalf("range GET: %q", got)
	}
	if got := run(s.url + "/data/?list-type=2&prefix=alice/"); !strings.Contains(got, "<Key>alice/curl.bin</Key>") {
		t.Fatalf("list: %s", got)
	}
	// The token in the query (browser links): accepted, stripped before forwarding.
	out, err := exec.CommandContext(t.Context(), curl, "-sS", s.url+"/data/alice/curl.bin?access_token="+tok).Output()
	if err != nil || string(out) != string(body) {
		t.Fatalf("GET with ?access_token: %v, %d bytes", err, len(out))
	}
	curlLifecycle(t, curl, s.url, tok, "/data/alice/", body)
	n := s.upstreamRequests()
	if got := run("-w", "%{http_code}", s.url+"/data/bob/x"); !strings.Contains(got, "<Code>AccessDenied</Code>") || !strings.HasSuffix(got, "403") {
		t.Fatalf("denied GET: %s", got)
	}
	if got := run("-X", "DELETE", "-o", "/dev/null", "-w", "%{http_code}", s.url+"/data/alice/curl.bin"); got != "204" {
		t.Fatalf("DELETE: %s", got)
	}
	if s.upstreamRequests() != n+1 {
		t.Fatalf("upstream requests %d→%d: the denied GET reached the emulator", n, s.upstreamRequests())
	}
	s.assertNoCallerSecrets(t, tok)
}

// sidecarRule grants the anonymous principal every object action under
// sidecar/, beside anonymousRule's public/ (read, list, write).
const sidecarRule = `    - name: sidecar home
      anonymous: true
      buckets: [data]
      prefixes: [sidecar/]
      actions: [read, write, delete, list]
`

// TestServeUnixSidecarAnonymous runs the full object lifecycle with the
// official SDK v2 and anonymous credentials over a unix socket whose
// listener enables anonymous mode (the pod sidecar), then checks that
// anonymous is refused outside its rules, on the TCP listener, and for
// an action its rule does not grant.
// curlResult is one curl exchange: status, response headers and body.
type curlResult struct {
	code   int
	header http.Header
	body   string
}

// curlLifecycle runs, with the real curl and a bearer token, the writes
// the SDK lifecycles do, each built by hand from the OSS wire format:
// CopyObject (x-oss-copy-source), AppendObject (?append&position=), a
// 3-part multipart upload (initiate, UploadPart ×3, complete with the
// parts' XML) and DeleteMultipleObjects (with Content-MD5). base is
// "/bucket/prefix/"; src (under base + "curl.bin") is already stored.
func curlLifecycle(t *testing.T, curl, url, tok, base string, src []byte) {
	t.Helper()
	dir := t.TempDir()
	exchange := func(args ...string) curlResult {
		t.Helper()
		hdr, out := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
		args = append([]string{"-sS", "-H", "Authorization: Bearer " + tok, "-D", hdr, "-o", out, "-w", "%{http_code}"}, args...)
		code, err := exec.CommandContext(t.Context(), curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		var r curlResult
		if r.code, err = strconv.Atoi(string(code)); err != nil {
			t.Fatalf("curl %v: status %q", args, code)
		}
		raw, _ := os.ReadFile(hdr)
		b, _ := os.ReadFile(out)
		r.body = string(b)
		// The last response's head (curl writes a 100 Continue's too).
		heads := strings.Split(strings.TrimSpace(string(raw)), "\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(heads[len(heads)-1]+"\r\n\r\n")), nil)
		if err != nil {
			t.Fatalf("curl %v: response head %q: %v", args, raw, err)
		}
		r.header = resp.Header
		return r
	}
	want := func(step string, r curlResult, code int) {
		t.Helper()
		if r.code != code {
			t.Fatalf("%s: %d %s, want %d", step, r.code, r.body, code)
		}
	}
	file := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := writeFile(p, b); err != nil {
			t.Fatal(err)
		}
		return p
	}
	get := func(key string) string {
		t.Helper()
		r := exchange(url + base + key)
		want("GET "+key, r, 200)
		return r.body
	}

	// CopyObject: a PUT with x-oss-copy-source (URL-encoded /bucket/key).
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(base, "/"), "/")
	r := exchange("-X", "PUT", "-H", "x-oss-copy-source: /"+bucket+"/"+neturl.PathEscape(prefix)+"curl.bin", url+base+"copy.bin")
	want("CopyObject", r, 200)
	if !strings.Contains(r.body, "<CopyObjectResult>") || !strings.Contains(r.body, "<ETag>") {
		t.Fatalf("CopyObject body: %s", r.body)
	}
	if get("copy.bin") != string(src) {
		t.Fatal("the copy differs from its source")
	}

	// AppendObject: position 0, then the position OSS returned.
	r = exchange("-X", "POST", "--data-binary", "@"+file("one", []byte("one,")), url+base+"log.txt?append&position=0")
	want("AppendObject", r, 200)
	if next := r.header.Get("X-Oss-Next-Append-Position"); next != "4" {
		t.Fatalf("AppendObject: next position %q, want 4", next)
	}
	r = exchange("-X", "POST", "--data-binary", "@"+file("two", []byte("two")), url+base+"log.txt?append&position=4")
	want("AppendObject 2", r, 200)
	if next := r.header.Get("X-Oss-Next-Append-Position"); next != "7" {
		t.Fatalf("AppendObject 2: next position %q, want 7", next)
	}
	if got := get("log.txt"); got != "one,two" {
		t.Fatalf("appended object: %q", got)
	}

	// Multipart: initiate, three parts (all but the last at least 100 KiB,
	// as OSS requires), complete with the parts' numbers and ETags.
	r = exchange("-X", "POST", url+base+"multipart.bin?uploads")
	want("InitiateMultipartUpload", r, 200)
	var ini struct{ UploadId string }
	if err := xml.Unmarshal([]byte(r.body), &ini); err != nil || ini.UploadId == "" {
		t.Fatalf("InitiateMultipartUpload body %s: %v", r.body, err)
	}
	uploadID := neturl.QueryEscape(ini.UploadId)
	parts := [][]byte{randomBytes(100 << 10), randomBytes(120 << 10), randomBytes(777)}
	complete := "<CompleteMultipartUpload>"
	for i, p := range parts {
		n := strconv.Itoa(i + 1)
		r = exchange("-T", file("part"+n, p), url+base+"multipart.bin?partNumber="+n+"&uploadId="+uploadID)
		want("UploadPart "+n, r, 200)
		etag := r.header.Get("ETag")
		if etag == "" {
			t.Fatalf("UploadPart %s: no ETag", n)
		}
		complete += "<Part><PartNumber>" + n + "</PartNumber><ETag>" + etag + "</ETag></Part>"
	}
	complete += "</CompleteMultipartUpload>"
	r = exchange("-X", "POST", "-H", "Content-Type: application/xml", "--data-binary", "@"+file("complete.xml", []byte(complete)),
		url+base+"multipart.bin?uploadId="+uploadID)
	want("CompleteMultipartUpload", r, 200)
	if !strings.Contains(r.body, "<CompleteMultipartUploadResult>") {
		t.Fatalf("CompleteMultipartUpload body: %s", r.body)
	}
	if get("multipart.bin") != string(bytes.Join(parts, nil)) {
		t.Fatal("the multipart object differs from its parts")
	}

	// DeleteMultipleObjects: the XML body with its Content-MD5.
	keys := []string{"copy.bin", "log.txt", "multipart.bin"}
	del := "<Delete><Quiet>false</Quiet>"
	for _, k := range keys {
		del += "<Object><Key>" + prefix + k + "</Key></Object>"
	}
	del += "</Delete>"
	sum := md5.Sum([]byte(del))
	r = exchange("-X", "POST", "-H", "Content-Type: application/xml", "-H", "Content-MD5: "+base64.StdEncoding.EncodeToString(sum[:]),
		"--data-binary", "@"+file("delete.xml", []byte(del)), url+"/"+bucket+"/?delete")
	want("DeleteMultipleObjects", r, 200)
	var deleted struct {
		Deleted []struct{ Key string }
	}
	if err := xml.Unmarshal([]byte(r.body), &deleted); err != nil || len(deleted.Deleted) != len(keys) {
		t.Fatalf("DeleteMultipleObjects body %s: %v", r.body, err)
	}
	for _, k := range keys {
		if r := exchange(url + base + k); r.code != 404 || !strings.Contains(r.body, "<Code>NoSuchKey</Code>") {
			t.Fatalf("GET %s after DeleteMultipleObjects: %d %s", k, r.code, r.body)
		}
	}
}

func TestServeUnixSidecarAnonymous(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "p.sock")
	s := startServe(t, serveOpts{extraListeners: `  - name: sidecar
    network: unix
    address: ` + sock + `
    socket_mode: "0600"
    anonymous: true
`, edit: func(y string) string { return strings.Replace(y, anonymousRule, anonymousRule+sidecarRule, 1) }})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	sdk := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint("http://sidecar").WithUsePathStyle(true).
		WithRetryMaxAttempts(1).WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).WithHttpClient(hc))
	before := s.upstreamRequests()
	lifecycleV2(t, sdk, "data", "sidecar/")
	if s.upstreamRequests() == before {
		t.Fatal("the lifecycle never reached the emulator")
	}
	do := func(method, url string, body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, url, body)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("PUT", "http://sidecar/data/public/a.txt", strings.NewReader("hello sidecar")); code != 200 {
		t.Fatalf("anonymous PUT: %d %s", code, body)
	}
	if code, body := do("GET", "http://sidecar/data/public/a.txt", nil); code != 200 || body != "hello sidecar" {
		t.Fatalf("anonymous GET: %d %s", code, body)
	}
	// Outside the anonymous rule: denied before upstream.
	n := s.upstreamRequests()
	if code, body := do("GET", "http://sidecar/data/alice/x", nil); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous GET outside policy: %d %s", code, body)
	}
	// The TCP listener has not opted in: no anonymous access there, even on loopback.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/data/public/a.txt", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "InvalidToken.Missing") {
		t.Fatalf("anonymous on tcp listener: %d %s", resp.StatusCode, b)
	}
	// public/ grants no delete.
	if code, body := do("DELETE", "http://sidecar/data/public/a.txt", nil); code != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("anonymous DELETE under public/: %d %s", code, body)
	}
	if s.upstreamRequests() != n {
		t.Fatal("a denied request reached the emulator")
	}
	if fi, err := statMode(sock); err != nil || fi != 0o600 {
		t.Fatalf("socket mode %o, %v", fi, err)
	}
}

func writeFile(name string, b []byte) error { return os.WriteFile(name, b, 0o600) }

func statMode(name string) (os.FileMode, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}
