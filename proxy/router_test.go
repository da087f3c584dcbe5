package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

func testConfig() Config {
	return Config{
		Buckets: []BucketConfig{
			{Name: "bkt", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"},
			{Name: "other", Endpoint: "https://oss-cn-beijing.aliyuncs.com", Region: "cn-beijing", Hosts: []string{"files.example.com"}},
		},
		VirtualHostSuffixes: []string{"oss.local"},
	}
}

// rawRequest builds a server-side request for a raw request target, as
// net/http's server would see it.
func rawRequest(t testing.TB, method, host, target string) *http.Request {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil { // net/http would refuse it; the router must too
		u = &url.URL{Path: target}
	}
	return &http.Request{Method: method, Host: host, RequestURI: target, URL: u, Header: http.Header{}}
}

func TestRoute(t *testing.T) {
	tests := []struct {
		name         string
		method, host string
		target       string
		xfh          []string
		trustXFH     bool
		defBucket    string
		wantErr      error
		bucket, key  string
		reserved     bool
	}{
		{name: "path style", target: "/bkt/a/b.txt", bucket: "bkt", key: "a/b.txt"},
		{name: "encoded space", target: "/bkt/a%20b", bucket: "bkt", key: "a b"},
		{name: "encoded slash is a slash", target: "/bkt/a%2Fb", bucket: "bkt", key: "a/b"},
		{name: "lower-case hex", target: "/bkt/%e4%b8%ad", bucket: "bkt", key: "中"},
		{name: "directory marker", target: "/bkt/dir/", bucket: "bkt", key: "dir/"},
		{name: "bucket only", target: "/bkt", bucket: "bkt"},
		{name: "bucket slash", target: "/bkt/", bucket: "bkt"},
		{name: "service", target: "/"},
		{name: "double encoding is literal", target: "/bkt/%252e%252e/x", bucket: "bkt", key: "%2e%2e/x"},
		{name: "encoded bucket decodes once", target: "/b%6Bt/x", bucket: "bkt", key: "x"},
		{name: "dotdot raw", target: "/bkt/../other/x", wantErr: ErrInvalidURI},
		{name: "dotdot encoded", target: "/bkt/%2e%2e/secret", wantErr: ErrInvalidURI},
		{name: "dotdot mixed", target: "/bkt/a/.%2E/b", wantErr: ErrInvalidURI},
		{name: "dot segment", target: "/bkt/a/./b", wantErr: ErrInvalidURI},
		{name: "trailing dotdot", target: "/bkt/a/..", wantErr: ErrInvalidURI},
		{name: "encoded slash builds dotdot", target: "/bkt/a%2F..%2Fb", wantErr: ErrInvalidURI},
		{name: "overlong dot", target: "/bkt/%c0%ae%c0%ae/x", wantErr: ErrInvalidURI},
		{name: "invalid utf8", target: "/bkt/%ff", wantErr: ErrInvalidURI},
		{name: "NUL", target: "/bkt/a%00b", wantErr: ErrInvalidURI},
		{name: "newline", target: "/bkt/a%0Ab", wantErr: ErrInvalidURI},
		{name: "DEL", target: "/bkt/a%7F", wantErr: ErrInvalidURI},
		{name: "encoded backslash", target: "/bkt/a%5Cb", wantErr: ErrInvalidURI},
		{name: "raw backslash", target: `/bkt/a\b`, wantErr: ErrInvalidURI},
		{name: "backslash first", target: "/bkt/%5C..%5Cx", wantErr: ErrInvalidURI},
		{name: "bad hex", target: "/bkt/a%zz", wantErr: ErrInvalidURI},
		{name: "truncated escape", target: "/bkt/a%2", wantErr: ErrInvalidURI},
		{name: "key starts with slash", target: "/bkt//etc/passwd", wantErr: ErrInvalidURI},
		{name: "encoded leading slash", target: "/bkt/%2Fetc", wantErr: ErrInvalidURI},
		{name: "empty inner segment", target: "/bkt/a//b", wantErr: ErrInvalidURI},
		{name: "empty bucket", target: "//bkt/x", wantErr: ErrInvalidURI},
		{name: "upper-case bucket", target: "/BKT/x", wantErr: ErrInvalidBucketName},
		{name: "short bucket", target: "/ab/x", wantErr: ErrInvalidBucketName},
		{name: "unlisted bucket", target: "/nope/x", wantErr: ErrNoSuchBucket, bucket: "nope", key: "x"},
		{name: "too long", target: "/bkt/" + strings.Repeat("k", MaxKeyLength+1), wantErr: ErrInvalidObjectName},
		{name: "longest key", target: "/bkt/" + strings.Repeat("k", MaxKeyLength), bucket: "bkt", key: strings.Repeat("k", MaxKeyLength)},
		{name: "reserved", target: "/_ossproxy/healthz", reserved: true, key: "healthz"},
		{name: "reserved encoded", target: "/%5Fossproxy/healthz", reserved: true, key: "healthz"},
		{name: "reserved root", target: "/_ossproxy", reserved: true},
		{name: "repeated query", target: "/bkt/k?acl&acl", wantErr: ErrInvalidURI},
		{name: "repeated prefix", target: "/bkt/?prefix=a/&prefix=b/", wantErr: ErrInvalidURI},
		{name: "bad query escape", target: "/bkt/k?a=%zz", wantErr: ErrInvalidURI},
		{name: "semicolon query", target: "/bkt/k?a=1;b=2", wantErr: ErrInvalidURI},
		{name: "NUL in query", target: "/bkt/?prefix=a%00", wantErr: ErrInvalidURI},
		{name: "absolute form", target: "http://evil.example/bkt/k", wantErr: ErrInvalidURI},
		{name: "absolute form same host", host: "bkt.oss.local", target: "http://bkt.oss.local/k", wantErr: ErrInvalidURI},
		{name: "CONNECT", method: http.MethodConnect, target: "/bkt/k", wantErr: ErrInvalidURI},

		{name: "virtual host", host: "bkt.oss.local", target: "/a/b", bucket: "bkt", key: "a/b"},
		{name: "virtual host with port and case", host: "BKT.OSS.local:8080", target: "/a", bucket: "bkt", key: "a"},
		{name: "virtual host bucket op", host: "bkt.oss.local", target: "/?acl", bucket: "bkt"},
		{name: "virtual host unlisted", host: "secret.oss.local", target: "/a", wantErr: ErrNoSuchBucket, bucket: "secret", key: "a"},
		{name: "virtual host two labels", host: "a.bkt.oss.local", target: "/a", wantErr: ErrInvalidBucketName},
		{name: "virtual host dotdot", host: "bkt.oss.local", target: "/%2e%2e/x", wantErr: ErrInvalidURI},
		{name: "cname host", host: "files.example.com", target: "/a", bucket: "other", key: "a"},
		{name: "spoofed host is not a route", host: "evil.example", target: "/bkt/k", bucket: "bkt", key: "k"},
		{name: "untrusted XFH ignored", host: "bkt.oss.local", xfh: []string{"other.oss.local"}, target: "/k", bucket: "bkt", key: "k"},
		{name: "untrusted XFH to unlisted ignored", host: "bkt.oss.local", xfh: []string{"secret.oss.local"}, target: "/k", bucket: "bkt", key: "k"},
		{name: "trusted XFH", trustXFH: true, host: "bkt.oss.local", xfh: []string{"other.oss.local"}, target: "/k", bucket: "other", key: "k"},
		{name: "trusted XFH unlisted", trustXFH: true, host: "bkt.oss.local", xfh: []string{"secret.oss.local"}, target: "/k", wantErr: ErrNoSuchBucket, bucket: "secret", key: "k"},
		{name: "trusted XFH list", trustXFH: true, host: "bkt.oss.local", xfh: []string{"bkt.oss.local, other.oss.local"}, target: "/k", wantErr: ErrInvalidURI},
		{name: "trusted XFH twice", trustXFH: true, host: "bkt.oss.local", xfh: []string{"bkt.oss.local", "other.oss.local"}, target: "/k", wantErr: ErrInvalidURI},

		{name: "default bucket key", defBucket: "bkt", target: "/bkt/k", bucket: "bkt", key: "bkt/k"},
		{name: "default bucket root", defBucket: "bkt", target: "/?acl", bucket: "bkt"},
		{name: "default bucket reserved", defBucket: "bkt", target: "/_ossproxy/x", reserved: true, key: "x"},
		{name: "default bucket dotdot", defBucket: "bkt", target: "/a/../b", wantErr: ErrInvalidURI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TrustForwardedHost = tc.trustXFH
			cfg.DefaultBucket = tc.defBucket
			rt, err := NewRouter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			method, host := tc.method, tc.host
			if method == "" {
				method = http.MethodGet
			}
			if host == "" {
				host = "proxy.local:9000"
			}
			r := rawRequest(t, method, host, tc.target)
			for _, v := range tc.xfh {
				r.Header.Add("X-Forwarded-Host", v)
			}
			got, err := rt.Route(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Route(%q) error = %v, want %v", tc.target, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNoSuchBucket) {
				return
			}
			if got.Bucket != tc.bucket || got.Key != tc.key || got.Reserved != tc.reserved {
				t.Errorf("Route(%q) = bucket %q key %q reserved %v, want %q %q %v", tc.target, got.Bucket, got.Key, got.Reserved, tc.bucket, tc.key, tc.reserved)
			}
		})
	}
}

