package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ReservedPrefix is the path prefix of the proxy's own API. No bucket can
// take it (bucket names have no '_'), and in virtual-host and
// default-bucket mode keys under it are not reachable through the proxy.
const ReservedPrefix = "/_ossproxy/"

// MaxKeyLength is the longest object key OSS accepts, in bytes.
const MaxKeyLength = 1023

// Route is where a request goes: the decoded bucket and key, and the
// parsed query. Bucket is empty for service-level requests (ListBuckets)
// and Key is empty for bucket-level requests.
type Route struct {
	Bucket string
	// Key is the object key exactly as OSS will see it: decoded once from
	// the request path, then re-encoded canonically when forwarded.
	Key string
	// Query is the decoded query; no parameter appears twice.
	Query url.Values
	// RawQuery is the query string as received.
	RawQuery string
	// Reserved is set for paths under ReservedPrefix; Key then holds the
	// rest of the path and Bucket is empty.
	Reserved bool
}

// Router maps a request's host and path to a Route. It is immutable and
// safe for concurrent use.
type Router struct {
	buckets  map[string]*bucketRoute
	hosts    map[string]string
	suffixes []string // lower-case, with a leading '.'
	def      string
	first    string // first listed bucket, for service-level requests
	trustXFH bool
}

// NewRouter validates cfg and returns a Router for it. Errors wrap ErrConfig.
func NewRouter(cfg Config) (*Router, error) {
	buckets, hosts, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	rt := &Router{buckets: buckets, hosts: hosts, def: cfg.DefaultBucket, first: cfg.Buckets[0].Name, trustXFH: cfg.TrustForwardedHost}
	for _, s := range cfg.VirtualHostSuffixes {
		rt.suffixes = append(rt.suffixes, "."+strings.ToLower(strings.TrimPrefix(s, ".")))
	}
	return rt, nil
}

// Route routes r. Errors wrap ErrInvalidURI, ErrInvalidBucketName,
// ErrInvalidObjectName or ErrNoSuchBucket (a well-formed bucket that is not
// configured; the Route is then returned too, for authentication only). Route decodes the path exactly once and refuses, rather
// than guesses at, every ambiguous form: CONNECT, absolute-form or
// asterisk-form targets, bad percent-encoding, NUL and control characters,
// invalid UTF-8, backslashes, "." and ".." segments (raw or encoded), keys
// starting with '/' and empty inner segments ("a//b"), and repeated or
// undecodable query parameters.
func (rt *Router) Route(r *http.Request) (Route, error) {
	if r.Method == http.MethodConnect {
		return Route{}, fmt.Errorf("routing: %w: CONNECT", ErrInvalidURI)
	}
	raw := r.RequestURI
	if raw == "" { // a client-side request handed to the handler directly
		raw = r.URL.RequestURI()
	}
	if !strings.HasPrefix(raw, "/") || r.URL.Host != "" || r.URL.Scheme != "" {
		return Route{}, fmt.Errorf("routing: %w: request target is not in origin form", ErrInvalidURI)
	}
	rawPath, rawQuery, _ := strings.Cut(raw, "?")
	path, err := decodePath(rawPath)
	if err != nil {
		return Route{}, fmt.Errorf("routing: %w", err)
	}
	query, err := parseQuery(rawQuery)
	if err != nil {
		return Route{}, fmt.Errorf("routing: %w", err)
	}
	rte := Route{Query: query, RawQuery: rawQuery}

	if path == ReservedPrefix[:len(ReservedPrefix)-1] || strings.HasPrefix(path, ReservedPrefix) {
		rte.Reserved = true
		rte.Key = strings.TrimPrefix(path[len(ReservedPrefix)-1:], "/")
		return rte, nil
	}

	bucket, keyPath, ok := "", "", false
	host := ""
	if len(rt.suffixes) > 0 || len(rt.hosts) > 0 {
		if host, err = rt.host(r); err != nil {
			return Route{}, err
		}
	}
	// A bucket's own host name wins over a suffix it happens to end with.
	if b, found := rt.hosts[host]; found {
		bucket, keyPath, ok = b, path[1:], true
	} else {
		for _, s := range rt.suffixes {
			if label, found := strings.CutSuffix(host, s); found {
				if !validBucketName(label) {
					return Route{}, fmt.Errorf("routing: %w: virtual host", ErrInvalidBucketName)
				}
				bucket, keyPath, ok = label, path[1:], true
				break
			}
		}
	}
	if !ok && rt.def != "" {
		bucket, keyPath, ok = rt.def, path[1:], true
	}
	if !ok { // path style: /bucket/key
		seg, rest, _ := strings.Cut(path[1:], "/")
		if seg == "" {
			if path != "/" {
				return Route{}, fmt.Errorf("routing: %w: empty bucket segment", ErrInvalidURI)
			}
			return rte, nil // service level
		}
		if !validBucketName(seg) {
			return Route{}, fmt.Errorf("routing: %w", ErrInvalidBucketName)
		}
		bucket, keyPath = seg, rest
	}
	if err := validateKey(keyPath); err != nil {
		return Route{}, fmt.Errorf("routing: %w", err)
	}
	rte.Bucket, rte.Key = bucket, keyPath
	if _, listed := rt.buckets[bucket]; !listed {
		// The route is returned too, so the caller can authenticate
		// before answering (a signature covers the bucket and key).
		return rte, fmt.Errorf("routing: %w", ErrNoSuchBucket)
	}
	return rte, nil
}

