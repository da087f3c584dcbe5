package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ossproxy/ossproxy/credentials"
)

// Flag is a readiness condition set by the program, e.g. "config loaded".
// Its Check fails with ErrNotReady until Set(true). The zero value is
// unset. A Flag is safe for concurrent use.
type Flag struct{ ok atomic.Bool }

var _ Checker = (*Flag)(nil)

// Set sets or clears the flag.
func (f *Flag) Set(ok bool) { f.ok.Store(ok) }

// Check implements Checker.
func (f *Flag) Check(context.Context) error {
	if !f.ok.Load() {
		return ErrNotReady
	}
	return nil
}

// CredentialsCheck passes while stats (credentials.Cache.Stats) reports
// valid upstream credentials. It reads the cache only: it never calls
// STS or the metadata service. Its error names the last refresh error,
// which the credentials package keeps free of secrets.
func CredentialsCheck(stats func() credentials.Stats) Checker {
	return CheckerFunc(func(context.Context) error {
		s := stats()
		switch {
		case s.Valid:
			return nil
		case s.LastError != nil:
			return fmt.Errorf("no valid upstream credentials: %w: last refresh: %w", ErrNotReady, s.LastError)
		}
		return fmt.Errorf("no valid upstream credentials: %w", ErrNotReady)
	})
}

// FetchTracker wraps the http.RoundTripper of the client package auth
// fetches JWKS with (auth.Config.HTTPClient) and remembers the URLs that
// answered a GET with 200, so readiness can require "the JWKS have been
// fetched at least once" without fetching anything itself. It is safe for
// concurrent use; the zero value is not: use NewFetchTracker.
type FetchTracker struct {
	base http.RoundTripper
	mu   sync.Mutex
	ok   map[string]bool
}

// NewFetchTracker returns a tracker sending through base (nil:
// http.DefaultTransport).
func NewFetchTracker(base http.RoundTripper) *FetchTracker {
	if base == nil {
		base = http.DefaultTransport
	}
	return &FetchTracker{base: base, ok: map[string]bool{}}
}

// RoundTrip implements http.RoundTripper.
func (t *FetchTracker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && r.Method == http.MethodGet {
		u := r.URL.Scheme + "://" + r.URL.Host + r.URL.Path
		t.mu.Lock()
		t.ok[u] = true
		t.mu.Unlock()
	}
	return resp, err
}

// JWKSFetched passes once every URL in urls (scheme://host/path, the
// issuers' jwks_url) has answered 200 and, for issuers using OIDC
// discovery, whose JWKS URL is not known in advance, once discovered
// more distinct URLs (any but an /.well-known/openid-configuration
// document) have. Once passed it keeps passing: when a later refresh
// fails, package auth keeps the keys it has.
func (t *FetchTracker) JWKSFetched(urls []string, discovered int) Checker {
	var passed atomic.Bool
	return CheckerFunc(func(context.Context) error {
		if passed.Load() {
			return nil
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		var missing []string
		for _, u := range urls {
			if !t.ok[u] {
				missing = append(missing, u)
			}
		}
		others := 0
		for u := range t.ok {
			if !strings.HasSuffix(u, "/.well-known/openid-configuration") {
				others++
			}
		}
		switch {
		case len(missing) > 0:
			return fmt.Errorf("JWKS not fetched yet from %s: %w", strings.Join(missing, ", "), ErrNotReady)
		case others < len(urls)+discovered:
			return fmt.Errorf("JWKS of %d discovered issuer(s) not fetched yet: %w", len(urls)+discovered-others, ErrNotReady)
		}
		passed.Store(true)
		return nil
	})
}
