package osstest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// storedHeaders are the standard headers an object keeps from its upload.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// objectHeaders extracts the metadata an upload request sets.
func objectHeaders(r *http.Request) (string, http.Header) {
	h := http.Header{}
	for k, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-oss-meta-") {
			h[k] = slices.Clone(v)
		}
	}
	for _, k := range storedHeaders {
		if v := r.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	return ct, h
}

// publish replaces bucket/key with obj and removes the files the previous
// version used that obj does not. It fails if the bucket vanished.
func (o *OSS) publish(bucket string, obj *object) *ossError {
	o.mu.Lock()
	b, ok := o.buckets[bucket]
	if !ok || o.closed {
		o.mu.Unlock()
		_ = removeSegs(obj.segs, nil)
		return errNoSuchBucket(bucket)
	}
	old := b.objects[obj.key]
	b.objects[obj.key] = obj
	o.mu.Unlock()
	if old != nil {
		if err := removeSegs(old.segs, obj.segs); err != nil {
			o.log.Warn("osstest: removing replaced object data", "err", err)
		}
	}
	return nil
}

func (o *OSS) lookupObject(bucket, key string) (*object, *ossError) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, ok := o.buckets[bucket]
	if !ok {
		return nil, errNoSuchBucket(bucket)
	}
	obj, ok := b.objects[key]
	if !ok {
		return nil, errNoSuchKey(key)
	}
	return obj, nil
}

// needLength refuses an upload that declares neither Content-Length nor
// chunked transfer encoding, as OSS does.
func needLength(r *http.Request) *ossError {
	if r.ContentLength == 0 && r.Header.Get("Content-Length") == "" && len(r.TransferEncoding) == 0 {
		return errf(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	return nil
}

func (o *OSS) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) *ossError {
	if e := needLength(r); e != nil {
		return e
	}
	sum, e := md5Header(r)
	if e != nil {
		return e
	}
	if strings.EqualFold(r.Header.Get("X-Oss-Forbid-Overwrite"), "true") {
		if _, e := o.lookupObject(bucket, key); e == nil {
			return errf(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
		}
	}
	st, err := o.store(r.Body, sum)
	if err != nil {
		return bodyError(err)
	}
	ct, hdr := objectHeaders(r)
	obj := &object{key: key, size: st.seg.size, etag: etagOf(st.md5), crc: st.crc, kind: "Normal",
		modified: o.acct.Clock.Now(), contentType: ct, headers: hdr, segs: []segment{st.seg}}
	if e := o.publish(bucket, obj); e != nil {
		return e
	}
	h := w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(st.md5))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// setObjectHeaders writes the metadata headers of a GET or HEAD response.
func setObjectHeaders(h http.Header, obj *object) {
	for k, v := range obj.headers {
		h[k] = v
	}
	h.Set("Content-Type", obj.contentType)
	h.Set("ETag", obj.etag)
	h.Set("Last-Modified", obj.modified.UTC().Format(http.TimeFormat))
	h.Set("X-Oss-Object-Type", obj.kind)
	h.Set("X-Oss-Storage-Class", "Standard")
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	h.Set("Accept-Ranges", "bytes")
	if obj.kind == "Appendable" {
		h.Set("X-Oss-Next-Append-Position", strconv.FormatInt(obj.size, 10))
	}
}

// byteRange is the part of an object a Range header selects.
type byteRange struct {
	start, length int64
	partial       bool
}

// parseRange interprets a Range header as OSS does: by default an invalid
// or unsatisfiable range is ignored (the whole object, 200); with
// x-oss-range-behavior: standard an end past the object is clamped and a
// start past it is 416 InvalidRange. Only the first of several ranges is used.
func parseRange(h string, size int64, standard bool) (byteRange, bool) {
	full := byteRange{length: size}
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if h == "" || !ok {
		return full, true
	}
	spec, _, _ = strings.Cut(spec, ",")
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return full, true
	}
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0 && s != "" && s[0] != '+'
	}
	unsatisfiable := func() (byteRange, bool) {
		if standard {
			return byteRange{}, false
		}
		return full, true
	}
	if first == "" { // suffix: bytes=-N
		n, ok := num(last)
		switch {
		case !ok:
			return full, true
		case n == 0 || size == 0:
			return unsatisfiable()
		case n > size:
			if !standard {
				return full, true
			}
			n = size
		}
		return byteRange{start: size - n, length: n, partial: true}, true
	}
	a, ok := num(first)
	if !ok {
		return full, true
	}
	if a >= size {
		return unsatisfiable()
	}
	b := size - 1
	if last != "" {
		if b, ok = num(last); !ok || b < a {
			return full, true
		}
		if b >= size {
			if !standard {
				return full, true
			}
			b = size - 1
		}
	}
	return byteRange{start: a, length: b - a + 1, partial: true}, true
}

