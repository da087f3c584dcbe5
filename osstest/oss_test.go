package osstest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	sdksigner "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
)

// signed builds a V4 header-signed request with the official signer.
func signed(t testing.TB, o *OSS, id *Identity, method, url string, body io.Reader, hdr map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return signedReq(t, o, id, req)
}

func signedReq(t testing.TB, o *OSS, id *Identity, req *http.Request) *http.Request {
	t.Helper()
	bucket, key, hasKey := o.route(req)
	sc := &sdksigner.SigningContext{Product: oss.Ptr("oss"), Region: oss.Ptr(o.Region()), Request: req,
		Credentials: &credentials.Credentials{AccessKeyID: id.AccessKeyID, AccessKeySecret: id.AccessKeySecret, SecurityToken: id.SecurityToken}}
	if bucket != "" {
		sc.Bucket = &bucket
		if hasKey {
			sc.Key = &key
		}
	}
	if err := (&sdksigner.SignerV4{}).Sign(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		h        string
		standard bool
		start    int64
		length   int64
		partial  bool
		ok       bool
	}{
		{"", false, 0, size, false, true},
		{"bytes=0-499", false, 0, 500, true, true},
		{"bytes=500-", false, 500, 500, true, true},
		{"bytes=-500", false, 500, 500, true, true},
		{"bytes=0-", false, 0, size, true, true},
		{"bytes=0-499,500-999", false, 0, 500, true, true}, // first range only
		{"byte=0-499", false, 0, size, false, true},        // malformed: ignored
		{"bytes=5-2", false, 0, size, false, true},
		{"bytes=abc", false, 0, size, false, true},
		{"bytes=500-2000", false, 0, size, false, true}, // end past: whole object
		{"bytes=500-2000", true, 500, 500, true, true},  // standard: clamped
		{"bytes=1000-2000", false, 0, size, false, true},
		{"bytes=1000-2000", true, 0, 0, false, false}, // standard: 416
		{"bytes=1000-", true, 0, 0, false, false},
		{"bytes=-2000", false, 0, size, false, true},
		{"bytes=-2000", true, 0, size, true, true},
		{"bytes=-0", true, 0, 0, false, false},
		{"bytes=+1-2", false, 0, size, false, true},
	}
	for _, tt := range tests {
		got, ok := parseRange(tt.h, size, tt.standard)
		want := byteRange{start: tt.start, length: tt.length, partial: tt.partial}
		if ok != tt.ok || (ok && got != want) {
			t.Errorf("parseRange(%q, standard=%v) = %+v %v, want %+v %v", tt.h, tt.standard, got, ok, want, tt.ok)
		}
	}
}

