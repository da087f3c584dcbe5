// Package e2etest holds what the end-to-end tests and benchmarks of
// proxy, metrics, vend, osstest and signer share: a log sink safe for
// concurrent handlers, JWT minting for an HS256 issuer, the proxy-issued
// access key of the end-to-end environments, an SDK transport that adds a
// bearer token, an in-memory upstream, the benchmark loop over an
// in-memory handler, and the npm ali-oss driver or a skip.
//
//	iss := e2etest.Issuer{URL: "https://issuer.test", Audience: "ossproxy", Secret: secret}
//	logs := &e2etest.SyncBuffer{}
//	a := wire.NewAuthenticator(t, iss, cloud.Region, slog.New(slog.NewJSONHandler(logs, nil)))
//	tok := iss.Mint(t, "alice", time.Hour)
//	hc := &http.Client{Transport: e2etest.Bearer{Token: tok, Base: http.DefaultTransport}}
//
// It imports no package of this module but internal/alioss, so the
// internal tests of every package may use it. What needs auth or proxy
// is in the subpackage wire.
package e2etest
