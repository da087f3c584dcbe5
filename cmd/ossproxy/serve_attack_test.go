package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/osstest"
)

// This file is the attack matrix of SECURITY.md: hostile requests sent to
// a real `ossproxy serve` listener in front of osstest. Each is refused
// with the right status and the emulator records no upstream request, or
// (for path forms) the emulator records exactly the key the policy judged.

const rsaIssuer = "https://rsa.idp.test"

// jwksFixture is a real JWKS endpoint (RS256, kid "k1") whose
// availability a test switches at run time.
type jwksFixture struct {
	srv     *httptest.Server
	key     *rsa.PrivateKey
	mode    atomic.Int32 // jwksUp, jwksDown, jwksHang
	fetches atomic.Int64
	release chan struct{}
	once    sync.Once
}

const (
	jwksUp = iota
	jwksDown
	jwksHang
)

func newJWKSFixture(t testing.TB) *jwksFixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j := &jwksFixture{key: key, release: make(chan struct{})}
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgRS256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	if err != nil {
		t.Fatal(err)
	}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		switch j.mode.Load() {
		case jwksDown:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case jwksHang:
			select {
			case <-r.Context().Done():
			case <-j.release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(func() {
		j.once.Do(func() { close(j.release) })
		j.srv.Close()
	})
	return j
}

// sign returns an RS256 token for claims (merged over valid defaults; a
// nil value deletes a claim) with the given header fields.
func (j *jwksFixture) sign(t testing.TB, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	now := time.Now()
	base := jwt.MapClaims{"iss": rsaIssuer, "aud": tAudience, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, base)
	tok.Header["kid"] = "k1"
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(j.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hardenedOpts tune startHardened.
type hardenedOpts struct {
	timeouts    string // YAML body of the main listener's timeouts map, e.g. "{read_header: 1s}"
	credentials string // "" : assume_role via the fake STS
	cloud       *osstest.Cloud
	extra       string // appended at the end (limits...)
}

// startHardened runs `ossproxy serve` with an HS256 issuer, an RS256
// issuer behind a JWKS URL, proxy-issued access keys, a token query
// parameter, virtual-host addressing and listener timeouts, in front of
// a fresh osstest cloud (or o.cloud).
func startHardened(t testing.TB, o hardenedOpts) (*server, *jwksFixture) {
	t.Helper()
	cloud := o.cloud
	if cloud == nil {
		cloud = osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}})
	}
	j := newJWKSFixture(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), cloud.CA.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.secret"), []byte(tKeySec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	timeouts := o.timeouts
	if timeouts == "" {
		timeouts = "{read_header: 2s, idle: 10s}"
	}
	creds := o.credentials
	if creds == "" {
		creds = `
credentials:
  source: assume_role
  role_arn: ` + cloud.Role.ARN + `
  base:
    source: static
    access_key_id: ${ADMIN_ID}
    access_key_secret: ${ADMIN_SECRET}
  sts:
    endpoint: ` + cloud.STSEndpoint + `
    ca_file: ca.pem
`
	}
	text := `
listeners:
  - name: main
    address: "127.0.0.1:0"
    timeouts: ` + timeouts + `
auth:
  issuers:
    - issuer: ` + tIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
    - issuer: ` + rsaIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [RS256]
      jwks_url: ` + j.srv.URL + `/jwks
      allow_insecure_http: true
      key_lookup_timeout: 1s
  token_query_param: access_token
  access_keys:
    - id: ` + tKeyID + `
      secret_file: key.secret
      principal: app
` + testPolicy + `
buckets:
  - name: data
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
  - name: other
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    signature_version: v1
    allow_insecure_http: true
  - name: secret
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
virtual_host_suffixes: [oss.local]
` + creds + `
logging:
  format: json
  level: debug
` + o.extra
	path := filepath.Join(dir, "ossproxy.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{"HMAC": tHMAC, "ADMIN_ID": cloud.Admin.AccessKeyID, "ADMIN_SECRET": cloud.Admin.AccessKeySecret}
	s := runServeFile(t, path, func(k string) string { return envs[k] }, 1)
	s.cloud = cloud
	return s, j
}

func (s *server) addr() string { return strings.TrimPrefix(s.url, "http://") }

// rawResp is one response read off a raw connection.
type rawResp struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// rawExchange writes raw on a new connection and reads every response the
// server sends until it closes the connection or goes quiet for 500ms
// (after the first response), so a smuggled second request would show.
func rawExchange(t testing.TB, addr, raw string) []rawResp {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []rawResp
	for {
		wait := 500 * time.Millisecond
		if len(out) == 0 {
			wait = 10 * time.Second
		}
		_ = c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, rawResp{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(b)})
	}
}

