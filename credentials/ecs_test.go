package credentials

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/osstest"
)

func TestECSProviderAgainstFake(t *testing.T) {
	isPut := func(r *http.Request) bool { return r.Method == http.MethodPut }
	tests := []struct {
		name        string
		fakeV1      bool           // fake answers GETs without a token
		tokenFault  *osstest.Fault // applied to PUT /latest/api/token
		cfg         ECSConfig
		wantErr     error
		wantToken   bool // GETs carried the IMDSv2 token
		wantNoRoles bool
	}{
		{name: "imdsv2, role discovered", wantToken: true},
		{name: "imdsv2, role configured", cfg: ECSConfig{RoleName: "ossproxy"}, wantToken: true},
		{name: "wrong role name", cfg: ECSConfig{RoleName: "nope"}, wantErr: ErrMetadata},
		{name: "token refused, v1 not allowed", fakeV1: true, tokenFault: &osstest.Fault{Status: http.StatusForbidden, Match: isPut}, wantErr: ErrMetadata},
		{name: "token refused, v1 allowed", fakeV1: true, tokenFault: &osstest.Fault{Status: http.StatusForbidden, Match: isPut}, cfg: ECSConfig{AllowIMDSv1: true}},
		{name: "token refused, v1 allowed but server hardened", tokenFault: &osstest.Fault{Status: http.StatusForbidden, Match: isPut}, cfg: ECSConfig{AllowIMDSv1: true}, wantErr: ErrMetadata},
		{name: "metadata hangs", tokenFault: &osstest.Fault{Hang: true}, cfg: ECSConfig{Timeout: 200 * time.Millisecond}, wantErr: ErrMetadata},
	}
	// One cloud per IMDS mode, shared by the subtests: starting one costs an RSA key.
	clouds := map[bool]*osstest.Cloud{
		false: osstest.NewTestCloud(t, osstest.CloudOptions{}),
		true:  osstest.NewTestCloud(t, osstest.CloudOptions{AllowIMDSv1: true}),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cloud := clouds[tt.fakeV1]
			cloud.Faults.Clear(osstest.EndpointECS)
			cloud.Recorder.Reset()
			if tt.tokenFault != nil {
				cloud.Faults.Add(osstest.EndpointECS, *tt.tokenFault)
			}
			cfg := tt.cfg
			cfg.Endpoint = cloud.ECSURL
			p, err := NewECS(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Retrieve(t.Context())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := cloud.Account.Lookup(c.AccessKeyID, c.SecurityToken, time.Now())
			if err != nil || !strings.Contains(id.Principal, "assumed-role/ossproxy/") || c.Source != "ecs" || !c.CanExpire() {
				t.Fatalf("credentials %v: lookup %v, principal %v", c, err, id)
			}
			var sawTTL bool
			for _, r := range cloud.Recorder.Requests(osstest.EndpointECS) {
				if r.Method == http.MethodPut && r.Header.Get(osstest.ECSTokenTTLHeader) == "21600" {
					sawTTL = true
				}
				if r.Method == http.MethodGet && (r.Header.Get(osstest.ECSTokenHeader) != "") != tt.wantToken {
					t.Errorf("GET %s token header present = %v, want %v", r.URL, !tt.wantToken, tt.wantToken)
				}
			}
			if !sawTTL {
				t.Error("no PUT /latest/api/token with a 21600s TTL")
			}
		})
	}
}

