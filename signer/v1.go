package signer

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// V1 signs OSS requests with signature version 1 (HMAC-SHA1,
// "OSS ak:signature"). It has no state: the zero value is ready and safe
// for concurrent use. It holds no clock and does no I/O.
//
// V1 signs only whitelisted query parameters (IsSubResourceV1), so a
// proxy that re-signs upstream should prefer V4, which signs them all.
type V1 struct{}

// Sign adds V1 header authentication to r, in place. It sets Date (RFC
// 1123, from t), x-oss-security-token (or deletes a stale one when cred
// has no token) and Authorization, overwriting any values already there.
// It signs Content-MD5, Content-Type, every x-oss-* header and the
// sub-resources of the query. Set all headers before calling Sign; a nil
// r.Header is allocated.
//
// bucket and key name the resource whatever the URL's addressing style
// (bucket "" for the service, key "" for a bucket). The key is signed
// raw, not URL-encoded.
func (V1) Sign(r *http.Request, cred Credentials, bucket, key string, t time.Time) error {
	if r == nil || r.URL == nil {
		return fmt.Errorf("signing request: %w", ErrNilRequest)
	}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return fmt.Errorf("signing request: %w", ErrMissingCredentials)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	h := r.Header
	var tb [32]byte
	date := t.UTC().AppendFormat(tb[:0], http.TimeFormat)
	vals := make([]string, 3)
	vals[0], vals[1] = string(date), cred.SecurityToken
	h[hdrDate] = vals[0:1:1]
	if cred.SecurityToken != "" {
		h[hdrSecurityToken] = vals[1:2:2]
	} else {
		delete(h, hdrSecurityToken)
	}
	var sig [28]byte
	signatureV1(&sig, r.Method, h, vals[0], bucket, key, r.URL.RawQuery, cred.AccessKeySecret)

	var b strings.Builder
	b.Grow(len("OSS ") + len(cred.AccessKeyID) + 1 + len(sig))
	b.WriteString("OSS ")
	b.WriteString(cred.AccessKeyID)
	b.WriteByte(':')
	b.Write(sig[:])
	vals[2] = b.String()
	h[hdrAuthorization] = vals[2:3:3]
	return nil
}

// Presign returns r's URL with V1 query authentication (OSSAccessKeyId,
// Expires = t+expires as Unix seconds, Signature, and security-token for
// STS credentials). It does not modify r. Any such parameters already in
// the query are replaced, and the query is re-encoded in sorted order as
// the official SDK does. expires must be at least 1 second and at most 7
// days (ErrInvalidExpires).
func (V1) Presign(r *http.Request, cred Credentials, bucket, key string, t time.Time, expires time.Duration) (string, error) {
	if r == nil || r.URL == nil {
		return "", fmt.Errorf("presigning request: %w", ErrNilRequest)
	}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return "", fmt.Errorf("presigning request: %w", ErrMissingCredentials)
	}
	if expires < time.Second || expires > MaxPresignExpiry {
		return "", fmt.Errorf("presigning request: %w", ErrInvalidExpires)
	}
	exp := strconv.FormatInt(t.Add(expires).Unix(), 10)
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for _, p := range []string{"OSSAccessKeyId", "Expires", "Signature", "security-token"} {
		q.Del(p)
	}
	if cred.SecurityToken != "" {
		q.Add("security-token", cred.SecurityToken)
	}
	var sig [28]byte
	signatureV1(&sig, r.Method, r.Header, exp, bucket, key, q.Encode(), cred.AccessKeySecret)
	q.Add("Expires", exp)
	q.Add("OSSAccessKeyId", cred.AccessKeyID)
	q.Add("Signature", string(sig[:]))
	u := *r.URL
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// signatureV1 writes base64(HMAC-SHA1(secret, StringToSign)) into out.
func signatureV1(out *[28]byte, method string, h http.Header, date, bucket, key, rawQuery, secret string) {
	var sb [hmacBlock + 1024]byte
	var kb [32]string
	sts := appendStringToSignV1(sb[:hmacBlock], method, h, date, bucket, key, rawQuery, kb[:0])
	mac := hmacSHA1Reserved(secret, sts)
	base64.StdEncoding.Encode(out[:], mac[:])
}

func appendStringToSignV1(dst []byte, method string, h http.Header, date, bucket, key, rawQuery string, keys []string) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, firstHeader(h, hdrContentMD5)...)
	dst = append(dst, '\n')
	dst = append(dst, firstHeader(h, hdrContentType)...)
	dst = append(dst, '\n')
	dst = append(dst, date...)
	dst = append(dst, '\n')
	dst = appendCanonicalHeadersV1(dst, h, keys)
	return appendCanonicalResourceV1(dst, bucket, key, rawQuery)
}

// StringToSignV1 returns the V1 string to sign for r as it is, with date
// on the date line (the Date header, the x-oss-date header for ali-oss, or
// Expires for a presigned URL). It is for debugging and known-answer tests.
func StringToSignV1(r *http.Request, bucket, key, date string) string {
	return string(appendStringToSignV1(nil, r.Method, r.Header, date, bucket, key, r.URL.RawQuery, nil))
}
