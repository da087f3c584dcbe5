package vend

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ossproxy/ossproxy/auth"
)

// MaxBodySize is the largest request body the API reads.
const MaxBodySize = 64 << 10

// maxKeyLength is the longest object key OSS accepts, in bytes.
const maxKeyLength = 1023

// PresignRequest is the body of POST /_ossproxy/v1/presign.
type PresignRequest struct {
	// Bucket and Key name the object. Both are required.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Method is GET, PUT, HEAD or DELETE. "": GET.
	Method string `json:"method,omitempty"`
	// Expires is how long the URL should work. 0: the service default.
	// It is capped (see PresignResult.Capped).
	Expires Expiry `json:"expires,omitzero"`
	// Headers are request headers the URL is signed for, which the client
	// must send unchanged: Content-Type, Content-MD5 and x-oss-* headers
	// other than credential, signature and copy-source headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Response overrides the response headers of a GET or HEAD:
	// content-type, content-language, expires, cache-control,
	// content-disposition, content-encoding (with or without the
	// "response-" prefix).
	Response map[string]string `json:"response,omitempty"`
	// Version is "v4" (OSS4-HMAC-SHA256) or "v1" (HMAC-SHA1). "": v4.
	Version string `json:"version,omitempty"`
}

// STSRequest is the body of POST /_ossproxy/v1/sts. Every field narrows
// the caller's grants; none can widen them. The zero value asks for
// everything the caller is granted.
type STSRequest struct {
	// Bucket limits the credentials to one bucket. "": every granted bucket.
	Bucket string `json:"bucket,omitempty"`
	// Prefix limits them to keys under a prefix inside a grant; it needs
	// Bucket.
	Prefix string `json:"prefix,omitempty"`
	// Actions limits them to a subset of the granted actions, as a JSON
	// array (["read","list"]) or a comma-separated string ("read,list").
	// Empty: every granted action.
	Actions Actions `json:"actions,omitzero"`
	// DurationSeconds is the lifetime asked for, at least 900; it is capped
	// by the configured maximum. 0: the configured default.
	DurationSeconds int64 `json:"duration_seconds,omitempty"`
}

// Expiry is a lifetime in JSON: a number of seconds (60) or a Go duration
// string ("15m", "90s"). It must be positive and whole seconds.
type Expiry time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (e *Expiry) UnmarshalJSON(b []byte) error {
	var d time.Duration
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if n > math.MaxInt64/int64(time.Second) || n < 0 {
				return errors.New("expires out of range")
			}
			d = time.Duration(n) * time.Second
			break
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return errors.New(`expires must be seconds or a duration such as "15m"`)
		}
		d = v
	default:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(time.Second) {
			return errors.New("expires must be a whole number of seconds")
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 || d%time.Second != 0 {
		return errors.New("expires must be a positive whole number of seconds")
	}
	*e = Expiry(d)
	return nil
}

// MarshalJSON writes whole seconds.
func (e Expiry) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(time.Duration(e)/time.Second), 10), nil
}

// Actions is a set of auth actions in JSON: ["read","write"] or
// "read,write", with the names auth.ParseAction accepts.
type Actions auth.Action

// UnmarshalJSON implements json.Unmarshaler.
func (a *Actions) UnmarshalJSON(b []byte) error {
	var names []string
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		names = strings.Split(s, ",")
	} else if err := json.Unmarshal(b, &names); err != nil {
		return errors.New(`actions must be an array of names or "read,write"`)
	}
	var set auth.Action
	for _, n := range names {
		act, err := auth.ParseAction(strings.TrimSpace(n))
		if err != nil {
			return fmt.Errorf("actions: unknown action %q", n)
		}
		set |= act
	}
	*a = Actions(set)
	return nil
}

// MarshalJSON writes the names as an array.
func (a Actions) MarshalJSON() ([]byte, error) {
	var names []string
	for bit := auth.Action(1); bit != 0 && bit <= auth.ActionAll; bit <<= 1 {
		if auth.Action(a)&bit != 0 {
			names = append(names, bit.String())
		}
	}
	return json.Marshal(names)
}

