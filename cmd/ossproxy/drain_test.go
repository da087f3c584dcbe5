package main

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/golang-jwt/jwt/v5"
)

// drainSize is the upload TestServeSignalsRealBinary drains on SIGTERM.
const drainSize = 500 << 20

// gatedReader passes r through until gateAt bytes were read, then signals
// reached and blocks until open is closed: the test decides when the rest
// of the body flows.
type gatedReader struct {
	r       io.Reader
	n       int64
	gateAt  int64
	once    sync.Once
	reached chan struct{}
	open    chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.n >= g.gateAt {
		g.once.Do(func() { close(g.reached) })
		<-g.open
	} else if rest := g.gateAt - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// TestServeSignalsRealBinary runs the built binary: `ossproxy emulator`
// and `ossproxy serve` as child processes. SIGHUP with a broken file is
// refused (logged with file:line) and the proxy keeps serving; SIGHUP with
// a good file that grants delete puts it in force for the next requests
// (DELETE: 403 before, 204 after, and it stays so). Then a 500
// MiB upload, from a seeded PRNG, is held mid-body while the proxy gets
// SIGTERM: /readyz turns 503, new connections are refused, the upload
// completes with the right sha256 at the emulator, and serve exits 0.
func TestServeSignalsRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and streams 500 MiB")
	}
	bin, dir, info := startRealEmulator(t, "drain")

	cfg := realServeConfig(info, "drain", "limits:\n  shutdown_grace: 2m\n")
	srv := startRealServe(t, bin, dir, cfg, info)
	cfgPath, proxyURL, adminURL := srv.cfg, srv.url, srv.adminURL(t)
	proxyAddr := srv.addr()
	token := mint(t, jwt.MapClaims{"sub": "drain"})
	ready := func() (int, string) {
		resp, err := http.Get(adminURL + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if !waitFor(func() bool { code, _ := ready(); return code == 200 }) {
		code, body := ready()
		t.Fatalf("/readyz: %d %s", code, body)
	}

	// SIGHUP, the real signal, with a broken file: refused, still serving.
	bad := strings.Replace(cfg, "actions: [read, write]", "actions: [read, fly]", 1)
	badLine := 1 + strings.Count(bad[:strings.Index(bad, "fly")], "\n")
	if err := os.WriteFile(cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	const refused = "configuration reload refused; the running configuration stays in force"
	srv.waitLog(t, refused, 0)
	if e := srv.logs.records(refused)[0]["error"].(string); !strings.Contains(e, cfgPath+":"+strconv.Itoa(badLine)+":") {
		t.Fatalf("refusal %q does not name line %d", e, badLine)
	}
	if code, b := do(t, "PUT", proxyURL+"/drain/small.txt", token, strings.NewReader("still serving")); code != 200 {
		t.Fatalf("PUT after the refused reload: %d %s", code, b)
	}

	// SIGHUP with a good file whose policy grants delete, which the
	// running one denies: the next request follows the new policy, and
	// later ones keep following it.
	if code, b := do(t, "DELETE", proxyURL+"/drain/small.txt", token, nil); code != 403 || errorCode(string(b)) != "AccessDenied" {
		t.Fatalf("DELETE before the reload: %d %s, want 403 AccessDenied", code, b)
	}
	grown := strings.Replace(cfg, "actions: [read, write]", "actions: [read, write, delete]", 1)
	if grown == cfg {
		t.Fatal("the policy line to change is not in the configuration")
	}
	if err := os.WriteFile(cfgPath, []byte(grown), 0o600); err != nil {
		t.Fatal(err)
	}
	reloaded := len(srv.logs.records("configuration reloaded"))
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var code int
	var body []byte
	if !waitFor(func() bool {
		code, body = do(t, "DELETE", proxyURL+"/drain/small.txt", token, nil)
		return code != 403
	}) || code != 204 {
		t.Fatalf("DELETE after SIGHUP granted delete: %d %s, want 204", code, body)
	}
	srv.waitLog(t, "configuration reloaded", reloaded)
	for i := range 3 {
		key := proxyURL + "/drain/after-reload-" + strconv.Itoa(i)
		if code, b := do(t, "PUT", key, token, strings.NewReader("x")); code != 200 {
			t.Fatalf("PUT %d after the reload: %d %s", i, code, b)
		}
		if code, b := do(t, "DELETE", key, token, nil); code != 204 {
			t.Fatalf("DELETE %d after the reload: %d %s, want 204 (the new policy stays in force)", i, code, b)
		}
		if code, _ := do(t, "GET", key, token, nil); code != 404 {
			t.Fatalf("GET %d after its DELETE: %d, want 404", i, code)
		}
	}
	if n := len(srv.logs.records(refused)); n != 1 {
		t.Fatalf("%d refused reloads, want only the broken file's", n)
	}

	// The upload, held after 64 MiB.
	upHash := sha256.New()
	gate := &gatedReader{
		r:      io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{7, 7, 7}), drainSize), upHash),
		gateAt: 64 << 20, reached: make(chan struct{}), open: make(chan struct{}),
	}
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", proxyURL+"/drain/big.bin", io.NopCloser(gate))
	req.ContentLength = drainSize
	req.Header.Set("Authorization", "Bearer "+token)
	type result struct {
		code int
		body string
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err, at: time.Now()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{code: resp.StatusCode, body: string(b), at: time.Now()}
	}()
	select {
	case <-gate.reached:
	case r := <-done:
		t.Fatalf("upload ended before the gate: %+v", r)
	case <-time.After(time.Minute):
		t.Fatal("upload did not reach 64 MiB")
	}
	start := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// /readyz turns 503 while the upload drains.
	if !waitFor(func() bool { code, body := ready(); return code == 503 && strings.Contains(body, "shutdown") }) {
		code, body := ready()
		t.Fatalf("/readyz during the drain: %d %s", code, body)
	}
	if !waitFor(func() bool {
		c, err := net.DialTimeout("tcp", proxyAddr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	}) {
		t.Error("new connections still accepted during the drain")
	}
	select {
	case <-srv.exited:
		t.Fatalf("serve exited (%v) before the upload finished", srv.waitErr)
	default:
	}
	close(gate.open)
	r := <-done
	if r.err != nil || r.code != 200 {
		t.Fatalf("drained upload: %d %s %v", r.code, r.body, r.err)
	}
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after the drain")
	}
	exitAt := time.Now()
	if srv.waitErr != nil || srv.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("serve exit after SIGTERM: %v (code %d)", srv.waitErr, srv.cmd.ProcessState.ExitCode())
	}
	t.Logf("SIGTERM at 64 MiB; the upload's remaining %d MiB drained, answered %s after the signal; exit 0 %s after it",
		(drainSize-(64<<20))>>20, r.at.Sub(start).Round(time.Millisecond), exitAt.Sub(start).Round(time.Millisecond))

	// The object, read from the emulator directly with its own key.
	c := oss.NewClient(oss.LoadDefaultConfig().WithRegion(info.Region).WithEndpoint(info.OSSEndpoint).WithRetryMaxAttempts(1).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(info.AccessKeyID, info.AccessKeySecret)))
	obj, err := c.GetObject(t.Context(), &oss.GetObjectRequest{Bucket: oss.Ptr("drain"), Key: oss.Ptr("big.bin")})
	if err != nil {
		t.Fatalf("GetObject from the emulator: %v", err)
	}
	downHash := sha256.New()
	n, err := io.Copy(downHash, obj.Body)
	obj.Body.Close()
	if err != nil || n != drainSize {
		t.Fatalf("GetObject: %d bytes, %v", n, err)
	}
	if string(downHash.Sum(nil)) != string(upHash.Sum(nil)) {
		t.Fatal("the object at the emulator differs from the upload (sha256)")
	}
}
