package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMeasure is returned when a load run fails or reports errors.
var ErrMeasure = errors.New("measurement failed")

// smallResults holds every wrk run: [target][connections] -> one result per round.
type smallResults map[string]map[int][]wrkResult

// bigResult is one 1 GiB transfer, in bytes per second.
type bigResult struct{ Get, Put float64 }

type rssResult struct {
	Before, Peak int64 // kB: VmRSS before the transfers, VmHWM after
	Sampled      int64 // kB: the highest VmRSS sampled during them
	Elapsed      time.Duration
	Size         int64
}

type results struct {
	started, finished time.Time
	small             smallResults
	big               map[string][]bigResult
	rss               rssResult
	micro             []microResult
	versions          map[string]string
	loadStart         string
}

// rotate returns the targets starting at the i-th, so no configuration
// always runs first (or right after another one) in every round.
func (e *env) rotate(i int) []*target {
	n := len(e.targets)
	out := make([]*target, n)
	for j := range n {
		out[j] = e.targets[(i+j)%n]
	}
	return out
}

func (e *env) wrk(ctx context.Context, t *target, conns int, d time.Duration) (wrkResult, error) {
	threads := min(conns, 2)
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%.0fs", d.Seconds()), "--latency", "--timeout", "5s"}
	if t.header != "" {
		args = append(args, "-H", t.header)
	}
	args = append(args, t.url("GET", smallKey))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	before := e.usage(t)
	out, err := exec.CommandContext(ctx, e.o.wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("%w: wrk %s c=%d: %w: %s", ErrMeasure, t.Name, conns, err, out)
	}
	after := e.usage(t)
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("%s c=%d: %w: %s", t.Name, conns, err, out)
	}
	if r.Requests > 0 {
		n := time.Duration(r.Requests)
		r.ProxyCPU = (after.proxyCPU - before.proxyCPU) / n
		r.NginxCPU = (after.nginxCPU - before.nginxCPU) / n
		r.ProxySyscalls = float64(after.proxySyscalls-before.proxySyscalls) / float64(r.Requests)
	}
	if r.Errors*1000 > r.Requests {
		return r, fmt.Errorf("%w: wrk %s c=%d: %d errors in %d requests", ErrMeasure, t.Name, conns, r.Errors, r.Requests)
	}
	return r, nil
}

// smallGets runs wrk against every configuration, interleaved, o.rounds times.
func (e *env) smallGets(ctx context.Context, log *slog.Logger) (smallResults, error) {
	res := smallResults{}
	for _, t := range e.targets { // warm-up: connections, caches, JIT-free but page cache
		if _, err := e.wrk(ctx, t, 16, time.Second); err != nil {
			return nil, err
		}
		res[t.Name] = map[int][]wrkResult{}
	}
	for round := range e.o.rounds {
		for ci, c := range e.o.conns {
			for _, t := range e.rotate(round + ci) {
				r, err := e.wrk(ctx, t, c, e.o.duration)
				if err != nil {
					return nil, err
				}
				log.Info("4 KiB GET", "round", round+1, "config", t.Name, "c", c, "rps", int(r.RPS), "p50", r.P50, "p99", r.P99)
				res[t.Name][c] = append(res[t.Name][c], r)
			}
		}
	}
	return res, nil
}

// curl runs one transfer and returns curl's measured speed in bytes/s.
func (e *env) curl(ctx context.Context, t *target, method, key, upload string, size int64) (float64, error) {
	args := []string{"-sS", "-o", "/dev/null", "-H", "Expect:", "--max-time", "600"}
	if t.header != "" {
		args = append(args, "-H", t.header)
	}
	if method == "PUT" {
		args = append(args, "-T", upload, "-w", "%{http_code} %{size_upload} %{speed_upload}")
	} else {
		args = append(args, "-w", "%{http_code} %{size_download} %{speed_download}")
	}
	args = append(args, t.url(method, key))
	out, err := exec.CommandContext(ctx, "curl", args...).Output()
	if err != nil {
		return 0, fmt.Errorf("%w: curl %s %s: %w", ErrMeasure, method, t.Name, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0][0] != '2' || f[1] != strconv.FormatInt(size, 10) {
		return 0, fmt.Errorf("%w: curl %s %s: got %q, want 2xx and %d bytes", ErrMeasure, method, t.Name, out, size)
	}
	return strconv.ParseFloat(f[2], 64)
}

// bigTransfers times one large GET and one large PUT per configuration and round.
func (e *env) bigTransfers(ctx context.Context, log *slog.Logger) (map[string][]bigResult, error) {
	res := map[string][]bigResult{}
	up := filepath.Join(e.dir, "up-big")
	// Warm-up: the first read of the sparse file fills the page cache and
	// the first PUT creates nginx's temp files; neither should count.
	if _, err := e.curl(ctx, e.targets[0], "GET", bigKey, "", e.o.bigSize); err != nil {
		return nil, err
	}
	if _, err := e.curl(ctx, e.targets[0], "PUT", putBigKey, up, e.o.bigSize); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(e.www, bucket, putBigKey))
	for round := range e.o.rounds {
		for _, t := range e.rotate(round) {
			var r bigResult
			var err error
			if r.Get, err = e.curl(ctx, t, "GET", bigKey, "", e.o.bigSize); err != nil {
				return nil, err
			}
			if r.Put, err = e.curl(ctx, t, "PUT", putBigKey, up, e.o.bigSize); err != nil {
				return nil, err
			}
			_ = os.Remove(filepath.Join(e.www, bucket, putBigKey))
			log.Info("large transfer", "round", round+1, "config", t.Name, "get_MiBps", int(r.Get/(1<<20)), "put_MiBps", int(r.Put/(1<<20)))
			res[t.Name] = append(res[t.Name], r)
		}
	}
	return res, nil
}

