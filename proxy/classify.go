package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Action is what an operation does, for the Authorizer. Actions are bit
// flags with the same values and names as auth.Action, so an adapter can
// convert with auth.Action(a).
type Action uint16

// Actions.
const (
	// ActionRead reads object data or metadata: GetObject, HeadObject,
	// GetObjectMeta, object ACL/tagging/symlink reads, x-oss-process
	// image reads, and the source of a copy or a symlink target.
	ActionRead Action = 1 << iota
	// ActionList lists keys; the key authorized is the list prefix
	// (ListObjects, ListObjectVersions, ListMultipartUploads) or the
	// object key (ListParts).
	ActionList
	// ActionWrite creates or changes objects: PutObject, CopyObject
	// target, AppendObject, multipart upload operations, PutSymlink,
	// PutObjectAcl, object tagging changes, RestoreObject. An ACL change
	// also needs ActionACL.
	ActionWrite
	// ActionDelete: DeleteObject, each key of DeleteMultipleObjects,
	// DeleteObjectTagging.
	ActionDelete
	// ActionBucketRead reads bucket configuration (?acl, ?location, …);
	// authorized with an empty key.
	ActionBucketRead
	// ActionBucketWrite changes bucket configuration, creates or deletes
	// the bucket; authorized with an empty key.
	ActionBucketWrite
	// ActionServiceList is ListBuckets; authorized with empty bucket and key.
	ActionServiceList
	// ActionACL changes an ACL, in addition to ActionWrite or
	// ActionBucketWrite: PutObjectAcl (the object's key), PutBucketAcl
	// (empty key), and any request with an x-oss-object-acl or x-oss-acl
	// header (the request's key, empty for bucket requests).
	ActionACL
)

// String returns "read", "list", "write", "delete", "bucket-read",
// "bucket-write", "service-list" or "acl".
func (a Action) String() string {
	switch a {
	case ActionRead:
		return "read"
	case ActionList:
		return "list"
	case ActionWrite:
		return "write"
	case ActionDelete:
		return "delete"
	case ActionBucketRead:
		return "bucket-read"
	case ActionBucketWrite:
		return "bucket-write"
	case ActionServiceList:
		return "service-list"
	case ActionACL:
		return "acl"
	}
	return fmt.Sprintf("Action(%#x)", uint16(a))
}

// Check is one authorization an operation needs.
type Check struct {
	Action Action
	Bucket string
	Key    string
}

// Operation is a classified request. Checks[0] is the operation itself;
// further checks are copy sources, symlink targets and the keys of a
// DeleteMultipleObjects body. Every check must be allowed.
type Operation struct {
	// Name is the OSS API name, e.g. "GetObject", for logs.
	Name   string
	Checks []Check
	// CopySource, when non-empty, is the canonical x-oss-copy-source to
	// forward: "/bucket/" + the re-encoded decoded key [+ "?versionId=…"].
	CopySource string
	// Body is the DeleteMultipleObjects body, or the body of a
	// non-streaming operation sent without Content-Length, read once and
	// forwarded byte for byte with a length; nil when the body streams.
	Body []byte
}

// Limits of DeleteMultipleObjects, as OSS enforces them.
const (
	MaxDeleteKeys     = 1000
	MaxDeleteBodySize = 2 << 20
)

// Query parameters that carry a value for an operation rather than select
// one. They are allowed with any operation (OSS ignores the irrelevant).
var valueParams = map[string]bool{
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
	"versionId": true, "partNumber": true, "position": true, "encoding-type": true,
	"prefix": true, "marker": true, "max-keys": true, "delimiter": true, "list-type": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true,
	"key-marker": true, "upload-id-marker": true, "version-id-marker": true, "max-uploads": true,
	"max-parts": true, "part-number-marker": true, "x-oss-traffic-limit": true, "sequential": true,
}

// AuthQueryParams are the OSS presign parameters. They authenticate the
// caller to the proxy, never to OSS: the classifier ignores them and the
// handler strips them before re-signing.
var authQueryParams = map[string]bool{
	"OSSAccessKeyId": true, "Signature": true, "Expires": true, "security-token": true,
	"x-oss-signature-version": true, "x-oss-credential": true, "x-oss-date": true,
	"x-oss-expires": true, "x-oss-signature": true, "x-oss-additional-headers": true,
	"x-oss-security-token": true,
}

