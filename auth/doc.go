// Package auth authenticates ossproxy's callers and authorizes their
// requests against a deny-by-default policy.
//
//	a, err := auth.New(ctx, auth.Config{
//		Issuers: []auth.IssuerConfig{{
//			Issuer:     "https://kubernetes.default.svc",
//			Audiences:  []string{"ossproxy"},
//			Algorithms: []string{"RS256"},
//			Discovery:  true,
//		}},
//		Logger: logger,
//	})
//	pol, err := auth.NewPolicy([]auth.Rule{{
//		Issuers:  []string{"https://kubernetes.default.svc"},
//		Buckets:  []string{"home"},
//		Prefixes: []string{"users/${sub}/"},
//		Actions:  []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite},
//	}})
//	// per request, before the reverse proxy:
//	p, err := a.Authenticate(ctx, r, auth.Target{Bucket: bucket, Key: key})
//	if err == nil {
//		err = pol.Authorize(p, auth.ActionRead, bucket, key)
//	}
//	if err != nil {
//		// auth.StatusCode(err), auth.ErrorCode(err) → OSS-style XML error
//	}
//	p.Carrier.Strip(out.Header, query) // never forward the token
//
// # Authentication
//
// Three modes, combinable; the credential present in the request picks one:
//
//   - JWT bearer tokens, from "Authorization: Bearer", an extra header or a
//     query parameter. The token's iss, read unverified, selects the
//     [IssuerConfig]; that issuer's jwt.Parser, built once, then verifies
//     the pinned algorithm, the signature, iss, aud, exp (required), nbf and
//     iat (with a leeway). Keys come from a JWKS URL or OIDC discovery
//     (via keyfunc, refreshed in the background and, rate-limited, on an
//     unknown kid), from static PEM/JWK keys, or from an HMAC secret. An
//     https issuer's keys are only fetched over TLS: a discovered http
//     jwks_uri is a start-up error and https-to-http redirects are not
//     followed.
//     Verified tokens are cached by SHA-256 in a bounded expirable LRU; a
//     cached entry is never used after the token's exp or Config.CacheTTL,
//     both checked with the injected clock.
//   - Proxy-issued access keys: the client signs with OSS V1 or V4
//     (header or presigned URL) and the proxy verifies the signature with
//     package signer.
//   - Anonymous, only when enabled and only on a loopback or unix-socket
//     listener ([LocalAddr], [LocalListenAddr]).
//
// Every failure is one of the exported *Error sentinels, with an HTTP
// status and an OSS-style code:
//
//	ErrTokenMissing        401 InvalidToken.Missing
//	ErrTokenMalformed      401 InvalidToken.Malformed
//	ErrTokenTooLarge       401 InvalidToken.TooLarge
//	ErrTokenExpired        401 InvalidToken.Expired
//	ErrTokenNotYetValid    401 InvalidToken.NotYetValid
//	ErrTokenIssuer         401 InvalidToken.Issuer
//	ErrTokenAudience       401 InvalidToken.Audience
//	ErrTokenSignature      401 InvalidToken.Signature
//	ErrTokenAlgorithm      401 InvalidToken.Algorithm
//	ErrTokenUnknownKey     401 InvalidToken.UnknownKeyId
//	ErrTokenClaims         401 InvalidToken.Claims
//	ErrAnonymousNotAllowed 401 AccessDenied.AnonymousNotAllowed
//	ErrInvalidAccessKeyID  403 InvalidAccessKeyId
//	ErrSignatureMismatch   403 SignatureDoesNotMatch
//	ErrRequestExpired      403 AccessDenied ("Request has expired.", as OSS)
//	ErrRequestTimeSkewed   403 RequestTimeTooSkewed
//	ErrDenied              403 AccessDenied
//
// Error strings and logs never contain a token, a secret or a signature.
//
// # Authorization
//
// A [Policy] is a list of [Rule]s compiled once. A rule matches principals
// (by sub, issuer, group, role, access key id, or the anonymous principal)
// and grants [Action]s on buckets and key prefixes. Anything no rule allows
// is denied. A list is authorized with its prefix parameter as the key, so
// it must stay inside an allowed prefix. Prefixes are literal: "logs/"
// covers every key under logs/, and a '*' in a prefix is refused by
// [NewPolicy] rather than silently matching nothing.
//
// Prefixes may contain ${claim} references, e.g. "users/${sub}/": ${sub},
// ${iss}, ${name} and ${access_key_id} read the principal, any other name a
// string claim of the token. A reference must be followed by '/', and a
// claim that is missing, empty, ".", or contains '/', '\', "..", '*', '?',
// '$', '{', '}' or a control character makes the prefix match nothing, so a
// claim can never widen a prefix. [Policy.Grants] lists a principal's
// grants with the references expanded, for STS session policies.
package auth
