package osstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestVerifiersAgree captures real requests of both Go SDKs (V1 and V4,
// header and presigned, static and STS) and judges each with both
// verifiers: the independent one must accept every request, the SDK-signer
// one every request it can reproduce, and both must reject the same
// request once its bucket is changed.
func TestVerifiersAgree(t *testing.T) {
	o, acct, _ := newTestOSS(t)
	var mu sync.Mutex
	var captured []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		captured = append(captured, r.Clone(context.Background()))
		mu.Unlock()
		o.ServeHTTP(w, r)
	}))
	defer srv.Close()
	user := acct.NewUser("gina", nil)
	sts := acct.MintSTS("acs:ram::1234567890:role/r/s", time.Hour)
	ctx := context.Background()
	b := oss.Ptr(testBucket)

	for _, id := range []*Identity{user, sts} {
		for _, ver := range []oss.SignatureVersionType{oss.SignatureVersionV1, oss.SignatureVersionV4} {
			c := v2Client(srv, id, ver)
			if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: b, Key: oss.Ptr(oddKey), Body: strings.NewReader("v"),
				ContentType: oss.Ptr("text/plain")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: b, Prefix: oss.Ptr("dir/a b"), ContinuationToken: oss.Ptr("d")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetBucketInfo(ctx, &oss.GetBucketInfoRequest{Bucket: b}); err != nil {
				t.Fatal(err)
			}
			pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: b, Key: oss.Ptr(oddKey), ResponseContentType: oss.Ptr("a/b c")})
			if err != nil {
				t.Fatal(err)
			}
			httpDo(t, http.MethodGet, pr.URL, nil, http.StatusOK)
		}
		for _, ver := range []v1oss.AuthVersionType{v1oss.AuthV1, v1oss.AuthV4} {
			lb := legacyClient(t, srv, id, ver)
			if err := lb.PutObject(oddKey, strings.NewReader("v"), v1oss.Meta("m", "v")); err != nil {
				t.Fatal(err)
			}
			if _, err := lb.ListObjects(v1oss.Prefix("dir/"), v1oss.Delimiter("/")); err != nil {
				t.Fatal(err)
			}
			u, err := lb.SignURL(oddKey, v1oss.HTTPGet, 600, v1oss.ResponseContentType("a/b c"))
			if err != nil {
				t.Fatal(err)
			}
			httpDo(t, http.MethodGet, u, nil, http.StatusOK)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	var bySDK, independentOnly int
	for _, r := range captured {
		in := verifyInputFor(t, o, r)
		name := r.Method + " " + r.URL.String()
		okSDK, _, done := verifySDK(in)
		okInd, sts := verifyIndependent(in)
		if !okInd {
			t.Errorf("independent verifier rejects %s\n%s", name, sts)
		}
		if done {
			bySDK++
			if !okSDK {
				t.Errorf("SDK verifier rejects %s", name)
			}
		} else {
			independentOnly++
		}
		in.bucket += "x"
		if ok, _, _ := verifySDK(in); ok {
			t.Errorf("SDK verifier accepts %s for another bucket", name)
		}
		if ok, _ := verifyIndependent(in); ok {
			t.Errorf("independent verifier accepts %s for another bucket", name)
		}
	}
	t.Logf("%d requests: %d judged by the SDK signer, %d by the independent verifier alone", len(captured), bySDK, independentOnly)
	// Legacy V4 (Date only) and V4 presigned URLs need the independent one.
	if bySDK < 16 || independentOnly < 8 {
		t.Errorf("want both verifiers exercised, got %d / %d", bySDK, independentOnly)
	}
}

