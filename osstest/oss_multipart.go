package osstest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
)

// minPartSize is the smallest size of a part that is not the last, as OSS.
const minPartSize = 100 << 10

type upload struct {
	id, bucket, key string
	initiated       time.Time
	contentType     string
	headers         http.Header
	parts           map[int]*part
}

type part struct {
	num      int
	seg      segment
	md5      []byte
	crc      uint64
	modified time.Time
}

func newUploadID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

type initiateResult struct {
	XMLName      xml.Name `xml:"InitiateMultipartUploadResult"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	UploadID     string   `xml:"UploadId"`
	EncodingType string   `xml:"EncodingType,omitempty"`
}

func (o *OSS) initiateUpload(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	ct, hdr := objectHeaders(r)
	u := &upload{id: newUploadID(), bucket: bucket, key: key, initiated: o.acct.Clock.Now(),
		contentType: ct, headers: hdr, parts: map[int]*part{}}
	o.mu.Lock()
	o.uploads[u.id] = u
	o.mu.Unlock()
	return writeXML(w, http.StatusOK, initiateResult{Bucket: bucket, Key: encodeIf(enc, key), UploadID: u.id,
		EncodingType: encodingName(enc)})
}

// findUpload returns the upload with q's uploadId for bucket/key. Callers
// hold o.mu.
func (o *OSS) findUpload(bucket, key, id string) (*upload, *ossError) {
	u, ok := o.uploads[id]
	if !ok || u.bucket != bucket || u.key != key {
		return nil, errNoSuchUpload(id)
	}
	return u, nil
}

func (o *OSS) uploadPart(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) *ossError {
	num, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || num < 1 || num > 10000 {
		return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", q.Get("partNumber"))
	}
	if e := needLength(r); e != nil {
		return e
	}
	id := q.Get("uploadId")
	o.mu.RLock()
	_, e := o.findUpload(bucket, key, id)
	o.mu.RUnlock()
	if e != nil {
		return e
	}
	sum, e := md5Header(r)
	if e != nil {
		return e
	}
	st, err := o.store(r.Body, sum)
	if err != nil {
		return bodyError(err)
	}
	if _, e := o.addPart(bucket, key, id, num, st); e != nil {
		return e
	}
	h := w.Header()
	h.Set("ETag", etagOf(st.md5))
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(st.md5))
	h.Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(st.crc, 10))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// addPart records a stored part, replacing an earlier one with the same
// number. The upload may have been completed or aborted while the part was
// streaming; then the data is dropped and NoSuchUpload returned.
func (o *OSS) addPart(bucket, key, id string, num int, st stored) (*part, *ossError) {
	p := &part{num: num, seg: st.seg, md5: st.md5, crc: st.crc, modified: o.acct.Clock.Now()}
	o.mu.Lock()
	u, e := o.findUpload(bucket, key, id)
	var old *part
	if e == nil {
		old = u.parts[num]
		u.parts[num] = p
	}
	o.mu.Unlock()
	if e != nil {
		_ = removeSegs([]segment{st.seg}, nil)
		return nil, e
	}
	if old != nil {
		_ = removeSegs([]segment{old.seg}, nil)
	}
	return p, nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

// uploadPartCopy stores a part copied from another object, all of it or the
// x-oss-copy-source-range "bytes=first-last" (which must lie inside it).
func (o *OSS) uploadPartCopy(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values, sb, sk string) *ossError {
	num, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || num < 1 || num > 10000 {
		return errInvalidArgument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", q.Get("partNumber"))
	}
	id := q.Get("uploadId")
	o.mu.RLock()
	_, e := o.findUpload(bucket, key, id)
	o.mu.RUnlock()
	if e != nil {
		return e
	}
	rc, src, e := o.openCopySource(r, sb, sk)
	if e != nil {
		return e
	}
	defer rc.Close()
	if v := r.Header.Get("X-Oss-Copy-Source-Range"); v != "" {
		br, ok := parseRange(v, src.size, true)
		if !ok || !br.partial {
			return errInvalidArgument("x-oss-copy-source-range is invalid.", "x-oss-copy-source-range", v)
		}
		rc.(*segReader).setRange(src.segs, br.start, br.length)
	}
	st, err := o.store(rc, nil)
	if err != nil {
		return errf(500, "InternalError", "Copying object data failed.")
	}
	p, e := o.addPart(bucket, key, id, num, st)
	if e != nil {
		return e
	}
	w.Header().Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(st.crc, 10))
	return writeXML(w, http.StatusOK, copyPartResult{LastModified: isoTime(p.modified), ETag: etagOf(st.md5)})
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName      xml.Name `xml:"CompleteMultipartUploadResult"`
	EncodingType string   `xml:"EncodingType,omitempty"`
	Location     string   `xml:"Location"`
	Bucket       string   `xml:"Bucket"`
	Key          string   `xml:"Key"`
	ETag         string   `xml:"ETag"`
}

func (o *OSS) completeUpload(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	id := q.Get("uploadId")
	completeAll := strings.EqualFold(r.Header.Get("X-Oss-Complete-All"), "yes")
	body, e := readXMLBody(r, false)
	if e != nil {
		return e
	}
	var req completeRequest
	if !completeAll {
		if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 {
			return errMalformedXML()
		}
	} else if len(body) > 0 {
		return errInvalidArgument("With x-oss-complete-all the body must be empty.", "x-oss-complete-all", "yes")
	}

	o.mu.Lock()
	u, e := o.findUpload(bucket, key, id)
	if e != nil {
		o.mu.Unlock()
		return e
	}
	var chosen []*part
	if completeAll {
		for _, p := range u.parts {
			chosen = append(chosen, p)
		}
		slices.SortFunc(chosen, func(a, b *part) int { return a.num - b.num })
		if len(chosen) == 0 {
			o.mu.Unlock()
			return errInvalidArgument("The upload has no parts.", "x-oss-complete-all", "yes")
		}
	} else {
		for i, rp := range req.Parts {
			if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
				o.mu.Unlock()
				return errf(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
			}
			p, ok := u.parts[rp.PartNumber]
			if !ok || !strings.EqualFold(strings.Trim(strings.TrimSpace(rp.ETag), `"`), strings.Trim(etagOf(p.md5), `"`)) {
				o.mu.Unlock()
				return &ossError{Status: 400, Code: "InvalidPart", UploadID: id,
					Message: "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag."}
			}
			chosen = append(chosen, p)
		}
	}
	for _, p := range chosen[:len(chosen)-1] {
		if p.seg.size < minPartSize {
			o.mu.Unlock()
			return errf(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
		}
	}
	b, ok := o.buckets[bucket]
	if !ok {
		o.mu.Unlock()
		return errNoSuchBucket(bucket)
	}
	delete(o.uploads, id)
	obj := &object{key: key, kind: "Multipart", modified: o.acct.Clock.Now(), contentType: u.contentType, headers: u.headers}
	md := md5.New()
	for i, p := range chosen {
		obj.segs = append(obj.segs, p.seg)
		md.Write(p.md5)
		if i == 0 {
			obj.crc = p.crc
		} else {
			obj.crc = oss.CRC64Combine(obj.crc, p.crc, uint64(p.seg.size))
		}
		obj.size += p.seg.size
	}
	obj.etag = `"` + strings.ToUpper(hex.EncodeToString(md.Sum(nil))) + "-" + strconv.Itoa(len(chosen)) + `"`
	old := b.objects[key]
	b.objects[key] = obj
	o.mu.Unlock()
	var unused []segment
	for _, p := range u.parts {
		unused = append(unused, p.seg)
	}
	if old != nil {
		unused = append(unused, old.segs...)
	}
	if err := removeSegs(unused, obj.segs); err != nil {
		o.log.Warn("osstest: removing unused part data", "err", err)
	}
	res := completeResult{Location: "http://" + r.Host + "/" + bucket + "/" + escapeRFC3986(key, false),
		Bucket: bucket, Key: encodeIf(enc, key), ETag: obj.etag, EncodingType: encodingName(enc)}
	w.Header().Set("X-Oss-Hash-Crc64ecma", strconv.FormatUint(obj.crc, 10))
	return writeXML(w, http.StatusOK, res)
}

func (o *OSS) abortUpload(w http.ResponseWriter, bucket, key string, q url.Values) *ossError {
	id := q.Get("uploadId")
	o.mu.Lock()
	u, e := o.findUpload(bucket, key, id)
	if e == nil {
		delete(o.uploads, id)
	}
	o.mu.Unlock()
	if e != nil {
		return e
	}
	for _, p := range u.parts {
		_ = removeSegs([]segment{p.seg}, nil)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type partXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	HashCrc64    string `xml:"HashCrc64ecma"`
	Size         int64  `xml:"Size"`
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	EncodingType         string    `xml:"EncodingType,omitempty"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []partXML `xml:"Part"`
}

