package signer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// V4 signs OSS requests with signature version 4 (OSS4-HMAC-SHA256).
//
// A V4 holds no clock and does no I/O: every call takes the credentials,
// the bucket and key, and the signing time. It caches derived signing
// keys per (access key id, date, region), so it must be used by pointer
// and not copied after first use. It is safe for concurrent use; its
// exported fields must not change once it is in use.
type V4 struct {
	// Region is the OSS region in the credential scope, e.g.
	// "cn-hangzhou". It is required.
	Region string
	// Product is the scope's product; empty means "oss".
	Product string
	// AdditionalHeaders names extra headers to sign, e.g. "host". Names
	// are matched ignoring case; a header that the request lacks, or that
	// is signed anyway (x-oss-*, content-type, content-md5), is skipped.
	// "host" is read from Request.Host (or URL.Host) when the header map
	// has no Host entry. Nil means none.
	AdditionalHeaders []string

	keys keyCache
}

func (s *V4) product() string {
	if s.Product == "" {
		return defaultProduct
	}
	return s.Product
}

func requestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	if r.URL != nil {
		return r.URL.Host
	}
	return ""
}

// Sign adds V4 header authentication to r, in place. It sets x-oss-date,
// Date, x-oss-content-sha256 (UNSIGNED-PAYLOAD), x-oss-security-token (or
// deletes a stale one when cred has no token) and Authorization,
// overwriting any values already there, and signs every query parameter
// and every x-oss-*, Content-Type and Content-MD5 header of r. Set all
// headers before calling Sign and none after. A nil r.Header is
// allocated.
//
// bucket and key name the resource whatever the URL's addressing style:
// bucket "" signs a service request, key "" a bucket request. t is the
// signing time. Sign reads neither the body nor the clock.
func (s *V4) Sign(r *http.Request, cred Credentials, bucket, key string, t time.Time) error {
	if r == nil || r.URL == nil {
		return fmt.Errorf("signing request: %w", ErrNilRequest)
	}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return fmt.Errorf("signing request: %w", ErrMissingCredentials)
	}
	if s.Region == "" {
		return fmt.Errorf("signing request: %w", ErrMissingRegion)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	t = t.UTC()
	var tb [64]byte
	ts := t.AppendFormat(tb[:0], iso8601DateTime)
	ts = t.AppendFormat(ts, http.TimeFormat)
	dates := string(ts)
	datetime, httpDate := dates[:len(iso8601DateTime)], dates[len(iso8601DateTime):]

	h := r.Header
	vals := make([]string, 5)
	vals[0], vals[1], vals[2], vals[3] = datetime, httpDate, UnsignedPayload, cred.SecurityToken
	h[hdrOSSDate] = vals[0:1:1]
	h[hdrDate] = vals[1:2:2]
	h[hdrContentSHA256] = vals[2:3:3]
	if cred.SecurityToken != "" {
		h[hdrSecurityToken] = vals[3:4:4]
	} else {
		delete(h, hdrSecurityToken)
	}

	host := requestHost(r)
	var ab [8]string
	add := additionalV4(ab[:0], s.AdditionalHeaders, h, host)
	product := s.product()
	date := datetime[:8]
	var sig [2 * sha256.Size]byte
	s.signature(&sig, &v4Input{
		method: r.Method, bucket: bucket, key: key, rawQuery: r.URL.RawQuery,
		header: h, host: host, payload: UnsignedPayload,
		timestamp: datetime, date: date, region: s.Region, product: product,
	}, add, cred)

	var b strings.Builder
	n := len(AlgorithmV4) + len(" Credential=") + len(cred.AccessKeyID) + 1 + len(date) + 1 +
		len(s.Region) + 1 + len(product) + 1 + len(v4Terminator) + len(",Signature=") + len(sig)
	if len(add) > 0 {
		n += len(",AdditionalHeaders=") + len(add)
		for _, a := range add {
			n += len(a)
		}
	}
	b.Grow(n)
	b.WriteString(AlgorithmV4 + " Credential=")
	b.WriteString(cred.AccessKeyID)
	b.WriteByte('/')
	b.WriteString(date)
	b.WriteByte('/')
	b.WriteString(s.Region)
	b.WriteByte('/')
	b.WriteString(product)
	b.WriteString("/" + v4Terminator)
	if len(add) > 0 {
		b.WriteString(",AdditionalHeaders=")
		for i, a := range add {
			if i > 0 {
				b.WriteByte(';')
			}
			for j := 0; j < len(a); j++ {
				b.WriteByte(lower(a[j]))
			}
		}
	}
	b.WriteString(",Signature=")
	b.Write(sig[:])
	vals[4] = b.String()
	h[hdrAuthorization] = vals[4:5:5]
	return nil
}

