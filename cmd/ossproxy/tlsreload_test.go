package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/config"
)

// copyFile copies src to dst and sets dst's modification time to mtime,
// so a change is visible whatever the file system's timestamp resolution.
func copyFile(t *testing.T, src, dst string, mtime time.Time) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// leafOf is the DER certificate a TLS server presents at addr.
func leafOf(t *testing.T, addr string, pool *x509.CertPool) []byte {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Raw
}

func readCert(t *testing.T, file string) []byte {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(file, strings.TrimSuffix(file, "cert.pem")+"key.pem")
	if err != nil {
		t.Fatal(err)
	}
	return pair.Certificate[0]
}

// TestServeTLSCertificateReload swaps two self-signed certificates on
// disk under a running serve: new handshakes get the new one; a broken
// file afterwards leaves it in use, and is logged.
func TestServeTLSCertificateReload(t *testing.T) {
	d1, d2, live := t.TempDir(), t.TempDir(), t.TempDir()
	c1, k1, p1 := writeTestCert(t, d1)
	c2, k2, _ := writeTestCert(t, d2)
	pool := p1.Clone()
	pool.AppendCertsFromPEM(must(os.ReadFile(c2)))
	cert, key := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	start := time.Now().Add(-time.Hour)
	copyFile(t, c1, cert, start)
	copyFile(t, k1, key, start)
	s := startServe(t, serveOpts{extraListeners: "  - name: tls\n    address: \"127.0.0.1:0\"\n    tls:\n      cert_file: " + cert +
		"\n      key_file: " + key + "\n      reload_interval: 1ms\n"})
	addr := s.addrs["tls"]
	first, second := readCert(t, c1), readCert(t, c2)
	if !bytes.Equal(leafOf(t, addr, pool), first) {
		t.Fatal("serving another certificate than the configured one")
	}

	// Swap: key first, then the certificate (a renewal tool's order).
	copyFile(t, k2, key, start.Add(time.Minute))
	copyFile(t, c2, cert, start.Add(time.Minute))
	if !waitFor(func() bool { return bytes.Equal(leafOf(t, addr, pool), second) }) {
		t.Fatalf("the new certificate is not served:\n%s", s.logs)
	}
	s.waitLog(t, "TLS certificate reloaded", 0)

	// A broken certificate file: the loaded pair stays.
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(cert, start.Add(2*time.Minute), start.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Handshakes (each lets the reloader look at the files) until it has
	// seen the broken file, and one more after: every one gets the loaded
	// certificate.
	const broken = "TLS certificate changed but does not load; keeping the loaded certificate"
	if !waitFor(func() bool {
		if !bytes.Equal(leafOf(t, addr, pool), second) {
			t.Fatal("a broken certificate file replaced the loaded certificate")
		}
		return len(s.logs.records(broken)) > 0
	}) {
		t.Fatalf("the broken certificate file was never noticed:\n%s", s.logs)
	}
	if !bytes.Equal(leafOf(t, addr, pool), second) {
		t.Fatal("a broken certificate file replaced the loaded certificate")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCertReloaderInterval checks, with an injected clock, that the files
// are looked at no more often than the interval: a change is picked up by
// the first handshake after the interval, not before.
func TestCertReloaderInterval(t *testing.T) {
	d1, d2, live := t.TempDir(), t.TempDir(), t.TempDir()
	c1, k1, _ := writeTestCert(t, d1)
	c2, k2, _ := writeTestCert(t, d2)
	cert, key := filepath.Join(live, "cert.pem"), filepath.Join(live, "key.pem")
	mtime := time.Now().Add(-time.Hour)
	copyFile(t, c1, cert, mtime)
	copyFile(t, k1, key, mtime)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := newCertReloader(cert, key, 10*time.Second, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	get := func() []byte {
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Certificate[0]
	}
	first, second := readCert(t, c1), readCert(t, c2)
	copyFile(t, c2, cert, mtime.Add(time.Minute))
	copyFile(t, k2, key, mtime.Add(time.Minute))
	for _, step := range []struct {
		advance time.Duration
		want    []byte
	}{
		{0, first},               // just loaded: not looked at again
		{9 * time.Second, first}, // within the interval
		{time.Second, second},    // 10s after the load
		{time.Hour, second},      // unchanged files: the same pair
	} {
		now = now.Add(step.advance)
		if !bytes.Equal(get(), step.want) {
			t.Fatalf("after %s: wrong certificate", step.advance)
		}
	}
	if _, err := newCertReloader(filepath.Join(live, "missing.pem"), key, time.Second, nil, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a missing certificate file loaded")
	}
}

// TestServeTLSCertificateGone: a certificate that disappeared between
// loading the configuration and serving stops serve before it serves
// anything (Ready is never called).
func TestServeTLSCertificateGone(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := writeTestCert(t, dir)
	text := strings.Replace(good(t), `  - address: "127.0.0.1:0"`, `  - address: "127.0.0.1:0"
  - address: "127.0.0.1:0"
    tls:
      cert_file: `+cert+`
      key_file: `+key, 1) + "admin:\n  address: \"127.0.0.1:0\"\n"
	cfg, err := config.Parse(filepath.Join(dir, "c.yaml"), []byte(text), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, appDeps{getenv: func(string) string { return "" }, logger: slog.New(slog.DiscardHandler),
		hooks: appHooks{Ready: func([]net.Addr) { t.Error("Ready called") }}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if err := a.serve(t.Context()); err == nil || !strings.Contains(err.Error(), "reading TLS certificate") {
		t.Fatalf("serve: %v", err)
	}
}

// BenchmarkCertReloaderGetCertificate is the per-handshake cost of the
// reloader between two checks of the files (the common case).
func BenchmarkCertReloaderGetCertificate(b *testing.B) {
	dir := b.TempDir()
	cert, key, _ := writeTestCert(b, dir)
	r, err := newCertReloader(cert, key, time.Hour, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if c, err := r.GetCertificate(nil); c == nil || err != nil {
			b.Fatal(err)
		}
	}
}
