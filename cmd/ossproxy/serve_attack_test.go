package main

import (
	"bufio"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/signer"
)

// This file is the attack matrix of SECURITY.md: hostile requests sent to
// a real `ossproxy serve` listener in front of osstest. Each is refused
// with the right status and the emulator records no upstream request, or
// (for path forms) the emulator records exactly the key the policy judged.

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
	return rawExchangeAtLeast(t, addr, raw, 1)
}

// rawExchangeAtLeast is rawExchange waiting as long as the hang guard for
// each of the first n responses, and 500ms for any further one.
func rawExchangeAtLeast(t testing.TB, addr, raw string, n int) []rawResp {
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
		if len(out) < n {
			wait = pollLimit // a hang guard: a loaded machine may be slow to answer
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
	s := startServe(t, serveOpts{hardened: true})
	j := s.jwks
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
	keyHost := newCanary(t) // where a token's key URL points; the proxy must never connect
	keyURL := "http://" + keyHost.ln.Addr().String() + "/jwks"
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
		{"jku header pointing elsewhere", j.sign(t, jwt.MapClaims{"sub": "root"}, map[string]any{"kid": "evil", "jku": keyURL}), "InvalidToken.UnknownKeyId"},
		{"x5u header pointing elsewhere", j.sign(t, jwt.MapClaims{"sub": "root"}, map[string]any{"kid": "evil2", "x5u": keyURL}), "InvalidToken.UnknownKeyId"},
		{"embedded jwk header", j.sign(t, jwt.MapClaims{"sub": "root"}, map[string]any{"kid": "evil3", "jwk": map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}}), "InvalidToken.UnknownKeyId"},
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
			code, body := do(t, "GET", s.url+"/data/private/x", tc.token, nil)
			if tc.code == "" {
				// A JWS whose header also names enc is still a JWS: alice is
				// authenticated (so the signature held) and then denied.
				if code != 403 || errorCode(string(body)) != "AccessDenied" {
					t.Fatalf("got %d %s, want 403 AccessDenied", code, body)
				}
			} else if code != 401 || errorCode(string(body)) != tc.code {
				t.Fatalf("got %d %s, want 401 %s", code, body, tc.code)
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
	if n := keyHost.conns.Load(); n != 0 {
		t.Errorf("the proxy fetched a key URL named by a token (%d connections)", n)
	}

	// The good token works (so the refusals above are not a broken issuer).
	if code, _ := do(t, "GET", s.url+"/data/?list-type=2&prefix=alice/", good, nil); code != 200 {
		t.Fatalf("valid RS256 token: %d", code)
	}
}

// TestAttackTokenInQuery puts tokens in the access_token query parameter:
// a bad one is refused, a good one works, neither value is logged, and
// the parameter never reaches the emulator.
func TestAttackTokenInQuery(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	j := s.jwks
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
	s := startServe(t, serveOpts{hardened: true})
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

// rawRequest builds an HTTP/1.1 request verbatim: the request line, Host
// (omitted when host is "-"), the header lines as given, Content-Length
// for a body unless a header line sets the framing, and the body.
func rawRequest(method, target, host string, header []string, body string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	if host != "-" {
		b.WriteString("Host: " + host + "\r\n")
	}
	framed := false
	for _, h := range header {
		b.WriteString(h + "\r\n")
		l := strings.ToLower(h)
		framed = framed || strings.HasPrefix(l, "content-length:") || strings.HasPrefix(l, "transfer-encoding:")
	}
	if body != "" && !framed {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("Connection: close\r\n\r\n" + body)
	return b.String()
}

// canary is a TCP listener that counts connections: the address an SSRF
// would reach.
type canary struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCanary(t testing.TB) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// refusedCase is one hostile request expected to be answered by the proxy
// itself, with no upstream request.
type refusedCase struct {
	name           string
	method, target string
	host           string // "" : the proxy's address
	header         []string
	body           string
	status         int
	code           string // "" : any
	plain          bool   // answered by net/http before the handler: no OSS error body
}

// runRefused sends each case as raw bytes and checks the status, the
// OSS error code and that the emulator recorded nothing.
func runRefused(t *testing.T, s *server, tests []refusedCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			if host == "" {
				host = s.addr()
			}
			before := len(s.cloud.Recorder.Requests(osstest.EndpointOSS))
			resp := rawExchange(t, s.addr(), rawRequest(tc.method, tc.target, host, tc.header, tc.body))
			if len(resp) != 1 {
				t.Fatalf("%d responses, want 1", len(resp))
			}
			if up := s.upstreamSince(before); len(up) != 0 {
				t.Fatalf("reached the emulator: %s %s", up[0].Method, up[0].URL)
			}
			if got := resp[0].StatusCode; got != tc.status || (tc.code != "" && errorCode(resp[0].Body) != tc.code) {
				t.Fatalf("got %d %q (%q), want %d %q", got, errorCode(resp[0].Body), resp[0].Body, tc.status, tc.code)
			}
			if tc.plain && (strings.Contains(resp[0].Body, "<Error>") || !strings.HasPrefix(resp[0].Header.Get("Content-Type"), "text/plain")) {
				t.Fatalf("%s %q, want net/http's plain-text answer", resp[0].Header.Get("Content-Type"), resp[0].Body)
			}
		})
	}
}

