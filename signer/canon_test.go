package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestCanonicalURIV4(t *testing.T) {
	tests := []struct{ bucket, key, want string }{
		{"", "", "/"},
		{"bkt", "", "/bkt/"},
		{"bkt", "dir/a b+c~(1)&x=y.txt", "/bkt/dir/a%20b%2Bc~%281%29%26x%3Dy.txt"},
		{"bkt", "q?#%=", "/bkt/q%3F%23%25%3D"},
		{"bkt", "中/😀", "/bkt/%E4%B8%AD/%F0%9F%98%80"},
		{"bkt", "/leading//double", "/bkt//leading//double"},
		{"bkt", "...", "/bkt/..."},
		{"bkt", "1234+-/123/1.txt", "/bkt/1234%2B-/123/1.txt"},
	}
	for _, tt := range tests {
		if got := CanonicalURIV4(tt.bucket, tt.key); got != tt.want {
			t.Errorf("CanonicalURIV4(%q, %q) = %q, want %q", tt.bucket, tt.key, got, tt.want)
		}
	}
}

func TestCanonicalQueryV4(t *testing.T) {
	tests := []struct{ name, raw, skip, want string }{
		{"empty", "", "", ""},
		{"sdk vector", sdkQuery(), "", "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2"},
		{"plus is a space", "a+b=c+d", "", "a%20b=c%20d"},
		{"ali-oss raw parens", "prefix=dir%2Fa%20b~(1)!*'", "", "prefix=dir%2Fa%20b~%281%29%21%2A%27"},
		{"lower-case hex", "k=%2f", "", "k=%2F"},
		{"escaped unreserved", "k=%7E%41", "", "k=~A"},
		{"undecodable kept", "k=%zz", "", "k=%zz"},
		{"repeated key takes the last value", "a=1&b&a=2", "", "a=2&a=2&b"},
		{"empty value is bare", "uploads=&acl", "", "acl&uploads"},
		{"empty pairs dropped", "&&a=1&&", "", "a=1"},
		{"skip", "x-oss-signature=abc&x-oss-date=1", "x-oss-signature", "x-oss-date=1"},
		{"equals in value", "a=b=c", "", "a=b%3Dc"},
	}
	for _, tt := range tests {
		if got := CanonicalQueryV4(tt.raw, tt.skip); got != tt.want {
			t.Errorf("%s: CanonicalQueryV4(%q) = %q, want %q", tt.name, tt.raw, got, tt.want)
		}
	}
}

