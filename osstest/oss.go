package osstest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OSSOptions configures an OSS emulator. The zero value is usable.
type OSSOptions struct {
	// Region is the region the emulator signs V4 scopes and resources for;
	// "" means "cn-hangzhou".
	Region string
	// Dir is where object bodies live. "" means a new temporary directory
	// that Close removes; a given Dir is left in place (its files are not).
	// The index of buckets and objects is in memory only: a new OSS starts
	// empty whatever Dir holds.
	Dir string
	// Buckets are created at start.
	Buckets []string
	// VirtualHostSuffix enables virtual-host addressing: a request whose
	// Host is "<bucket>.<suffix>" addresses that bucket. It is e.g.
	// "oss-cn-hangzhou.aliyuncs.com" or a loopback "host:port". Path-style
	// ("/bucket/key") always works.
	VirtualHostSuffix string
	// Logger receives one debug line per request and rejections at info;
	// nil discards. Secrets never reach it.
	Logger *slog.Logger
	// MaxSkew is the allowed difference between a request's time and the
	// account clock; 0 means 15 minutes, as OSS.
	MaxSkew time.Duration
}

// ErrNoSuchBucket and friends are returned by the OSS methods used from Go.
var (
	ErrNoSuchBucket  = errors.New("osstest: no such bucket")
	ErrNoSuchKey     = errors.New("osstest: no such key")
	ErrInvalidBucket = errors.New("osstest: invalid bucket name")
	ErrClosed        = errors.New("osstest: emulator closed")
	errBadDigest     = errors.New("content-md5 mismatch")
)

// OSS is an in-process Alibaba Cloud OSS object service: an http.Handler
// that authenticates every request as strictly as OSS (V1 and V4 signatures
// in headers and presigned URLs, STS tokens, clock skew, RAM policies) and
// stores object bodies in files. Serve it with httptest.NewServer or any
// http.Server. It is safe for concurrent use.
type OSS struct {
	acct    *Account
	region  string
	dir     string
	ownDir  bool
	suffix  string
	log     *slog.Logger
	maxSkew time.Duration

	reqPrefix string
	reqSeq    atomic.Uint64
	bufs      sync.Pool // *[]byte, 1 MiB

	mu      sync.RWMutex
	buckets map[string]*bucket
	uploads map[string]*upload
	closed  bool
}

var _ http.Handler = (*OSS)(nil)

type bucket struct {
	name    string
	created time.Time
	objects map[string]*object
}

// object is immutable once published in a bucket.
type object struct {
	key         string
	size        int64
	etag        string // quoted, as sent in ETag
	crc         uint64
	kind        string // Normal, Multipart, Appendable
	modified    time.Time
	contentType string
	headers     http.Header // user metadata and stored standard headers
	segs        []segment   // the body is the concatenation of segments
}

// segment is one file holding part of an object body.
type segment struct {
	path string
	size int64
}

// NewOSS returns an emulator authenticating against acct (which must not be
// nil). It creates the directory given in opts.Dir if needed.
func NewOSS(acct *Account, opts OSSOptions) (*OSS, error) {
	if acct == nil {
		return nil, errors.New("osstest: NewOSS needs an Account")
	}
	o := &OSS{
		acct: acct, region: opts.Region, suffix: opts.VirtualHostSuffix, log: opts.Logger, maxSkew: opts.MaxSkew,
		buckets: map[string]*bucket{}, uploads: map[string]*upload{},
	}
	if o.region == "" {
		o.region = "cn-hangzhou"
	}
	if o.maxSkew <= 0 {
		o.maxSkew = 15 * time.Minute
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	o.bufs.New = func() any { b := make([]byte, 1<<20); return &b }
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	o.reqPrefix = strings.ToUpper(hex.EncodeToString(rb[:]))
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "osstest-")
		if err != nil {
			return nil, fmt.Errorf("creating object directory: %w", err)
		}
		o.dir, o.ownDir = d, true
	} else {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating object directory: %w", err)
		}
		o.dir = opts.Dir
	}
	for _, b := range opts.Buckets {
		if err := o.CreateBucket(b); err != nil {
			_ = o.Close()
			return nil, err
		}
	}
	return o, nil
}

