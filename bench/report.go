package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrGoBenchOutput is returned when go test -bench output has no results.
var ErrGoBenchOutput = errors.New("unrecognised go test -bench output")

// parseGoBench reads `go test -bench -benchmem` output and returns the
// median of each benchmark's runs, in order of first appearance.
func parseGoBench(out string) ([]microResult, error) {
	type acc struct{ ns, b, a []float64 }
	runs := map[string]*acc{}
	var order []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		a := runs[name]
		if a == nil {
			a = &acc{}
			runs[name] = a
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parsing %q in %s: %w", f[i], name, ErrGoBenchOutput)
			}
			switch f[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "B/op":
				a.b = append(a.b, v)
			case "allocs/op":
				a.a = append(a.a, v)
			}
		}
	}
	if len(order) == 0 {
		return nil, ErrGoBenchOutput
	}
	res := make([]microResult, 0, len(order))
	for _, n := range order {
		a := runs[n]
		if len(a.ns) == 0 {
			return nil, fmt.Errorf("no ns/op for %s: %w", n, ErrGoBenchOutput)
		}
		res = append(res, microResult{Name: n, Runs: len(a.ns), NsOp: median(a.ns), BytesOp: median(a.b),
			AllocsOp: median(a.a), MinNsOp: slices.Min(a.ns), MaxNsOp: slices.Max(a.ns)})
	}
	return res, nil
}

// median returns the median of v (0 for none); v is not modified.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratios returns the per-round ratios f(num)/f(den) of the small-GET runs.
func (r *results) ratios(num, den string, c int, f func(wrkResult) float64) []float64 {
	a, b := r.small[num][c], r.small[den][c]
	var out []float64
	for i := range min(len(a), len(b)) {
		if d := f(b[i]); d != 0 {
			out = append(out, f(a[i])/d)
		}
	}
	return out
}

// diffs returns the per-round differences f(a) - f(b) of the small-GET runs.
func (r *results) diffs(a, b string, c int, f func(wrkResult) float64) []float64 {
	x, y := r.small[a][c], r.small[b][c]
	var out []float64
	for i := range min(len(x), len(y)) {
		out = append(out, f(x[i])-f(y[i]))
	}
	return out
}

// ownCPU returns, per configuration, the per-round CPU time per request
// of the proxy itself: nginx(B) − nginx(A) of the same round for B (its
// workers also serve the backend), the Go proxy's for G, C and D.
func (r *results) ownCPU(c int) map[string][]float64 {
	own := map[string][]float64{}
	for i := range len(r.small["A"][c]) {
		base := float64(r.small["A"][c][i].NginxCPU)
		for _, t := range configs[1:] {
			if i >= len(r.small[t][c]) {
				continue
			}
			x := r.small[t][c][i]
			v := float64(x.ProxyCPU)
			if t == "B" {
				v = float64(x.NginxCPU) - base
			}
			own[t] = append(own[t], v)
		}
	}
	return own
}

// configs are the configurations in report order.
var configs = []string{"A", "B", "G", "C", "D"}

func rps(w wrkResult) float64      { return w.RPS }
func cpu(w wrkResult) float64      { return float64(w.ProxyCPU) }
func syscalls(w wrkResult) float64 { return w.ProxySyscalls }
func p50(w wrkResult) float64      { return float64(w.P50) }
func p99(w wrkResult) float64      { return float64(w.P99) }

func (r *results) medianOf(name string, c int, f func(wrkResult) float64) float64 {
	var v []float64
	for _, w := range r.small[name][c] {
		v = append(v, f(w))
	}
	return median(v)
}

func (r *results) bigRatio(num, den string, put bool) float64 {
	a, b := r.big[num], r.big[den]
	var v []float64
	for i := range min(len(a), len(b)) {
		x, y := a[i].Get, b[i].Get
		if put {
			x, y = a[i].Put, b[i].Put
		}
		if y != 0 {
			v = append(v, x/y)
		}
	}
	return median(v)
}

func (r *results) bigMedian(name string, put bool) float64 {
	var v []float64
	for _, b := range r.big[name] {
		if put {
			v = append(v, b.Put)
		} else {
			v = append(v, b.Get)
		}
	}
	return median(v)
}

func us(ns float64) string { return fmt.Sprintf("%.0f µs", ns/1e3) }

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

// Markers delimit the generated section of the output file; text outside
// them is kept.
const (
	beginMarker = "<!-- bench/run.sh: generated section begins; do not edit by hand -->"
	endMarker   = "<!-- bench/run.sh: generated section ends -->"
)

