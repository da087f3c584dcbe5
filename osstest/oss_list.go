package osstest

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// encodingType reads encoding-type: true for "url", an error for anything
// but "" or "url".
func encodingType(q url.Values) (bool, *ossError) {
	switch v := q.Get("encoding-type"); v {
	case "":
		return false, nil
	case "url":
		return true, nil
	default:
		return false, errInvalidArgument("The encoding-type must be url.", "encoding-type", v)
	}
}

// encodingName is the EncodingType of a response: "url" when
// encoding-type=url was asked for, else "" (the element is omitted).
func encodingName(enc bool) string {
	if enc {
		return "url"
	}
	return ""
}

// encodeIf URL-encodes s when encoding-type=url was asked for, as OSS does
// for keys, prefixes, markers, delimiters and tokens (PROTOCOL.md §9).
func encodeIf(enc bool, s string) string {
	if !enc {
		return s
	}
	return escapeRFC3986(s, false)
}

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type listEntry struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Type         string `xml:"Type"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
	Owner        *owner `xml:"Owner,omitempty"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listV1Result struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Contents       []listEntry    `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

type listV2Result struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	Contents              []listEntry    `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// listPage is one page of a listing, before encoding.
type listPage struct {
	objects   []*object
	prefixes  []string
	truncated bool
	next      string // the last key or common prefix returned
}

// list pages through a bucket: keys after marker with prefix, rolled up at
// delimiter, at most maxKeys entries (keys and common prefixes together).
func (o *OSS) list(bucket, prefix, delimiter, marker string, maxKeys int) (listPage, *ossError) {
	if maxKeys == 0 {
		// Nothing to return, and no marker to continue from: not truncated,
		// or a client paging on IsTruncated would never stop.
		return listPage{}, nil
	}
	o.mu.RLock()
	b, ok := o.buckets[bucket]
	if !ok {
		o.mu.RUnlock()
		return listPage{}, errNoSuchBucket(bucket)
	}
	objs := make([]*object, 0, len(b.objects))
	for k, obj := range b.objects {
		if strings.HasPrefix(k, prefix) && k > marker {
			objs = append(objs, obj)
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(objs, func(a, b *object) int { return strings.Compare(a.key, b.key) })
	var p listPage
	n := 0
	for _, obj := range objs {
		cp := ""
		if delimiter != "" {
			if i := strings.Index(obj.key[len(prefix):], delimiter); i >= 0 {
				cp = obj.key[:len(prefix)+i+len(delimiter)]
			}
		}
		if cp != "" && (cp <= marker || (len(p.prefixes) > 0 && p.prefixes[len(p.prefixes)-1] == cp)) {
			continue // already returned, on this page or an earlier one
		}
		if n == maxKeys {
			p.truncated = true
			break
		}
		n++
		if cp != "" {
			p.prefixes = append(p.prefixes, cp)
			p.next = cp
		} else {
			p.objects = append(p.objects, obj)
			p.next = obj.key
		}
	}
	return p, nil
}

func maxKeysParam(q url.Values) (int, *ossError) {
	v := q.Get("max-keys")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 1000 {
		return 0, errInvalidArgument("max-keys must be between 0 and 1000.", "max-keys", v)
	}
	return n, nil
}

func (o *OSS) entry(obj *object, enc, withOwner bool) listEntry {
	e := listEntry{Key: encodeIf(enc, obj.key), LastModified: isoTime(obj.modified), ETag: obj.etag,
		Type: obj.kind, Size: obj.size, StorageClass: "Standard"}
	if withOwner {
		e.Owner = &owner{ID: o.acct.ID, DisplayName: o.acct.ID}
	}
	return e
}

func (o *OSS) listObjects(w http.ResponseWriter, bucket string, q url.Values) *ossError {
	enc, e := encodingType(q)
	if e != nil {
		return e
	}
	maxKeys, e := maxKeysParam(q)
	if e != nil {
		return e
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	if q.Get("list-type") == "2" {
		marker := q.Get("start-after")
		if q.Has("continuation-token") {
			marker = q.Get("continuation-token")
		}
		p, e := o.list(bucket, prefix, delim, marker, maxKeys)
		if e != nil {
			return e
		}
		res := listV2Result{Name: bucket, Prefix: encodeIf(enc, prefix), StartAfter: encodeIf(enc, q.Get("start-after")),
			ContinuationToken: encodeIf(enc, q.Get("continuation-token")), MaxKeys: maxKeys,
			Delimiter: encodeIf(enc, delim), IsTruncated: p.truncated, KeyCount: len(p.objects) + len(p.prefixes),
			EncodingType: encodingName(enc)}
		if p.truncated {
			res.NextContinuationToken = encodeIf(enc, p.next)
		}
		fetchOwner := q.Get("fetch-owner") == "true"
		for _, obj := range p.objects {
			res.Contents = append(res.Contents, o.entry(obj, enc, fetchOwner))
		}
		for _, cp := range p.prefixes {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{encodeIf(enc, cp)})
		}
		return writeXML(w, http.StatusOK, res)
	}
	p, e := o.list(bucket, prefix, delim, q.Get("marker"), maxKeys)
	if e != nil {
		return e
	}
	res := listV1Result{Name: bucket, Prefix: encodeIf(enc, prefix), Marker: encodeIf(enc, q.Get("marker")),
		MaxKeys: maxKeys, Delimiter: encodeIf(enc, delim), IsTruncated: p.truncated, EncodingType: encodingName(enc)}
	if p.truncated {
		res.NextMarker = encodeIf(enc, p.next)
	}
	for _, obj := range p.objects {
		res.Contents = append(res.Contents, o.entry(obj, enc, true))
	}
	for _, cp := range p.prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{encodeIf(enc, cp)})
	}
	return writeXML(w, http.StatusOK, res)
}