// lastAccess is the newest access-log record.
func (s *server) lastAccess(t testing.TB) map[string]any {
	t.Helper()
	recs := s.logs.records("request")
	if len(recs) == 0 {
		t.Fatal("no access-log record")
	}
	return recs[len(recs)-1]
}

// upstreamSince returns the OSS requests recorded after the first n.
func (s *server) upstreamSince(n int) []osstest.RecordedRequest {
	reqs := s.cloud.Recorder.Requests(osstest.EndpointOSS)
	if n > len(reqs) {
		return nil
	}
	return reqs[n:]
}

func errorCode(body string) string {
	_, rest, ok := strings.Cut(body, "<Code>")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, "</Code>")
	return code
}

// TestAttackJWT sends forged, expired, misdirected and malformed tokens:
// each is a 401 with its own code, nothing reaches the emulator, and
// neither the token nor its signature is logged.
func TestAttackJWT(t *testing.T) {
	s, j := startHardened(t, hardenedOpts{})
	now := time.Now()
	pubDER, err := x509.MarshalPKIXPublicKey(&j.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsWithPub := func(key []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": rsaIssuer, "aud": tAudience, "sub": "root", "exp": now.Add(time.Hour).Unix()})
		tok.Header["kid"] = "k1"
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": rsaIssuer, "aud": tAudience, "sub": "root", "exp": now.Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	good := j.sign(t, nil, nil)
	parts := strings.Split(good, ".")
	tests := []struct {
		name, token, code string
	}{
		{"alg none", none, "InvalidToken.Algorithm"},
		{"alg none, signature stripped from a valid token", b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".", "InvalidToken.Algorithm"},
		{"HS256 keyed with the RSA public key (PEM)", hsWithPub(pubPEM), "InvalidToken.Algorithm"},
		{"HS256 keyed with the RSA public key (DER)", hsWithPub(pubDER), "InvalidToken.Algorithm"},
		{"RS256 header swapped to HS256", b64(`{"alg":"HS256","kid":"k1","typ":"JWT"}`) + "." + parts[1] + "." + parts[2], "InvalidToken.Algorithm"},
		{"expired", j.sign(t, jwt.MapClaims{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}, nil), "InvalidToken.Expired"},
		{"nbf in the future", j.sign(t, jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}, nil), "InvalidToken.NotYetValid"},
		{"iat in the future", j.sign(t, jwt.MapClaims{"iat": now.Add(time.Hour).Unix()}, nil), "InvalidToken.NotYetValid"},
		{"no exp", j.sign(t, jwt.MapClaims{"exp": nil}, nil), "InvalidToken.Claims"},
		{"wrong iss", j.sign(t, jwt.MapClaims{"iss": "https://evil.test"}, nil), "InvalidToken.Issuer"},
		{"iss of the HMAC issuer on an RSA token", j.sign(t, jwt.MapClaims{"iss": tIssuer}, nil), "InvalidToken.Algorithm"},
		{"wrong aud", j.sign(t, jwt.MapClaims{"aud": "someone-else"}, nil), "InvalidToken.Audience"},
		{"kid that points nowhere", j.sign(t, nil, map[string]any{"kid": "nowhere"}), "InvalidToken.UnknownKeyId"},
		{"kid that is a path", j.sign(t, nil, map[string]any{"kid": "../../../../etc/passwd"}), "InvalidToken.UnknownKeyId"},
		{"kid that is a URL", j.sign(t, nil, map[string]any{"kid": "http://169.254.169.254/latest"}), "InvalidToken.UnknownKeyId"},
		{"jku header pointing elsewhere", j.sign(t, jwt.MapClaims{"sub": "root"}, map[string]any{"kid": "evil", "jku": "http://127.0.0.1:1/jwks"}), "InvalidToken.UnknownKeyId"},
		{"tampered payload", parts[0] + "." + b64(`{"iss":"`+rsaIssuer+`","aud":"`+tAudience+`","sub":"root","exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`}`) + "." + parts[2], "InvalidToken.Signature"},
		{"oversized", j.sign(t, jwt.MapClaims{"pad": strings.Repeat("x", 12<<10)}, nil), "InvalidToken.TooLarge"},
		{"JWE-shaped, 5 parts", b64(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k1"}`) + "..aaaa.bbbb.cccc", "InvalidToken.Malformed"},
		{"JWS with an enc header", j.sign(t, nil, map[string]any{"enc": "A256GCM", "cty": "JWT"}), ""},
		{"two tokens glued", good + "." + good, "InvalidToken.Malformed"},
		{"garbage", "not-a-token", "InvalidToken.Malformed"},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.upstreamRequests()
			req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/data/private/x", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.code == "" {
				// A JWS whose header also names enc is still a JWS: alice is
				// authenticated (so the signature held) and then denied.
				if resp.StatusCode != 403 || errorCode(string(body)) != "AccessDenied" {
					t.Fatalf("got %d %s, want 403 AccessDenied", resp.StatusCode, body)
				}
			} else if resp.StatusCode != 401 || errorCode(string(body)) != tc.code {
				t.Fatalf("got %d %s, want 401 %s", resp.StatusCode, body, tc.code)
			}
			if n := s.upstreamRequests() - before; n != 0 {
				t.Fatalf("%d upstream requests", n)
			}
			seen[tc.code] = true
			sig := tc.token[strings.LastIndexByte(tc.token, '.')+1:]
			if logs := s.logs.String(); strings.Contains(logs, tc.token) || (len(sig) > 8 && strings.Contains(logs, sig)) {
				t.Fatal("the token or its signature is in the log")
			}
		})
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct outcomes: %v", len(seen), seen)
	}

	// The good token works (so the refusals above are not a broken issuer).
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/data/?list-type=2&prefix=alice/", nil)
	req.Header.Set("Authorization", "Bearer "+good)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("valid RS256 token: %d", resp.StatusCode)
	}
}