// responseOverrides are the query parameters that override response headers.
var responseOverrides = map[string]string{
	"response-content-type": "Content-Type", "response-content-language": "Content-Language",
	"response-expires": "Expires", "response-cache-control": "Cache-Control",
	"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
}

func (o *OSS) getObject(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) *ossError {
	rc, obj, err := o.openObject(bucket, key)
	if errors.Is(err, ErrNoSuchKey) {
		return errNoSuchKey(key)
	} else if errors.Is(err, ErrNoSuchBucket) {
		return errNoSuchBucket(bucket)
	} else if err != nil {
		return errf(500, "InternalError", "Reading object data failed.")
	}
	defer rc.Close()
	if e := checkConditions(r, obj); e != nil {
		if e.Status == http.StatusNotModified {
			setObjectHeaders(w.Header(), obj)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return e
	}
	br, ok := parseRange(r.Header.Get("Range"), obj.size, strings.EqualFold(r.Header.Get("X-Oss-Range-Behavior"), "standard"))
	if !ok {
		return &ossError{Status: 416, Code: "InvalidRange", Message: "The requested range cannot be satisfied."}
	}
	h := w.Header()
	setObjectHeaders(h, obj)
	for p, hk := range responseOverrides {
		if v := q.Get(p); v != "" {
			h.Set(hk, v)
		}
	}
	h.Set("Content-Length", strconv.FormatInt(br.length, 10))
	status := http.StatusOK
	if br.partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", "bytes "+strconv.FormatInt(br.start, 10)+"-"+strconv.FormatInt(br.start+br.length-1, 10)+"/"+strconv.FormatInt(obj.size, 10))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	rc.(*segReader).setRange(obj.segs, br.start, br.length)
	buf := o.getBuf()
	defer o.bufs.Put(buf)
	if _, err := io.CopyBuffer(onlyWriter{w}, rc, *buf); err != nil {
		o.log.Debug("osstest: GetObject body write ended early", "err", err)
	}
	return nil
}

// onlyWriter hides ReaderFrom so CopyBuffer uses our buffer.
type onlyWriter struct{ io.Writer }

// checkConditions evaluates If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. A 304 comes back as an ossError with that status.
func checkConditions(r *http.Request, obj *object) *ossError {
	failed := errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
	if v := r.Header.Get("If-Match"); v != "" && !etagMatch(v, obj.etag) {
		return failed
	}
	if v := r.Header.Get("If-Unmodified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && obj.modified.Truncate(time.Second).After(t) {
			return failed
		}
	}
	if v := r.Header.Get("If-None-Match"); v != "" && etagMatch(v, obj.etag) {
		return &ossError{Status: http.StatusNotModified, Code: "NotModified"}
	}
	if v := r.Header.Get("If-Modified-Since"); v != "" {
		if t, err := http.ParseTime(v); err == nil && !obj.modified.Truncate(time.Second).After(t) {
			return &ossError{Status: http.StatusNotModified, Code: "NotModified"}
		}
	}
	return nil
}

func etagMatch(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.EqualFold(strings.Trim(v, `"`), strings.Trim(etag, `"`)) {
			return true
		}
	}
	return false
}