// Bucket configuration sub-resources: GET reads, PUT/POST/DELETE write.
var bucketConfigParams = map[string]bool{
	"acl": true, "location": true, "bucketInfo": true, "stat": true, "cors": true, "lifecycle": true,
	"logging": true, "website": true, "referer": true, "tagging": true, "encryption": true,
	"versioning": true, "policy": true, "policyStatus": true, "replication": true,
	"replicationLocation": true, "replicationProgress": true, "inventory": true, "worm": true,
	"wormExtend": true, "requestPayment": true, "transferAcceleration": true, "resourceGroup": true,
	"accessMonitor": true, "httpsConfig": true, "cname": true,
}

// objectOps maps (method, selector) on an object to its name and action.
// A selector of "" means no sub-resource. Anything absent is denied.
var objectOps = map[[2]string]struct {
	name   string
	action Action
}{
	{http.MethodGet, ""}:               {"GetObject", ActionRead},
	{http.MethodHead, ""}:              {"HeadObject", ActionRead},
	{http.MethodPut, ""}:               {"PutObject", ActionWrite},
	{http.MethodDelete, ""}:            {"DeleteObject", ActionDelete},
	{http.MethodGet, "objectMeta"}:     {"GetObjectMeta", ActionRead},
	{http.MethodHead, "objectMeta"}:    {"GetObjectMeta", ActionRead},
	{http.MethodGet, "x-oss-process"}:  {"GetObject", ActionRead}, // image processing; POST (saveas) is denied
	{http.MethodGet, "acl"}:            {"GetObjectAcl", ActionRead},
	{http.MethodPut, "acl"}:            {"PutObjectAcl", ActionWrite},
	{http.MethodGet, "tagging"}:        {"GetObjectTagging", ActionRead},
	{http.MethodPut, "tagging"}:        {"PutObjectTagging", ActionWrite},
	{http.MethodDelete, "tagging"}:     {"DeleteObjectTagging", ActionDelete},
	{http.MethodGet, "symlink"}:        {"GetSymlink", ActionRead},
	{http.MethodPut, "symlink"}:        {"PutSymlink", ActionWrite},
	{http.MethodPost, "restore"}:       {"RestoreObject", ActionWrite},
	{http.MethodPost, "append"}:        {"AppendObject", ActionWrite},
	{http.MethodPost, "uploads"}:       {"InitiateMultipartUpload", ActionWrite},
	{http.MethodPut, "uploadId"}:       {"UploadPart", ActionWrite},
	{http.MethodPost, "uploadId"}:      {"CompleteMultipartUpload", ActionWrite},
	{http.MethodDelete, "uploadId"}:    {"AbortMultipartUpload", ActionWrite},
	{http.MethodGet, "uploadId"}:       {"ListParts", ActionList},
	{http.MethodPost, "x-oss-process"}: {"", 0}, // explicit: saveas writes elsewhere
}

// Operations whose body streams upstream even without Content-Length
// (chunked), as OSS accepts.
var streamingOps = map[string]bool{"PutObject": true, "UploadPart": true, "AppendObject": true}

// MaxBufferedBody is the largest body without Content-Length the proxy
// reads for an operation that does not stream (CompleteMultipartUpload,
// configuration XML, and the empty bodies SDKs send chunked). Larger
// ones are refused with 411 MissingContentLength.
const MaxBufferedBody = 2 << 20

// readBounded reads all of body, failing with ErrEntityTooLarge past limit.
func readBounded(body io.Reader, limit int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return []byte{}, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, ErrEntityTooLarge
	}
	return b, nil
}

// Classifier turns a routed request into an Operation. It is immutable
// and safe for concurrent use.
type Classifier struct {
	router *Router
}

// NewClassifier returns a Classifier that resolves copy sources against
// rt's buckets.
func NewClassifier(rt *Router) *Classifier { return &Classifier{router: rt} }

