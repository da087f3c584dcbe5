package metrics

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
)

// ErrNoRegistry is returned by New when Options.Registry is nil: the
// package never registers on prometheus.DefaultRegisterer.
var ErrNoRegistry = errors.New("metrics: no registry")

// ErrInvalidOption is returned for an option value out of its set.
var ErrInvalidOption = errors.New("metrics: invalid option")

// DefaultDurationBuckets are the histogram buckets, in seconds, of the
// request, time-to-first-byte and upstream histograms: 1 ms to 60 s,
// because object transfers range from tiny HEADs to multi-gigabyte
// streams.
var DefaultDurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Options configure Metrics.
type Options struct {
	// Registry receives every collector. Required.
	Registry prometheus.Registerer
	// Buckets are the configured bucket names. The bucket label takes
	// only these values, "other" for any other name and "none" for
	// requests without a bucket (ListBuckets, refused targets).
	Buckets []string
	// Credentials, if not nil, is read at scrape time for the
	// ossproxy_credentials_* series (credentials.Cache.Stats fits).
	Credentials func() credentials.Stats
	// TokenCache, if not nil, is read at scrape time for the
	// ossproxy_token_cache_* series (auth.Authenticator.CacheStats fits).
	TokenCache func() auth.CacheStats
	// Version, if not empty, is exported as ossproxy_build_info{version}.
	Version string
	// Now is the clock for durations and seconds-to-expiry. Nil means
	// time.Now.
	Now func() time.Time
	// DurationBuckets are the buckets of every duration histogram. Nil
	// means DefaultDurationBuckets.
	DurationBuckets []float64
}

// Metrics holds ossproxy's Prometheus collectors and the per-request
// observers that feed them (Middleware, Authenticator, Authorizer,
// Upstream). Label values come from fixed sets, so the number of series
// is bounded whatever the traffic.
//
// A Metrics is safe for concurrent use. Its methods on a nil *Metrics
// do nothing, so optional wiring needs no nil checks.
type Metrics struct {
	now     func() time.Time
	buckets map[string]int // configured name → label index
	bnames  []string       // label values: configured names, "other", "none"

	inFlight  prometheus.Gauge
	requests  cells[prometheus.Counter]  // method × class × bucket × mode
	duration  cells[prometheus.Observer] // method × class
	ttfb      cells[prometheus.Observer] // method
	received  cells[prometheus.Counter]  // bucket
	sent      cells[prometheus.Counter]  // bucket
	presigns  cells[prometheus.Counter]  // bucket × result
	upstream  cells[prometheus.Counter]  // class (+ "error")
	upErrors  cells[prometheus.Counter]  // OSS code
	upLatency prometheus.Histogram
	authFail  cells[prometheus.Counter] // stage × code
	vends     cells[prometheus.Counter] // result, plus "cached"
}

