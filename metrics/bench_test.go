package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossproxy/ossproxy/metrics"
)

func benchMetrics(b *testing.B) *metrics.Metrics {
	m, err := metrics.New(metrics.Options{Registry: prometheus.NewRegistry(), Buckets: []string{"photos", "logs"}})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkObserveRequest is the cost of counting one request from a
// proxy's access-log path: no allocation once the labels were seen.
func BenchmarkObserveRequest(b *testing.B) {
	m := benchMetrics(b)
	r := metrics.Request{Method: "GET", Status: 200, Bucket: "photos", AuthMode: "jwt",
		BytesIn: 0, BytesOut: 4096, Duration: 3 * time.Millisecond, TTFB: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest(r)
	}
}

// discardWriter is a ResponseWriter that allocates nothing.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkMiddleware compares a bare handler with the same handler
// behind Middleware and the Authenticator observer's context lookup:
// the difference is the per-request overhead.
func BenchmarkMiddleware(b *testing.B) {
	body := []byte("hello, world")
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write(body)
	})
	for _, bc := range []struct {
		name string
		h    func(m *metrics.Metrics) http.Handler
	}{
		{"bare", func(*metrics.Metrics) http.Handler { return inner }},
		{"middleware", func(m *metrics.Metrics) http.Handler { return m.Middleware(inner) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := bc.h(benchMetrics(b))
			r := httptest.NewRequest("GET", "/photos/a.jpg", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
