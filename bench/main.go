// Command bench measures ossproxy side by side with direct access to the
// same backend and with a plain nginx proxy_pass, in one run, and writes
// the figures into BENCHMARKS.md. Run it through bench/run.sh, which
// installs nginx and wrk and builds the binaries:
//
//	bench/run.sh            # defaults: 3 rounds, 5 s wrk runs, 1 GiB, 4 x 4 GiB
//	bench/run.sh -quick     # a smoke run in about a minute
//	bench/run.sh -ab-log-flush 0s   # A/B: ossproxy with one setting changed, interleaved pairs
//
// Everything listens on 127.0.0.1 only and is stopped on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	rounds     int
	duration   time.Duration
	bigSize    int64
	rssSize    int64
	conns      []int
	gomaxprocs int
	gogc       string
	logFlush   string
	logLevel   string
	micro      bool
	microCount int
	out        string
	ossproxy   string
	goproxy    string
	nginx      string
	wrk        string
	workdir    string
	keep       bool
	serve      bool
	// A/B mode: a second ossproxy (C′) that differs from C only by these
	// settings, measured in interleaved pairs against C.
	abPairs    int
	abLogFlush string
	abLogLevel string
	abEnv      string
	abOssproxy string
}

// ab reports whether an A/B run was asked for.
func (o *options) ab() bool {
	return o.abLogFlush != "" || o.abLogLevel != "" || o.abEnv != "" || o.abOssproxy != ""
}

func main() {
	var o options
	var quick bool
	flag.BoolVar(&quick, "quick", false, "smoke run: 1 round, 2 s wrk runs, 64 MiB transfers, 4 x 256 MiB, micro-benchmarks -count 1")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of every configuration (median reported)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each wrk run")
	bigMiB := flag.Int64("big-mib", 1024, "size of the large GET/PUT object in MiB")
	rssMiB := flag.Int64("rss-mib", 4096, "size of each of the 4 concurrent transfers in the RSS test, MiB")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS for ossproxy (0: Go's default, the number of cores)")
	flag.StringVar(&o.gogc, "gogc", "", "GOGC for ossproxy (\"\": Go's default, 100)")
	flag.StringVar(&o.logFlush, "log-flush", "", "ossproxy's logging.flush_interval (\"\": its default; 0s: one write per record)")
	flag.StringVar(&o.logLevel, "log-level", "info", "ossproxy's logging.level (warn: no access log)")
	flag.BoolVar(&o.micro, "micro", true, "run the Go micro-benchmarks")
	flag.IntVar(&o.microCount, "micro-count", 5, "go test -count for the micro-benchmarks")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "Markdown file to write (the generated section between its markers is replaced)")
	flag.StringVar(&o.ossproxy, "ossproxy", "bin/ossproxy", "ossproxy binary")
	flag.StringVar(&o.goproxy, "goproxy", "bin/ossproxy-goproxy", "configuration G's binary: a bare httputil.ReverseProxy (bench/goproxy)")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.StringVar(&o.workdir, "workdir", "", "working directory (default: a new temporary one, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (configs, logs)")
	flag.BoolVar(&o.serve, "serve", false, "start the backend, nginx proxy and ossproxy, print each configuration's URL (and header) and wait for Ctrl-C: for profiling by hand")
	flag.IntVar(&o.abPairs, "ab-pairs", 7, "A/B mode: interleaved pairs of wrk runs per concurrency")
	flag.StringVar(&o.abLogFlush, "ab-log-flush", "", "A/B mode: C′'s logging.flush_interval (C keeps -log-flush)")
	flag.StringVar(&o.abLogLevel, "ab-log-level", "", "A/B mode: C′'s logging.level (C keeps -log-level)")
	flag.StringVar(&o.abOssproxy, "ab-ossproxy", "", "A/B mode: C′'s binary (e.g. a build of another commit; C keeps -ossproxy)")
	flag.StringVar(&o.abEnv, "ab-env", "", "A/B mode: C′'s extra environment, e.g. GOGC=400 (space-separated NAME=value)")
	flag.Parse()
	if quick {
		o.rounds, o.duration, *bigMiB, *rssMiB, o.microCount = 1, 2*time.Second, 64, 256, 1
	}
	o.bigSize, o.rssSize = *bigMiB<<20, *rssMiB<<20
	o.conns = []int{1, 64}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, logger, o); err != nil {
		logger.Error("bench failed", "error", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, o options) (err error) {
	if o.rounds < 1 || o.duration <= 0 || o.bigSize <= 0 || o.rssSize <= 0 {
		return errors.New("checking flags: rounds, duration and sizes must be positive")
	}
	dir := o.workdir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ossproxy-bench-"); err != nil {
			return fmt.Errorf("creating work dir: %w", err)
		}
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("resolving work dir: %w", err)
	}
	log.Info("bench", "workdir", dir, "rounds", o.rounds, "duration", o.duration, "cores", runtime.NumCPU())
	env, err := start(ctx, log, dir, o)
	if err != nil {
		return err
	}
	defer env.stop(log)
	if err := env.check(ctx); err != nil {
		return err
	}
	if o.ab() {
		return env.abRun(ctx, log)
	}
	if o.serve {
		for _, t := range env.targets {
			fmt.Printf("%s\t%s\t%s\t%s\n", t.Name, t.url("GET", smallKey), t.header, t.Desc)
		}
		fmt.Printf("goproxy (G) pid %d\n", env.goproxy.Process.Pid)
		fmt.Printf("ossproxy pid %d, profiles at %s/debug/pprof/, work dir %s; Ctrl-C stops\n", env.proxy.Process.Pid, env.admin, dir)
		<-ctx.Done()
		return nil
	}
	var res results
	res.started, res.loadStart = time.Now(), loadavg()
	if res.small, err = env.smallGets(ctx, log); err != nil {
		return err
	}
	if res.big, err = env.bigTransfers(ctx, log); err != nil {
		return err
	}
	if res.rss, err = env.peakRSS(ctx, log); err != nil {
		return err
	}
	res.versions = env.versions(ctx)
	env.stop(log)
	if o.micro {
		if res.micro, err = microBench(ctx, log, o.microCount); err != nil {
			return err
		}
	}
	res.finished = time.Now()
	return writeReport(o, &res)
}