func (o *OSS) listParts(w http.ResponseWriter, bucket, key string, q url.Values) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	maxParts, marker := 1000, 0
	if v := q.Get("max-parts"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errInvalidArgument("max-parts must be between 1 and 1000.", "max-parts", v)
		}
		maxParts = n
	}
	if v := q.Get("part-number-marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errInvalidArgument("part-number-marker is invalid.", "part-number-marker", v)
		}
		marker = n
	}
	id := q.Get("uploadId")
	o.mu.RLock()
	u, e := o.findUpload(bucket, key, id)
	var parts []*part
	if e == nil {
		for _, p := range u.parts {
			if p.num > marker {
				parts = append(parts, p)
			}
		}
	}
	o.mu.RUnlock()
	if e != nil {
		return e
	}
	slices.SortFunc(parts, func(a, b *part) int { return a.num - b.num })
	res := listPartsResult{Bucket: bucket, Key: encodeIf(enc, key), UploadID: id, PartNumberMarker: marker, MaxParts: maxParts,
		EncodingType: encodingName(enc)}
	if len(parts) > maxParts {
		parts, res.IsTruncated = parts[:maxParts], true
	}
	for _, p := range parts {
		res.Parts = append(res.Parts, partXML{PartNumber: p.num, LastModified: isoTime(p.modified),
			ETag: etagOf(p.md5), HashCrc64: strconv.FormatUint(p.crc, 10), Size: p.seg.size})
		res.NextPartNumberMarker = p.num
	}
	return writeXML(w, http.StatusOK, res)
}

