package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/proxy"
)

// appHooks are the integration points for features wired around the proxy
// (the vending API under /_ossproxy/v1/, the admin listener, metrics).
// Every nil field is skipped.
type appHooks struct {
	// Handler wraps the proxy handler before it is served on every
	// listener; a, fully built, gives access to the credentials cache,
	// authenticator and policy (e.g. to mount the vend API with a
	// ServeMux and pass the rest to next).
	Handler func(a *app, next http.Handler) http.Handler
	// Ready is called once every listener is bound, with their addresses
	// in configuration order.
	Ready func(addrs []net.Addr)
	// Credentials observe the upstream credentials cache (metrics).
	Credentials credentials.Hooks
}

// app is the proxy built from a configuration: logger → credentials →
// signer → auth → proxy → one http.Server per listener. Its fields are set
// by newApp and read-only afterwards.
type app struct {
	cfg     *config.Config
	logger  *slog.Logger
	creds   *credentials.Cache
	authn   *auth.Authenticator
	policy  *auth.Policy
	handler http.Handler // the proxy, wrapped by hooks
	hooks   appHooks

	closeCreds func()
	stopAuth   context.CancelFunc
}

// appDeps is what newApp needs from the process.
type appDeps struct {
	getenv  func(string) string
	homeDir string
	logger  *slog.Logger
	now     func() time.Time // nil: time.Now
	hooks   appHooks
}

