package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ossproxy/ossproxy/admin"
	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/metrics"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/vend"
)

// appHooks are the integration points for features wired around the proxy
// (the vending API under /_ossproxy/v1/, the admin listener, metrics).
// Every nil field is skipped.
type appHooks struct {
	// Handler wraps the proxy handler before it is served on every
	// listener; a, fully built, gives access to the credentials cache and
	// the current authenticator and policy (e.g. to mount an API with a
	// ServeMux and pass the rest to next).
	Handler func(a *app, next http.Handler) http.Handler
	// Ready is called once every listener is bound, with their addresses
	// in configuration order.
	Ready func(addrs []net.Addr)
	// Credentials observe the upstream credentials cache (metrics).
	Credentials credentials.Hooks
	// Reload, if not nil, triggers a reload of the configuration file on
	// each receive, as SIGHUP does (tests).
	Reload <-chan struct{}
	// AdminReady is called with the admin listener's address once it is
	// bound (never when the admin listener is disabled).
	AdminReady func(addr net.Addr)
}

// app is the proxy built from a configuration: logger → credentials →
// signer → auth → proxy → one http.Server per listener, plus the vend API,
// metrics and the admin handler. Its fields are set by newApp and
// read-only afterwards, except state, which reload replaces.
type app struct {
	cfg     *config.Config
	logger  *slog.Logger
	now     func() time.Time
	creds   *credentials.Cache
	state   atomic.Pointer[authState] // authenticator and policy: SIGHUP swaps them
	handler http.Handler              // the proxy, wrapped by metrics and hooks
	hooks   appHooks

	metrics  *metrics.Metrics
	registry *prometheus.Registry
	admin    *admin.Handler
	loaded   admin.Flag          // readiness check "config"
	jwks     *admin.FetchTracker // the transport JWKS are fetched with
	vend     *vendAPI

	reloadc    <-chan struct{}
	load       func() (*config.Config, error)
	authCtx    context.Context // parent of every authState's background work
	closeCreds func()
	closeVend  func()
	stopAuth   context.CancelFunc
}

// appDeps is what newApp needs from the process.
type appDeps struct {
	getenv  func(string) string
	homeDir string
	logger  *slog.Logger
	now     func() time.Time // nil: time.Now
	hooks   appHooks
	// reload triggers a.reload(load) while serving (nil: never).
	reload <-chan struct{}
	load   func() (*config.Config, error)
}

