package osstest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	algV4           = "OSS4-HMAC-SHA256"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	iso8601         = "20060102T150405Z"
	maxPresignV4    = 7 * 24 * time.Hour
)

// authInfo is what one request's credentials say, parsed from the
// Authorization header or the presign query parameters.
type authInfo struct {
	version     int  // 1 or 4
	query       bool // presigned URL
	accessKeyID string
	token       string
	signature   string

	// V1 query: Expires as sent. V4: the TimeStamp line (x-oss-date, or the
	// Date header for the legacy SDK).
	dateLine string
	// V4 only.
	scopeDate, region, product string
	additional                 []string
	expiresSec                 int64 // presigned V4: x-oss-expires
}

// parseAuth reads the credentials of r. It returns (nil, nil) for an
// anonymous request.
func parseAuth(r *http.Request, q url.Values) (*authInfo, *ossError) {
	if h := r.Header.Get("Authorization"); h != "" {
		return parseAuthHeader(h, r.Header)
	}
	switch {
	case q.Has("OSSAccessKeyId") || q.Has("Signature"):
		a := &authInfo{version: 1, query: true, accessKeyID: q.Get("OSSAccessKeyId"),
			signature: q.Get("Signature"), dateLine: q.Get("Expires"), token: q.Get("security-token")}
		if a.accessKeyID == "" || a.signature == "" || a.dateLine == "" {
			return nil, errAccessDenied("Authorization parameters are missing in the URL: OSSAccessKeyId, Expires and Signature are required.")
		}
		if _, err := strconv.ParseInt(a.dateLine, 10, 64); err != nil {
			return nil, errInvalidArgument("Expires is not a number.", "Expires", a.dateLine)
		}
		return a, nil
	case q.Has("x-oss-signature-version") || q.Has("x-oss-signature") || q.Has("x-oss-credential"):
		if v := q.Get("x-oss-signature-version"); v != algV4 {
			return nil, errInvalidArgument("Unsupported signature version.", "x-oss-signature-version", v)
		}
		a := &authInfo{version: 4, query: true, signature: q.Get("x-oss-signature"),
			dateLine: q.Get("x-oss-date"), token: q.Get("x-oss-security-token")}
		if err := a.parseCredential(q.Get("x-oss-credential")); err != nil {
			return nil, err
		}
		if a.signature == "" || a.dateLine == "" || !q.Has("x-oss-expires") {
			return nil, errAccessDenied("Authorization parameters are missing in the URL: x-oss-date, x-oss-expires and x-oss-signature are required.")
		}
		exp, err := strconv.ParseInt(q.Get("x-oss-expires"), 10, 64)
		if err != nil || exp <= 0 || exp > int64(maxPresignV4/time.Second) {
			e := errInvalidArgument("x-oss-expires must be between 1 and 604800 seconds.", "x-oss-expires", q.Get("x-oss-expires"))
			e.EC = "0002-00000232"
			return nil, e
		}
		a.expiresSec = exp
		if ah := q.Get("x-oss-additional-headers"); ah != "" {
			a.additional = strings.Split(ah, ";")
		}
		return a, nil
	}
	return nil, nil
}

func parseAuthHeader(h string, hdr http.Header) (*authInfo, *ossError) {
	bad := errInvalidArgument("Authorization header is invalid.", "Authorization", "")
	switch {
	case strings.HasPrefix(h, "OSS "):
		ak, sig, ok := strings.Cut(strings.TrimPrefix(h, "OSS "), ":")
		if !ok || ak == "" || sig == "" {
			return nil, bad
		}
		return &authInfo{version: 1, accessKeyID: ak, signature: sig, token: hdr.Get("X-Oss-Security-Token")}, nil
	case strings.HasPrefix(h, algV4+" "):
		a := &authInfo{version: 4, token: hdr.Get("X-Oss-Security-Token")}
		var cred string
		for _, f := range strings.Split(strings.TrimPrefix(h, algV4+" "), ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
			if !ok {
				return nil, bad
			}
			switch k {
			case "Credential":
				cred = v
			case "AdditionalHeaders":
				if v != "" {
					a.additional = strings.Split(v, ";")
				}
			case "Signature":
				a.signature = v
			default:
				return nil, bad
			}
		}
		if err := a.parseCredential(cred); err != nil {
			return nil, err
		}
		if a.signature == "" {
			return nil, bad
		}
		a.dateLine = hdr.Get("X-Oss-Date")
		if a.dateLine == "" {
			a.dateLine = hdr.Get("Date")
		}
		return a, nil
	}
	return nil, bad
}

func (a *authInfo) parseCredential(c string) *ossError {
	p := strings.Split(c, "/")
	if len(p) != 5 || p[0] == "" || p[4] != "aliyun_v4_request" || len(p[1]) != 8 {
		return errInvalidArgument("Invalid credential in Authorization.", "Credential", "")
	}
	a.accessKeyID, a.scopeDate, a.region, a.product = p[0], p[1], p[2], p[3]
	return nil
}

