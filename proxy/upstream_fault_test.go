package proxy_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/e2etest/wire"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// faultProxy serves a Handler for bucket "data" at endpoint that lets
// every caller do everything, signing with creds and sending through up.
func faultProxy(t *testing.T, endpoint, region string, creds signer.Credentials, up http.RoundTripper) string {
	t.Helper()
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{{Name: "data", Endpoint: endpoint, Region: region, AllowInsecureHTTP: true}}}
	h, err := proxy.New(proxy.Options{
		Config:        cfg,
		Authenticator: wire.Anyone("tester", "test"),
		Authorizer:    wire.AllowAll(),
		Credentials:   wire.Static(creds),
		Signer:        proxy.NewOSSSigner(cfg),
		Upstream:      up,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// settle waits until the number of goroutines is back to at most n; the
// 30 s bound is only a hang guard.
func settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFaultUpstreamHang: OSS accepts the request and never answers. The
// upstream response-header timeout turns it into a 504 GatewayTimeout
// OSS XML error, the emulator's handler is released (the proxy closed
// the connection), and the goroutines of the request are freed.
func TestFaultUpstreamHang(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	up := proxy.NewUpstreamTransport()
	up.ResponseHeaderTimeout = 300 * time.Millisecond
	t.Cleanup(up.CloseIdleConnections)
	url := faultProxy(t, cloud.OSSURL, cloud.Region,
		signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}, up)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	get := func() (*http.Response, string) {
		resp, err := client.Get(url + "/data/k")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	get() // warm the pools: the baseline includes idle connections
	client.CloseIdleConnections()
	up.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	inj := cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Hang: true})
	for range 5 {
		start := time.Now()
		resp, body := get()
		if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "<Code>GatewayTimeout</Code>") ||
			resp.Header.Get("Content-Type") != "application/xml" {
			t.Fatalf("got %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		// The configured 300ms, not the 2-minute default, with room for
		// a loaded machine.
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("504 after %v", d)
		}
	}
	if inj.Fired() != 5 {
		t.Fatalf("fault fired %d times", inj.Fired())
	}
	inj.Remove()
	client.CloseIdleConnections()
	up.CloseIdleConnections()
	settle(t, baseline)
}

// TestFaultUpstreamResetChunked: an upstream that answers chunked and
// resets the connection before the last chunk. The proxy's client must
// not see a terminating chunk: its body read fails.
func TestFaultUpstreamResetChunked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
				for range 8 {
					_, _ = io.WriteString(c, "400\r\n"+strings.Repeat("x", 0x400)+"\r\n")
				}
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST, not FIN
				}
			}()
		}
	}()
	url := faultProxy(t, "http://"+ln.Addr().String(), "cn-hangzhou", signer.Credentials{AccessKeyID: "id", AccessKeySecret: "secret"}, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "GET /data/?list-type=2 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("status %d, transfer encoding %v", resp.StatusCode, resp.TransferEncoding)
	}
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes, ended with %v; want an unexpected EOF (no terminating chunk)", len(b), err)
	}
	if len(b) > 8*0x400 {
		t.Fatalf("read %d bytes", len(b))
	}
}