type uploadXML struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type listUploadsResult struct {
	XMLName            xml.Name    `xml:"ListMultipartUploadsResult"`
	EncodingType       string      `xml:"EncodingType,omitempty"`
	Bucket             string      `xml:"Bucket"`
	KeyMarker          string      `xml:"KeyMarker"`
	UploadIDMarker     string      `xml:"UploadIdMarker"`
	NextKeyMarker      string      `xml:"NextKeyMarker"`
	NextUploadIDMarker string      `xml:"NextUploadIdMarker"`
	Prefix             string      `xml:"Prefix"`
	MaxUploads         int         `xml:"MaxUploads"`
	IsTruncated        bool        `xml:"IsTruncated"`
	Uploads            []uploadXML `xml:"Upload"`
}

// listUploads lists the in-progress uploads of a bucket (prefix and
// max-uploads; markers are not supported).
func (o *OSS) listUploads(w http.ResponseWriter, bucket string, q url.Values) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	maxUploads := 1000
	if v := q.Get("max-uploads"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errInvalidArgument("max-uploads must be between 1 and 1000.", "max-uploads", v)
		}
		maxUploads = n
	}
	prefix := q.Get("prefix")
	o.mu.RLock()
	var ups []*upload
	for _, u := range o.uploads {
		if u.bucket == bucket && strings.HasPrefix(u.key, prefix) {
			ups = append(ups, u)
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(ups, func(a, b *upload) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.initiated.Compare(b.initiated)
	})
	res := listUploadsResult{Bucket: bucket, Prefix: encodeIf(enc, prefix), MaxUploads: maxUploads, EncodingType: encodingName(enc)}
	if len(ups) > maxUploads {
		ups, res.IsTruncated = ups[:maxUploads], true
		res.NextKeyMarker, res.NextUploadIDMarker = encodeIf(enc, ups[len(ups)-1].key), ups[len(ups)-1].id
	}
	for _, u := range ups {
		res.Uploads = append(res.Uploads, uploadXML{Key: encodeIf(enc, u.key), UploadID: u.id, Initiated: isoTime(u.initiated)})
	}
	return writeXML(w, http.StatusOK, res)
}
