package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and
// localhost and its key as PEM files in dir.
func writeTestCert(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ossproxy test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLSListener(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	s := startServe(t, serveOpts{extraListeners: `  - name: tls
    address: "127.0.0.1:0"
    tls:
      cert_file: ` + certFile + `
      key_file: ` + keyFile + `
    timeouts:
      read_header: 5s
      idle: 30s
    max_header_bytes: 16384
`})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", "https://"+s.addrs["tls"]+"/data/alice/tls.txt", strings.NewReader("over tls"))
	req.Header.Set("Authorization", "Bearer "+mint(t, jwt.MapClaims{"sub": "alice"}))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("PUT over TLS: %d", resp.StatusCode)
	}
	// Headers beyond the listener's max_header_bytes are refused by net/http.
	req, _ = http.NewRequestWithContext(t.Context(), "GET", "https://"+s.addrs["tls"]+"/data/alice/tls.txt", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized headers: %d", resp.StatusCode)
	}
}

// TestServeGracefulShutdown cancels serve's context (what SIGTERM does)
// while an upload is half sent: the upload completes, new connections are
// refused, and serve returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	s := startServe(t, serveOpts{extraConfig: "limits:\n  shutdown_grace: 20s\n"})
	data := randomBytes(1 << 20)
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s.url+"/data/alice/draining.bin", pr)
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+mint(t, jwt.MapClaims{"sub": "alice"}))
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{0, err}
			return
		}
		resp.Body.Close()
		done <- result{resp.StatusCode, nil}
	}()
	if _, err := pw.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	s.upstreamKeyOf(t, "PUT", "/data/alice/draining.bin") // the request is in flight upstream
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	s.waitLog(t, "shutting down", 0)
	// The listener closes right after that log line: new connections fail.
	if !waitFor(func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		t.Errorf("new connections still accepted %v into the shutdown", pollLimit)
	}
	select {
	case err := <-stopped:
		t.Fatalf("serve returned (%v) before the in-flight upload finished", err)
	default:
	}
	if _, err := pw.Write(data[len(data)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if r := <-done; r.err != nil || r.code != 200 {
		t.Fatalf("in-flight upload: %d %v", r.code, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if sum, _ := s.cloud.OSS.ObjectSHA256("data", "alice/draining.bin"); sum == "" {
		t.Fatal("drained upload not stored")
	}
}

func TestServeUsageAndStartupErrors(t *testing.T) {
	getenv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	err := run(t.Context(), []string{"serve"}, getenv, &out, &errOut)
	if exitCode(err) != 2 {
		t.Errorf("serve without --config: %v (exit %d)", err, exitCode(err))
	}
	err = run(t.Context(), []string{"serve", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, getenv, &out, &errOut)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "reading config") {
		t.Errorf("missing file: %v", err)
	}
	// A busy address fails clearly, after the other components started.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	path := filepath.Join(t.TempDir(), "c.yaml")
	text := strings.Replace(good(t), `address: "127.0.0.1:0"`, `address: "`+ln.Addr().String()+`"`, 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run(t.Context(), []string{"serve", "--config", path}, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "listening on tcp "+ln.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("busy address: %v", err)
	}
}

// good returns a minimal valid configuration for check-config tests.
func good(t testing.TB) string {
	t.Helper()
	return `listeners:
  - address: "127.0.0.1:0"
auth:
  access_keys:
    - id: app
      secret: app-secret
policy:
  rules:
    - access_key_ids: [app]
      buckets: [photos]
      actions: [read]
buckets:
  - name: photos
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
credentials:
  source: static
  access_key_id: id
  access_key_secret: secret
`
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeTestCert(t, dir)
	env := map[string]string{
		"OSSPROXY_TLS_CERT": certFile, "OSSPROXY_TLS_KEY": keyFile,
		"OSSPROXY_CI_HMAC": "ci-hmac-secret-0123456789abcdef0123", "OSSPROXY_BACKUP_SECRET": "backup-secret",
		"OSSPROXY_AK_ID": "LTAIbase", "OSSPROXY_AK_SECRET": "base-secret",
	}
	getenv := func(k string) string { return env[k] }
	t.Run("repository config.yaml", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"check-config", "--config", "../../config.yaml"}, getenv, &out, &errOut); err != nil {
			t.Fatalf("config.yaml: %v\n%s", err, out.String())
		}
		if out.String() != "ok\n" {
			t.Fatalf("printed %q", out.String())
		}
	})
	t.Run("config.yaml needs its variables", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"check-config", "--config", "../../config.yaml"}, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 1 || !strings.Contains(out.String(), "config.yaml:") || !strings.Contains(out.String(), "OSSPROXY_AK_SECRET is not set") {
			t.Fatalf("err %v, printed %q", err, out.String())
		}
	})
	t.Run("errors with lines", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		text := strings.Replace(good(t), `address: "127.0.0.1:0"`, `address: "0.0.0.0:80"`+"\n    anonymous: true", 1)
		text = strings.Replace(text, "buckets: [photos]", "buckets: [photoz]", 1)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run(t.Context(), []string{"check-config", "--config", path}, getenv, &out, &errOut)
		if exitCode(err) != 1 {
			t.Fatalf("exit %d: %v", exitCode(err), err)
		}
		want := []string{path + `:3: anonymous access is only allowed on a loopback or unix listener`,
			path + `:11: rule 1 names unknown bucket "photoz"`}
		got := out.String()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("missing %q in:\n%s", w, got)
			}
		}
		// Unknown fields are reported first (before validation runs).
		text = strings.Replace(good(t), "    region: cn-hangzhou\n", "    regoin: cn-hangzhou\n", 1)
		_ = os.WriteFile(path, []byte(text), 0o600)
		out.Reset()
		_ = run(t.Context(), []string{"check-config", "--config", path}, getenv, &out, &errOut)
		if !strings.Contains(out.String(), path+`:15: unknown field "regoin" in buckets`) {
			t.Errorf("unknown field: %s", out.String())
		}
	})
}

