package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/golang-jwt/jwt/v5"
)

// authzCase is one call of TestServeAuthorizationMatrix: allowed, or
// refused with status and the OSS error code.
type authzCase struct {
	name    string
	call    func() error
	allowed bool
	status  int
	code    string
}

// TestServeAuthorizationMatrix checks, for each authentication mode,
// allowed requests (put, read, list, and a copy within its own prefix)
// and denials by bucket, prefix, action, list prefix, copy source and
// delete-multiple key: every denial is a 403 OSS XML error the SDK
// parses, and none reaches the emulator.
func TestServeAuthorizationMatrix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	s := startServe(t, serveOpts{extraListeners: "  - name: sidecar\n    network: unix\n    address: " + sock + "\n    anonymous: true\n"})
	ctx := t.Context()
	root := sdkV2(s.url, mint(t, jwt.MapClaims{"sub": "root"}), "", "", oss.SignatureVersionV4)
	for _, k := range []string{"private/x", "shared/readme", "alice/seed", "app/seed", "public/seed"} {
		if _, err := root.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatalf("seeding %s: %v", k, err)
		}
	}
	unixHC := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	anon := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").WithEndpoint("http://sidecar").WithUsePathStyle(true).
		WithRetryMaxAttempts(1).WithCredentialsProvider(osscreds.NewAnonymousCredentialsProvider()).WithHttpClient(unixHC))
	modes := []struct {
		name   string
		c      *oss.Client
		prefix string // where the mode may write
	}{
		{"jwt", sdkV2(s.url, mint(t, jwt.MapClaims{"sub": "alice"}), "", "", oss.SignatureVersionV4), "alice/"},
		{"accesskey-v4", sdkV2(s.url, "", tKeyID, tKeySec, oss.SignatureVersionV4), "app/"},
		{"accesskey-v1", sdkV2(s.url, "", tKeyID, tKeySec, oss.SignatureVersionV1), "app/"},
		{"anonymous", anon, "public/"},
	}
	for _, m := range modes {
		c, p := m.c, m.prefix
		tests := []authzCase{
			{"put own prefix", func() error {
				_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "ok"), Body: strings.NewReader("ok")})
				return err
			}, true, 0, ""},
			{"read own prefix", func() error {
				r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "seed")})
				if err == nil {
					r.Body.Close()
				}
				return err
			}, true, 0, ""},
			{"list own prefix", func() error {
				_, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr(p)})
				return err
			}, true, 0, ""},
			{"copy from own prefix to own prefix", func() error {
				_, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "copied"), SourceKey: oss.Ptr(p + "seed")})
				if err != nil {
					return err
				}
				got, err := s.cloud.OSS.ObjectSHA256("data", p+"copied")
				if want := sha256Hex([]byte(p + "seed")); err != nil || got != want {
					return fmt.Errorf("the copy at the emulator: sha256 %s, %v; want %s", got, err, want)
				}
				return nil
			}, true, 0, ""},
			{"read other prefix", func() error {
				_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("private/x")})
				return err
			}, false, 403, "AccessDenied"},
			{"write other prefix", func() error {
				_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("private/y"), Body: strings.NewReader("y")})
				return err
			}, false, 403, "AccessDenied"},
			{"configured bucket not granted", func() error {
				_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("secret"), Key: oss.Ptr(p + "seed")})
				return err
			}, false, 403, "AccessDenied"},
			{"bucket not served", func() error {
				_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("nosuch"), Key: oss.Ptr(p + "seed")})
				return err
			}, false, 404, "NoSuchBucket"},
			{"list whole bucket", func() error {
				_, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data")})
				return err
			}, false, 403, "AccessDenied"},
			{"bucket action", func() error {
				_, err := c.PutBucketAcl(ctx, &oss.PutBucketAclRequest{Bucket: oss.Ptr("data"), Acl: oss.BucketACLPublicRead})
				return err
			}, false, 403, "AccessDenied"},
			{"copy from other prefix", func() error {
				_, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "stolen"), SourceKey: oss.Ptr("private/x")})
				return err
			}, false, 403, "AccessDenied"},
			{"copy from other bucket", func() error {
				_, err := c.CopyObject(ctx, &oss.CopyObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "stolen"),
					SourceBucket: oss.Ptr("secret"), SourceKey: oss.Ptr("x")})
				return err
			}, false, 403, "AccessDenied"},
			{"delete multiple with a foreign key", func() error {
				_, err := c.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{Bucket: oss.Ptr("data"),
					Objects: []oss.DeleteObject{{Key: oss.Ptr(p + "ok")}, {Key: oss.Ptr("private/x")}}})
				return err
			}, false, 403, "AccessDenied"},
		}
		if m.name == "anonymous" {
			tests = append(tests, authzCase{"action not granted (delete)", func() error {
				_, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(p + "ok")})
				return err
			}, false, 403, "AccessDenied"})
		}
		if m.name == "jwt" {
			tests = append(tests, authzCase{"action not granted (write read-only prefix)", func() error {
				_, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("shared/w"), Body: strings.NewReader("w")})
				return err
			}, false, 403, "AccessDenied"})
		}
		for _, tc := range tests {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				before := s.upstreamRequests()
				err := tc.call()
				if tc.allowed {
					if err != nil {
						t.Fatalf("allowed request failed: %v", err)
					}
					if s.upstreamRequests() == before {
						t.Fatal("allowed request did not reach the emulator")
					}
					return
				}
				var se *oss.ServiceError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want an OSS service error", err)
				}
				if se.StatusCode != tc.status || se.Code != tc.code {
					t.Fatalf("got %d %s, want %d %s", se.StatusCode, se.Code, tc.status, tc.code)
				}
				if se.RequestID == "" {
					t.Error("no request id in the XML error")
				}
				if n := s.upstreamRequests() - before; n != 0 {
					t.Fatalf("denied request made %d upstream requests", n)
				}
			})
		}
	}
	// Credentials carried in the URL: presigned (V1 and V4) with the
	// proxy-issued key, and the JWT in the token query parameter.
	rawGet := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	aliceTok := mint(t, jwt.MapClaims{"sub": "alice"})
	for _, v := range []oss.SignatureVersionType{oss.SignatureVersionV1, oss.SignatureVersionV4} {
		c := sdkV2(s.url, "", tKeyID, tKeySec, v)
		for _, tc := range []struct {
			key    string
			status int
		}{{"app/seed", 200}, {"private/x", 403}} {
			pr, err := c.Presign(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr(tc.key)}, oss.PresignExpires(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			before := s.upstreamRequests()
			code, body := rawGet(t, pr.URL)
			if code != tc.status || (code == 403 && (!strings.Contains(body, "<Code>AccessDenied</Code>") || s.upstreamRequests() != before)) {
				t.Errorf("presigned (%v) GET %s: %d %s", v, tc.key, code, body)
			}
		}
	}
	before := s.upstreamRequests()
	if code, body := rawGet(t, s.url+"/data/private/x?access_token="+aliceTok); code != 403 || !strings.Contains(body, "AccessDenied") || s.upstreamRequests() != before {
		t.Errorf("query token outside policy: %d %s", code, body)
	}
	if code, _ := rawGet(t, s.url+"/data/alice/seed?access_token="+aliceTok); code != 200 {
		t.Errorf("query token inside policy: %d", code)
	}
	s.assertNoCallerSecrets(t, aliceTok)
}

