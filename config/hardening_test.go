package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/proxy"
)

// upstreamGood is good plus an upstream section.
const upstreamGood = good + `upstream:
  dial_timeout: 3s
  tls_handshake_timeout: 4s
  response_header_timeout: 5m
`

func TestUpstreamSection(t *testing.T) {
	cfg, err := config.Parse("up.yaml", []byte(upstreamGood), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := proxy.UpstreamTimeouts{Dial: 3 * time.Second, TLSHandshake: 4 * time.Second, ResponseHeader: 5 * time.Minute}
	if got := cfg.Upstream.Timeouts(); got != want {
		t.Errorf("timeouts %+v, want %+v", got, want)
	}
	cfg, err = config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Upstream.Timeouts(); got != (proxy.UpstreamTimeouts{}) {
		t.Errorf("default timeouts %+v, want zero (the proxy's defaults)", got)
	}
	first := strings.Count(good, "\n") + 2 // dial_timeout's line
	for _, tc := range []struct {
		name, old, new string
		line           int
		msg            string
	}{
		{"negative dial", "dial_timeout: 3s", "dial_timeout: -1s", first, "upstream dial_timeout must be between 0"},
		{"huge handshake", "tls_handshake_timeout: 4s", "tls_handshake_timeout: 2h", first + 1, "tls_handshake_timeout"},
		{"negative response header", "response_header_timeout: 5m", "response_header_timeout: -5m", first + 2, "response_header_timeout"},
		{"not a duration", "response_header_timeout: 5m", "response_header_timeout: soon", first + 2, ""},
		{"unknown field", "dial_timeout: 3s", "connect_timeout: 3s", first, `unknown field "connect_timeout"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(upstreamGood, tc.old, tc.new, 1)
			_, err := config.Parse("up.yaml", []byte(text), config.Options{Getenv: goodEnv})
			var es config.Errors
			if !errors.As(err, &es) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			if len(es) != 1 || es[0].Line != tc.line || !strings.Contains(es[0].Msg, tc.msg) {
				t.Fatalf("got %v; want one error at line %d containing %q", err, tc.line, tc.msg)
			}
		})
	}
}

func TestBodyIdleTimeout(t *testing.T) {
	cfg, err := config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Listeners[0].Timeouts.BodyIdleOrDefault(); got != time.Minute {
		t.Errorf("default body_idle %v, want 1m", got)
	}
	const at = `    anonymous: true
`
	text := strings.Replace(good, at, at+"    timeouts: {body_idle: 5s}\n", 1)
	if cfg, err = config.Parse("good.yaml", []byte(text), config.Options{Getenv: goodEnv}); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Listeners[0].Timeouts.BodyIdleOrDefault(); got != 5*time.Second {
		t.Errorf("body_idle %v, want 5s", got)
	}
	text = strings.Replace(good, at, at+"    timeouts:\n      body_idle: -5s\n", 1)
	_, err = config.Parse("good.yaml", []byte(text), config.Options{Getenv: goodEnv})
	var es config.Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Line != 6 || !strings.Contains(es[0].Msg, "body_idle must not be negative") {
		t.Fatalf("negative body_idle: %v", err)
	}
}
