// Package proxy is ossproxy's request path: it authenticates a caller,
// routes the request to a configured bucket and key, classifies the OSS
// operation, authorizes it (deny by default), rewrites it for the upstream
// endpoint, re-signs it with the proxy's own credentials and streams it.
//
//	cfg := proxy.Config{Buckets: []proxy.BucketConfig{{
//		Name:     "photos",
//		Endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
//		Region:   "cn-hangzhou",
//	}}}
//	h, err := proxy.New(proxy.Options{
//		Config:        cfg,
//		Authenticator: authn, // e.g. auth.Authenticator behind an AuthenticatorFunc
//		Authorizer:    authz, // e.g. auth.Policy behind an AuthorizerFunc
//		Credentials:   creds, // e.g. credentials.Cache behind CredentialFuncs
//		Signer:        proxy.NewOSSSigner(cfg),
//		Logger:        logger,
//	})
//	if err != nil { ... }
//	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
//
// The adapters are a few lines each (see the package's e2e tests):
//
//	authn := proxy.AuthenticatorFunc(func(ctx context.Context, r *http.Request, bucket, key string) (*proxy.Caller, error) {
//		p, err := a.Authenticate(ctx, r, auth.Target{Bucket: bucket, Key: key})
//		if err != nil {
//			return nil, err // *auth.Error carries its status and OSS code
//		}
//		return &proxy.Caller{Name: p.Name, Mode: p.Mode.String(), StripHeaders: p.Carrier.Headers,
//			StripQuery: p.Carrier.QueryParams, Principal: p}, nil
//	})
//	authz := proxy.AuthorizerFunc(func(_ context.Context, c *proxy.Caller, a proxy.Action, bucket, key string) error {
//		return pol.Authorize(c.Principal.(*auth.Principal), auth.Action(a), bucket, key) // same bits
//	})
//
// # Request path
//
// listener → [Handler] (CONNECT, upgrades and absolute-form targets are
// refused) → [Router] (host and path to bucket and key, decoded exactly
// once; ambiguous forms are refused with 400) → [Authenticator] →
// [Classifier] (method, sub-resources and headers to an [Operation] with
// every [Check] it needs: copy sources, symlink targets and the keys of a
// DeleteMultipleObjects body included) → [Authorizer] for each check →
// httputil.ReverseProxy with Rewrite (upstream URL with the canonically
// re-encoded key, caller credentials and presign parameters stripped) →
// [Transport] (fresh credentials, signing, one retry on a stale-token
// error) → upstream.
//
// Bodies stream in both directions with ContentLength preserved, through
// pooled 32 KiB buffers; only a DeleteMultipleObjects body (at most 2 MiB)
// is read, parsed and forwarded byte for byte. Upstream responses, OSS
// errors included, pass back untouched. Errors the proxy answers itself
// are OSS XML ([Error]) with the proxy's request id in x-oss-request-id.
// A failure of the client's own is never reported as an upstream one: a
// request body that cannot be read (malformed chunked encoding, shorter
// than its Content-Length) is 400 IncompleteBody, a stalled one 400
// RequestTimeout, and a client that went away is recorded as 499
// ([StatusClientClosedRequest]) and logged at debug level.
//
// Paths under [ReservedPrefix] ("/_ossproxy/") belong to the proxy's own
// API ([Options].API, e.g. the vend service), served after authentication
// with the caller in the context ([CallerFromContext]); they are never
// forwarded.
//
// The proxy declares the interfaces it consumes ([Authenticator],
// [Authorizer], [CredentialSource], [RequestSigner]) with Func adapters;
// cmd/ossproxy wires the auth, credentials and signer packages to them.
package proxy