// newApp builds every component without binding a socket. It makes no
// call to STS (the credentials cache fetches in the background); JWKS and
// discovery documents are fetched by auth.New, which fails only on an
// unreadable discovery document. Call close when done.
func newApp(ctx context.Context, cfg *config.Config, d appDeps) (_ *app, err error) {
	a := &app{cfg: cfg, logger: d.logger, hooks: d.hooks}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.creds, a.closeCreds, err = buildCredentials(cfg.Credentials, credentialDeps{
		getenv: d.getenv, homeDir: d.homeDir, logger: d.logger.With("component", "credentials"),
		hooks: d.hooks.Credentials,
	})
	if err != nil {
		return nil, err
	}
	authCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stopAuth = stop
	ac := cfg.AuthConfig()
	ac.Logger = d.logger.With("component", "auth")
	ac.Now = d.now
	ac.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	if a.authn, err = auth.New(authCtx, ac); err != nil {
		return nil, fmt.Errorf("building authenticator: %w", err)
	}
	if a.policy, err = auth.NewPolicy(cfg.Policy.Rules); err != nil {
		return nil, fmt.Errorf("building policy: %w", err)
	}
	h, err := proxy.New(proxy.Options{
		Config:         cfg.Proxy,
		Authenticator:  authenticator{a.authn},
		Authorizer:     authorizer{a.policy},
		Credentials:    credentialSource{a.creds},
		Signer:         proxy.NewOSSSigner(cfg.Proxy),
		Upstream:       proxy.NewUpstreamTransport(),
		Logger:         d.logger.With("component", "proxy"),
		Now:            d.now,
		MaxHeaderBytes: cfg.Limits.MaxHeaderBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("building proxy: %w", err)
	}
	a.handler = h
	if d.hooks.Handler != nil {
		a.handler = d.hooks.Handler(a, h)
	}
	return a, nil
}

// close stops the background work (credential refresh, JWKS refresh).
func (a *app) close() {
	if a.closeCreds != nil {
		a.closeCreds()
	}
	if a.stopAuth != nil {
		a.stopAuth()
	}
}

// listen binds every listener; on error the ones already bound are closed.
func (a *app) listen(ctx context.Context) ([]net.Listener, error) {
	var lns []net.Listener
	var lc net.ListenConfig
	for _, l := range a.cfg.Listeners {
		network := l.NetworkOrDefault()
		if network == "unix" {
			removeStaleSocket(l.Address)
		}
		ln, err := lc.Listen(ctx, network, l.Address)
		if err == nil && network == "unix" && l.SocketMode != 0 {
			if err = os.Chmod(l.Address, l.SocketMode.Perm()); err != nil {
				ln.Close()
			}
		}
		if err != nil {
			for _, o := range lns {
				o.Close()
			}
			return nil, fmt.Errorf("listening on %s %s: %w", network, l.Address, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// removeStaleSocket removes a unix socket left by a previous run. A path
// that is not a socket, or a socket something still accepts on, is left
// for Listen to fail on.
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSocket == 0 {
		return
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return
	}
	os.Remove(path)
}

// serve serves on every listener until ctx ends, then shuts the servers
// down, letting in-flight requests finish for up to the shutdown grace
// period before closing their connections. It returns the first serving
// error, or nil after a clean shutdown.
func (a *app) serve(ctx context.Context) error {
	lns, err := a.listen(ctx)
	if err != nil {
		return err
	}
	servers := make([]*http.Server, len(lns))
	addrs := make([]net.Addr, len(lns))
	errc := make(chan error, len(lns))
	var wg sync.WaitGroup
	for i, ln := range lns {
		l := a.cfg.Listeners[i]
		li := listenerInfo{name: l.DisplayName(), anonymous: l.Anonymous}
		srv := &http.Server{
			Handler:           a.handler,
			ReadHeaderTimeout: l.Timeouts.ReadHeaderOrDefault(),
			ReadTimeout:       l.Timeouts.Read,
			WriteTimeout:      l.Timeouts.Write,
			IdleTimeout:       l.Timeouts.IdleOrDefault(),
			MaxHeaderBytes:    l.MaxHeaderBytesOrDefault(),
			BaseContext:       func(net.Listener) context.Context { return withListener(context.WithoutCancel(ctx), li) },
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		servers[i], addrs[i] = srv, ln.Addr()
		tlsOn := l.TLS != nil
		a.logger.Info("listening", "listener", li.name, "network", ln.Addr().Network(), "addr", ln.Addr().String(),
			"tls", tlsOn, "anonymous", l.Anonymous)
		wg.Go(func() {
			var err error
			if tlsOn {
				err = srv.ServeTLS(ln, l.TLS.CertFile, l.TLS.KeyFile)
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving %s: %w", li.name, err)
			}
		})
	}
	if a.hooks.Ready != nil {
		a.hooks.Ready(addrs)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	grace := a.cfg.Limits.ShutdownGraceOrDefault()
	a.logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	var sw sync.WaitGroup
	for _, srv := range servers {
		sw.Go(func() {
			if err := srv.Shutdown(sctx); err != nil {
				a.logger.Warn("grace period over; closing connections", "error", err)
				srv.Close()
			}
		})
	}
	sw.Wait()
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	a.logger.Info("stopped", "heap_sys", ms.HeapSys, "heap_inuse", ms.HeapInuse, "total_alloc", ms.TotalAlloc, "num_gc", ms.NumGC)
	return serveErr
}

// runServe is `ossproxy serve --config FILE`.
func runServe(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	return serveWith(ctx, args, getenv, stderr, appHooks{})
}

// serveWith is runServe with hooks, for tests and future subcommands.
func serveWith(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, hooks appHooks) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `file` (YAML)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if *path == "" || fs.NArg() > 0 {
		return usageError{"usage: ossproxy serve --config FILE"}
	}
	cfg, err := config.Load(*path, config.Options{Getenv: getenv})
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.Logging)
	home := getenv("HOME")
	a, err := newApp(ctx, cfg, appDeps{getenv: getenv, homeDir: home, logger: logger, hooks: hooks})
	if err != nil {
		return err
	}
	defer a.close()
	logger.Info("starting ossproxy", "version", version, "config", cfg.File,
		"buckets", len(cfg.Proxy.Buckets), "credentials", cfg.Credentials.Source)
	return a.serve(ctx)
}
