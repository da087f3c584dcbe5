package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestFaultFirstRequestAfterReadHeader: a new connection's wait for its
// first request is idle time, as between keep-alive requests. A client
// that sends its first request later than read_header after connecting
// (a busy client, or a connection an http.Transport dialed ahead) is
// served; it used to find the connection silently closed, and Go's client,
// which retries only on reused connections, failed with EOF
// (TestFaultThousandConnections under load). A connection that never
// sends anything is closed after idle; dribbled headers are still cut by
// read_header (TestFaultSlowClients).
func TestFaultFirstRequestAfterReadHeader(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true, timeouts: "{read_header: 300ms, idle: 2s}"})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "late", bytes.NewReader([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		return c
	}

	c := dial()
	time.Sleep(900 * time.Millisecond) // 3× read_header, under idle
	br := bufio.NewReader(c)
	for i := range 2 { // the first request, then one on the kept-alive connection
		if _, err := io.WriteString(c, "GET /data/late HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d sent 900ms after connecting (read_header 300ms): %v", i, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(b) != "hello" {
			t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, b, err)
		}
	}

	silent := dial()
	start := time.Now()
	if n, err := silent.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("silent connection: read %d, %v; want EOF", n, err)
	}
	if d := time.Since(start); d < 1500*time.Millisecond || d > 6*time.Second {
		t.Fatalf("silent connection closed after %v; want about idle (2s)", d)
	}
}