// TestAttackRouting spoofs Host and X-Forwarded-Host to reach an unlisted
// bucket or an arbitrary upstream (SSRF), sends absolute-form targets and
// CONNECT: refused, or forwarded only to the configured endpoint; the
// canary address an SSRF would reach sees no connection.
func TestAttackRouting(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	evil := newCanary(t)
	ev := evil.ln.Addr().String()
	auth := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "alice"})
	runRefused(t, s, []refusedCase{
		{name: "virtual host of an unlisted bucket", method: "GET", target: "/alice/x", host: "nosuch.oss.local", header: []string{auth}, status: 404, code: "NoSuchBucket"},
		{name: "virtual host of a listed, ungranted bucket", method: "GET", target: "/alice/x", host: "secret.oss.local", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "virtual host naming the canary", method: "GET", target: "/alice/x", host: ev, header: []string{auth}, status: 404, code: "NoSuchBucket"},
		{name: "absolute form to the canary", method: "GET", target: "http://" + ev + "/data/alice/x", header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "absolute form to a listed bucket", method: "GET", target: "http://data.oss.local/alice/x", header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "absolute form with https", method: "GET", target: "https://" + ev + "/x", header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "CONNECT to the canary", method: "CONNECT", target: ev, host: ev, header: []string{auth}, status: 400, code: "InvalidURI"},
		// An IP literal is no URL scheme: net/http refuses the target.
		{name: "authority-form GET", method: "GET", target: ev, header: []string{auth}, status: 400, plain: true},
		// A host name parses as scheme:opaque, and reaches the router.
		{name: "authority-form GET naming a host", method: "GET", target: "localhost:" + ev[strings.LastIndexByte(ev, ':')+1:], header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "OPTIONS * (answered by net/http)", method: "OPTIONS", target: "*", header: []string{auth}, status: 200},
		{name: "protocol upgrade", method: "GET", target: "/data/alice/x", header: []string{auth, "Upgrade: websocket", "Connection: Upgrade"}, status: 400, code: "InvalidURI"},
		{name: "h2c upgrade", method: "GET", target: "/data/alice/x", header: []string{auth, "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQAAP__", "Connection: Upgrade, HTTP2-Settings"}, status: 400, code: "InvalidURI"},
		{name: "two Host headers", method: "GET", target: "/alice/x", header: []string{auth, "Host: secret.oss.local"}, host: "data.oss.local", status: 400, plain: true},
		{name: "no Host header", method: "GET", target: "/data/alice/x", host: "-", header: []string{auth}, status: 400, plain: true},
		{name: "no credentials, claiming to be local", method: "GET", target: "/data/alice/x", header: []string{"X-Forwarded-For: 127.0.0.1", "X-Real-IP: 127.0.0.1", "Forwarded: for=127.0.0.1"}, status: 401, code: "InvalidToken.Missing"},
		{name: "Host with userinfo", method: "GET", target: "/data/alice/x", host: "data.oss.local@" + ev, header: []string{auth}, status: 400, plain: true},
	})

	// Forwarded requests go to the configured endpoint whatever the
	// client claims: the recorded Host is the emulator's.
	osshost := strings.TrimPrefix(s.cloud.OSSURL, "http://")
	forwarded := []struct {
		name, host string
		header     []string
		path       string // what OSS must see
	}{
		{"virtual host of a listed bucket", "data.oss.local", nil, "/data/alice/vh"},
		{"X-Forwarded-Host naming another bucket is ignored", "data.oss.local", []string{"X-Forwarded-Host: secret.oss.local"}, "/data/alice/vh"},
		{"X-Forwarded-Host naming the canary is ignored", "data.oss.local", []string{"X-Forwarded-Host: " + ev, "Forwarded: host=" + ev}, "/data/alice/vh"},
		{"X-Forwarded-Proto/Port and X-Original-URL do not route", "data.oss.local", []string{"X-Forwarded-Proto: https", "X-Forwarded-Port: 1", "X-Original-URL: /secret/x", "X-Rewrite-URL: /secret/x"}, "/data/alice/vh"},
	}
	for _, tc := range forwarded {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.cloud.Recorder.Requests(osstest.EndpointOSS))
			resp := rawExchange(t, s.addr(), rawRequest("GET", "/alice/vh", tc.host, append([]string{auth}, tc.header...), ""))
			if len(resp) != 1 || resp[0].StatusCode != 404 || errorCode(resp[0].Body) != "NoSuchKey" {
				t.Fatalf("responses %+v, want one 404 NoSuchKey from the emulator", resp)
			}
			up := s.upstreamSince(before)
			if len(up) != 1 || up[0].URL != tc.path || up[0].Host != osshost {
				t.Fatalf("upstream saw %+v, want %s on %s", up, tc.path, osshost)
			}
			for _, h := range []string{"X-Forwarded-Host", "Forwarded", "X-Forwarded-Port"} {
				if v := up[0].Header.Get(h); strings.Contains(v, ev) || strings.Contains(v, "secret") {
					t.Fatalf("upstream got %s: %s", h, v)
				}
			}
		})
	}
	if n := evil.conns.Load(); n != 0 {
		t.Fatalf("the canary saw %d connections (SSRF)", n)
	}
}

