package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteReportGoFloor: the report computes G's ratios per round from
// the same runs as C's (G/B, C/G, C − G) and shows them in the goals and
// in the Go floor table.
func TestWriteReportGoFloor(t *testing.T) {
	run := func(rps float64, p50 time.Duration, cpu time.Duration, nginx time.Duration, sys float64) wrkResult {
		return wrkResult{RPS: rps, P50: p50, P99: 2 * p50, Requests: 1000, ProxyCPU: cpu, NginxCPU: nginx, ProxySyscalls: sys}
	}
	r := &results{small: smallResults{}, big: map[string][]bigResult{}, versions: map[string]string{}}
	// Two rounds; the per-round ratios are the same in both, so the medians are exact.
	for _, c := range []int{1, 64} {
		for name, w := range map[string]wrkResult{
			"A": run(40000, 25*time.Microsecond, 0, 20*time.Microsecond, 0),
			"B": run(20000, 50*time.Microsecond, 0, 45*time.Microsecond, 0),
			"G": run(10000, 100*time.Microsecond, 60*time.Microsecond, 25*time.Microsecond, 7.5),
			"C": run(8000, 125*time.Microsecond, 75*time.Microsecond, 25*time.Microsecond, 7.5),
			"D": run(7000, 150*time.Microsecond, 90*time.Microsecond, 25*time.Microsecond, 7.5),
		} {
			if r.small[name] == nil {
				r.small[name] = map[int][]wrkResult{}
			}
			r.small[name][c] = []wrkResult{w, w}
		}
	}
	for _, name := range configs {
		r.big[name] = []bigResult{{Get: 1 << 30, Put: 1 << 29}}
	}
	r.big["G"] = []bigResult{{Get: 1 << 29, Put: 1 << 29}}
	out := filepath.Join(t.TempDir(), "B.md")
	o := options{rounds: 2, duration: time.Second, bigSize: 1 << 30, rssSize: 1 << 30, conns: []int{1, 64}, out: out}
	if err := writeReport(o, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"| C/B 4 KiB GET requests/s at c=64 | ≥ 0.9 | 0.40 | **not met** | G/B 0.50 |",
		"| C − A added p50 at c=1 | ≤ 150 µs | 100 µs | **met** | G − A 75 µs |",
		"| C/B 1024 MiB GET throughput | ≥ 0.9 | 1.00 | **met** | G/B 0.50 |",
		"| G | bare Go ReverseProxy | 64 | 10000 | 100 µs | 200 µs | 0.50 | 2.00 |",
		"| G/B requests/s | 0.50 | 0.50 |",
		"| C/G requests/s | 0.80 | 0.80 |",
		"| C/G p50 | 1.25 | 1.25 |",
		"| C − G added p50 | 25 µs | 25 µs |",
		"| proxy's own CPU/req B, G, C | 25.0, 60.0, 75.0 µs | 25.0, 60.0, 75.0 µs |",
		"| G/B CPU/req | 2.40 | 2.40 |",
		"| C/G CPU/req | 1.25 | 1.25 |",
		"| C − G CPU/req | 15 µs | 15 µs |",
		"| system calls/req G, C | 7.5, 7.5 | 7.5, 7.5 |",
		"| G | 64 | 25.0 µs | 60.0 µs | 60.0 µs | 2.40 | 7.5 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}
