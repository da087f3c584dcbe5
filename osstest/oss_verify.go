package osstest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	sdksigner "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
)

// verifyInput is one request to judge, with the secret of the identity it
// claims to be.
type verifyInput struct {
	req         *http.Request
	query       url.Values
	bucket, key string
	hasKey      bool
	auth        *authInfo
	secret      string
	region      string
}

// verify reports whether the request's signature is right, and the string
// to sign the server computed. The official SDK-v2 signer judges the cases
// it can reproduce; the independent verifier below judges the rest (V4
// presigned URLs, V4 signed with only a Date header, a real payload sha256,
// and V1 dates that do not round-trip through time formatting).
func (o *OSS) verify(in *verifyInput) (bool, string) {
	if ok, sts, done := verifySDK(in); done {
		return ok, sts
	}
	return verifyIndependent(in)
}

// v1SubResources is the union of the sub-resource whitelists of the Go SDKs
// (PROTOCOL.md §1): only these query parameters are signed in V1.
var v1SubResources = []string{"acl", "uploads", "location", "cors", "logging", "website", "referer",
	"lifecycle", "delete", "append", "tagging", "objectMeta", "uploadId", "partNumber", "security-token",
	"position", "img", "style", "styleName", "replication", "replicationProgress", "replicationLocation",
	"cname", "bucketInfo", "comp", "qos", "live", "status", "vod", "startTime", "endTime", "symlink",
	"x-oss-process", "response-content-type", "response-content-language", "response-content-disposition",
	"response-content-encoding", "response-cache-control", "response-expires", "x-oss-traffic-limit",
	"udf", "udfName", "udfImage", "udfId", "udfImageDesc", "udfApplication", "udfApplicationLog",
	"restore", "callback", "callback-var", "qosInfo", "policy", "stat", "encryption", "versions",
	"versioning", "versionId", "requestPayment", "x-oss-request-payer", "sequential", "inventory",
	"inventoryId", "continuation-token", "asyncFetch", "worm", "wormId", "wormExtend", "withHashContext",
	"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256", "x-oss-hash-ctx", "x-oss-md5-ctx",
	"transferAcceleration", "regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask",
	"x-oss-ac-vpc-id", "x-oss-ac-forward-allow", "metaQuery", "resourceGroup", "rtc",
	"x-oss-async-process", "responseHeader"}

func isV1SubResource(k string) bool { return slices.Contains(v1SubResources, k) }

// --- SDK-v2 signer path ---------------------------------------------------

func (in *verifyInput) sdkContext(req *http.Request, t time.Time) *sdksigner.SigningContext {
	sc := &sdksigner.SigningContext{
		Product: ptr("oss"), Region: ptr(in.region), Request: req, Time: t,
		Credentials: &credentials.Credentials{AccessKeyID: in.auth.accessKeyID, AccessKeySecret: in.secret, SecurityToken: in.auth.token},
	}
	if in.bucket != "" {
		sc.Bucket = ptr(in.bucket)
		if in.hasKey {
			sc.Key = ptr(in.key)
		}
	}
	return sc
}

// verifySDK re-signs a copy of the request with the official signer and
// compares. done is false when the signer cannot reproduce the request.
func verifySDK(in *verifyInput) (ok bool, sts string, done bool) {
	a, r := in.auth, in.req
	clone := r.Clone(context.Background())
	clone.Header = r.Header.Clone()
	clone.Header.Del("Authorization")
	u := *r.URL
	clone.URL = &u
	switch {
	case a.version == 1 && !a.query:
		date := r.Header.Get("Date")
		if date == "" {
			date = r.Header.Get("X-Oss-Date") // ali-oss signs x-oss-date on the Date line
		}
		t, err := http.ParseTime(date)
		if err != nil || t.UTC().Format(http.TimeFormat) != date {
			return false, "", false
		}
		sc := in.sdkContext(clone, t)
		sc.SubResource = v1SubResources
		if err := (&sdksigner.SignerV1{}).Sign(context.Background(), sc); err != nil {
			return false, "", false
		}
		got := strings.TrimPrefix(clone.Header.Get("Authorization"), "OSS "+a.accessKeyID+":")
		return hmac.Equal([]byte(got), []byte(a.signature)), sc.StringToSign, true
	case a.version == 1:
		exp, _ := strconv.ParseInt(a.dateLine, 10, 64)
		if strconv.FormatInt(exp, 10) != a.dateLine {
			return false, "", false
		}
		q := cloneValues(in.query)
		for _, k := range []string{"Signature", "OSSAccessKeyId", "Expires", "security-token"} {
			q.Del(k)
		}
		clone.URL.RawQuery = q.Encode()
		sc := in.sdkContext(clone, time.Unix(exp, 0))
		sc.SubResource = v1SubResources
		sc.AuthMethodQuery = true
		if err := (&sdksigner.SignerV1{}).Sign(context.Background(), sc); err != nil {
			return false, "", false
		}
		got := clone.URL.Query().Get("Signature")
		return hmac.Equal([]byte(got), []byte(a.signature)), sc.StringToSign, true
	case a.version == 4 && !a.query:
		ossDate := r.Header.Get("X-Oss-Date")
		t, err := time.Parse(iso8601, ossDate)
		if err != nil || t.Format(iso8601) != ossDate || r.Header.Get("X-Oss-Content-Sha256") != unsignedPayload {
			return false, "", false
		}
		for _, h := range a.additional {
			if strings.EqualFold(h, "date") {
				return false, "", false // the signer rewrites Date
			}
			if strings.EqualFold(h, "host") {
				clone.Header.Set("Host", r.Host)
			}
		}
		raw, ok := canonicalQueryV4(r.URL.RawQuery, false)
		if !ok {
			return false, "", true
		}
		clone.URL.RawQuery = raw
		sc := in.sdkContext(clone, t)
		sc.AdditionalHeaders = a.additional
		if err := (&sdksigner.SignerV4{}).Sign(context.Background(), sc); err != nil {
			return false, "", false
		}
		_, got, _ := strings.Cut(clone.Header.Get("Authorization"), ",Signature=")
		return hmac.Equal([]byte(got), []byte(a.signature)), sc.StringToSign, true
	}
	return false, "", false // V4 presigned: the signer takes its time from time.Now
}

