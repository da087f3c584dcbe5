package osstest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// tamper flips the last character of the signature in the Authorization
// header of every request, after the SDK signed it.
type tamper struct{}

func (tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	a := r.Header.Get("Authorization")
	last := a[len(a)-1]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
	return http.DefaultTransport.RoundTrip(r)
}

// TestRejections checks that each way a request can be wrong is refused
// with the code real OSS uses, as the SDKs surface it.
func TestRejections(t *testing.T) {
	_, acct, srv := newTestOSS(t)
	user := acct.NewUser("carol", nil)
	limited := acct.NewUser("dave", MustParsePolicy(`{"Version":"1","Statement":[
	  {"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":"acs:oss:*:*:bkt/public/*"},
	  {"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:bkt","Condition":{"StringLike":{"oss:Prefix":"public/*"}}}]}`))
	wrongSecret := *user
	wrongSecret.AccessKeySecret = "not-the-secret"
	unknown := Identity{AccessKeyID: "LTAIunknownunknown", AccessKeySecret: "x"}
	sts := acct.MintSTS("acs:ram::1234567890:role/r/s", time.Hour)
	badToken := *sts
	badToken.SecurityToken = "CAISforged"
	ctx := context.Background()

	put := func(c *oss.Client, key string) error {
		_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr(key), Body: strings.NewReader("x")})
		return err
	}
	tampered := func(ver oss.SignatureVersionType) *oss.Client {
		cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(srv.URL).WithUsePathStyle(true).
			WithCredentialsProvider(credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.AccessKeySecret)).
			WithSignatureVersion(ver).WithRetryMaxAttempts(1).WithHttpClient(&http.Client{Transport: tamper{}})
		return oss.NewClient(cfg)
	}
	for _, ver := range []oss.SignatureVersionType{oss.SignatureVersionV4, oss.SignatureVersionV1} {
		name := map[oss.SignatureVersionType]string{oss.SignatureVersionV4: "V4", oss.SignatureVersionV1: "V1"}[ver]
		tests := []struct {
			name string
			do   func() error
			want string
		}{
			{"tampered signature", func() error { return put(tampered(ver), "public/a") }, "SignatureDoesNotMatch"},
			{"wrong secret", func() error { return put(v2Client(srv, &wrongSecret, ver), "public/a") }, "SignatureDoesNotMatch"},
			{"unknown key", func() error { return put(v2Client(srv, &unknown, ver), "public/a") }, "InvalidAccessKeyId"},
			{"forged token", func() error { return put(v2Client(srv, &badToken, ver), "public/a") }, "InvalidSecurityToken"},
			{"outside policy: put", func() error { return put(v2Client(srv, limited, ver), "private/a") }, "AccessDenied"},
			{"outside policy: list", func() error {
				_, err := v2Client(srv, limited, ver).ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr(testBucket), Prefix: oss.Ptr("private/")})
				return err
			}, "AccessDenied"},
			{"outside policy: copy from a private source", func() error {
				_, err := v2Client(srv, limited, ver).CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr(testBucket),
					Key: oss.Ptr("public/copy"), SourceKey: oss.Ptr("private/src")})
				return err
			}, "AccessDenied"},
			{"outside policy: delete-multiple", func() error {
				_, err := v2Client(srv, limited, ver).DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: oss.Ptr(testBucket),
					Objects: []oss.DeleteObject{{Key: oss.Ptr("public/a")}}})
				return err
			}, "AccessDenied"},
			{"inside policy", func() error { return put(v2Client(srv, limited, ver), "public/a") }, ""},
			{"inside policy: list", func() error {
				_, err := v2Client(srv, limited, ver).ListObjects(ctx, &oss.ListObjectsRequest{Bucket: oss.Ptr(testBucket), Prefix: oss.Ptr("public/")})
				return err
			}, ""},
			{"no such bucket", func() error {
				_, err := v2Client(srv, user, ver).GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("nobkt"), Key: oss.Ptr("k")})
				return err
			}, "NoSuchBucket"},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				err := tt.do()
				if tt.want == "" {
					if err != nil {
						t.Fatalf("want success, got %v", err)
					}
					return
				}
				if got := serviceCode(err); got != tt.want {
					t.Errorf("code = %s, want %s (%v)", got, tt.want, err)
				}
			})
		}
	}

	t.Run("legacy/wrong secret", func(t *testing.T) {
		for _, ver := range []v1oss.AuthVersionType{v1oss.AuthV1, v1oss.AuthV4} {
			b := legacyClient(t, srv, &wrongSecret, ver)
			if err := b.PutObject("public/a", strings.NewReader("x")); serviceCode(err) != "SignatureDoesNotMatch" {
				t.Errorf("%s wrong secret: %v", ver, err)
			}
		}
	})
}

