package osstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
)

func FuzzParseAuthHeader(f *testing.F) {
	for _, s := range []string{
		"OSS LTAIabc:c2lnbmF0dXJl",
		"OSS4-HMAC-SHA256 Credential=AK/20260101/cn-hangzhou/oss/aliyun_v4_request,AdditionalHeaders=host,Signature=abcd",
		"OSS4-HMAC-SHA256 Credential=AK/20260101/cn-hangzhou/oss/aliyun_v4_request, Signature=abcd, AdditionalHeaders=host;range",
		"OSS :", "OSS4-HMAC-SHA256 ", "Bearer x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, e := parseAuthHeader(h, http.Header{})
		if (a == nil) == (e == nil) {
			t.Fatalf("parseAuthHeader(%q) = %v, %v: want exactly one", h, a, e)
		}
		if a == nil {
			return
		}
		if a.accessKeyID == "" || a.signature == "" || (a.version != 1 && a.version != 4) {
			t.Fatalf("parseAuthHeader(%q) accepted %+v", h, a)
		}
		if a.version == 4 && (len(a.scopeDate) != 8 || a.region == "" && !strings.Contains(h, "//")) {
			t.Fatalf("parseAuthHeader(%q): scope %q/%q", h, a.scopeDate, a.region)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-3", "bytes=0-1,3-4", "bytes=x", "bytes=9-2", "bytes=-0"} {
		f.Add(s, int64(10), false)
		f.Add(s, int64(10), true)
	}
	f.Fuzz(func(t *testing.T, h string, size int64, standard bool) {
		if size < 0 {
			size = -size
			if size < 0 {
				return
			}
		}
		r, ok := parseRange(h, size, standard)
		if !ok {
			if !standard {
				t.Fatalf("parseRange(%q, %d) refused without x-oss-range-behavior", h, size)
			}
			return
		}
		if r.start < 0 || r.length < 0 || r.start+r.length > size || r.start+r.length < r.start {
			t.Fatalf("parseRange(%q, %d, %v) = %+v: outside the object", h, size, standard, r)
		}
		if !r.partial && (r.start != 0 || r.length != size) {
			t.Fatalf("parseRange(%q, %d, %v) = %+v: whole object with an offset", h, size, standard, r)
		}
		if r.partial && r.length == 0 {
			t.Fatalf("parseRange(%q, %d, %v) = %+v: empty partial range", h, size, standard, r)
		}
	})
}

// FuzzCanonicalQueryV4 checks that canonicalisation is idempotent and that
// every output character is unreserved, '%', '=' or '&'.
func FuzzCanonicalQueryV4(f *testing.F) {
	for _, s := range []string{"a=b&c", "prefix=dir%2Fa%20b&list-type=2", "x=a+b&x=a%2Bb", "%zz", "k=&=v&&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, ok := canonicalQueryV4(raw, false)
		if !ok {
			return
		}
		again, ok := canonicalQueryV4(out, false)
		if !ok || again != out {
			t.Fatalf("canonicalQueryV4(%q) = %q, then %q", raw, out, again)
		}
		for _, c := range out {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.~%=&", c)) {
				t.Fatalf("canonicalQueryV4(%q) = %q: unencoded %q", raw, out, c)
			}
		}
	})
}

// BenchmarkVerify measures judging one V4 header-signed request, through
// the SDK signer and through the independent verifier.
func BenchmarkVerify(b *testing.B) {
	o, acct, srv := newTestOSS(b)
	user := acct.NewUser("bench", nil)
	req := signed(b, o, user, http.MethodGet, srv.URL+"/bkt/"+strings.ReplaceAll(oddKey, " ", "%20")+"?response-content-type=text%2Fplain", nil, nil)
	req.Host = req.URL.Host
	in := verifyInputFor(b, o, req)
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, done := verifySDK(in); !ok || !done {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("independent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := verifyIndependent(in); !ok {
				b.Fatal("rejected")
			}
		}
	})
}

// BenchmarkPutGet measures a signed 4 KiB PutObject and GetObject through
// the handler, without sockets.
func BenchmarkPutGet(b *testing.B) {
	o, acct, srv := newTestOSS(b)
	user := acct.NewUser("bench", nil)
	body := patterned(4<<10, 1)
	b.ReportAllocs()
	b.SetBytes(int64(2 * len(body)))
	for b.Loop() {
		put := signed(b, o, user, http.MethodPut, srv.URL+"/bkt/k", bytes.NewReader(body), nil)
		w := httptest.NewRecorder()
		o.ServeHTTP(w, put)
		get := signed(b, o, user, http.MethodGet, srv.URL+"/bkt/k", nil, nil)
		w2 := httptest.NewRecorder()
		o.ServeHTTP(w2, get)
		if w.Code != 200 || w2.Code != 200 || w2.Body.Len() != len(body) {
			b.Fatalf("status %d %d", w.Code, w2.Code)
		}
	}
}

func ExampleNewOSS() {
	acct := NewAccount("1234567890", nil)
	user := acct.NewUser("alice", MustParsePolicy(`{"Version":"1","Statement":[
	  {"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:bkt/notes/*"}]}`))
	o, err := NewOSS(acct, OSSOptions{Buckets: []string{"bkt"}})
	if err != nil {
		panic(err)
	}
	defer o.Close()
	srv := httptest.NewServer(o)
	defer srv.Close()

	c := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(srv.URL).WithUsePathStyle(true).
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.AccessKeySecret)))
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("notes/hello.txt"),
		Body: strings.NewReader("hello, OSS")}); err != nil {
		panic(err)
	}
	get, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("notes/hello.txt")})
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	fmt.Println(string(body))

	_, err = c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("secret.txt"), Body: strings.NewReader("x")})
	var se *oss.ServiceError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Code)
	}
	// Output:
	// hello, OSS
	// 403 AccessDenied
}

// FuzzParseAuthQuery feeds presigned-URL query strings to parseAuth.
func FuzzParseAuthQuery(f *testing.F) {
	for _, s := range []string{
		"OSSAccessKeyId=AK&Expires=1700000000&Signature=c2ln&security-token=t",
		"x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=AK%2F20260101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20260101T000000Z&x-oss-expires=60&x-oss-signature=ab",
		"x-oss-signature-version=OSS2&x-oss-signature=ab", "Expires=x&OSSAccessKeyId=a&Signature=b", "prefix=a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/bkt/k", nil)
		a, e := parseAuth(r, q)
		if a != nil && e != nil {
			t.Fatalf("parseAuth(%q) returned both %+v and %v", raw, a, e)
		}
		if a == nil {
			return
		}
		if !a.query || a.accessKeyID == "" || a.signature == "" || a.dateLine == "" {
			t.Fatalf("parseAuth(%q) accepted %+v", raw, a)
		}
		if a.version == 4 && (a.expiresSec < 1 || a.expiresSec > 604800) {
			t.Fatalf("parseAuth(%q) accepted x-oss-expires %d", raw, a.expiresSec)
		}
	})
}

func FuzzParseCopySource(f *testing.F) {
	for _, s := range []string{"/bkt/key", "/bkt/dir%2Fa+b", "bkt/k", "/bkt/", "/", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b, k, e := parseCopySource(v)
		if e != nil {
			return
		}
		if b == "" || k == "" || strings.Contains(b, "/") {
			t.Fatalf("parseCopySource(%q) = %q, %q", v, b, k)
		}
	})
}
