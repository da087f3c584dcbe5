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
// looking at an oversized token, and with ErrTokenMalformed when several
// different credentials are present or a bearer value is empty. query is
// the parsed query string (nil for none).
func (e *extractor) extract(h http.Header, query url.Values) (credentialKind, string, Carrier, error) {
	var (
		tok     string
		carrier Carrier
		n       int
	)
	take := func(v string, c Carrier) error {
		if len(v) > e.maxToken {
			return ErrTokenTooLarge
		}
		if v == "" {
			return ErrTokenMalformed
		}
		if n > 0 && v != tok {
			return ErrTokenMalformed // two different tokens: ambiguous
		}
		if n == 0 {
			tok, carrier = v, c
		} else {
			carrier.Headers = append(carrier.Headers, c.Headers...)
			carrier.QueryParams = append(carrier.QueryParams, c.QueryParams...)
		}
		n++
		return nil
	}

	authz := h.Values("Authorization")
	if len(authz) > 1 {
		return credNone, "", Carrier{}, ErrTokenMalformed
	}
	if len(authz) == 1 {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(authz[0]), " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			if err := take(strings.TrimSpace(rest), Carrier{Headers: []string{"Authorization"}}); err != nil {
				return credNone, "", Carrier{}, err
			}
		case scheme == "OSS" || scheme == "OSS4-HMAC-SHA256":
			return credSignature, "", Carrier{Headers: []string{"Authorization"}}, nil
		default:
			return credNone, "", Carrier{}, ErrTokenMalformed
		}
	}
	if e.header != "" {
		if vs := h.Values(e.header); len(vs) > 0 {
			if len(vs) > 1 {
				return credNone, "", Carrier{}, ErrTokenMalformed
			}
			v := strings.TrimSpace(vs[0])
			if scheme, rest, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
				v = strings.TrimSpace(rest)
			}
			if err := take(v, Carrier{Headers: []string{e.header}}); err != nil {
				return credNone, "", Carrier{}, err
			}
		}
	}
	if e.param != "" {
		if vs, ok := query[e.param]; ok {
			if len(vs) != 1 {
				return credNone, "", Carrier{}, ErrTokenMalformed
			}
			if err := take(vs[0], Carrier{QueryParams: []string{e.param}}); err != nil {
				return credNone, "", Carrier{}, err
			}
		}
	}
	if n > 0 {
		return credBearer, tok, carrier, nil
	}
	if query.Has("OSSAccessKeyId") || query.Has("Signature") {
		return credSignature, "", Carrier{QueryParams: presignParams(false)}, nil
	}
	if query.Has("x-oss-signature") || query.Has("x-oss-credential") {
		return credSignature, "", Carrier{QueryParams: presignParams(true)}, nil
	}
	return credNone, "", Carrier{}, nil
}
