package signer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	legacy "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// clientKeys are the awkward keys the issue lists, sent by real clients.
var clientKeys = []string{
	"dir/a b+c~(1)&x=y.txt", "sp ace", "plus+sign", "per%cent%2F", "q?mark", "hash#tag",
	"amp&er=eq", "tilde~", "ünïcödé/中文/😀", "/leading", "double//slash", "...", "dots/../x",
}

// verdict is what the test server saw for one request.
type verdict struct {
	method, path, query string
	res                 Result
	err                 error
	ossDate             bool   // the request carried x-oss-date
	authz               string // the Authorization header
}

// ossServer verifies every request with v and answers like OSS: 403 XML
// on failure, a minimal valid response on success. Path-style only.
type ossServer struct {
	v        *Verifier
	mu       sync.Mutex
	verdicts []verdict
}

func (s *ossServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	res, err := s.v.Verify(r.Context(), r, bucket, key, time.Now())
	s.mu.Lock()
	s.verdicts = append(s.verdicts, verdict{r.Method, r.URL.Path, r.URL.RawQuery, res, err, r.Header.Get("X-Oss-Date") != "", r.Header.Get("Authorization")})
	s.mu.Unlock()
	w.Header().Set("X-Oss-Request-Id", "req-1")
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if err != nil {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(err.(*VerifyError).HTTPStatus())
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>req-1</RequestId></Error>`,
			Code(err), err.(*VerifyError).Message)
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut:
		w.Header().Set("ETag", `"5D41402ABC4B2A76B9719D911017C592"`)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodHead:
		w.Header().Set("Content-Length", "5")
	case q.Has("acl"):
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy><Owner><ID>1</ID><DisplayName>1</DisplayName></Owner><AccessControlList><Grant>private</Grant></AccessControlList></AccessControlPolicy>`)
	case bucket == "":
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>`)
	case key == "":
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>`+bucket+`</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	default:
		io.WriteString(w, "hello")
	}
}

func (s *ossServer) take() []verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.verdicts
	s.verdicts = nil
	return v
}

// check requires every verdict to have succeeded with the given version,
// and returns how many were presigned.
func (s *ossServer) check(t *testing.T, name string, version, min int) []verdict {
	t.Helper()
	vs := s.take()
	t.Logf("%s: server verified %d requests (%d presigned)", name, len(vs), presignedCount(vs))
	if len(vs) < min {
		t.Errorf("%s: server saw %d requests, want at least %d", name, len(vs), min)
	}
	for _, v := range vs {
		if v.err != nil {
			t.Errorf("%s: %s %s?%s: %v", name, v.method, v.path, v.query, v.err)
		} else if v.res.Version != version {
			t.Errorf("%s: %s %s verified as V%d, want V%d", name, v.method, v.path, v.res.Version, version)
		}
	}
	return vs
}

func newOSSServer(t *testing.T, creds ...Credentials) (*ossServer, string) {
	s := &ossServer{v: &Verifier{Region: "cn-hangzhou", Keys: staticKeys(creds...)}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func fetch(t *testing.T, rawURL string) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		t.Errorf("GET presigned URL: %d %s", resp.StatusCode, b)
	}
}

var clientCreds = []Credentials{
	{AccessKeyID: "LTAI5tClientKey", AccessKeySecret: "client-secret"},
	{AccessKeyID: "STS.NClientKey", AccessKeySecret: "sts-secret", SecurityToken: "CAIS+sts/token=="},
}

// TestSDKv2ClientsVerify drives the real SDK-v2 client, V1 and V4, with
// and without STS tokens, against a server that verifies every request.
func TestSDKv2ClientsVerify(t *testing.T) {
	srv, endpoint := newOSSServer(t, clientCreds...)
	ctx := context.Background()
	for _, cred := range clientCreds {
		for _, version := range []int{1, 4} {
			name := fmt.Sprintf("sdk-v2 V%d token=%t", version, cred.HasToken())
			cfg := oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint(endpoint).
				WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)).
				WithSignatureVersion(map[int]oss.SignatureVersionType{1: oss.SignatureVersionV1, 4: oss.SignatureVersionV4}[version]).
				WithRetryMaxAttempts(1)
			c := oss.NewClient(cfg)
			bkt := new("bkt")
			for _, key := range clientKeys {
				k := new(key)
				if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: bkt, Key: k, Body: strings.NewReader("hello"),
					ContentType: new("text/plain"), Metadata: map[string]string{"author": "alice"}}); err != nil {
					t.Errorf("%s PutObject %q: %v", name, key, err)
				}
				if r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: k, VersionId: new("v1")}); err != nil {
					t.Errorf("%s GetObject %q: %v", name, key, err)
				} else {
					r.Body.Close()
				}
				if _, err := c.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: bkt, Key: k}); err != nil {
					t.Errorf("%s HeadObject %q: %v", name, key, err)
				}
				if _, err := c.GetObjectAcl(ctx, &oss.GetObjectAclRequest{Bucket: bkt, Key: k}); err != nil {
					t.Errorf("%s GetObjectAcl %q: %v", name, key, err)
				}
				if _, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: bkt, Key: k}); err != nil {
					t.Errorf("%s DeleteObject %q: %v", name, key, err)
				}
				pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: bkt, Key: k}, oss.PresignExpires(10*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				fetch(t, pr.URL)
			}
			if _, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: bkt, Prefix: new("dir/ a+b&c")}); err != nil {
				t.Errorf("%s ListObjectsV2: %v", name, err)
			}
			if _, err := c.GetBucketAcl(ctx, &oss.GetBucketAclRequest{Bucket: bkt}); err != nil {
				t.Errorf("%s GetBucketAcl: %v", name, err)
			}
			p := c.NewListBucketsPaginator(&oss.ListBucketsRequest{})
			if _, err := p.NextPage(ctx); err != nil {
				t.Errorf("%s ListBuckets: %v", name, err)
			}
			vs := srv.check(t, name, version, 6*len(clientKeys)+3)
			if n := presignedCount(vs); n != len(clientKeys) {
				t.Errorf("%s: %d presigned requests verified, want %d", name, n, len(clientKeys))
			}
		}
	}
}

func presignedCount(vs []verdict) int {
	n := 0
	for _, v := range vs {
		if v.res.Presigned {
			n++
		}
	}
	return n
}

// TestLegacySDKClientsVerify drives the legacy aliyun-oss-go-sdk client:
// V1, and V4 whose requests carry only a Date header (no x-oss-date) with
// the raw RFC 1123 string on the TimeStamp line, also with "host" as an
// additional signed header; and SignURL for both versions.
func TestLegacySDKClientsVerify(t *testing.T) {
	srv, endpoint := newOSSServer(t, clientCreds...)
	for _, cred := range clientCreds {
		for _, mode := range []string{"V1", "V4", "V4+host"} {
			name := fmt.Sprintf("legacy %s token=%t", mode, cred.HasToken())
			opts := []legacy.ClientOption{legacy.Region("cn-hangzhou")}
			if cred.HasToken() {
				opts = append(opts, legacy.SecurityToken(cred.SecurityToken))
			}
			version := 1
			if mode != "V1" {
				version = 4
				opts = append(opts, legacy.AuthVersion(legacy.AuthV4))
			}
			if mode == "V4+host" {
				opts = append(opts, legacy.AdditionalHeaders([]string{"host"}))
			}
			c, err := legacy.New(endpoint, cred.AccessKeyID, cred.AccessKeySecret, opts...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Bucket("bkt")
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range clientKeys {
				if err := b.PutObject(key, strings.NewReader("hello"), legacy.ContentType("text/plain"), legacy.Meta("author", "alice")); err != nil {
					t.Errorf("%s PutObject %q: %v", name, key, err)
				}
				if rc, err := b.GetObject(key, legacy.VersionId("v1")); err != nil {
					t.Errorf("%s GetObject %q: %v", name, key, err)
				} else {
					rc.Close()
				}
				if _, err := b.GetObjectACL(key); err != nil {
					t.Errorf("%s GetObjectACL %q: %v", name, key, err)
				}
				if err := b.DeleteObject(key); err != nil {
					t.Errorf("%s DeleteObject %q: %v", name, key, err)
				}
				u, err := b.SignURL(key, legacy.HTTPGet, 600)
				if err != nil {
					t.Fatal(err)
				}
				fetch(t, u)
			}
			if _, err := b.ListObjectsV2(legacy.Prefix("dir/ a+b&c")); err != nil {
				t.Errorf("%s ListObjectsV2: %v", name, err)
			}
			vs := srv.check(t, name, version, 5*len(clientKeys)+1)
			if n := presignedCount(vs); n != len(clientKeys) {
				t.Errorf("%s: %d presigned requests verified, want %d", name, n, len(clientKeys))
			}
			if mode == "V4+host" {
				for _, v := range vs {
					if !v.res.Presigned && !strings.Contains(v.authz, ",AdditionalHeaders=host,") {
						t.Errorf("%s: request did not sign host: %s", name, v.authz)
						break
					}
				}
			}
			if version == 4 {
				for _, v := range vs {
					if v.ossDate && !v.res.Presigned {
						t.Errorf("%s: legacy V4 request carried x-oss-date; the Date-only quirk is not exercised", name)
						break
					}
				}
			}
		}
	}
}
