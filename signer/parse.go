package signer

import (
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Authorization is a parsed OSS request signature, from the Authorization
// header or from presign query parameters. Its String and LogValue
// methods omit the signature and the security token.
type Authorization struct {
	// Version is 1 or 4.
	Version int
	// Presigned is true when the signature came from the query string.
	Presigned bool
	// AccessKeyID is the key the client claims to sign with.
	AccessKeyID string
	// Signature is base64 (V1) or lower-case hex (V4), as sent.
	Signature string

	// Date, Region and Product are the V4 credential scope.
	Date, Region, Product string
	// AdditionalHeaders is the V4 ';'-separated list, as sent; "" if none.
	AdditionalHeaders string

	// Timestamp is x-oss-date of a presigned V4 URL.
	Timestamp string
	// Expires is the V1 Expires parameter (Unix seconds) or the V4
	// x-oss-expires parameter (seconds after Timestamp); 0 for header auth.
	Expires int64
	// SecurityToken is security-token (V1) or x-oss-security-token (V4)
	// of a presigned URL; header auth carries it in a header instead.
	SecurityToken string

	expiresRaw string // V1 Expires as sent: the date line of the string to sign
}

// String implements fmt.Stringer without the signature or token.
func (a Authorization) String() string {
	return fmt.Sprintf("Authorization{Version: %d, Presigned: %t, AccessKeyID: %s, Scope: %s/%s/%s}",
		a.Version, a.Presigned, MaskID(a.AccessKeyID), a.Date, a.Region, a.Product)
}

// LogValue implements slog.LogValuer without the signature or token.
func (a Authorization) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("version", a.Version), slog.Bool("presigned", a.Presigned),
		slog.String("access_key_id", MaskID(a.AccessKeyID)), slog.String("region", a.Region))
}

func malformed(msg string) error { return verifyErr(ErrMalformedAuthorization, msg) }

// ParseAuthorization parses an Authorization header value: V1
// "OSS <id>:<signature>" or V4 "OSS4-HMAC-SHA256 Credential=<id>/<date>/
// <region>/<product>/aliyun_v4_request[,AdditionalHeaders=h1;h2],
// Signature=<hex>". V4 parts may come in any order and be separated by ","
// or ", " (the Python SDK). Errors are *VerifyError with
// ErrMalformedAuthorization.
func ParseAuthorization(v string) (Authorization, error) {
	switch {
	case strings.HasPrefix(v, "OSS "):
		rest := v[len("OSS "):]
		i := strings.LastIndexByte(rest, ':')
		if i <= 0 || i == len(rest)-1 {
			return Authorization{}, malformed("the V1 Authorization header is not OSS <AccessKeyId>:<Signature>")
		}
		return Authorization{Version: 1, AccessKeyID: rest[:i], Signature: rest[i+1:]}, nil
	case strings.HasPrefix(v, AlgorithmV4+" "):
		a := Authorization{Version: 4}
		var haveCred, haveSig, haveAdd bool
		for rest := v[len(AlgorithmV4)+1:]; rest != ""; {
			var part string
			part, rest, _ = strings.Cut(rest, ",")
			part = strings.TrimSpace(part)
			name, val, ok := strings.Cut(part, "=")
			if !ok {
				return Authorization{}, malformed("the V4 Authorization header has a part without '='")
			}
			switch name {
			case "Credential":
				if haveCred {
					return Authorization{}, malformed("the V4 Authorization header repeats Credential")
				}
				haveCred = true
				if err := a.parseCredential(val); err != nil {
					return Authorization{}, err
				}
			case "Signature":
				if haveSig {
					return Authorization{}, malformed("the V4 Authorization header repeats Signature")
				}
				haveSig, a.Signature = true, val
			case "AdditionalHeaders":
				if haveAdd {
					return Authorization{}, malformed("the V4 Authorization header repeats AdditionalHeaders")
				}
				haveAdd, a.AdditionalHeaders = true, val
			default:
				return Authorization{}, malformed("the V4 Authorization header has an unknown part")
			}
		}
		if !haveCred || !haveSig || a.Signature == "" {
			return Authorization{}, malformed("the V4 Authorization header lacks Credential or Signature")
		}
		return a, nil
	}
	return Authorization{}, malformed("the Authorization header names no supported algorithm")
}