// TestCachedProvidersAgainstCloud drives each STS-backed provider through a
// Cache against one osstest Cloud, including an RRSA token rotated between
// refreshes, and checks that nothing secret reaches the logs.
func TestCachedProvidersAgainstCloud(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{MaxSessionDuration: 2 * time.Hour})
	hc := cloud.CA.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	sts, err := NewSTSClient(STSConfig{Endpoint: cloud.STSEndpoint, Region: cloud.Region, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokenFile := filepath.Join(t.TempDir(), "token")
	const sub = "system:serviceaccount:default:ossproxy"
	if err := cloud.OIDC.WriteTokenFile(tokenFile, sub, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	oidc, err := NewOIDC(sts, OIDCConfig{RoleARN: cloud.Role.ARN, OIDCProviderARN: cloud.OIDC.ARN, TokenFile: tokenFile})
	if err != nil {
		t.Fatal(err)
	}
	ecs, err := NewECS(ECSConfig{Endpoint: cloud.ECSURL})
	if err != nil {
		t.Fatal(err)
	}
	role, err := NewAssumeRole(NewStatic(cloud.Admin.AccessKeyID, cloud.Admin.AccessKeySecret, ""), sts,
		AssumeRoleInput{RoleARN: cloud.Role.ARN, Duration: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ecsCache := NewCache(ecs, CacheOptions{Logger: log})
	t.Cleanup(func() { _ = ecsCache.Close() })
	chained, err := NewAssumeRole(ecsCache, sts, AssumeRoleInput{RoleARN: cloud.Role.ARN, SessionName: "from-ecs"})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, tc := range []struct {
		name string
		p    Provider
	}{{"oidc", oidc}, {"ecs", ecs}, {"assume_role", role}, {"ecs then assume_role", chained}} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(tc.p, CacheOptions{Logger: log})
			defer c.Close()
			cr, err := c.Retrieve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cloud.Account.Lookup(cr.AccessKeyID, cr.SecurityToken, cloud.Clock.Now()); err != nil {
				t.Fatalf("cached credentials rejected by the account: %v", err)
			}
			secrets = append(secrets, cr.AccessKeySecret, cr.SecurityToken)
			c.Invalidate(cr) // as if OSS had rejected the token
			cr2, err := c.Retrieve(t.Context())
			if err != nil || cr2.AccessKeyID == cr.AccessKeyID && tc.name != "ecs" {
				t.Fatalf("after Invalidate: %v, %v; want fresh credentials", cr2, err)
			}
		})
	}

	t.Run("rrsa token rotated between refreshes", func(t *testing.T) {
		c := NewCache(oidc, CacheOptions{Logger: log})
		defer c.Close()
		first, err := c.Retrieve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		oldBytes, _ := os.ReadFile(tokenFile)
		oldTok := string(oldBytes)
		// Fifteen minutes later the first token has expired; the kubelet has
		// written a new one. The fake STS refuses the old token, so the
		// refresh succeeds only if the file is read again.
		cloud.Clock.Advance(15 * time.Minute)
		defer cloud.Clock.Advance(-15 * time.Minute) // STS checks request timestamps against it
		if err := cloud.OIDC.WriteTokenFile(tokenFile, sub, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		newTok, _ := os.ReadFile(tokenFile)
		if _, err := sts.AssumeRoleWithOIDC(t.Context(), OIDCInput{RoleARN: cloud.Role.ARN, OIDCProviderARN: cloud.OIDC.ARN,
			Token: oldTok, SessionName: "probe"}); err == nil {
			t.Fatal("the fake STS still accepts the expired token; the rotation check would prove nothing")
		}
		secrets = append(secrets, string(newTok))
		c.Invalidate(first)
		second, err := c.Retrieve(t.Context())
		if err != nil || second.AccessKeyID == first.AccessKeyID {
			t.Fatalf("refresh with the rotated token: %v, %v", second, err)
		}
		reqs := cloud.Recorder.Requests(osstest.EndpointSTS)
		if !strings.Contains(reqs[len(reqs)-1].URL, string(newTok)) {
			t.Fatal("the refresh did not send the rotated token")
		}
	})

	t.Run("sts failure paths", func(t *testing.T) {
		c := NewCache(role, CacheOptions{Logger: log})
		defer c.Close()
		cr, err := c.Retrieve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, cr.AccessKeySecret, cr.SecurityToken)
		inj := cloud.Faults.Add(osstest.EndpointSTS, osstest.Fault{Status: http.StatusServiceUnavailable})
		c.Invalidate(cr)
		_, err = c.Retrieve(t.Context())
		inj.Remove()
		if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrSTS) {
			t.Fatalf("err = %v; want ErrExpired wrapping an STS error", err)
		}
		errText := err.Error()

		const wrong = "Wr0ngSecretForSignature"
		secrets = append(secrets, wrong)
		badBase, err := NewAssumeRole(NewStatic(cloud.Admin.AccessKeyID, wrong, ""), sts, AssumeRoleInput{RoleARN: cloud.Role.ARN})
		if err != nil {
			t.Fatal(err)
		}
		bad := NewCache(badBase, CacheOptions{Logger: log})
		defer bad.Close()
		_, err = bad.Retrieve(t.Context())
		var se *STSError
		if !errors.As(err, &se) || se.Code != "SignatureDoesNotMatch" || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v; want ErrUnavailable wrapping SignatureDoesNotMatch", err)
		}
		errText += err.Error()
		for _, s := range secrets {
			if strings.Contains(errText, s) {
				t.Fatalf("an error string contains a secret: %s", errText)
			}
		}
	})

	out := logs.String()
	if !strings.Contains(out, "refreshing credentials failed") || !strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("failures were not logged:\n%s", out)
	}
	if !strings.Contains(out, "credentials refreshed") {
		t.Fatalf("no refresh was logged:\n%s", out)
	}
	for _, s := range append(secrets, cloud.Admin.AccessKeySecret) {
		if s != "" && strings.Contains(out, s) {
			t.Fatalf("a secret or token reached the logs")
		}
	}
}

func FuzzParseECSCredentials(f *testing.F) {
	f.Add([]byte(`{"AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-11-27T16:00:00Z","Code":"Success"}`))
	f.Add([]byte(`{"Code":"Failed"}`))
	f.Add([]byte(`{"AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"soon","Code":"Success"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseECSCredentials(data)
		if err == nil && (!c.Valid() || c.SecurityToken == "" || c.Expires.IsZero()) {
			t.Fatalf("accepted incomplete credentials %v", c)
		}
		if err != nil && !errors.Is(err, ErrMetadata) {
			t.Fatalf("error %v does not wrap ErrMetadata", err)
		}
	})
}
