package signer

import (
	"net/http"
	"net/url"
	"strings"
)

// Header names as Go's http package canonicalises them.
const (
	hdrAuthorization = "Authorization"
	hdrDate          = "Date"
	hdrContentType   = "Content-Type"
	hdrContentMD5    = "Content-Md5"
	hdrOSSDate       = "X-Oss-Date"
	hdrContentSHA256 = "X-Oss-Content-Sha256"
	hdrSecurityToken = "X-Oss-Security-Token"

	// UnsignedPayload is the only x-oss-content-sha256 value OSS accepts
	// for V4 requests.
	UnsignedPayload = "UNSIGNED-PAYLOAD"

	// AlgorithmV4 names the V4 algorithm in the Authorization header and
	// in x-oss-signature-version.
	AlgorithmV4 = "OSS4-HMAC-SHA256"

	iso8601DateTime = "20060102T150405Z"
	iso8601Date     = "20060102"
	v4Terminator    = "aliyun_v4_request"
	defaultProduct  = "oss"
)

// unreserved reports whether c is in the RFC 3986 unreserved set.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEscapePath appends s RFC 3986-encoded (unreserved bytes kept,
// everything else %XX with upper-case hex). When keepSlash is true, '/' is
// kept too.
func appendEscapePath(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && keepSlash) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

// EscapePath returns s encoded as in a V4 canonical URI: RFC 3986, with
// the unreserved set A-Z a-z 0-9 - _ . ~ and '/' left as they are.
func EscapePath(s string) string { return string(appendEscapePath(nil, s, true)) }

// CanonicalURIV4 returns the V4 canonical URI for bucket and key: "/" for
// the service, "/bucket/" for a bucket operation, "/bucket/key" for an
// object, RFC 3986-encoded with '/' kept. The key is used exactly as given:
// a leading or doubled '/' or a key made only of dots is not cleaned.
func CanonicalURIV4(bucket, key string) string {
	return string(appendCanonicalURIV4(nil, bucket, key))
}

func appendCanonicalURIV4(dst []byte, bucket, key string) []byte {
	dst = append(dst, '/')
	if bucket != "" {
		dst = appendEscapePath(dst, bucket, true)
		dst = append(dst, '/')
	}
	return appendEscapePath(dst, key, true)
}

// CanonicalResourceV1 returns the V1 CanonicalizedResource for bucket, key
// and the raw query: "/bucket/key" with the key NOT encoded, then "?" and
// the signed sub-resources (see IsSubResourceV1) sorted by name, written
// "k=v" with the decoded value, or "k" when the value is empty. Query
// decoding follows net/url.ParseQuery: pairs that do not decode are
// skipped and the first value of a repeated parameter wins.
func CanonicalResourceV1(bucket, key, rawQuery string) string {
	return string(appendCanonicalResourceV1(nil, bucket, key, rawQuery))
}

// CanonicalQueryV4 returns the V4 canonical query string of rawQuery:
// every key and value RFC 3986-encoded (upper-case hex, '+' read as a
// space), pairs sorted by encoded key, a repeated key taking its last
// value (as SDK-v2 does), and an empty value written as a bare key. A
// component already in that form is kept byte for byte, which is what
// SDK-v2 signs; others (ali-oss sends ( ) ! * and the quote raw but signs
// them encoded) are decoded and re-encoded. A component that does not
// decode is kept as sent. skip, if non-empty, names a parameter to leave
// out (the presigned x-oss-signature).
func CanonicalQueryV4(rawQuery, skip string) string {
	var st [16]qpair
	return string(appendCanonicalQueryV4(nil, rawQuery, skip, st[:0]))
}

// qpair is one raw key=value pair of a query string.
type qpair struct{ k, v string }

func appendCanonicalQueryV4(dst []byte, rawQuery, skip string, pairs []qpair) []byte {
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = normalizeRFC3986(k), normalizeRFC3986(v)
		if skip != "" && k == skip {
			continue
		}
		pairs = append(pairs, qpair{k, v})
	}
	// Insertion sort: stable, allocation-free, and queries are short.
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j].k < pairs[j-1].k; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	start := len(dst)
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j].k == pairs[i].k {
			j++
		}
		v := pairs[j-1].v // the SDK keeps the last value of a repeated key
		for ; i < j; i++ {
			if len(dst) > start {
				dst = append(dst, '&')
			}
			dst = append(dst, pairs[i].k...)
			if v != "" {
				dst = append(dst, '=')
				dst = append(dst, v...)
			}
		}
	}
	return dst
}