// usage is a snapshot of the CPU time and system calls of the servers:
// proxy* are those of the Go proxy serving the target (goproxy for G,
// ossproxy for C and D, none for A and B).
type usage struct {
	proxyCPU, nginxCPU time.Duration
	proxySyscalls      int64
}

// clockTick is USER_HZ, the unit of /proc/pid/stat times (100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns utime+stime of a process from /proc/pid/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from the ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// children returns the pids of a process's children.
func children(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (e *env) usage(t *target) usage {
	var u usage
	for _, w := range children(e.nginx.Process.Pid) {
		u.nginxCPU += procCPU(w)
	}
	if t.proc == nil {
		return u
	}
	u.proxyCPU = procCPU(t.proc.Process.Pid)
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", t.proc.Process.Pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "syscr: "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				u.proxySyscalls += n
			} else if v, ok := strings.CutPrefix(l, "syscw: "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				u.proxySyscalls += n
			}
		}
	}
	return u
}

// procStatus reads a kB field (VmRSS, VmHWM) of /proc/pid/status.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading process status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%w: no %s in /proc/%d/status", ErrMeasure, field, pid)
}

// peakRSS resets ossproxy's peak RSS, runs two large GETs and two large
// PUTs through it at once (configuration C), and reads the new peak.
func (e *env) peakRSS(ctx context.Context, log *slog.Logger) (rssResult, error) {
	pid := e.proxy.Process.Pid
	r := rssResult{Size: e.o.rssSize}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return r, fmt.Errorf("resetting the peak RSS: %w", err)
	}
	var err error
	if r.Before, err = procStatus(pid, "VmRSS"); err != nil {
		return r, err
	}
	var c *target
	for _, t := range e.targets {
		if t.Name == "C" {
			c = t
		}
	}
	up := filepath.Join(e.dir, "up-rss")
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			if i < 2 {
				_, errs[i] = e.curl(ctx, c, "GET", rssKey, "", e.o.rssSize)
			} else {
				key := fmt.Sprintf("data/put-rss-%d", i)
				_, errs[i] = e.curl(ctx, c, "PUT", key, up, e.o.rssSize)
				_ = os.Remove(filepath.Join(e.www, bucket, key))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				r.Sampled = max(r.Sampled, v)
			}
		}
	}
	r.Elapsed = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	if r.Peak, err = procStatus(pid, "VmHWM"); err != nil {
		return r, err
	}
	log.Info("peak RSS", "before_kB", r.Before, "peak_kB", r.Peak, "sampled_kB", r.Sampled, "elapsed", r.Elapsed)
	return r, nil
}

// microResult is the median of one Go benchmark's runs.
type microResult struct {
	Name                    string
	Runs                    int
	NsOp, BytesOp, AllocsOp float64
	MinNsOp, MaxNsOp        float64
	Package                 string
}

// microBenchmarks are the hot-path benchmarks run by microBench.
var microBenchmarks = []struct{ pkg, names string }{
	{"./signer/", "BenchmarkSignV4|BenchmarkVerifyV4"},
	{"./auth/", "BenchmarkJWTVerifyCached|BenchmarkJWTVerifyUncached|BenchmarkAuthorize|BenchmarkTokenHash"},
	{"./credentials/", "BenchmarkRetrieve"},
	{"./proxy/", "BenchmarkHandlerGet|BenchmarkHandlerGetSDKHeaders|BenchmarkHandlerGetAccessLog|BenchmarkProxyGet|BenchmarkDirectGet"},
}

func microBench(ctx context.Context, log *slog.Logger, count int) ([]microResult, error) {
	var all []microResult
	for _, m := range microBenchmarks {
		args := []string{"test", "-run", "^$", "-bench", "^(" + m.names + ")$", "-benchmem", "-count", strconv.Itoa(count), m.pkg}
		log.Info("go "+strings.Join(args, " "), "package", m.pkg)
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("%w: go test -bench %s: %w: %s", ErrMeasure, m.pkg, err, out)
		}
		res, err := parseGoBench(string(out))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.pkg, err)
		}
		for i := range res {
			res[i].Package = strings.Trim(m.pkg, "./")
		}
		all = append(all, res...)
	}
	return all, nil
}
