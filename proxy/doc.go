// Package proxy is ossproxy's request path: it authenticates a caller,
// routes the request to a configured bucket and key, classifies the OSS
// operation, authorizes it (deny by default), rewrites it for the upstream
// endpoint, re-signs it with the proxy's own credentials and streams it.
//
//	h, err := proxy.New(proxy.Options{
//		Config: proxy.Config{Buckets: []proxy.BucketConfig{{
//			Name:     "photos",
//			Endpoint: "https://oss-cn-hangzhou.aliyuncs.com",
//			Region:   "cn-hangzhou",
//		}}},
//		Authenticator: authn,  // proxy.Authenticator (auth.Authenticator via an adapter)
//		Authorizer:    authz,  // proxy.Authorizer (auth.Policy via an adapter)
//		Credentials:   creds,  // proxy.CredentialSource (credentials.Cache via an adapter)
//		Signer:        proxy.NewOSSSigner(cfg),
//		Logger:        logger,
//	})
//	if err != nil { ... }
//	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
//
// The proxy declares the interfaces it consumes ([Authenticator],
// [Authorizer], [CredentialSource], [RequestSigner]) with Func adapters;
// cmd/ossproxy wires the auth, credentials and signer packages to them.
package proxy