// requestTime is the signing time a header-signed request claims.
func (a *authInfo) requestTime(hdr http.Header) (time.Time, bool) {
	if a.version == 4 {
		if t, err := time.Parse(iso8601, a.dateLine); err == nil {
			return t, true
		}
	}
	for _, v := range []string{hdr.Get("X-Oss-Date"), hdr.Get("Date")} {
		if v == "" {
			continue
		}
		if t, err := http.ParseTime(v); err == nil {
			return t, true
		}
		if t, err := time.Parse(iso8601, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// authenticate checks the credentials of a request as OSS does and returns
// the identity it acts as. The order is: parse, key and token lookup,
// signature, then time (skew or presign expiry).
func (o *OSS) authenticate(r *http.Request, q url.Values, bucket, key string, hasKey bool) (*Identity, *ossError) {
	a, perr := parseAuth(r, q)
	if perr != nil {
		return nil, perr
	}
	if a == nil {
		return nil, errAccessDenied("You have no right to access this object because of bucket acl.")
	}
	now := o.acct.Clock.Now()
	id, err := o.acct.Lookup(a.accessKeyID, a.token, now)
	if err != nil {
		return nil, lookupError(err, a.accessKeyID)
	}
	if a.version == 4 && !a.query {
		switch p := r.Header.Get("X-Oss-Content-Sha256"); {
		case p == unsignedPayload:
		case isHexSHA256(p):
		default:
			return nil, &ossError{Status: 400, Code: "InvalidArgument", EC: "0002-00000214",
				Message: "x-oss-content-sha256 must be UNSIGNED-PAYLOAD or the hex sha256 of the payload.", HeaderName: "x-oss-content-sha256"}
		}
	}
	if !a.query && r.Header.Get("Date") == "" && r.Header.Get("X-Oss-Date") == "" {
		return nil, &ossError{Status: 403, Code: "AccessDenied", EC: "0002-00000503",
			Message: "The request must contain a Date or x-oss-date header."}
	}
	in := verifyInput{req: r, query: q, bucket: bucket, key: key, hasKey: hasKey, auth: a, secret: id.AccessKeySecret, region: o.region}
	if ok, sts := o.verify(&in); !ok {
		e := &ossError{Status: 403, Code: "SignatureDoesNotMatch", EC: "0002-00000040",
			Message:     "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			AccessKeyID: a.accessKeyID}
		if a.version == 4 || a.token == "" {
			e.StringToSign = sts // V1 with a token would echo the token
		}
		return nil, e
	}
	if e := o.checkTime(r, a, now); e != nil {
		return nil, e
	}
	return id, nil
}

func (o *OSS) checkTime(r *http.Request, a *authInfo, now time.Time) *ossError {
	switch {
	case a.query && a.version == 1:
		exp, _ := strconv.ParseInt(a.dateLine, 10, 64) // checked in parseAuth
		if now.Unix() > exp {
			return &ossError{Status: 403, Code: "AccessDenied", Message: "Request has expired.", EC: "0002-00000069",
				ExpiresTime: time.Unix(exp, 0).UTC().Format(time.RFC3339), ServerTime: now.UTC().Format(time.RFC3339)}
		}
		return nil
	case a.query:
		t, err := time.Parse(iso8601, a.dateLine)
		if err != nil {
			return errInvalidArgument("x-oss-date is invalid.", "x-oss-date", a.dateLine)
		}
		if t.Sub(now) > o.maxSkew {
			return o.skewError(t, now)
		}
		if exp := t.Add(time.Duration(a.expiresSec) * time.Second); now.After(exp) {
			return &ossError{Status: 403, Code: "AccessDenied", Message: "Request has expired.", EC: "0002-00000069",
				ExpiresTime: exp.UTC().Format(time.RFC3339), ServerTime: now.UTC().Format(time.RFC3339)}
		}
		return nil
	}
	t, ok := a.requestTime(r.Header)
	if !ok {
		return &ossError{Status: 403, Code: "AccessDenied", EC: "0002-00000503",
			Message: "The request must contain a Date or x-oss-date header."}
	}
	if d := now.Sub(t); d > o.maxSkew || d < -o.maxSkew {
		return o.skewError(t, now)
	}
	return nil
}

func (o *OSS) skewError(t, now time.Time) *ossError {
	return &ossError{Status: 403, Code: "RequestTimeTooSkewed", EC: "0002-00000504",
		Message:        "The difference between the request time and the current time is too large.",
		RequestTime:    t.UTC().Format(time.RFC3339),
		ServerTime:     now.UTC().Format(time.RFC3339),
		MaxAllowedSkew: strconv.FormatInt(o.maxSkew.Milliseconds(), 10)}
}

func lookupError(err error, ak string) *ossError {
	switch {
	case errors.Is(err, ErrUnknownAccessKey):
		return &ossError{Status: 403, Code: "InvalidAccessKeyId",
			Message: "The OSS Access Key Id you provided does not exist in our records.", AccessKeyID: ak}
	case errors.Is(err, ErrTokenExpired):
		return &ossError{Status: 403, Code: "SecurityTokenExpired", EC: "0002-00000007",
			Message: "The security token you provided has expired."}
	case errors.Is(err, ErrTokenNotForKey):
		return &ossError{Status: 403, Code: "AccessKeyIdAndSecurityTokenNotMatch",
			Message: "The OSS Access Key Id and the security token you provided do not match.", AccessKeyID: ak}
	default: // invalid, missing or unexpected token
		return &ossError{Status: 403, Code: "InvalidSecurityToken", EC: "0002-00000006",
			Message: "The security token you provided is invalid."}
	}
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// errPayloadSHA256 reports a body whose sha256 differs from the signed
// x-oss-content-sha256.
var errPayloadSHA256 = errors.New("payload sha256 mismatch")

// sha256Body checks the body against a signed sha256 when it reaches EOF.
type sha256Body struct {
	io.ReadCloser
	h    hash.Hash
	want string
}

func newSHA256Body(rc io.ReadCloser, want string) *sha256Body {
	return &sha256Body{ReadCloser: rc, h: sha256.New(), want: strings.ToLower(want)}
}

func (b *sha256Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(b.h.Sum(nil)) != b.want {
		return n, errPayloadSHA256
	}
	return n, err
}
