package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a stderr for serveWith that tests read after it returns.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeShutdownCancelsReloadInFlight: a reload waiting on an identity
// provider that hangs is canceled when shutdown begins, so SIGTERM drains
// at once rather than after the provider's 10 s client timeout; the reload
// is refused ("shutdown began"), its request to the provider is canceled
// (the provider sees its client leave), and nothing is put in force.
// serve returns while the provider still holds the request: no timing is
// measured, the hang is only released at cleanup.
func TestServeShutdownCancelsReloadInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	clientLeft := make(chan struct{}, 1)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
			clientLeft <- struct{}{}
		case <-release:
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(idp.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets idp.Close finish

	dir := t.TempDir()
	path := filepath.Join(dir, "ossproxy.yaml")
	text := `
listeners:
  - name: main
    address: "127.0.0.1:0"
auth:
  issuers:
    - issuer: https://issuer.test
      audiences: [ossproxy]
      algorithms: [HS256]
      hmac_secret: reload-shutdown-test-secret-0123456789
policy:
  rules:
    - name: root
      subjects: [root]
      buckets: ["*"]
      actions: ["*"]
buckets:
  - name: data
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
credentials:
  source: static
  access_key_id: LTAI5tReloadShutdownTest
  access_key_secret: reload-shutdown-test-secret
logging:
  format: json
  level: debug
admin:
  address: "127.0.0.1:0"
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reload := make(chan struct{})
	ready := make(chan struct{})
	var stderr lockedBuffer
	served := make(chan error, 1)
	go func() {
		served <- serveWith(ctx, []string{"--config", path}, func(string) string { return "" }, &stderr,
			appHooks{Reload: reload, Ready: func([]net.Addr) { close(ready) }})
	}()
	hang := time.After(30 * time.Second) // hang guard for every wait below
	select {
	case <-ready:
	case err := <-served:
		t.Fatalf("serve returned %v:\n%s", err, stderr.String())
	case <-hang:
		t.Fatal("serve never became ready")
	}

	edited := strings.Replace(text, "  issuers:\n", "  issuers:\n    - issuer: "+idp.URL+"\n      audiences: [ossproxy]\n      algorithms: [RS256]\n      discovery: true\n      allow_insecure_http: true\n", 1)
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case reload <- struct{}{}:
	case <-hang:
		t.Fatal("the reload was never taken")
	}
	select {
	case <-arrived: // the reload now waits on the provider
	case <-hang:
		t.Fatalf("the reload never asked the identity provider:\n%s", stderr.String())
	}

	cancel() // SIGTERM
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-hang:
		t.Fatal("serve did not return while the identity provider hangs: the drain waits for the reload")
	}
	select {
	case <-clientLeft:
	case <-hang:
		t.Fatal("the provider never saw the reload's request canceled")
	}
	logs := stderr.String()
	var refused string
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, "configuration reload refused") {
			refused = line
		}
	}
	if !strings.Contains(refused, "shutdown began") {
		t.Fatalf("no reload refused because shutdown began:\n%s", logs)
	}
	if strings.Contains(logs, `"configuration reloaded"`) {
		t.Fatalf("the canceled reload was put in force:\n%s", logs)
	}
}
