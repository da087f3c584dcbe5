package osstest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const testBucket = "bkt"

// oddKey exercises every canonicalisation corner: space, '+', '~', '(',
// '&' and '='.
const oddKey = "dir/a b+c~(1)&x=y.txt"

// newTestOSS starts an emulator with one bucket on a real listener.
func newTestOSS(t testing.TB) (*OSS, *Account, *httptest.Server) {
	t.Helper()
	acct := NewAccount("1234567890", nil)
	o, err := NewOSS(acct, OSSOptions{Buckets: []string{testBucket}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	t.Cleanup(func() {
		srv.Close()
		if err := o.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o, acct, srv
}

func v2Client(srv *httptest.Server, id *Identity, ver oss.SignatureVersionType) *oss.Client {
	return v2ClientAt(srv.URL, id, ver)
}

// v2ClientAt is v2Client for an emulator at endpoint (an http:// URL).
func v2ClientAt(endpoint string, id *Identity, ver oss.SignatureVersionType) *oss.Client {
	cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(endpoint).
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id.AccessKeyID, id.AccessKeySecret, id.SecurityToken)).
		WithUsePathStyle(true).WithSignatureVersion(ver).WithRetryMaxAttempts(1)
	return oss.NewClient(cfg)
}

// patterned returns n deterministic bytes.
func patterned(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5ETag(b []byte) string {
	s := md5.Sum(b)
	return `"` + strings.ToUpper(hex.EncodeToString(s[:])) + `"`
}

// serviceCode is the OSS error code of an SDK-v2 or legacy SDK error.
func serviceCode(err error) string {
	if err == nil {
		return "no error"
	}
	var se *oss.ServiceError
	if errors.As(err, &se) {
		return se.Code
	}
	var le v1oss.ServiceError
	if errors.As(err, &le) {
		return le.Code
	}
	return fmt.Sprintf("not a service error: %v", err)
}

// lifecycleMatrix starts an emulator cloud and runs run once per signature
// version (first) and kind of identity (a static user named user, an STS
// session), as subtests named "V4/static", "V1/sts" and so on, each with
// its own key prefix (name's "/" as "-", then "/") and the emulator's OSS
// endpoint. The STS session's credentials come from one AssumeRole call
// to the cloud's fake STS over HTTPS with the official alibaba-cloud-sdk-go
// client, as a real caller would get them.
func lifecycleMatrix(t *testing.T, user string, versions [2]string, run func(t *testing.T, endpoint string, id *Identity, version, prefix string)) {
	c := NewTestCloud(t, CloudOptions{Buckets: []string{testBucket}})
	creds := cloudAssumeRole(t, c, "lifecycle-"+user, "", 3600)
	if n := c.Faults.Calls(EndpointSTS); n != 1 {
		t.Fatalf("STS calls = %d, want the one AssumeRole", n)
	}
	ids := []struct {
		kind string
		id   *Identity
	}{
		{"static", c.Account.NewUser(user, nil)},
		{"sts", &Identity{AccessKeyID: creds.AccessKeyId, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken}},
	}
	for _, id := range ids {
		for _, v := range versions {
			name := v + "/" + id.kind
			t.Run(name, func(t *testing.T) { run(t, c.OSSURL, id.id, v, strings.ReplaceAll(name, "/", "-")+"/") })
		}
	}
}

func TestSDKv2Lifecycle(t *testing.T) {
	vers := map[string]oss.SignatureVersionType{"V4": oss.SignatureVersionV4, "V1": oss.SignatureVersionV1}
	lifecycleMatrix(t, "alice", [2]string{"V4", "V1"}, func(t *testing.T, endpoint string, id *Identity, v, pfx string) {
		runV2Lifecycle(t, v2ClientAt(endpoint, id, vers[v]), "v2-"+pfx)
	})
}

func runV2Lifecycle(t *testing.T, c *oss.Client, pfx string) {
	ctx := context.Background()
	b := oss.Ptr(testBucket)
	key := pfx + oddKey
	body := []byte("hello, emulated world")

	put, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: b, Key: oss.Ptr(key), Body: bytes.NewReader(body),
		ContentType: oss.Ptr("text/plain"), Metadata: map[string]string{"Color": "blue"}})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got := oss.ToString(put.ETag); got != md5ETag(body) {
		t.Errorf("PutObject ETag = %s, want %s", got, md5ETag(body))
	}

	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(key)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject body = %q, %v; want %q", got, err, body)
	}
	if oss.ToString(get.ContentType) != "text/plain" || get.Metadata["color"] != "blue" {
		t.Errorf("GetObject ContentType %q Metadata %v", oss.ToString(get.ContentType), get.Metadata)
	}

	for _, rg := range []struct{ spec, want string }{
		{"bytes=0-4", "hello"}, {"bytes=16-", "world"}, {"bytes=-5", "world"},
	} {
		get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(key), Range: oss.Ptr(rg.spec)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", rg.spec, err)
		}
		part, _ := io.ReadAll(get.Body)
		get.Body.Close()
		if string(part) != rg.want || get.StatusCode != http.StatusPartialContent {
			t.Errorf("GetObject %s = %d %q, want 206 %q", rg.spec, get.StatusCode, part, rg.want)
		}
	}

	head, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: b, Key: oss.Ptr(key)})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if head.ContentLength != int64(len(body)) || oss.ToString(head.ETag) != md5ETag(body) {
		t.Errorf("HeadObject length %d etag %s", head.ContentLength, oss.ToString(head.ETag))
	}

	for _, k := range []string{"dir/sub/x", "dir/sub/y", "other/z"} {
		if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: b, Key: oss.Ptr(pfx + k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	l1, err := c.ListObjects(ctx, &oss.ListObjectsRequest{Bucket: b, Prefix: oss.Ptr(pfx + "dir/"), Delimiter: oss.Ptr("/")})
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(l1.Contents) != 1 || oss.ToString(l1.Contents[0].Key) != key ||
		len(l1.CommonPrefixes) != 1 || oss.ToString(l1.CommonPrefixes[0].Prefix) != pfx+"dir/sub/" {
		t.Errorf("ListObjects = %s", dumpList(l1.Contents, l1.CommonPrefixes))
	}
	// V2, one entry per page, following continuation tokens.
	var seen []string
	var token *string
	for range 10 {
		l2, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: b, Prefix: oss.Ptr(pfx), MaxKeys: 1, ContinuationToken: token})
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range l2.Contents {
			seen = append(seen, oss.ToString(o.Key))
		}
		if !l2.IsTruncated {
			break
		}
		token = l2.NextContinuationToken
	}
	want := []string{pfx + oddKey, pfx + "dir/sub/x", pfx + "dir/sub/y", pfx + "other/z"}
	if !slices.Equal(seen, want) {
		t.Errorf("ListObjectsV2 pages = %q, want %q", seen, want)
	}

	// Multipart with three parts.
	mkey := oss.Ptr(pfx + "multi")
	parts := [][]byte{patterned(minPartSize, 1), patterned(minPartSize+7, 2), []byte("tail")}
	ini, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: b, Key: mkey})
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	var done []oss.UploadPart
	for i, p := range parts {
		up, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: b, Key: mkey, UploadId: ini.UploadId, PartNumber: int32(i + 1), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("UploadPart %d: %v", i+1, err)
		}
		done = append(done, oss.UploadPart{PartNumber: int32(i + 1), ETag: up.ETag})
	}
	lp, err := c.ListParts(ctx, &oss.ListPartsRequest{Bucket: b, Key: mkey, UploadId: ini.UploadId})
	if err != nil || len(lp.Parts) != 3 {
		t.Fatalf("ListParts = %v, %v", lp, err)
	}
	cmp, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: b, Key: mkey, UploadId: ini.UploadId,
		CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if !strings.HasSuffix(oss.ToString(cmp.ETag), `-3"`) {
		t.Errorf("multipart ETag %s, want the -3 form", oss.ToString(cmp.ETag))
	}
	whole := bytes.Join(parts, nil)
	if got := v2Get(t, c, *mkey); !bytes.Equal(got, whole) {
		t.Errorf("multipart object differs: %d bytes, want %d", len(got), len(whole))
	}

	// Append twice, then at a wrong position.
	akey := oss.Ptr(pfx + "log")
	ap, err := c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: akey, Position: oss.Ptr(int64(0)), Body: strings.NewReader("abc"), InitHashCRC64: oss.Ptr("0")})
	if err != nil {
		t.Fatalf("AppendObject: %v", err)
	}
	if _, err := c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: akey, Position: oss.Ptr(ap.NextPosition), Body: strings.NewReader("def"), InitHashCRC64: ap.HashCRC64}); err != nil {
		t.Fatalf("AppendObject 2: %v", err)
	}
	_, err = c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: akey, Position: oss.Ptr(int64(1)), Body: strings.NewReader("x")})
	if code := serviceCode(err); code != "PositionNotEqualToLength" {
		t.Errorf("append at a wrong position: %s", code)
	}
	if got := v2Get(t, c, *akey); string(got) != "abcdef" {
		t.Errorf("appended object = %q", got)
	}

	// Copy, then delete both with one request.
	ckey := oss.Ptr(pfx + "copy")
	if _, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: b, Key: ckey, SourceKey: oss.Ptr(key)}); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if got := v2Get(t, c, *ckey); !bytes.Equal(got, body) {
		t.Errorf("copy = %q", got)
	}
	del, err := c.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: b,
		Objects: []oss.DeleteObject{{Key: ckey}, {Key: akey}}})
	if err != nil {
		t.Fatalf("DeleteMultipleObjects: %v", err)
	}
	if len(del.DeletedObjects) != 2 {
		t.Errorf("DeleteMultipleObjects deleted %d", len(del.DeletedObjects))
	}
	_, err = c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: b, Key: ckey})
	if code := serviceCode(err); code != "NoSuchKey" {
		t.Errorf("HeadObject after delete: %s", code)
	}
	if ok, err := c.IsObjectExist(ctx, testBucket, *ckey); ok || err != nil { // GetObjectMeta
		t.Errorf("IsObjectExist(deleted) = %v, %v", ok, err)
	}
	if ok, err := c.IsObjectExist(ctx, testBucket, key); !ok || err != nil {
		t.Errorf("IsObjectExist = %v, %v", ok, err)
	}
	if ok, err := c.IsBucketExist(ctx, testBucket); !ok || err != nil { // GetBucketAcl
		t.Errorf("IsBucketExist = %v, %v", ok, err)
	}
	if ok, err := c.IsBucketExist(ctx, "nobkt"); ok || err != nil {
		t.Errorf("IsBucketExist(nobkt) = %v, %v", ok, err)
	}

	// Presigned GET and PUT, fetched with plain net/http.
	pg, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(key)}, oss.PresignExpires(10*time.Minute))
	if err != nil {
		t.Fatalf("Presign GET: %v", err)
	}
	if got := httpDo(t, http.MethodGet, pg.URL, nil, http.StatusOK); !bytes.Equal(got, body) {
		t.Errorf("presigned GET = %q", got)
	}
	pkey := pfx + "presigned put"
	pp, err := c.Presign(ctx, &oss.PutObjectRequest{Bucket: b, Key: oss.Ptr(pkey)}, oss.PresignExpires(10*time.Minute))
	if err != nil {
		t.Fatalf("Presign PUT: %v", err)
	}
	httpDo(t, http.MethodPut, pp.URL, []byte("via url"), http.StatusOK)
	if got := v2Get(t, c, pkey); string(got) != "via url" {
		t.Errorf("after presigned PUT = %q", got)
	}
}