// DecodePresignRequest parses and validates a presign request body. Errors
// wrap ErrMalformed and say which field is wrong.
func DecodePresignRequest(body []byte) (PresignRequest, error) {
	var in PresignRequest
	if err := decodeStrict(body, &in); err != nil {
		return PresignRequest{}, err
	}
	if err := in.validate(); err != nil {
		return PresignRequest{}, err
	}
	return in, nil
}

// DecodeSTSRequest parses and validates an STS request body. An empty body
// is the zero request. Errors wrap ErrMalformed.
func DecodeSTSRequest(body []byte) (STSRequest, error) {
	var in STSRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeStrict(body, &in); err != nil {
			return STSRequest{}, err
		}
	}
	if err := in.validate(); err != nil {
		return STSRequest{}, err
	}
	return in, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: decoding JSON body: %s", ErrMalformed, jsonErrText(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: decoding JSON body: data after the object", ErrMalformed)
	}
	return nil
}

// jsonErrText describes a decoding error without quoting the input beyond
// field names.
func jsonErrText(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return "field " + te.Field + " has the wrong type"
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.EOF) {
		return "empty body"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "?")
}

// responseOverrides are the response-* query parameters a presigned GET or
// HEAD may carry.
var responseOverrides = map[string]bool{
	"content-type": true, "content-language": true, "expires": true,
	"cache-control": true, "content-disposition": true, "content-encoding": true,
}

func (in *PresignRequest) validate() error {
	in.Method = strings.ToUpper(in.Method)
	switch in.Method {
	case "":
		in.Method = http.MethodGet
	case http.MethodGet, http.MethodPut, http.MethodHead, http.MethodDelete:
	default:
		return fmt.Errorf("%w: method must be GET, PUT, HEAD or DELETE", ErrMalformed)
	}
	switch strings.ToLower(in.Version) {
	case "", "v4", "4":
		in.Version = "v4"
	case "v1", "1":
		in.Version = "v1"
	default:
		return fmt.Errorf("%w: version must be v4 or v1", ErrMalformed)
	}
	if !validBucketName(in.Bucket) {
		return fmt.Errorf("%w: bucket name is not valid", ErrMalformed)
	}
	if err := validKey(in.Key); err != nil {
		return err
	}
	if time.Duration(in.Expires) > 0 && time.Duration(in.Expires)%time.Second != 0 {
		return fmt.Errorf("%w: expires must be whole seconds", ErrMalformed)
	}
	if len(in.Headers) > 0 {
		h := make(map[string]string, len(in.Headers))
		for k, v := range in.Headers {
			name := http.CanonicalHeaderKey(strings.TrimSpace(k))
			if err := allowedHeader(name, v); err != nil {
				return err
			}
			if _, dup := h[name]; dup {
				return fmt.Errorf("%w: header %s given twice", ErrMalformed, name)
			}
			h[name] = strings.TrimSpace(v)
		}
		in.Headers = h
	}
	if len(in.Response) > 0 {
		if in.Method != http.MethodGet && in.Method != http.MethodHead {
			return fmt.Errorf("%w: response overrides need GET or HEAD", ErrMalformed)
		}
		r := make(map[string]string, len(in.Response))
		for k, v := range in.Response {
			name := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(k)), "response-")
			if !responseOverrides[name] {
				return fmt.Errorf("%w: unknown response override %q", ErrMalformed, truncate(k))
			}
			if !safeValue(v) {
				return fmt.Errorf("%w: response override %s has control characters", ErrMalformed, name)
			}
			if _, dup := r["response-"+name]; dup {
				return fmt.Errorf("%w: response override %s given twice", ErrMalformed, name)
			}
			r["response-"+name] = v
		}
		in.Response = r
	}
	return nil
}

// headers a caller may not have signed into a URL: credentials and
// signature parameters, and those that make a PUT read another object.
var forbiddenHeaders = []string{
	"X-Oss-Security-Token", "X-Oss-Date", "X-Oss-Content-Sha256", "X-Oss-Signature",
	"X-Oss-Signature-Version", "X-Oss-Credential", "X-Oss-Expires", "X-Oss-Additional-Headers",
	"X-Oss-Copy-Source", "X-Oss-Symlink-Target",
}

