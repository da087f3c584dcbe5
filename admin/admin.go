package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultAddr is where the admin listener should listen unless configured:
// loopback only, never the proxy's port.
const DefaultAddr = "127.0.0.1:9090"

// Errors.
var (
	// ErrInvalidCheck is returned by New for a check without a name or a
	// Checker, or a name used twice.
	ErrInvalidCheck = errors.New("admin: invalid check")
	// ErrNotReady is what the built-in checks return while they fail.
	ErrNotReady = errors.New("not ready")
	// ErrDraining is the error of the "shutdown" check once SetDraining
	// was called.
	ErrDraining = errors.New("shutting down")
)

// Checker is one readiness condition. Check returns nil when it holds.
// It must be cheap, honour ctx and be safe for concurrent use; its error
// text is shown on /readyz, so it must not contain secrets.
type Checker interface {
	Check(ctx context.Context) error
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context) error

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

// Check is a named readiness condition, e.g. "config", "credentials",
// "jwks".
type Check struct {
	Name    string
	Checker Checker
}

// Options configure the admin Handler.
type Options struct {
	// Gatherer is served on /metrics in the Prometheus formats. Nil means
	// /metrics answers 404.
	Gatherer prometheus.Gatherer
	// Checks are the readiness conditions of /readyz, reported in this
	// order after the built-in "shutdown" check. Names must be unique,
	// non-empty and not "shutdown".
	Checks []Check
	// Pprof mounts net/http/pprof under /debug/pprof/ (on this handler's
	// own mux, never http.DefaultServeMux). Off by default: profiles show
	// memory contents and cost CPU.
	Pprof bool
	// CheckTimeout bounds each readiness check (0: 2s).
	CheckTimeout time.Duration
	// Logger receives /metrics encoding errors; nil discards.
	Logger *slog.Logger
}

// Handler serves the admin endpoints:
//
//	GET /healthz        liveness: 200 "ok" while the process serves HTTP; no check runs, nothing upstream is called
//	GET /readyz         readiness: 200 when every check passes, else 503 naming each failed check;
//	                    text by default, JSON with ?format=json or Accept: application/json
//	GET /metrics        Prometheus metrics from Options.Gatherer
//	    /debug/pprof/…  only with Options.Pprof
//
// Anything else is 404. Handler is safe for concurrent use.
type Handler struct {
	mux      *http.ServeMux
	checks   []Check
	timeout  time.Duration
	draining atomic.Bool
}

var _ http.Handler = (*Handler)(nil)

// New validates o and returns the admin handler.
func New(o Options) (*Handler, error) {
	h := &Handler{mux: http.NewServeMux(), timeout: o.CheckTimeout}
	if h.timeout <= 0 {
		h.timeout = 2 * time.Second
	}
	h.checks = append(h.checks, Check{Name: "shutdown", Checker: CheckerFunc(func(context.Context) error {
		if h.draining.Load() {
			return ErrDraining
		}
		return nil
	})})
	seen := map[string]bool{"shutdown": true}
	for _, c := range o.Checks {
		if c.Name == "" || c.Checker == nil || seen[c.Name] || strings.ContainsAny(c.Name, " \n\r\t") {
			return nil, fmt.Errorf("creating admin handler: %w: %q", ErrInvalidCheck, c.Name)
		}
		seen[c.Name] = true
		h.checks = append(h.checks, c)
	}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if o.Gatherer != nil {
		log := o.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		h.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
			ErrorHandling:     promhttp.ContinueOnError,
			EnableOpenMetrics: true,
		}))
	}
	if o.Pprof {
		h.mux.HandleFunc("/debug/pprof/", pprof.Index) // named profiles: heap, goroutine, allocs, block, mutex…
		h.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		h.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		h.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		h.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// SetDraining makes /readyz fail from now on (check "shutdown"), so load
// balancers stop sending traffic while the proxy drains. Call it when
// shutdown begins, before http.Server.Shutdown; /healthz stays 200.
func (h *Handler) SetDraining() { h.draining.Store(true) }

// Draining reports whether SetDraining was called.
func (h *Handler) Draining() bool { return h.draining.Load() }

// Result is the outcome of one readiness check.
type Result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Ready runs every check concurrently, each bounded by the check
// timeout, and returns their results in order and whether all passed.
func (h *Handler) Ready(ctx context.Context) ([]Result, bool) {
	res := make([]Result, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, h.timeout)
			defer cancel()
			res[i] = Result{Name: c.Name, OK: true}
			if err := c.Checker.Check(cctx); err != nil {
				res[i] = Result{Name: c.Name, Error: err.Error()}
			}
		})
	}
	wg.Wait()
	ok := true
	for _, r := range res {
		ok = ok && r.OK
	}
	return res, ok
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	res, ok := h.Ready(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		doc := struct {
			Status string   `json:"status"`
			Checks []Result `json:"checks"`
		}{"ready", res}
		if !ok {
			doc.Status = "unready"
		}
		_ = json.NewEncoder(w).Encode(doc)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	var b strings.Builder
	for _, c := range res {
		if c.OK {
			fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
		} else {
			fmt.Fprintf(&b, "[-]%s failed: %s\n", c.Name, strings.ReplaceAll(c.Error, "\n", " "))
		}
	}
	if ok {
		b.WriteString("readyz check passed\n")
	} else {
		b.WriteString("readyz check failed\n")
	}
	_, _ = w.Write([]byte(b.String()))
}
