package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossproxy/ossproxy/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registry: reg, Buckets: []string{"photos"}})
	if err != nil {
		panic(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such key", http.StatusNotFound)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/photos/a.jpg", nil))
	m.ObserveRequest(metrics.Request{Method: "PUT", Status: 200, Bucket: "photos", AuthMode: "jwt", TTFB: -1})

	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ossproxy_requests_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				fmt.Printf("%s=%s ", l.GetName(), l.GetValue())
			}
			fmt.Println(s.GetCounter().GetValue())
		}
	}
	// Output:
	// auth_mode=jwt bucket=photos method=PUT status_class=2xx 1
	// auth_mode=none bucket=none method=GET status_class=4xx 1
}