// TestGlobPrefixRejected: a policy prefix written as a glob is refused by
// check-config and by serve at start-up, at the rule's file:line, saying
// prefixes are literal and what to write instead; a literal prefix in the
// same place is valid.
func TestGlobPrefixRejected(t *testing.T) {
	dir := t.TempDir()
	write := func(name, prefix string) string {
		t.Helper()
		// The rule begins on line 9 of good's text.
		text := strings.Replace(good(t), "      buckets: [photos]\n", "      buckets: [photos]\n      prefixes: [\""+prefix+"\"]\n", 1)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	glob, literal := write("glob.yaml", "ci/*"), write("literal.yaml", "ci/")
	getenv := func(string) string { return "" }
	want := []string{glob + ":9: ", `prefix "ci/*"`, "prefixes are literal key prefixes, not globs", `write "ci/"`}
	tests := []struct {
		name string
		args []string
		text func(err error, out string) string // where the problem is reported
	}{
		{"check-config", []string{"check-config", "--config", glob}, func(_ error, out string) string { return out }},
		{"serve", []string{"serve", "--config", glob}, func(err error, _ string) string { return err.Error() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A hang guard: were the configuration accepted, serve would
			// run until its context ends.
			ctx, cancel := context.WithTimeout(t.Context(), pollLimit)
			defer cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, tc.args, getenv, &out, &errOut)
			if err == nil || exitCode(err) != 1 {
				t.Fatalf("exit %d: %v", exitCode(err), err)
			}
			got := tc.text(err, out.String())
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
	t.Run("literal prefix", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"check-config", "--config", literal}, getenv, &out, &errOut); err != nil || out.String() != "ok\n" {
			t.Fatalf("check-config: %v, printed %q", err, out.String())
		}
	})
}

// Example_checkConfig checks testdata/photos.yaml, whose access key
// secret is ${APP_SECRET}: valid with the variable set, exit 1 without.
func Example_checkConfig() {
	const path = "testdata/photos.yaml"
	getenv := func(k string) string { return map[string]string{"APP_SECRET": "s3cr3t"}[k] }
	_ = run(context.Background(), []string{"check-config", "--config", path}, getenv, os.Stdout, os.Stderr)
	err := run(context.Background(), []string{"check-config", "--config", path}, func(string) string { return "" }, io.Discard, io.Discard)
	fmt.Println(exitCode(err), errors.Is(err, errConfigInvalid))
	// Output:
	// ok
	// 1 true
}