func TestWireShapes(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	user := acct.NewUser("ivy", nil)
	body := []byte("0123456789")
	resp, _ := do(t, signed(t, o, user, http.MethodPut, srv.URL+"/bkt/obj", bytes.NewReader(body), map[string]string{"Content-Type": "text/x"}))
	crc := crc64.Checksum(body, crcTable)
	sum := md5.Sum(body)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != md5ETag(body) ||
		resp.Header.Get("X-Oss-Hash-Crc64ecma") != strconv.FormatUint(crc, 10) ||
		resp.Header.Get("Content-Md5") != base64.StdEncoding.EncodeToString(sum[:]) ||
		resp.Header.Get("X-Oss-Request-Id") == "" || resp.Header.Get("Date") == "" {
		t.Errorf("PutObject response %d %v", resp.StatusCode, resp.Header)
	}

	t.Run("range and overrides", func(t *testing.T) {
		resp, got := do(t, signed(t, o, user, http.MethodGet, srv.URL+"/bkt/obj?response-content-type=image%2Fpng&response-content-disposition=attachment",
			nil, map[string]string{"Range": "bytes=-3"}))
		if resp.StatusCode != 206 || string(got) != "789" || resp.Header.Get("Content-Range") != "bytes 7-9/10" ||
			resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Content-Disposition") != "attachment" {
			t.Errorf("GET range = %d %q %v", resp.StatusCode, got, resp.Header)
		}
		resp, _ = do(t, signed(t, o, user, http.MethodGet, srv.URL+"/bkt/obj", nil, map[string]string{"Range": "bytes=10-", "X-Oss-Range-Behavior": "standard"}))
		if resp.StatusCode != 416 {
			t.Errorf("unsatisfiable standard range: %d", resp.StatusCode)
		}
	})

	t.Run("HEAD error in x-oss-err", func(t *testing.T) {
		e := doError(t, signed(t, o, user, http.MethodHead, srv.URL+"/bkt/missing", nil, nil))
		if e.Status != 404 || e.Code != "NoSuchKey" || e.Header.Get("X-Oss-Ec") != "0026-00000001" {
			t.Errorf("HEAD missing = %+v", e)
		}
	})

	t.Run("Content-MD5", func(t *testing.T) {
		for _, tc := range []struct {
			md5, code string
		}{
			{"not base64!", "InvalidDigest"},
			{base64.StdEncoding.EncodeToString([]byte("short")), "InvalidDigest"},
			{base64.StdEncoding.EncodeToString(sum[:]), ""},
			{"1B2M2Y8AsgTpgAmY7PhCfg==", "BadDigest"}, // MD5 of the empty body
		} {
			req := signed(t, o, user, http.MethodPut, srv.URL+"/bkt/md5", bytes.NewReader(body), map[string]string{"Content-Md5": tc.md5})
			if tc.code == "" {
				if resp, b := do(t, req); resp.StatusCode != 200 {
					t.Errorf("right Content-MD5: %d %s", resp.StatusCode, b)
				}
				continue
			}
			if e := doError(t, req); e.Status != 400 || e.Code != tc.code {
				t.Errorf("Content-MD5 %q: %d %s, want 400 %s", tc.md5, e.Status, e.Code, tc.code)
			}
		}
	})

	t.Run("chunked PutObject and UploadPart", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for range 3 {
				_, _ = pw.Write([]byte("chunk;"))
			}
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bkt/chunked", pr)
		req.ContentLength = -1 // unknown: Transfer-Encoding: chunked
		req = signedReq(t, o, user, req)
		if resp, b := do(t, req); resp.StatusCode != 200 || req.ContentLength != -1 {
			t.Fatalf("chunked put: %d %s (ContentLength %d)", resp.StatusCode, b, req.ContentLength)
		}
		resp, got := do(t, signed(t, o, user, http.MethodGet, srv.URL+"/bkt/chunked", nil, nil))
		if string(got) != "chunk;chunk;chunk;" || resp.Header.Get("Content-Length") != "18" {
			t.Errorf("chunked object = %q", got)
		}
	})

	t.Run("MissingContentLength", func(t *testing.T) {
		req := signed(t, o, user, http.MethodPut, srv.URL+"/bkt/nolen", nil, nil)
		conn, err := net.Dial("tcp", req.URL.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Neither Content-Length nor Transfer-Encoding, which net/http
		// clients never send for a PUT.
		var raw strings.Builder
		raw.WriteString("PUT /bkt/nolen HTTP/1.1\r\nHost: " + req.URL.Host + "\r\nConnection: close\r\n")
		for k, vs := range req.Header {
			raw.WriteString(k + ": " + vs[0] + "\r\n")
		}
		raw.WriteString("\r\n")
		if _, err := io.WriteString(conn, raw.String()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 411 || !bytes.Contains(b, []byte("<Code>MissingContentLength</Code>")) {
			t.Errorf("PUT without length: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("DeleteMultipleObjects", func(t *testing.T) {
		for _, k := range []string{"a b&c", "d"} {
			do(t, signed(t, o, user, http.MethodPut, srv.URL+"/bkt/"+strings.ReplaceAll(k, " ", "%20"), strings.NewReader("x"), nil))
		}
		xmlBody := `<Delete><Quiet>false</Quiet><Object><Key>a b&amp;c</Key></Object><Object><Key>gone</Key></Object></Delete>`
		if e := doError(t, signed(t, o, user, http.MethodPost, srv.URL+"/bkt/?delete", strings.NewReader(xmlBody), nil)); e.Status != 400 || e.EC != "0016-00000606" {
			t.Errorf("without Content-MD5: %+v", e)
		}
		md := md5.Sum([]byte(xmlBody))
		resp, b := do(t, signed(t, o, user, http.MethodPost, srv.URL+"/bkt/?delete&encoding-type=url", strings.NewReader(xmlBody),
			map[string]string{"Content-Md5": base64.StdEncoding.EncodeToString(md[:])}))
		var res struct {
			Keys []string `xml:"Deleted>Key"`
		}
		if err := xml.Unmarshal(b, &res); err != nil || resp.StatusCode != 200 || !slices.Equal(res.Keys, []string{"a%20b%26c", "gone"}) {
			t.Errorf("delete = %d %s", resp.StatusCode, b)
		}
		quiet := `<Delete><Quiet>true</Quiet><Object><Key>d</Key></Object></Delete>`
		md = md5.Sum([]byte(quiet))
		_, b = do(t, signed(t, o, user, http.MethodPost, srv.URL+"/bkt/?delete", strings.NewReader(quiet),
			map[string]string{"Content-Md5": base64.StdEncoding.EncodeToString(md[:])}))
		if bytes.Contains(b, []byte("<Deleted>")) {
			t.Errorf("quiet delete lists keys: %s", b)
		}
		if keys, _ := o.ObjectKeys(testBucket); slices.Contains(keys, "d") || slices.Contains(keys, "a b&c") {
			t.Errorf("keys left: %q", keys)
		}
	})
}

func TestMultipartErrorsAndCRC(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	user := acct.NewUser("jack", nil)
	c := v2Client(srv, user, oss.SignatureVersionV4)
	ctx := context.Background()
	b, k := oss.Ptr(testBucket), oss.Ptr("mp")
	ini, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: b, Key: k})
	if err != nil {
		t.Fatal(err)
	}
	data := [][]byte{patterned(minPartSize, 7), patterned(minPartSize, 8), patterned(5, 9)}
	var parts []oss.UploadPart
	for i, d := range data {
		up, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: b, Key: k, UploadId: ini.UploadId, PartNumber: int32(i + 1), Body: bytes.NewReader(d)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, oss.UploadPart{PartNumber: int32(i + 1), ETag: up.ETag})
	}
	up4, err := c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: b, Key: k, UploadId: ini.UploadId, PartNumber: 4, Body: strings.NewReader("tiny")})
	if err != nil {
		t.Fatal(err)
	}
	extra := oss.UploadPart{PartNumber: 4, ETag: up4.ETag}
	complete := func(ps []oss.UploadPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: b, Key: k, UploadId: ini.UploadId,
			CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: ps}})
		return err
	}
	for _, tc := range []struct {
		name  string
		parts []oss.UploadPart
		code  string
	}{
		{"wrong etag", []oss.UploadPart{parts[0], {PartNumber: 2, ETag: parts[0].ETag}, parts[2]}, "InvalidPart"},
		{"missing part", []oss.UploadPart{parts[0], {PartNumber: 5, ETag: parts[2].ETag}}, "InvalidPart"},
		{"small middle part", []oss.UploadPart{parts[2], extra}, "EntityTooSmall"},
	} {
		if got := serviceCode(complete(tc.parts)); got != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
		}
	}
	// The SDK sorts parts, so send an out-of-order list by hand.
	unordered := "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>" + *parts[1].ETag +
		"</ETag></Part><Part><PartNumber>1</PartNumber><ETag>" + *parts[0].ETag + "</ETag></Part></CompleteMultipartUpload>"
	if e := doError(t, signed(t, o, user, http.MethodPost, srv.URL+"/bkt/mp?uploadId="+*ini.UploadId, strings.NewReader(unordered), nil)); e.Code != "InvalidPartOrder" {
		t.Errorf("out of order: %+v", e)
	}
	if err := complete(parts); err != nil {
		t.Fatal(err)
	}
	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: k}) // the SDK checks the CRC itself too
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	whole := bytes.Join(data, nil)
	if err != nil || !bytes.Equal(got, whole) {
		t.Fatalf("multipart body: %v", err)
	}
	if want := strconv.FormatUint(crc64.Checksum(whole, crcTable), 10); oss.ToString(get.HashCRC64) != want {
		t.Errorf("combined CRC %s, want %s", oss.ToString(get.HashCRC64), want)
	}
	// UploadPartCopy: the completed object, re-assembled from two ranges.
	ini3, err := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: b, Key: oss.Ptr("mp-copy")})
	if err != nil {
		t.Fatal(err)
	}
	var cparts []oss.UploadPart
	for i, rg := range []string{"bytes=0-102399", "bytes=102400-" + strconv.Itoa(len(whole)-1)} {
		cp, err := c.UploadPartCopy(ctx, &oss.UploadPartCopyRequest{Bucket: b, Key: oss.Ptr("mp-copy"), UploadId: ini3.UploadId,
			PartNumber: int32(i + 1), SourceKey: k, Range: oss.Ptr(rg)})
		if err != nil {
			t.Fatalf("UploadPartCopy %s: %v", rg, err)
		}
		cparts = append(cparts, oss.UploadPart{PartNumber: int32(i + 1), ETag: cp.ETag})
	}
	if _, err := c.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{Bucket: b, Key: oss.Ptr("mp-copy"), UploadId: ini3.UploadId,
		CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: cparts}}); err != nil {
		t.Fatal(err)
	}
	if got := v2Get(t, c, "mp-copy"); !bytes.Equal(got, whole) {
		t.Errorf("part-copied object differs (%d bytes)", len(got))
	}
	_, err = c.UploadPartCopy(ctx, &oss.UploadPartCopyRequest{Bucket: b, Key: oss.Ptr("mp-copy"), UploadId: ini3.UploadId,
		PartNumber: 1, SourceKey: k})
	if got := serviceCode(err); got != "NoSuchUpload" {
		t.Errorf("UploadPartCopy after complete: %s", got)
	}

	if got := serviceCode(complete(parts)); got != "NoSuchUpload" {
		t.Errorf("complete twice: %s", got)
	}
	ini2, _ := c.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{Bucket: b, Key: k})
	if _, err := c.AbortMultipartUpload(ctx, &oss.AbortMultipartUploadRequest{Bucket: b, Key: k, UploadId: ini2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UploadPart(ctx, &oss.UploadPartRequest{Bucket: b, Key: k, UploadId: ini2.UploadId, PartNumber: 1, Body: strings.NewReader("x")})
	if got := serviceCode(err); got != "NoSuchUpload" {
		t.Errorf("upload after abort: %s", got)
	}
}

func TestListPaging(t *testing.T) {
	o, _, _ := newTestOSS(t)
	keys := []string{"a", "b/1", "b/2", "b/3/x", "c", "d/e/f"}
	for _, k := range keys {
		if e := o.publish(testBucket, &object{key: k, kind: "Normal"}); e != nil {
			t.Fatal(e)
		}
	}
	tests := []struct {
		prefix, delim, marker string
		max                   int
		want                  []string // keys, and prefixes ending in the delimiter
		truncated             bool
		next                  string
	}{
		{"", "", "", 100, keys, false, "d/e/f"},
		{"", "/", "", 100, []string{"a", "b/", "c", "d/"}, false, "d/"},
		{"", "/", "", 2, []string{"a", "b/"}, true, "b/"},
		{"", "/", "b/", 2, []string{"c", "d/"}, false, "d/"},
		{"", "/", "b/1", 2, []string{"c", "d/"}, false, "d/"}, // b/ already returned
		{"b/", "/", "", 100, []string{"b/1", "b/2", "b/3/"}, false, "b/3/"},
		{"b/", "", "b/1", 1, []string{"b/2"}, true, "b/2"},
		{"", "", "", 0, nil, false, ""},
		{"zz", "/", "", 10, nil, false, ""},
	}
	for _, tt := range tests {
		p, e := o.list(testBucket, tt.prefix, tt.delim, tt.marker, tt.max)
		if e != nil {
			t.Fatal(e)
		}
		var got []string
		for _, obj := range p.objects {
			got = append(got, obj.key)
		}
		got = append(got, p.prefixes...)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) || p.truncated != tt.truncated || p.next != tt.next {
			t.Errorf("list(%q,%q,%q,%d) = %q truncated=%v next=%q; want %q %v %q",
				tt.prefix, tt.delim, tt.marker, tt.max, got, p.truncated, p.next, tt.want, tt.truncated, tt.next)
		}
	}
}

