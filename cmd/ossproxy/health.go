package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ossproxy/ossproxy/admin"
)

// errUnhealthy is returned by `ossproxy health` when the admin listener
// answers anything but 200 (exit status 1).
var errUnhealthy = errors.New("unhealthy")

// runHealth queries the admin listener's /healthz (or /readyz with
// --ready) and fails unless it answers 200: the Docker HEALTHCHECK and
// exec probes use it, since the runtime image has no curl.
func runHealth(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("OSSPROXY_ADMIN_ADDR")
	if def == "" {
		def = admin.DefaultAddr
	}
	addr := fs.String("addr", def, "admin listener `address` (host:port; a listen address like :9090 means loopback) (env OSSPROXY_ADMIN_ADDR)")
	ready := fs.Bool("ready", false, "query /readyz instead of /healthz")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after `duration`")
	quiet := fs.Bool("q", false, "print nothing on success")
	if done, err := parseFlags(fs, args, ""); done {
		return err
	}
	u, err := healthURL(*addr, *ready)
	if err != nil {
		return usageError{err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return usageError{fmt.Sprintf("health: %v", err)}
	}
	// No proxy from the environment: the admin listener is local.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("querying %s: %w: %w", u, errUnhealthy, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprint(stderr, string(body))
		return fmt.Errorf("querying %s: %w: status %d", u, errUnhealthy, resp.StatusCode)
	}
	if !*quiet {
		_, err = stdout.Write(body)
	}
	return err
}

// healthURL turns an admin address (host:port, :port, or an http URL)
// into the URL of /healthz or /readyz.
func healthURL(addr string, ready bool) (string, error) {
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	if rest, ok := strings.CutPrefix(addr, "http://"); ok {
		addr = strings.TrimSuffix(rest, "/")
	}
	bad := fmt.Errorf("health: admin address %q is not host:port", addr)
	host, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil || n == 0 {
		return "", bad
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	u := "http://" + net.JoinHostPort(host, port) + path
	if p, err := url.Parse(u); err != nil || p.Hostname() != host || p.Port() != port || p.Path != path {
		return "", bad
	}
	return u, nil
}
