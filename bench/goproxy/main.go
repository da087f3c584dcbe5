// Command goproxy is configuration G of bench/run.sh: the floor of a Go
// reverse proxy on this machine. It is a bare httputil.ReverseProxy
// (Rewrite + SetURL) over the same tuned http.Transport ossproxy uses
// (proxy.NewUpstreamTransport), with its pooled 32 KiB copy buffer
// (proxy.NewBufferPool) and ossproxy's default http.Server timeouts and
// header limit; it does no authentication, signing, logging or metrics. Whatever ossproxy costs
// beyond G is ossproxy's own; what G costs beyond nginx is net/http's.
//
//	goproxy -addr 127.0.0.1:8081 -upstream http://127.0.0.1:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/proxy"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `address`")
	upstream := flag.String("upstream", "", "upstream base `URL` (http://host:port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *upstream); err != nil {
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("parsing -upstream %q: want http://host:port", upstream)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport:  proxy.NewUpstreamTransport(),
		BufferPool: proxy.NewBufferPool(),
	}
	var l config.Listener // ossproxy's defaults for a listener with no settings
	srv := &http.Server{
		Handler:           rp,
		ReadHeaderTimeout: l.Timeouts.ReadHeaderOrDefault(),
		IdleTimeout:       l.Timeouts.IdleOrDefault(),
		MaxHeaderBytes:    l.MaxHeaderBytesOrDefault(),
		ErrorLog:          slog.NewLogLogger(slog.NewTextHandler(os.Stderr, nil), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
