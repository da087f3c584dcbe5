package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// credentialKind is what extractCredential found in a request.
type credentialKind uint8

const (
	credNone      credentialKind = iota
	credBearer                   // a bearer token
	credSignature                // an OSS V1/V4 signature, header or presigned
)

// extractor finds the credential in a request. It is immutable.
type extractor struct {
	header   string // canonical extra token header, "" if none
	param    string // token query parameter, "" if none
	maxToken int
}

// presignParams returns the query parameters of a presigned OSS URL.
func presignParams(v4 bool) []string {
	if v4 {
		return []string{"x-oss-signature-version", "x-oss-credential", "x-oss-date", "x-oss-expires", "x-oss-signature", "x-oss-additional-headers", "x-oss-security-token"}
	}
	return []string{"OSSAccessKeyId", "Expires", "Signature", "security-token"}
}

// extract returns the kind of credential, the bearer token (for
// credBearer) and where it was found. It fails with ErrTokenTooLarge before
// looking at an oversized token, and with ErrTokenMalformed when a bearer
// value is empty, when a header or parameter is repeated, or when the
// request carries two different credentials (two different tokens, or a
// token and an OSS signature): the proxy strips only the credential that
// was used, so an ambiguous request could leak the other one upstream.
// query is the parsed query string (nil for none).
func (e *extractor) extract(h http.Header, query url.Values) (credentialKind, string, Carrier, error) {
	var (
		tok     string
		carrier Carrier
		sig     bool // an OSS signature: Authorization header or presign params
	)
	take := func(v string, c Carrier) error {
		switch {
		case len(v) > e.maxToken:
			return ErrTokenTooLarge
		case v == "":
			return ErrTokenMalformed
		case tok != "" && v != tok:
			return ErrTokenMalformed // two different tokens
		}
		tok = v
		carrier.Headers = append(carrier.Headers, c.Headers...)
		carrier.QueryParams = append(carrier.QueryParams, c.QueryParams...)
		return nil
	}
	fail := func(err error) (credentialKind, string, Carrier, error) {
		return credNone, "", Carrier{}, err
	}

	switch authz := h.Values("Authorization"); len(authz) {
	case 0:
	case 1:
		scheme, rest, _ := strings.Cut(strings.TrimSpace(authz[0]), " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			if err := take(strings.TrimSpace(rest), Carrier{Headers: []string{"Authorization"}}); err != nil {
				return fail(err)
			}
		case scheme == "OSS" || scheme == "OSS4-HMAC-SHA256":
			sig = true
			carrier.Headers = []string{"Authorization"}
		default:
			return fail(ErrTokenMalformed)
		}
	default:
		return fail(ErrTokenMalformed)
	}
	if e.header != "" {
		switch vs := h.Values(e.header); len(vs) {
		case 0:
		case 1:
			v := strings.TrimSpace(vs[0])
			if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
				v = strings.TrimSpace(rest)
			}
			if err := take(v, Carrier{Headers: []string{e.header}}); err != nil {
				return fail(err)
			}
		default:
			return fail(ErrTokenMalformed)
		}
	}
	if e.param != "" {
		if vs, ok := query[e.param]; ok {
			if len(vs) != 1 {
				return fail(ErrTokenMalformed)
			}
			if err := take(vs[0], Carrier{QueryParams: []string{e.param}}); err != nil {
				return fail(err)
			}
		}
	}
	switch {
	case query.Has("OSSAccessKeyId") || query.Has("Signature"):
		sig = true
		carrier.QueryParams = append(carrier.QueryParams, presignParams(false)...)
	case query.Has("x-oss-signature") || query.Has("x-oss-credential"):
		sig = true
		carrier.QueryParams = append(carrier.QueryParams, presignParams(true)...)
	}
	switch {
	case sig && tok != "":
		return fail(ErrTokenMalformed) // a token and a signature
	case sig:
		return credSignature, "", carrier, nil
	case tok != "":
		return credBearer, tok, carrier, nil
	}
	return credNone, "", Carrier{}, nil
}