// TestTimeRejections moves the account clock instead of sleeping.
func TestTimeRejections(t *testing.T) {
	_, acct, srv := newTestOSS(t)
	user := acct.NewUser("erin", nil)
	ctx := context.Background()
	bkt := oss.Ptr(testBucket)
	c := v2Client(srv, user, oss.SignatureVersionV4)
	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: bkt, Key: oss.Ptr("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}

	t.Run("expired token", func(t *testing.T) {
		sts := acct.MintSTS("acs:ram::1234567890:role/r/s", 15*time.Minute)
		c := v2Client(srv, sts, oss.SignatureVersionV4)
		if _, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: bkt, Key: oss.Ptr("k")}); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		acct.Clock.Advance(16 * time.Minute)
		defer acct.Clock.Advance(-16 * time.Minute)
		// The request is then 16 minutes behind the server too, but the
		// token is judged first, as OSS does.
		_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: oss.Ptr("k")})
		if got := serviceCode(err); got != "SecurityTokenExpired" {
			t.Errorf("code = %s, want SecurityTokenExpired", got)
		}
	})

	for _, skew := range []time.Duration{16 * time.Minute, -16 * time.Minute} {
		t.Run("skew "+skew.String(), func(t *testing.T) {
			acct.Clock.Advance(skew)
			defer acct.Clock.Advance(-skew)
			for name, c := range map[string]*oss.Client{
				"V4": v2Client(srv, user, oss.SignatureVersionV4), "V1": v2Client(srv, user, oss.SignatureVersionV1)} {
				_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: oss.Ptr("k")})
				if got := serviceCode(err); got != "RequestTimeTooSkewed" {
					t.Errorf("%s: code = %s, want RequestTimeTooSkewed", name, got)
				}
			}
			err := legacyClient(t, srv, user, v1oss.AuthV4).PutObject("k2", strings.NewReader("x"))
			var se v1oss.ServiceError
			if !errors.As(err, &se) || se.Code != "RequestTimeTooSkewed" || se.Ec != "0002-00000504" {
				t.Errorf("legacy V4: %v", err)
			}
			// With retries on, SDK v2 corrects its clock from the error's
			// Date header and succeeds: the emulator's Date is right.
			cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(srv.URL).WithUsePathStyle(true).
				WithCredentialsProvider(credentials.NewStaticCredentialsProvider(user.AccessKeyID, user.AccessKeySecret))
			if _, err := oss.NewClient(cfg).HeadObject(ctx, &oss.HeadObjectRequest{Bucket: bkt, Key: oss.Ptr("k")}); err != nil {
				t.Errorf("SDK v2 with skew correction: %v", err)
			}
		})
	}
	t.Run("within skew", func(t *testing.T) {
		acct.Clock.Advance(14 * time.Minute)
		defer acct.Clock.Advance(-14 * time.Minute)
		if _, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: bkt, Key: oss.Ptr("k")}); err != nil {
			t.Errorf("14 minutes of skew: %v", err)
		}
	})

	t.Run("expired presigned URLs", func(t *testing.T) {
		v4, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: oss.Ptr("k")}, oss.PresignExpires(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		v1, err := v2Client(srv, user, oss.SignatureVersionV1).Presign(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: oss.Ptr("k")}, oss.PresignExpires(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		leg, err := legacyClient(t, srv, user, v1oss.AuthV4).SignURL("k", v1oss.HTTPGet, 60)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{v4.URL, v1.URL, leg} {
			httpDo(t, http.MethodGet, u, nil, http.StatusOK)
		}
		acct.Clock.Advance(2 * time.Minute)
		defer acct.Clock.Advance(-2 * time.Minute)
		for name, u := range map[string]string{"sdk v2 V4": v4.URL, "sdk v2 V1": v1.URL, "legacy V4": leg} {
			e := fetchError(t, http.MethodGet, u)
			if e.Code != "AccessDenied" || e.Message != "Request has expired." || e.EC != "0002-00000069" {
				t.Errorf("%s: %s %q, want AccessDenied \"Request has expired.\"", name, e.Code, e.Message)
			}
		}
	})
}