// TestServeBadTokens checks that each kind of bad bearer token gets a 401
// with its own code through serve, and that the log says why without the
// token.
func TestServeBadTokens(t *testing.T) {
	s := startServe(t, serveOpts{})
	now := time.Now()
	otherKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": tIssuer, "aud": tAudience, "sub": "alice", "exp": now.Add(time.Hour).Unix(),
	}).SignedString([]byte("another-secret-another-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": tIssuer, "aud": tAudience, "sub": "alice", "exp": now.Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, code string
	}{
		{"expired", mint(t, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}), "InvalidToken.Expired"},
		{"not yet valid", mint(t, jwt.MapClaims{"sub": "alice", "nbf": now.Add(time.Hour).Unix()}), "InvalidToken.NotYetValid"},
		{"wrong audience", mint(t, jwt.MapClaims{"sub": "alice", "aud": "someone-else"}), "InvalidToken.Audience"},
		{"wrong issuer", mint(t, jwt.MapClaims{"sub": "alice", "iss": "https://evil.test"}), "InvalidToken.Issuer"},
		{"bad signature", otherKey, "InvalidToken.Signature"},
		{"alg none", none, "InvalidToken.Algorithm"},
		{"missing", "", "InvalidToken.Missing"},
	}
	codes := map[string]bool{}
	before := s.upstreamRequests()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/data/alice/x", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(string(body), "<Code>"+tc.code+"</Code>") {
				t.Fatalf("got %d %s, want 401 %s", resp.StatusCode, body, tc.code)
			}
			if resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			codes[tc.code] = true
			// The log names the reason (its code) and never the token.
			found := false
			for _, r := range s.logs.records("authentication failed") {
				if r["code"] == tc.code {
					found = true
				}
			}
			if !found {
				t.Errorf("no log record with code %s", tc.code)
			}
			if tc.token != "" && strings.Contains(s.logs.String(), tc.token[strings.LastIndexByte(tc.token, '.'):]) && tc.name != "alg none" {
				t.Error("token signature in the log")
			}
			if tc.token != "" && strings.Contains(s.logs.String(), tc.token) {
				t.Error("token in the log")
			}
		})
	}
	if len(codes) != len(tests) {
		t.Errorf("codes are not distinct: %v", codes)
	}
	if s.upstreamRequests() != before {
		t.Error("a refused request reached the emulator")
	}
}
