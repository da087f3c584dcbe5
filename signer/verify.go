package signer

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// KeyLookup finds the credentials of an access key id for verification.
// It returns false when the id is unknown. A non-empty SecurityToken in
// the result means the request must carry exactly that token.
type KeyLookup interface {
	LookupKey(ctx context.Context, accessKeyID string) (Credentials, bool)
}

// KeyLookupFunc adapts a function to KeyLookup.
type KeyLookupFunc func(ctx context.Context, accessKeyID string) (Credentials, bool)

// LookupKey implements KeyLookup.
func (f KeyLookupFunc) LookupKey(ctx context.Context, accessKeyID string) (Credentials, bool) {
	return f(ctx, accessKeyID)
}

// DefaultMaxSkew is how far a header-signed request's time may be from now.
const DefaultMaxSkew = 15 * time.Minute

// Verifier checks inbound V1 and V4 signatures, in header and presigned
// form. It never reads the clock: the caller passes now.
//
// It caches derived V4 keys, so use it by pointer and do not copy it after
// first use. It is safe for concurrent use; its fields must not change once
// it is in use.
type Verifier struct {
	// Keys looks up the secret of an access key id. It is required.
	Keys KeyLookup
	// Region is the only region accepted in a V4 credential scope. It is
	// required for V4; V1 carries no region.
	Region string
	// Product is the accepted V4 scope product; empty means "oss".
	Product string
	// MaxSkew bounds |request time - now| for header auth; 0 means
	// DefaultMaxSkew. Presigned URLs are checked against their expiry.
	MaxSkew time.Duration

	v4 V4 // key cache
}

// Result describes a request that verified.
type Result struct {
	// Credentials are the matched key's, as KeyLookup returned them.
	Credentials Credentials
	// Version is 1 or 4; Presigned tells query from header auth.
	Version   int
	Presigned bool
	// Time is the signing time (header auth and presigned V4), or zero.
	Time time.Time
	// Expires is when a presigned URL expires; zero for header auth.
	Expires time.Time
}

// LogValue implements slog.LogValuer; it shows the masked key id only.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", MaskID(r.Credentials.AccessKeyID)),
		slog.Int("version", r.Version), slog.Bool("presigned", r.Presigned))
}

// Verify checks the signature of r, an inbound server request, at time
// now. bucket and key are the resource as the caller's router decoded it
// (bucket "" for the service, key "" for a bucket), in either addressing
// style. It reads r's method, URL.RawQuery, Host and headers and never
// modifies r or reads its body. A signed "host" additional header is
// checked against the Host header if present, else r.Host (where Go's
// server keeps it). The Authorization header takes V1 or V4
// header auth; without it the query is checked for V1 or V4 presign
// parameters.
//
// Client quirks accepted: V1 requests with no Date but an RFC 1123
// x-oss-date (ali-oss) sign that value; V4 requests with no x-oss-date
// sign the raw Date header on the TimeStamp line (legacy Go SDK); V4
// Authorization parts may be reordered and separated by ", " (Python SDK).
//
// Every error is a *VerifyError whose Code is the OSS error code; match
// the cause with errors.Is and the ErrX sentinels. The signature is
// compared in constant time.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, bucket, key string, now time.Time) (Result, error) {
	if r == nil || r.URL == nil {
		return Result{}, malformed("no request")
	}
	authz := firstHeader(r.Header, hdrAuthorization)
	pa, presigned, err := ParsePresigned(r.URL.RawQuery)
	if authz != "" {
		if presigned || err != nil {
			return Result{}, malformed("a request may carry an Authorization header or presign parameters, not both")
		}
		a, err := ParseAuthorization(authz)
		if err != nil {
			return Result{}, err
		}
		if a.Version == 1 {
			return v.verifyV1Header(ctx, r, bucket, key, now, a)
		}
		return v.verifyV4(ctx, r, bucket, key, now, a)
	}
	if err != nil {
		return Result{}, err
	}
	if !presigned {
		return Result{}, verifyErr(ErrMissingSignature, "the request has no Authorization header and no signature parameters")
	}
	if pa.Version == 1 {
		return v.verifyV1Query(ctx, r, bucket, key, now, pa)
	}
	return v.verifyV4(ctx, r, bucket, key, now, pa)
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

func (v *Verifier) lookup(ctx context.Context, id string) (Credentials, error) {
	if v.Keys == nil {
		return Credentials{}, verifyErr(ErrInvalidAccessKeyID, "no access keys are configured")
	}
	c, ok := v.Keys.LookupKey(ctx, id)
	if !ok || c.AccessKeySecret == "" {
		return Credentials{}, verifyErr(ErrInvalidAccessKeyID, "The OSS Access Key Id you provided does not exist in our records.")
	}
	return c, nil
}

// checkToken compares the token sent with the one the key requires.
func checkToken(c Credentials, sent string) error {
	if c.SecurityToken == "" && sent == "" {
		return nil
	}
	if c.SecurityToken == "" || !hmac.Equal([]byte(c.SecurityToken), []byte(sent)) {
		return verifyErr(ErrInvalidSecurityToken, "The security token you provided is invalid.")
	}
	return nil
}

func (v *Verifier) checkSkew(t, now time.Time) error {
	d := now.Sub(t)
	if d > v.maxSkew() || -d > v.maxSkew() {
		return verifyErr(ErrRequestTimeTooSkewed, "The difference between the request time and the current time is too large.")
	}
	return nil
}