// Classify maps r, already routed to rte, to an Operation. ignore names
// query parameters to disregard (the caller's credential parameters).
// For DeleteMultipleObjects it reads r.Body (at most MaxDeleteBodySize),
// and for a non-streaming operation without Content-Length at most
// MaxBufferedBody, and returns the bytes in Operation.Body; PutObject,
// UploadPart and AppendObject bodies are never read.
// Unknown sub-resources and methods are denied, and so are upload
// callbacks unless the bucket sets AllowCallbacks: errors wrap
// ErrCallbackDenied, ErrUnsupported, ErrMethodNotAllowed, ErrInvalidArgument,
// ErrInvalidURI, ErrMissingContentLength, ErrMalformedXML,
// ErrEntityTooLarge or ErrDenied (a copy source outside the configured
// buckets).
func (c *Classifier) Classify(r *http.Request, rte Route, ignore []string) (*Operation, error) {
	if hasCallback(r, rte) {
		if b, ok := c.router.bucket(rte.Bucket); !ok || !b.AllowCallbacks {
			return nil, fmt.Errorf("classifying: %w", ErrCallbackDenied)
		}
	}
	selector := ""
	for k := range rte.Query {
		if valueParams[k] || authQueryParams[k] || isCallbackParam(k) || contains(ignore, k) {
			continue
		}
		if selector != "" {
			return nil, fmt.Errorf("classifying: %w: several sub-resources", ErrInvalidArgument)
		}
		selector = k
	}
	// uploadId is a value that selects the multipart operations; with
	// another sub-resource the request is ambiguous.
	if rte.Query.Has("uploadId") {
		if selector != "" && selector != "uploadId" {
			return nil, fmt.Errorf("classifying: %w: uploadId with %s", ErrInvalidArgument, selector)
		}
		selector = "uploadId"
	}
	var op *Operation
	var err error
	switch {
	case rte.Bucket == "":
		op, err = classifyService(r.Method, selector)
	case rte.Key == "":
		op, err = c.classifyBucket(r, rte, selector)
	default:
		op, err = c.classifyObject(r, rte, selector)
	}
	if err != nil {
		return nil, fmt.Errorf("classifying: %w", err)
	}
	if changesACL(r, op) {
		op.Checks = append(op.Checks, Check{Action: ActionACL, Bucket: rte.Bucket, Key: rte.Key})
	}
	if _, ok := r.Header["X-Oss-Copy-Source"]; ok && op.CopySource == "" {
		// Even empty, or with the value after an empty one: it is forwarded
		// as received unless the operation is a copy.
		return nil, fmt.Errorf("classifying: %w: x-oss-copy-source on %s", ErrInvalidArgument, op.Name)
	}
	if r.ContentLength < 0 && !streamingOps[op.Name] && op.Body == nil {
		// The SDKs send even empty bodies chunked (InitiateMultipartUpload,
		// CopyObject, PutBucketAcl). Such bodies are small XML or nothing:
		// read them, bounded, and forward them with a length.
		body, err := readBounded(r.Body, MaxBufferedBody)
		if errors.Is(err, ErrEntityTooLarge) {
			return nil, fmt.Errorf("classifying %s: %w", op.Name, ErrMissingContentLength)
		}
		if err != nil {
			return nil, fmt.Errorf("classifying %s: %w", op.Name, err)
		}
		op.Body = body
	}
	return op, nil
}

// Upload callbacks: OSS POSTs to a URL the caller chose once the upload
// completes. The query forms are those of presigned URLs; the x-oss-
// forms as query parameters are refused the same way. Names are matched
// in any case (?Callback=, ?X-OSS-CALLBACK=): whether OSS reads a name
// case-insensitively is not the proxy's to guess. Header names are
// canonicalised by net/http, except those it leaves alone (with an '_'),
// which are matched with '_' read as '-' (as nginx-style servers may).
var callbackNames = [...]string{"callback", "callback-var", "x-oss-callback", "x-oss-callback-var"}