// TestDemo runs `ossproxy demo --json` and uses the printed token with
// the real curl binary.
func TestDemo(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	logs := newLogSink()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--json", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, pw, logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading demo output: %v\n%s", err, logs)
	}
	go io.Copy(io.Discard, pr)
	var info demoInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatal(err)
	}
	if info.ProxyURL == "" || info.Token == "" || info.AccessKeyID == "" || info.AccessKeySecret == "" || info.Bucket != "demo" {
		t.Fatalf("incomplete demo info: %s", line)
	}
	curlDo := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), curl, append([]string{"-sS", "-H", "Authorization: Bearer " + info.Token}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	if got := curlDo(info.ProxyURL + "/demo/" + info.Object); got != "Hello from ossproxy!\n" {
		t.Fatalf("GET demo object: %q", got)
	}
	file := filepath.Join(t.TempDir(), "up.txt")
	_ = os.WriteFile(file, []byte("uploaded with curl"), 0o600)
	if code := curlDo("-o", "/dev/null", "-w", "%{http_code}", "-T", file, info.ProxyURL+"/demo/up.txt"); code != "200" {
		t.Fatalf("PUT: %s", code)
	}
	if got := curlDo(info.ProxyURL + "/demo/?list-type=2"); !strings.Contains(got, "<Key>up.txt</Key>") || !strings.Contains(got, "<Key>hello.txt</Key>") {
		t.Fatalf("list: %s", got)
	}
	// Without the token: 401.
	out, _ := exec.CommandContext(t.Context(), curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", info.ProxyURL+"/demo/hello.txt").Output()
	if string(out) != "401" {
		t.Fatalf("no token: %s", out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo returned %v", err)
	}
	if strings.Contains(logs.String(), info.AccessKeySecret) || strings.Contains(logs.String(), info.Token) {
		t.Error("demo logged a secret")
	}
}

func TestDemoBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errOut bytes.Buffer
	err = run(t.Context(), []string{"demo", "--addr", ln.Addr().String()}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed instructions although not serving: %s", out.String())
	}
}

func TestUnixSocketReuse(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "p.sock")
	// A stale socket file (nothing listening) is replaced.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	removeStaleSocket(sock)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("stale socket not removed: %v", err)
	}
	// A live one is kept, so a second proxy cannot steal it.
	ln, err = net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	removeStaleSocket(sock)
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("live socket removed: %v", err)
	}
	// A regular file is never removed.
	file := filepath.Join(dir, "file")
	_ = os.WriteFile(file, nil, 0o600)
	removeStaleSocket(file)
	if _, err := os.Stat(file); err != nil {
		t.Fatal("regular file removed")
	}
}

// TestServeShutdownGraceExpires: an upload that never finishes is cut
// when the grace period ends, and serve still returns nil.
func TestServeShutdownGraceExpires(t *testing.T) {
	s := startServe(t, serveOpts{extraConfig: "limits:\n  shutdown_grace: 300ms\n"})
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", s.url+"/data/alice/stuck.bin", pr)
	req.ContentLength = 1 << 20
	req.Header.Set("Authorization", "Bearer "+mint(t, jwt.MapClaims{"sub": "alice"}))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				err = errors.New("stuck upload succeeded")
			}
		}
		done <- err
	}()
	if _, err := pw.Write(make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	s.upstreamKeyOf(t, "PUT", "/data/alice/stuck.bin")
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 10*time.Second {
		t.Errorf("shutdown took %s with a 300ms grace", d)
	}
	if len(s.logs.records("grace period over; closing connections")) == 0 {
		t.Error("no log that connections were closed")
	}
	pw.CloseWithError(errors.New("client gives up"))
	if err := <-done; err == nil {
		t.Error("the cut upload reported success")
	}
}

// TestDemoText runs `ossproxy demo` and pastes its printed lines into a
// shell: the export and the first curl command fetch the demo object.
func TestDemoText(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not on PATH")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not on PATH")
	}
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	var export, get, printed string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		printed += line + "\n"
		switch {
		case strings.HasPrefix(line, "export TOKEN="):
			export = line
		case get == "" && strings.HasPrefix(line, "curl -H"):
			get = line
		}
		if strings.HasPrefix(line, "ossutil") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	for _, want := range []string{"access key id:", "access key secret:", "require('ali-oss')", "oss.NewClient(cfg)", "http://localhost:"} {
		if !strings.Contains(printed, want) {
			t.Errorf("instructions lack %q:\n%s", want, printed)
		}
	}
	if export == "" || get == "" {
		t.Fatalf("no export or curl line in:\n%s", printed)
	}
	out, err := exec.CommandContext(t.Context(), bash, "-c", export+"\n"+strings.Replace(get, "curl ", "curl -sS ", 1)).Output()
	if err != nil || string(out) != "Hello from ossproxy!\n" {
		t.Fatalf("pasted %q: %v %q", get, err, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
