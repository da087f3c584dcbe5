package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

const (
	akID     = "LTAIproxyIssued01"
	akSecret = "proxy-issued-secret-value"
	akRegion = "cn-hangzhou"
)

// authServer is a path-style OSS front end whose handler calls the
// Authenticator, as the proxy will, and answers like OSS.
type authServer struct {
	a    *Authenticator
	mu   sync.Mutex
	seen []*Principal
}

func (s *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	p, err := s.a.Authenticate(r.Context(), r, Target{Bucket: bucket, Key: key})
	w.Header().Set("X-Oss-Request-Id", "req-1")
	if err != nil {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(StatusCode(err))
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>denied</Message><RequestId>req-1</RequestId></Error>`, ErrorCode(err))
		return
	}
	s.mu.Lock()
	s.seen = append(s.seen, p)
	s.mu.Unlock()
	switch {
	case r.Method == http.MethodPut:
		w.Header().Set("ETag", `"5D41402ABC4B2A76B9719D911017C592"`)
	case key == "":
		w.Header().Set("Content-Type", "application/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>`+bucket+`</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`)
	default:
		io.WriteString(w, "hello")
	}
}

func (s *authServer) take() []*Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.seen
	s.seen = nil
	return p
}

func newAuthServer(t *testing.T, clock *testClock, logs io.Writer) (*authServer, string) {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	a := newTestAuthenticator(t, Config{
		AccessKeys: []AccessKey{
			{ID: akID, Secret: Secret(akSecret), Principal: "ci-uploader", Groups: []string{"ci"}},
			{ID: "LTAIother", Secret: Secret("other-secret")},
		},
		AccessKeyRegion: akRegion,
		Now:             clock.Now,
		Logger:          slog.New(slog.NewJSONHandler(logs, nil)),
	})
	s := &authServer{a: a}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func realClock() *testClock { return &testClock{t: time.Now()} }

func sdkV2Client(endpoint, id, secret string, version int) *oss.Client {
	v := oss.SignatureVersionV4
	if version == 1 {
		v = oss.SignatureVersionV1
	}
	return oss.NewClient(oss.LoadDefaultConfig().WithRegion(akRegion).WithEndpoint(endpoint).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(id, secret)).
		WithSignatureVersion(v).WithRetryMaxAttempts(1))
}

func getURL(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func checkPrincipals(t *testing.T, name string, ps []*Principal, min int) {
	t.Helper()
	if len(ps) < min {
		t.Fatalf("%s: %d authenticated requests, want at least %d", name, len(ps), min)
	}
	for _, p := range ps {
		if p.Mode != ModeAccessKey || p.Name != "ci-uploader" || p.KeyID != akID || len(p.Groups) != 1 || p.Groups[0] != "ci" {
			t.Fatalf("%s: principal %+v", name, p)
		}
	}
}

func TestAccessKeysSDKv2(t *testing.T) {
	srv, endpoint := newAuthServer(t, realClock(), nil)
	ctx := context.Background()
	const key = "dir/a b+c~(1)&x=y.txt"
	for _, version := range []int{1, 4} {
		name := fmt.Sprintf("sdk-v2 V%d", version)
		c := sdkV2Client(endpoint, akID, akSecret, version)
		if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: new("bkt"), Key: new(key), Body: strings.NewReader("hello")}); err != nil {
			t.Fatalf("%s PutObject: %v", name, err)
		}
		r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: new("bkt"), Key: new(key)})
		if err != nil {
			t.Fatalf("%s GetObject: %v", name, err)
		}
		r.Body.Close()
		if _, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: new("bkt"), Prefix: new("dir/")}); err != nil {
			t.Fatalf("%s ListObjectsV2: %v", name, err)
		}
		pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: new("bkt"), Key: new(key)}, oss.PresignExpires(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := getURL(t, pr.URL); code != 200 || body != "hello" {
			t.Fatalf("%s presigned GET: %d %s", name, code, body)
		}
		ps := srv.take()
		checkPrincipals(t, name, ps, 4)
		last := ps[len(ps)-1]
		if len(last.Carrier.QueryParams) == 0 || last.ExpiresAt.IsZero() {
			t.Fatalf("%s presigned principal: carrier %+v, expires %v", name, last.Carrier, last.ExpiresAt)
		}
		if ps[0].Carrier.Headers[0] != "Authorization" {
			t.Fatalf("%s header principal: carrier %+v", name, ps[0].Carrier)
		}
	}
}