// TestRouteHostBeforeSuffix: a host listed for a bucket routes to that
// bucket even when it also ends with a virtual-host suffix.
func TestRouteHostBeforeSuffix(t *testing.T) {
	cfg := testConfig()
	cfg.Buckets[1].Hosts = []string{"files.oss.local"}
	cfg.Buckets = append(cfg.Buckets, BucketConfig{Name: "files", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"})
	rt, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"files.oss.local": "other", "FILES.oss.local:80": "other", "bkt.oss.local": "bkt"} {
		if got, err := rt.Route(rawRequest(t, http.MethodGet, host, "/k")); err != nil || got.Bucket != want || got.Key != "k" {
			t.Errorf("host %s: route %+v, %v; want %s/k", host, got, err, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	ok := BucketConfig{Name: "bkt", Endpoint: "https://oss.example.com", Region: "r"}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no buckets", Config{}},
		{"bad name", Config{Buckets: []BucketConfig{{Name: "_ossproxy", Endpoint: ok.Endpoint, Region: "r"}}}},
		{"duplicate", Config{Buckets: []BucketConfig{ok, ok}}},
		{"plain http", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "http://oss.example.com", Region: "r"}}}},
		{"endpoint path", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: "https://oss.example.com/x", Region: "r"}}}},
		{"no region", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: ok.Endpoint}}}},
		{"bad style", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: ok.Endpoint, Region: "r", AddressingStyle: "dns"}}}},
		{"bad version", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: ok.Endpoint, Region: "r", SignatureVersion: "v2"}}}},
		{"default unlisted", Config{Buckets: []BucketConfig{ok}, DefaultBucket: "nope"}},
		{"suffix with port", Config{Buckets: []BucketConfig{ok}, VirtualHostSuffixes: []string{"oss.local:80"}}},
		{"host with port", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: ok.Endpoint, Region: "r", Hosts: []string{"files.example.com:443"}}}}},
		{"empty host", Config{Buckets: []BucketConfig{{Name: "bkt", Endpoint: ok.Endpoint, Region: "r", Hosts: []string{""}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRouter(tc.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("NewRouter error = %v, want ErrConfig", err)
			}
		})
	}
	// A host written with a trailing dot or in upper case matches the
	// request host as the router normalises it.
	rt, err := NewRouter(Config{Buckets: []BucketConfig{ok, {Name: "other", Endpoint: ok.Endpoint, Region: "r", Hosts: []string{"Files.Example.COM."}}}})
	if err != nil {
		t.Fatalf("host with trailing dot: %v", err)
	}
	if rte, err := rt.Route(rawRequest(t, http.MethodGet, "files.example.com:8443", "/k")); err != nil || rte.Bucket != "other" || rte.Key != "k" {
		t.Errorf("host with trailing dot: route %+v, %v; want other/k", rte, err)
	}
	insecure := ok
	insecure.Endpoint, insecure.AllowInsecureHTTP = "http://127.0.0.1:9000", true
	rt, err = NewRouter(Config{Buckets: []BucketConfig{insecure}})
	if err != nil {
		t.Fatalf("allow_insecure_http: %v", err)
	}
	if b, _ := rt.bucket("bkt"); b.style != PathStyle || b.sig != SignatureV4 {
		t.Errorf("IP endpoint defaults = %s %s, want path v4", b.style, b.sig)
	}
}