// TestAttackTokenInQuery puts tokens in the access_token query parameter:
// a bad one is refused, a good one works, neither value is logged, and
// the parameter never reaches the emulator.
func TestAttackTokenInQuery(t *testing.T) {
	s, j := startHardened(t, hardenedOpts{})
	good := j.sign(t, nil, nil)
	bad := j.sign(t, jwt.MapClaims{"aud": "someone-else"}, nil)
	for _, tc := range []struct {
		name, token string
		status      int
	}{{"bad token", bad, 401}, {"good token", good, 404}} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.upstreamRequests()
			resp := rawExchange(t, s.addr(), "GET /data/alice/q?access_token="+url.QueryEscape(tc.token)+"&response-content-type=text/plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if len(resp) != 1 || resp[0].StatusCode != tc.status {
				t.Fatalf("got %d responses, want one %d", len(resp), tc.status)
			}
			up := s.upstreamSince(before)
			if tc.status == 401 && len(up) != 0 {
				t.Fatal("a refused request reached the emulator")
			}
			if tc.status != 401 && (len(up) != 1 || up[0].URL != "/data/alice/q?response-content-type=text%2Fplain") {
				t.Fatalf("upstream saw %+v", up)
			}
		})
	}
	sigOf := func(tok string) string { return tok[strings.LastIndexByte(tok, '.')+1:] }
	for _, tok := range []string{good, bad} {
		if strings.Contains(s.logs.String(), sigOf(tok)) || s.cloud.Recorder.Contains("", sigOf(tok)) {
			t.Error("a query token is in the log or reached the emulator")
		}
	}
	if s.cloud.Recorder.Contains(osstest.EndpointOSS, "access_token") {
		t.Error("the access_token parameter reached the emulator")
	}
}