// TestPresignedFromTheFuture: a V4 URL whose x-oss-date is ahead of the
// server by more than the skew window is refused, and one inside it works.
func TestPresignedFromTheFuture(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	if err := o.PutObject(context.Background(), testBucket, "k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	c := v2Client(srv, acct.NewUser("pia", nil), oss.SignatureVersionV4)
	pr, err := c.Presign(context.Background(), &oss.GetObjectRequest{Bucket: oss.Ptr(testBucket), Key: oss.Ptr("k")}, oss.PresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	acct.Clock.Advance(-10 * time.Minute)
	httpDo(t, http.MethodGet, pr.URL, nil, http.StatusOK)
	acct.Clock.Advance(-10 * time.Minute)
	defer acct.Clock.Advance(20 * time.Minute)
	if e := fetchError(t, http.MethodGet, pr.URL); e.Code != "RequestTimeTooSkewed" {
		t.Errorf("URL signed 20 minutes ahead: %s", e.Code)
	}
}

// wireError is an OSS error body as a client sees it, with the headers
// every error must carry.
type wireError struct {
	Status    int
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
	EC        string `xml:"EC"`
	Header    http.Header
}

func fetchError(t *testing.T, method, url string) wireError {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doError(t, req)
}

func doError(t *testing.T, req *http.Request) wireError {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if req.Method == http.MethodHead {
		if body, err = base64.StdEncoding.DecodeString(resp.Header.Get("X-Oss-Err")); err != nil {
			t.Fatalf("x-oss-err: %v", err)
		}
	}
	var e wireError
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s %s: status %d, body %q: %v", req.Method, req.URL, resp.StatusCode, body, err)
	}
	e.Status, e.Header = resp.StatusCode, resp.Header
	if e.RequestID == "" || resp.Header.Get("X-Oss-Request-Id") != e.RequestID {
		t.Errorf("request id: body %q header %q", e.RequestID, resp.Header.Get("X-Oss-Request-Id"))
	}
	if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("error headers: %v", resp.Header)
	}
	return e
}

func TestAnonymousAndMalformed(t *testing.T) {
	_, acct, srv := newTestOSS(t)
	user := acct.NewUser("nora", nil)
	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
		code               string
	}{
		{"anonymous GET", "GET", "/bkt/k", nil, 403, "AccessDenied"},
		{"anonymous HEAD", "HEAD", "/bkt/k", nil, 403, "AccessDenied"},
		{"anonymous list", "GET", "/bkt/", nil, 403, "AccessDenied"},
		{"no such bucket before auth", "GET", "/nobkt/k", nil, 404, "NoSuchBucket"},
		{"garbage Authorization", "GET", "/bkt/k", map[string]string{"Authorization": "Bearer x"}, 400, "InvalidArgument"},
		{"V4 without credential", "GET", "/bkt/k", map[string]string{"Authorization": "OSS4-HMAC-SHA256 Signature=ab"}, 400, "InvalidArgument"},
		{"known key, no date", "GET", "/bkt/k", map[string]string{"Authorization": "OSS " + user.AccessKeyID + ":c2ln"}, 403, "AccessDenied"},
		{"unknown key V1", "GET", "/bkt/k", map[string]string{"Authorization": "OSS LTAIxx:c2ln", "Date": time.Now().UTC().Format(http.TimeFormat)}, 403, "InvalidAccessKeyId"},
		{"presign V1 without signature", "GET", "/bkt/k?OSSAccessKeyId=LTAIxx&Expires=1", nil, 403, "AccessDenied"},
		{"presign V4 expires too long", "GET", "/bkt/k?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=AK/20260101/cn-hangzhou/oss/aliyun_v4_request&x-oss-date=20260101T000000Z&x-oss-expires=604801&x-oss-signature=ab", nil, 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			e := doError(t, req)
			if e.Status != tt.status || e.Code != tt.code {
				t.Errorf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Message, tt.status, tt.code)
			}
		})
	}
}

// TestV4PayloadSHA256 sends V4 requests (legacy SDK, which signs whatever
// x-oss-content-sha256 it is given) whose payload hash is the real digest,
// a wrong digest, and not a digest at all.
func TestV4PayloadSHA256(t *testing.T) {
	o, acct, srv := newTestOSS(t)
	b := legacyClient(t, srv, acct.NewUser("frank", nil), v1oss.AuthV4)
	body := "payload with a real digest"
	put := func(digest string) error {
		return b.PutObject("sha", strings.NewReader(body), v1oss.SetHeader("x-oss-content-sha256", digest))
	}
	if err := put(sha256Hex(body)); err != nil {
		t.Fatalf("matching sha256: %v", err)
	}
	if sum, err := o.ObjectSHA256(testBucket, "sha"); err != nil || sum != sha256Hex(body) {
		t.Errorf("stored sha256 %s, %v", sum, err)
	}
	if err := put(sha256Hex("something else")); serviceCode(err) != "BadDigest" {
		t.Errorf("mismatching sha256: %v", err)
	}
	err := put("not-a-digest")
	var se v1oss.ServiceError
	if !errors.As(err, &se) || se.Code != "InvalidArgument" || se.Ec != "0002-00000214" {
		t.Errorf("invalid x-oss-content-sha256: %v", err)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