// parseCredential parses <id>/<yyyymmdd>/<region>/<product>/aliyun_v4_request.
func (a *Authorization) parseCredential(c string) error {
	var parts [5]string
	for i := 4; i > 0; i-- {
		j := strings.LastIndexByte(c, '/')
		if j < 0 {
			return malformed("the V4 credential is not <AccessKeyId>/<date>/<region>/<product>/aliyun_v4_request")
		}
		parts[i], c = c[j+1:], c[:j]
	}
	parts[0] = c
	if parts[4] != v4Terminator || parts[0] == "" || parts[2] == "" || parts[3] == "" || !isDate(parts[1]) {
		return malformed("the V4 credential is not <AccessKeyId>/<date>/<region>/<product>/aliyun_v4_request")
	}
	a.AccessKeyID, a.Date, a.Region, a.Product = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func isDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParsePresigned parses the presign parameters of a raw query string. It
// reports ok=false when the query has none of OSSAccessKeyId, Signature,
// x-oss-signature or x-oss-credential (the request is not presigned).
// A query with only some of a version's parameters, or with both
// versions', is an error (*VerifyError with ErrMalformedAuthorization).
func ParsePresigned(rawQuery string) (a Authorization, ok bool, err error) {
	var v1ID, v1Sig, v1Exp, v1Tok, ver, cred, date, exp, add, tok, sig string
	var v1n, v4n int
	var bad string
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		var dst *string
		switch k {
		case "OSSAccessKeyId":
			dst, v1n = &v1ID, v1n+1
		case "Signature":
			dst, v1n = &v1Sig, v1n+1
		case "Expires":
			dst = &v1Exp
		case "security-token":
			dst = &v1Tok
		case "x-oss-signature-version":
			dst, v4n = &ver, v4n+1
		case "x-oss-credential":
			dst, v4n = &cred, v4n+1
		case "x-oss-date":
			dst = &date
		case "x-oss-expires":
			dst = &exp
		case "x-oss-additional-headers":
			dst = &add
		case "x-oss-security-token":
			dst = &tok
		case "x-oss-signature":
			dst, v4n = &sig, v4n+1
		default:
			continue
		}
		u, uerr := url.QueryUnescape(v)
		switch {
		case *dst != "":
			bad = "a presign parameter is repeated"
		case uerr != nil || u == "":
			bad = "a presign parameter is empty or badly escaped"
		}
		*dst = u
	}
	switch {
	case v1n == 0 && v4n == 0:
		return Authorization{}, false, nil
	case bad != "":
		return Authorization{}, false, malformed(bad)
	case v1n > 0 && v4n > 0:
		return Authorization{}, false, malformed("the query mixes V1 and V4 presign parameters")
	case v1n > 0:
		if v1ID == "" || v1Sig == "" || v1Exp == "" {
			return Authorization{}, false, malformed("a V1 presigned URL needs OSSAccessKeyId, Expires and Signature")
		}
		e, perr := strconv.ParseInt(v1Exp, 10, 64)
		if perr != nil {
			return Authorization{}, false, malformed("Expires is not a Unix time")
		}
		return Authorization{Version: 1, Presigned: true, AccessKeyID: v1ID, Signature: v1Sig,
			Expires: e, SecurityToken: v1Tok, expiresRaw: v1Exp}, true, nil
	}
	if ver != AlgorithmV4 {
		return Authorization{}, false, malformed("x-oss-signature-version must be " + AlgorithmV4)
	}
	if cred == "" || date == "" || exp == "" || sig == "" {
		return Authorization{}, false, malformed("a V4 presigned URL needs x-oss-credential, x-oss-date, x-oss-expires and x-oss-signature")
	}
	a = Authorization{Version: 4, Presigned: true, Signature: sig, AdditionalHeaders: add,
		Timestamp: date, SecurityToken: tok}
	if err := a.parseCredential(cred); err != nil {
		return Authorization{}, false, err
	}
	e, perr := strconv.ParseInt(exp, 10, 64)
	if perr != nil || e < 1 || e > int64(MaxPresignExpiry.Seconds()) {
		return Authorization{}, false, malformed("x-oss-expires must be 1 to 604800 seconds")
	}
	a.Expires = e
	return a, true, nil
}
