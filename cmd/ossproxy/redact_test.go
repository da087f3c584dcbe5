package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ossproxy/ossproxy/osstest"
)

// TestAccessLogRedactsEveryKey: with logging.redact_keys, no object key
// appears anywhere in the log — not in the "key" attribute, and not in
// error text: denials of the key itself, of a copy source, a symlink
// target or a DeleteMultipleObjects key, and an upstream failure whose
// error names the upstream URL (percent-encoded key).
func TestAccessLogRedactsEveryKey(t *testing.T) {
	s := startServe(t, serveOpts{hardened: true, logging: "\nlogging:\n  format: json\n  level: debug\n  redact_keys: true\n"})
	alice := "Bearer " + mint(t, jwt.MapClaims{"sub": "alice"})
	// Distinctive keys; spaces and non-ASCII make the encoded forms differ.
	own := "alice/Befund Müller 2026.pdf"
	copied := "alice/kopie-vertraulich-7f3a.bin"
	private := "private/gehalt-liste-9c1d.xlsx"
	target := "private/symlink-ziel-4b2e.txt"
	delKey := "private/loesch-mich-1a5f.txt"
	broken := "alice/abgebrochen-upload-3d9c.bin"
	keys := []string{own, copied, private, target, delKey, broken}

	s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{
		Match: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "abgebrochen") },
		Hang:  true,
	})
	// want 0: the client gives up after 300ms (OSS hangs); the proxy's
	// error then names the upstream URL.
	do := func(method, key string, header map[string]string, body string, want int) {
		t.Helper()
		path, query, _ := strings.Cut(key, "?")
		path = "/data/" + path
		if p, ok := strings.CutPrefix(path, "/data/../"); ok { // the proxy's own API
			path = "/" + p
		}
		u := &url.URL{Scheme: "http", Host: s.addr(), Path: path, RawQuery: query}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, u.String(), rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", alice)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		client := http.DefaultClient
		if want == 0 {
			client = &http.Client{Timeout: 300 * time.Millisecond}
		}
		resp, err := client.Do(req)
		if want == 0 {
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s %s: %d, want the client to give up", method, key, resp.StatusCode)
			}
			s.waitLog(t, "request", 8) // the ninth request's access-log record
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d", method, key, resp.StatusCode, want)
		}
	}
	do("PUT", own, nil, "report", 200)
	do("GET", own, nil, "", 200)
	do("GET", private, nil, "", 403)
	do("PUT", copied, map[string]string{"X-Oss-Copy-Source": "/data/" + url.PathEscape(own)}, "", 200)
	do("PUT", copied, map[string]string{"X-Oss-Copy-Source": "/data/" + private}, "", 403)
	do("PUT", "alice/link?symlink", map[string]string{"X-Oss-Symlink-Target": target}, "", 403)
	do("POST", "?delete", map[string]string{"Content-MD5": "x"}, deleteXML(copied, delKey), 403)
	// A presigned URL vended for the own key: the key travels in the JSON body.
	do("POST", "../_ossproxy/v1/presign", map[string]string{"Content-Type": "application/json"}, `{"bucket":"data","key":"`+own+`","method":"GET"}`, 200)
	do("GET", broken, nil, "", 0)

	logs := s.logs.String()
	for _, k := range keys {
		for _, form := range []string{k, url.PathEscape(k), (&url.URL{Path: k}).EscapedPath(), k[strings.IndexByte(k, '/')+1:]} {
			if strings.Contains(logs, form) {
				t.Errorf("key %q appears in the log as %q", k, form)
			}
		}
	}
	if !strings.Contains(logs, `"key":"sha256:`) {
		t.Errorf("no hashed key in the access log:\n%s", logs)
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}
