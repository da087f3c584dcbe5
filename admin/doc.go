// Package admin is ossproxy's admin HTTP handler: liveness, readiness with
// named checks, Prometheus metrics and, when enabled, pprof. Serve it on
// its own listener (DefaultAddr, 127.0.0.1:9090), never on the proxy's
// port, so no object key can collide with it.
//
//	configLoaded := new(admin.Flag)
//	jwks := admin.NewFetchTracker(nil) // auth.Config.HTTPClient = &http.Client{Transport: jwks}
//	h, err := admin.New(admin.Options{
//		Gatherer: reg, // the *prometheus.Registry package metrics registers on
//		Checks: []admin.Check{
//			{Name: "config", Checker: configLoaded},
//			{Name: "credentials", Checker: admin.CredentialsCheck(cache.Stats)},
//			{Name: "jwks", Checker: jwks.JWKSFetched(jwksURLs, discoveryIssuers)},
//		},
//		Pprof: cfg.Admin.Pprof,
//	})
//	if err != nil { ... }
//	configLoaded.Set(true)
//	go adminSrv.Serve(adminLn) // &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
//	...
//	<-ctx.Done()
//	h.SetDraining() // /readyz turns 503 ("shutdown"), /healthz stays 200
//	proxySrv.Shutdown(drainCtx)
//
// /healthz never runs a check and never calls anything upstream: a slow
// or failing dependency must not make the orchestrator restart a healthy
// process. /readyz runs every check concurrently, each with a timeout,
// and names each one that failed:
//
//	[+]shutdown ok
//	[+]config ok
//	[-]credentials failed: no valid upstream credentials: not ready
//	[+]jwks ok
//	readyz check failed
//
// or, with ?format=json or Accept: application/json,
//
//	{"status":"unready","checks":[{"name":"shutdown","ok":true},…,{"name":"credentials","ok":false,"error":"…"}]}
package admin