// Label value sets. Indexes into these are what the hot path computes.
var (
	methodLabels = []string{"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "other"}
	classLabels  = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	modeLabels   = []string{"jwt", "accesskey", "anonymous", "none", "other"}
	stageLabels  = []string{"authenticate", "authorize"}
	// upstream status classes, plus "error" when no response arrived.
	upstreamClassLabels = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other", "error"}
)

const (
	modeNone       = 3
	upstreamFailed = 6
	stageAuthn     = 0
	stageAuthz     = 1
)

// New creates the collectors and registers them on o.Registry. It fails
// with ErrNoRegistry without a registry, or with the registry's error
// (e.g. prometheus.AlreadyRegisteredError) when a name is taken.
func New(o Options) (*Metrics, error) {
	if o.Registry == nil {
		return nil, fmt.Errorf("creating metrics: %w", ErrNoRegistry)
	}
	m := &Metrics{now: o.Now, buckets: make(map[string]int, len(o.Buckets))}
	if m.now == nil {
		m.now = time.Now
	}
	for _, b := range o.Buckets {
		if _, dup := m.buckets[b]; !dup && b != "" {
			m.buckets[b] = len(m.bnames)
			m.bnames = append(m.bnames, b)
		}
	}
	m.bnames = append(m.bnames, "other", "none")
	db := o.DurationBuckets
	if db == nil {
		db = DefaultDurationBuckets
	}

	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ossproxy_requests_in_flight",
		Help: "Requests the proxy is serving now.",
	})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_requests_total",
		Help: "Requests served, by method, status class, configured bucket and authentication mode.",
	}, []string{"method", "status_class", "bucket", "auth_mode"})
	nb, nm, nc := len(m.bnames), len(modeLabels), len(classLabels)
	m.requests = newCells(len(methodLabels)*nc*nb*nm, func(i int) prometheus.Counter {
		mode, i := i%nm, i/nm
		b, i := i%nb, i/nb
		class, method := i%nc, i/nc
		return requests.WithLabelValues(methodLabels[method], classLabels[class], m.bnames[b], modeLabels[mode])
	})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ossproxy_request_duration_seconds",
		Help:    "Time from receiving a request's headers to the end of its response, by method and status class.",
		Buckets: db,
	}, []string{"method", "status_class"})
	m.duration = newCells(len(methodLabels)*nc, func(i int) prometheus.Observer {
		return duration.WithLabelValues(methodLabels[i/nc], classLabels[i%nc])
	})
	ttfb := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ossproxy_time_to_first_byte_seconds",
		Help:    "Time from receiving a request's headers to writing the response headers, by method.",
		Buckets: db,
	}, []string{"method"})
	m.ttfb = newCells(len(methodLabels), func(i int) prometheus.Observer { return ttfb.WithLabelValues(methodLabels[i]) })
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_received_bytes_total",
		Help: "Request body bytes read from clients, by configured bucket.",
	}, []string{"bucket"})
	m.received = newCells(nb, func(i int) prometheus.Counter { return received.WithLabelValues(m.bnames[i]) })
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_sent_bytes_total",
		Help: "Response body bytes written to clients, by configured bucket.",
	}, []string{"bucket"})
	m.sent = newCells(nb, func(i int) prometheus.Counter { return sent.WithLabelValues(m.bnames[i]) })
	presigns := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_presigns_total",
		Help: "Presign API calls, by configured bucket and result (ok, denied, invalid, throttled, error).",
	}, []string{"bucket", "result"})
	nr := len(resultLabels)
	m.presigns = newCells(nb*nr, func(i int) prometheus.Counter {
		return presigns.WithLabelValues(m.bnames[i/nr], resultLabels[i%nr])
	})
	vends := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_sts_vends_total",
		Help: "STS vend API calls, by result (ok, cached: ok without an STS call, denied, invalid, throttled, error).",
	}, []string{"result"})
	m.vends = newCells(nr+1, func(i int) prometheus.Counter {
		if i == nr {
			return vends.WithLabelValues("cached")
		}
		return vends.WithLabelValues(resultLabels[i])
	})
	upstream := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_upstream_requests_total",
		Help: "Requests sent to OSS, retries included, by status class (error: no response).",
	}, []string{"status_class"})
	m.upstream = newCells(len(upstreamClassLabels), func(i int) prometheus.Counter {
		return upstream.WithLabelValues(upstreamClassLabels[i])
	})
	upErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_upstream_errors_total",
		Help: "OSS error responses and failed upstream requests, by OSS error code (other: unknown code, none: no code, transport: no response).",
	}, []string{"code"})
	m.upErrors = newCells(len(ossCodes), func(i int) prometheus.Counter { return upErrors.WithLabelValues(ossCodes[i]) })
	m.upLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ossproxy_upstream_response_seconds",
		Help:    "Time from sending a request to OSS to receiving its response headers.",
		Buckets: db,
	})
	authFail := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ossproxy_auth_failures_total",
		Help: "Refused requests, by stage (authenticate, authorize) and error code (other: unknown code).",
	}, []string{"stage", "code"})
	na := len(authCodes)
	m.authFail = newCells(len(stageLabels)*na, func(i int) prometheus.Counter {
		return authFail.WithLabelValues(stageLabels[i/na], authCodes[i%na])
	})

	cs := []prometheus.Collector{m.inFlight, requests, duration, ttfb, received, sent, presigns, vends,
		upstream, upErrors, m.upLatency, authFail}
	if o.Credentials != nil {
		cs = append(cs, &credentialsCollector{stats: o.Credentials, now: m.now})
	}
	if o.TokenCache != nil {
		cs = append(cs, &tokenCacheCollector{stats: o.TokenCache})
	}
	if o.Version != "" {
		bi := prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "ossproxy_build_info",
			Help:        "Always 1; the labels say which build is running.",
			ConstLabels: prometheus.Labels{"version": o.Version, "goversion": runtime.Version()},
		})
		bi.Set(1)
		cs = append(cs, bi)
	}
	for _, c := range cs {
		if err := o.Registry.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

// Request is one finished request, as ObserveRequest counts it.
type Request struct {
	Method string
	// Status is the response status (0 counts as 200, as net/http does).
	Status int
	// Bucket is the target bucket name ("" if none).
	Bucket string
	// AuthMode is the caller's authentication mode ("jwt", "accesskey",
	// "anonymous"; "" if the caller was not authenticated).
	AuthMode string
	// BytesIn and BytesOut are the body bytes read and written.
	BytesIn, BytesOut int64
	// Duration is the whole request; TTFB the time to the response
	// headers (not observed when negative, e.g. nothing was written).
	Duration, TTFB time.Duration
}

// ObserveRequest counts one finished request. It does not allocate once
// the label combination has been seen, so a proxy may call it from its
// access-log path. Middleware calls it for every request it wraps.
func (m *Metrics) ObserveRequest(r Request) {
	if m == nil {
		return
	}
	method, class, b, mode := methodIndex(r.Method), classIndex(r.Status), m.bucketIndex(r.Bucket), modeIndex(r.AuthMode)
	nb, nm, nc := len(m.bnames), len(modeLabels), len(classLabels)
	m.requests.at(((method*nc+class)*nb+b)*nm + mode).Inc()
	m.duration.at(method*nc + class).Observe(r.Duration.Seconds())
	if r.TTFB >= 0 {
		m.ttfb.at(method).Observe(r.TTFB.Seconds())
	}
	if r.BytesIn > 0 {
		m.received.at(b).Add(float64(r.BytesIn))
	}
	if r.BytesOut > 0 {
		m.sent.at(b).Add(float64(r.BytesOut))
	}
}

// AuthFailed counts a refused request. stageAuthorize says whether the
// policy refused it (else authentication failed); code is the error
// code, mapped to "other" when it is not a known one.
func (m *Metrics) AuthFailed(stageAuthorize bool, code string) {
	if m == nil {
		return
	}
	stage := stageAuthn
	if stageAuthorize {
		stage = stageAuthz
	}
	m.authFail.at(stage*len(authCodes) + authCodeIndex(code)).Inc()
}

// UpstreamResponse counts one request sent to OSS: its status (0 when
// no response arrived), the OSS error code of an error response ("" if
// none was found) and the time to the response headers.
func (m *Metrics) UpstreamResponse(status int, code string, d time.Duration) {
	if m == nil {
		return
	}
	if status == 0 {
		m.upstream.at(upstreamFailed).Inc()
		m.upErrors.at(codeTransport).Inc()
		return
	}
	m.upstream.at(classIndex(status)).Inc()
	m.upLatency.Observe(d.Seconds())
	if status >= 400 {
		m.upErrors.at(ossCodeIndex(code)).Inc()
	}
}

// Presigned counts one call of the presign API for bucket, by the HTTP
// status it was answered with (vend.Event.Status).
func (m *Metrics) Presigned(bucket string, status int) {
	if m == nil {
		return
	}
	m.presigns.at(m.bucketIndex(bucket)*len(resultLabels) + resultIndex(status)).Inc()
}

// Vended counts one call of the STS vend API by the HTTP status it was
// answered with; cached says a successful answer came from the scoped
// cache, without an STS call (vend.Event.Status and Cached).
func (m *Metrics) Vended(status int, cached bool) {
	if m == nil {
		return
	}
	i := resultIndex(status)
	if i == 0 && cached {
		i = len(resultLabels)
	}
	m.vends.at(i).Inc()
}

// resultLabels are the outcomes of a vend API call.
var resultLabels = []string{"ok", "denied", "invalid", "throttled", "error"}

func resultIndex(status int) int {
	switch {
	case status >= 200 && status < 300:
		return 0
	case status == 401 || status == 403:
		return 1
	case status == 429:
		return 3
	case status >= 400 && status < 500:
		return 2
	}
	return 4
}

func (m *Metrics) bucketIndex(b string) int {
	if b == "" {
		return len(m.bnames) - 1
	}
	if i, ok := m.buckets[b]; ok {
		return i
	}
	return len(m.bnames) - 2
}

func methodIndex(method string) int {
	switch method {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "PUT":
		return 2
	case "POST":
		return 3
	case "DELETE":
		return 4
	case "OPTIONS":
		return 5
	}
	return 6
}

func classIndex(status int) int {
	if status == 0 {
		status = 200
	}
	if status < 100 || status > 599 {
		return 5
	}
	return status/100 - 1
}

func modeIndex(mode string) int {
	switch mode {
	case "jwt":
		return 0
	case "accesskey":
		return 1
	case "anonymous":
		return 2
	case "":
		return modeNone
	}
	return 4
}

// cells caches the children of a metric vector by label-combination
// index, so the hot path is an atomic load instead of a hash of the
// label values. Children are created on first use, so unused
// combinations export no series.
type cells[T any] struct {
	p     []atomic.Pointer[box[T]]
	child func(i int) T
}

type box[T any] struct{ v T }

func newCells[T any](n int, child func(i int) T) cells[T] {
	return cells[T]{p: make([]atomic.Pointer[box[T]], n), child: child}
}

func (c *cells[T]) at(i int) T {
	if b := c.p[i].Load(); b != nil {
		return b.v
	}
	b := &box[T]{v: c.child(i)} // racing creators get the same child from the vector
	c.p[i].CompareAndSwap(nil, b)
	return b.v
}