// MaxPresignExpiry is the longest lifetime of a V4 presigned URL.
const MaxPresignExpiry = 7 * 24 * time.Hour

// Presign returns r's URL with V4 query authentication, valid for expires
// from the signing time t. It does not modify r. The query gains
// x-oss-signature-version, x-oss-credential, x-oss-date, x-oss-expires,
// x-oss-additional-headers (when AdditionalHeaders match), the
// x-oss-security-token of STS credentials, and x-oss-signature; any
// such parameters already present are replaced. The query is re-encoded
// in sorted order, as the official SDK does. Headers of r that are signed
// (x-oss-*, Content-Type, Content-MD5, additional headers) must be sent
// unchanged with the URL.
//
// expires must be between 1 second and 7 days (ErrInvalidExpires);
// fractions of a second are dropped.
func (s *V4) Presign(r *http.Request, cred Credentials, bucket, key string, t time.Time, expires time.Duration) (string, error) {
	if r == nil || r.URL == nil {
		return "", fmt.Errorf("presigning request: %w", ErrNilRequest)
	}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return "", fmt.Errorf("presigning request: %w", ErrMissingCredentials)
	}
	if s.Region == "" {
		return "", fmt.Errorf("presigning request: %w", ErrMissingRegion)
	}
	if expires < time.Second || expires > MaxPresignExpiry {
		return "", fmt.Errorf("presigning request: %w", ErrInvalidExpires)
	}
	t = t.UTC()
	datetime := t.Format(iso8601DateTime)
	date := datetime[:8]
	product := s.product()
	host := requestHost(r)
	add := additionalV4(nil, s.AdditionalHeaders, r.Header, host)

	q, _ := url.ParseQuery(r.URL.RawQuery) // the SDK ignores undecodable pairs too
	for _, p := range []string{"x-oss-signature-version", "x-oss-credential", "x-oss-date",
		"x-oss-expires", "x-oss-additional-headers", "x-oss-security-token", "x-oss-signature"} {
		q.Del(p)
	}
	if cred.SecurityToken != "" {
		q.Add("x-oss-security-token", cred.SecurityToken)
	}
	q.Add("x-oss-signature-version", AlgorithmV4)
	q.Add("x-oss-date", datetime)
	q.Add("x-oss-expires", strconv.FormatInt(int64(expires/time.Second), 10))
	q.Add("x-oss-credential", cred.AccessKeyID+"/"+date+"/"+s.Region+"/"+product+"/"+v4Terminator)
	if len(add) > 0 {
		q.Add("x-oss-additional-headers", string(appendAdditionalList(nil, add)))
	}
	payload := firstHeader(r.Header, hdrContentSHA256)
	if payload == "" {
		payload = UnsignedPayload
	}
	var sig [2 * sha256.Size]byte
	s.signature(&sig, &v4Input{
		method: r.Method, bucket: bucket, key: key, rawQuery: q.Encode(),
		header: r.Header, host: host, payload: payload,
		timestamp: datetime, date: date, region: s.Region, product: product,
	}, add, cred)
	q.Add("x-oss-signature", string(sig[:]))
	u := *r.URL
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// v4Input is everything a V4 signature covers.
type v4Input struct {
	method, bucket, key string
	rawQuery, skipQuery string
	header              http.Header
	host                string
	additionalRaw       string // as sent in Authorization; used instead of the list when set
	payload             string
	timestamp           string // the TimeStamp line
	date                string // yyyymmdd of the scope
	region, product     string
}

