#!/usr/bin/env bash
# One-command benchmark: ossproxy vs a plain nginx proxy_pass vs a bare Go
# httputil.ReverseProxy vs direct access to the same nginx backend,
# interleaved, written to BENCHMARKS.md.
#
#   bench/run.sh            # full run (≈ 6-8 min on 2 cores)
#   bench/run.sh -quick     # smoke run (≈ 2 min)
#   bench/run.sh -h         # every flag (rounds, duration, sizes, GOMAXPROCS, ...)
#   bench/run.sh -ab-log-flush 0s   # A/B: ossproxy against itself with one setting changed
#
# Installs nginx and wrk from Debian when missing, listens on 127.0.0.1
# only, and stops everything it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "bench: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p bin
go build -trimpath -o bin/ossproxy ./cmd/ossproxy
go build -trimpath -o bin/ossproxy-goproxy ./bench/goproxy
go build -o bin/ossproxy-bench ./bench

export BENCH_PIDFILE
BENCH_PIDFILE=$(mktemp)
cleanup() {
  # The bench stops its process groups itself; this catches a crash or kill.
  while read -r pid; do
    kill -TERM -- "-$pid" 2>/dev/null || true
  done <"$BENCH_PIDFILE"
  rm -f "$BENCH_PIDFILE"
}
trap cleanup EXIT
bin/ossproxy-bench "$@"