func writeReport(o options, r *results) error {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	v := r.versions
	w("%s\n\n", beginMarker)
	w("## Latest run\n\n")
	gogc := o.gogc
	if gogc == "" {
		gogc = "default (100)"
	}
	logFlush := o.logFlush
	if logFlush == "" {
		logFlush = "default (1s)"
	}
	w("%s, %d cores (%s), load average %s at the start, %s at the end; %s, %s, %s; tree at %s, ossproxy binary %s, GOMAXPROCS %s, GOGC %s, logging.level %s, logging.flush_interval %s.\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), v["cpu"], r.loadStart, v["load"], v["go"], v["nginx"], v["wrk"],
		v["commit"], o.ossproxy, gomaxprocs(o), gogc, o.logLevel, logFlush)
	w("%d interleaved rounds (the configurations rotate their order each round), wrk runs of %s, %d MiB transfers, RSS test 4 × %d MiB; the run took %s.\n",
		o.rounds, o.duration, o.bigSize>>20, o.rssSize>>20, r.finished.Sub(r.started).Round(time.Second))
	w("Each ratio is the median of the per-round ratios (both sides measured minutes apart at most); absolute figures are medians and depend on the machine's load.\n\n")

	w("### Goals\n\n")
	w("The last column is the same measure for G, a bare Go `httputil.ReverseProxy` (see \"The Go floor\" below): " +
		"what any net/http proxy reaches on this machine.\n\n")
	w("| measure | goal | figure | verdict | G, the Go floor |\n| --- | --- | --- | --- | --- |\n")
	cb64, gb64 := median(r.ratios("C", "B", 64, rps)), median(r.ratios("G", "B", 64, rps))
	w("| C/B 4 KiB GET requests/s at c=64 | ≥ 0.9 | %.2f | %s | G/B %.2f |\n", cb64, verdict(cb64 >= 0.9), gb64)
	for _, c := range o.conns {
		x, g := median(r.ratios("C", "B", c, p50)), median(r.ratios("G", "B", c, p50))
		w("| C/B p50 latency at c=%d | ≤ 1.2 | %.2f | %s | G/B %.2f |\n", c, x, verdict(x <= 1.2), g)
	}
	add, gadd := median(r.diffs("C", "A", 1, p50)), median(r.diffs("G", "A", 1, p50))
	w("| C − A added p50 at c=1 | ≤ 150 µs | %s | %s | G − A %s |\n", us(add), verdict(add <= 150e3), us(gadd))
	for _, put := range []bool{false, true} {
		m := map[bool]string{false: "GET", true: "PUT"}[put]
		x := r.bigRatio("C", "B", put)
		w("| C/B %d MiB %s throughput | ≥ 0.9 | %.2f | %s | G/B %.2f |\n", o.bigSize>>20, m, x, verdict(x >= 0.9), r.bigRatio("G", "B", put))
	}
	peak := float64(r.rss.Peak) / 1024
	w("| ossproxy peak RSS, 2 GET + 2 PUT of %d MiB at once | ≤ 64 MiB | %.1f MiB | %s | – |\n", o.rssSize>>20, peak, verdict(peak <= 64))
	for _, m := range r.micro {
		if m.Name == "BenchmarkHandlerGet" {
			w("| allocations per proxied GET (BenchmarkHandlerGet) | state, then cut | %.0f allocs, %.0f B | stated | – |\n", m.AllocsOp, m.BytesOp)
		}
	}

	w("\n### 4 KiB GET (wrk, keep-alive)\n\n")
	w("| config | path | c | requests/s | p50 | p99 | rps / B | p50 / B |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range o.conns {
		for _, t := range configs {
			w("| %s | %s | %d | %.0f | %s | %s | %.2f | %.2f |\n", t, desc(t), c,
				r.medianOf(t, c, rps), us(r.medianOf(t, c, p50)), us(r.medianOf(t, c, p99)),
				median(r.ratios(t, "B", c, rps)), median(r.ratios(t, "B", c, p50)))
		}
	}
	w("\nCPU per request, from /proc around each run (all nginx workers serve both A's backend and B's proxy; " +
		"the proxy's own cost is nginx(B) − nginx(A) for B and the Go proxy's CPU for G, C and D):\n\n")
	w("| config | c | nginx CPU/req | Go proxy CPU/req | proxy's own CPU/req | / B | Go proxy syscalls/req |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range o.conns {
		own := r.ownCPU(c)
		for _, t := range configs {
			ownS, ratio, sysS := "–", "–", "–"
			if t != "A" {
				ownS = fmt.Sprintf("%.1f µs", median(own[t])/1e3)
				if b := median(own["B"]); b > 0 {
					ratio = fmt.Sprintf("%.2f", median(own[t])/b)
				}
			}
			if t == "G" || t == "C" || t == "D" {
				sysS = fmt.Sprintf("%.1f", r.medianOf(t, c, syscalls))
			}
			w("| %s | %d | %.1f µs | %.1f µs | %s | %s | %s |\n", t, c,
				r.medianOf(t, c, func(x wrkResult) float64 { return float64(x.NginxCPU) })/1e3,
				r.medianOf(t, c, cpu)/1e3, ownS, ratio, sysS)
		}
	}

	w("\n### The Go floor (G)\n\n")
	w("G is a bare `httputil.ReverseProxy` (bench/goproxy: Rewrite + SetURL, ossproxy's tuned `http.Transport`, " +
		"its server timeouts and pooled copy buffers; no auth, signing, logging or metrics). " +
		"G/B is what Go's net/http costs against nginx on this machine; C/G is what ossproxy adds to it.\n\n")
	w("| measure | c=%d | c=%d |\n| --- | --- | --- |\n", o.conns[0], o.conns[len(o.conns)-1])
	row := func(name string, f func(c int) string) {
		w("| %s |", name)
		for _, c := range []int{o.conns[0], o.conns[len(o.conns)-1]} {
			w(" %s |", f(c))
		}
		w("\n")
	}
	ratio := func(num, den string, f func(wrkResult) float64) func(int) string {
		return func(c int) string { return fmt.Sprintf("%.2f", median(r.ratios(num, den, c, f))) }
	}
	row("G/B requests/s", ratio("G", "B", rps))
	row("G/B p50", ratio("G", "B", p50))
	row("C/G requests/s", ratio("C", "G", rps))
	row("C/G p50", ratio("C", "G", p50))
	row("G − A added p50", func(c int) string { return us(median(r.diffs("G", "A", c, p50))) })
	row("C − G added p50", func(c int) string { return us(median(r.diffs("C", "G", c, p50))) })
	row("proxy's own CPU/req B, G, C", func(c int) string {
		own := r.ownCPU(c)
		return fmt.Sprintf("%.1f, %.1f, %.1f µs", median(own["B"])/1e3, median(own["G"])/1e3, median(own["C"])/1e3)
	})
	row("G/B CPU/req", func(c int) string {
		own := r.ownCPU(c)
		return fmt.Sprintf("%.2f", median(own["G"])/median(own["B"]))
	})
	row("C/G CPU/req", ratio("C", "G", cpu))
	row("C − G CPU/req", func(c int) string { return us(median(r.diffs("C", "G", c, cpu))) })
	row("system calls/req G, C", func(c int) string {
		return fmt.Sprintf("%.1f, %.1f", r.medianOf("G", c, syscalls), r.medianOf("C", c, syscalls))
	})
	w("\nD/C requests/s: %.2f at c=1, %.2f at c=64 (the cost of verifying a V4 signature instead of a cached JWT).\n",
		median(r.ratios("D", "C", 1, rps)), median(r.ratios("D", "C", 64, rps)))

	w("\n### %d MiB transfers (curl, one at a time)\n\n", o.bigSize>>20)
	w("| config | GET MiB/s | PUT MiB/s | GET / B | PUT / B |\n| --- | --- | --- | --- | --- |\n")
	for _, t := range configs {
		w("| %s | %.0f | %.0f | %.2f | %.2f |\n", t, r.bigMedian(t, false)/(1<<20), r.bigMedian(t, true)/(1<<20),
			r.bigRatio(t, "B", false), r.bigRatio(t, "B", true))
	}

	w("\n### Peak RSS during concurrent transfers\n\n")
	w("ossproxy (configuration C), 2 GETs and 2 PUTs of %d MiB at once, %s in all: VmRSS %.1f MiB before, "+
		"peak (VmHWM, reset just before) **%.1f MiB**, highest 50 ms sample %.1f MiB.\n",
		r.rss.Size>>20, r.rss.Elapsed.Round(100*time.Millisecond), float64(r.rss.Before)/1024, peak, float64(r.rss.Sampled)/1024)

	if len(r.micro) > 0 {
		w("\n### Go micro-benchmarks (hot path)\n\n")
		w("`go test -run '^$' -bench ... -benchmem -count %d` (median of the runs; min–max ns/op in brackets).\n\n", o.microCount)
		w("| package | benchmark | ns/op | B/op | allocs/op |\n| --- | --- | --- | --- | --- |\n")
		for _, m := range r.micro {
			w("| %s | %s | %.0f (%.0f–%.0f) | %.0f | %.0f |\n", m.Package, m.Name, m.NsOp, m.MinNsOp, m.MaxNsOp, m.BytesOp, m.AllocsOp)
		}
	}
	w("\n%s\n", endMarker)
	return spliceReport(o.out, b.Bytes())
}

func desc(name string) string {
	switch name {
	case "A":
		return "direct"
	case "B":
		return "nginx proxy_pass"
	case "G":
		return "bare Go ReverseProxy"
	case "C":
		return "ossproxy JWT"
	case "D":
		return "ossproxy access key"
	}
	return name
}

func gomaxprocs(o options) string {
	if o.gomaxprocs > 0 {
		return strconv.Itoa(o.gomaxprocs)
	}
	return "default (" + strconv.Itoa(runtime.NumCPU()) + ")"
}

// spliceReport replaces the generated section of path (or appends it, or
// creates the file) with section.
func spliceReport(path string, section []byte) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var out []byte
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	switch {
	case i >= 0 && j > i:
		out = append(append(append(out, old[:i]...), bytes.TrimRight(section, "\n")...), old[j+len(endMarker):]...)
	case len(old) > 0:
		out = append(append(bytes.TrimRight(old, "\n"), "\n\n"...), section...)
	default:
		out = append([]byte("# ossproxy benchmarks\n\n"), section...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