// newApp builds every component without binding a socket. It makes no
// call to STS (the credentials caches fetch in the background); JWKS and
// discovery documents are fetched by auth.New, which fails only on an
// unreadable discovery document. Call close when done.
func newApp(ctx context.Context, cfg *config.Config, d appDeps) (_ *app, err error) {
	a := &app{cfg: cfg, logger: d.logger, now: d.now, hooks: d.hooks, registry: prometheus.NewRegistry(),
		reloadc: d.reload, load: d.load}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bucketNames := make([]string, len(cfg.Proxy.Buckets))
	for i, b := range cfg.Proxy.Buckets {
		bucketNames[i] = b.Name
	}
	if a.metrics, err = metrics.New(metrics.Options{
		Registry: a.registry, Buckets: bucketNames, Version: version, Now: d.now,
		Credentials: func() credentials.Stats { return a.creds.Stats() },
		TokenCache:  func() auth.CacheStats { return a.state.Load().authn.CacheStats() },
	}); err != nil {
		return nil, fmt.Errorf("building metrics: %w", err)
	}
	cdeps := credentialDeps{
		getenv: d.getenv, homeDir: d.homeDir, logger: d.logger.With("component", "credentials"),
		hooks: d.hooks.Credentials,
	}
	if a.creds, a.closeCreds, err = buildCredentials(cfg.Credentials, cdeps); err != nil {
		return nil, err
	}
	a.authCtx, a.stopAuth = context.WithCancel(context.WithoutCancel(ctx))
	a.jwks = admin.NewFetchTracker(nil)
	st, err := a.buildAuthState(cfg)
	if err != nil {
		return nil, err
	}
	a.state.Store(st)
	var api http.Handler
	if !cfg.Vend.Disabled {
		cdeps.hooks = credentials.Hooks{}
		cdeps.logger = d.logger.With("component", "vend")
		a.vend, a.closeVend, err = newVendAPI(cfg, livePolicy{&a.state}, cdeps, vend.ObserverFunc(func(_ context.Context, ev vend.Event) {
			if ev.Kind == "presign" {
				a.metrics.Presigned(ev.Bucket, ev.Status)
			} else {
				a.metrics.Vended(ev.Status, ev.Cached)
			}
		}), func() []config.AccessKey { return a.state.Load().cfg.Auth.AccessKeys })
		if err != nil {
			return nil, err
		}
		api = a.vend
	}
	keys := metrics.KeyFull
	if cfg.Logging.RedactKeys { // the key attribute and any error text naming the key
		keys = metrics.KeyHash
	}
	proxyLogger := slog.New(metrics.AccessLogHandler(d.logger.Handler(), metrics.AccessLogOptions{Keys: keys})).With("component", "proxy")
	h, err := proxy.New(proxy.Options{
		Config:         cfg.Proxy,
		Authenticator:  a.metrics.Authenticator(authenticator{&a.state}),
		Authorizer:     a.metrics.Authorizer(authorizer{&a.state}),
		Credentials:    credentialSource{a.creds},
		Signer:         proxy.NewOSSSigner(cfg.Proxy),
		Upstream:       a.metrics.Upstream(proxy.NewUpstreamTransportTimeouts(cfg.Upstream.Timeouts())),
		Logger:         proxyLogger,
		Now:            d.now,
		API:            api,
		MaxHeaderBytes: cfg.Limits.MaxHeaderBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("building proxy: %w", err)
	}
	a.handler = h
	if d.hooks.Handler != nil {
		a.handler = d.hooks.Handler(a, a.handler)
	}
	a.handler = a.metrics.Middleware(a.handler)
	if a.admin, err = admin.New(admin.Options{
		Gatherer: a.registry,
		Checks: []admin.Check{
			{Name: "config", Checker: &a.loaded},
			{Name: "credentials", Checker: admin.CredentialsCheck(a.creds.Stats)},
			{Name: "jwks", Checker: admin.CheckerFunc(func(ctx context.Context) error { return a.state.Load().jwks.Check(ctx) })},
		},
		Pprof:  cfg.Admin.Pprof,
		Logger: d.logger.With("component", "admin"),
	}); err != nil {
		return nil, fmt.Errorf("building admin handler: %w", err)
	}
	a.loaded.Set(true)
	return a, nil
}

// close stops the background work (credential refresh, JWKS refresh).
func (a *app) close() {
	if a.closeVend != nil {
		a.closeVend()
	}
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

// serve serves on every listener, and the admin handler on its own
// listener, until ctx ends. Each receive on the reload channel of
// appDeps (SIGHUP) calls a.reload. When ctx ends, /readyz turns 503 ("shutdown"), the
// proxy listeners close, and in-flight requests may finish for up to the
// shutdown grace period before their connections are closed; the admin
// listener closes last. It returns the first serving error, or nil after a
// clean shutdown.
func (a *app) serve(ctx context.Context) error {
	lns, err := a.listen(ctx)
	if err != nil {
		return err
	}
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	// Certificates first: nothing is served unless every listener can be.
	certs := make([]*certReloader, len(lns))
	for i, l := range a.cfg.Listeners {
		if l.TLS == nil {
			continue
		}
		if certs[i], err = newCertReloader(l.TLS.CertFile, l.TLS.KeyFile, l.TLS.ReloadIntervalOrDefault(), a.now,
			a.logger.With("listener", l.DisplayName())); err != nil {
			closeAll()
			return err
		}
	}
	var adminLn net.Listener
	if !a.cfg.Admin.Disabled {
		var lc net.ListenConfig
		if adminLn, err = lc.Listen(ctx, "tcp", a.cfg.Admin.AddressOrDefault()); err != nil {
			closeAll()
			return fmt.Errorf("listening on admin address %s: %w", a.cfg.Admin.AddressOrDefault(), err)
		}
	}
	servers := make([]*http.Server, len(lns))
	addrs := make([]net.Addr, len(lns))
	errc := make(chan error, len(lns)+1)
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
			BaseContext: func(net.Listener) context.Context {
				return proxy.WithBodyTimeouts(withListener(context.WithoutCancel(ctx), li),
					proxy.BodyTimeouts{Idle: l.Timeouts.BodyIdleOrDefault(), Read: l.Timeouts.Read})
			},
			ErrorLog: slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		if certs[i] != nil {
			srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs[i].GetCertificate}
		}
		servers[i], addrs[i] = srv, ln.Addr()
		tlsOn := l.TLS != nil
		a.logger.Info("listening", "listener", li.name, "network", ln.Addr().Network(), "addr", ln.Addr().String(),
			"tls", tlsOn, "anonymous", l.Anonymous)
		wg.Go(func() {
			ln := newFirstByteListener(ln, srv.IdleTimeout) // srv.Serve closes it
			var err error
			if tlsOn {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving %s: %w", li.name, err)
			}
		})
	}
	var adminSrv *http.Server
	if adminLn != nil {
		adminSrv = &http.Server{
			Handler:           a.admin,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      time.Minute, // pprof profiles take up to 30s by default
			IdleTimeout:       time.Minute,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
		}
		a.logger.Info("admin listening", "addr", adminLn.Addr().String(), "pprof", a.cfg.Admin.Pprof)
		wg.Go(func() {
			if err := adminSrv.Serve(adminLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving admin: %w", err)
			}
		})
		if a.hooks.AdminReady != nil {
			a.hooks.AdminReady(adminLn.Addr())
		}
	}
	if a.hooks.Ready != nil {
		a.hooks.Ready(addrs)
	}
	var serveErr error
	// Reloads run beside the loop, one at a time, so one that waits on an
	// identity provider never delays a shutdown; the drain waits for it.
	var reloads sync.WaitGroup
	var reloadMu sync.Mutex
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-errc:
			break loop
		case <-a.reloadc:
			reloads.Go(func() {
				reloadMu.Lock()
				defer reloadMu.Unlock()
				if ctx.Err() != nil {
					return // queued behind a slow reload when shutdown began: moot
				}
				_ = a.reload(a.load) // logged; a refused reload changes nothing
			})
		}
	}
	a.admin.SetDraining()
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
	reloads.Wait()
	if adminSrv != nil {
		// /readyz answered 503 for the whole drain; now the admin goes too.
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		if adminSrv.Shutdown(actx) != nil {
			adminSrv.Close()
		}
		acancel()
	}
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
// SIGHUP reloads the configuration file (auth and policy) while it runs.
func serveWith(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, hooks appHooks) (err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `file` (YAML)")
	adminAddr := fs.String("admin-addr", "", "admin listener `address` (host:port), overriding admin.address")
	const usage = "usage: ossproxy serve --config FILE [--admin-addr HOST:PORT]"
	if done, err := parseFlags(fs, args, usage); done {
		return err
	}
	if *path == "" {
		return usageError{usage}
	}
	load := func() (*config.Config, error) {
		cfg, err := config.Load(*path, config.Options{Getenv: getenv})
		if err != nil {
			return nil, err
		}
		if *adminAddr != "" {
			// Validated like admin.address: a copy with the flag's value.
			cfg.Admin.Address, cfg.Admin.Disabled = *adminAddr, false
			if err := cfg.ValidateAdmin(); err != nil {
				return nil, fmt.Errorf("--admin-addr: %w", err)
			}
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	// The log buffer (logging.flush_interval) is written out last, after
	// the final records of the shutdown; a write error fails the exit.
	logOut, closeLog := newLogOutput(stderr, cfg.Logging)
	defer func() { err = errors.Join(err, closeLog()) }()
	logger := newLogger(logOut, cfg.Logging)
	home := getenv("HOME")
	// SIGHUP only while serving; the channel is this call's own.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	a, err := newApp(ctx, cfg, appDeps{getenv: getenv, homeDir: home, logger: logger, hooks: hooks, reload: reload, load: load})
	if err != nil {
		return err
	}
	defer a.close()
	fwdCtx, stopFwd := context.WithCancel(ctx)
	defer stopFwd()
	go func() {
		for {
			select {
			case <-fwdCtx.Done():
				return
			case <-hup:
			case <-hooks.Reload:
			}
			select {
			case reload <- struct{}{}:
			case <-fwdCtx.Done():
				return
			}
		}
	}()
	logger.Info("starting ossproxy", "version", version, "config", cfg.File,
		"buckets", len(cfg.Proxy.Buckets), "credentials", cfg.Credentials.Source)
	return a.serve(ctx)
}
