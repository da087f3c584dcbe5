package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// lbSink records what a logBuffer writes: each Write call separately. A
// non-nil fail makes writes fail; short makes them write half.
type lbSink struct {
	mu     sync.Mutex
	writes [][]byte
	fail   error
	short  bool
	block  chan struct{} // if not nil, each Write waits until it is closed
}

func (s *lbSink) Write(p []byte) (int, error) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	n := len(p)
	if s.short {
		n /= 2
	}
	s.writes = append(s.writes, bytes.Clone(p[:n]))
	return n, nil
}

func (s *lbSink) all() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.writes, nil)), len(s.writes)
}

func lbRec(i int) []byte { return fmt.Appendf(nil, "record %03d\n", i) } // 11 bytes

func TestLogBufferFlushes(t *testing.T) {
	const interval = time.Second
	tests := []struct {
		name  string
		size  int
		run   func(t *testing.T, b *logBuffer)
		want  string // everything in the sink at the end
		calls int    // its write calls
	}{
		{"after the interval", 1024, func(t *testing.T, b *logBuffer) {
			b.Write(lbRec(1))
			time.Sleep(interval / 2)
			b.Write(lbRec(2))
			synctest.Wait()
			if got, _ := b.w.(*lbSink).all(); got != "" {
				t.Fatalf("written before the interval: %q", got)
			}
			time.Sleep(interval / 2) // the first record's interval is over
			synctest.Wait()
		}, "record 001\nrecord 002\n", 1},
		{"on Flush", 1024, func(t *testing.T, b *logBuffer) {
			b.Write(lbRec(1))
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
		}, "record 001\n", 1},
		{"on Close, then written through", 1024, func(t *testing.T, b *logBuffer) {
			b.Write(lbRec(1))
			b.Write(lbRec(2))
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b.Write(lbRec(3))
		}, "record 001\nrecord 002\nrecord 003\n", 2},
		{"when full: whole records only", 40, func(t *testing.T, b *logBuffer) {
			for i := range 4 { // 3 fit in 40 bytes; the fourth sends them
				b.Write(lbRec(i))
			}
			synctest.Wait()
		}, "record 000\nrecord 001\nrecord 002\n", 1},
		{"a record larger than the buffer, in order", 16, func(t *testing.T, b *logBuffer) {
			b.Write(lbRec(1))
			b.Write(bytes.Repeat([]byte("x"), 20))
			b.Write(lbRec(2))
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
		}, "record 001\nxxxxxxxxxxxxxxxxxxxxrecord 002\n", 3},
		{"nothing buffered: nothing written", 1024, func(t *testing.T, b *logBuffer) {
			time.Sleep(10 * interval)
			if err := b.Flush(); err != nil {
				t.Fatal(err)
			}
		}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := &lbSink{}
				b := newLogBuffer(sink, tc.size, interval)
				defer b.Close()
				tc.run(t, b)
				synctest.Wait()
				if got, calls := sink.all(); got != tc.want || calls != tc.calls {
					t.Errorf("sink got %q in %d writes, want %q in %d", got, calls, tc.want, tc.calls)
				}
			})
		})
	}
}

// TestLogBufferSlowSink: while the sink is stuck on one buffer, records
// still go into the next ones without waiting; only when a buffer is
// being written and another is queued does a Write wait.
func TestLogBufferSlowSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &lbSink{block: make(chan struct{})}
		b := newLogBuffer(sink, 40, time.Second)
		// Records are 11 bytes, 3 to a buffer. Record 3 sends buffer 1
		// (0-2) to the writer, which sticks in the sink; record 6 queues
		// buffer 2 (3-5).
		for i := range 7 {
			b.Write(lbRec(i))
		}
		wrote := make(chan struct{})
		go func() {
			b.Write(lbRec(7)) // buffer 3 (6-8): memory only
			b.Write(lbRec(8))
			close(wrote)
		}()
		synctest.Wait()
		select {
		case <-wrote:
		default:
			t.Fatal("a Write waited for the stuck sink although a buffer was free")
		}
		blocked := make(chan struct{})
		go func() {
			b.Write(lbRec(9)) // buffer 3 is full and cannot queue behind buffer 2
			b.Write(lbRec(10))
			close(blocked)
		}()
		synctest.Wait()
		select {
		case <-blocked:
			t.Fatal("a Write did not wait with three buffers in use (memory unbounded)")
		default:
		}
		close(sink.block) // the disk recovers
		<-blocked
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		for i := range 11 {
			want.Write(lbRec(i))
		}
		if got, _ := sink.all(); got != want.String() {
			t.Errorf("sink got %q, want %q", got, want.String())
		}
	})
}