// TestVirtualHostAndService drives virtual-host addressing with SDK v2
// (a dialer maps the OSS host names to the listener) and the service and
// bucket-level calls.
func TestVirtualHostAndService(t *testing.T) {
	acct := NewAccount("1234567890", nil)
	o, err := NewOSS(acct, OSSOptions{Buckets: []string{"alpha", "beta"}, VirtualHostSuffix: "oss-cn-hangzhou.aliyuncs.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	srv := httptest.NewServer(o)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	defer hc.CloseIdleConnections()
	user := acct.NewUser("kim", nil)
	cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint("http://oss-cn-hangzhou.aliyuncs.com").
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.AccessKeySecret)).
		WithHttpClient(hc).WithRetryMaxAttempts(1)
	c := oss.NewClient(cfg)
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("beta"), Key: oss.Ptr("vh/key"), Body: strings.NewReader("vh")}); err != nil {
		t.Fatalf("virtual-host PutObject: %v", err)
	}
	if keys, _ := o.ObjectKeys("beta"); !slices.Equal(keys, []string{"vh/key"}) {
		t.Errorf("beta keys = %q", keys)
	}
	lb, err := c.ListBuckets(ctx, &oss.ListBucketsRequest{})
	if err != nil || len(lb.Buckets) != 2 || oss.ToString(lb.Buckets[0].Name) != "alpha" {
		t.Errorf("ListBuckets = %+v, %v", lb, err)
	}
	bi, err := c.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: oss.Ptr("alpha")})
	if err != nil || oss.ToString(bi.BucketInfo.Name) != "alpha" {
		t.Errorf("GetBucketInfo = %+v, %v", bi, err)
	}
	_, err = c.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: oss.Ptr("gamma")})
	if serviceCode(err) != "NoSuchBucket" {
		t.Errorf("GetBucketInfo missing: %v", err)
	}
}