// Region returns the region the emulator serves.
func (o *OSS) Region() string { return o.region }

// CreateBucket creates an empty bucket; creating an existing one is a no-op.
// Names follow OSS rules: 3-63 characters of a-z, 0-9 and '-', not starting
// or ending with '-'.
func (o *OSS) CreateBucket(name string) error {
	if !validBucketName(name) {
		return fmt.Errorf("creating bucket %q: %w", name, ErrInvalidBucket)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if _, ok := o.buckets[name]; !ok {
		o.buckets[name] = &bucket{name: name, created: o.acct.Clock.Now(), objects: map[string]*object{}}
	}
	return nil
}

func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Close removes the object files (and the directory if NewOSS created it).
// Requests after Close fail. It is safe to call more than once.
func (o *OSS) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	if o.ownDir {
		errs = append(errs, os.RemoveAll(o.dir))
	} else {
		for _, b := range o.buckets {
			for _, obj := range b.objects {
				errs = append(errs, removeSegs(obj.segs, nil))
			}
		}
		for _, u := range o.uploads {
			for _, p := range u.parts {
				errs = append(errs, removeSegs([]segment{p.seg}, nil))
			}
		}
	}
	o.buckets, o.uploads = map[string]*bucket{}, map[string]*upload{}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing emulator: %w", err)
	}
	return nil
}

// ObjectSHA256 streams the stored body of bucket/key and returns its hex
// sha256, for tests that check a round trip without holding the body.
func (o *OSS) ObjectSHA256(bucket, key string) (string, error) {
	rc, _, err := o.openObject(bucket, key)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	buf := o.getBuf()
	defer o.bufs.Put(buf)
	if _, err := io.CopyBuffer(h, rc, *buf); err != nil {
		return "", fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// PutObject stores body as bucket/key directly, without a request: a seed
// for tests. The object gets Content-Type application/octet-stream.
func (o *OSS) PutObject(ctx context.Context, bucket, key string, body io.Reader) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("putting %s/%s: %w", bucket, key, err)
	}
	st, err := o.store(body, nil)
	if err != nil {
		return fmt.Errorf("putting %s/%s: %w", bucket, key, err)
	}
	obj := &object{key: key, size: st.seg.size, etag: etagOf(st.md5), crc: st.crc, kind: "Normal",
		modified: o.acct.Clock.Now(), contentType: "application/octet-stream", headers: http.Header{}, segs: []segment{st.seg}}
	if e := o.publish(bucket, obj); e != nil {
		return fmt.Errorf("putting %s/%s: %w", bucket, key, ErrNoSuchBucket)
	}
	return nil
}

// OpenObject opens the stored body of bucket/key for reading. The caller
// closes it; a concurrent overwrite or delete does not disturb the reader.
func (o *OSS) OpenObject(bucket, key string) (io.ReadCloser, error) {
	rc, _, err := o.openObject(bucket, key)
	return rc, err
}