// isCallbackParam reports whether a query parameter name asks for an
// upload callback, in any case.
func isCallbackParam(k string) bool {
	for _, n := range callbackNames {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// isCallbackHeader reports whether a header name is x-oss-callback or
// x-oss-callback-var, in any case, with '_' for any '-'.
func isCallbackHeader(name string) bool {
	if len(name) != len("x-oss-callback") && len(name) != len("x-oss-callback-var") {
		return false
	}
	for _, n := range callbackNames[2:] {
		if len(n) != len(name) {
			continue
		}
		i := 0
		for ; i < len(n); i++ {
			c := name[i]
			if c == '_' {
				c = '-'
			} else if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != n[i] {
				break
			}
		}
		if i == len(n) {
			return true
		}
	}
	return false
}

// hasCallback reports whether r asks for an upload callback, in a header
// (even empty) or a query parameter.
func hasCallback(r *http.Request, rte Route) bool {
	for name := range r.Header {
		if isCallbackHeader(name) {
			return true
		}
	}
	for k := range rte.Query {
		if isCallbackParam(k) {
			return true
		}
	}
	return false
}

// aclHeaders set an ACL on whatever the request creates or changes:
// x-oss-object-acl on PutObject, CopyObject, AppendObject,
// InitiateMultipartUpload and PutSymlink; x-oss-acl on PutBucket.
var aclHeaders = []string{"X-Oss-Object-Acl", "X-Oss-Acl"}

// changesACL reports whether op changes an ACL: PutObjectAcl,
// PutBucketAcl, or any request that carries an ACL header, even empty
// (what OSS makes of it is not the proxy's to guess).
func changesACL(r *http.Request, op *Operation) bool {
	if op.Name == "PutObjectAcl" || op.Name == "PutBucket:acl" {
		return true
	}
	for _, h := range aclHeaders {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}

func classifyService(method, selector string) (*Operation, error) {
	if selector != "" {
		return nil, fmt.Errorf("%w: service sub-resource", ErrUnsupported)
	}
	if method != http.MethodGet {
		return nil, ErrMethodNotAllowed
	}
	return &Operation{Name: "ListBuckets", Checks: []Check{{Action: ActionServiceList}}}, nil
}

func (c *Classifier) classifyBucket(r *http.Request, rte Route, selector string) (*Operation, error) {
	b := rte.Bucket
	prefix := rte.Query.Get("prefix")
	if err := checkChars(prefix); err != nil {
		return nil, err
	}
	one := func(name string, a Action, key string) (*Operation, error) {
		return &Operation{Name: name, Checks: []Check{{Action: a, Bucket: b, Key: key}}}, nil
	}
	m := r.Method
	switch {
	case selector == "" && (m == http.MethodGet || m == http.MethodHead):
		return one("ListObjects", ActionList, prefix)
	case selector == "" && m == http.MethodPut:
		return one("PutBucket", ActionBucketWrite, "")
	case selector == "" && m == http.MethodDelete:
		return one("DeleteBucket", ActionBucketWrite, "")
	case selector == "versions" && m == http.MethodGet:
		return one("ListObjectVersions", ActionList, prefix)
	case selector == "uploads" && m == http.MethodGet:
		return one("ListMultipartUploads", ActionList, prefix)
	case selector == "delete" && m == http.MethodPost:
		return c.deleteMultiple(r, b)
	case bucketConfigParams[selector] && (m == http.MethodGet || m == http.MethodHead):
		return one("GetBucket:"+selector, ActionBucketRead, "")
	case bucketConfigParams[selector] && (m == http.MethodPut || m == http.MethodPost || m == http.MethodDelete):
		return one("PutBucket:"+selector, ActionBucketWrite, "")
	case selector == "" || selector == "versions" || selector == "uploads" || selector == "delete" || bucketConfigParams[selector]:
		if selector == "" && m == http.MethodPost {
			return nil, fmt.Errorf("%w: PostObject", ErrUnsupported)
		}
		return nil, ErrMethodNotAllowed
	}
	return nil, fmt.Errorf("%w: bucket sub-resource", ErrUnsupported)
}

func (c *Classifier) classifyObject(r *http.Request, rte Route, selector string) (*Operation, error) {
	spec, ok := objectOps[[2]string{r.Method, selector}]
	if !ok || spec.name == "" {
		return nil, fmt.Errorf("%w: %s on object sub-resource", ErrUnsupported, r.Method)
	}
	if selector == "uploadId" && r.Method == http.MethodPut && !rte.Query.Has("partNumber") {
		return nil, fmt.Errorf("%w: uploadId without partNumber", ErrInvalidArgument)
	}
	op := &Operation{Name: spec.name, Checks: []Check{{Action: spec.action, Bucket: rte.Bucket, Key: rte.Key}}}
	if src := r.Header.Values("X-Oss-Copy-Source"); len(src) > 0 && (op.Name == "PutObject" || op.Name == "UploadPart") {
		if len(src) > 1 {
			return nil, fmt.Errorf("%w: several x-oss-copy-source", ErrInvalidArgument)
		}
		chk, canon, err := c.copySource(src[0])
		if err != nil {
			return nil, err
		}
		if op.Name == "PutObject" {
			op.Name = "CopyObject"
		} else {
			op.Name = "UploadPartCopy"
		}
		op.CopySource = canon
		op.Checks = append(op.Checks, chk)
	}
	if op.Name == "PutSymlink" {
		t := r.Header.Values("X-Oss-Symlink-Target")
		if len(t) != 1 || t[0] == "" {
			return nil, fmt.Errorf("%w: x-oss-symlink-target", ErrInvalidArgument)
		}
		// SDK-v2 sends the target raw, the legacy SDK query-escaped: a
		// target with '%' or '+' could be read either way, so refuse it.
		if strings.ContainsAny(t[0], "%+") {
			return nil, fmt.Errorf("%w: ambiguous x-oss-symlink-target", ErrInvalidArgument)
		}
		if err := validateKey(t[0]); err != nil {
			return nil, err
		}
		op.Checks = append(op.Checks, Check{Action: ActionRead, Bucket: rte.Bucket, Key: t[0]})
	}
	if selector == "x-oss-process" {
		keys, err := watermarkKeys(rte.Query.Get("x-oss-process"))
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			op.Checks = append(op.Checks, Check{Action: ActionRead, Bucket: rte.Bucket, Key: k})
		}
	}
	return op, nil
}

// watermarkKeys returns the objects an image-processing value reads
// besides the request's own: OSS draws the object named by a watermark's
// image_ parameter (URL-safe base64 of "key[?x-oss-process=…]", same
// bucket) into the result, so each is a read to authorize. A parameter
// that does not decode to a valid key is refused.
//
// A value may pipe stages ("image/resize,w_100|image/watermark,image_…"):
// it is split on '|' first, as OSS does, so a watermark in any stage is
// found and its image_ value ends at the pipe. A "sys/" stage (sys/saveas
// writes the result to another object, even another bucket) is refused:
// it has no place on a read, and POST x-oss-process is denied already.
func watermarkKeys(process string) ([]string, error) {
	var keys []string
	for stage := range strings.SplitSeq(process, "|") {
		kind, _, _ := strings.Cut(stage, "/")
		if strings.EqualFold(strings.TrimSpace(kind), "sys") {
			return nil, fmt.Errorf("%w: x-oss-process sys/ stage", ErrInvalidArgument)
		}
		for action := range strings.SplitSeq(stage, "/") {
			params := strings.Split(action, ",")
			if !strings.EqualFold(params[0], "watermark") {
				continue
			}
			for _, p := range params[1:] {
				if len(p) < 6 || !strings.EqualFold(p[:6], "image_") {
					continue
				}
				key, err := watermarkKey(p[6:])
				if err != nil {
					return nil, err
				}
				keys = append(keys, key)
			}
		}
	}
	return keys, nil
}

// watermarkKey decodes the value of a watermark's image_ parameter to
// the key it names.
func watermarkKey(v string) (string, error) {
	v = strings.TrimRight(v, "=")
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(v); err != nil {
			return "", fmt.Errorf("%w: watermark image parameter", ErrInvalidArgument)
		}
	}
	key, _, _ := strings.Cut(string(b), "?")
	if key == "" {
		return "", fmt.Errorf("%w: watermark image parameter", ErrInvalidArgument)
	}
	if err := validateKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// copySource parses x-oss-copy-source ("/bucket/urlencoded-key" with an
// optional "?versionId=…"), decoding the key once by the path rules ('+'
// read as ' '), and returns the read check and the canonical value to
// forward.
func (c *Classifier) copySource(v string) (Check, string, error) {
	rawPath, rawQuery, hasQuery := strings.Cut(v, "?")
	// The legacy Go SDK query-escapes the source key (' ' as '+'), SDK v2
	// path-escapes it ('+' as %2B): reading '+' as ' ' serves both. The
	// value forwarded is re-encoded canonically, so OSS sees exactly the
	// key judged here whichever way it decodes.
	rawPath = strings.ReplaceAll(rawPath, "+", "%20")
	version := ""
	if hasQuery {
		q, err := parseQuery(rawQuery)
		if err != nil {
			return Check{}, "", err
		}
		for k := range q {
			if k != "versionId" {
				return Check{}, "", fmt.Errorf("%w: x-oss-copy-source parameter", ErrInvalidArgument)
			}
		}
		version = q.Get("versionId")
	}
	p, err := decodePath(rawPath)
	if err != nil {
		return Check{}, "", err
	}
	bucket, key, _ := strings.Cut(p[1:], "/")
	if !validBucketName(bucket) {
		return Check{}, "", fmt.Errorf("%w: copy source", ErrInvalidBucketName)
	}
	if key == "" {
		return Check{}, "", fmt.Errorf("%w: copy source without key", ErrInvalidObjectName)
	}
	if err := validateKey(key); err != nil {
		return Check{}, "", err
	}
	if _, ok := c.router.bucket(bucket); !ok {
		return Check{}, "", fmt.Errorf("%w: copy source bucket is not served", ErrDenied)
	}
	canon := "/" + bucket + "/" + escapePath(key)
	if hasQuery {
		canon += "?versionId=" + escapeQueryValue(version)
	}
	return Check{Action: ActionRead, Bucket: bucket, Key: key}, canon, nil
}

func escapeQueryValue(s string) string {
	return strings.ReplaceAll(escapePath(s), "/", "%2F")
}

// deleteRequest is the DeleteMultipleObjects body.
type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   []string `xml:"Quiet"`
	Objects []struct {
		Keys     []string `xml:"Key"`
		Versions []string `xml:"VersionId"`
	} `xml:"Object"`
}

func (c *Classifier) deleteMultiple(r *http.Request, bucket string) (*Operation, error) {
	if r.ContentLength > MaxDeleteBodySize {
		return nil, ErrEntityTooLarge
	}
	body, err := readBounded(r.Body, MaxDeleteBodySize)
	if err != nil {
		return nil, err
	}
	if err := checkDeleteShape(body); err != nil {
		return nil, err
	}
	var d deleteRequest
	if err := xml.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedXML, err)
	}
	if len(d.Objects) == 0 || len(d.Objects) > MaxDeleteKeys || len(d.Quiet) > 1 {
		return nil, fmt.Errorf("%w: 1 to %d objects", ErrMalformedXML, MaxDeleteKeys)
	}
	op := &Operation{Name: "DeleteMultipleObjects", Body: body, Checks: make([]Check, 0, 1+len(d.Objects))}
	for _, o := range d.Objects {
		if len(o.Keys) != 1 || o.Keys[0] == "" || len(o.Versions) > 1 {
			return nil, fmt.Errorf("%w: each Object needs exactly one Key", ErrMalformedXML)
		}
		k := o.Keys[0]
		if err := validateKey(k); err != nil {
			return nil, err
		}
		// SDKs send body keys raw (XML-escaped only), but OSS documents
		// URL-encoded body keys (error 0016-00000614). A key with '%' could
		// be read either way: refuse it. A key with '+' is checked as
		// written and with '+' read as ' ', so both readings are allowed.
		if strings.IndexByte(k, '%') >= 0 {
			return nil, fmt.Errorf("%w: '%%' in a delete key is ambiguous", ErrInvalidArgument)
		}
		op.Checks = append(op.Checks, Check{Action: ActionDelete, Bucket: bucket, Key: k})
		if strings.IndexByte(k, '+') >= 0 {
			op.Checks = append(op.Checks, Check{Action: ActionDelete, Bucket: bucket, Key: strings.ReplaceAll(k, "+", " ")})
		}
	}
	return op, nil
}