func TestLogBufferWriteErrors(t *testing.T) {
	errDisk := errors.New("no space left on device")
	tests := []struct {
		name    string
		sink    *lbSink
		wantErr error
		lost    string
	}{
		{"failing write", &lbSink{fail: errDisk}, errDisk, "22 bytes"},
		{"short write", &lbSink{short: true}, io.ErrShortWrite, "11 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newLogBuffer(tc.sink, 1024, time.Second)
				b.Write(lbRec(1))
				b.Write(lbRec(2))
				time.Sleep(time.Second) // the timed flush fails: kept for Flush
				synctest.Wait()
				err := b.Flush()
				if !errors.Is(err, errLogWrite) || !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.lost+" of log records lost") {
					t.Fatalf("Flush: %v, want %v with %s lost", err, tc.wantErr, tc.lost)
				}
				if err := b.Flush(); err != nil {
					t.Errorf("second Flush: %v; the error was already reported", err)
				}
				tc.sink.mu.Lock()
				tc.sink.fail, tc.sink.short = nil, false
				tc.sink.mu.Unlock()
				b.Write(lbRec(3))
				if err := b.Close(); err != nil {
					t.Errorf("Close after the sink recovered: %v", err)
				}
				if got, _ := tc.sink.all(); !strings.HasSuffix(got, string(lbRec(3))) {
					t.Errorf("the sink did not get the record after it recovered: %q", got)
				}
			})
		})
	}
	t.Run("error at Close", func(t *testing.T) {
		b := newLogBuffer(&lbSink{fail: errDisk}, 1024, time.Hour)
		b.Write(lbRec(1))
		if err := b.Close(); !errors.Is(err, errDisk) {
			t.Errorf("Close: %v, want %v", err, errDisk)
		}
	})
}

// TestLogBufferConcurrentRecords: slog records from many goroutines,
// through small buffers flushed as they fill, reach the sink
// whole, each exactly once, in each goroutine's order (run with -race).
func TestLogBufferConcurrentRecords(t *testing.T) {
	const writers, each = 8, 300
	sink := &lbSink{}
	b := newLogBuffer(sink, 1024, time.Hour) // flushed when full: at least 5 records a write
	log := slog.New(slog.NewJSONHandler(b, nil))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				log.Info("request", "writer", w, "seq", i, "pad", strings.Repeat("p", i%97))
			}
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, calls := sink.all()
	next := make([]int, writers)
	sc := bufio.NewScanner(strings.NewReader(got))
	lines := 0
	for sc.Scan() {
		var r struct{ Writer, Seq int }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not a whole record: %q: %v", lines, sc.Text(), err)
		}
		if r.Seq != next[r.Writer] {
			t.Fatalf("writer %d: record %d after %d", r.Writer, r.Seq, next[r.Writer]-1)
		}
		next[r.Writer]++
		lines++
	}
	if lines != writers*each {
		t.Errorf("%d records, want %d", lines, writers*each)
	}
	if calls > lines/4 {
		t.Errorf("%d writes for %d records: not batched", calls, lines)
	}
	t.Logf("%d records in %d writes", lines, calls)
}

// TestServeLogBuffer runs serve with its log going to a file: with a long
// flush_interval the access-log record waits in memory while serving and
// is in the file once serve returns (a clean SIGTERM); with 0s it is
// written at once.
func TestServeLogBuffer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "object body")
	}))
	t.Cleanup(backend.Close)
	const secret = "logbuf-test-hmac-secret-0123456789abcdef"
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://logbuf.test", "aud": "ossproxy", "sub": "logger", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		interval string
		buffered bool
	}{
		{"buffered", "1m", true}, // the longest allowed
		{"write through", "0s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := `listeners:
  - address: "127.0.0.1:0"
auth:
  issuers:
    - issuer: https://logbuf.test
      audiences: [ossproxy]
      algorithms: [HS256]
      hmac_secret: ` + secret + `
policy:
  rules:
    - issuers: [https://logbuf.test]
      buckets: [data]
      actions: [read]
buckets:
  - name: data
    endpoint: ` + backend.URL + `
    region: cn-hangzhou
    addressing_style: path
    allow_insecure_http: true
credentials:
  source: static
  access_key_id: UPSTREAM
  access_key_secret: upstream-secret
admin:
  disabled: true
logging:
  format: json
  level: info
  flush_interval: ` + tc.interval + "\n"
			path := filepath.Join(dir, "ossproxy.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			logf, err := os.Create(filepath.Join(dir, "stderr.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer logf.Close()
			ready := make(chan string, 1)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				done <- serveWith(ctx, []string{"--config", path}, func(string) string { return "" }, logf,
					appHooks{Ready: func(a []net.Addr) { ready <- a[0].String() }})
			}()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatalf("serve: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not start")
			}
			req, _ := http.NewRequest("GET", "http://"+addr+"/data/obj", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "object body" {
				t.Fatalf("GET: %d %q", resp.StatusCode, body)
			}
			accessLogged := func() bool {
				b, _ := os.ReadFile(logf.Name())
				return bytes.Contains(b, []byte(`"msg":"request"`))
			}
			if tc.buffered {
				if b, _ := os.ReadFile(logf.Name()); len(b) != 0 {
					t.Errorf("written before the interval or shutdown: %q", b)
				}
			} else {
				deadline := time.Now().Add(30 * time.Second) // a hang guard: the record follows the response at once
				for !accessLogged() && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if !accessLogged() {
					t.Error("no access-log record while serving with flush_interval 0s")
				}
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
			b, _ := os.ReadFile(logf.Name())
			for _, msg := range []string{`"msg":"listening"`, `"msg":"request"`, `"msg":"stopped"`} {
				if !bytes.Contains(b, []byte(msg)) {
					t.Errorf("the log has no %s record after shutdown:\n%s", msg, b)
				}
			}
		})
	}
}
