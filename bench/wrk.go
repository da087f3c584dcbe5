package main

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrWrkOutput is returned when wrk's report cannot be parsed.
var ErrWrkOutput = errors.New("unrecognised wrk output")

// wrkResult is what one wrk run reports.
type wrkResult struct {
	RPS      float64
	P50, P99 time.Duration
	Requests int64
	// Errors counts socket errors and non-2xx/3xx responses.
	Errors int64

	// Measured around the run from /proc, per request: CPU time of the
	// Go proxy serving the target (G, C, D) and of all nginx workers, and
	// the Go proxy's read and write system calls.
	ProxyCPU, NginxCPU time.Duration
	ProxySyscalls      float64
}

// parseWrk reads the report wrk prints with --latency.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, haveP50, haveP99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("parsing wrk requests/s %q: %w", f[1], ErrWrkOutput)
			}
			r.RPS, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50, haveP50 = d, true
			} else {
				r.P99, haveP99 = d, true
			}
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("parsing wrk request count %q: %w", f[0], ErrWrkOutput)
			}
			r.Requests = n
		case len(f) == 5 && f[0] == "Non-2xx":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("parsing wrk non-2xx count %q: %w", f[4], ErrWrkOutput)
			}
			r.Errors += n
		case len(f) > 2 && f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("parsing wrk socket errors %q: %w", f[i+1], ErrWrkOutput)
				}
				r.Errors += n
			}
		}
	}
	if !haveRPS || !haveP50 || !haveP99 {
		return r, fmt.Errorf("parsing wrk report (requests/s, 50%% and 99%% lines needed): %w", ErrWrkOutput)
	}
	return r, nil
}

// parseWrkDuration parses wrk's latency figures: "85.02us", "1.20ms", "2.00s", "1.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 || v > 1e9 {
				return 0, fmt.Errorf("parsing wrk latency %q: %w", s, ErrWrkOutput)
			}
			return time.Duration(v * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("parsing wrk latency %q: %w", s, ErrWrkOutput)
}