// checkDeleteShape refuses a DeleteMultipleObjects body that XML parsers
// could read differently. The body is forwarded byte for byte, so OSS
// must find exactly the keys judged here: one Delete root (after an
// optional XML declaration) holding only Quiet and Object elements, each
// Object only Key and VersionId, and these only text. encoding/xml would
// skip unknown or deeper elements (a nested Object) and join the text
// around a comment or child element of Key, where another parser may not;
// comments, CDATA sections, DTDs, processing instructions and trailing
// content are refused.
func checkDeleteShape(body []byte) error {
	if bytes.Contains(body, []byte("<!")) { // '<' is escaped in text and attributes: this is markup
		return fmt.Errorf("%w: comment, CDATA or DTD", ErrMalformedXML)
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	var parents [3]string
	depth, roots := 0, 0
	for first := true; ; first = false {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			var ok bool
			switch depth {
			case 0:
				roots++
				ok = name == "Delete" && roots == 1
			case 1:
				ok = name == "Quiet" || name == "Object"
			case 2:
				ok = parents[1] == "Object" && (name == "Key" || name == "VersionId")
			}
			if !ok {
				return fmt.Errorf("%w: unexpected element", ErrMalformedXML)
			}
			parents[depth] = name
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("%w: text outside the document", ErrMalformedXML)
			}
		case xml.ProcInst:
			if !first || t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction", ErrMalformedXML)
			}
		default:
			return fmt.Errorf("%w: unexpected markup", ErrMalformedXML)
		}
	}
	if roots == 0 {
		return fmt.Errorf("%w: no Delete element", ErrMalformedXML)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
