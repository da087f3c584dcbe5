package proxy

import (
	"net"
	"net/http"
	"testing"
	"time"
)

func TestNewUpstreamTransportTimeouts(t *testing.T) {
	tests := []struct {
		name                  string
		in                    UpstreamTimeouts
		handshake, respHeader time.Duration
	}{
		{"defaults", UpstreamTimeouts{}, DefaultUpstreamTLSHandshakeTimeout, DefaultUpstreamResponseHeaderTimeout},
		{"negative means default", UpstreamTimeouts{TLSHandshake: -1, ResponseHeader: -1}, DefaultUpstreamTLSHandshakeTimeout, DefaultUpstreamResponseHeaderTimeout},
		{"set", UpstreamTimeouts{Dial: time.Second, TLSHandshake: 2 * time.Second, ResponseHeader: 3 * time.Second}, 2 * time.Second, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewUpstreamTransportTimeouts(tc.in)
			if tr.TLSHandshakeTimeout != tc.handshake || tr.ResponseHeaderTimeout != tc.respHeader {
				t.Fatalf("handshake %v, response header %v; want %v, %v", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tc.handshake, tc.respHeader)
			}
		})
	}
	if tr := NewUpstreamTransport(); tr.ResponseHeaderTimeout != DefaultUpstreamResponseHeaderTimeout {
		t.Fatalf("NewUpstreamTransport response header timeout %v", tr.ResponseHeaderTimeout)
	}
}

// TestUpstreamTLSHandshakeTimeout: an endpoint that accepts TCP but never
// speaks TLS is given up after the configured handshake timeout.
func TestUpstreamTLSHandshakeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the listener closes
		}
	}()
	tr := NewUpstreamTransportTimeouts(UpstreamTimeouts{TLSHandshake: 200 * time.Millisecond})
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+ln.Addr().String()+"/", nil)
	start := time.Now()
	_, err = tr.RoundTrip(req)
	d := time.Since(start)
	if err == nil {
		t.Fatal("handshake with a silent endpoint succeeded")
	}
	// At least the configured 200ms, and well before the 10 s default
	// even on a loaded machine.
	if d < 150*time.Millisecond || d >= DefaultUpstreamTLSHandshakeTimeout {
		t.Fatalf("gave up after %v (%v), want about 200ms", d, err)
	}
}
