package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const wrkSample = `Running 5s test @ http://127.0.0.1:40000/bkt/data/obj4k
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.21ms    3.10ms  45.02ms   80.00%
    Req/Sec     6.30k   400.00     7.00k    70.00%
  Latency Distribution
     50%    4.80ms
     75%    6.10ms
     90%    8.20ms
     99%   17.33ms
  62714 requests in 5.00s, 270.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  12542.80
Transfer/sec:     54.02MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    wrkResult
		wantErr error
	}{
		{"full report", wrkSample, wrkResult{RPS: 12542.80, P50: 4800 * time.Microsecond, P99: 17330 * time.Microsecond,
			Requests: 62714, Errors: 7}, nil},
		{"microseconds, no errors", "  Latency Distribution\n     50%   85.02us\n     99%  1.00s\n  10 requests in 1.00s, 1KB read\nRequests/sec: 10.00\n",
			wrkResult{RPS: 10, P50: 85020 * time.Nanosecond, P99: time.Second, Requests: 10}, nil},
		{"no percentiles (wrk run without --latency)", "Requests/sec: 10.00\n", wrkResult{}, ErrWrkOutput},
		{"bad unit", "     50%   85.02xs\n", wrkResult{}, ErrWrkOutput},
		{"empty", "", wrkResult{}, ErrWrkOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseWrk(f *testing.F) {
	f.Add(wrkSample)
	f.Add("     50%   1.5m\n     99%   2us\nRequests/sec: 1e3\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseWrk(s)
		if err == nil && (r.P50 < 0 || r.P99 < 0) {
			t.Errorf("negative latency from %q: %+v", s, r)
		}
	})
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkHandlerGet-2   	  100000	     12000 ns/op	 341.33 MB/s	    5000 B/op	      60 allocs/op
BenchmarkHandlerGet-2   	  100000	     10000 ns/op	 409.60 MB/s	    5000 B/op	      60 allocs/op
BenchmarkHandlerGet-2   	  100000	     11000 ns/op	 372.36 MB/s	    5000 B/op	      61 allocs/op
BenchmarkSignV4-2       	  500000	      2405 ns/op	     304 B/op	       3 allocs/op
PASS
ok  	github.com/ossproxy/ossproxy/proxy	4.2s
`
	got, err := parseGoBench(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []microResult{
		{Name: "BenchmarkHandlerGet", Runs: 3, NsOp: 11000, BytesOp: 5000, AllocsOp: 60, MinNsOp: 10000, MaxNsOp: 12000},
		{Name: "BenchmarkSignV4", Runs: 1, NsOp: 2405, BytesOp: 304, AllocsOp: 3, MinNsOp: 2405, MaxNsOp: 2405},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseGoBench("PASS\n"); !errors.Is(err, ErrGoBenchOutput) {
		t.Errorf("no results: error %v, want ErrGoBenchOutput", err)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSpliceReport(t *testing.T) {
	section := []byte(beginMarker + "\nnew\n" + endMarker + "\n")
	tests := []struct{ name, old, want string }{
		{"no file", "", "# ossproxy benchmarks\n\n" + string(section)},
		{"hand-written only", "# title\n\nnotes\n", "# title\n\nnotes\n\n" + string(section)},
		{"replace between markers", "# title\n" + beginMarker + "\nold\n" + endMarker + "\n\n## history\n",
			"# title\n" + beginMarker + "\nnew\n" + endMarker + "\n\n## history\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "B.md")
			if tt.old != "" {
				if err := os.WriteFile(path, []byte(tt.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := spliceReport(path, section); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