// FuzzRoute checks that routing never panics and that every accepted
// key is one policy and OSS read the same way: valid UTF-8 without
// control characters, backslashes or dot segments, and stable under the
// proxy's re-encoding (routing the forwarded path yields the same route).
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		"/bkt/a/b", "/bkt/%2e%2e/x", "/bkt/a%2Fb", "/bkt/%252e", "/bkt/%c0%ae", "/bkt/a//b",
		"/bkt/a%00", `/bkt/a\b`, "/_ossproxy/x", "/", "/bkt/dir/", "/bkt/%E4%B8%AD?prefix=x",
	} {
		f.Add(s, "proxy.local")
		f.Add(s, "bkt.oss.local")
	}
	rt, err := NewRouter(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target, host string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http refuses it before any handler
		}
		r := &http.Request{Method: http.MethodGet, Host: host, RequestURI: target, URL: u, Header: http.Header{}}
		got, err := rt.Route(r)
		if err != nil || got.Reserved || got.Bucket == "" {
			return
		}
		k := got.Key
		if !utf8.ValidString(k) || strings.ContainsAny(k, "\\\x00") || strings.HasPrefix(k, "/") {
			t.Fatalf("key %q accepted from %q", k, target)
		}
		for _, seg := range strings.Split(k, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("dot segment in %q from %q", k, target)
			}
		}
		fwd := escapePath("/" + got.Bucket + "/" + k)
		if dec, err := url.PathUnescape(fwd); err != nil || dec != "/"+got.Bucket+"/"+k {
			t.Fatalf("forwarded path %q does not decode to the key %q", fwd, k)
		}
		again, err := rt.Route(rawRequest(t, http.MethodGet, "proxy.local", fwd))
		if err != nil || again.Bucket != got.Bucket || again.Key != k {
			t.Fatalf("re-routing %q = %+v, %v; want bucket %q key %q", fwd, again, err, got.Bucket, k)
		}
	})
}

func TestConfigYAML(t *testing.T) {
	const doc = `
buckets:
  - name: photos
    endpoint: https://oss-cn-hangzhou.aliyuncs.com
    region: cn-hangzhou
    addressing_style: virtual
    signature_version: v1
    public_endpoint: https://photos.example.com
    hosts: [photos.example.com]
  - name: local
    endpoint: http://127.0.0.1:9000
    region: cn-hangzhou
    allow_insecure_http: true
virtual_host_suffixes: [oss.internal]
default_bucket: photos
trust_forwarded_host: true
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	rt, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := rt.bucket("photos")
	l, _ := rt.bucket("local")
	if p.style != VirtualHosted || p.sig != SignatureV1 || p.PublicEndpoint != "https://photos.example.com" ||
		l.style != PathStyle || !l.AllowInsecureHTTP || rt.def != "photos" || !rt.trustXFH || rt.hosts["photos.example.com"] != "photos" {
		t.Errorf("decoded config: %+v %+v %+v", p, l, rt)
	}
}