func verifyInputFor(t testing.TB, o *OSS, r *http.Request) *verifyInput {
	t.Helper()
	q := r.URL.Query()
	a, e := parseAuth(r, q)
	if e != nil || a == nil {
		t.Fatalf("parseAuth %s: %v", r.URL, e)
	}
	bucket, key, hasKey := o.route(r)
	id, err := o.acct.Lookup(a.accessKeyID, a.token, o.acct.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &verifyInput{req: r, query: q, bucket: bucket, key: key, hasKey: hasKey, auth: a, secret: id.AccessKeySecret, region: o.region}
}

// TestV1WithOSSDateOnly sends a request shaped like ali-oss's: V1 with an
// RFC 1123 x-oss-date, no Date header, and that value on the Date line
// (PROTOCOL.md §1). The string to sign is spelled out here, not computed
// by the code under test.
func TestV1WithOSSDateOnly(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	user := acct.NewUser("hank", nil)
	date := acct.Clock.Now().UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name, date string
		want       int
	}{
		{"now", date, http.StatusOK},
		{"skewed", acct.Clock.Now().Add(-20 * time.Minute).UTC().Format(http.TimeFormat), http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := "PUT\n\ntext/plain\n" + tc.date + "\nx-oss-date:" + tc.date + "\n/bkt/ali key"
			m := hmac.New(sha1.New, []byte(user.AccessKeySecret))
			m.Write([]byte(sts))
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/bkt/ali%20key", bytes.NewReader([]byte("from ali-oss")))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("X-Oss-Date", tc.date)
			req.Header.Set("Authorization", "OSS "+user.AccessKeyID+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if keys, _ := o.ObjectKeys(testBucket); len(keys) != 1 || keys[0] != "ali key" {
		t.Errorf("keys = %q", keys)
	}
}

// TestIndependentVerifierSDKVectors replays the official SDK-v2 signer's
// own known answers (oss/signer/signer_test.go TestV4AuthHeader and
// TestV4AuthQuery, key "ak", secret "sk") as the server would receive
// them. The presigned one is a case the SDK signer cannot verify itself.
func TestIndependentVerifierSDKVectors(t *testing.T) {
	params := url.Values{}
	for k, v := range map[string]string{"param1": "value1", "+param1": "value3", "|param1": "value4", "+param2": "", "|param2": "", "param2": ""} {
		params.Add(k, v)
	}
	hdr := http.Header{}
	for _, k := range []string{"x-oss-head1", "abc", "ZAbc", "XYZ"} {
		hdr.Add(k, "value")
	}
	tests := []struct {
		name  string
		query url.Values
		hdr   map[string]string
	}{
		{"header", params, map[string]string{
			"Content-Type": "text/plain", "X-Oss-Content-Sha256": "UNSIGNED-PAYLOAD",
			"X-Oss-Date": time.Unix(1702743657, 0).UTC().Format(iso8601),
			"Authorization": "OSS4-HMAC-SHA256 Credential=ak/20231216/cn-hangzhou/oss/aliyun_v4_request," +
				"Signature=e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe",
		}},
		{"presigned", func() url.Values {
			q := cloneValues(params)
			q.Set("x-oss-signature-version", "OSS4-HMAC-SHA256")
			q.Set("x-oss-date", time.Unix(1702781677, 0).UTC().Format(iso8601))
			q.Set("x-oss-expires", "599")
			q.Set("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request")
			q.Set("x-oss-signature", "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe")
			return q
		}(), map[string]string{"Content-Type": "application/octet-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.ReplaceAll(tt.query.Encode(), "+", "%20")
			r := httptest.NewRequest(http.MethodPut, "http://bucket.oss-cn-hangzhou.aliyuncs.com/bucket/1234+-/123/1.txt?"+raw, nil)
			r.Header = hdr.Clone()
			in := signedInput(t, r, tt.hdr, "bucket", "1234+-/123/1.txt")
			if ok, sts := verifyIndependent(in); !ok {
				t.Errorf("SDK vector rejected; string to sign:\n%s", sts)
			}
			in.secret = "sk2"
			if ok, _ := verifyIndependent(in); ok {
				t.Error("accepted with another secret")
			}
			in.secret, in.region = "sk", "cn-beijing"
			if ok, _ := verifyIndependent(in); ok {
				t.Error("accepted for another region")
			}
			in.region = "cn-hangzhou"
			in.auth.scopeDate = "20231215" // scope day differs from the signing time's
			if ok, _ := verifyIndependent(in); ok {
				t.Error("accepted with a scope date that is not the signing day")
			}
		})
	}
}

// TestVerifiersSDKVectorsV1 replays the SDK-v2 V1 known answers
// (TestV1AuthHeader case 1, TestV1AuthQuery cases 1 and 2) through both
// verifiers.
func TestVerifiersSDKVectorsV1(t *testing.T) {
	const date = "Wed, 28 Dec 2022 10:27:41 GMT"
	tests := []struct {
		name, method, url, bucket, key string
		hdr                            map[string]string
	}{
		{"header", http.MethodPut, "http://h/examplebucket/nelson", "examplebucket", "nelson", map[string]string{
			"Content-Md5": "eB5eJF1ptWaXm4bijSPyxw==", "Content-Type": "text/html", "X-Oss-Meta-Author": "alice",
			"X-Oss-Meta-Magic": "abracadabra", "X-Oss-Date": date, "Date": date,
			"Authorization": "OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M="}},
		{"presigned", http.MethodGet, "http://h/bucket/key?Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId",
			"bucket", "key", nil},
		{"presigned with token", http.MethodGet, "http://h/bucket/key%2B123?Expires=1699808204&OSSAccessKeyId=ak&Signature=jzKYRrM5y6Br0dRFPaTGOsbrDhY%3D&security-token=token&versionId=versionId",
			"bucket", "key+123", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := signedInput(t, httptest.NewRequest(tt.method, tt.url, nil), tt.hdr, tt.bucket, tt.key)
			if ok, sts := verifyIndependent(in); !ok {
				t.Errorf("independent verifier rejects; string to sign:\n%s", sts)
			}
			if ok, _, done := verifySDK(in); !ok || !done {
				t.Errorf("SDK verifier: ok=%v done=%v", ok, done)
			}
			in.key += "x"
			if ok, _ := verifyIndependent(in); ok {
				t.Error("independent verifier accepts another key")
			}
			if ok, _, _ := verifySDK(in); ok {
				t.Error("SDK verifier accepts another key")
			}
		})
	}
}

// signedInput sets hdr on r, parses r's signature and returns the
// verifier input for bucket/key with the secret "sk" in cn-hangzhou.
func signedInput(t *testing.T, r *http.Request, hdr map[string]string, bucket, key string) *verifyInput {
	t.Helper()
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	q := r.URL.Query()
	a, e := parseAuth(r, q)
	if e != nil || a == nil {
		t.Fatalf("parseAuth: %v", e)
	}
	return &verifyInput{req: r, query: q, bucket: bucket, key: key, hasKey: true, auth: a, secret: "sk", region: "cn-hangzhou"}
}
