package main

import (
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/quick"

	"github.com/ossproxy/ossproxy/config"
)

// TestRestartSections: a change to any section of the configuration but
// the two a reload applies (auth, policy) is reported as needing a
// restart, so none, today's or a future one, is dropped in silence.
func TestRestartSections(t *testing.T) {
	applied := map[string]bool{"Auth": true, "Policy": true, "File": true}
	rnd := rand.New(rand.NewSource(1))
	typ := reflect.TypeFor[config.Config]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			var running, next config.Config
			for range 10 { // a random value that differs from the zero one
				v, ok := quick.Value(f.Type, rnd)
				if !ok {
					t.Fatalf("cannot generate a %v", f.Type)
				}
				reflect.ValueOf(&next).Elem().Field(i).Set(v)
				if !reflect.DeepEqual(running, next) {
					break
				}
			}
			if reflect.DeepEqual(running, next) {
				t.Fatalf("no value of %v differs from the zero one", f.Type)
			}
			got := restartSections(&running, &next)
			if applied[f.Name] {
				if len(got) != 0 {
					t.Fatalf("a change to %s, which reload applies, reported as %v", f.Name, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("a change to %s reported as %v, want one section", f.Name, got)
			}
		})
	}
	if got := restartSections(&config.Config{}, &config.Config{}); got != nil {
		t.Fatalf("no change reported as %v", got)
	}
}

// addDiscoveryIssuer adds to s's configuration file an RS256 issuer
// whose keys are found by OIDC discovery at issuer, for the next reload.
func (s *server) addDiscoveryIssuer(t testing.TB, issuer string) {
	t.Helper()
	text, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(text), "  token_query_param:", "    - issuer: "+issuer+"\n      audiences: ["+tAudience+"]\n      algorithms: [RS256]\n      discovery: true\n      allow_insecure_http: true\n  token_query_param:", 1)
	if err := os.WriteFile(s.cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeShutdownSkipsQueuedReloads: reloads queued behind one that
// waits on an identity provider are dropped once shutdown begins, so the
// drain waits for that one reload at most, not for every queued one.
func TestServeShutdownSkipsQueuedReloads(t *testing.T) {
	var fetches atomic.Int32
	release := make(chan struct{})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fetches.Add(1) == 1 {
			<-release
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(idp.Close)
	reload := make(chan struct{})
	s := startServe(t, serveOpts{hooks: &appHooks{Reload: reload}})
	s.addDiscoveryIssuer(t, idp.URL)
	for range 3 {
		reload <- struct{}{}
	}
	if !waitFor(func() bool { return fetches.Load() > 0 }) {
		t.Fatalf("the reload never asked the identity provider:\n%s", s.logs)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	s.waitLog(t, "shutting down", 0)
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d discovery fetches: reloads queued at shutdown still ran", n)
	}
	if n := len(s.logs.records("configuration reload refused; the running configuration stays in force")); n != 1 {
		t.Fatalf("%d refused reloads logged, want the one in flight", n)
	}
}