func (o *OSS) getObjectMeta(w http.ResponseWriter, bucket, key string) *ossError {
	obj, e := o.lookupObject(bucket, key)
	if e != nil {
		return e
	}
	h := w.Header()
	h.Set("ETag", obj.etag)
	h.Set("Content-Length", strconv.FormatInt(obj.size, 10))
	h.Set("Last-Modified", obj.modified.UTC().Format(http.TimeFormat))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (o *OSS) deleteObject(w http.ResponseWriter, bucket, key string) *ossError {
	o.mu.Lock()
	b, ok := o.buckets[bucket]
	if !ok {
		o.mu.Unlock()
		return errNoSuchBucket(bucket)
	}
	old := b.objects[key]
	delete(b.objects, key)
	o.mu.Unlock()
	if old != nil {
		if err := removeSegs(old.segs, nil); err != nil {
			o.log.Warn("osstest: removing deleted object data", "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   string   `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName      xml.Name     `xml:"DeleteResult"`
	EncodingType string       `xml:"EncodingType,omitempty"`
	Deleted      []deletedKey `xml:"Deleted"`
}

type deletedKey struct {
	Key string `xml:"Key"`
}

// maxXMLBody bounds the XML request bodies the emulator parses.
const maxXMLBody = 2 << 20

// readXMLBody reads an XML request body, checking Content-MD5 when given
// (required says whether it must be).
func readXMLBody(r *http.Request, required bool) ([]byte, *ossError) {
	sum, e := md5Header(r)
	if e != nil {
		return nil, e
	}
	if sum == nil && required {
		// EC 0016-00000606; the code string is not documented.
		return nil, &ossError{Status: 400, Code: "InvalidRequest", EC: "0016-00000606", Message: "Missing required header for this request: Content-MD5."}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil {
		return nil, bodyError(err)
	}
	if len(body) > maxXMLBody {
		return nil, errf(400, "EntityTooLarge", "The XML body is too large.")
	}
	if sum != nil {
		got := md5.Sum(body)
		if string(got[:]) != string(sum) {
			return nil, bodyError(errBadDigest)
		}
	}
	return body, nil
}

func (o *OSS) deleteMultiple(w http.ResponseWriter, r *http.Request, bucket string, q url.Values, id *Identity) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	body, e := readXMLBody(r, true)
	if e != nil {
		return e
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errMalformedXML()
	}
	for _, obj := range req.Objects {
		if obj.Key == "" {
			e := errMalformedXML()
			e.EC = "0016-00000613" // an Object without a Key
			return e
		}
		if !id.Allowed("oss:DeleteObject", o.objectResource(bucket, obj.Key), nil) {
			return errAccessDenied("You have no right to access this object because of bucket acl.")
		}
	}
	o.mu.Lock()
	b, ok := o.buckets[bucket]
	if !ok {
		o.mu.Unlock()
		return errNoSuchBucket(bucket)
	}
	var gone [][]segment
	res := deleteResult{EncodingType: encodingName(enc)}
	for _, obj := range req.Objects {
		if old, ok := b.objects[obj.Key]; ok {
			gone = append(gone, old.segs)
			delete(b.objects, obj.Key)
		}
		if !strings.EqualFold(req.Quiet, "true") {
			res.Deleted = append(res.Deleted, deletedKey{Key: encodeIf(enc, obj.Key)})
		}
	}
	o.mu.Unlock()
	for _, s := range gone {
		if err := removeSegs(s, nil); err != nil {
			o.log.Warn("osstest: removing deleted object data", "err", err)
		}
	}
	return writeXML(w, http.StatusOK, res)
}

type copyResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

// openCopySource opens the source object sb/sk of a copy (CopyObject or
// UploadPartCopy) and checks x-oss-copy-source-if-match against it. On
// success the caller closes the reader; on error it is closed.
func (o *OSS) openCopySource(r *http.Request, sb, sk string) (io.ReadCloser, *object, *ossError) {
	rc, src, err := o.openObject(sb, sk)
	switch {
	case errors.Is(err, ErrNoSuchBucket):
		return nil, nil, errNoSuchBucket(sb)
	case errors.Is(err, ErrNoSuchKey):
		return nil, nil, errNoSuchKey(sk)
	case err != nil:
		return nil, nil, errf(500, "InternalError", "Reading object data failed.")
	}
	if v := r.Header.Get("X-Oss-Copy-Source-If-Match"); v != "" && !etagMatch(v, src.etag) {
		rc.Close()
		return nil, nil, errf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
	}
	return rc, src, nil
}

func (o *OSS) copyObject(w http.ResponseWriter, r *http.Request, sb, sk, db, dk string) *ossError {
	directive := strings.ToUpper(r.Header.Get("X-Oss-Metadata-Directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return errInvalidArgument("x-oss-metadata-directive must be COPY or REPLACE.", "x-oss-metadata-directive", directive)
	}
	rc, src, e := o.openCopySource(r, sb, sk)
	if e != nil {
		return e
	}
	defer rc.Close()
	if v := r.Header.Get("X-Oss-Copy-Source-If-None-Match"); v != "" && etagMatch(v, src.etag) {
		return &ossError{Status: http.StatusNotModified, Code: "NotModified"}
	}
	if strings.EqualFold(r.Header.Get("X-Oss-Forbid-Overwrite"), "true") {
		if _, e := o.lookupObject(db, dk); e == nil {
			return errf(409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
		}
	}
	st, err := o.store(rc, nil)
	if err != nil {
		return errf(500, "InternalError", "Copying object data failed.")
	}
	ct, hdr := src.contentType, src.headers
	if directive == "REPLACE" {
		ct, hdr = objectHeaders(r)
	}
	etag := src.etag
	if src.kind == "Normal" {
		etag = etagOf(st.md5)
	}
	obj := &object{key: dk, size: st.seg.size, etag: etag, crc: st.crc, kind: src.kind,
		modified: o.acct.Clock.Now(), contentType: ct, headers: hdr, segs: []segment{st.seg}}
	if e := o.publish(db, obj); e != nil {
		return e
	}
	w.Header().Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	return writeXML(w, http.StatusOK, copyResult{ETag: obj.etag, LastModified: isoTime(obj.modified)})
}

func (o *OSS) appendObject(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) *ossError {
	pos, err := strconv.ParseInt(q.Get("position"), 10, 64)
	if err != nil || pos < 0 {
		return errInvalidArgument("position is not a valid non-negative integer.", "position", q.Get("position"))
	}
	sum, e := md5Header(r)
	if e != nil {
		return e
	}
	if e := needLength(r); e != nil {
		return e
	}
	positionError := func(next int64) *ossError {
		w.Header().Set("X-Oss-Next-Append-Position", strconv.FormatInt(next, 10))
		return &ossError{Status: 409, Code: "PositionNotEqualToLength", Message: "Position is not equal to file length."}
	}
	notAppendable := errf(409, "ObjectNotAppendable", "The object is not appendable.")
	// Check before reading the body, and again before publishing.
	if old, e := o.lookupObject(bucket, key); e == nil {
		if old.kind != "Appendable" {
			return notAppendable
		}
		if old.size != pos {
			return positionError(old.size)
		}
	} else if e.Code == "NoSuchBucket" {
		return e
	} else if pos != 0 {
		return positionError(0)
	}
	st, err := o.store(r.Body, sum)
	if err != nil {
		return bodyError(err)
	}
	o.mu.Lock()
	b, ok := o.buckets[bucket]
	if !ok {
		o.mu.Unlock()
		_ = removeSegs([]segment{st.seg}, nil)
		return errNoSuchBucket(bucket)
	}
	old := b.objects[key]
	var size int64
	if old != nil {
		size = old.size
	}
	if (old != nil && old.kind != "Appendable") || size != pos {
		o.mu.Unlock()
		_ = removeSegs([]segment{st.seg}, nil)
		if old != nil && old.kind != "Appendable" {
			return notAppendable
		}
		return positionError(size)
	}
	obj := &object{key: key, kind: "Appendable", modified: o.acct.Clock.Now()}
	if old == nil {
		obj.contentType, obj.headers = objectHeaders(r)
		obj.segs = []segment{st.seg}
		obj.crc = st.crc
		obj.etag = etagOf(st.md5)
	} else {
		obj.contentType, obj.headers = old.contentType, old.headers
		obj.segs = append(append([]segment(nil), old.segs...), st.seg)
		obj.crc = oss.CRC64Combine(old.crc, st.crc, uint64(st.seg.size))
		// An appendable object's ETag is not the MD5 of its body on OSS
		// either; chain it so every append changes it.
		m := md5.Sum([]byte(old.etag + hex.EncodeToString(st.md5)))
		obj.etag = etagOf(m[:])
	}
	obj.size = size + st.seg.size
	b.objects[key] = obj
	o.mu.Unlock()
	h := w.Header()
	h.Set("ETag", obj.etag)
	h.Set("X-Oss-Next-Append-Position", strconv.FormatInt(obj.size, 10))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// writeXML writes a 200-class XML response.
func writeXML(w http.ResponseWriter, status int, v any) *ossError {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return errf(500, "InternalError", "Encoding the response failed.")
	}
	out = append([]byte(xml.Header), out...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
	return nil
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
