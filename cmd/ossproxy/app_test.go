package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/osstest"
)

// TestAppHooks shows the integration points other features use: Handler
// mounts an API beside the proxy, Ready reports the bound addresses, and
// Credentials observes refreshes.
func TestAppHooks(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	text := `listeners:
  - address: "127.0.0.1:0"
  - address: "127.0.0.1:0"
auth:
  access_keys:
    - id: app
      secret: app-secret
policy:
  rules:
    - access_key_ids: [app]
      buckets: [data]
      actions: [read]
buckets:
  - name: data
    endpoint: ` + cloud.OSSURL + `
    region: ` + cloud.Region + `
    allow_insecure_http: true
credentials:
  source: static
  access_key_id: ` + cloud.Admin.AccessKeyID + `
  access_key_secret: ${SECRET}
admin:
  address: "127.0.0.1:0"
`
	getenv := func(k string) string { return map[string]string{"SECRET": cloud.Admin.AccessKeySecret}[k] }
	cfg, err := config.Parse("hooks.yaml", []byte(text), config.Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	var refreshed atomic.Int32
	ready := make(chan []net.Addr, 1)
	a, err := newApp(t.Context(), cfg, appDeps{getenv: getenv, logger: slog.New(slog.DiscardHandler), hooks: appHooks{
		Handler: func(a *app, next http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /_ossproxy/v1/ping", func(w http.ResponseWriter, r *http.Request) {
				c, err := a.creds.Retrieve(r.Context())
				if err != nil {
					http.Error(w, "no credentials", http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, "pong "+c.Source)
			})
			mux.Handle("/", next)
			return mux
		},
		Ready:       func(addrs []net.Addr) { ready <- addrs },
		Credentials: credentials.Hooks{OnRefresh: func(string, time.Time) { refreshed.Add(1) }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	addrs := <-ready
	if len(addrs) != 2 || addrs[0].String() == addrs[1].String() {
		t.Fatalf("addrs = %v", addrs)
	}
	for _, addr := range addrs {
		resp, err := http.Get("http://" + addr.String() + "/_ossproxy/v1/ping")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "pong static" {
			t.Fatalf("mounted API: %d %q", resp.StatusCode, b)
		}
		// The proxy still answers everything else (here: no credentials).
		resp, err = http.Get("http://" + addr.String() + "/data/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), "InvalidToken.Missing") {
			t.Fatalf("proxy behind the hook: %d %s", resp.StatusCode, b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	a.close() // waits for the refreshing goroutine, which calls the hook
	if refreshed.Load() == 0 {
		t.Error("credentials hook not called")
	}
}