// signature writes the hex V4 signature of in into out. additional is
// the sorted list of additional header names (a separate parameter so that
// escape analysis keeps the caller's array on the stack).
func (s *V4) signature(out *[2 * sha256.Size]byte, in *v4Input, additional []string, cred Credentials) {
	k := s.keys.signingKey(cred.AccessKeyID, cred.AccessKeySecret, []byte(in.date), in.region, in.product)
	signatureV4(out, in, additional, &k)
}

func signatureV4(out *[2 * sha256.Size]byte, in *v4Input, additional []string, signingKey *[sha256.Size]byte) {
	var cb [1024]byte
	var kb [32]string
	cr := canonicalRequestV4(cb[:0], in, additional, kb[:0])
	crHash := sha256.Sum256(cr)

	var sb [hmacBlock + 256]byte
	sts := append(sb[:hmacBlock], AlgorithmV4+"\n"...)
	sts = appendScopeV4(append(append(sts, in.timestamp...), '\n'), in.date, in.region, in.product)
	sts = append(sts, '\n')
	sts = hex.AppendEncode(sts, crHash[:])
	mac := hmacSHA256Reserved(signingKey[:], sts)
	hex.Encode(out[:], mac[:])
}

func appendScopeV4(dst []byte, date, region, product string) []byte {
	dst = append(dst, date...)
	dst = append(dst, '/')
	dst = append(dst, region...)
	dst = append(dst, '/')
	dst = append(dst, product...)
	dst = append(dst, '/')
	return append(dst, v4Terminator...)
}

// canonicalRequestV4 appends the V4 canonical request to dst.
func canonicalRequestV4(dst []byte, in *v4Input, additional, keys []string) []byte {
	dst = append(dst, in.method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURIV4(dst, in.bucket, in.key)
	dst = append(dst, '\n')
	var qb [16]qpair
	dst = appendCanonicalQueryV4(dst, in.rawQuery, in.skipQuery, qb[:0])
	dst = append(dst, '\n')
	dst = appendCanonicalHeadersV4(dst, in.header, additional, in.host, keys)
	dst = append(dst, '\n')
	if in.additionalRaw != "" {
		dst = append(dst, in.additionalRaw...)
	} else {
		dst = appendAdditionalList(dst, additional)
	}
	dst = append(dst, '\n')
	return append(dst, in.payload...)
}

// StringToSignV4 returns the V4 canonical request and string to sign for
// a request, for debugging and known-answer tests. It takes the same
// inputs as V4.Sign, with the request's headers as they are (it adds
// nothing); timestamp is the TimeStamp line (normally x-oss-date).
func StringToSignV4(r *http.Request, bucket, key, region, product, timestamp string, additional []string) (canonicalRequest, stringToSign string) {
	if product == "" {
		product = defaultProduct
	}
	host := requestHost(r)
	add := additionalV4(nil, additional, r.Header, host)
	payload := firstHeader(r.Header, hdrContentSHA256)
	if payload == "" {
		payload = UnsignedPayload
	}
	date := timestamp
	if len(date) > 8 {
		date = date[:8]
	}
	in := &v4Input{method: r.Method, bucket: bucket, key: key, rawQuery: r.URL.RawQuery,
		header: r.Header, host: host, payload: payload,
		timestamp: timestamp, date: date, region: region, product: product}
	cr := canonicalRequestV4(nil, in, add, nil)
	sum := sha256.Sum256(cr)
	sts := appendScopeV4([]byte(AlgorithmV4+"\n"+timestamp+"\n"), date, region, product)
	sts = hex.AppendEncode(append(sts, '\n'), sum[:])
	return string(cr), string(sts)
}