// isRFC3986 reports whether s is in canonical RFC 3986 form: unreserved
// bytes, and %XX escapes with upper-case hex of bytes that are not
// unreserved.
func isRFC3986(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(s) {
			return false
		}
		h, l := unhexUpper(s[i+1]), unhexUpper(s[i+2])
		if h < 0 || l < 0 || unreserved(byte(h<<4|l)) {
			return false
		}
		i += 2
	}
	return true
}

func unhexUpper(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// normalizeRFC3986 returns s, a raw query component, in canonical RFC
// 3986 form ('+' meaning a space); s itself when it already is, or when it
// does not decode.
func normalizeRFC3986(s string) string {
	if isRFC3986(s) {
		return s
	}
	d, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return string(appendEscapePath(make([]byte, 0, len(d)*3), d, false))
}

// lowerLess reports whether ASCII-lowercased a sorts before lowercased b.
func lowerLess(a, b string) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return ca < cb
		}
	}
	return len(a) < len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lower(s[i]))
	}
	return dst
}

// appendHeaderValues appends the values trimmed of spaces and joined by ",".
func appendHeaderValues(dst []byte, vals []string) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, strings.TrimSpace(v)...)
	}
	return dst
}

func sortFold(keys []string) {
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && lowerLess(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// isV4DefaultSigned reports whether a header is always signed in V4:
// x-oss-*, content-type and content-md5.
func isV4DefaultSigned(name string) bool {
	return hasPrefixFold(name, "x-oss-") || strings.EqualFold(name, "content-type") ||
		strings.EqualFold(name, "content-md5")
}

// additionalV4 writes into dst the lowercased, sorted, de-duplicated
// additional header names that are present in h (or, for "host", when host
// is non-empty) and not signed by default, and returns them.
func additionalV4(dst []string, names []string, h http.Header, host string) []string {
	for _, n := range names {
		if isV4DefaultSigned(n) || n == "" {
			continue
		}
		present := len(headerValues(h, n)) > 0 && headerValues(h, n)[0] != ""
		if !present && strings.EqualFold(n, "host") && host != "" {
			present = true
		}
		if !present {
			continue
		}
		dup := false
		for _, d := range dst {
			if strings.EqualFold(d, n) {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, n)
		}
	}
	sortFold(dst)
	return dst
}

// headerValues returns h's values for name, matching the canonical form
// first and then any key equal to it ignoring case.
func headerValues(h http.Header, name string) []string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func firstHeader(h http.Header, canonicalName string) string {
	if v := h[canonicalName]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// appendCanonicalHeadersV4 appends the V4 CanonicalHeaders block: every
// x-oss-* header, content-type, content-md5 and the additional headers,
// lowercased, sorted, one "name:v1,v2\n" line each. host is used for an
// additional "host" header that h lacks (Go keeps Host in Request.Host).
func appendCanonicalHeadersV4(dst []byte, h http.Header, additional []string, host string, keys []string) []byte {
	hostInHeader := false
	for k := range h {
		if isV4DefaultSigned(k) {
			keys = append(keys, k)
			continue
		}
		for _, a := range additional {
			if strings.EqualFold(a, k) {
				keys = append(keys, k)
				if strings.EqualFold(k, "host") {
					hostInHeader = true
				}
				break
			}
		}
	}
	needHost := false
	if !hostInHeader {
		for _, a := range additional {
			if strings.EqualFold(a, "host") {
				needHost = host != ""
			}
		}
	}
	if needHost {
		keys = append(keys, "host")
	}
	sortFold(keys)
	for _, k := range keys {
		dst = appendLower(dst, k)
		dst = append(dst, ':')
		if needHost && k == "host" {
			dst = append(dst, strings.TrimSpace(host)...)
		} else {
			dst = appendHeaderValues(dst, h[k])
		}
		dst = append(dst, '\n')
	}
	return dst
}

// appendAdditionalList appends the names lowercased and joined by ";".
func appendAdditionalList(dst []byte, names []string) []byte {
	for i, n := range names {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = appendLower(dst, n)
	}
	return dst
}

// appendCanonicalHeadersV1 appends CanonicalizedOSSHeaders: every x-oss-*
// header, lowercased and sorted, as "name:v1,v2\n".
func appendCanonicalHeadersV1(dst []byte, h http.Header, keys []string) []byte {
	for k := range h {
		if hasPrefixFold(k, "x-oss-") {
			keys = append(keys, k)
		}
	}
	sortFold(keys)
	for _, k := range keys {
		dst = appendLower(dst, k)
		dst = append(dst, ':')
		dst = appendHeaderValues(dst, h[k])
		dst = append(dst, '\n')
	}
	return dst
}

// subPair is one decoded, signed V1 sub-resource.
type subPair struct{ k, v string }

func appendCanonicalResourceV1(dst []byte, bucket, key, rawQuery string) []byte {
	dst = append(dst, '/')
	if bucket != "" {
		dst = append(dst, bucket...)
		dst = append(dst, '/')
	}
	dst = append(dst, key...)
	var st [8]subPair
	subs := st[:0]
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" || strings.IndexByte(kv, ';') >= 0 {
			continue // url.ParseQuery rejects pairs containing ';'
		}
		k, v, _ := strings.Cut(kv, "=")
		k, ok := queryUnescape(k)
		if !ok || !IsSubResourceV1(k) {
			continue
		}
		v, ok = queryUnescape(v)
		if !ok {
			continue
		}
		seen := false
		for _, s := range subs {
			if s.k == k {
				seen = true // first value wins, as url.Values.Get
				break
			}
		}
		if !seen {
			subs = append(subs, subPair{k, v})
		}
	}
	for i := 1; i < len(subs); i++ {
		for j := i; j > 0 && subs[j].k < subs[j-1].k; j-- {
			subs[j], subs[j-1] = subs[j-1], subs[j]
		}
	}
	for i, s := range subs {
		if i == 0 {
			dst = append(dst, '?')
		} else {
			dst = append(dst, '&')
		}
		dst = append(dst, s.k...)
		if s.v != "" {
			dst = append(dst, '=')
			dst = append(dst, s.v...)
		}
	}
	return dst
}

// queryUnescape decodes s as url.QueryUnescape does, without allocating
// when s holds no escapes.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// IsSubResourceV1 reports whether a query parameter (decoded name) is part
// of the V1 CanonicalizedResource: any x-oss-* parameter, or a name in the
// union of SDK-v2's fixed list, SDK-v2's per-operation sub-resources and
// the legacy Go SDK's signKeyList.
func IsSubResourceV1(name string) bool {
	if strings.HasPrefix(name, "x-oss-") {
		return true
	}
	switch name {
	case "acl", "uploads", "location", "cors", "logging", "website", "referer",
		"lifecycle", "delete", "append", "tagging", "objectMeta", "uploadId",
		"partNumber", "security-token", "position", "img", "style", "styleName",
		"replication", "replicationProgress", "replicationLocation", "cname",
		"bucketInfo", "comp", "qos", "live", "status", "vod", "startTime",
		"endTime", "symlink", "response-content-type", "response-content-language",
		"response-expires", "response-cache-control", "response-content-disposition",
		"response-content-encoding", "udf", "udfName", "udfImage", "udfId",
		"udfImageDesc", "udfApplication", "udfApplicationLog", "restore",
		"callback", "callback-var", "qosInfo", "policy", "stat", "encryption",
		"versions", "versioning", "versionId", "requestPayment", "sequential",
		"inventory", "inventoryId", "continuation-token", "asyncFetch", "worm",
		"wormId", "wormExtend", "withHashContext", "transferAcceleration",
		"regionList", "cloudboxes", "metaQuery", "resourceGroup", "rtc",
		"responseHeader",
		// SDK-v2 per-operation sub-resources (oss/api_op_*.go, v1.6.1).
		"DeleteVectorIndex", "GetVectorIndex", "ListVectorIndexes", "PutVectorIndex",
		"accessPoint", "accessPointConfigForObjectProcess", "accessPointForObjectProcess",
		"accessPointPolicy", "accessPointPolicyForObjectProcess", "agenticBucket",
		"bucketArchiveDirectRead", "cleanRestoredObject", "httpsConfig", "legalHold",
		"metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
		"objectWorm", "overwriteConfig", "policyStatus", "publicAccessBlock", "quota",
		"redundancyTransition", "regions", "retention", "seal",
		"userDefinedLogFieldsConfig":
		return true
	}
	return false
}