func deleteXML(keys ...string) string {
	var b strings.Builder
	b.WriteString("<Delete><Quiet>true</Quiet>")
	for _, k := range keys {
		b.WriteString("<Object><Key>" + k + "</Key></Object>")
	}
	b.WriteString("</Delete>")
	return b.String()
}

// TestAttackOperations uses operations that name a second key or a
// prefix (copy source, list prefix, multipart, delete-multiple bodies,
// symlink targets, image processing) to reach data outside alice/: every
// one is refused before the emulator.
func TestAttackOperations(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	auth := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "alice"})
	wm := func(key string) string { return base64.URLEncoding.EncodeToString([]byte(key)) }
	complete := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>"
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("alice/%d", i)
	}
	runRefused(t, s, []refusedCase{
		{name: "copy from a forbidden prefix", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data/private/x"}, status: 403, code: "AccessDenied"},
		{name: "copy from a forbidden bucket", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /secret/alice/x"}, status: 403, code: "AccessDenied"},
		{name: "copy from an unlisted bucket", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /nosuch/alice/x"}, status: 403, code: "AccessDenied"},
		{name: "copy source with encoded dot-dot", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data/alice/%2e%2e/private/x"}, status: 400},
		{name: "copy source with encoded slash escaping", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data%2Fprivate%2Fx"}, status: 403, code: "AccessDenied"},
		{name: "copy source with '+' read as space", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data/private+x"}, status: 403, code: "AccessDenied"},
		{name: "copy source with an extra parameter", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data/alice/x?versionId=1&x-oss-process=a"}, status: 400},
		{name: "two copy sources", method: "PUT", target: "/data/alice/stolen", header: []string{auth, "x-oss-copy-source: /data/alice/x", "x-oss-copy-source: /data/private/x"}, status: 400},
		{name: "copy source on a non-copy operation", method: "POST", target: "/data/alice/stolen?append&position=0", header: []string{auth, "x-oss-copy-source: /data/private/x"}, body: "x", status: 400},
		{name: "UploadPartCopy from a forbidden prefix", method: "PUT", target: "/data/alice/mp?partNumber=1&uploadId=u1", header: []string{auth, "x-oss-copy-source: /data/private/x", "x-oss-copy-source-range: bytes=0-1"}, status: 403, code: "AccessDenied"},
		{name: "list a forbidden prefix", method: "GET", target: "/data/?list-type=2&prefix=private/", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list the whole bucket", method: "GET", target: "/data/", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list with a dot-dot prefix", method: "GET", target: "/data/?prefix=alice/../", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list a prefix lookalike", method: "GET", target: "/data/?prefix=alic", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list with two prefixes", method: "GET", target: "/data/?prefix=alice/&prefix=", header: []string{auth}, status: 400},
		{name: "list with a second, encoded prefix name", method: "GET", target: "/data/?prefix=alice/&%70refix=", header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "list with a ';' separated prefix", method: "GET", target: "/data/?prefix=alice/;prefix=", header: []string{auth}, status: 400},
		{name: "list versions of a forbidden prefix", method: "GET", target: "/data/?versions&prefix=private/", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list uploads of the whole bucket", method: "GET", target: "/data/?uploads", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "initiate multipart to a forbidden key", method: "POST", target: "/data/private/mp?uploads", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "upload a part to a forbidden key", method: "PUT", target: "/data/private/mp?partNumber=1&uploadId=u1", header: []string{auth}, body: "x", status: 403, code: "AccessDenied"},
		{name: "complete multipart to a forbidden key", method: "POST", target: "/data/private/mp?uploadId=u1", header: []string{auth}, body: complete, status: 403, code: "AccessDenied"},
		{name: "uploadId with another sub-resource", method: "POST", target: "/data/alice/mp?uploadId=u1&acl", header: []string{auth}, body: complete, status: 400},
		{name: "delete-multiple naming one forbidden key", method: "POST", target: "/data/?delete", header: []string{auth, "Content-MD5: x"}, body: deleteXML("alice/a", "alice/b", "private/x"), status: 403, code: "AccessDenied"},
		{name: "delete-multiple with a forbidden key last of many", method: "POST", target: "/data/?delete", header: []string{auth}, body: deleteXML(append(many[:999:999], "private/x")...), status: 403, code: "AccessDenied"},
		{name: "delete-multiple with a dot-dot key", method: "POST", target: "/data/?delete", header: []string{auth}, body: deleteXML("alice/../private/x"), status: 400},
		{name: "delete-multiple with an encoded key", method: "POST", target: "/data/?delete&encoding-type=url", header: []string{auth}, body: deleteXML("alice%2F..%2Fprivate%2Fx"), status: 400},
		{name: "delete-multiple with an entity-encoded key", method: "POST", target: "/data/?delete", header: []string{auth}, body: deleteXML("&#112;rivate/x"), status: 403, code: "AccessDenied"},
		{name: "delete-multiple with a second document", method: "POST", target: "/data/?delete", header: []string{auth}, body: deleteXML("alice/a") + deleteXML("private/x"), status: 400, code: "MalformedXML"},
		{name: "delete-multiple with two keys in one object", method: "POST", target: "/data/?delete", header: []string{auth}, body: "<Delete><Object><Key>alice/a</Key><Key>private/x</Key></Object></Delete>", status: 400, code: "MalformedXML"},
		{name: "delete-multiple with a CDATA key", method: "POST", target: "/data/?delete", header: []string{auth}, body: "<Delete><Object><Key><![CDATA[private/x]]></Key></Object></Delete>", status: 400, code: "MalformedXML"}, // refused whatever it names: OSS may parse CDATA otherwise
		{name: "delete-multiple with a namespaced second key", method: "POST", target: "/data/?delete", header: []string{auth}, body: `<Delete><Object><Key>alice/a</Key><x:Key xmlns:x="urn:x">private/x</x:Key></Object></Delete>`, status: 400, code: "MalformedXML"},
		{name: "delete-multiple with a DTD entity", method: "POST", target: "/data/?delete", header: []string{auth}, body: `<!DOCTYPE d [<!ENTITY e "private/x">]><Delete><Object><Key>&e;</Key></Object></Delete>`, status: 400, code: "MalformedXML"},
		{name: "delete-multiple with a newline in a key", method: "POST", target: "/data/?delete", header: []string{auth}, body: "<Delete><Object><Key>alice/a\n</Key></Object></Delete>", status: 400},
		{name: "delete-multiple over 1000 keys", method: "POST", target: "/data/?delete", header: []string{auth}, body: deleteXML(many...), status: 400, code: "MalformedXML"},
		{name: "delete-multiple chunked", method: "POST", target: "/data/?delete", header: []string{auth, "Transfer-Encoding: chunked"}, body: chunked(deleteXML("alice/a", "private/x")), status: 403, code: "AccessDenied"},
		{name: "image processing of a forbidden key", method: "GET", target: "/data/private/x?x-oss-process=image/resize,w_10", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "image processing save-as", method: "POST", target: "/data/alice/x?x-oss-process", header: []string{auth}, body: "x-oss-process=image/resize,w_10|sys/saveas,o_cHJpdmF0ZS95,b_ZGF0YQ", status: 403, code: "AccessDenied"},
		{name: "image watermark reading a forbidden key", method: "GET", target: "/data/alice/x?x-oss-process=image/watermark,image_" + wm("private/x"), header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "image watermark reading a forbidden key (style chain)", method: "GET", target: "/data/alice/x?x-oss-process=image/resize,w_10/watermark,text_aGk,image_" + wm("private/x?x-oss-process=image/resize,P_30"), header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "async processing", method: "POST", target: "/data/alice/x?x-oss-async-process", header: []string{auth}, body: "x-oss-async-process=video/convert", status: 403, code: "AccessDenied"},
		{name: "select object", method: "POST", target: "/data/private/x?x-oss-process=csv/select", header: []string{auth}, body: "<SelectRequest/>", status: 403, code: "AccessDenied"},
		{name: "symlink to a forbidden key", method: "PUT", target: "/data/alice/link?symlink", header: []string{auth, "x-oss-symlink-target: private/x"}, status: 403, code: "AccessDenied"},
		{name: "symlink with an encoded target", method: "PUT", target: "/data/alice/link?symlink", header: []string{auth, "x-oss-symlink-target: alice%2F..%2Fprivate%2Fx"}, status: 400},
		{name: "read a forbidden symlink", method: "GET", target: "/data/private/link?symlink", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "object meta of a forbidden key", method: "GET", target: "/data/private/x?objectMeta", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "ACL of a forbidden key", method: "GET", target: "/data/private/x?acl", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "restore a forbidden key", method: "POST", target: "/data/private/x?restore", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "torrent", method: "GET", target: "/data/alice/x?torrent", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "bucket policy", method: "PUT", target: "/data/?policy", header: []string{auth}, body: "{}", status: 403, code: "AccessDenied"},
		{name: "bucket ACL", method: "GET", target: "/data/?acl", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "list buckets", method: "GET", target: "/", header: []string{auth}, status: 403, code: "AccessDenied"},
		{name: "PostObject form upload", method: "POST", target: "/data/", header: []string{auth, "Content-Type: multipart/form-data; boundary=b"}, body: "--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nprivate/x\r\n--b--\r\n", status: 403, code: "AccessDenied"},
		{name: "two sub-resources", method: "GET", target: "/data/alice/x?acl&symlink", header: []string{auth}, status: 400},
		{name: "sub-resource hidden by case", method: "GET", target: "/data/private/x?ACL", header: []string{auth}, status: 403, code: "AccessDenied"},
		// A writer cannot change ACLs (the acl action is separate).
		{name: "PutObjectAcl on an own key", method: "PUT", target: "/data/alice/x?acl", header: []string{auth, "x-oss-object-acl: public-read"}, status: 403, code: "AccessDenied"},
		{name: "PutObject with x-oss-object-acl", method: "PUT", target: "/data/alice/x", header: []string{auth, "x-oss-object-acl: public-read"}, body: "x", status: 403, code: "AccessDenied"},
		{name: "PutObject with x-oss-acl", method: "PUT", target: "/data/alice/x", header: []string{auth, "X-OSS-ACL: public-read-write"}, body: "x", status: 403, code: "AccessDenied"},
		{name: "CopyObject with x-oss-object-acl", method: "PUT", target: "/data/alice/y", header: []string{auth, "x-oss-copy-source: /data/alice/x", "x-oss-object-acl: public-read"}, status: 403, code: "AccessDenied"},
		{name: "InitiateMultipartUpload with x-oss-object-acl", method: "POST", target: "/data/alice/mp?uploads", header: []string{auth, "x-oss-object-acl: public-read"}, status: 403, code: "AccessDenied"},
		{name: "PutSymlink with x-oss-object-acl", method: "PUT", target: "/data/alice/link?symlink", header: []string{auth, "x-oss-symlink-target: alice/x", "x-oss-object-acl: public-read"}, status: 403, code: "AccessDenied"},
	})
}

// TestAttackCallbacks: an upload callback makes OSS itself POST to a URL
// the caller chose (SSRF from OSS's network, data exfiltration). Refused
// with 403 before the emulator unless the bucket sets allow_callbacks;
// forwarded to it for a bucket that does ("other").
func TestAttackCallbacks(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	alice := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "alice"})
	root := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "root"})
	cb := base64.StdEncoding.EncodeToString([]byte(`{"callbackUrl":"http://169.254.169.254/latest/meta-data","callbackBody":"bucket=${bucket}"}`))
	q := url.QueryEscape(cb)
	complete := "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>"
	runRefused(t, s, []refusedCase{
		{name: "x-oss-callback on PutObject", method: "PUT", target: "/data/alice/x", header: []string{alice, "x-oss-callback: " + cb}, body: "x", status: 403, code: "AccessDenied"},
		{name: "x-oss-callback-var alone", method: "PUT", target: "/data/alice/x", header: []string{alice, "x-oss-callback-var: " + cb}, body: "x", status: 403, code: "AccessDenied"},
		{name: "empty x-oss-callback", method: "PUT", target: "/data/alice/x", header: []string{alice, "x-oss-callback:"}, body: "x", status: 403, code: "AccessDenied"},
		{name: "callback on CompleteMultipartUpload", method: "POST", target: "/data/alice/mp?uploadId=u1", header: []string{alice, "X-OSS-CALLBACK: " + cb}, body: complete, status: 403, code: "AccessDenied"},
		{name: "callback query parameter", method: "PUT", target: "/data/alice/x?callback=" + q, header: []string{alice}, body: "x", status: 403, code: "AccessDenied"},
		{name: "callback-var query parameter", method: "PUT", target: "/data/alice/x?callback-var=" + q, header: []string{alice}, body: "x", status: 403, code: "AccessDenied"},
		{name: "even root, on a bucket without allow_callbacks", method: "PUT", target: "/data/root/x", header: []string{root, "x-oss-callback: " + cb}, body: "x", status: 403, code: "AccessDenied"},
	})
	t.Run("message", func(t *testing.T) {
		resp := rawExchange(t, s.addr(), rawRequest("PUT", "/data/alice/x", s.addr(), []string{alice, "x-oss-callback: " + cb}, "x"))
		if len(resp) != 1 || !strings.Contains(resp[0].Body, "upload callbacks are not enabled") {
			t.Fatalf("responses %+v, want the callback refusal", resp)
		}
	})
	t.Run("opted-in bucket forwards", func(t *testing.T) {
		before := s.upstreamRequests()
		resp := rawExchange(t, s.addr(), rawRequest("PUT", "/other/root/cb", s.addr(), []string{root, "x-oss-callback: " + cb}, "x"))
		if len(resp) != 1 {
			t.Fatalf("%d responses", len(resp))
		}
		up := s.upstreamSince(before)
		if len(up) != 1 || up[0].Header.Get("X-Oss-Callback") != cb {
			t.Fatalf("upstream saw %+v, want the PUT with its callback", up)
		}
	})
}

// chunked frames body as one chunk and the terminator.
func chunked(body string) string { return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body) }

// TestAttackHeaders: CRLF injection, caller-supplied upstream credentials,
// hop-by-hop tricks and oversized headers. Credentials the caller sends
// never reach the emulator (checked on its recorder), and headers listed
// in Connection cannot strip what the proxy relies on.
func TestAttackHeaders(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	tok := mint(t, jwt.MapClaims{"sub": "alice"})
	auth := "Authorization: Bearer " + tok
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "alice/seed", strings.NewReader("seed")); err != nil {
		t.Fatal(err)
	}
	runRefused(t, s, []refusedCase{
		{name: "bare CR in a header value", method: "GET", target: "/data/alice/seed", header: []string{auth, "x-oss-meta-a: b\rX-Injected: 1"}, status: 400, plain: true},
		{name: "LF-only line ending with an injected header", method: "GET", target: "/data/private/x", header: []string{"X-A: 1\nAuthorization: Bearer " + tok}, status: 403, code: "AccessDenied"},
		{name: "header name with a space", method: "GET", target: "/data/alice/seed", header: []string{auth, "Authorization : Bearer x"}, status: 400, plain: true},
		{name: "CRLF in a query value", method: "GET", target: "/data/alice/seed?response-content-type=text%0d%0aX-Injected:%201", header: []string{auth}, status: 400, code: "InvalidURI"},
		{name: "CRLF in a header value of a denied request", method: "GET", target: "/data/private/x", header: []string{auth, "x-oss-meta-a: a%0d%0aAuthorization: x"}, status: 403, code: "AccessDenied"},
		{name: "two Authorization headers", method: "GET", target: "/data/alice/seed", header: []string{auth, "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "root"})}, status: 401, code: "InvalidToken.Malformed"},
		{name: "bearer and an OSS signature", method: "GET", target: "/data/alice/seed?OSSAccessKeyId=" + tKeyID + "&Expires=9999999999&Signature=x", header: []string{auth}, status: 401, code: "InvalidToken.Malformed"},
		{name: "Connection: Authorization does not skip authentication", method: "PUT", target: "/data/private/x", header: []string{auth, "Connection: Authorization"}, body: "x", status: 403, code: "AccessDenied"},
		{name: "Connection: x-oss-copy-source does not skip the source check", method: "PUT", target: "/data/alice/c", header: []string{auth, "x-oss-copy-source: /data/private/x", "Connection: x-oss-copy-source"}, status: 403, code: "AccessDenied"},
		{name: "oversized single header", method: "GET", target: "/data/alice/seed", header: []string{auth, "X-Big: " + strings.Repeat("a", 70<<10)}, status: 431},
		{name: "oversized request line", method: "GET", target: "/data/alice/" + strings.Repeat("a", 70<<10), header: []string{auth}, status: 431},
		{name: "oversized many headers", method: "GET", target: "/data/alice/seed", header: append([]string{auth}, manyHeaders(2000, 40)...), status: 431},
	})

	// Allowed requests carrying upstream credentials of the caller's own
	// and hop-by-hop lists: forwarded, signed by the proxy, and the
	// emulator records none of the caller's values.
	const callerTok, callerKey = "CALLER-SECURITY-TOKEN-1", "LTAIcallerinjected"
	forwarded := []struct {
		name   string
		target string
		header []string
	}{
		{"caller security token header", "/data/alice/seed", []string{auth, "x-oss-security-token: " + callerTok}},
		{"caller security token in the query", "/data/alice/seed?security-token=" + callerTok + "&x-oss-security-token=" + callerTok, []string{auth}},
		{"caller OSS authorization in another header", "/data/alice/seed", []string{auth, "Proxy-Authorization: OSS " + callerKey + ":c2ln", "Cookie: s=" + callerTok}},
		{"caller date and payload hash", "/data/alice/seed", []string{auth, "x-oss-date: 20000101T000000Z", "Date: Sat, 01 Jan 2000 00:00:00 GMT", "x-oss-content-sha256: " + callerTok}},
		{"Connection: Authorization", "/data/alice/seed", []string{auth, "Connection: Authorization"}},
		{"Connection: x-oss-security-token", "/data/alice/seed", []string{auth, "x-oss-security-token: " + callerTok, "Connection: x-oss-security-token"}},
		{"Connection: Date, x-oss-date, Host", "/data/alice/seed", []string{auth, "Connection: Date, x-oss-date, Host, Content-Length"}},
		{"obsolete line folding stays inside one value", "/data/alice/seed", []string{auth, "X-A: 1", " X-Injected: 1"}},
	}
	for _, tc := range forwarded {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.cloud.Recorder.Requests(osstest.EndpointOSS))
			resp := rawExchange(t, s.addr(), rawRequest("GET", tc.target, s.addr(), tc.header, ""))
			if len(resp) != 1 || resp[0].StatusCode != 200 || resp[0].Body != "seed" {
				t.Fatalf("responses %+v, want one 200 seed (the emulator accepted the proxy's signature)", resp)
			}
			up := s.upstreamSince(before)
			if len(up) != 1 {
				t.Fatalf("%d upstream requests", len(up))
			}
			if up[0].Header.Get("X-Injected") != "" {
				t.Fatal("a header was injected into the upstream request")
			}
			if tok := up[0].Header.Get("X-Oss-Security-Token"); tok == callerTok || tok == "" {
				t.Fatalf("upstream security token %q, want the proxy's", tok)
			}
			for _, h := range []string{"Proxy-Authorization", "Cookie"} {
				if up[0].Header.Get(h) != "" {
					t.Fatalf("%s reached the emulator", h)
				}
			}
		})
	}
	for _, v := range []string{callerTok, callerKey, tok[strings.LastIndexByte(tok, '.')+1:], "Bearer", "20000101T000000Z"} {
		if s.cloud.Recorder.Contains(osstest.EndpointOSS, v) {
			t.Errorf("the emulator saw the caller's %q", v)
		}
	}
}