func TestNewOSSOptions(t *testing.T) {
	acct := NewAccount("1", nil)
	if _, err := NewOSS(nil, OSSOptions{}); err == nil {
		t.Error("NewOSS(nil) succeeded")
	}
	if _, err := NewOSS(acct, OSSOptions{Buckets: []string{"UPPER"}}); err == nil {
		t.Error("invalid bucket name accepted")
	}
	dir := t.TempDir()
	o, err := NewOSS(acct, OSSOptions{Dir: dir, Region: "cn-beijing", MaxSkew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if o.Region() != "cn-beijing" || o.maxSkew != time.Minute {
		t.Errorf("options not applied")
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.CreateBucket("late"); err == nil {
		t.Error("CreateBucket after Close succeeded")
	}
}

// TestConcurrentAccess races writers, readers, appenders and deleters on a
// few keys. Every body read back must be whole (its MD5 is its ETag), and
// the appended object must hold every append exactly once.
func TestConcurrentAccess(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	c := v2Client(srv, acct.NewUser("race", nil), oss.SignatureVersionV4)
	ctx := context.Background()
	b := oss.Ptr(testBucket)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Go(func() {
			for i := range 15 {
				key := oss.Ptr("k" + strconv.Itoa(i%3))
				switch (g + i) % 4 {
				case 0:
					body := bytes.Repeat([]byte{byte('a' + g)}, 1000*(g+1))
					if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: b, Key: key, Body: bytes.NewReader(body)}); err != nil {
						errs <- err
					}
				case 1:
					get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: b, Key: key})
					switch {
					case serviceCode(err) == "NoSuchKey":
					case err != nil:
						errs <- err
					default:
						data, err := io.ReadAll(get.Body) // the SDK checks the CRC as well
						get.Body.Close()
						if err != nil || md5ETag(data) != oss.ToString(get.ETag) {
							errs <- fmt.Errorf("torn read of %s: %d bytes, %v", *key, len(data), err)
						}
					}
				case 2:
					if _, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: b, Key: key}); err != nil {
						errs <- err
					}
				case 3:
					if _, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: b}); err != nil {
						errs <- err
					}
				}
				// Appends race on one key: each retries until its position holds.
				for {
					h, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: b, Key: oss.Ptr("log")})
					pos := int64(0)
					if err == nil {
						pos = h.ContentLength
					}
					_, err = c.AppendObject(ctx, &oss.AppendObjectRequest{Bucket: b, Key: oss.Ptr("log"), Position: &pos, Body: strings.NewReader(string(rune('A' + g)))})
					if err == nil {
						break
					}
					if serviceCode(err) != "PositionNotEqualToLength" {
						errs <- err
						break
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rc, obj, err := o.openObject(testBucket, "log")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	if len(data) != 6*15 || obj.crc != crc64.Checksum(data, crcTable) {
		t.Errorf("log has %d bytes (want 90), crc %d vs %d", len(data), obj.crc, crc64.Checksum(data, crcTable))
	}
	for g := range 6 {
		if n := bytes.Count(data, []byte{byte('A' + g)}); n != 15 {
			t.Errorf("writer %d appended %d times, want 15", g, n)
		}
	}
}

