package signer

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzEscapePath(f *testing.F) {
	for _, s := range []string{"", "dir/a b+c~(1)&x=y.txt", "中/😀", "%zz", "//..//", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapePath(s)
		if !isRFC3986(strings.ReplaceAll(e, "/", "")) {
			t.Fatalf("EscapePath(%q) = %q is not RFC 3986", s, e)
		}
		if d, err := url.PathUnescape(e); err != nil || d != s {
			t.Fatalf("PathUnescape(EscapePath(%q)) = %q, %v", s, d, err)
		}
		if got := CanonicalURIV4("b", s); got != "/b/"+e {
			t.Fatalf("CanonicalURIV4 = %q", got)
		}
	})
}

func FuzzCanonicalQueryV4(f *testing.F) {
	for _, s := range []string{"", sdkQuery(), "a+b=c+d", "prefix=a(1)!", "k=%2f&k=%zz", "&&=&a==b", "x-oss-signature=1&a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c := CanonicalQueryV4(raw, "")
		// Canonicalising is idempotent ...
		if c2 := CanonicalQueryV4(c, ""); c2 != c {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, c, c2)
		}
		// ... and a query whose components all decode comes out in RFC 3986 form.
		decodable := true
		for _, kv := range strings.Split(raw, "&") {
			k, v, _ := strings.Cut(kv, "=")
			if _, err := url.QueryUnescape(k); err != nil {
				decodable = false
			}
			if _, err := url.QueryUnescape(v); err != nil {
				decodable = false
			}
		}
		if decodable {
			for _, kv := range strings.Split(c, "&") {
				k, v, _ := strings.Cut(kv, "=")
				if !isRFC3986(k) || !isRFC3986(v) {
					t.Fatalf("CanonicalQueryV4(%q) = %q: %q is not RFC 3986", raw, c, kv)
				}
			}
		}
		// Skipping a key drops exactly its pairs.
		if s := CanonicalQueryV4(raw+"&x-oss-signature=zz", "x-oss-signature"); s != CanonicalQueryV4(raw, "x-oss-signature") {
			t.Fatalf("skip failed: %q", s)
		}
	})
}

func FuzzCanonicalResourceV1(f *testing.F) {
	f.Add("bkt", "dir/a b", "acl&uploadId=1&prefix=x&x-oss-process=a%2Fb")
	f.Add("", "", "")
	f.Add("b", "k", "acl;x=1&acl=%zz&versionId=%41")
	f.Fuzz(func(t *testing.T, bucket, key, raw string) {
		got := CanonicalResourceV1(bucket, key, raw)
		base := "/" + key
		if bucket != "" {
			base = "/" + bucket + "/" + key
		}
		rest, ok := strings.CutPrefix(got, base)
		if !ok {
			t.Fatalf("CanonicalResourceV1 = %q does not start with %q", got, base)
		}
		// The sub-resources are exactly the signed names that url.ParseQuery
		// accepts, each once, sorted.
		q, _ := url.ParseQuery(raw)
		var want []string
		for k := range q {
			if IsSubResourceV1(k) {
				want = append(want, k)
			}
		}
		if (rest == "") != (len(want) == 0) {
			t.Fatalf("CanonicalResourceV1(%q) = %q, signed names %q", raw, got, want)
		}
	})
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"OSS ak:sig=", "OSS a:b:c", "OSS :x",
		"OSS4-HMAC-SHA256 Credential=ak/20240101/cn-hangzhou/oss/aliyun_v4_request,Signature=00",
		"OSS4-HMAC-SHA256 Credential=ak/20240101/cn-hangzhou/oss/aliyun_v4_request, Signature=00, AdditionalHeaders=host;x",
		"OSS4-HMAC-SHA256 Credential=a/b/c,Signature=,", "Bearer x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuthorization(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedAuthorization) || Code(err) != CodeInvalidArgument {
				t.Fatalf("error %v is not ErrMalformedAuthorization", err)
			}
			return
		}
		// Round trip: formatting the parsed value and parsing it again gives the same.
		var again string
		switch a.Version {
		case 1:
			again = "OSS " + a.AccessKeyID + ":" + a.Signature
		case 4:
			again = AlgorithmV4 + " Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Product + "/" + v4Terminator
			if a.AdditionalHeaders != "" {
				again += ",AdditionalHeaders=" + a.AdditionalHeaders
			}
			again += ",Signature=" + a.Signature
		default:
			t.Fatalf("version %d", a.Version)
		}
		b, err := ParseAuthorization(again)
		if err != nil || b != a {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, again, b, err)
		}
	})
}

func FuzzParsePresigned(f *testing.F) {
	f.Add("OSSAccessKeyId=ak&Expires=1700000000&Signature=abc%3D&security-token=t")
	f.Add("x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=ak%2F20240101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20240101T000000Z&x-oss-expires=60&x-oss-signature=00")
	f.Add("acl&security-token=&Expires=")
	f.Fuzz(func(t *testing.T, raw string) {
		a, ok, err := ParsePresigned(raw)
		if err != nil {
			if ok || !errors.Is(err, ErrMalformedAuthorization) {
				t.Fatalf("ok=%t err=%v", ok, err)
			}
			return
		}
		if !ok {
			return
		}
		if !a.Presigned || a.AccessKeyID == "" || a.Signature == "" || (a.Version != 1 && a.Version != 4) {
			t.Fatalf("incomplete result %+v from %q", a, raw)
		}
		if a.Version == 4 && (a.Expires < 1 || a.Expires > 604800 || a.Region == "") {
			t.Fatalf("bad V4 result %+v from %q", a, raw)
		}
	})
}

// FuzzVerify feeds arbitrary Authorization headers and queries to the
// verifier: it must not panic and every error must carry an OSS code.
func FuzzVerify(f *testing.F) {
	r := mTemplate()
	_ = (&V4{Region: "cn-hangzhou"}).Sign(r, Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}, mBucket, mKey, mTime)
	f.Add(r.Header.Get("Authorization"), r.URL.RawQuery, r.Header.Get("X-Oss-Date"))
	f.Add("OSS ak:x", "acl", "")
	f.Add("", "OSSAccessKeyId=ak&Expires=1715000000&Signature=x", "")
	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"})}
	f.Fuzz(func(t *testing.T, authz, rawQuery, date string) {
		in := &http.Request{Method: "PUT", URL: &url.URL{Path: "/bkt/k", RawQuery: rawQuery}, Host: "h",
			Header: http.Header{"Authorization": {authz}, "X-Oss-Date": {date}, "Date": {date}}}
		_, err := v.Verify(context.Background(), in, mBucket, mKey, mTime.Add(time.Minute))
		if err != nil && Code(err) == "" {
			t.Fatalf("error without an OSS code: %v", err)
		}
	})
}