// --- independent verifier (PROTOCOL.md §1-2) --------------------------------

func verifyIndependent(in *verifyInput) (bool, string) {
	if in.auth.version == 1 {
		sts := stringToSignV1(in)
		m := hmac.New(sha1.New, []byte(in.secret))
		m.Write([]byte(sts))
		want := base64.StdEncoding.EncodeToString(m.Sum(nil))
		return hmac.Equal([]byte(want), []byte(in.auth.signature)), sts
	}
	sts, ok := stringToSignV4(in)
	if !ok {
		return false, sts
	}
	want := hex.EncodeToString(hmacSHA256(signingKeyV4(in.secret, in.auth.scopeDate, in.region), sts))
	return hmac.Equal([]byte(want), []byte(in.auth.signature)), sts
}

func stringToSignV1(in *verifyInput) string {
	r, a := in.req, in.auth
	date := a.dateLine // presigned: Expires
	if !a.query {
		date = r.Header.Get("Date")
		if date == "" {
			date = r.Header.Get("X-Oss-Date")
		}
	}
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" + date + "\n")
	b.WriteString(canonicalHeaders(r, func(k string) bool { return strings.HasPrefix(k, "x-oss-") }))
	b.WriteString(resourcePath(in))
	var subs []string
	for k := range in.query {
		if isV1SubResource(k) {
			subs = append(subs, k)
		}
	}
	slices.Sort(subs)
	for i, k := range subs {
		b.WriteByte("?&"[min(i, 1)])
		b.WriteString(k)
		if v := in.query.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

func resourcePath(in *verifyInput) string {
	switch {
	case in.bucket == "":
		return "/"
	case !in.hasKey:
		return "/" + in.bucket + "/"
	}
	return "/" + in.bucket + "/" + in.key
}

func stringToSignV4(in *verifyInput) (string, bool) {
	r, a := in.req, in.auth
	t, err := time.Parse(iso8601, a.dateLine)
	if err != nil {
		if t, err = http.ParseTime(a.dateLine); err != nil {
			return "", false
		}
	}
	if t.UTC().Format("20060102") != a.scopeDate || a.product != "oss" {
		return "", false
	}
	query, ok := canonicalQueryV4(r.URL.RawQuery, a.query)
	if !ok {
		return "", false
	}
	add := map[string]bool{}
	for _, h := range a.additional {
		add[strings.ToLower(h)] = true
	}
	payload := unsignedPayload
	if p := r.Header.Get("X-Oss-Content-Sha256"); p != "" && !a.query {
		payload = p
	}
	canon := r.Method + "\n" + escapeRFC3986(resourcePath(in), false) + "\n" + query + "\n" +
		canonicalHeaders(r, func(k string) bool {
			return strings.HasPrefix(k, "x-oss-") || k == "content-type" || k == "content-md5" || add[k]
		}) + "\n" + strings.Join(a.additional, ";") + "\n" + payload
	sum := sha256.Sum256([]byte(canon))
	scope := a.scopeDate + "/" + in.region + "/oss/aliyun_v4_request"
	return algV4 + "\n" + a.dateLine + "\n" + scope + "\n" + hex.EncodeToString(sum[:]), true
}

// canonicalHeaders renders the selected headers (Host included, from
// r.Host) as sorted "name:value\n" lines.
func canonicalHeaders(r *http.Request, sel func(lower string) bool) string {
	h := r.Header.Clone()
	if h.Get("Host") == "" {
		h.Set("Host", r.Host)
	}
	var keys []string
	for k := range h {
		if lk := strings.ToLower(k); sel(lk) {
			keys = append(keys, lk)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range slices.Compact(keys) {
		vals := slices.Clone(h.Values(k))
		for i := range vals {
			vals[i] = strings.TrimSpace(vals[i])
		}
		b.WriteString(k + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// canonicalQueryV4 re-encodes a raw query as V4 signs it: every parameter
// (presigned: all but x-oss-signature), RFC 3986-encoded, sorted, a bare key
// for an empty value. ok is false if the query does not decode.
func canonicalQueryV4(raw string, presigned bool) (string, bool) {
	type kv struct{ k, v string }
	var pairs []kv
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", false
		}
		if dk == "" || presigned && dk == "x-oss-signature" {
			continue // the SDK signer writes nothing for an empty key either
		}
		pairs = append(pairs, kv{escapeRFC3986(dk, true), escapeRFC3986(dv, true)})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		if p.v != "" {
			b.WriteString("=" + p.v)
		}
	}
	return b.String(), true
}

// escapeRFC3986 percent-encodes all but A-Za-z0-9-_.~ (and '/' unless
// encodeSlash), with upper-case hex.
func escapeRFC3986(s string, encodeSlash bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	return b.String()
}

func signingKeyV4(secret, date, region string) []byte {
	k := hmacSHA256([]byte("aliyun_v4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "oss")
	return hmacSHA256(k, "aliyun_v4_request")
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