func manyHeaders(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("X-H%d: %s", i, strings.Repeat("v", size))
	}
	return out
}

// TestAttackSmuggling sends bodies framed two ways at once (Content-Length
// and Transfer-Encoding, and obfuscated Transfer-Encoding) with a second
// request hidden behind the first. Each is refused, or forwarded once
// with one unambiguous framing: the hidden request never reaches the
// emulator and no byte of it is stored.
func TestAttackSmuggling(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	auth := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "alice"})
	// The hidden request is one the policy denies: if it reached the
	// emulator, it did so without being judged.
	hidden := "GET /data/private/smuggled HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n\r\n"
	// status is the first response's; code its OSS error code. early
	// marks a request net/http refuses before the handler runs: a
	// plain-text answer (no OSS code) and no upstream request at all.
	// stored is the object afterwards ("old": unchanged). An accepted
	// request is followed by the hidden one, parsed as a pipelined
	// second request: two responses; a refused one gets one.
	tests := []struct {
		name   string
		header []string
		body   string
		status int
		code   string
		early  bool
		stored string
	}{
		{"CL and TE", []string{auth, "Content-Length: 4", "Transfer-Encoding: chunked"}, "0\r\n\r\n" + hidden, 200, "", false, ""},
		{"TE and CL", []string{auth, "Transfer-Encoding: chunked", "Content-Length: 60"}, "0\r\n\r\n" + hidden, 200, "", false, ""},
		{"TE xchunked", []string{auth, "Content-Length: 5", "Transfer-Encoding: xchunked"}, "0\r\n\r\n" + hidden, 501, "", true, "old"},
		{"TE chunked, identity", []string{auth, "Transfer-Encoding: chunked, identity"}, "0\r\n\r\n" + hidden, 501, "", true, "old"},
		{"TE identity, chunked", []string{auth, "Transfer-Encoding: identity, chunked"}, "0\r\n\r\n" + hidden, 501, "", true, "old"},
		{"TE twice", []string{auth, "Transfer-Encoding: chunked", "Transfer-Encoding: identity"}, "0\r\n\r\n" + hidden, 501, "", true, "old"},
		{"TE with a tab", []string{auth, "Transfer-Encoding:\tchunked", "Content-Length: 3"}, "0\r\n\r\n" + hidden, 200, "", false, ""},
		{"TE in upper case", []string{auth, "Transfer-Encoding: CHUNKED", "Content-Length: 3"}, "0\r\n\r\n" + hidden, 200, "", false, ""},
		{"TE with a space before the colon", []string{auth, "Transfer-Encoding : chunked", "Content-Length: 3"}, "0\r\n\r\n" + hidden, 400, "", true, "old"},
		{"two different Content-Lengths", []string{auth, "Content-Length: 3", "Content-Length: 60"}, "abc" + hidden, 400, "", true, "old"},
		{"Content-Length list", []string{auth, "Content-Length: 3, 60"}, "abc" + hidden, 400, "", true, "old"},
		{"signed Content-Length", []string{auth, "Content-Length: +3"}, "abc" + hidden, 400, "", true, "old"},
		// The proxy may already have sent the upstream request's headers
		// when the body turns out malformed: that request is aborted, and
		// the object must be unchanged.
		{"chunk size with an extension and a hidden request", []string{auth, "Transfer-Encoding: chunked"}, "3;x=\"\r\n0\r\n\r\n\"\r\nabc\r\n0\r\n\r\n" + hidden, 400, "IncompleteBody", false, "old"},
		{"chunk size overflow", []string{auth, "Transfer-Encoding: chunked"}, "ffffffffffffffff1\r\nabc\r\n0\r\n\r\n" + hidden, 400, "IncompleteBody", false, "old"},
		{"Content-Length shorter than the body (pipelined)", []string{auth, "Content-Length: 3"}, "abc" + hidden, 200, "", false, "abc"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A key of its own: an upstream request of an earlier case
			// that was refused mid-body may reach the emulator late.
			key := fmt.Sprintf("alice/smug%d", i)
			if err := s.cloud.OSS.PutObject(t.Context(), "data", key, strings.NewReader("old")); err != nil {
				t.Fatal(err)
			}
			before := len(s.cloud.Recorder.Requests(osstest.EndpointOSS))
			raw := "PUT /data/" + key + " HTTP/1.1\r\nHost: " + s.addr() + "\r\n" + strings.Join(tc.header, "\r\n") + "\r\n\r\n" + tc.body
			responses := 1
			if tc.status == 200 {
				responses = 2
			}
			resp := rawExchangeAtLeast(t, s.addr(), raw, responses)
			if len(resp) != responses {
				t.Fatalf("%d responses %+v, want %d", len(resp), resp, responses)
			}
			up := s.upstreamSince(before)
			if got, code := resp[0].StatusCode, errorCode(resp[0].Body); got != tc.status || code != tc.code {
				t.Fatalf("got %d %q (%q), want %d %q", got, code, resp[0].Body, tc.status, tc.code)
			}
			// The early cases come before the two whose aborted upstream
			// request may arrive late, and every other upstream request
			// was answered before its response: whatever the recorder
			// holds since before is this request's. net/http closes the
			// connection after refusing, so the hidden request is unread.
			if tc.early && len(up) != 0 {
				t.Fatalf("refused by net/http, yet %d upstream requests %+v", len(up), up)
			}
			puts := 0
			for _, u := range up {
				if strings.Contains(u.URL, "smuggled") {
					t.Fatalf("the hidden request reached the emulator: %s %s", u.Method, u.URL)
				}
				if path, _, _ := strings.Cut(u.URL, "?"); u.Method == "PUT" && path == "/data/"+key {
					puts++
				}
			}
			if puts > 1 {
				t.Fatalf("%d upstream PUTs: %+v", puts, up)
			}
			stored, err := s.cloud.OSS.OpenObject("data", key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(stored)
			stored.Close()
			if strings.Contains(string(b), "smuggled") || strings.Contains(string(b), "Authorization") {
				t.Fatalf("the hidden request was stored as the body: %q", b)
			}
			if resp[0].StatusCode < 400 && puts != 1 {
				t.Fatalf("%d accepted without one upstream PUT", resp[0].StatusCode)
			}
			if string(b) != tc.stored {
				t.Fatalf("answered %d, and the object is %q, want %q", resp[0].StatusCode, b, tc.stored)
			}
			// The hidden request, parsed as a pipelined second request,
			// is judged like any other: denied.
			for _, r := range resp[1:] {
				if r.StatusCode != 403 || errorCode(r.Body) != "AccessDenied" {
					t.Fatalf("pipelined hidden request answered %d %q", r.StatusCode, errorCode(r.Body))
				}
			}
			t.Logf("status %d, %d responses, stored %q", resp[0].StatusCode, len(resp), b)
		})
	}
}

