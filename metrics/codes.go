package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
)

// ossCodes are the values of the code label of
// ossproxy_upstream_errors_total: the OSS error codes an operator acts
// on, then "other" (a code not listed), "none" (an error status without
// a code) and "transport" (no response).
var ossCodes = []string{
	"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken",
	"SecurityTokenExpired", "AccessKeyIdAndSecurityTokenNotMatch", "RequestTimeTooSkewed",
	"NoSuchBucket", "NoSuchKey", "NoSuchUpload", "NoSuchVersion", "InvalidArgument",
	"InvalidBucketName", "InvalidObjectName", "InvalidRange", "InvalidDigest", "InvalidPart",
	"InvalidPartOrder", "EntityTooLarge", "EntityTooSmall", "MalformedXML", "MissingContentLength",
	"MethodNotAllowed", "PreconditionFailed", "ObjectNotAppendable", "PositionNotEqualToLength",
	"FileAlreadyExists", "BucketNotEmpty", "BucketAlreadyExists", "TooManyBuckets",
	"RequestTimeout", "RequestIsNotMultiPartContent", "CallbackFailed", "KmsServiceNotEnabled",
	"QpsLimitExceeded", "TooManyRequests", "InternalError", "ServiceUnavailable",
	"other", "none", "transport",
}

const (
	codeOther     = 38
	codeNone      = 39
	codeTransport = 40
)

// authCodes are the values of the code label of
// ossproxy_auth_failures_total: package auth's error codes and the
// proxy's own refusals, then "other".
var authCodes = []string{
	"InvalidToken.Missing", "InvalidToken.Malformed", "InvalidToken.TooLarge", "InvalidToken.Expired",
	"InvalidToken.NotYetValid", "InvalidToken.Issuer", "InvalidToken.Audience", "InvalidToken.Signature",
	"InvalidToken.Algorithm", "InvalidToken.UnknownKeyId", "InvalidToken.Claims",
	"AccessDenied.AnonymousNotAllowed", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
	"RequestTimeTooSkewed", "other",
}

var (
	ossCodeIdx  = indexOf(ossCodes)
	authCodeIdx = indexOf(authCodes)
)

func indexOf(s []string) map[string]int {
	m := make(map[string]int, len(s))
	for i, v := range s {
		m[v] = i
	}
	return m
}

func ossCodeIndex(code string) int {
	if code == "" {
		return codeNone
	}
	if i, ok := ossCodeIdx[code]; ok && i < codeOther {
		return i
	}
	return codeOther
}

func authCodeIndex(code string) int {
	if i, ok := authCodeIdx[code]; ok {
		return i
	}
	return len(authCodes) - 1
}

// credentialsCollector reads a credentials.Cache's Stats at scrape time.
type credentialsCollector struct {
	stats func() credentials.Stats
	now   func() time.Time
}

var (
	credExpiryDesc = prometheus.NewDesc("ossproxy_credentials_expiry_seconds",
		"Seconds until the cached upstream credentials expire (negative: expired; absent: they never expire or none are cached).", nil, nil)
	credValidDesc = prometheus.NewDesc("ossproxy_credentials_valid",
		"1 if valid upstream credentials are cached, else 0.", nil, nil)
	credRefreshDesc = prometheus.NewDesc("ossproxy_credentials_refreshes_total",
		"Successful upstream credential refreshes.", nil, nil)
	credFailDesc = prometheus.NewDesc("ossproxy_credentials_refresh_failures_total",
		"Failed upstream credential refreshes.", nil, nil)
	credLastDesc = prometheus.NewDesc("ossproxy_credentials_last_refresh_timestamp_seconds",
		"Unix time of the last successful upstream credential refresh.", nil, nil)
	tokenHitsDesc   = prometheus.NewDesc("ossproxy_token_cache_hits_total", "Verified-token cache hits.", nil, nil)
	tokenMissesDesc = prometheus.NewDesc("ossproxy_token_cache_misses_total", "Verified-token cache misses.", nil, nil)
	tokenLenDesc    = prometheus.NewDesc("ossproxy_token_cache_entries", "Tokens in the verified-token cache.", nil, nil)
)

func (c *credentialsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{credExpiryDesc, credValidDesc, credRefreshDesc, credFailDesc, credLastDesc} {
		ch <- d
	}
}

func (c *credentialsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	if !s.Expires.IsZero() {
		ch <- prometheus.MustNewConstMetric(credExpiryDesc, prometheus.GaugeValue, s.Expires.Sub(c.now()).Seconds())
	}
	valid := 0.0
	if s.Valid {
		valid = 1
	}
	ch <- prometheus.MustNewConstMetric(credValidDesc, prometheus.GaugeValue, valid)
	ch <- prometheus.MustNewConstMetric(credRefreshDesc, prometheus.CounterValue, float64(s.Refreshes))
	ch <- prometheus.MustNewConstMetric(credFailDesc, prometheus.CounterValue, float64(s.Failures))
	if !s.LastRefresh.IsZero() {
		ch <- prometheus.MustNewConstMetric(credLastDesc, prometheus.GaugeValue, float64(s.LastRefresh.UnixNano())/1e9)
	}
}

// tokenCacheCollector reads an auth.Authenticator's CacheStats at scrape
// time.
type tokenCacheCollector struct{ stats func() auth.CacheStats }

func (c *tokenCacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenHitsDesc
	ch <- tokenMissesDesc
	ch <- tokenLenDesc
}

func (c *tokenCacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(tokenHitsDesc, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(tokenMissesDesc, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(tokenLenDesc, prometheus.GaugeValue, float64(s.Len))
}
