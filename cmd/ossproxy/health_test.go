package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ossproxy/ossproxy/admin"
)

func TestHealth(t *testing.T) {
	notReady := new(admin.Flag)
	h, err := admin.New(admin.Options{Checks: []admin.Check{{Name: "config", Checker: notReady}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	closed := boundNotListening(t)
	tests := []struct {
		name    string
		args    []string
		env     string
		exit    int
		stdout  string
		stderr  string
		wantErr error
	}{
		{"healthz", []string{"health", "--addr", addr}, "", 0, "ok\n", "", nil},
		{"listen form", []string{"health", "--addr", ":" + port}, "", 0, "ok\n", "", nil},
		{"url form", []string{"health", "--addr", srv.URL + "/"}, "", 0, "ok\n", "", nil},
		{"env", []string{"health"}, addr, 0, "ok\n", "", nil},
		{"quiet", []string{"health", "-q", "--addr", addr}, "", 0, "", "", nil},
		{"not ready", []string{"health", "--ready", "--addr", addr}, "", 1, "", "[-]config failed", errUnhealthy},
		{"nothing listening", []string{"health", "--addr", closed}, "", 1, "", "", errUnhealthy},
		{"bad address", []string{"health", "--addr", "localhost"}, "", 2, "", "", nil},
		{"bad flag", []string{"health", "--nope"}, "", 2, "", "flag provided but not defined", nil},
		{"argument", []string{"health", "extra"}, "", 2, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string {
				if k == "OSSPROXY_ADMIN_ADDR" {
					return tc.env
				}
				return ""
			}
			err := run(context.Background(), tc.args, getenv, &stdout, &stderr)
			exit := 0
			if err != nil {
				exit = exitCode(err)
			}
			if exit != tc.exit || stdout.String() != tc.stdout || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d (%v), stdout %q, stderr %q", exit, err, stdout.String(), stderr.String())
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
	notReady.Set(true)
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"health", "--ready", "--addr", addr}, func(string) string { return "" }, &stdout, &stdout); err != nil ||
		!strings.Contains(stdout.String(), "readyz check passed") {
		t.Errorf("ready: %v %q", err, stdout.String())
	}
}

// boundNotListening returns a loopback TCP address bound by a socket that
// never listens, kept until the test ends: connecting to it is refused,
// and no other process can take the port meanwhile (as it could between
// closing a listener and using its address).
func boundNotListening(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

func FuzzHealthURL(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9090", ":9090", "0.0.0.0:1", "[::]:9090", "http://localhost:9090/", "localhost", "", "[::1", "a:b:c"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, addr string, ready bool) {
		u, err := healthURL(addr, ready)
		if err != nil {
			return
		}
		p, perr := url.Parse(u)
		want := "/healthz"
		if ready {
			want = "/readyz"
		}
		if perr != nil || p.Scheme != "http" || p.Host == "" || p.Path != want || p.Port() == "" {
			t.Fatalf("healthURL(%q) = %q (%v)", addr, u, perr)
		}
	})
}