// ObjectKeys lists the keys of a bucket in order.
func (o *OSS) ObjectKeys(bucket string) ([]string, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, ok := o.buckets[bucket]
	if !ok {
		return nil, fmt.Errorf("listing %s: %w", bucket, ErrNoSuchBucket)
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

func (o *OSS) getBuf() *[]byte { return o.bufs.Get().(*[]byte) }

// openObject opens the body of an object for reading; the files are opened
// under the lock, so a concurrent delete cannot pull them away.
func (o *OSS) openObject(bucket, key string) (io.ReadCloser, *object, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	b, ok := o.buckets[bucket]
	if !ok {
		return nil, nil, fmt.Errorf("opening %s/%s: %w", bucket, key, ErrNoSuchBucket)
	}
	obj, ok := b.objects[key]
	if !ok {
		return nil, nil, fmt.Errorf("opening %s/%s: %w", bucket, key, ErrNoSuchKey)
	}
	rc, err := openSegs(obj.segs)
	if err != nil {
		return nil, nil, err
	}
	return rc, obj, nil
}

// segReader reads a run of open segment files, optionally a byte range.
type segReader struct {
	files []*os.File
	r     io.Reader
}

func openSegs(segs []segment) (*segReader, error) {
	sr := &segReader{}
	for _, s := range segs {
		f, err := os.Open(s.path)
		if err != nil {
			_ = sr.Close()
			return nil, fmt.Errorf("opening object data: %w", err)
		}
		sr.files = append(sr.files, f)
	}
	sr.setRange(segs, 0, totalSize(segs))
	return sr, nil
}

// setRange restricts the reader to [off, off+n).
func (sr *segReader) setRange(segs []segment, off, n int64) {
	var rs []io.Reader
	for i, s := range segs {
		if n <= 0 {
			break
		}
		if off >= s.size {
			off -= s.size
			continue
		}
		l := min(s.size-off, n)
		rs = append(rs, io.NewSectionReader(sr.files[i], off, l))
		n -= l
		off = 0
	}
	sr.r = io.MultiReader(rs...)
}

func (sr *segReader) Read(p []byte) (int, error) { return sr.r.Read(p) }

func (sr *segReader) Close() error {
	var errs []error
	for _, f := range sr.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

func totalSize(segs []segment) int64 {
	var n int64
	for _, s := range segs {
		n += s.size
	}
	return n
}

// removeSegs removes the files of segs that keep does not also use.
func removeSegs(segs, keep []segment) error {
	var errs []error
	for _, s := range segs {
		if slices.ContainsFunc(keep, func(k segment) bool { return k.path == s.path }) {
			continue
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stored is the result of streaming a body to a file.
type stored struct {
	seg segment
	md5 []byte
	crc uint64
}

// store streams body to a new temporary file, computing MD5 and CRC-64/ECMA
// on the way, checks it against contentMD5 (nil: no check) and renames it
// to its final name; only complete bodies ever carry an "obj-" name. The CRC runs in
// its own goroutine, one buffer behind, so the two hashes overlap. On
// error the file is removed.
func (o *OSS) store(body io.Reader, contentMD5 []byte) (stored, error) {
	f, err := os.CreateTemp(o.dir, ".partial-*")
	if err != nil {
		return stored{}, fmt.Errorf("creating object file: %w", err)
	}
	pr, pw := io.Pipe()
	crcDone := make(chan uint64, 1)
	go func() {
		crc := crc64.New(crcTable)
		buf := o.getBuf()
		defer o.bufs.Put(buf)
		_, err := io.CopyBuffer(crc, onlyReader{pr}, *buf)
		pr.CloseWithError(err) // unblocks the writer if hashing stopped early
		crcDone <- crc.Sum64()
	}()
	md := md5.New()
	buf := o.getBuf()
	defer o.bufs.Put(buf)
	n, err := io.CopyBuffer(io.MultiWriter(f, md, pw), onlyReader{body}, *buf)
	pw.CloseWithError(err)
	crc := <-crcDone
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing object file: %w", cerr)
	}
	sum := md.Sum(nil)
	if err == nil && contentMD5 != nil && !slices.Equal(sum, contentMD5) {
		err = errBadDigest
	}
	final := filepath.Join(o.dir, "obj-"+strings.TrimPrefix(filepath.Base(f.Name()), ".partial-"))
	if err == nil {
		if rerr := os.Rename(f.Name(), final); rerr != nil {
			err = fmt.Errorf("publishing object file: %w", rerr)
		}
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return stored{}, err
	}
	return stored{seg: segment{path: final, size: n}, md5: sum, crc: crc}, nil
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses our buffer.
type onlyReader struct{ io.Reader }

var crcTable = crc64.MakeTable(crc64.ECMA)

func etagOf(md5sum []byte) string {
	return `"` + strings.ToUpper(hex.EncodeToString(md5sum)) + `"`
}

func (o *OSS) newRequestID() string {
	return fmt.Sprintf("%s%012X", o.reqPrefix, o.reqSeq.Add(1))
}

// route splits a request into bucket and key, for path-style and
// virtual-host addressing. hasKey distinguishes "/bkt/" from "/bkt/k".
func (o *OSS) route(r *http.Request) (bucket, key string, hasKey bool) {
	p := r.URL.Path
	if o.suffix != "" {
		host := strings.ToLower(r.Host)
		suffix := "." + strings.ToLower(o.suffix)
		if !strings.HasSuffix(host, suffix) {
			if h, _, err := net.SplitHostPort(host); err == nil && !strings.Contains(o.suffix, ":") {
				host = h
			}
		}
		if b, ok := strings.CutSuffix(host, suffix); ok && b != "" && !strings.Contains(b, ".") {
			k := strings.TrimPrefix(p, "/")
			return b, k, k != ""
		}
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return "", "", false
	}
	b, k, found := strings.Cut(p, "/")
	return b, k, found && k != ""
}

// ServeHTTP implements the OSS REST API.
func (o *OSS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := o.newRequestID()
	if r.Body == nil { // a client-side request handed straight to the handler
		r.Body = http.NoBody
	}
	h := w.Header()
	h.Set("X-Oss-Request-Id", reqID)
	h.Set("Date", o.acct.Clock.Now().UTC().Format(http.TimeFormat))
	h.Set("Server", "AliyunOSS")
	e := o.serve(w, r)
	if e != nil {
		// Drain a little of an unread body so the connection can be reused.
		_, _ = io.CopyN(io.Discard, r.Body, 256<<10)
		writeError(w, r, reqID, e)
	}
	lvl := slog.LevelDebug
	code := "OK"
	if e != nil {
		lvl, code = slog.LevelInfo, e.Code
	}
	o.log.Log(r.Context(), lvl, "osstest request", "method", r.Method, "path", r.URL.Path,
		"request_id", reqID, "result", code)
}

func (o *OSS) serve(w http.ResponseWriter, r *http.Request) *ossError {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errInvalidArgument("The query string is malformed.", "", "")
	}
	bucketName, key, hasKey := o.route(r)
	o.mu.RLock()
	closed := o.closed
	_, bucketOK := o.buckets[bucketName]
	o.mu.RUnlock()
	if closed {
		return errf(503, "ServiceUnavailable", "The emulator is closed.")
	}
	if bucketName != "" && !bucketOK {
		return errNoSuchBucket(bucketName)
	}
	if len(key) > 1023 {
		return errInvalidArgument("The length of the object name must be less than 1024.", "key", "")
	}
	id, e := o.authenticate(r, q, bucketName, key, hasKey)
	if e != nil {
		return e
	}
	if p := r.Header.Get("X-Oss-Content-Sha256"); p != unsignedPayload && isHexSHA256(p) && r.Header.Get("Authorization") != "" {
		r.Body = newSHA256Body(r.Body, p)
	}
	op, e := o.operation(r, q, bucketName, key, hasKey, id)
	if e != nil {
		return e
	}
	for _, c := range op.checks {
		if !id.Allowed(c.action, c.resource, c.cond) {
			return errAccessDenied("You have no right to access this object because of bucket acl.")
		}
	}
	if !op.readsBody {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)); err != nil {
			return bodyError(err)
		}
	}
	return op.run(w)
}

// bodyError maps an error reading or storing a request body.
func bodyError(err error) *ossError {
	var oe *ossError
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.Is(err, errPayloadSHA256):
		return errf(400, "BadDigest", "The x-oss-content-sha256 you specified did not match what we received.")
	case errors.Is(err, errBadDigest):
		return errf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	}
	return errf(400, "IncompleteBody", "The request body ended before Content-Length bytes: "+err.Error())
}

// policyCheck is one action the identity must be allowed.
type policyCheck struct {
	action, resource string
	cond             map[string]string
}

// op is one resolved API operation: its policy checks and its handler.
type op struct {
	checks    []policyCheck
	readsBody bool
	run       func(w http.ResponseWriter) *ossError
}

func (o *OSS) objectResource(bucket, key string) string {
	return "acs:oss:" + o.region + ":" + o.acct.ID + ":" + bucket + "/" + key
}

func (o *OSS) bucketResource(bucket string) string {
	return "acs:oss:" + o.region + ":" + o.acct.ID + ":" + bucket
}

func (o *OSS) operation(r *http.Request, q url.Values, b, key string, hasKey bool, id *Identity) (*op, *ossError) {
	obj := func(action string) policyCheck {
		return policyCheck{action: action, resource: o.objectResource(b, key)}
	}
	bkt := func(action string, cond map[string]string) policyCheck {
		return policyCheck{action: action, resource: o.bucketResource(b), cond: cond}
	}
	notImpl := errf(501, "NotImplemented", "The emulator does not implement this operation.")
	switch {
	case b == "":
		if r.Method != http.MethodGet {
			return nil, errf(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
		return &op{checks: []policyCheck{{action: "oss:ListBuckets", resource: "acs:oss:*:" + o.acct.ID + ":*"}},
			run: func(w http.ResponseWriter) *ossError { return o.listBuckets(w, r, q) }}, nil
	case !hasKey:
		switch {
		case r.Method == http.MethodGet && q.Has("bucketInfo"):
			return &op{checks: []policyCheck{bkt("oss:GetBucketInfo", nil)},
				run: func(w http.ResponseWriter) *ossError { return o.getBucketInfo(w, b) }}, nil
		case r.Method == http.MethodGet && q.Has("acl"):
			return &op{checks: []policyCheck{bkt("oss:GetBucketAcl", nil)},
				run: func(w http.ResponseWriter) *ossError { return o.getACL(w, "private") }}, nil
		case r.Method == http.MethodGet && q.Has("location"):
			return &op{checks: []policyCheck{bkt("oss:GetBucketLocation", nil)},
				run: func(w http.ResponseWriter) *ossError { return o.getBucketLocation(w) }}, nil
		case r.Method == http.MethodGet && q.Has("uploads"):
			return &op{checks: []policyCheck{bkt("oss:ListMultipartUploads", nil)},
				run: func(w http.ResponseWriter) *ossError { return o.listUploads(w, b, q) }}, nil
		case r.Method == http.MethodGet && hasOnly(subResources(q), "continuation-token"):
			cond := map[string]string{"oss:Prefix": q.Get("prefix"), "oss:Delimiter": q.Get("delimiter")}
			return &op{checks: []policyCheck{bkt("oss:ListObjects", cond)},
				run: func(w http.ResponseWriter) *ossError { return o.listObjects(w, b, q) }}, nil
		case r.Method == http.MethodPost && q.Has("delete"):
			// Each key is checked against oss:DeleteObject inside.
			return &op{readsBody: true, run: func(w http.ResponseWriter) *ossError { return o.deleteMultiple(w, r, b, q, id) }}, nil
		}
		return nil, notImpl
	}
	subs := subResources(q)
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("partNumber") && q.Has("uploadId"):
			if v := r.Header.Get("X-Oss-Copy-Source"); v != "" {
				sb, sk, e := parseCopySource(v)
				if e != nil {
					return nil, e
				}
				return &op{checks: []policyCheck{{action: "oss:GetObject", resource: o.objectResource(sb, sk)}, obj("oss:PutObject")},
					run: func(w http.ResponseWriter) *ossError { return o.uploadPartCopy(w, r, b, key, q, sb, sk) }}, nil
			}
			return &op{checks: []policyCheck{obj("oss:PutObject")}, readsBody: true,
				run: func(w http.ResponseWriter) *ossError { return o.uploadPart(w, r, b, key, q) }}, nil
		case len(subs) > 0:
			return nil, notImpl
		case r.Header.Get("X-Oss-Copy-Source") != "":
			sb, sk, e := parseCopySource(r.Header.Get("X-Oss-Copy-Source"))
			if e != nil {
				return nil, e
			}
			return &op{checks: []policyCheck{{action: "oss:GetObject", resource: o.objectResource(sb, sk)}, obj("oss:PutObject")},
				run: func(w http.ResponseWriter) *ossError { return o.copyObject(w, r, sb, sk, b, key) }}, nil
		}
		return &op{checks: []policyCheck{obj("oss:PutObject")}, readsBody: true,
			run: func(w http.ResponseWriter) *ossError { return o.putObject(w, r, b, key) }}, nil
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return &op{checks: []policyCheck{obj("oss:PutObject")},
				run: func(w http.ResponseWriter) *ossError { return o.initiateUpload(w, r, b, key, q) }}, nil
		case q.Has("uploadId"):
			return &op{checks: []policyCheck{obj("oss:PutObject")}, readsBody: true,
				run: func(w http.ResponseWriter) *ossError { return o.completeUpload(w, r, b, key, q) }}, nil
		case q.Has("append"):
			return &op{checks: []policyCheck{obj("oss:PutObject")}, readsBody: true,
				run: func(w http.ResponseWriter) *ossError { return o.appendObject(w, r, b, key, q) }}, nil
		}
	case http.MethodGet, http.MethodHead:
		switch {
		case r.Method == http.MethodGet && q.Has("uploadId"):
			return &op{checks: []policyCheck{obj("oss:ListParts")},
				run: func(w http.ResponseWriter) *ossError { return o.listParts(w, b, key, q) }}, nil
		case r.Method == http.MethodGet && q.Has("acl"):
			return &op{checks: []policyCheck{obj("oss:GetObjectAcl")},
				run: func(w http.ResponseWriter) *ossError {
					if _, e := o.lookupObject(b, key); e != nil {
						return e
					}
					return o.getACL(w, "default")
				}}, nil
		case q.Has("objectMeta"):
			return &op{checks: []policyCheck{obj("oss:GetObject")},
				run: func(w http.ResponseWriter) *ossError { return o.getObjectMeta(w, b, key) }}, nil
		case hasOnly(subs, "response-content-type", "response-content-language", "response-expires",
			"response-cache-control", "response-content-disposition", "response-content-encoding", "security-token"):
			return &op{checks: []policyCheck{obj("oss:GetObject")},
				run: func(w http.ResponseWriter) *ossError { return o.getObject(w, r, b, key, q) }}, nil
		}
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return &op{checks: []policyCheck{obj("oss:AbortMultipartUpload")},
				run: func(w http.ResponseWriter) *ossError { return o.abortUpload(w, b, key, q) }}, nil
		case len(subs) == 0:
			return &op{checks: []policyCheck{obj("oss:DeleteObject")},
				run: func(w http.ResponseWriter) *ossError { return o.deleteObject(w, b, key) }}, nil
		}
	}
	return nil, notImpl
}

