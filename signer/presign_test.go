package signer

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
)

// TestPresignMatchesSDK presigns random GetObject/HeadObject/PutObject
// requests with the SDK-v2 Client.Presign and with our Presign, V1 and V4,
// path-style and virtual-host, with and without STS tokens, and requires
// identical URLs. The SDK reads time.Now, so both run inside a synctest
// bubble and see the same instant. Every URL must also pass Verify.
func TestPresignMatchesSDK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range 400 {
			bucket, key := randBucket(rng), randKey(rng)
			if key == "" {
				key = "k"
			}
			cred := Credentials{AccessKeyID: "LTAI" + randBucket(rng), AccessKeySecret: randString(rng, 24)}
			if i%2 == 0 {
				cred.SecurityToken = "CAIS" + randString(rng, 30)
			}
			v4 := i%4 < 2
			pathStyle := i%3 == 0
			expires := time.Duration(1+rng.Int64N(int64(MaxPresignExpiry/time.Second))) * time.Second

			cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").
				WithEndpoint("http://oss-cn-hangzhou.aliyuncs.com").
				WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)).
				WithUsePathStyle(pathStyle)
			if v4 {
				cfg = cfg.WithSignatureVersion(oss.SignatureVersionV4)
			} else {
				cfg = cfg.WithSignatureVersion(oss.SignatureVersionV1)
			}
			client := oss.NewClient(cfg)

			base := "http://" + bucket + ".oss-cn-hangzhou.aliyuncs.com/" + EscapePath(key)
			if pathStyle {
				base = "http://oss-cn-hangzhou.aliyuncs.com/" + bucket + "/" + EscapePath(key)
			}
			var sdkReq any
			method := "GET"
			header := http.Header{}
			query := ""
			switch i % 5 {
			case 0, 1:
				sdkReq = &oss.GetObjectRequest{Bucket: new(bucket), Key: new(key)}
			case 2:
				vid := "CAEQ" + randBucket(rng)
				sdkReq = &oss.GetObjectRequest{Bucket: new(bucket), Key: new(key), VersionId: new(vid)}
				query = "versionId=" + vid
			case 3:
				method = "HEAD"
				sdkReq = &oss.HeadObjectRequest{Bucket: new(bucket), Key: new(key)}
			case 4:
				method = "PUT"
				sdkReq = &oss.PutObjectRequest{Bucket: new(bucket), Key: new(key), ContentType: new("text/plain")}
				header.Set("Content-Type", "text/plain")
			}
			pr, err := client.Presign(context.Background(), sdkReq, oss.PresignExpires(expires))
			if err != nil {
				t.Fatal(err)
			}

			u, err := url.Parse(base)
			if err != nil {
				t.Fatal(err)
			}
			u.RawQuery = query
			r := &http.Request{Method: method, URL: u, Host: u.Host, Header: header}
			var got string
			if v4 {
				got, err = (&V4{Region: "cn-hangzhou"}).Presign(r, cred, bucket, key, time.Now(), expires)
			} else {
				got, err = V1{}.Presign(r, cred, bucket, key, time.Now(), expires)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != pr.URL {
				t.Fatalf("case %d (v4=%t path=%t key %q):\n got %s\nwant %s", i, v4, pathStyle, key, got, pr.URL)
			}
			if u.RawQuery != query {
				t.Fatalf("Presign modified the request URL: %q", u.RawQuery)
			}

			// The presigned URL verifies, as a server would receive it.
			in := inbound(t, method, got, header)
			ver := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(cred)}
			if _, err := ver.Verify(context.Background(), in, bucket, key, time.Now().Add(expires)); err != nil {
				t.Fatalf("case %d: presigned URL does not verify: %v", i, err)
			}
			if _, err := ver.Verify(context.Background(), in, bucket, key, time.Now().Add(expires+time.Second)); !errors.Is(err, ErrRequestExpired) || Code(err) != CodeAccessDenied {
				t.Fatalf("case %d: expired URL: err = %v, want ErrRequestExpired/AccessDenied", i, err)
			}
		}
	})
}

// inbound builds the request a server sees for a client URL.
func inbound(t *testing.T, method, rawURL string, h http.Header) *http.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if h == nil {
		h = http.Header{}
	}
	return &http.Request{Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Host: u.Host, Header: h.Clone(), RequestURI: u.RequestURI()}
}

func TestPresignExpiresRange(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://b.oss-cn-hangzhou.aliyuncs.com/k", nil)
	cred := Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		expires time.Duration
		ok      bool
	}{
		{0, false}, {-time.Second, false}, {999 * time.Millisecond, false}, {time.Second, true},
		{MaxPresignExpiry, true}, {MaxPresignExpiry + time.Second, false},
	}
	for _, tt := range tests {
		for name, presign := range map[string]func() (string, error){
			"v4": func() (string, error) {
				return (&V4{Region: "cn-hangzhou"}).Presign(r, cred, "b", "k", now, tt.expires)
			},
			"v1": func() (string, error) { return V1{}.Presign(r, cred, "b", "k", now, tt.expires) },
		} {
			_, err := presign()
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidExpires)) {
				t.Errorf("%s Presign(expires=%v) err = %v, want ok=%t", name, tt.expires, err, tt.ok)
			}
		}
	}
}