func TestDirectAccess(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	ctx := context.Background()
	if err := o.PutObject(ctx, testBucket, "seed", strings.NewReader("seeded")); err != nil {
		t.Fatal(err)
	}
	if err := o.PutObject(ctx, "nobkt", "seed", strings.NewReader("x")); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("PutObject to a missing bucket: %v", err)
	}
	if got := v2Get(t, v2Client(srv, acct.NewUser("lee", nil), oss.SignatureVersionV4), "seed"); string(got) != "seeded" {
		t.Errorf("seeded object = %q", got)
	}
	rc, err := o.OpenObject(testBucket, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.PutObject(ctx, testBucket, "seed", strings.NewReader("replaced")); err != nil { // the open reader keeps its data
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "seeded" {
		t.Errorf("open reader after overwrite = %q", got)
	}
	if _, err := o.OpenObject(testBucket, "none"); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("OpenObject missing: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := o.PutObject(canceled, testBucket, "c", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutObject with a canceled context: %v", err)
	}
}

func TestIdentityRedacted(t *testing.T) {
	acct := NewAccount("1", nil)
	id := acct.MintSTS("acs:ram::1:role/r/s", time.Hour)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("who", "id", id, "value", *id)
	for _, out := range []string{fmt.Sprint(id), fmt.Sprintf("%+v", *id), fmt.Sprintf("%v", []*Identity{id}), logged.String()} {
		if strings.Contains(out, id.AccessKeySecret) || strings.Contains(out, id.SecurityToken) || !strings.Contains(out, id.AccessKeyID) {
			t.Errorf("identity printed as %s", out)
		}
	}
}

