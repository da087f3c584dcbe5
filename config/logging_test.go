package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/config"
)

// loggingBase is a minimal valid configuration without a logging
// section; the cases below append one.
const loggingBase = `listeners:
  - address: "127.0.0.1:0"
auth:
  access_keys:
    - id: AKID
      secret: logging-test-secret
policy:
  rules:
    - access_key_ids: [AKID]
      buckets: [data]
      actions: [read]
buckets:
  - name: data
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
credentials:
  source: static
  access_key_id: UPSTREAM
  access_key_secret: upstream-secret
`

func TestLoggingFlushInterval(t *testing.T) {
	tests := []struct {
		name    string
		logging string // appended to loggingBase
		want    time.Duration
		wantErr string // "" : valid; else at flush_interval's line
	}{
		{"absent: the default", "", config.DefaultLogFlushInterval, ""},
		{"section without it: the default", "logging:\n  level: info\n", config.DefaultLogFlushInterval, ""},
		{"0s: write through", "logging:\n  flush_interval: 0s\n", 0, ""},
		{"set", "logging:\n  flush_interval: 250ms\n", 250 * time.Millisecond, ""},
		{"the maximum", "logging:\n  flush_interval: 1m\n", time.Minute, ""},
		{"over the maximum", "logging:\n  flush_interval: 2m\n", 0, "logging.flush_interval 2m0s must be between 0s (no buffer) and 1m0s"},
		{"negative", "logging:\n  flush_interval: -1s\n", 0, "logging.flush_interval -1s must be between"},
		{"not a duration", "logging:\n  flush_interval: soon\n", 0, "into time.Duration"},
	}
	line := fmt.Sprintf("log.yaml:%d: ", strings.Count(loggingBase, "\n")+2) // flush_interval's
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("log.yaml", []byte(loggingBase+tc.logging), config.Options{Getenv: func(string) string { return "" }})
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.HasPrefix(err.Error(), line) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrInvalid at %q containing %q", err, line, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Logging.FlushIntervalOrDefault(); got != tc.want {
				t.Errorf("FlushIntervalOrDefault() = %v, want %v", got, tc.want)
			}
		})
	}
}
