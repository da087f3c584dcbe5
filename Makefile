# The test command (README: "make test") runs every test, the real-client
# tests included, and installs what they need. .ci/run calls exactly it.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 5s

.PHONY: test check unit big fuzz tools node-deps build

test: check tools node-deps unit big fuzz

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# curl is one of the real clients the tests drive (they skip without it, so
# a bare machine must get it here, not pass by skipping).
tools:
	@command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

# npm ali-oss, the client in another language that the tests drive.
node-deps:
	@if [ -f testdata/node/package.json ]; then \
	  command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }; \
	  (cd testdata/node && npm ci --no-audit --no-fund --loglevel=error); \
	fi

unit:
	$(GO) test -race -count=1 -timeout 40m ./...

# 4 GiB up and down through the real binary (emulator and proxy as child
# processes), with the proxy's peak RSS; no -race, it measures throughput.
big:
	OSSPROXY_BIG=1 $(GO) test -count=1 -timeout 10m -run '^TestBigStreaming$$' -v ./cmd/ossproxy/

# Every fuzz target runs for FUZZTIME (longer runs: make fuzz FUZZTIME=10m).
# A finding fails; Go 1.26's fuzz-coordinator deadline race (no input
# written) is retried once: see .ci/fuzz.sh.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ossproxy ./cmd/ossproxy

# Side-by-side benchmark (not part of make test): direct, nginx proxy_pass,
# ossproxy JWT and access key; writes BENCHMARKS.md. BENCH_FLAGS=-quick for
# a smoke run; bench/run.sh -h lists the flags.
bench:
	bash bench/run.sh $(BENCH_FLAGS)