func TestCanonicalResourceV1(t *testing.T) {
	tests := []struct{ name, bucket, key, raw, want string }{
		{"service", "", "", "", "/"},
		{"bucket", "bkt", "", "acl", "/bkt/?acl"},
		{"raw key", "bkt", "dir/a b+c~(1)&x=y.txt", "", "/bkt/dir/a b+c~(1)&x=y.txt"},
		{"sub-resources sorted and decoded", "bkt", "k",
			"versionId=v%20w&prefix=x&uploadId=1&acl&x-oss-process=a%2Fb&response-content-type=text/plain",
			"/bkt/k?acl&response-content-type=text/plain&uploadId=1&versionId=v w&x-oss-process=a/b"},
		{"sdk vector: op sub-resource, others unsigned", "examplebucket", "", "resourceGroup&non-resousce=null",
			"/examplebucket/?resourceGroup"},
		{"first value wins", "bkt", "k", "acl=1&acl=2", "/bkt/k?acl=1"},
		{"semicolon pair dropped", "bkt", "k", "acl;x=1&tagging", "/bkt/k?tagging"},
		{"bad escape dropped", "bkt", "k", "versionId=%zz&tagging", "/bkt/k?tagging"},
		{"any x-oss- param", "bkt", "k", "x-oss-anything=1", "/bkt/k?x-oss-anything=1"},
		{"presign params unsigned but token signed", "bkt", "k",
			"OSSAccessKeyId=a&Expires=1&Signature=s&security-token=t", "/bkt/k?security-token=t"},
	}
	for _, tt := range tests {
		if got := CanonicalResourceV1(tt.bucket, tt.key, tt.raw); got != tt.want {
			t.Errorf("%s: CanonicalResourceV1 = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIsSubResourceV1(t *testing.T) {
	for _, n := range subResourceNames {
		if !IsSubResourceV1(n) {
			t.Errorf("IsSubResourceV1(%q) = false", n)
		}
	}
	for _, n := range []string{"prefix", "marker", "max-keys", "delimiter", "encoding-type", "Acl", "OSSAccessKeyId", "Expires", "Signature", ""} {
		if IsSubResourceV1(n) {
			t.Errorf("IsSubResourceV1(%q) = true", n)
		}
	}
}

// TestV1KnownAnswers replays SDK-v2's TestV1AuthHeader and TestV1AuthQuery.
func TestV1KnownAnswers(t *testing.T) {
	cred := Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}
	const date = "Wed, 28 Dec 2022 10:27:41 GMT"
	signTime, _ := http.ParseTime(date)
	tests := []struct {
		name, method, rawURL, bucket, key string
		full                              bool
		wantSTS, wantAuth                 string
	}{
		{"case 1", "PUT", "http://examplebucket.oss-cn-hangzhou.aliyuncs.com", "examplebucket", "nelson", true,
			"PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n" + date + "\nx-oss-date:" + date + "\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson",
			"OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M="},
		{"case 2 acl", "PUT", "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/?acl", "examplebucket", "nelson", true,
			"PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n" + date + "\nx-oss-date:" + date + "\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson?acl",
			"OSS ak:/afkugFbmWDQ967j1vr6zygBLQk="},
		{"case 3 resourceGroup", "GET", "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/?resourceGroup&non-resousce=null", "examplebucket", "", false,
			"GET\n\n\n" + date + "\nx-oss-date:" + date + "\n/examplebucket/?resourceGroup",
			"OSS ak:vkQmfuUDyi1uDi3bKt67oemssIs="},
		{"case 4 sorted", "GET", "http://examplebucket.oss-cn-hangzhou.aliyuncs.com/?resourceGroup&acl", "examplebucket", "", false,
			"GET\n\n\n" + date + "\nx-oss-date:" + date + "\n/examplebucket/?acl&resourceGroup",
			"OSS ak:x3E5TgOvl/i7PN618s5mEvpJDYk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(tt.method, tt.rawURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header = http.Header{}
			if tt.full {
				r.Header.Add("Content-MD5", "eB5eJF1ptWaXm4bijSPyxw==")
				r.Header.Add("Content-Type", "text/html")
				r.Header.Add("x-oss-meta-author", "alice")
				r.Header.Add("x-oss-meta-magic", "abracadabra")
			}
			r.Header.Add("x-oss-date", date)
			if got := StringToSignV1(r, tt.bucket, tt.key, date); got != tt.wantSTS {
				t.Errorf("StringToSignV1\n got %q\nwant %q", got, tt.wantSTS)
			}
			if err := (V1{}).Sign(r, cred, tt.bucket, tt.key, signTime); err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
		})
	}

	// TestV1AuthQuery: the SDK's Time is the expiry; ours is sign time + expires.
	queryTests := []struct {
		cred                    Credentials
		rawURL, key, date, want string
	}{
		{cred, "http://bucket.oss-cn-hangzhou.aliyuncs.com/key?versionId=versionId", "key", "Sun, 12 Nov 2023 16:43:40 GMT",
			"http://bucket.oss-cn-hangzhou.aliyuncs.com/key?Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId"},
		{Credentials{AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "token"},
			"http://bucket.oss-cn-hangzhou.aliyuncs.com/key%2B123?versionId=versionId", "key+123", "Sun, 12 Nov 2023 16:56:44 GMT",
			"http://bucket.oss-cn-hangzhou.aliyuncs.com/key%2B123?Expires=1699808204&OSSAccessKeyId=ak&Signature=jzKYRrM5y6Br0dRFPaTGOsbrDhY%3D&security-token=token&versionId=versionId"},
	}
	for _, tt := range queryTests {
		r, _ := http.NewRequest("GET", tt.rawURL, nil)
		r.Header = http.Header{}
		exp, _ := http.ParseTime(tt.date)
		got, err := V1{}.Presign(r, tt.cred, "bucket", tt.key, exp.Add(-time.Hour), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("V1 Presign\n got %s\nwant %s", got, tt.want)
		}
	}
}

// TestV4PresignKnownAnswers replays SDK-v2's TestV4AuthQuery and
// TestV4AuthQueryToken.
func TestV4PresignKnownAnswers(t *testing.T) {
	tests := []struct {
		cred         Credentials
		sign, expiry int64
		wantDate     string
		wantSig      string
	}{
		{Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}, 1702781677, 1702782276, "",
			"a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe"},
		{Credentials{AccessKeyID: "ak", AccessKeySecret: "sk", SecurityToken: "token"}, 1702785388, 1702785987, "20231217T035628Z",
			"3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5"},
	}
	for _, tt := range tests {
		r := sdkV4Request(t, "application/octet-stream")
		r.Header.Del("X-Oss-Content-Sha256") // not in the SDK's presign vectors
		u, err := (&V4{Region: "cn-hangzhou"}).Presign(r, tt.cred, "bucket", "1234+-/123/1.txt",
			time.Unix(tt.sign, 0), time.Duration(tt.expiry-tt.sign)*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		q := pu.Query()
		for k, want := range map[string]string{
			"x-oss-signature-version": "OSS4-HMAC-SHA256", "x-oss-expires": "599",
			"x-oss-credential": "ak/20231217/cn-hangzhou/oss/aliyun_v4_request",
			"x-oss-signature":  tt.wantSig, "x-oss-additional-headers": "",
			"x-oss-security-token": tt.cred.SecurityToken,
		} {
			if got := q.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if tt.wantDate != "" && q.Get("x-oss-date") != tt.wantDate {
			t.Errorf("x-oss-date = %q, want %q", q.Get("x-oss-date"), tt.wantDate)
		}
		if r.URL.RawQuery != sdkQuery() {
			t.Errorf("Presign modified the request")
		}
	}
}

func TestStringToSignV4(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://bkt.oss-cn-hangzhou.aliyuncs.com/a%20b?acl&prefix=x%20y", nil)
	r.Header = http.Header{"X-Oss-Meta-A": {" 1 ", "2"}, "Content-Type": {"text/plain"}, "Range": {"bytes=0-1"}}
	cr, sts := StringToSignV4(r, "bkt", "a b", "cn-hangzhou", "", "20240506T070809Z", []string{"range"})
	wantCR := "GET\n/bkt/a%20b\nacl&prefix=x%20y\ncontent-type:text/plain\nrange:bytes=0-1\nx-oss-meta-a:1,2\n\nrange\nUNSIGNED-PAYLOAD"
	if cr != wantCR {
		t.Errorf("canonical request\n got %q\nwant %q", cr, wantCR)
	}
	sum := sha256.Sum256([]byte(wantCR))
	if want := "OSS4-HMAC-SHA256\n20240506T070809Z\n20240506/cn-hangzhou/oss/aliyun_v4_request\n" + hex.EncodeToString(sum[:]); sts != want {
		t.Errorf("string to sign\n got %q\nwant %q", sts, want)
	}
}