func mismatch() error {
	return verifyErr(ErrSignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

func (v *Verifier) verifyV1Header(ctx context.Context, r *http.Request, bucket, key string, now time.Time, a Authorization) (Result, error) {
	date := firstHeader(r.Header, hdrDate)
	if date == "" {
		date = firstHeader(r.Header, hdrOSSDate) // ali-oss signs x-oss-date on the date line
	}
	if date == "" {
		return Result{}, verifyErr(ErrMissingDate, "A Date or x-oss-date header is required.")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return Result{}, verifyErr(ErrMissingDate, "The Date header is not an HTTP date.")
	}
	if err := v.checkSkew(t, now); err != nil {
		return Result{}, err
	}
	cred, err := v.lookup(ctx, a.AccessKeyID)
	if err != nil {
		return Result{}, err
	}
	if err := checkToken(cred, firstHeader(r.Header, hdrSecurityToken)); err != nil {
		return Result{}, err
	}
	var sig [28]byte
	signatureV1(&sig, r.Method, r.Header, date, bucket, key, r.URL.RawQuery, cred.AccessKeySecret)
	if !hmac.Equal(sig[:], []byte(a.Signature)) {
		return Result{}, mismatch()
	}
	return Result{Credentials: cred, Version: 1, Time: t}, nil
}

func (v *Verifier) verifyV1Query(ctx context.Context, r *http.Request, bucket, key string, now time.Time, a Authorization) (Result, error) {
	exp := time.Unix(a.Expires, 0)
	if now.After(exp) {
		return Result{}, verifyErr(ErrRequestExpired, "Request has expired.")
	}
	cred, err := v.lookup(ctx, a.AccessKeyID)
	if err != nil {
		return Result{}, err
	}
	if err := checkToken(cred, a.SecurityToken); err != nil {
		return Result{}, err
	}
	var sig [28]byte
	signatureV1(&sig, r.Method, r.Header, a.expiresRaw, bucket, key, r.URL.RawQuery, cred.AccessKeySecret)
	if !hmac.Equal(sig[:], []byte(a.Signature)) {
		return Result{}, mismatch()
	}
	return Result{Credentials: cred, Version: 1, Presigned: true, Expires: exp}, nil
}

func (v *Verifier) verifyV4(ctx context.Context, r *http.Request, bucket, key string, now time.Time, a Authorization) (Result, error) {
	if v.Region == "" {
		return Result{}, malformed("V4 signatures are not accepted: no region is configured")
	}
	product := v.Product
	if product == "" {
		product = defaultProduct
	}
	if a.Region != v.Region || a.Product != product {
		return Result{}, malformed("the V4 credential scope names another region or product")
	}
	payload := firstHeader(r.Header, hdrContentSHA256)
	if payload == "" {
		payload = UnsignedPayload
	} else if payload != UnsignedPayload {
		return Result{}, verifyErr(ErrUnsupportedPayloadHash, "x-oss-content-sha256 must be UNSIGNED-PAYLOAD.")
	}
	res := Result{Version: 4, Presigned: a.Presigned}
	timestamp, token, skip := a.Timestamp, a.SecurityToken, "x-oss-signature"
	if a.Presigned {
		t, err := time.Parse(iso8601DateTime, timestamp)
		if err != nil {
			return Result{}, malformed("x-oss-date is not yyyymmddThhmmssZ")
		}
		res.Time, res.Expires = t, t.Add(time.Duration(a.Expires)*time.Second)
		if now.After(res.Expires) {
			return Result{}, verifyErr(ErrRequestExpired, "Request has expired.")
		}
		if t.Sub(now) > v.maxSkew() {
			return Result{}, verifyErr(ErrRequestTimeTooSkewed, "The difference between the request time and the current time is too large.")
		}
	} else {
		skip = ""
		token = firstHeader(r.Header, hdrSecurityToken)
		var t time.Time
		var err error
		if timestamp = firstHeader(r.Header, hdrOSSDate); timestamp != "" {
			t, err = time.Parse(iso8601DateTime, timestamp)
		} else if timestamp = firstHeader(r.Header, hdrDate); timestamp != "" {
			t, err = http.ParseTime(timestamp) // legacy Go SDK: raw Date on the TimeStamp line
		} else {
			return Result{}, verifyErr(ErrMissingDate, "An x-oss-date or Date header is required.")
		}
		if err != nil {
			return Result{}, verifyErr(ErrMissingDate, "The x-oss-date or Date header does not parse.")
		}
		if err := v.checkSkew(t, now); err != nil {
			return Result{}, err
		}
		res.Time = t
	}
	// The SDKs take the scope date from the signing time; a scope of
	// another day would let a derived key outlive its day.
	var db [len(iso8601Date)]byte
	if string(res.Time.UTC().AppendFormat(db[:0], iso8601Date)) != a.Date {
		return Result{}, malformed("the V4 credential scope date is not the date of the request time")
	}
	cred, err := v.lookup(ctx, a.AccessKeyID)
	if err != nil {
		return Result{}, err
	}
	if err := checkToken(cred, token); err != nil {
		return Result{}, err
	}
	var ab [8]string
	add := ab[:0]
	for rest := a.AdditionalHeaders; rest != ""; {
		var n string
		n, rest, _ = strings.Cut(rest, ";")
		if n != "" {
			add = append(add, n)
		}
	}
	var sig [2 * sha256.Size]byte
	v.v4.signature(&sig, &v4Input{
		method: r.Method, bucket: bucket, key: key, rawQuery: r.URL.RawQuery, skipQuery: skip,
		header: r.Header, host: r.Host, additionalRaw: a.AdditionalHeaders,
		payload: payload, timestamp: timestamp, date: a.Date, region: a.Region, product: a.Product,
	}, add, cred)
	if !hmac.Equal(sig[:], []byte(a.Signature)) {
		return Result{}, mismatch()
	}
	res.Credentials = cred
	return res, nil
}
