// Package e2etest holds what the end-to-end tests and benchmarks of
// proxy, metrics and vend share: a log sink safe for concurrent handlers,
// JWT minting for an HS256 issuer, the auth configuration of the
// end-to-end environments, an SDK transport that adds a bearer token, an
// in-memory upstream and the benchmark loop over an in-memory handler.
//
//	iss := e2etest.Issuer{URL: "https://issuer.test", Audience: "ossproxy", Secret: secret}
//	logs := &e2etest.SyncBuffer{}
//	a := e2etest.NewAuthenticator(t, iss, cloud.Region, slog.New(slog.NewJSONHandler(logs, nil)))
//	tok := iss.Mint(t, "alice", time.Hour)
//	hc := &http.Client{Transport: e2etest.Bearer{Token: tok, Base: http.DefaultTransport}}
//
// It imports no package that imports proxy, so package proxy's own
// (internal) tests may use it too. The adapters between auth and proxy,
// which import proxy, are in the subpackage wire.
package e2etest
