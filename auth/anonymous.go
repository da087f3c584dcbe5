package auth

import (
	"context"
	"net"
	"net/http"
	"net/netip"
)

// AnonymousConfig enables unauthenticated access for sidecars on a local
// listener. The zero value disables it.
type AnonymousConfig struct {
	// Enabled must be true for anonymous access to be considered at all.
	Enabled bool `yaml:"enabled"`
	// Principal is the anonymous principal's Name (default "anonymous").
	Principal string `yaml:"principal"`
	// Groups are given to the anonymous principal.
	Groups []string `yaml:"groups"`
}

// LocalAddr reports whether addr is a loopback IP address or a unix
// socket, the only listeners on which anonymous access may be enabled.
// A nil addr is not local. Config validation calls it with the listener's
// address; Authenticate calls it with the request's local address.
func LocalAddr(addr net.Addr) bool {
	switch a := addr.(type) {
	case nil:
		return false
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	switch addr.Network() {
	case "unix", "unixpacket":
		return true
	case "tcp", "tcp4", "tcp6":
		return LocalListenAddr(addr.Network(), addr.String())
	}
	return false
}

// LocalListenAddr is [LocalAddr] for a listen address as written in config,
// e.g. ("tcp", "127.0.0.1:8080"), ("tcp", "[::1]:80"), ("tcp",
// "localhost:8080") or ("unix", "/run/ossproxy.sock"). A host that is empty
// (all interfaces) or not a loopback literal is not local.
func LocalListenAddr(network, address string) bool {
	switch network {
	case "unix", "unixpacket":
		return address != ""
	case "tcp", "tcp4", "tcp6":
	default:
		return false
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// requestIsLocal reports whether the request arrived on a local listener,
// using the address net/http stores under http.LocalAddrContextKey.
func requestIsLocal(ctx context.Context) bool {
	addr, _ := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	return LocalAddr(addr)
}