// subResources lists the signed sub-resources of a query, ignoring the
// authentication parameters.
func subResources(q url.Values) []string {
	var out []string
	for k := range q {
		if isV1SubResource(k) && k != "security-token" {
			out = append(out, k)
		}
	}
	return out
}

func hasOnly(subs []string, allowed ...string) bool {
	for _, s := range subs {
		if !slices.Contains(allowed, s) {
			return false
		}
	}
	return true
}

// parseCopySource decodes "/bucket/key" (URL-encoded, as OSS expects).
func parseCopySource(v string) (string, string, *ossError) {
	dec, err := url.QueryUnescape(v) // the legacy SDK encodes a space as +
	if err != nil {
		return "", "", errInvalidArgument("x-oss-copy-source is not URL-encoded.", "x-oss-copy-source", v)
	}
	dec = strings.TrimPrefix(dec, "/")
	b, k, ok := strings.Cut(dec, "/")
	if !ok || b == "" || k == "" {
		return "", "", errInvalidArgument("x-oss-copy-source must be /bucket/key.", "x-oss-copy-source", v)
	}
	return b, k, nil
}

// md5Header decodes Content-MD5: nil if absent, InvalidDigest if malformed.
func md5Header(r *http.Request) ([]byte, *ossError) {
	v := r.Header.Get("Content-Md5")
	if v == "" {
		return nil, nil
	}
	b, err := decodeBase64(v)
	if err != nil || len(b) != md5.Size {
		return nil, errf(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
	}
	return b, nil
}

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
