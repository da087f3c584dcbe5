package config_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/config"
)

// opsGood is good plus admin, vend and a TLS reload interval's neighbours;
// the bad cases replace one of its lines, and the line numbers refer to
// this text (good has 27 lines).
const opsGood = good + `admin:
  address: 127.0.0.1:9091
  pprof: true
vend:
  presign:
    max_expiry: 2h
    default_expiry: 10m
    proxy_url: https://files.example.com
    proxy_access_key: AKID
    rate_limit:
      per_second: 5
      burst: 10
  sts:
    role_arn: acs:ram::1234567890123456:role/vend
    session_name: vend
    max_duration: 2h
    default_duration: 30m
    rate_limit:
      per_second: 0.5
`

func TestParseOpsSections(t *testing.T) {
	cfg, err := config.Parse("ops.yaml", []byte(opsGood), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Vend{
		Presign: config.VendPresign{MaxExpiry: 2 * time.Hour, DefaultExpiry: 10 * time.Minute, ProxyURL: "https://files.example.com",
			ProxyAccessKey: "AKID", RateLimit: config.RateLimit{PerSecond: 5, Burst: 10}},
		STS: config.VendSTS{RoleARN: "acs:ram::1234567890123456:role/vend", SessionName: "vend", MaxDuration: 2 * time.Hour,
			DefaultDuration: 30 * time.Minute, RateLimit: config.RateLimit{PerSecond: 0.5}},
	}
	if cfg.Vend != want {
		t.Errorf("vend = %+v\nwant %+v", cfg.Vend, want)
	}
	if cfg.Admin != (config.Admin{Address: "127.0.0.1:9091", Pprof: true}) {
		t.Errorf("admin = %+v", cfg.Admin)
	}
	// Defaults.
	cfg, err = config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Admin.AddressOrDefault() != "127.0.0.1:9090" || cfg.Admin.Disabled || cfg.Vend.Disabled {
		t.Errorf("defaults: admin %+v vend %+v", cfg.Admin, cfg.Vend)
	}
}

func TestOpsSectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		line           int
		msg            string
	}{
		{"admin on the proxy port", "address: 127.0.0.1:9091", "address: localhost:0", 0, ""}, // port 0: both pick their own
		{"admin address", "address: 127.0.0.1:9091", "address: nonsense", 29, "is not host:port"},
		{"admin port", "address: 127.0.0.1:9091", "address: 127.0.0.1:http", 29, "no numeric port"},
		{"admin unknown field", "pprof: true", "profiling: true", 30, `unknown field "profiling"`},
		{"max_expiry above 7 days", "max_expiry: 2h", "max_expiry: 200h", 33, "168h"},
		{"max_expiry fraction", "max_expiry: 2h", "max_expiry: 7200500ms", 33, "whole seconds"},
		{"default_expiry above max", "default_expiry: 10m", "default_expiry: 3h", 34, "above max_expiry"},
		{"proxy_url not a URL", "proxy_url: https://files.example.com", "proxy_url: files.example.com", 35, "not an http(s) URL"},
		{"proxy_url with a path", "proxy_url: https://files.example.com", "proxy_url: https://files.example.com/x", 35, "without a path"},
		{"proxy_access_key unknown", "proxy_access_key: AKID", "proxy_access_key: NOPE", 36, "not an id in auth.access_keys"},
		{"proxy_url alone", "    proxy_access_key: AKID\n", "", 35, "needs proxy_access_key"},
		{"negative rate", "per_second: 5", "per_second: -1", 38, "per_second -1"},
		{"negative burst", "burst: 10", "burst: -2", 39, "burst -2"},
		{"role_arn", "role_arn: acs:ram::1234567890123456:role/vend", "role_arn: vend", 41, "not a RAM role ARN"},
		{"session_name", "session_name: vend", "session_name: v", 42, "2 to 64"},
		{"max_duration", "max_duration: 2h", "max_duration: 13h", 43, "between 15m and 12h"},
		{"default_duration", "default_duration: 30m", "default_duration: 3h", 44, "max_duration (2h0m0s)"},
		{"sts rate", "per_second: 0.5", "per_second: .nan", 46, "per_second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(opsGood, tc.old) {
				t.Fatalf("%q not in opsGood", tc.old)
			}
			text := strings.Replace(opsGood, tc.old, tc.new, 1)
			_, err := config.Parse("ops.yaml", []byte(text), config.Options{Getenv: goodEnv})
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("want valid: %v", err)
				}
				return
			}
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

func TestAdminNotOnProxyPort(t *testing.T) {
	for _, tc := range []struct {
		listener, admin string
		clash           bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"0.0.0.0:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "[::]:8080", true},
		{"127.0.0.1:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:9090", false},
		{"10.0.0.1:8080", "127.0.0.1:8080", false},
	} {
		text := strings.Replace(good, `address: "127.0.0.1:0"`, `address: "`+tc.listener+`"`, 1)
		text = strings.Replace(text, "    anonymous: true\n", "", 1)
		text += "admin:\n  address: \"" + tc.admin + "\"\n" // line 28
		_, err := config.Parse("a.yaml", []byte(text), config.Options{Getenv: goodEnv})
		if clash := err != nil && strings.Contains(err.Error(), "needs a port of its own"); clash != tc.clash {
			t.Errorf("listener %s, admin %s: err %v, want clash %v", tc.listener, tc.admin, err, tc.clash)
		}
		if tc.clash {
			if !strings.Contains(err.Error(), "a.yaml:28:") {
				t.Errorf("error without its line: %v", err)
			}
		}
	}
	// The --admin-addr path: ValidateAdmin on a loaded config.
	cfg, err := config.Parse("good.yaml", []byte(good), config.Options{Getenv: goodEnv})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.Address = "bad"
	if err := cfg.ValidateAdmin(); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "good.yaml: admin address") {
		t.Fatalf("ValidateAdmin: %v", err)
	}
	cfg.Admin.Address = "127.0.0.1:9999"
	if err := cfg.ValidateAdmin(); err != nil {
		t.Fatalf("ValidateAdmin: %v", err)
	}
}

// ExampleConfig_ValidateAdmin checks an admin address set after loading,
// as `ossproxy serve --admin-addr` does.
func ExampleConfig_ValidateAdmin() {
	getenv := func(string) string { return "s3cr3t" }
	cfg, err := config.Parse("ossproxy.yaml", []byte(photosYAML), config.Options{Getenv: getenv})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Admin.AddressOrDefault())
	cfg.Admin.Address = "0.0.0.0:8080"
	fmt.Println(cfg.ValidateAdmin())
	// Output:
	// 127.0.0.1:9090
	// ossproxy.yaml: admin address "0.0.0.0:8080" is also listener 1 (127.0.0.1:8080): the admin listener needs a port of its own
}
