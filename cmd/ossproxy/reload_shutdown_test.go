package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

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

	reload := make(chan struct{})
	s := startServe(t, serveOpts{hooks: &appHooks{Reload: reload}})
	s.addDiscoveryIssuer(t, idp.URL)
	hang := time.After(pollLimit) // hang guard for every wait below
	select {
	case reload <- struct{}{}:
	case <-hang:
		t.Fatal("the reload was never taken")
	}
	select {
	case <-arrived: // the reload now waits on the provider
	case <-hang:
		t.Fatalf("the reload never asked the identity provider:\n%s", s.logs)
	}

	// SIGTERM. stop gives up after pollLimit, far less than a hanging
	// provider holds the reload (until cleanup).
	if err := s.stop(); err != nil {
		t.Fatalf("serve while the identity provider hangs (the drain must not wait for the reload): %v", err)
	}
	select {
	case <-clientLeft:
	case <-hang:
		t.Fatal("the provider never saw the reload's request canceled")
	}
	logs := s.logs.String()
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