// host returns the lower-case request host without port, from Host or,
// when trusted, X-Forwarded-Host.
func (rt *Router) host(r *http.Request) (string, error) {
	h := r.Host
	if rt.trustXFH {
		if v := r.Header.Values("X-Forwarded-Host"); len(v) > 0 {
			if len(v) > 1 || strings.Contains(v[0], ",") {
				return "", fmt.Errorf("routing: %w: several forwarded hosts", ErrInvalidURI)
			}
			h = strings.TrimSpace(v[0])
		}
	}
	if strings.IndexByte(h, ':') >= 0 {
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h), nil
		}
	}
	return h, nil
}

// bucket returns the configuration of a listed bucket.
func (rt *Router) bucket(name string) (*bucketRoute, bool) {
	b, ok := rt.buckets[name]
	return b, ok
}

// decodePath percent-decodes raw exactly once. Every '%' must start a
// valid %XX; the result must be valid UTF-8 (which excludes overlong
// forms such as %c0%ae) without control characters or backslashes.
func decodePath(raw string) (string, error) {
	if !strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("%w: path does not start with '/'", ErrInvalidURI)
	}
	var b []byte
	if strings.IndexByte(raw, '%') >= 0 {
		b = make([]byte, 0, len(raw))
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c == '%' {
				if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
					return "", fmt.Errorf("%w: invalid percent-encoding", ErrInvalidURI)
				}
				c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
				i += 2
			}
			b = append(b, c)
		}
	}
	s := raw
	if b != nil {
		s = string(b)
	}
	if err := checkChars(s); err != nil {
		return "", err
	}
	return s, nil
}

// checkChars refuses control characters, backslashes and invalid UTF-8.
func checkChars(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return fmt.Errorf("%w: control character or backslash", ErrInvalidURI)
		}
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: invalid UTF-8", ErrInvalidURI)
	}
	return nil
}

// validateKey checks a decoded key (possibly empty): at most MaxKeyLength
// bytes, no control characters, backslashes or invalid UTF-8, no leading
// '/', no "." or ".." segment and no empty segment except a trailing '/'.
func validateKey(key string) error {
	if key == "" {
		return nil
	}
	if len(key) > MaxKeyLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidObjectName, MaxKeyLength)
	}
	if err := checkChars(key); err != nil {
		return err
	}
	if key[0] == '/' {
		return fmt.Errorf("%w: key starts with '/'", ErrInvalidURI)
	}
	for rest := key; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch seg {
		case ".", "..":
			return fmt.Errorf("%w: dot segment", ErrInvalidURI)
		case "":
			return fmt.Errorf("%w: empty path segment", ErrInvalidURI)
		}
	}
	return nil
}

// parseQuery decodes a raw query strictly: undecodable pairs, ';' and
// repeated parameters are errors, so the proxy, its policy and OSS cannot
// read different values.
func parseQuery(raw string) (url.Values, error) {
	if raw == "" {
		return nil, nil // a nil url.Values reads as empty
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: query does not decode", ErrInvalidURI)
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, fmt.Errorf("%w: repeated query parameter", ErrInvalidURI)
		}
		if err := checkChars(k); err != nil {
			return nil, err
		}
		if err := checkChars(v[0]); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

const upperHex = "0123456789ABCDEF"

// escapePath encodes s as OSS and its SDKs do: RFC 3986 unreserved bytes
// and '/' as they are, everything else %XX with upper-case hex.
func escapePath(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepByte(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keepByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return string(b)
}

func keepByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '/'
}
