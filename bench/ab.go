package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// target returns the configuration called name (nil if none).
func (e *env) target(name string) *target {
	for _, t := range e.targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// abRun measures C against C′ (the same ossproxy with the -ab-* settings)
// in interleaved pairs of wrk runs, alternating which goes first, at each
// concurrency, and prints a Markdown table of the medians and of the
// per-pair ratios C′/C. Both instances run side by side the whole time,
// so slow drifts in the machine's load fall on both sides of each pair.
func (e *env) abRun(ctx context.Context, log *slog.Logger) error {
	c, x := e.target("C"), e.abProxy
	var b strings.Builder
	fmt.Fprintf(&b, "A/B: C′ = C with %s; %d interleaved pairs of %s wrk runs per concurrency, load %s at the start.\n\n",
		e.abDesc(), e.o.abPairs, e.o.duration, loadavg())
	b.WriteString("| c | CPU/req C | CPU/req C′ | C′/C CPU (median of pairs) | syscalls/req C → C′ | requests/s C → C′ | C′/C requests/s |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, conns := range e.o.conns {
		var rc, rx []wrkResult
		var cpuRatio, rpsRatio []float64
		for i := range e.o.abPairs {
			pair := []*target{c, x}
			if i%2 == 1 {
				pair = []*target{x, c}
			}
			res := map[*target]wrkResult{}
			for _, t := range pair {
				r, err := e.wrk(ctx, t, conns, e.o.duration)
				if err != nil {
					return err
				}
				res[t] = r
			}
			rc, rx = append(rc, res[c]), append(rx, res[x])
			if res[c].ProxyCPU > 0 && res[c].RPS > 0 {
				cpuRatio = append(cpuRatio, float64(res[x].ProxyCPU)/float64(res[c].ProxyCPU))
				rpsRatio = append(rpsRatio, res[x].RPS/res[c].RPS)
			}
			log.Info("A/B pair", "c", conns, "pair", i+1, "cpu_C", res[c].ProxyCPU, "cpu_C′", res[x].ProxyCPU, "rps_C", int(res[c].RPS), "rps_C′", int(res[x].RPS))
		}
		med := func(rs []wrkResult, f func(wrkResult) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			return median(v)
		}
		fmt.Fprintf(&b, "| %d | %.1f µs | %.1f µs | %.2f | %.2f → %.2f | %.0f → %.0f | %.2f |\n", conns,
			med(rc, cpu)/1e3, med(rx, cpu)/1e3, median(cpuRatio), med(rc, syscalls), med(rx, syscalls),
			med(rc, rps), med(rx, rps), median(rpsRatio))
	}
	fmt.Print(b.String())
	return nil
}

// abDesc says how C′ differs from C.
func (e *env) abDesc() string {
	var d []string
	if e.o.abLogFlush != "" {
		d = append(d, "logging.flush_interval "+e.o.abLogFlush)
	}
	if e.o.abLogLevel != "" {
		d = append(d, "logging.level "+e.o.abLogLevel)
	}
	if e.o.abEnv != "" {
		d = append(d, "environment "+e.o.abEnv)
	}
	if e.o.abOssproxy != "" {
		d = append(d, "binary "+e.o.abOssproxy)
	}
	return strings.Join(d, ", ")
}
