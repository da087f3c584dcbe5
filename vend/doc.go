// Package vend issues temporary access to OSS for callers the proxy has
// authenticated: presigned URLs and down-scoped STS credentials, never
// more than the proxy's policy grants the caller.
//
//	svc, err := vend.New(vend.Options{
//		Buckets:     []vend.Bucket{{Name: "photos", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}},
//		Policy:      policy,      // *auth.Policy
//		Principal:   principalOf, // reads the caller the proxy put in the context
//		Credentials: signingCache, // a credentials.Cache of its own
//		STS: &vend.STSOptions{RoleARN: arn, Base: cache, Client: stsClient},
//		MaxExpiry:   time.Hour,
//	})
//	// as the proxy's API handler for /_ossproxy/v1/...:
//	proxy.Options{API: svc, ...}
//	// or from Go:
//	res, err := svc.Presign(ctx, principal, vend.PresignRequest{Bucket: "photos", Key: "a.jpg", Method: "PUT"})
//
// POST /_ossproxy/v1/presign takes
//
//	{"bucket":"photos","key":"a.jpg","method":"PUT","expires":"10m",
//	 "headers":{"Content-Type":"image/jpeg"},"response":{"content-disposition":"attachment"},"version":"v4"}
//
// and answers {url, method, headers_to_send, expires_at, expires_in, capped,
// capped_reason}. The caller must be allowed the method's action on the key
// (GET and HEAD: read, PUT: write, DELETE: delete), or the answer is 403 and
// nothing is signed. The lifetime is capped by Options.MaxExpiry, by 7 days
// and by the remaining lifetime of the credentials that sign the URL, which
// would otherwise break first; before capping for that reason the Service
// asks a refreshable source (Invalidator) for fresh credentials once.
//
// POST /_ossproxy/v1/sts takes {bucket, prefix, actions, duration_seconds},
// all optional and only ever narrowing, and answers with the fields of an STS
// AssumeRole answer (AccessKeyId, AccessKeySecret, SecurityToken,
// Expiration) plus bucket, region and endpoint_url, which ali-oss stsToken
// and refreshSTSToken and the SDKs' STS credential providers take as they
// are (see STSResult for why the endpoint is not called "endpoint").
// The credentials come from AssumeRole with a session policy generated from
// the caller's grants (SessionPolicy, at most 2048 characters) and are
// reused from a credentials.ScopedCache while they have enough life left.
//
// Errors are JSON {"code","message","request_id"}: 400 malformed, 401 no
// caller, 403 denied, 404 unknown bucket, 429 rate-limited (with
// Retry-After), 503 credentials unavailable. Messages never hold a secret,
// token or signature; results redact them when printed or logged.
package vend
