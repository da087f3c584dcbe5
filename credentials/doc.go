// Package credentials supplies the OSS credentials ossproxy signs with, and
// keeps them fresh so that no request waits for, or fails because of, a
// refresh while valid credentials exist.
//
//	sts, _ := credentials.NewSTSClient(credentials.STSConfig{Region: "cn-hangzhou"})
//	chain, _ := credentials.NewDefaultChain(credentials.ChainConfig{Getenv: os.Getenv, HomeDir: home, STS: sts})
//	cache := credentials.NewCache(chain, credentials.CacheOptions{Logger: logger})
//	defer cache.Close()
//	creds, err := cache.Retrieve(ctx) // lock-free once warm
//	if errors.Is(err, credentials.ErrExpired) { /* 503 */ }
//	// after OSS rejects creds' token:
//	cache.Invalidate(creds)
//	// for consumers of signer.Credentials (proxy.CredentialSource):
//	src := cache.SignerSource()
//
// A Provider fetches credentials once from one source: StaticProvider,
// EnvProvider, AssumeRoleProvider (STS AssumeRole chained from any base
// Provider), OIDCProvider (RRSA: STS AssumeRoleWithOIDC with a token file
// re-read on every call), ECSProvider (ECS instance metadata, IMDSv2), the
// profile files (~/.aliyun/config.json and ~/.alibabacloud/credentials) and
// Chain, the SDKs' default chain.
//
// A Cache wraps any Provider. Its fast path is one atomic load and a clock
// read; a background goroutine refreshes at about two thirds of the
// credentials' lifetime (with jitter), keeps serving still-valid credentials
// while refreshes fail (with exponential backoff), and callers wait only when
// nothing valid is cached, sharing one provider call.
//
// ScopedCache is a bounded LRU of AssumeRole credentials keyed by role ARN
// and session policy, for vending down-scoped tokens.
//
// STS is called through the alibaba-cloud-sdk-go typed client (STSClient),
// behind the one-method interfaces RoleAssumer and OIDCRoleAssumer so tests
// can stub it. Nothing in this package reads the process environment or
// global state: environment lookups go through an injected getenv.
//
// No error string or log line produced by this package contains a secret,
// security token or OIDC token; Credentials redact themselves when printed.
package credentials