func v2Get(t *testing.T, c *oss.Client, key string) []byte {
	t.Helper()
	g, err := c.GetObject(context.Background(), &oss.GetObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer g.Body.Close()
	b, err := io.ReadAll(g.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return b
}

func httpDo(t *testing.T, method, url string, body []byte, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %s", method, resp.StatusCode, want, out)
	}
	return out
}

func dumpList(objs []oss.ObjectProperties, cps []oss.CommonPrefix) string {
	var s []string
	for _, o := range objs {
		s = append(s, oss.ToString(o.Key))
	}
	for _, p := range cps {
		s = append(s, "CP:"+oss.ToString(p.Prefix))
	}
	return fmt.Sprint(s)
}

func legacyClient(t *testing.T, srv *httptest.Server, id *Identity, ver v1oss.AuthVersionType) *v1oss.Bucket {
	t.Helper()
	return legacyClientAt(t, srv.URL, id, ver)
}

// legacyClientAt is legacyClient for an emulator at endpoint (an http://
// URL).
func legacyClientAt(t *testing.T, endpoint string, id *Identity, ver v1oss.AuthVersionType) *v1oss.Bucket {
	t.Helper()
	opts := []v1oss.ClientOption{v1oss.ForcePathStyle(true), v1oss.AuthVersion(ver), v1oss.Region("cn-hangzhou")}
	if id.SecurityToken != "" {
		opts = append(opts, v1oss.SecurityToken(id.SecurityToken))
	}
	if ver == v1oss.AuthV4 {
		opts = append(opts, v1oss.AdditionalHeaders([]string{"host"}))
	}
	cl, err := v1oss.New(endpoint, id.AccessKeyID, id.AccessKeySecret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cl.Bucket(testBucket)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLegacySDKLifecycle(t *testing.T) {
	vers := map[string]v1oss.AuthVersionType{"V1": v1oss.AuthV1, "V4": v1oss.AuthV4}
	lifecycleMatrix(t, "bob", [2]string{"V1", "V4"}, func(t *testing.T, endpoint string, id *Identity, v, pfx string) {
		runLegacyLifecycle(t, legacyClientAt(t, endpoint, id, vers[v]), "legacy-"+pfx)
	})
}

func legacyGet(t *testing.T, b *v1oss.Bucket, key string, opts ...v1oss.Option) []byte {
	t.Helper()
	rc, err := b.GetObject(key, opts...)
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return out
}

func runLegacyLifecycle(t *testing.T, b *v1oss.Bucket, pfx string) {
	key := pfx + oddKey
	body := []byte("hello, legacy world")
	if err := b.PutObject(key, bytes.NewReader(body), v1oss.ContentType("text/plain"), v1oss.Meta("color", "red")); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if got := legacyGet(t, b, key); !bytes.Equal(got, body) {
		t.Fatalf("GetObject = %q", got)
	}
	for _, rg := range []struct {
		opt  v1oss.Option
		want string
	}{
		{v1oss.Range(0, 4), "hello"}, {v1oss.NormalizedRange("14-"), "world"}, {v1oss.NormalizedRange("-5"), "world"},
	} {
		if got := legacyGet(t, b, key, rg.opt); string(got) != rg.want {
			t.Errorf("range GetObject = %q, want %q", got, rg.want)
		}
	}
	meta, err := b.GetObjectDetailedMeta(key)
	if err != nil {
		t.Fatalf("GetObjectDetailedMeta: %v", err)
	}
	if meta.Get("Etag") != md5ETag(body) || meta.Get("X-Oss-Meta-Color") != "red" || meta.Get("Content-Type") != "text/plain" {
		t.Errorf("HeadObject headers %v", meta)
	}

	for _, k := range []string{"dir/sub/x", "dir/sub/y", "other/z"} {
		if err := b.PutObject(pfx+k, strings.NewReader(k)); err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
	}
	l1, err := b.ListObjects(v1oss.Prefix(pfx+"dir/"), v1oss.Delimiter("/"))
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if len(l1.Objects) != 1 || l1.Objects[0].Key != key || !slices.Equal(l1.CommonPrefixes, []string{pfx + "dir/sub/"}) {
		t.Errorf("ListObjects = %+v", l1)
	}
	var seen []string
	token := ""
	for range 10 {
		opts := []v1oss.Option{v1oss.Prefix(pfx), v1oss.MaxKeys(2)}
		if token != "" {
			opts = append(opts, v1oss.ContinuationToken(token))
		}
		l2, err := b.ListObjectsV2(opts...)
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range l2.Objects {
			seen = append(seen, o.Key)
		}
		if !l2.IsTruncated {
			break
		}
		token = l2.NextContinuationToken
	}
	want := []string{pfx + oddKey, pfx + "dir/sub/x", pfx + "dir/sub/y", pfx + "other/z"}
	if !slices.Equal(seen, want) {
		t.Errorf("ListObjectsV2 pages = %q, want %q", seen, want)
	}

	mkey := pfx + "multi"
	parts := [][]byte{patterned(minPartSize, 3), patterned(minPartSize+1, 4), []byte("end")}
	imur, err := b.InitiateMultipartUpload(mkey)
	if err != nil {
		t.Fatalf("InitiateMultipartUpload: %v", err)
	}
	var ups []v1oss.UploadPart
	for i, p := range parts {
		up, err := b.UploadPart(imur, bytes.NewReader(p), int64(len(p)), i+1)
		if err != nil {
			t.Fatalf("UploadPart: %v", err)
		}
		ups = append(ups, up)
	}
	lp, err := b.ListUploadedParts(imur)
	if err != nil || len(lp.UploadedParts) != 3 {
		t.Fatalf("ListUploadedParts = %+v, %v", lp, err)
	}
	if _, err := b.CompleteMultipartUpload(imur, ups); err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	if got := legacyGet(t, b, mkey); !bytes.Equal(got, bytes.Join(parts, nil)) {
		t.Errorf("multipart object differs (%d bytes)", len(got))
	}

	akey := pfx + "log"
	next, err := b.AppendObject(akey, strings.NewReader("abc"), 0)
	if err != nil {
		t.Fatalf("AppendObject: %v", err)
	}
	if _, err := b.AppendObject(akey, strings.NewReader("def"), next); err != nil {
		t.Fatalf("AppendObject 2: %v", err)
	}
	if _, err := b.AppendObject(akey, strings.NewReader("x"), 2); serviceCode(err) != "PositionNotEqualToLength" {
		t.Errorf("append at a wrong position: %v", err)
	}
	if got := legacyGet(t, b, akey); string(got) != "abcdef" {
		t.Errorf("appended = %q", got)
	}

	ckey := pfx + "copy of " + oddKey
	if _, err := b.CopyObject(key, ckey); err != nil {
		t.Fatalf("CopyObject: %v", err)
	}
	if got := legacyGet(t, b, ckey); !bytes.Equal(got, body) {
		t.Errorf("copy = %q", got)
	}
	del, err := b.DeleteObjects([]string{ckey, akey}, v1oss.DeleteObjectsQuiet(false))
	if err != nil || len(del.DeletedObjects) != 2 {
		t.Fatalf("DeleteObjects = %+v, %v", del, err)
	}
	if ok, err := b.IsObjectExist(ckey); ok || err != nil {
		t.Errorf("IsObjectExist after delete = %v, %v", ok, err)
	}

	u, err := b.SignURL(key, v1oss.HTTPGet, 600)
	if err != nil {
		t.Fatalf("SignURL GET: %v", err)
	}
	if got := httpDo(t, http.MethodGet, u, nil, http.StatusOK); !bytes.Equal(got, body) {
		t.Errorf("presigned GET = %q", got)
	}
	pkey := pfx + "presigned put"
	u, err = b.SignURL(pkey, v1oss.HTTPPut, 600)
	if err != nil {
		t.Fatalf("SignURL PUT: %v", err)
	}
	httpDo(t, http.MethodPut, u, []byte("via legacy url"), http.StatusOK)
	if got := legacyGet(t, b, pkey); string(got) != "via legacy url" {
		t.Errorf("after presigned PUT = %q", got)
	}
}

// TestSDKv2UploaderDownloader drives the SDK's parallel multipart uploader
// and ranged downloader, which combine part CRCs and check them against
// the emulator's.
func TestSDKv2UploaderDownloader(t *testing.T) {
	_, acct, srv := newTestOSS(t)
	c := v2Client(srv, acct.NewUser("mia", nil), oss.SignatureVersionV4)
	ctx := context.Background()
	data := patterned(3<<20+123, 11)
	up := c.NewUploader(func(o *oss.UploaderOptions) { o.PartSize = 512 << 10; o.ParallelNum = 3 })
	res, err := up.UploadFrom(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr("up/big")}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("UploadFrom: %v", err)
	}
	if !strings.HasSuffix(oss.ToString(res.ETag), `-7"`) {
		t.Errorf("uploaded ETag %s, want 7 parts", oss.ToString(res.ETag))
	}
	dst := t.TempDir() + "/big"
	down := c.NewDownloader(func(o *oss.DownloaderOptions) { o.PartSize = 700 << 10; o.ParallelNum = 3 })
	if _, err := down.DownloadFile(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr("up/big")}, dst); err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("downloaded %d bytes (%v), want %d identical", len(got), err, len(data))
	}
}
