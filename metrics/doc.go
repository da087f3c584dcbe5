// Package metrics exports ossproxy's Prometheus metrics and completes its
// access log. Everything registers on an injected registry, never on the
// global default one.
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.New(metrics.Options{
//		Registry:    reg,
//		Buckets:     []string{"photos"},    // the only values of the bucket label
//		Credentials: cache.Stats,           // *credentials.Cache, read at scrape time
//		TokenCache:  authn.CacheStats,      // *auth.Authenticator, read at scrape time
//		Version:     version,
//	})
//	if err != nil { ... }
//	logger := slog.New(metrics.AccessLogHandler(jsonHandler, metrics.AccessLogOptions{Keys: metrics.KeyHash}))
//	h, err := proxy.New(proxy.Options{
//		Authenticator: m.Authenticator(authn), // bucket, auth mode, failures by code
//		Authorizer:    m.Authorizer(authz),    // denials by code
//		Upstream:      m.Upstream(proxy.NewUpstreamTransport()), // OSS status and error codes
//		Logger:        logger,
//		...
//	})
//	srv := &http.Server{Handler: m.Middleware(h)} // status, bytes, duration, time to first byte
//	// presign and STS vending (package vend):
//	vend.Options{Observer: vend.ObserverFunc(func(_ context.Context, ev vend.Event) {
//		if ev.Kind == "presign" {
//			m.Presigned(ev.Bucket, ev.Status)
//		} else {
//			m.Vended(ev.Status, ev.Cached)
//		}
//	})}
//	// and promhttp.HandlerFor(reg, ...) on the admin listener (package admin)
//
// # Metrics
//
// Names follow the Prometheus conventions: the ossproxy_ prefix, base
// units, _total for counters, _seconds and _bytes.
//
//	ossproxy_requests_total{method,status_class,bucket,auth_mode}
//	ossproxy_requests_in_flight
//	ossproxy_request_duration_seconds{method,status_class}   histogram
//	ossproxy_time_to_first_byte_seconds{method}              histogram
//	ossproxy_received_bytes_total{bucket}, ossproxy_sent_bytes_total{bucket}
//	ossproxy_upstream_requests_total{status_class}
//	ossproxy_upstream_errors_total{code}
//	ossproxy_upstream_response_seconds                       histogram
//	ossproxy_auth_failures_total{stage,code}
//	ossproxy_token_cache_hits_total, _misses_total, ossproxy_token_cache_entries
//	ossproxy_credentials_expiry_seconds, _valid, _refreshes_total,
//	  _refresh_failures_total, _last_refresh_timestamp_seconds
//	ossproxy_presigns_total{bucket,result}, ossproxy_sts_vends_total{result}
//	ossproxy_build_info{version,goversion}
//
// Every label takes values from a fixed set, so the number of series is
// bounded whatever clients send: methods outside GET, HEAD, PUT, POST,
// DELETE and OPTIONS are "other"; bucket is a configured bucket, "other"
// or "none"; error codes outside the known OSS and auth codes are "other".
//
// # Per-request observation
//
// Middleware puts a record of the request in its context. The wrapped
// Authenticator and Upstream transport fill in the bucket, the auth mode
// and the OSS error code, because the proxy passes that context on;
// Middleware counts the request when the handler returns, and
// AccessLogHandler adds the time to first byte and the upstream error
// code to the proxy's own access-log record and redacts its key. A
// request costs two allocations (the request copy, and the record, which
// is also the context); ObserveRequest, for a proxy that measures by
// itself, none.
package metrics
