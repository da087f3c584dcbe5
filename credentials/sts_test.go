package credentials

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/osstest"
)

const testAccount = "1234567890123456"

// stsEnv is the osstest fake STS served over HTTPS with its own test CA,
// plus the real SDK-backed STSClient configured to trust that CA.
type stsEnv struct {
	acct   *osstest.Account
	user   *osstest.Identity
	role   *osstest.Role
	oidc   *osstest.OIDCIssuer
	faults *osstest.Faults
	client *STSClient
}

func newSTSEnv(t *testing.T, timeout time.Duration) *stsEnv {
	t.Helper()
	acct := osstest.NewAccount(testAccount, nil)
	oidc, err := osstest.NewOIDCIssuer(acct, "ack-c1", "https://oidc-ack.test/c1")
	if err != nil {
		t.Fatal(err)
	}
	role := &osstest.Role{
		ARN:                "acs:ram::" + testAccount + ":role/ossproxy",
		Policy:             osstest.MustParsePolicy(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}`),
		MaxSessionDuration: 12 * time.Hour,
		OIDCProviderARN:    oidc.ARN,
	}
	acct.AddRole(role)
	ca, err := osstest.NewTestCA()
	if err != nil {
		t.Fatal(err)
	}
	faults := osstest.NewFaults(osstest.NewRecorder(0))
	t.Cleanup(faults.Close)
	srv := httptest.NewUnstartedServer(faults.Wrap(osstest.EndpointSTS, osstest.NewSTS(acct, osstest.STSOptions{OIDCProviders: []*osstest.OIDCIssuer{oidc}})))
	srv.TLS = ca.ServerTLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	hc := ca.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	client, err := NewSTSClient(STSConfig{Endpoint: u.Host, Region: "cn-hangzhou", HTTPClient: hc, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return &stsEnv{acct: acct, user: acct.NewUser("proxy", nil), role: role, oidc: oidc, faults: faults, client: client}
}

func (e *stsEnv) userCreds() Credentials {
	return Credentials{Credentials: credsOf(e.user.AccessKeyID, e.user.AccessKeySecret, ""), Source: "static"}
}

// checkMinted asserts that c are live credentials of the fake account for
// the role session, with the expected lifetime.
func (e *stsEnv) checkMinted(t *testing.T, c Credentials, session string, life time.Duration) {
	t.Helper()
	id, err := e.acct.Lookup(c.AccessKeyID, c.SecurityToken, time.Now())
	if err != nil {
		t.Fatalf("minted credentials unknown to the account: %v", err)
	}
	if want := "acs:ram::" + testAccount + ":assumed-role/ossproxy/" + session; id.Principal != want {
		t.Errorf("principal = %s, want %s", id.Principal, want)
	}
	if id.AccessKeySecret != c.AccessKeySecret {
		t.Error("secret differs from the minted one")
	}
	if got := time.Until(c.Expires); got < life-time.Minute || got > life+time.Second {
		t.Errorf("lifetime = %s, want about %s", got, life)
	}
}

func TestSTSClientAssumeRoleAgainstFake(t *testing.T) {
	env := newSTSEnv(t, 5*time.Second)
	ctx := t.Context()
	p, err := NewAssumeRole(NewStatic(env.user.AccessKeyID, env.user.AccessKeySecret, ""), env.client, AssumeRoleInput{
		RoleARN: env.role.ARN, SessionName: "proxy-1", Duration: 2 * time.Hour, ExternalID: "ext-42",
		Policy: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/*"}]}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.checkMinted(t, c, "proxy-1", 2*time.Hour)
	id, _ := env.acct.Lookup(c.AccessKeyID, c.SecurityToken, time.Now())
	if id.Allowed("oss:PutObject", "acs:oss:*:"+testAccount+":bkt/k", nil) {
		t.Error("session policy not applied: PutObject allowed")
	}

	// Role chaining: the STS credentials just minted sign the next call,
	// with their SecurityToken.
	chained, err := NewAssumeRole(ProviderFunc(func(context.Context) (Credentials, error) { return c, nil }), env.client,
		AssumeRoleInput{RoleARN: env.role.ARN, SessionName: "chained"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := chained.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.checkMinted(t, c2, "chained", time.Hour)
}

func TestSTSClientErrorsCarryCodeNotSecrets(t *testing.T) {
	env := newSTSEnv(t, 5*time.Second)
	good := env.userCreds()
	bad := good
	bad.AccessKeySecret = "wrong-secret-value-0123456789"
	stsTok := env.acct.MintSTS("acs:ram::"+testAccount+":assumed-role/ossproxy/x", time.Hour)
	withTok := Credentials{Credentials: credsOf(stsTok.AccessKeyID, "not-the-secret-xyz", stsTok.SecurityToken)}
	tests := []struct {
		name     string
		base     Credentials
		role     string
		wantCode string
		secrets  []string
	}{
		{"signature mismatch", bad, env.role.ARN, "SignatureDoesNotMatch", []string{bad.AccessKeySecret}},
		{"signature mismatch with token", withTok, env.role.ARN, "SignatureDoesNotMatch", []string{withTok.AccessKeySecret, withTok.SecurityToken}},
		{"unknown role", good, "acs:ram::" + testAccount + ":role/nope", "EntityNotExist.Role", []string{good.AccessKeySecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := env.client.AssumeRole(t.Context(), tt.base, AssumeRoleInput{RoleARN: tt.role, SessionName: "s1"})
			var se *STSError
			if !errors.As(err, &se) || !errors.Is(err, ErrSTS) || se.Code != tt.wantCode || se.StatusCode < 400 || se.RequestID == "" {
				t.Fatalf("err = %v; want *STSError code %s with status and request id", err, tt.wantCode)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error string contains a secret: %s", err)
				}
			}
		})
	}
}

func TestSTSClientHungCallBoundedByTimeout(t *testing.T) {
	env := newSTSEnv(t, 300*time.Millisecond)
	env.faults.Add(osstest.EndpointSTS, osstest.Fault{Hang: true})
	start := time.Now()
	_, err := env.client.AssumeRole(t.Context(), env.userCreds(), AssumeRoleInput{RoleARN: env.role.ARN, SessionName: "s1"})
	took := time.Since(start)
	var se *STSError
	if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) || se.StatusCode != 0 {
		t.Fatalf("err = %v; want a transport STSError wrapping DeadlineExceeded", err)
	}
	if !se.Retryable() {
		t.Error("a timeout should be retryable")
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("hung call returned after %s; want about 300ms", took)
	}
	if strings.Contains(err.Error(), env.user.AccessKeySecret) || strings.Contains(err.Error(), "Signature=") {
		t.Fatalf("error leaks request details: %s", err)
	}
}

func TestOIDCProviderRereadsRotatedToken(t *testing.T) {
	env := newSTSEnv(t, 5*time.Second)
	file := filepath.Join(t.TempDir(), "token")
	if err := env.oidc.WriteTokenFile(file, "system:serviceaccount:default:ossproxy", time.Hour); err != nil {
		t.Fatal(err)
	}
	p, err := NewOIDC(env.client, OIDCConfig{RoleARN: env.role.ARN, OIDCProviderARN: env.oidc.ARN, TokenFile: file, SessionName: "pod-1"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	env.checkMinted(t, c, "pod-1", time.Hour)
	if c.Source != "oidc" {
		t.Errorf("Source = %q", c.Source)
	}

	// The kubelet rotates the token: the next refresh must send the new one.
	if err := env.oidc.WriteTokenFile(file, "system:serviceaccount:default:ossproxy", time.Hour); err != nil {
		t.Fatal(err)
	}
	tok2, _ := os.ReadFile(file)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := env.faults.Recorder().Requests(osstest.EndpointSTS)
	if last := reqs[len(reqs)-1]; !strings.Contains(last.URL, url.QueryEscape(string(tok2))) {
		t.Fatalf("second AssumeRoleWithOIDC did not carry the rotated token")
	}
	for _, r := range reqs {
		if strings.Contains(r.URL, "Signature=") || strings.Contains(r.URL, "AccessKeyId=") {
			t.Fatalf("AssumeRoleWithOIDC was signed: %s", r.URL[:min(len(r.URL), 120)])
		}
	}

	// A token the issuer did not sign is refused by the fake, proving the
	// file is read again rather than cached.
	forged := string(tok2[:len(tok2)-4]) + "AAAA"
	if err := os.WriteFile(file, []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = p.Retrieve(t.Context())
	var se *STSError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Code, "AuthenticationFail") {
		t.Fatalf("forged token: err = %v; want an AuthenticationFail STS error", err)
	}
	if strings.Contains(err.Error(), forged) || strings.Contains(err.Error(), string(tok2[:40])) {
		t.Fatalf("error string contains the token: %s", err)
	}
}