// TestAttackAccessKeys replays presigned URLs after expiry and moves
// signatures made for one request, key or secret to another: each is a
// 403 with the code OSS would give, and nothing reaches the emulator.
// (The comparison itself is constant-time: signer/verify.go compares
// with hmac.Equal; see SECURITY.md.)
func TestAttackAccessKeys(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true})
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "app/obj", strings.NewReader("obj")); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mine := signerCreds(tKeyID, tKeySec)
	v4 := &signer.V4{Region: s.cloud.Region}
	req := func(method, path string) *http.Request {
		r, err := http.NewRequest(method, s.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	presign := func(sg interface {
		Presign(*http.Request, signer.Credentials, string, string, time.Time, time.Duration) (string, error)
	}, path, key string, c signer.Credentials, at time.Time, d time.Duration) string {
		u, err := sg.Presign(req("GET", path), c, "data", key, at, d)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	headerSigned := func(method, path, key string, c signer.Credentials, at time.Time) *http.Request {
		r := req(method, path)
		if err := v4.Sign(r, c, "data", key, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	moved := headerSigned("GET", "/data/app/obj", "app/obj", mine, now)
	moved.URL.Path = "/data/app/other"
	method := headerSigned("GET", "/data/app/obj", "app/obj", mine, now)
	method.Method = "DELETE"
	reused := presign(v4, "/data/app/obj", "app/obj", mine, now, time.Hour)
	// message is the OSS error's Message, checked when set (OSS words
	// it so for an expired request).
	tests := []struct {
		name    string
		r       *http.Request
		status  int
		code    string
		message string
	}{
		{"V4 presigned URL after expiry", req("GET", strings.TrimPrefix(presign(v4, "/data/app/obj", "app/obj", mine, now.Add(-2*time.Hour), time.Hour), s.url)), 403, "AccessDenied", "Request has expired."},
		{"V1 presigned URL after expiry", req("GET", strings.TrimPrefix(presign(signer.V1{}, "/data/app/obj", "app/obj", mine, now.Add(-2*time.Hour), time.Hour), s.url)), 403, "AccessDenied", "Request has expired."},
		{"V4 presigned URL with its expiry extended", req("GET", strings.TrimPrefix(strings.Replace(presign(v4, "/data/app/obj", "app/obj", mine, now.Add(-2*time.Hour), time.Hour), "x-oss-expires=3600", "x-oss-expires=604800", 1), s.url)), 403, "SignatureDoesNotMatch", ""},
		{"V4 presigned URL moved to another key", req("GET", strings.Replace(strings.TrimPrefix(reused, s.url), "/data/app/obj", "/data/app/other", 1)), 403, "SignatureDoesNotMatch", ""},
		{"V4 presigned GET used for DELETE", req("DELETE", strings.TrimPrefix(reused, s.url)), 403, "SignatureDoesNotMatch", ""},
		{"V4 header signature moved to another key", moved, 403, "SignatureDoesNotMatch", ""},
		{"V4 header signature used for another method", method, 403, "SignatureDoesNotMatch", ""},
		{"signed with another secret", headerSigned("GET", "/data/app/obj", "app/obj", signerCreds(tKeyID, "not-the-secret"), now), 403, "SignatureDoesNotMatch", ""},
		{"signed by a key the proxy did not issue", headerSigned("GET", "/data/app/obj", "app/obj", signerCreds(s.cloud.Admin.AccessKeyID, s.cloud.Admin.AccessKeySecret), now), 403, "InvalidAccessKeyId", ""},
		{"header signature from the past", headerSigned("GET", "/data/app/obj", "app/obj", mine, now.Add(-time.Hour)), 403, "RequestTimeTooSkewed", ""},
		{"signed with a security token", headerSigned("GET", "/data/app/obj", "app/obj", signer.Credentials{AccessKeyID: tKeyID, AccessKeySecret: tKeySec, SecurityToken: "tok"}, now), 403, "SignatureDoesNotMatch", ""},
	}
	before := s.upstreamRequests()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || errorCode(string(body)) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, errorCode(string(body)), tc.status, tc.code)
			}
			var e struct{ Message string }
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if tc.message != "" && e.Message != tc.message {
				t.Fatalf("message %q, want %q", e.Message, tc.message)
			}
		})
	}
	if n := s.upstreamRequests() - before; n != 0 {
		t.Fatalf("%d refused requests reached the emulator", n)
	}
	// The same URL before it expires works, so the refusals are not a
	// broken verifier.
	resp, err := http.Get(reused)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("valid presigned URL: %d", resp.StatusCode)
	}
	if strings.Contains(s.logs.String(), tKeySec) {
		t.Fatal("the secret is in the log")
	}
}

func signerCreds(id, secret string) signer.Credentials {
	return signer.Credentials{AccessKeyID: id, AccessKeySecret: secret}
}