type bucketXML struct {
	CreationDate     string `xml:"CreationDate"`
	ExtranetEndpoint string `xml:"ExtranetEndpoint"`
	IntranetEndpoint string `xml:"IntranetEndpoint"`
	Location         string `xml:"Location"`
	Name             string `xml:"Name"`
	Region           string `xml:"Region"`
	StorageClass     string `xml:"StorageClass"`
}

type listBucketsResult struct {
	XMLName     xml.Name    `xml:"ListAllMyBucketsResult"`
	Prefix      string      `xml:"Prefix,omitempty"`
	Marker      string      `xml:"Marker,omitempty"`
	MaxKeys     int         `xml:"MaxKeys,omitempty"`
	IsTruncated bool        `xml:"IsTruncated"`
	NextMarker  string      `xml:"NextMarker,omitempty"`
	Owner       owner       `xml:"Owner"`
	Buckets     []bucketXML `xml:"Buckets>Bucket"`
}

func (o *OSS) bucketXML(b *bucket) bucketXML {
	return bucketXML{CreationDate: isoTime(b.created), ExtranetEndpoint: "oss-" + o.region + ".aliyuncs.com",
		IntranetEndpoint: "oss-" + o.region + "-internal.aliyuncs.com", Location: "oss-" + o.region,
		Name: b.name, Region: o.region, StorageClass: "Standard"}
}

func (o *OSS) listBuckets(w http.ResponseWriter, _ *http.Request, q url.Values) *ossError {
	maxKeys, e := maxKeysParam(q)
	if e != nil {
		return e
	}
	if !q.Has("max-keys") {
		maxKeys = 1000
	}
	prefix, marker := q.Get("prefix"), q.Get("marker")
	o.mu.RLock()
	var names []string
	for n := range o.buckets {
		if strings.HasPrefix(n, prefix) && n > marker {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	res := listBucketsResult{Prefix: prefix, Marker: marker, Owner: owner{ID: o.acct.ID, DisplayName: o.acct.ID}}
	if q.Has("max-keys") {
		res.MaxKeys = maxKeys
	}
	for i, n := range names {
		if i == maxKeys {
			res.IsTruncated, res.NextMarker = true, names[i-1]
			break
		}
		res.Buckets = append(res.Buckets, o.bucketXML(o.buckets[n]))
	}
	o.mu.RUnlock()
	return writeXML(w, http.StatusOK, res)
}

type bucketInfoResult struct {
	XMLName xml.Name `xml:"BucketInfo"`
	Bucket  struct {
		bucketXML
		Owner              owner  `xml:"Owner"`
		ACL                string `xml:"AccessControlList>Grant"`
		DataRedundancyType string `xml:"DataRedundancyType"`
	} `xml:"Bucket"`
}

func (o *OSS) getBucketInfo(w http.ResponseWriter, bucket string) *ossError {
	o.mu.RLock()
	b, ok := o.buckets[bucket]
	o.mu.RUnlock()
	if !ok {
		return errNoSuchBucket(bucket)
	}
	var res bucketInfoResult
	res.Bucket.bucketXML = o.bucketXML(b)
	res.Bucket.Owner = owner{ID: o.acct.ID, DisplayName: o.acct.ID}
	res.Bucket.ACL = "private"
	res.Bucket.DataRedundancyType = "LRS"
	return writeXML(w, http.StatusOK, res)
}

type locationResult struct {
	XMLName  xml.Name `xml:"LocationConstraint"`
	Location string   `xml:",chardata"`
}

func (o *OSS) getBucketLocation(w http.ResponseWriter) *ossError {
	return writeXML(w, http.StatusOK, locationResult{Location: "oss-" + o.region})
}

type aclResult struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   owner    `xml:"Owner"`
	Grant   string   `xml:"AccessControlList>Grant"`
}

// getACL answers GetBucketAcl and GetObjectAcl: the emulator has no ACLs,
// buckets are private and objects inherit ("default").
func (o *OSS) getACL(w http.ResponseWriter, grant string) *ossError {
	return writeXML(w, http.StatusOK, aclResult{Owner: owner{ID: o.acct.ID, DisplayName: o.acct.ID}, Grant: grant})
}
