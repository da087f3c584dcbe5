package proxy

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// SignatureVersion selects how the proxy signs upstream requests.
type SignatureVersion string

// Signature versions.
const (
	SignatureV4 SignatureVersion = "v4" // OSS4-HMAC-SHA256, the default
	SignatureV1 SignatureVersion = "v1" // HMAC-SHA1, for endpoints without V4
)

// AddressingStyle says how the bucket appears in the upstream URL.
type AddressingStyle string

// Addressing styles.
const (
	// VirtualHosted puts the bucket in the host: bucket.oss-cn-hangzhou.aliyuncs.com/key.
	// It is the default for host names.
	VirtualHosted AddressingStyle = "virtual"
	// PathStyle puts it in the path: host/bucket/key. It is the default
	// for IP-address endpoints (osstest listens on 127.0.0.1).
	PathStyle AddressingStyle = "path"
)

// BucketConfig is one bucket the proxy serves. Requests for buckets not
// listed never leave the proxy.
type BucketConfig struct {
	// Name is the bucket name: [a-z0-9-], 3 to 63 characters, not
	// starting or ending with '-'.
	Name string `yaml:"name"`
	// Endpoint is the upstream scheme and host, e.g.
	// "https://oss-cn-hangzhou.aliyuncs.com". Plain http is refused
	// unless AllowInsecureHTTP is set.
	Endpoint string `yaml:"endpoint"`
	// Region is the signing region, e.g. "cn-hangzhou".
	Region string `yaml:"region"`
	// AddressingStyle is the upstream URL style; empty picks PathStyle for
	// IP endpoints and VirtualHosted otherwise.
	AddressingStyle AddressingStyle `yaml:"addressing_style"`
	// SignatureVersion is the upstream signature; empty means V4.
	SignatureVersion SignatureVersion `yaml:"signature_version"`
	// PublicEndpoint is the endpoint presigned URLs will name (later use).
	PublicEndpoint string `yaml:"public_endpoint"`
	// Hosts are extra request host names (CNAME style) that address this
	// bucket: a request for one of them is read as /key. Compared
	// case-insensitively, without port or trailing dot.
	Hosts []string `yaml:"hosts"`
	// AllowInsecureHTTP allows an http:// Endpoint (tests, osstest).
	AllowInsecureHTTP bool `yaml:"allow_insecure_http"`
	// AllowCallbacks lets requests for this bucket carry an upload
	// callback (x-oss-callback or x-oss-callback-var headers, callback or
	// callback-var query parameters): after the upload OSS itself POSTs to
	// a URL the caller chose, from OSS's network. False (the default)
	// refuses such requests with 403 AccessDenied.
	AllowCallbacks bool `yaml:"allow_callbacks"`
}

// Config is the routing configuration of a Handler. It is read-only once
// passed to New.
type Config struct {
	// Buckets are the buckets served. At least one is required.
	Buckets []BucketConfig `yaml:"buckets"`
	// VirtualHostSuffixes are host suffixes for virtual-host requests: with
	// "oss.local", a request for "photos.oss.local" addresses bucket
	// "photos". Compared case-insensitively, without port.
	VirtualHostSuffixes []string `yaml:"virtual_host_suffixes"`
	// DefaultBucket, when set, makes every request that is neither
	// virtual-host nor for a bucket's Hosts a request for this bucket,
	// with the whole path as the key (for apps whose endpoint already
	// names the bucket). Path-style addressing is then off.
	DefaultBucket string `yaml:"default_bucket"`
	// TrustForwardedHost makes the router read X-Forwarded-Host instead of
	// Host. Set it only behind a proxy that overwrites that header.
	TrustForwardedHost bool `yaml:"trust_forwarded_host"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid proxy configuration")

// bucketRoute is a validated BucketConfig.
type bucketRoute struct {
	BucketConfig
	scheme, host string
	style        AddressingStyle
	sig          SignatureVersion
}

func (c *Config) compile() (map[string]*bucketRoute, map[string]string, error) {
	if len(c.Buckets) == 0 {
		return nil, nil, fmt.Errorf("%w: no buckets", ErrConfig)
	}
	buckets := make(map[string]*bucketRoute, len(c.Buckets))
	hosts := map[string]string{}
	for _, b := range c.Buckets {
		if !validBucketName(b.Name) {
			return nil, nil, fmt.Errorf("%w: bucket name %q", ErrConfig, b.Name)
		}
		if _, dup := buckets[b.Name]; dup {
			return nil, nil, fmt.Errorf("%w: bucket %q listed twice", ErrConfig, b.Name)
		}
		u, err := url.Parse(b.Endpoint)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, nil, fmt.Errorf("%w: bucket %q: endpoint must be scheme://host[:port]", ErrConfig, b.Name)
		}
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && b.AllowInsecureHTTP:
		default:
			return nil, nil, fmt.Errorf("%w: bucket %q: endpoint scheme %q (http needs allow_insecure_http)", ErrConfig, b.Name, u.Scheme)
		}
		if b.Region == "" {
			return nil, nil, fmt.Errorf("%w: bucket %q: region is required", ErrConfig, b.Name)
		}
		r := &bucketRoute{BucketConfig: b, scheme: u.Scheme, host: u.Host, style: b.AddressingStyle, sig: b.SignatureVersion}
		switch r.style {
		case "":
			r.style = VirtualHosted
			if isIPHost(u.Hostname()) {
				r.style = PathStyle
			}
		case VirtualHosted, PathStyle:
		default:
			return nil, nil, fmt.Errorf("%w: bucket %q: addressing_style %q", ErrConfig, b.Name, b.AddressingStyle)
		}
		switch r.sig {
		case "":
			r.sig = SignatureV4
		case SignatureV4, SignatureV1:
		default:
			return nil, nil, fmt.Errorf("%w: bucket %q: signature_version %q", ErrConfig, b.Name, b.SignatureVersion)
		}
		buckets[b.Name] = r
		for _, h := range b.Hosts {
			// As the router reads the request host: lower case, no
			// trailing dot, no port (a port would never match).
			h = strings.TrimSuffix(strings.ToLower(h), ".")
			if h == "" || strings.ContainsAny(h, ":/") {
				return nil, nil, fmt.Errorf("%w: bucket %q: host %q (a name without port)", ErrConfig, b.Name, h)
			}
			if other, dup := hosts[h]; dup {
				return nil, nil, fmt.Errorf("%w: host %q names buckets %q and %q", ErrConfig, h, other, b.Name)
			}
			hosts[h] = b.Name
		}
	}
	if c.DefaultBucket != "" {
		if _, ok := buckets[c.DefaultBucket]; !ok {
			return nil, nil, fmt.Errorf("%w: default bucket %q is not listed", ErrConfig, c.DefaultBucket)
		}
	}
	for _, s := range c.VirtualHostSuffixes {
		if s == "" || strings.ContainsAny(s, ":/") {
			return nil, nil, fmt.Errorf("%w: virtual host suffix %q", ErrConfig, s)
		}
	}
	return buckets, hosts, nil
}

func isIPHost(h string) bool {
	if h == "localhost" {
		return true
	}
	return strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":")
}

// validBucketName reports whether s is an OSS bucket name: 3–63
// characters of [a-z0-9-], not starting or ending with '-'.
func validBucketName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
