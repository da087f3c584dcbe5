package osstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

type ecsFixture struct {
	acct *Account
	role *Role
	url  string
	ecs  *ECSMetadata
}

func newECSFixture(t *testing.T, opts ECSOptions) *ecsFixture {
	t.Helper()
	acct := NewAccount(testAccountID, nil)
	acct.Clock.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	role := &Role{ARN: "acs:ram::" + testAccountID + ":role/EcsRole",
		Policy: MustParsePolicy(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}`)}
	acct.AddRole(role)
	if opts.Role == nil {
		opts.Role = role
	}
	e := NewECSMetadata(acct, opts)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &ecsFixture{acct: acct, role: role, url: srv.URL, ecs: e}
}

func (f *ecsFixture) do(t *testing.T, method, path string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, b := do(t, req)
	return resp.StatusCode, string(b)
}

func (f *ecsFixture) token(t *testing.T, ttl int) string {
	t.Helper()
	status, tok := f.do(t, http.MethodPut, "/latest/api/token", map[string]string{ECSTokenTTLHeader: strconv.Itoa(ttl)})
	if status != 200 || tok == "" {
		t.Fatalf("token: %d %q", status, tok)
	}
	return tok
}

func (f *ecsFixture) creds(t *testing.T, tok string) ecsCredentials {
	t.Helper()
	status, body := f.do(t, http.MethodGet, ecsCredPrefix+"EcsRole", map[string]string{ECSTokenHeader: tok})
	if status != 200 {
		t.Fatalf("credentials: %d %q", status, body)
	}
	var c ecsCredentials
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestECSMetadataIMDSv2(t *testing.T) {
	f := newECSFixture(t, ECSOptions{})
	tok := f.token(t, 21600)
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		body               string
	}{
		{"role list", "GET", ecsCredPrefix, map[string]string{ECSTokenHeader: tok}, 200, "EcsRole"},
		{"role list no slash", "GET", "/latest/meta-data/ram/security-credentials", map[string]string{ECSTokenHeader: tok}, 200, "EcsRole"},
		{"IMDSv1 refused", "GET", ecsCredPrefix, nil, 403, ""},
		{"IMDSv1 credentials refused", "GET", ecsCredPrefix + "EcsRole", nil, 403, ""},
		{"bogus token", "GET", ecsCredPrefix, map[string]string{ECSTokenHeader: "nope"}, 401, ""},
		{"unknown role", "GET", ecsCredPrefix + "Other", map[string]string{ECSTokenHeader: tok}, 404, ""},
		{"other path", "GET", "/latest/meta-data/instance-id", map[string]string{ECSTokenHeader: tok}, 404, ""},
		{"ttl zero", "PUT", "/latest/api/token", map[string]string{ECSTokenTTLHeader: "0"}, 400, ""},
		{"ttl too long", "PUT", "/latest/api/token", map[string]string{ECSTokenTTLHeader: "21601"}, 400, ""},
		{"ttl missing", "PUT", "/latest/api/token", nil, 400, ""},
		{"ttl not a number", "PUT", "/latest/api/token", map[string]string{ECSTokenTTLHeader: "1h"}, 400, ""},
		{"token via GET", "GET", "/latest/api/token", map[string]string{ECSTokenTTLHeader: "60"}, 405, ""},
		{"token through a proxy", "PUT", "/latest/api/token", map[string]string{ECSTokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.1"}, 403, ""},
		{"POST credentials", "POST", ecsCredPrefix + "EcsRole", map[string]string{ECSTokenHeader: tok}, 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.do(t, tc.method, tc.path, tc.hdr)
			if status != tc.status || (tc.body != "" && body != tc.body) {
				t.Errorf("got %d %q, want %d %q", status, body, tc.status, tc.body)
			}
		})
	}

	c := f.creds(t, tok)
	if c.Code != "Success" || c.AccessKeySecret == "" || c.LastUpdated != "2026-11-27T12:00:00Z" || c.Expiration != "2026-11-27T18:00:00Z" {
		t.Errorf("credentials %+v", c)
	}
	id, err := f.acct.Lookup(c.AccessKeyID, c.SecurityToken, f.acct.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !id.Allowed("oss:GetObject", "acs:oss:*:1:b/k", nil) || id.Allowed("oss:PutObject", "acs:oss:*:1:b/k", nil) {
		t.Error("ECS credentials do not carry the role policy")
	}

	// A session token expires on the account clock.
	short := f.token(t, 60)
	f.acct.Clock.Advance(61 * time.Second)
	if status, _ := f.do(t, "GET", ecsCredPrefix, map[string]string{ECSTokenHeader: short}); status != 401 {
		t.Errorf("expired session token: %d, want 401", status)
	}
}

func TestECSMetadataIMDSv1Allowed(t *testing.T) {
	f := newECSFixture(t, ECSOptions{AllowIMDSv1: true})
	if status, body := f.do(t, "GET", ecsCredPrefix, nil); status != 200 || body != "EcsRole" {
		t.Errorf("IMDSv1 role list: %d %q", status, body)
	}
	if status, _ := f.do(t, "GET", ecsCredPrefix, map[string]string{ECSTokenHeader: "bogus"}); status != 401 {
		t.Errorf("a bad token is still refused in normal mode: %d", status)
	}
}

func TestECSMetadataRotation(t *testing.T) {
	f := newECSFixture(t, ECSOptions{CredentialTTL: time.Hour, RefreshFraction: 0.75})
	tok := f.token(t, 21600)
	first := f.creds(t, tok)
	f.acct.Clock.Advance(44 * time.Minute)
	if again := f.creds(t, tok); again.AccessKeyID != first.AccessKeyID {
		t.Fatal("rotated before 75% of the lifetime")
	}
	f.acct.Clock.Advance(time.Minute)
	second := f.creds(t, tok)
	if second.AccessKeyID == first.AccessKeyID {
		t.Fatal("not rotated at 75% of the lifetime")
	}
	if second.LastUpdated != "2026-11-27T12:45:00Z" || second.Expiration != "2026-11-27T13:45:00Z" {
		t.Errorf("rotated credentials %+v", second)
	}
	if _, n := f.ecs.Credentials(); n != 2 {
		t.Errorf("%d mints, want 2", n)
	}
	now := f.acct.Clock.Now()
	if _, err := f.acct.Lookup(first.AccessKeyID, first.SecurityToken, now); err != nil {
		t.Errorf("previous credentials revoked before expiry: %v", err)
	}
	if _, err := f.acct.Lookup(first.AccessKeyID, first.SecurityToken, now.Add(15*time.Minute)); err == nil {
		t.Error("previous credentials outlive their expiry")
	}
}

func TestECSMetadataNoRole(t *testing.T) {
	acct := NewAccount(testAccountID, nil)
	e := NewECSMetadata(acct, ECSOptions{AllowIMDSv1: true})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", ecsCredPrefix, nil))
	if rec.Code != 404 {
		t.Errorf("role list without a role: %d", rec.Code)
	}
	if id, n := e.Credentials(); id != nil || n != 0 {
		t.Errorf("credentials without a role: %v %d", id, n)
	}
}

func FuzzECSMetadata(f *testing.F) {
	f.Add("PUT", "/latest/api/token", "21600", "")
	f.Add("GET", ecsCredPrefix+"EcsRole", "", "tok")
	f.Add("GET", ecsCredPrefix, "", "")
	f.Add("GET", "/latest/meta-data/ram/security-credentials//", "-1", "\x00")
	acct := NewAccount(testAccountID, nil)
	role := &Role{ARN: "acs:ram::" + testAccountID + ":role/EcsRole"}
	e := NewECSMetadata(acct, ECSOptions{Role: role})
	f.Fuzz(func(t *testing.T, method, path, ttl, token string) {
		req, err := http.NewRequest(method, "http://100.100.100.200"+path, nil)
		if err != nil {
			return
		}
		req.Header.Set(ECSTokenTTLHeader, ttl)
		req.Header.Set(ECSTokenHeader, token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		// Without a valid session token nothing but a token is ever served.
		if rec.Code == 200 && !(method == http.MethodPut && req.URL.Path == "/latest/api/token") {
			t.Fatalf("%s %q with token %q served %q", method, path, token, rec.Body)
		}
	})
}