// changesACL reports whether a presigned request with these headers would
// change an ACL, which needs auth.ActionACL on top of the method's action,
// as it does through the proxy.
func changesACL(h map[string]string) bool {
	_, obj := h["X-Oss-Object-Acl"]
	_, bkt := h["X-Oss-Acl"]
	return obj || bkt
}

func allowedHeader(name, value string) error {
	switch {
	case name == "Content-Type" || name == "Content-Md5":
	case strings.HasPrefix(name, "X-Oss-") && len(name) > len("X-Oss-"):
		for _, f := range forbiddenHeaders {
			if name == f || strings.HasPrefix(name, "X-Oss-Copy-Source") {
				return fmt.Errorf("%w: header %s may not be presigned", ErrMalformed, name)
			}
		}
		// An upload callback makes OSS POST to a URL of the caller's
		// choosing; the proxy refuses it unless a bucket opts in, and a
		// presigned URL would bypass that check entirely.
		if strings.HasPrefix(name, "X-Oss-Callback") {
			return fmt.Errorf("%w: header %s may not be presigned (upload callbacks are not vended)", ErrDenied, name)
		}
	default:
		return fmt.Errorf("%w: header %q may not be presigned (Content-Type, Content-MD5 and x-oss-* only)", ErrMalformed, truncate(name))
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return fmt.Errorf("%w: header name %q is not a token", ErrMalformed, truncate(name))
		}
	}
	if !safeValue(value) {
		return fmt.Errorf("%w: header %s has control characters", ErrMalformed, name)
	}
	return nil
}

func (in *STSRequest) validate() error {
	if in.Bucket != "" && in.Bucket != "*" && !validBucketName(in.Bucket) {
		return fmt.Errorf("%w: bucket name is not valid", ErrMalformed)
	}
	if in.Bucket == "*" {
		in.Bucket = ""
	}
	if in.Prefix != "" {
		if in.Bucket == "" {
			return fmt.Errorf("%w: prefix needs a bucket", ErrMalformed)
		}
		if err := validPrefix(in.Prefix); err != nil {
			return err
		}
	}
	if in.DurationSeconds < 0 {
		return fmt.Errorf("%w: duration_seconds must be positive", ErrMalformed)
	}
	if in.DurationSeconds > 0 && in.DurationSeconds < 900 {
		return fmt.Errorf("%w: duration_seconds must be at least 900", ErrMalformed)
	}
	if in.DurationSeconds > 1<<31 {
		return fmt.Errorf("%w: duration_seconds is too large", ErrMalformed)
	}
	return nil
}

// validBucketName reports whether b is 3-63 characters of a-z, 0-9 and '-',
// not starting or ending with '-'.
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// validKey refuses keys OSS refuses or that read differently to different
// parsers: empty, too long, invalid UTF-8, control characters, a leading
// '/', backslashes, and "." or ".." segments.
func validKey(k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: key is required", ErrMalformed)
	case len(k) > maxKeyLength:
		return fmt.Errorf("%w: key is longer than %d bytes", ErrMalformed, maxKeyLength)
	}
	return checkPath("key", k)
}

// validPrefix is validKey for a prefix, which additionally may not hold
// the policy wildcards '*' and '?'.
func validPrefix(p string) error {
	if len(p) > maxKeyLength {
		return fmt.Errorf("%w: prefix is longer than %d bytes", ErrMalformed, maxKeyLength)
	}
	if strings.ContainsAny(p, "*?") {
		return fmt.Errorf("%w: prefix may not contain '*' or '?'", ErrMalformed)
	}
	return checkPath("prefix", p)
}

func checkPath(what, s string) error {
	if !utf8.ValidString(s) || !safeValue(s) || strings.ContainsRune(s, '\\') || strings.HasPrefix(s, "/") {
		return fmt.Errorf("%w: %s has invalid characters or a leading '/'", ErrMalformed, what)
	}
	for seg := range strings.SplitSeq(s, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: %s has a '.' or '..' segment", ErrMalformed, what)
		}
	}
	return nil
}

// safeValue reports whether s has no ASCII control characters.
func safeValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}
