package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ossproxy/ossproxy/admin"
	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
)

// errReloadRefused wraps every reason a reload left the running
// configuration in force.
var errReloadRefused = errors.New("reload refused; the running configuration stays in force")

// authState is what a reload (SIGHUP) replaces as a whole: the
// authenticator (JWT issuers and keys, proxy-issued access keys) and the
// policy, built from one configuration. Listeners, buckets, upstream
// credentials and their caches stay as they are. It is immutable once
// stored; requests load it once per use through app.state.
type authState struct {
	cfg    *config.Config
	authn  *auth.Authenticator
	policy *auth.Policy
	jwks   admin.Checker      // readiness: every JWKS of cfg fetched once
	stop   context.CancelFunc // ends authn's background JWKS refreshes
}

// buildAuthState builds the authenticator and policy of cfg. JWKS are
// fetched through a.jwks, so readiness sees them; their background
// refreshes last until the state is replaced or the app closed.
func (a *app) buildAuthState(cfg *config.Config) (*authState, error) {
	ctx, stop := context.WithCancel(a.authCtx)
	return a.newAuthState(ctx, stop, cfg)
}

// newAuthState is buildAuthState under ctx, which bounds the discovery and
// JWKS fetches of the build and then the state's background refreshes;
// stop cancels ctx.
func (a *app) newAuthState(ctx context.Context, stop context.CancelFunc, cfg *config.Config) (*authState, error) {
	ac := cfg.AuthConfig()
	ac.Logger = a.logger.With("component", "auth")
	ac.Now = a.now
	ac.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: a.jwks}
	authn, err := auth.New(ctx, ac)
	if err != nil {
		stop()
		return nil, fmt.Errorf("building authenticator: %w", err)
	}
	pol, err := auth.NewPolicy(cfg.Policy.Rules)
	if err != nil {
		stop()
		return nil, fmt.Errorf("building policy: %w", err)
	}
	var urls []string
	discovered := 0
	for _, is := range cfg.Auth.Issuers {
		switch {
		case is.JWKSURL != "":
			if u, err := url.Parse(is.JWKSURL); err == nil {
				urls = append(urls, u.Scheme+"://"+u.Host+u.Path)
			}
		case is.Discovery:
			discovered++
		}
	}
	return &authState{cfg: cfg, authn: authn, policy: pol, jwks: a.jwks.JWKSFetched(urls, discovered), stop: stop}, nil
}

// reload reads the configuration file again and, if it is valid and its
// authenticator builds, puts its auth section and policy in force for the
// next request; requests in flight finish under the state they started
// with. Otherwise it logs why (file:line for configuration errors) and
// returns an error wrapping errReloadRefused: the running state stays.
// Changes to other sections are logged as needing a restart. serve never
// runs two reloads at once.
//
// A shutdown cancels a reload in flight: once serve starts draining
// (a.admin.SetDraining, its first step), the build's discovery and JWKS
// fetches are canceled and the reload is refused, so an identity
// provider that hangs no longer holds the drain for its 10 s client
// timeout, and no half-built state is put in force during the drain.
func (a *app) reload(load func() (*config.Config, error)) error {
	now := a.now
	if now == nil {
		now = time.Now
	}
	start := now()
	cfg, err := load()
	if err == nil {
		var st *authState
		if st, err = a.buildForReload(cfg); err == nil {
			old := a.state.Swap(st)
			old.stop()
			restart := restartSections(a.cfg, cfg)
			a.logger.Info("configuration reloaded", "config", cfg.File, "issuers", len(cfg.Auth.Issuers),
				"access_keys", len(cfg.Auth.AccessKeys), "rules", len(cfg.Policy.Rules), "took", now().Sub(start))
			if len(restart) > 0 {
				a.logger.Warn("configuration changes that need a restart were not applied", "sections", restart)
			}
			return nil
		}
	}
	a.logger.Error("configuration reload refused; the running configuration stays in force", "config", a.cfg.File, "error", err.Error())
	return fmt.Errorf("reloading %s: %w: %w", a.cfg.File, errReloadRefused, err)
}

// errShutdown is why a reload that shutdown canceled was refused.
var errShutdown = errors.New("shutdown began")

// drainPoll is how often a reload in flight checks whether serve has
// begun draining (the admin handler's flag has no channel to wait on).
const drainPoll = 10 * time.Millisecond

// buildForReload builds the state of cfg, canceling the build if serve
// begins draining meanwhile; a build that shutdown touched is discarded
// with an error wrapping errShutdown (its fetches were cut short and its
// refreshes canceled).
func (a *app) buildForReload(cfg *config.Config) (*authState, error) {
	ctx, stop := context.WithCancel(a.authCtx)
	var drained atomic.Bool
	done := make(chan struct{})
	var watch sync.WaitGroup
	if a.admin != nil {
		watch.Go(func() {
			t := time.NewTicker(drainPoll)
			defer t.Stop()
			for {
				if a.admin.Draining() {
					drained.Store(true)
					stop()
					return
				}
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		})
	}
	st, err := a.newAuthState(ctx, stop, cfg)
	close(done)
	watch.Wait()
	if drained.Load() {
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errShutdown, err)
		}
		st.stop()
		return nil, fmt.Errorf("building authenticator: %w", errShutdown)
	}
	return st, err
}

// restartSections names the sections of next that differ from running's
// and that a reload does not apply: every one but auth and policy.
func restartSections(running, next *config.Config) []string {
	var out []string
	for _, f := range []struct {
		name     string
		old, new any
	}{
		{"listeners", running.Listeners, next.Listeners}, {"buckets", running.Proxy, next.Proxy},
		{"credentials", running.Credentials, next.Credentials}, {"logging", running.Logging, next.Logging},
		{"limits", running.Limits, next.Limits}, {"admin", running.Admin, next.Admin}, {"vend", running.Vend, next.Vend},
		{"upstream", running.Upstream, next.Upstream},
	} {
		if !reflect.DeepEqual(f.old, f.new) {
			out = append(out, f.name)
		}
	}
	return out
}
