package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// bigSize is streamed up and down by TestBigStreaming.
const bigSize = 4 << 30

// maxProxyMemory bounds the proxy's peak RSS while streaming.
const maxProxyMemory = 64 << 20

// TestBigStreaming builds the real binary, runs `ossproxy emulator` and
// `ossproxy serve` as child processes, and streams 4 GiB through the proxy
// in each direction, hashing as it goes. The proxy's peak RSS (VmHWM) and
// the heap figures it logs on shutdown must stay under 64 MiB.
//
// It runs only with OSSPROXY_BIG=1 (make big, part of make test), without
// -race: it measures throughput and memory.
func TestBigStreaming(t *testing.T) {
	if os.Getenv("OSSPROXY_BIG") != "1" {
		t.Skip("set OSSPROXY_BIG=1 (make big) to stream 4 GiB through the real binary")
	}
	bin, dir, info := startRealEmulator(t, "big")

	// The proxy, with AssumeRole credentials from the emulator's STS.
	srv := startRealServe(t, bin, dir, realServeConfig(info, "big", ""), info)
	proxyURL := srv.url
	token := mint(t, jwt.MapClaims{"sub": "big"})
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }

	// Upload: a seeded PRNG body, hashed on the way out.
	upHash := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), bigSize), upHash)
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", proxyURL+"/big/stream.bin", io.NopCloser(body))
	req.ContentLength = bigSize
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, msg)
	}
	up := time.Since(start)

	// Download, hashed as it arrives.
	req, _ = http.NewRequestWithContext(t.Context(), "GET", proxyURL+"/big/stream.bin", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	start = time.Now()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	downHash := sha256.New()
	n, err := io.Copy(downHash, resp.Body)
	resp.Body.Close()
	if err != nil || n != bigSize || resp.StatusCode != 200 {
		t.Fatalf("download: status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	down := time.Since(start)
	if string(upHash.Sum(nil)) != string(downHash.Sum(nil)) {
		t.Fatal("sha256 of the download differs from the upload")
	}

	hwm, rss := procStatusKB(t, srv.cmd.Process.Pid, "VmHWM"), procStatusKB(t, srv.cmd.Process.Pid, "VmRSS")
	// Stop the proxy as an orchestrator would, and read its heap figures.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.exited:
	case <-time.After(pollLimit):
		t.Fatal("the proxy did not exit after SIGTERM")
	}
	if srv.waitErr != nil {
		t.Errorf("proxy exit after SIGTERM: %v", srv.waitErr)
	}
	var stopped map[string]any
	if recs := srv.logs.records("stopped"); len(recs) > 0 {
		stopped = recs[len(recs)-1]
	}
	heapSys, _ := stopped["heap_sys"].(float64)
	heapInuse, _ := stopped["heap_inuse"].(float64)
	t.Logf("streamed %d MiB up in %s (%.0f MiB/s) and down in %s (%.0f MiB/s), sha256 %x",
		bigSize>>20, up.Round(time.Millisecond), mib(bigSize)/up.Seconds(), down.Round(time.Millisecond), mib(bigSize)/down.Seconds(), upHash.Sum(nil)[:8])
	t.Logf("proxy memory: peak RSS (VmHWM) %.1f MiB, RSS %.1f MiB, heap_sys %.1f MiB, heap_inuse at exit %.1f MiB",
		mib(hwm<<10), mib(rss<<10), mib(int64(heapSys)), mib(int64(heapInuse)))
	if hwm<<10 > maxProxyMemory {
		t.Errorf("proxy peak RSS %.1f MiB exceeds %d MiB", mib(hwm<<10), maxProxyMemory>>20)
	}
	if heapSys == 0 || int64(heapSys) > maxProxyMemory {
		t.Errorf("proxy heap_sys %.1f MiB (want logged and under %d MiB)", mib(int64(heapSys)), maxProxyMemory>>20)
	}
}

// procStatusKB reads a "kB" field of /proc/<pid>/status.
func procStatusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
