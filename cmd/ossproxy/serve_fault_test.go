package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/ossproxy/ossproxy/osstest"
)

// This file is the fault matrix of SECURITY.md: a real `ossproxy serve`
// listener in front of osstest with injected faults (STS down, slow or
// answering garbage; OSS resets, 5xx and hangs; JWKS down; clients that
// disconnect, dribble or pile up). Each fault is survived, or refused with
// a clear error, with no data lost and nothing half-written passed off as
// complete.

// leakCheck fails t if goroutines started during the test outlive it and
// everything it started (serve, the emulator). Call it first: cleanups run
// last-in first-out, so its check runs after theirs.
func leakCheck(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore,
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
	})
}

// getStatus is send of a GET, with the body as a string.
func getStatus(ctx context.Context, url, tok string) (int, string, error) {
	code, b, err := send(ctx, "GET", url, tok, nil)
	return code, string(b), err
}

// TestFaultSTSUnreachableAtStart: STS resets every connection while serve
// starts. Serving starts anyway, /readyz on the admin listener is 503
// naming the credentials check, requests get 503 ServiceUnavailable
// without reaching OSS, and once STS answers again the proxy heals by
// itself and /readyz is 200. (TestServeSTSUnavailableAtStart covers STS
// answering 503.)
func TestFaultSTSUnreachableAtStart(t *testing.T) {
	leakCheck(t)
	cloud := newCloud(t)
	outage := cloud.Faults.Add(osstest.EndpointSTS, osstest.Fault{Reset: true})
	adminAddr := make(chan net.Addr, 1)
	s := startServe(t, serveOpts{hardened: true, cloud: cloud, credentials: retryingAssumeRole(cloud),
		hooks: &appHooks{AdminReady: func(a net.Addr) { adminAddr <- a }}})
	var readyz string
	select {
	case a := <-adminAddr:
		readyz = "http://" + a.String() + "/readyz?format=json"
	case <-time.After(pollLimit):
		t.Fatal("no admin listener")
	}
	// ready returns /readyz's status and the names of its failed checks.
	ready := func() (int, []string) {
		resp, err := http.Get(readyz)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Checks []struct {
				Name string `json:"name"`
				OK   bool   `json:"ok"`
			} `json:"checks"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
			t.Fatalf("/readyz: %v", err)
		}
		var failed []string
		for _, c := range doc.Checks {
			if !c.OK {
				failed = append(failed, c.Name)
			}
		}
		return resp.StatusCode, failed
	}
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	s.waitLog(t, "refreshing credentials failed", 1)
	if code, failed := ready(); code != 503 || !slices.Equal(failed, []string{"credentials"}) {
		t.Fatalf("/readyz during the outage: %d, failed checks %v", code, failed)
	}
	code, body, err := getStatus(t.Context(), s.url+"/data/?list-type=2", tok)
	if err != nil || code != 503 || errorCode(body) != "ServiceUnavailable" {
		t.Fatalf("during the outage: %d %s %v", code, body, err)
	}
	if s.upstreamRequests() != 0 {
		t.Fatal("a request went upstream without credentials")
	}
	outage.Remove()
	s.waitLog(t, "credentials refreshed", 0)
	if code, failed := ready(); code != 200 || len(failed) != 0 {
		t.Fatalf("/readyz after STS came back: %d, failed checks %v", code, failed)
	}
	if code, body, err := getStatus(t.Context(), s.url+"/data/?list-type=2", tok); err != nil || code != 200 {
		t.Fatalf("after STS came back: %d %s %v", code, body, err)
	}
}

// TestFaultSTSMidRun: while valid credentials are cached, STS goes down
// (503), resets connections, answers slowly, and answers garbage, each
// across at least one background refresh. Requests keep flowing
// throughout with zero failures.
func TestFaultSTSMidRun(t *testing.T) {
	leakCheck(t)
	cloud := newCloud(t)
	// 15-minute credentials refreshed after 0.1% of their life (~0.9s);
	// failed refreshes retry after 100-200ms.
	s := startServe(t, serveOpts{hardened: true, cloud: cloud, credentials: assumeRole(cloud.Role.ARN, cloud.STSEndpoint, `    timeout: 500ms
  duration: 15m
  cache:
    refresh_at: 0.001
    jitter: -1
    timeout: 500ms
    retry_min: 100ms
    retry_max: 200ms
`)})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	s.waitLog(t, "credentials refreshed", 0)
	if err := cloud.OSS.PutObject(t.Context(), "data", "k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				code, body, err := getStatus(ctx, s.url+"/data/k", tok)
				cancel()
				if err != nil || code != 200 || body != "v" {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %q %v", code, body, err))
					continue
				}
				ok.Add(1)
			}
		})
	}
	faults := []struct {
		name  string
		fault osstest.Fault
	}{
		{"down (503)", osstest.Fault{Status: 503}},
		{"connection reset", osstest.Fault{Reset: true}},
		{"slow (past the STS timeout)", osstest.Fault{Delay: 2 * time.Second}},
		{"garbage", osstest.Fault{Malformed: true}},
	}
	for _, f := range faults {
		failures := len(s.logs.records("refreshing credentials failed"))
		inj := cloud.Faults.Add(osstest.EndpointSTS, f.fault)
		s.waitLog(t, "refreshing credentials failed", failures) // a failed refresh under this fault
		inj.Remove()
		refreshed := len(s.logs.records("credentials refreshed"))
		s.waitLog(t, "credentials refreshed", refreshed)
		t.Logf("STS %s: %d failed refreshes so far, %d requests served", f.name, len(s.logs.records("refreshing credentials failed")), ok.Load())
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during STS faults; first: %v", n, n+ok.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Fatal("no request was served")
	}
}

// rawGet sends a GET on a raw connection and returns the response with
// its body read to the end, and the error that ended the body.
func rawGet(t *testing.T, addr, target, tok string) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", target, addr, tok)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response head: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// TestFaultOSSResetMidDownload: OSS resets the connection part-way
// through a body. The client sees an aborted response, never a short body
// passed off as complete: the connection closes before the Content-Length
// is reached. (The emulator always sends a length; the chunked case, where
// the terminating chunk must never come, is
// proxy.TestFaultUpstreamResetChunked.)
func TestFaultOSSResetMidDownload(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	big := randomBytes(1 << 20)
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "big", bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, target string
		resetAfter   int
		chunked      bool
	}{
		{"content-length object", "/data/big", 300 << 10, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Unfaulted first: the complete body and its framing.
			resp, full, err := rawGet(t, s.addr(), tc.target, tok)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("unfaulted: %d %v", resp.StatusCode, err)
			}
			if got := len(resp.TransferEncoding) > 0; got != tc.chunked {
				t.Fatalf("chunked = %v, want %v (Content-Length %d)", got, tc.chunked, resp.ContentLength)
			}
			inj := s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Reset: true, ResetAfter: tc.resetAfter, Times: 1})
			resp, got, err := rawGet(t, s.addr(), tc.target, tok)
			if inj.Fired() != 1 {
				t.Fatalf("fault fired %d times", inj.Fired())
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if err == nil {
				t.Fatalf("a %d-byte body (of %d) ended cleanly", len(got), len(full))
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("body ended with %v, want an unexpected EOF", err)
			}
			if len(got) >= len(full) {
				t.Fatalf("read %d bytes of %d", len(got), len(full))
			}
			if !tc.chunked && resp.ContentLength != int64(len(full)) {
				t.Fatalf("Content-Length %d, want %d", resp.ContentLength, len(full))
			}
		})
	}
	if len(s.logs.records("request")) == 0 || !strings.Contains(s.logs.String(), "response aborted") {
		t.Error("the aborted responses are not in the access log")
	}
}

// slowBody yields chunk, then blocks until release is closed, then
// yields rest: an upload that stalls half-way.
type slowBody struct {
	parts   [][]byte
	release chan struct{}
	sent    chan struct{}
	once    sync.Once
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.parts) == 0 {
		return 0, io.EOF
	}
	if len(b.parts) == 1 {
		b.once.Do(func() { close(b.sent) })
		<-b.release
	}
	n := copy(p, b.parts[0])
	b.parts[0] = b.parts[0][n:]
	if len(b.parts[0]) == 0 {
		b.parts = b.parts[1:]
	}
	return n, nil
}

// TestFaultOSSUploadErrors: OSS answers an upload with 5xx, or aborts the
// connection while the body is still streaming. The client gets the
// error, the emulator saw exactly one attempt (a streamed body is not
// replayable, so it is never retried), and no object is committed.
func TestFaultOSSUploadErrors(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	put := func(ctx context.Context, key string, body io.Reader, n int64) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, "PUT", s.url+"/data/"+key, body)
		req.ContentLength = n
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	isPut := func(key string) func(*http.Request) bool {
		return func(r *http.Request) bool { return r.Method == "PUT" && r.URL.Path == "/data/"+key }
	}
	attempts := func(key string) int {
		n := 0
		for _, r := range s.cloud.Recorder.Requests(osstest.EndpointOSS) {
			if r.Method == "PUT" && r.URL == "/data/"+key {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name   string
		status int
		code   string
		length int64 // -1: chunked
	}{
		{"500 with a length", 500, "InternalError", 3 << 20},
		{"503 chunked", 503, "ServiceUnavailable", -1},
		{"502", 502, "", 1 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "up-" + strconv.Itoa(tc.status)
			inj := s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Match: isPut(key), Status: tc.status})
			defer inj.Remove()
			n := tc.length
			if n < 0 {
				n = 1 << 20
			}
			var body io.Reader = bytes.NewReader(randomBytes(int(n)))
			if tc.length < 0 {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			code, resp, err := put(t.Context(), key, body, tc.length)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.status || (tc.code != "" && errorCode(resp) != tc.code) {
				t.Fatalf("got %d %s, want %d %s", code, errorCode(resp), tc.status, tc.code)
			}
			if a := attempts(key); a != 1 {
				t.Fatalf("%d upstream attempts, want 1", a)
			}
			if _, err := s.cloud.OSS.ObjectSHA256("data", key); err == nil {
				t.Fatal("an object was committed")
			}
		})
	}

	t.Run("connection aborted mid-upload", func(t *testing.T) {
		const key = "up-abort"
		inj := s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Match: isPut(key), Hang: true})
		defer inj.Remove()
		body := &slowBody{parts: [][]byte{randomBytes(256 << 10), randomBytes(256 << 10)}, release: make(chan struct{}), sent: make(chan struct{})}
		type result struct {
			code int
			body string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, b, err := put(t.Context(), key, body, 512<<10)
			done <- result{code, b, err}
		}()
		<-body.sent
		if !waitFor(func() bool { return attempts(key) > 0 }) { // the emulator holds the request
			t.Fatal("the upload never reached the emulator")
		}
		// The emulator aborts the connection without a response, as a
		// reset would, while the client goes on sending.
		s.cloud.Faults.Close()
		close(body.release)
		var res result
		select {
		case res = <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("the client never got an answer")
		}
		if res.err == nil && res.code < 500 {
			t.Fatalf("got %d %s, want a 5xx or a broken connection", res.code, res.body)
		}
		if a := attempts(key); a != 1 {
			t.Fatalf("%d upstream attempts, want 1", a)
		}
		if _, err := s.cloud.OSS.ObjectSHA256("data", key); err == nil {
			t.Fatal("an object was committed")
		}
		t.Logf("client saw %d %s %v", res.code, errorCode(res.body), res.err)
	})
}

// TestFaultClientDisconnect: the client goes away mid-upload, while OSS
// hangs, and mid-download. The upstream request is canceled (the partial
// upload is not committed; the hung request ends; the download's access-log
// record ends in an error), and no goroutine outlives the test.
func TestFaultClientDisconnect(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	big := randomBytes(32 << 20) // far more than loopback socket buffers hold
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "big", bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}

	t.Run("mid-upload", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		pr, pw := io.Pipe()
		req, _ := http.NewRequestWithContext(ctx, "PUT", s.url+"/data/partial", pr)
		req.ContentLength = 4 << 20
		req.Header.Set("Authorization", "Bearer "+tok)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		if _, err := pw.Write(randomBytes(1 << 20)); err != nil {
			t.Fatal(err)
		}
		s.upstreamKeyOf(t, "PUT", "/data/partial") // the upload reached the emulator
		logged := len(s.logs.records("request"))
		cancel()
		pw.CloseWithError(context.Canceled)
		if err := <-done; err == nil {
			t.Fatal("the canceled upload succeeded")
		}
		s.waitLog(t, "request", logged)
		if _, err := s.cloud.OSS.ObjectSHA256("data", "partial"); err == nil {
			t.Fatal("the partial upload was committed")
		}
	})

	t.Run("while OSS hangs", func(t *testing.T) {
		inj := s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Hang: true, Match: func(r *http.Request) bool { return r.URL.Path == "/data/hang" }})
		defer inj.Remove()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		logged := len(s.logs.records("request"))
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, _, err := getStatus(ctx, s.url+"/data/hang", tok)
			done <- result{code, err}
		}()
		// The client leaves once OSS holds the request, not after a fixed
		// time a loaded machine may spend before the request gets there.
		if !waitFor(func() bool { return inj.Fired() > 0 }) {
			t.Fatal("the request never reached the emulator")
		}
		cancel()
		if r := <-done; r.err == nil {
			t.Fatalf("a hanging upstream answered %d", r.code)
		}
		s.waitLog(t, "request", logged) // the proxy finished the request: the upstream call was canceled
		if inj.Fired() != 1 {
			t.Fatalf("fault fired %d times", inj.Fired())
		}
	})

	t.Run("mid-download", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/data/big", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 64<<10); err != nil {
			t.Fatal(err)
		}
		logged := len(s.logs.records("request"))
		cancel()
		resp.Body.Close()
		s.waitLog(t, "request", logged)
		rec := s.lastAccess(t)
		if out, _ := rec["bytes_out"].(float64); int(out) >= len(big) {
			t.Fatalf("the proxy sent the whole object (%v bytes) to a client that left", rec["bytes_out"])
		}
		if rec["error"] == nil {
			t.Fatalf("the access log does not record the cancellation: %v", rec)
		}
	})
}

// TestFaultOSSHangUpstreamTimeout: upstream.response_header_timeout
// bounds the wait for a hanging OSS (the default is 2 minutes): the
// client gets 504 GatewayTimeout soon after the configured 500ms, and
// every goroutine the request started (the proxy's and the emulator's
// hung handler, which returns only once the proxy cancels its upstream
// request) is freed while OSS still hangs; none outlives the test.
func TestFaultOSSHangUpstreamTimeout(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true, extraConfig: "upstream:\n  response_header_timeout: 500ms\n  dial_timeout: 2s\n"})
	auth := "Authorization: Bearer " + mint(t, jwt.MapClaims{"sub": "root"})
	// A request that succeeds first: the token is verified and cached and
	// the proxy's upstream connection is open before the snapshot.
	if resp := rawExchange(t, s.addr(), rawRequest("GET", "/data/?list-type=2", s.addr(), []string{auth}, "")); len(resp) != 1 || resp[0].StatusCode != 200 {
		t.Fatalf("before the fault: %+v", resp)
	}
	before := goleak.IgnoreCurrent()
	inj := s.cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Hang: true})
	defer inj.Remove()
	start := time.Now()
	resp := rawExchange(t, s.addr(), rawRequest("GET", "/data/hang", s.addr(), []string{auth}, ""))
	d := time.Since(start)
	if len(resp) != 1 || resp[0].StatusCode != http.StatusGatewayTimeout || errorCode(resp[0].Body) != "GatewayTimeout" {
		t.Fatalf("responses %+v after %v, want one 504 GatewayTimeout", resp, d)
	}
	if d < 450*time.Millisecond || d > 5*time.Second {
		t.Fatalf("504 after %v, want about 500ms", d)
	}
	if inj.Fired() != 1 {
		t.Fatalf("fault fired %d times", inj.Fired())
	}
	// OSS still hangs (the fault stays in force): the goroutines the
	// request started end anyway. goleak.Find retries for a second or so;
	// waitFor gives a loaded machine longer.
	var leaked error
	if !waitFor(func() bool { leaked = goleak.Find(before); return leaked == nil }) {
		t.Fatalf("goroutines outlive the 504 while OSS hangs: %v", leaked)
	}
	t.Logf("504 after %v (response_header_timeout 500ms); the request's goroutines all gone %v later, OSS still hanging",
		d.Round(10*time.Millisecond), time.Since(start.Add(d)).Round(10*time.Millisecond))
}

// TestFaultSlowBodyIdle: with timeouts.body_idle (and no read timeout),
// an upload whose body stalls longer than body_idle is cut: the client,
// still listening, gets 400 RequestTimeout, the upstream request is
// canceled and nothing is committed; an upload that keeps trickling
// within body_idle survives however long it takes in total.
func TestFaultSlowBodyIdle(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true, timeouts: "{read_header: 2s, idle: 10s, body_idle: 1s}"})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	// upload sends the head of a PUT of n bytes, then the body one byte
	// per gap; after stallAfter bytes (when >= 0) it stops sending. It
	// returns the response and when it arrived.
	upload := func(key string, n, stallAfter int, gap time.Duration) (*http.Response, string, time.Duration) {
		c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		head := fmt.Sprintf("PUT /data/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", key, tok, n)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		type answer struct {
			resp *http.Response
			body string
			err  error
		}
		got := make(chan answer, 1)
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				got <- answer{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			got <- answer{resp: resp, body: string(b)}
		}()
		tick := time.NewTicker(gap)
		defer tick.Stop()
		for sent := 0; ; {
			select {
			case a := <-got:
				if a.err != nil {
					t.Fatalf("%s: reading the answer: %v", key, a.err)
				}
				return a.resp, a.body, time.Since(start)
			case <-tick.C:
				if sent < n && (stallAfter < 0 || sent < stallAfter) {
					if _, err := c.Write([]byte{'a' + byte(sent%26)}); err != nil {
						t.Fatalf("%s: writing byte %d: %v", key, sent, err)
					}
					sent++
				}
			}
		}
	}

	t.Run("stalled body is cut", func(t *testing.T) {
		before := s.upstreamRequests()
		resp, body, d := upload("root/stalled", 100, 5, 50*time.Millisecond)
		if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "RequestTimeout" {
			t.Fatalf("got %d %s, want 400 RequestTimeout", resp.StatusCode, body)
		}
		// 5 bytes in 250ms, then 1s of silence.
		if d < time.Second || d > 6*time.Second {
			t.Fatalf("cut after %v, want about 1.25s", d)
		}
		if up := s.upstreamRequests() - before; up != 1 {
			t.Fatalf("%d upstream requests, want the one canceled", up)
		}
		if _, err := s.cloud.OSS.ObjectSHA256("data", "root/stalled"); err == nil {
			t.Fatal("the stalled upload was committed")
		}
		rec := s.lastAccess(t)
		if rec["status"] != float64(400) || !strings.Contains(fmt.Sprint(rec["error"]), "not received in time") {
			t.Fatalf("access log: %v", rec)
		}
		t.Logf("stalled body cut after %v (body_idle 1s)", d.Round(10*time.Millisecond))
	})
	t.Run("stalled before the first byte", func(t *testing.T) {
		resp, body, d := upload("root/silent", 10, 0, 50*time.Millisecond)
		if resp.StatusCode != http.StatusBadRequest || errorCode(body) != "RequestTimeout" || d > 5*time.Second {
			t.Fatalf("got %d %s after %v, want 400 RequestTimeout", resp.StatusCode, body, d)
		}
	})
	t.Run("trickling body survives", func(t *testing.T) {
		// One byte per 150ms: 3s in all, 3 times body_idle; each gap
		// leaves 850ms of slack for a loaded machine's scheduling delays.
		const n = 20
		resp, body, d := upload("root/trickle", n, -1, 150*time.Millisecond)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got %d %s after %v, want 200", resp.StatusCode, body, d)
		}
		if d < 2500*time.Millisecond {
			t.Fatalf("answered after %v, before the whole body was sent", d)
		}
		want := make([]byte, n)
		for i := range want {
			want[i] = 'a' + byte(i%26)
		}
		sum := sha256.Sum256(want)
		if got, err := s.cloud.OSS.ObjectSHA256("data", "root/trickle"); err != nil || got != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored sha256 %s, %v; want %x", got, err, sum)
		}
	})
}

// TestFaultSlowClients: a slowloris client dribbling its headers is cut
// off by the listener's read_header timeout, and a client dribbling its
// body by its read timeout; the cut upload is not committed.
func TestFaultSlowClients(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true, timeouts: "{read_header: 1s, read: 2s, idle: 5s}"})
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	// dribble writes head, then one byte of drip every 100ms, and returns
	// how long the server kept the connection open.
	dribble := func(head, drip string) time.Duration {
		c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, _ = io.Copy(io.Discard, c) // until the server closes
		}()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-closed:
				return time.Since(start)
			case <-tick.C:
				_, _ = io.WriteString(c, drip[i%len(drip):i%len(drip)+1])
			}
		}
	}
	if d := dribble("GET /data/?list-type=2 HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n"); d > 4*time.Second {
		t.Fatalf("slowloris kept for %v", d)
	} else {
		t.Logf("slowloris cut after %v (read_header 1s)", d.Round(10*time.Millisecond))
	}
	head := "PUT /data/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: 100000\r\n\r\n"
	if d := dribble(head, "x"); d > 5*time.Second {
		t.Fatalf("slow body kept for %v", d)
	} else {
		t.Logf("slow body cut after %v (read 2s)", d.Round(10*time.Millisecond))
	}
	if _, err := s.cloud.OSS.ObjectSHA256("data", "slow"); err == nil {
		t.Fatal("the cut upload was committed")
	}
}

// TestFaultJWKSDown: the JWKS endpoint goes down (503), then hangs.
// Tokens signed with a cached key keep working (fresh tokens, not cached
// verifications), and tokens naming an unknown kid get 401 promptly.
func TestFaultJWKSDown(t *testing.T) {
	leakCheck(t)
	s := startServe(t, serveOpts{hardened: true})
	j := s.jwks
	probe := func(tok string) (int, string, time.Duration) {
		start := time.Now()
		code, body, err := getStatus(t.Context(), s.url+"/data/?list-type=2&prefix=alice/", tok)
		if err != nil {
			t.Fatal(err)
		}
		return code, errorCode(body), time.Since(start)
	}
	if code, _, _ := probe(j.sign(t, nil, nil)); code != 200 {
		t.Fatalf("before the outage: %d", code)
	}
	for _, mode := range []struct {
		name string
		mode int32
	}{{"down", jwksDown}, {"hanging", jwksHang}} {
		t.Run(mode.name, func(t *testing.T) {
			j.mode.Store(mode.mode)
			for i := range 3 {
				tok := j.sign(t, jwt.MapClaims{"jti": fmt.Sprint(mode.name, i)}, nil)
				if code, _, _ := probe(tok); code != 200 {
					t.Fatalf("a token signed with the cached key: %d", code)
				}
				unknown := j.sign(t, jwt.MapClaims{"jti": fmt.Sprint(mode.name, i)}, map[string]any{"kid": fmt.Sprint("rotated-", mode.name, i)})
				code, ec, d := probe(unknown)
				if code != 401 || ec != "InvalidToken.UnknownKeyId" {
					t.Fatalf("unknown kid: %d %s", code, ec)
				}
				// One re-fetch is allowed per minute, bounded by the 1s key
				// lookup timeout; the others fail at once. The bound leaves
				// room for a loaded machine; a lookup without a timeout
				// would hang here until the test's deadline.
				if d > 5*time.Second {
					t.Fatalf("unknown kid answered after %v", d)
				}
				t.Logf("unknown kid #%d: 401 after %v", i, d.Round(time.Millisecond))
			}
		})
	}
	j.mode.Store(jwksUp)
	if s.upstreamRequests() == 0 {
		t.Fatal("no request reached the emulator")
	}
}

// rssBytes is the process's resident set size from /proc (0 elsewhere).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// openConns counts the TCP connections open at 127.0.0.1:port on this
// machine's side that a process holds, from /proc/net/tcp: every socket
// bound to that local address but the listener (state 0A), with an inode
// (a connection still in the accept queue, or one closed and in
// TIME_WAIT, has none). For a listener's port, these are the connections
// the server accepted and has not closed.
func openConns(port int) (int, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/net/tcp: %w", err)
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	// A read racing with connections that open and close may list a
	// socket twice: count inodes.
	inodes := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[1] != local || f[3] == "0A" || f[9] == "0" {
			continue
		}
		inodes[f[9]] = true
	}
	return len(inodes), nil
}

// portOf is the port of a host:port or http://host:port.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ensureFDs makes sure this process may open n file descriptors: it
// raises the soft RLIMIT_NOFILE up to n if it is lower (Go already raises
// it to the hard limit at start-up), and skips t if the hard limit is
// below n.
func ensureFDs(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("needs %d file descriptors; the hard limit (ulimit -Hn) is %d", n, lim.Max)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the soft file-descriptor limit to %d: %v", n, err)
	}
}

// TestFaultThousandConnections holds 1,000 client connections open at
// once on loopback, each its own keep-alive connection sending GETs
// through serve to the emulator, for 10s (OSSPROXY_SOAK=60s for the
// documented 60s run). The server's side of the connections is counted
// from /proc/net/tcp while the load runs, and must reach 1,000 open at
// once. Every request succeeds with the whole body, memory stays bounded
// (heap, RSS and goroutine peaks logged; in-process, they include the
// emulator and the clients), and once the clients hang up the server
// closes every connection and the heap and goroutines come back flat: to
// their level before the load, plus the proxy's bounded pool of idle
// upstream connections. No goroutine outlives the test.
func TestFaultThousandConnections(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts connections from /proc/net/tcp")
	}
	d := 10 * time.Second
	if v := os.Getenv("OSSPROXY_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("OSSPROXY_SOAK: %v", err)
		}
	}
	const conns = 1000
	// Each connection holds a descriptor at the client and at the proxy;
	// the proxy's upstream connections one more at each end.
	ensureFDs(t, 4*conns+1024)
	leakCheck(t)
	// The emulator's request log keeps its last 100 requests, so that its
	// growth (10,000 by default) does not pass for the proxy's.
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data", "other", "secret"}, RecorderSize: 100})
	s := startServe(t, serveOpts{hardened: true, noAccessLog: true, cloud: cloud})
	proxyPort, ossPort := portOf(t, s.url), portOf(t, s.cloud.OSSURL)
	tok := mint(t, jwt.MapClaims{"sub": "root"})
	body := randomBytes(4 << 10)
	if err := s.cloud.OSS.PutObject(t.Context(), "data", "soak", bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	// One transport per client, so each client keeps its own connection:
	// 1,000 clients are 1,000 connections, all open for the whole run.
	trs := make([]*http.Transport, conns)
	clients := make([]*http.Client, conns)
	for i := range trs {
		trs[i] = &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1, IdleConnTimeout: time.Minute}
		clients[i] = &http.Client{Transport: trs[i], Timeout: 30 * time.Second}
	}
	closeAll := func() {
		for _, tr := range trs {
			tr.CloseIdleConnections()
		}
	}
	t.Cleanup(closeAll)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, live0, rss0, g0 := ms.HeapInuse, ms.HeapAlloc, rssBytes(), runtime.NumGoroutine()
	var (
		reqs, fails       atomic.Int64
		firstErr          atomic.Value
		peakHeap, peakRSS atomic.Uint64
		peakG, peakOpen   atomic.Int64
		sampleErr         atomic.Value
	)
	stop := time.Now().Add(d)
	sampler := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampler:
				return
			case <-tick.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			if r := rssBytes(); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
				peakG.Store(g)
			}
			n, err := openConns(proxyPort)
			if err != nil {
				sampleErr.CompareAndSwap(nil, err.Error())
			}
			if int64(n) > peakOpen.Load() {
				peakOpen.Store(int64(n))
			}
		}
	})
	var newConns atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		if !ci.Reused {
			newConns.Add(1)
		}
	}}
	lat := make([][]time.Duration, conns)
	var workers sync.WaitGroup
	for w := range conns {
		workers.Go(func() {
			// At least one request each, however late a loaded machine
			// starts the worker.
			for first := true; first || time.Now().Before(stop); first = false {
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", s.url+"/data/soak", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				start := time.Now()
				resp, err := clients[w].Do(req)
				if err == nil {
					var got []byte
					got, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != 200 || !bytes.Equal(got, body)) {
						err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, len(got))
					}
				}
				lat[w] = append(lat[w], time.Since(start))
				reqs.Add(1)
				if err != nil {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	workers.Wait()
	close(sampler)
	wg.Wait()
	if e := sampleErr.Load(); e != nil {
		t.Fatal(e)
	}
	// A last count, the clients' connections all idle and still open: a
	// sampler tick may have come before the last client's first request.
	if n, err := openConns(proxyPort); err != nil {
		t.Fatal(err)
	} else if int64(n) > peakOpen.Load() {
		peakOpen.Store(int64(n))
	}

	// The clients hang up: the server closes its side of every
	// connection, and the heap and goroutines come back to where they
	// were, but for the proxy's idle upstream connections (at most 256
	// to the emulator, the upstream transport's MaxIdleConnsPerHost; each
	// is 3 goroutines: the proxy's read and write loops and the
	// emulator's connection).
	hungUp := time.Now()
	closeAll()
	var open int
	if !waitFor(func() bool { open, _ = openConns(proxyPort); return open == 0 }) {
		t.Fatalf("%d connections still open at the server after the clients hung up", open)
	}
	var idleUp, gAfter int
	if !waitFor(func() bool {
		idleUp, _ = openConns(ossPort)
		gAfter = runtime.NumGoroutine()
		return gAfter <= g0+3*idleUp+20
	}) {
		t.Fatalf("goroutines not flat after the load: %d, before it %d, idle upstream connections %d", gAfter, g0, idleUp)
	}
	if idleUp > 256 {
		t.Fatalf("%d idle upstream connections, above the pool's bound (256)", idleUp)
	}
	runtime.GC()
	runtime.GC() // the second frees what sync.Pools held through the first
	runtime.ReadMemStats(&ms)
	liveAfter := ms.HeapAlloc

	mib := func(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
	all := slices.Sorted(slices.Values(slices.Concat(lat...)))
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))].Round(time.Millisecond)
	}
	t.Logf("%d clients for %v: peak %d connections open at the server at once (%d opened); %d requests (%.0f/s), %d failed; latency p50 %v p99 %v max %v; heap in use %s → peak %s, live heap %s → %s after; RSS %s → peak %s; goroutines %d → peak %d → %d after (%d idle upstream connections), flat %v after the clients hung up",
		conns, d, peakOpen.Load(), newConns.Load(), reqs.Load(), float64(reqs.Load())/d.Seconds(), fails.Load(), pct(0.5), pct(0.99), pct(1),
		mib(heap0), mib(peakHeap.Load()), mib(live0), mib(liveAfter), mib(rss0), mib(peakRSS.Load()), g0, peakG.Load(), gAfter, idleUp,
		time.Since(hungUp).Round(10*time.Millisecond))
	if n := fails.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, reqs.Load(), firstErr.Load())
	}
	if p := peakOpen.Load(); p < conns {
		t.Fatalf("at most %d connections were open at the server at once, want %d", p, conns)
	}
	// Bounded: the working set of 1,000 connections (proxy, emulator and
	// clients in one process, under -race) stays well under 1 GiB, and
	// the live heap comes back to within 32 MiB of where it started (the
	// idle upstream pool's buffers are a few MiB of that).
	if p := peakHeap.Load(); p > 1<<30 {
		t.Fatalf("heap peaked at %s", mib(p))
	}
	if liveAfter > live0+32<<20 {
		t.Fatalf("live heap not flat after the load: %s before, %s after", mib(live0), mib(liveAfter))
	}
}
