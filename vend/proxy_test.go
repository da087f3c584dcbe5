package vend_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/internal/e2etest/wire"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
	"github.com/ossproxy/ossproxy/vend"
)

// jwtIssuer mints the tokens the proxy in front of the API accepts.
func jwtIssuer() e2etest.Issuer {
	return e2etest.Issuer{URL: testIssuer, Audience: "ossproxy", Secret: []byte("vend-test-hmac-secret-0123456789abcdef")}
}

// TestThroughProxy serves the API behind the real proxy Handler with JWT
// authentication, wired as cmd/ossproxy wires it: unauthenticated calls
// never reach the Service, authenticated ones get their own grants.
func TestThroughProxy(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"bkt"}})
	ctx := t.Context()
	authn, err := auth.New(ctx, auth.Config{Issuers: []auth.IssuerConfig{wire.IssuerConfig(jwtIssuer())}})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auth.NewPolicy([]auth.Rule{{Issuers: []string{testIssuer}, Buckets: []string{"bkt"},
		Prefixes: []string{"users/${sub}/"}, Actions: []auth.Action{auth.ActionRead, auth.ActionWrite}}})
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewStatic(cloud.Admin.AccessKeyID, cloud.Admin.AccessKeySecret, "")
	reached := 0
	svc, err := vend.New(vend.Options{
		Buckets: []vend.Bucket{{Name: "bkt", Region: cloud.Region, Endpoint: cloud.OSSURL}},
		Policy:  pol,
		Principal: func(ctx context.Context) (*auth.Principal, bool) {
			reached++
			c, ok := proxy.CallerFromContext(ctx)
			if !ok {
				return nil, false
			}
			p, ok := c.Principal.(*auth.Principal)
			return p, ok
		},
		RequestID:   proxy.RequestIDFromContext,
		Credentials: creds,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := proxy.New(proxy.Options{
		Config:        proxy.Config{Buckets: []proxy.BucketConfig{{Name: "bkt", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true}}},
		Authenticator: wire.Authenticator(authn),
		Authorizer:    wire.Authorizer(pol),
		Credentials:   wire.Static(creds.Value.Credentials),
		Signer:        proxy.NewOSSSigner(proxy.Config{Buckets: []proxy.BucketConfig{{Name: "bkt", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true}}}),
		API:           svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	token := func(sub string) string { return jwtIssuer().Mint(t, sub, time.Hour) }
	post := func(bearer, body string, out any) (int, http.Header) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+vend.PresignPath, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = decodeJSON(resp.Body, out)
		}
		return resp.StatusCode, resp.Header
	}
	body := `{"bucket":"bkt","key":"users/alice/x","method":"PUT"}`
	if st, _ := post("", body, nil); st != http.StatusUnauthorized || reached != 0 {
		t.Fatalf("no token: %d, service reached %d times", st, reached)
	}
	if st, _ := post(token("alice")+"x", body, nil); st != http.StatusUnauthorized || reached != 0 {
		t.Fatalf("bad token: %d, service reached %d times", st, reached)
	}
	var a presignAnswer
	st, hdr := post(token("alice"), body, &a)
	if st != http.StatusOK || a.URL == "" || reached != 1 {
		t.Fatalf("alice: %d %+v", st, a)
	}
	if st, _ := curl(t, "-T", "/dev/null", a.URL); st != http.StatusOK {
		t.Fatalf("PUT through the URL: %d", st)
	}
	var d presignAnswer
	st, hdr = post(token("bob"), body, &d)
	if st != http.StatusForbidden || d.Code != "AccessDenied" || d.RequestID == "" || hdr.Get("X-Oss-Request-Id") != d.RequestID {
		t.Fatalf("bob: %d %+v (x-oss-request-id %q)", st, d, hdr.Get("X-Oss-Request-Id"))
	}
	if len(cloud.Recorder.Requests(osstest.EndpointOSS)) != 1 {
		t.Fatalf("API calls were forwarded upstream: %d OSS requests", len(cloud.Recorder.Requests(osstest.EndpointOSS)))
	}
}

func decodeJSON(r interface{ Read([]byte) (int, error) }, out any) error {
	return json.NewDecoder(r).Decode(out)
}

// TestPresignedURLsPointingAtTheProxy: a bucket whose Endpoint is the
// proxy and whose Credentials are a proxy-issued access key gets URLs the
// proxy itself verifies (as an access-key presigned request), authorizes
// and forwards re-signed, so the bucket's real endpoint never appears.
func TestPresignedURLsPointingAtTheProxy(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"bkt"}})
	ctx := t.Context()
	const keyID, keySecret = "PXYpresigner0001", "presigner-secret-0123456789"
	authn, err := auth.New(ctx, auth.Config{
		Issuers:         []auth.IssuerConfig{wire.IssuerConfig(jwtIssuer())},
		AccessKeys:      []auth.AccessKey{{ID: keyID, Secret: auth.Secret(keySecret), Principal: "presigner"}},
		AccessKeyRegion: cloud.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := auth.NewPolicy([]auth.Rule{
		{Issuers: []string{testIssuer}, Buckets: []string{"bkt"}, Prefixes: []string{"users/${sub}/"}, Actions: []auth.Action{auth.ActionRead}},
		{AccessKeyIDs: []string{keyID}, Buckets: []string{"bkt"}, Prefixes: []string{"users/"}, Actions: []auth.Action{auth.ActionRead}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	proxyURL := "http://" + srv.Listener.Addr().String()
	svc, err := vend.New(vend.Options{
		Buckets: []vend.Bucket{{Name: "bkt", Region: cloud.Region, Endpoint: proxyURL, Style: vend.PathStyle,
			Credentials: credentials.NewStatic(keyID, keySecret, "")}},
		Policy:    pol,
		Principal: apiPrincipalOf,
	})
	if err != nil {
		t.Fatal(err)
	}
	upstream := []proxy.BucketConfig{{Name: "bkt", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true}}
	h, err := proxy.New(proxy.Options{
		Config:        proxy.Config{Buckets: upstream},
		Authenticator: wire.Authenticator(authn),
		Authorizer:    wire.Authorizer(pol),
		Credentials:   wire.Static(signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}),
		Signer:        proxy.NewOSSSigner(proxy.Config{Buckets: upstream}),
		API:           svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	if err := cloud.OSS.PutObject(ctx, "bkt", "users/alice/photo.jpg", strings.NewReader("via proxy")); err != nil {
		t.Fatal(err)
	}
	tok := jwtIssuer().Mint(t, "alice", time.Hour)
	for _, version := range []string{"v4", "v1"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, proxyURL+vend.PresignPath,
			strings.NewReader(`{"bucket":"bkt","key":"users/alice/photo.jpg","version":"`+version+`"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var a presignAnswer
		_ = decodeJSON(resp.Body, &a)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(a.URL, proxyURL+"/bkt/users/alice/photo.jpg?") {
			t.Fatalf("%s: %d %+v", version, resp.StatusCode, a)
		}
		if st, body := curl(t, a.URL); st != 200 || body != "via proxy" {
			t.Fatalf("%s: GET through the proxy: %d %q", version, st, body)
		}
	}
	if cloud.Recorder.Contains(osstest.EndpointOSS, keyID) {
		t.Fatal("the proxy-issued key reached OSS")
	}
}

func apiPrincipalOf(ctx context.Context) (*auth.Principal, bool) {
	c, ok := proxy.CallerFromContext(ctx)
	if !ok {
		return nil, false
	}
	p, ok := c.Principal.(*auth.Principal)
	return p, ok
}