// TestAttackPaths sends request lines no client library would (raw bytes
// on a net.Conn, so nothing normalises them) to write into alice's prefix
// and escape it. Each form is refused with 400, or forwarded with exactly
// the key the policy judged, which is inside alice/. At the end, no object
// outside alice/ was created.
func TestAttackPaths(t *testing.T) {
	s, _ := startHardened(t, hardenedOpts{})
	tok := mint(t, jwt.MapClaims{"sub": "alice"})
	tests := []struct {
		name, target string
		status       int    // 400 refused, 403 denied, 200 written
		key          string // the key OSS stored, for 200
	}{
		{"dot-dot", "/data/alice/../private/x", 400, ""},
		{"dot-dot at the end", "/data/alice/x/..", 400, ""},
		{"dot", "/data/alice/./x", 400, ""},
		{"dot before the prefix", "/data/./alice/x", 400, ""},
		{"encoded dot-dot", "/data/alice/%2e%2e/private/x", 400, ""},
		{"encoded dot-dot, upper case", "/data/alice/%2E%2E/private/x", 400, ""},
		{"half-encoded dot-dot", "/data/alice/.%2e/private/x", 400, ""},
		{"encoded slashes", "/data/alice%2F..%2Fprivate%2Fx", 400, ""},
		{"encoded slash alone", "/data/alice%2Fslash", 200, "alice/slash"},
		{"double encoding is a literal key", "/data/alice/%252e%252e/private/x", 200, "alice/%2e%2e/private/x"},
		{"double-encoded slash is literal", "/data/alice/..%252Fprivate", 200, "alice/..%2Fprivate"},
		{"backslash", `/data/alice\..\private\x`, 400, ""},
		{"encoded backslash", "/data/alice/..%5Cprivate", 400, ""},
		{"NUL", "/data/alice/x%00.txt", 400, ""},
		{"control character", "/data/alice/x%0d%0aX-Injected:%201", 400, ""},
		{"overlong UTF-8 dot (2 bytes)", "/data/alice/%c0%ae%c0%ae/private/x", 400, ""},
		{"overlong UTF-8 dot (3 bytes)", "/data/alice/%e0%80%ae%e0%80%ae/private/x", 400, ""},
		{"overlong UTF-8 slash", "/data/alice%c0%afx", 400, ""},
		{"invalid percent escape", "/data/alice/%u002e%u002e/x", 400, ""},
		{"truncated percent escape", "/data/alice/x%2", 400, ""},
		{"double slash inside", "/data/alice//x", 400, ""},
		{"double slash before the bucket", "//data/alice/x", 400, ""},
		{"double slash after the bucket", "/data//alice/x", 400, ""},
		{"semicolon parameter", "/data/alice/x;/../../private/x", 400, ""},
		{"encoded semicolon is literal", "/data/alice/x%3Bv", 200, "alice/x;v"},
		{"full-width dots are literal", "/data/alice/%EF%BC%8E%EF%BC%8E/x", 200, "alice/．．/x"},
		{"encoded question mark is literal", "/data/alice/q%3Facl", 200, "alice/q?acl"},
		{"fragment", "/data/alice/f#/../../private/x", 400, ""},
		{"case of the prefix", "/data/ALICE/x", 403, ""},
		{"prefix without its slash", "/data/alice", 403, ""},
		{"prefix lookalike", "/data/alice2/x", 403, ""},
		{"upper-case bucket", "/DATA/alice/x", 400, ""},
		{"encoded bucket", "/%64ata/alice/enc-bucket", 200, "alice/enc-bucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.cloud.Recorder.Requests(osstest.EndpointOSS))
			raw := "PUT " + tc.target + " HTTP/1.1\r\nHost: " + s.addr() + "\r\nAuthorization: Bearer " + tok +
				"\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
			resp := rawExchange(t, s.addr(), raw)
			if len(resp) != 1 {
				t.Fatalf("%d responses", len(resp))
			}
			up := s.upstreamSince(before)
			if resp[0].StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d; upstream %+v", resp[0].StatusCode, errorCode(resp[0].Body), tc.status, up)
			}
			if tc.status != 200 {
				if len(up) != 0 {
					t.Fatalf("a refused request reached the emulator: %s", up[0].URL)
				}
				return
			}
			if len(up) != 1 {
				t.Fatalf("%d upstream requests, want 1", len(up))
			}
			// The key the policy judged (access log) is the key OSS read
			// from the upstream path, and the one it stored.
			judged, _ := s.lastAccess(t)["key"].(string)
			p, _, _ := strings.Cut(up[0].URL, "?")
			seen, err := url.PathUnescape(strings.TrimPrefix(p, "/data/"))
			if err != nil || judged != tc.key || seen != tc.key {
				t.Fatalf("judged %q, OSS read %q (%v), want %q", judged, seen, err, tc.key)
			}
			if _, err := s.cloud.OSS.ObjectSHA256("data", tc.key); err != nil {
				t.Fatalf("the emulator did not store %q: %v", tc.key, err)
			}
		})
	}
	keys, err := s.cloud.OSS.ObjectKeys("data")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "alice/") {
			t.Errorf("object %q was written outside alice/", k)
		}
	}
}