func TestAccessKeysLegacySDK(t *testing.T) {
	srv, endpoint := newAuthServer(t, realClock(), nil)
	const key = "dir/a b+c~(1)&x=y.txt"
	for _, mode := range []string{"V1", "V4"} {
		opts := []legacy.ClientOption{legacy.Region(akRegion)}
		if mode == "V4" {
			opts = append(opts, legacy.AuthVersion(legacy.AuthV4))
		}
		c, err := legacy.New(endpoint, akID, akSecret, opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Bucket("bkt")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.PutObject(key, strings.NewReader("hello")); err != nil {
			t.Fatalf("legacy %s PutObject: %v", mode, err)
		}
		rc, err := b.GetObject(key)
		if err != nil {
			t.Fatalf("legacy %s GetObject: %v", mode, err)
		}
		rc.Close()
		u, err := b.SignURL(key, legacy.HTTPGet, 600)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := getURL(t, u); code != 200 || body != "hello" {
			t.Fatalf("legacy %s SignURL GET: %d %s", mode, code, body)
		}
		checkPrincipals(t, "legacy "+mode, srv.take(), 3)
	}
}

func TestAccessKeysRejected(t *testing.T) {
	clock := realClock()
	var logs bytes.Buffer
	srv, endpoint := newAuthServer(t, clock, &logs)
	ctx := context.Background()
	get := func(c *oss.Client) error {
		r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: new("bkt"), Key: new("k")})
		if err == nil {
			r.Body.Close()
		}
		return err
	}
	tests := []struct {
		name     string
		id, sk   string
		version  int
		wantCode string
	}{
		{"wrong secret V4", akID, "wrong-secret", 4, "SignatureDoesNotMatch"},
		{"wrong secret V1", akID, "wrong-secret", 1, "SignatureDoesNotMatch"},
		{"unknown key id V4", "LTAInobody", akSecret, 4, "InvalidAccessKeyId"},
		{"unknown key id V1", "LTAInobody", akSecret, 1, "InvalidAccessKeyId"},
		{"another key's secret", "LTAIother", akSecret, 4, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			err := get(sdkV2Client(endpoint, tt.id, tt.sk, tt.version))
			var se *oss.ServiceError
			if !errors.As(err, &se) || se.Code != tt.wantCode || se.StatusCode != http.StatusForbidden {
				t.Fatalf("GetObject err = %v, want %s 403", err, tt.wantCode)
			}
			if strings.Contains(logs.String(), tt.sk) || !strings.Contains(logs.String(), tt.wantCode) {
				t.Fatalf("log: %s", logs.String())
			}
		})
	}

	// Presigned URLs past their expiry, by the injected clock.
	c := sdkV2Client(endpoint, akID, akSecret, 4)
	pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: new("bkt"), Key: new("k")}, oss.PresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := legacy.New(endpoint, akID, akSecret)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lc.Bucket("bkt")
	if err != nil {
		t.Fatal(err)
	}
	lu, err := lb.SignURL("k", legacy.HTTPGet, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{pr.URL, lu} {
		if code, body := getURL(t, u); code != 200 || body != "hello" {
			t.Fatalf("fresh presigned URL: %d %s", code, body)
		}
	}
	clock.Advance(2 * time.Minute)
	for _, u := range []string{pr.URL, lu} {
		code, body := getURL(t, u)
		if code != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") {
			t.Fatalf("expired presigned URL: %d %s", code, body)
		}
	}
	if n := len(srv.take()); n != 2 {
		t.Fatalf("authenticated %d requests, want the 2 fresh ones", n)
	}
}

func TestAccessKeysConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no region", Config{AccessKeys: []AccessKey{{ID: "a", Secret: Secret("s")}}}},
		{"no id", Config{AccessKeyRegion: "r", AccessKeys: []AccessKey{{Secret: Secret("s")}}}},
		{"no secret", Config{AccessKeyRegion: "r", AccessKeys: []AccessKey{{ID: "a"}}}},
		{"duplicate", Config{AccessKeyRegion: "r", AccessKeys: []AccessKey{{ID: "a", Secret: Secret("s")}, {ID: "a", Secret: Secret("t")}}}},
	}
	for _, tt := range tests {
		if _, err := New(t.Context(), tt.cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New = %v", tt.name, err)
		}
	}
	// A signed request when no access keys are configured.
	a := newTestAuthenticator(t, Config{})
	r := httptest.NewRequest(http.MethodGet, "/bkt/k", nil)
	r.Header.Set("Authorization", "OSS AK:c2ln")
	if _, err := a.Authenticate(t.Context(), r, Target{Bucket: "bkt", Key: "k"}); !errors.Is(err, ErrInvalidAccessKeyID) {
		t.Fatalf("no access keys: %v", err)
	}
}
