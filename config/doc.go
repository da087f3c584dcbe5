// Package config reads ossproxy's YAML configuration file: listeners,
// authentication, policy, buckets, upstream credentials, logging, limits,
// the admin listener and the vend API.
//
//	cfg, err := config.Load("/etc/ossproxy/config.yaml", config.Options{Getenv: os.Getenv})
//	if err != nil {
//		// err is config.Errors: one "file:line: message" per problem
//		return err
//	}
//	authCfg := cfg.AuthConfig()         // auth.Config
//	rules := cfg.Policy.Rules           // []auth.Rule
//	proxyCfg := cfg.Proxy               // proxy.Config
//
// Values may reference environment variables as ${NAME}, or
// ${NAME:-default}; a variable that is unset or empty without a default is
// an error. The policy section is not expanded: its ${claim} references
// are templates evaluated per request by package auth. Secrets come from such references or from a sibling *_file
// field (hmac_secret_file, secret_file, access_key_secret_file); relative
// file names are relative to the configuration file. Secrets are held as
// [Secret], which prints redacted.
//
// Unknown fields, bad values and unsafe combinations are errors with the
// file name and line: anonymous access on a listener that is not loopback
// or unix, an issuer without pinned algorithms, "none", a short HMAC
// secret, a plain-http JWKS URL (unless allow_insecure_http), buckets
// without a region, duplicate listeners, rules naming unknown buckets,
// fields that belong to another credentials source, an admin address that
// is a proxy listener's, and vend limits outside what OSS and STS accept.
//
// The package reads files and the injected environment only; it starts
// nothing and keeps no state.
package config