// TestStorageFiles checks what lands in Dir: one file per complete body or
// part, nothing from a rejected upload, nothing left after deletes.
func TestStorageFiles(t *testing.T) {
	dir := t.TempDir()
	acct := NewAccount("1234567890", nil)
	o, err := NewOSS(acct, OSSOptions{Dir: dir, Buckets: []string{testBucket}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	defer srv.Close()
	user := acct.NewUser("olga", nil)
	files := func() []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	count := func(step string, want int) {
		t.Helper()
		got := files()
		for _, n := range got {
			if !strings.HasPrefix(n, "obj-") {
				t.Errorf("%s: stray file %s", step, n)
			}
		}
		if len(got) != want {
			t.Errorf("%s: %d files %q, want %d", step, len(got), got, want)
		}
	}
	put := func(key, body, md5 string) int {
		hdr := map[string]string{}
		if md5 != "" {
			hdr["Content-Md5"] = md5
		}
		resp, _ := do(t, signed(t, o, user, http.MethodPut, srv.URL+"/bkt/"+key, strings.NewReader(body), hdr))
		return resp.StatusCode
	}
	if put("a", "one", "") != 200 {
		t.Fatal("put a")
	}
	count("after put", 1)
	if put("b", "two", "1B2M2Y8AsgTpgAmY7PhCfg==") != 400 {
		t.Fatal("bad digest accepted")
	}
	count("after a rejected put", 1)
	if put("a", "one again", "") != 200 {
		t.Fatal("overwrite a")
	}
	count("after overwrite", 1)
	ctx := context.Background()
	if err := o.PutObject(ctx, testBucket, "c", strings.NewReader("three")); err != nil {
		t.Fatal(err)
	}
	count("after seeding", 2)
	for _, k := range []string{"a", "c"} {
		if resp, _ := do(t, signed(t, o, user, http.MethodDelete, srv.URL+"/bkt/"+k, nil, nil)); resp.StatusCode != 204 {
			t.Fatalf("delete %s: %d", k, resp.StatusCode)
		}
	}
	count("after deletes", 0)
	if err := o.PutObject(ctx, testBucket, "d", strings.NewReader("four")); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	count("after Close", 0)
}
