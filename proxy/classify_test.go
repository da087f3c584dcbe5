package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	rt, err := NewRouter(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rt)
	type hdr = map[string]string
	tests := []struct {
		name       string
		method     string
		target     string
		header     hdr
		chunked    bool
		wantErr    error
		op         string
		checks     []Check
		copySource string
	}{
		// Service and bucket level.
		{name: "ListBuckets", method: "GET", target: "/", op: "ListBuckets", checks: []Check{{ActionServiceList, "", ""}}},
		{name: "service PUT", method: "PUT", target: "/", wantErr: ErrMethodNotAllowed},
		{name: "service sub-resource", method: "GET", target: "/?regions", wantErr: ErrUnsupported},
		{name: "ListObjects", method: "GET", target: "/bkt/?prefix=docs/&delimiter=/&max-keys=10", op: "ListObjects", checks: []Check{{ActionList, "bkt", "docs/"}}},
		{name: "ListObjectsV2", method: "GET", target: "/bkt/?list-type=2&prefix=a&continuation-token=x&encoding-type=url", op: "ListObjects", checks: []Check{{ActionList, "bkt", "a"}}},
		{name: "ListObjects no prefix", method: "GET", target: "/bkt", op: "ListObjects", checks: []Check{{ActionList, "bkt", ""}}},
		{name: "ListObjectVersions", method: "GET", target: "/bkt/?versions&prefix=p/", op: "ListObjectVersions", checks: []Check{{ActionList, "bkt", "p/"}}},
		{name: "ListMultipartUploads", method: "GET", target: "/bkt/?uploads&prefix=p/", op: "ListMultipartUploads", checks: []Check{{ActionList, "bkt", "p/"}}},
		{name: "GetBucketAcl", method: "GET", target: "/bkt/?acl", op: "GetBucket:acl", checks: []Check{{ActionBucketRead, "bkt", ""}}},
		{name: "GetBucketInfo", method: "GET", target: "/bkt/?bucketInfo", op: "GetBucket:bucketInfo", checks: []Check{{ActionBucketRead, "bkt", ""}}},
		{name: "GetBucketLocation", method: "GET", target: "/bkt/?location", op: "GetBucket:location", checks: []Check{{ActionBucketRead, "bkt", ""}}},
		{name: "PutBucketAcl", method: "PUT", target: "/bkt/?acl", op: "PutBucket:acl", checks: []Check{{ActionBucketWrite, "bkt", ""}, {ActionACL, "bkt", ""}}},
		{name: "PutBucketAcl by x-oss-acl", method: "PUT", target: "/bkt/?acl", header: hdr{"X-Oss-Acl": "public-read"}, op: "PutBucket:acl", checks: []Check{{ActionBucketWrite, "bkt", ""}, {ActionACL, "bkt", ""}}},
		{name: "PutBucket with x-oss-acl", method: "PUT", target: "/bkt/", header: hdr{"X-Oss-Acl": "public-read-write"}, op: "PutBucket", checks: []Check{{ActionBucketWrite, "bkt", ""}, {ActionACL, "bkt", ""}}},
		{name: "ListBuckets with x-oss-acl", method: "GET", target: "/", header: hdr{"X-Oss-Acl": "private"}, op: "ListBuckets", checks: []Check{{ActionServiceList, "", ""}, {ActionACL, "", ""}}},
		{name: "DeleteBucketCors", method: "DELETE", target: "/bkt/?cors", op: "PutBucket:cors", checks: []Check{{ActionBucketWrite, "bkt", ""}}},
		{name: "PutBucket", method: "PUT", target: "/bkt/", op: "PutBucket", checks: []Check{{ActionBucketWrite, "bkt", ""}}},
		{name: "DeleteBucket", method: "DELETE", target: "/bkt/", op: "DeleteBucket", checks: []Check{{ActionBucketWrite, "bkt", ""}}},
		{name: "PostObject denied", method: "POST", target: "/bkt/", wantErr: ErrUnsupported},
		{name: "unknown bucket sub-resource", method: "GET", target: "/bkt/?metaQuery", wantErr: ErrUnsupported},
		{name: "bucket method", method: "PATCH", target: "/bkt/?acl", wantErr: ErrMethodNotAllowed},
		{name: "two sub-resources", method: "GET", target: "/bkt/?acl&cors", wantErr: ErrInvalidArgument},
		{name: "list prefix with NUL refused by router", method: "GET", target: "/bkt/?prefix=a%01", wantErr: ErrInvalidURI},

		// Objects.
		{name: "GetObject", method: "GET", target: "/bkt/a/b", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a/b"}}},
		{name: "GetObject response headers", method: "GET", target: "/bkt/a?response-content-type=text/plain&versionId=v1", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "GetObject image process", method: "GET", target: "/bkt/a.jpg?x-oss-process=image/resize,w_100", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a.jpg"}}},
		{name: "process saveas denied", method: "POST", target: "/bkt/a.jpg?x-oss-process", wantErr: ErrUnsupported},
		{name: "HeadObject", method: "HEAD", target: "/bkt/a", op: "HeadObject", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "GetObjectMeta", method: "HEAD", target: "/bkt/a?objectMeta", op: "GetObjectMeta", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "PutObject", method: "PUT", target: "/bkt/a", op: "PutObject", checks: []Check{{ActionWrite, "bkt", "a"}}},
		{name: "PutObject chunked", method: "PUT", target: "/bkt/a", chunked: true, op: "PutObject", checks: []Check{{ActionWrite, "bkt", "a"}}},
		{name: "DeleteObject", method: "DELETE", target: "/bkt/a?versionId=1", op: "DeleteObject", checks: []Check{{ActionDelete, "bkt", "a"}}},
		{name: "AppendObject", method: "POST", target: "/bkt/log?append&position=0", op: "AppendObject", checks: []Check{{ActionWrite, "bkt", "log"}}},
		{name: "AppendObject chunked", method: "POST", target: "/bkt/log?append&position=0", chunked: true, op: "AppendObject", checks: []Check{{ActionWrite, "bkt", "log"}}},
		{name: "InitiateMultipartUpload", method: "POST", target: "/bkt/big?uploads", op: "InitiateMultipartUpload", checks: []Check{{ActionWrite, "bkt", "big"}}},
		{name: "UploadPart", method: "PUT", target: "/bkt/big?partNumber=1&uploadId=u", op: "UploadPart", checks: []Check{{ActionWrite, "bkt", "big"}}},
		{name: "UploadPart without number", method: "PUT", target: "/bkt/big?uploadId=u", wantErr: ErrInvalidArgument},
		{name: "CompleteMultipartUpload", method: "POST", target: "/bkt/big?uploadId=u&encoding-type=url", op: "CompleteMultipartUpload", checks: []Check{{ActionWrite, "bkt", "big"}}},
		{name: "Complete chunked is buffered", method: "POST", target: "/bkt/big?uploadId=u", chunked: true, op: "CompleteMultipartUpload", checks: []Check{{ActionWrite, "bkt", "big"}}},
		{name: "Complete chunked too large", method: "POST", target: "/bkt/big?uploadId=u", chunked: true, header: hdr{"Test-Body-Size": "big"}, wantErr: ErrMissingContentLength},
		{name: "AbortMultipartUpload", method: "DELETE", target: "/bkt/big?uploadId=u", op: "AbortMultipartUpload", checks: []Check{{ActionWrite, "bkt", "big"}}},
		{name: "uploadId with uploads", method: "POST", target: "/bkt/big?uploads&uploadId=u", wantErr: ErrInvalidArgument},
		{name: "uploadId with append", method: "POST", target: "/bkt/big?append&position=0&uploadId=u", wantErr: ErrInvalidArgument},
		{name: "ListParts", method: "GET", target: "/bkt/big?uploadId=u&max-parts=10", op: "ListParts", checks: []Check{{ActionList, "bkt", "big"}}},
		{name: "GetObjectAcl", method: "GET", target: "/bkt/a?acl", op: "GetObjectAcl", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "PutObjectAcl", method: "PUT", target: "/bkt/a?acl", op: "PutObjectAcl", checks: []Check{{ActionWrite, "bkt", "a"}, {ActionACL, "bkt", "a"}}},
		{name: "PutObjectAcl with header", method: "PUT", target: "/bkt/a?acl", header: hdr{"X-Oss-Object-Acl": "public-read"}, op: "PutObjectAcl", checks: []Check{{ActionWrite, "bkt", "a"}, {ActionACL, "bkt", "a"}}},
		{name: "PutObject with x-oss-object-acl", method: "PUT", target: "/bkt/a", header: hdr{"X-Oss-Object-Acl": "public-read"}, op: "PutObject", checks: []Check{{ActionWrite, "bkt", "a"}, {ActionACL, "bkt", "a"}}},
		{name: "PutObject with an empty x-oss-object-acl", method: "PUT", target: "/bkt/a", header: hdr{"X-Oss-Object-Acl": ""}, op: "PutObject", checks: []Check{{ActionWrite, "bkt", "a"}, {ActionACL, "bkt", "a"}}},
		{name: "PutObject with x-oss-acl", method: "PUT", target: "/bkt/a", header: hdr{"X-Oss-Acl": "public-read"}, op: "PutObject", checks: []Check{{ActionWrite, "bkt", "a"}, {ActionACL, "bkt", "a"}}},
		{name: "InitiateMultipartUpload with x-oss-object-acl", method: "POST", target: "/bkt/big?uploads", header: hdr{"X-Oss-Object-Acl": "public-read"}, op: "InitiateMultipartUpload", checks: []Check{{ActionWrite, "bkt", "big"}, {ActionACL, "bkt", "big"}}},
		{name: "AppendObject with x-oss-object-acl", method: "POST", target: "/bkt/log?append&position=0", header: hdr{"X-Oss-Object-Acl": "public-read"}, op: "AppendObject", checks: []Check{{ActionWrite, "bkt", "log"}, {ActionACL, "bkt", "log"}}},
		{name: "PutSymlink with x-oss-object-acl", method: "PUT", target: "/bkt/link?symlink", header: hdr{"X-Oss-Symlink-Target": "t", "X-Oss-Object-Acl": "public-read"}, op: "PutSymlink",
			checks: []Check{{ActionWrite, "bkt", "link"}, {ActionRead, "bkt", "t"}, {ActionACL, "bkt", "link"}}},
		{name: "GetObjectTagging", method: "GET", target: "/bkt/a?tagging", op: "GetObjectTagging", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "PutObjectTagging", method: "PUT", target: "/bkt/a?tagging", op: "PutObjectTagging", checks: []Check{{ActionWrite, "bkt", "a"}}},
		{name: "DeleteObjectTagging", method: "DELETE", target: "/bkt/a?tagging", op: "DeleteObjectTagging", checks: []Check{{ActionDelete, "bkt", "a"}}},
		{name: "RestoreObject", method: "POST", target: "/bkt/a?restore", op: "RestoreObject", checks: []Check{{ActionWrite, "bkt", "a"}}},
		{name: "GetSymlink", method: "GET", target: "/bkt/link?symlink", op: "GetSymlink", checks: []Check{{ActionRead, "bkt", "link"}}},
		{name: "PutSymlink reads its target", method: "PUT", target: "/bkt/link?symlink", header: hdr{"X-Oss-Symlink-Target": "private/x"}, op: "PutSymlink",
			checks: []Check{{ActionWrite, "bkt", "link"}, {ActionRead, "bkt", "private/x"}}},
		{name: "PutSymlink dotdot target", method: "PUT", target: "/bkt/link?symlink", header: hdr{"X-Oss-Symlink-Target": "a/../b"}, wantErr: ErrInvalidURI},
		{name: "PutSymlink encoded target", method: "PUT", target: "/bkt/link?symlink", header: hdr{"X-Oss-Symlink-Target": "a%2Fb"}, wantErr: ErrInvalidArgument},
		{name: "PutSymlink no target", method: "PUT", target: "/bkt/link?symlink", wantErr: ErrInvalidArgument},
		{name: "unknown object sub-resource", method: "GET", target: "/bkt/a?torrent", wantErr: ErrUnsupported},
		{name: "case matters", method: "GET", target: "/bkt/a?ACL", wantErr: ErrUnsupported},
		{name: "POST object", method: "POST", target: "/bkt/a", wantErr: ErrUnsupported},
		{name: "OPTIONS object", method: "OPTIONS", target: "/bkt/a", wantErr: ErrUnsupported},
		{name: "CopyObject chunked empty body", method: "PUT", target: "/bkt/dst", chunked: true, header: hdr{"X-Oss-Copy-Source": "/bkt/src"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "bkt", "src"}}, copySource: "/bkt/src"},
		{name: "presign params ignored", method: "GET", target: "/bkt/a?OSSAccessKeyId=AK&Expires=1&Signature=s", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "V4 presign params ignored", method: "GET", target: "/bkt/a?x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=c&x-oss-date=d&x-oss-expires=60&x-oss-signature=s", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a"}}},
		{name: "caller token param ignored", method: "GET", target: "/bkt/a?access_token=t", op: "GetObject", checks: []Check{{ActionRead, "bkt", "a"}}},

		// Copy.
		{name: "CopyObject", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/other/src%20file"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "other", "src file"}}, copySource: "/other/src%20file"},
		{name: "CopyObject canonical re-encoding", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/a%2fb%7e"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "bkt", "a/b~"}}, copySource: "/bkt/a/b~"},
		{name: "CopyObject with x-oss-object-acl", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/src", "X-Oss-Object-Acl": "public-read-write"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "bkt", "src"}, {ActionACL, "bkt", "dst"}}, copySource: "/bkt/src"},
		{name: "CopyObject version", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/src?versionId=CAEQ"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "bkt", "src"}}, copySource: "/bkt/src?versionId=CAEQ"},
		{name: "UploadPartCopy", method: "PUT", target: "/bkt/big?partNumber=2&uploadId=u", header: hdr{"X-Oss-Copy-Source": "/bkt/src", "X-Oss-Copy-Source-Range": "bytes=0-9"}, op: "UploadPartCopy",
			checks: []Check{{ActionWrite, "bkt", "big"}, {ActionRead, "bkt", "src"}}, copySource: "/bkt/src"},
		{name: "copy source dotdot", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/public/%2e%2e/private"}, wantErr: ErrInvalidURI},
		{name: "copy source unlisted bucket", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/secret/x"}, wantErr: ErrDenied},
		{name: "copy source bad escape", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/a%zz"}, wantErr: ErrInvalidURI},
		{name: "copy source plus is a space (legacy SDK)", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/a+b%2Bc"}, op: "CopyObject",
			checks: []Check{{ActionWrite, "bkt", "dst"}, {ActionRead, "bkt", "a b+c"}}, copySource: "/bkt/a%20b%2Bc"},
		{name: "copy source extra param", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/a?acl"}, wantErr: ErrInvalidArgument},
		{name: "copy source no key", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/"}, wantErr: ErrInvalidObjectName},
		{name: "copy source relative", method: "PUT", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "bkt/src"}, wantErr: ErrInvalidURI},
		{name: "copy source on GET", method: "GET", target: "/bkt/dst", header: hdr{"X-Oss-Copy-Source": "/bkt/src"}, wantErr: ErrInvalidArgument},
		{name: "empty copy source on append", method: "POST", target: "/bkt/dst?append&position=0", header: hdr{"X-Oss-Copy-Source": ""}, wantErr: ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, tc.method, "proxy.local", tc.target)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if tc.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader("data"))
				if tc.header["Test-Body-Size"] == "big" {
					r.Body = io.NopCloser(io.LimitReader(zeros{}, MaxBufferedBody+1))
				}
			}
			op, err := classifyRequest(c, rt, r, []string{"access_token"})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if streamingOps[op.Name] == (op.Body != nil) && tc.chunked {
				t.Errorf("%s chunked: buffered %v", op.Name, op.Body != nil)
			}
			if op.Name != tc.op || !reflect.DeepEqual(op.Checks, tc.checks) || op.CopySource != tc.copySource {
				t.Errorf("got %s %v copy %q, want %s %v copy %q", op.Name, op.Checks, op.CopySource, tc.op, tc.checks, tc.copySource)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestClassifyCopySourceAfterEmpty: a copy source hidden behind an empty
// first value is seen, not forwarded unchecked.
func TestClassifyCopySourceAfterEmpty(t *testing.T) {
	rt, err := NewRouter(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rawRequest(t, "POST", "proxy.local", "/bkt/dst?append&position=0")
	r.Header["X-Oss-Copy-Source"] = []string{"", "/bkt/secret"}
	if _, err := classifyRequest(NewClassifier(rt), rt, r, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("error = %v, want %v", err, ErrInvalidArgument)
	}
}

func classifyRequest(c *Classifier, rt *Router, r *http.Request, ignore []string) (*Operation, error) {
	rte, err := rt.Route(r)
	if err != nil {
		return nil, err
	}
	return c.Classify(r, rte, ignore)
}

func deleteBody(keys ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>`)
	for _, k := range keys {
		fmt.Fprintf(&b, "<Object><Key>%s</Key></Object>", k)
	}
	b.WriteString("</Delete>")
	return b.String()
}

func TestClassifyDeleteMultiple(t *testing.T) {
	rt, err := NewRouter(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rt)
	many := make([]string, MaxDeleteKeys+1)
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	tests := []struct {
		name    string
		body    string
		chunked bool
		wantErr error
		keys    []string
	}{
		{name: "two keys", body: deleteBody("a/1", "b/2"), keys: []string{"a/1", "b/2"}},
		{name: "escaped key", body: deleteBody("a&amp;b &lt;c&gt;"), keys: []string{"a&b <c>"}},
		{name: "chunked", body: deleteBody("a"), chunked: true, keys: []string{"a"}},
		{name: "version", body: `<Delete><Object><Key>a</Key><VersionId>v</VersionId></Object></Delete>`, keys: []string{"a"}},
		{name: "1000 keys", body: deleteBody(many[:MaxDeleteKeys]...), keys: many[:MaxDeleteKeys]},
		{name: "1001 keys", body: deleteBody(many...), wantErr: ErrMalformedXML},
		{name: "no keys", body: `<Delete></Delete>`, wantErr: ErrMalformedXML},
		{name: "two Key elements", body: `<Delete><Object><Key>public/a</Key><Key>private/b</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "empty key", body: `<Delete><Object><Key></Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "dotdot key", body: deleteBody("public/../private"), wantErr: ErrInvalidURI},
		{name: "percent key is ambiguous", body: deleteBody("alice/%2E%2E/bob"), wantErr: ErrInvalidArgument},
		{name: "plus key checked both ways", body: deleteBody("a+b"), keys: []string{"a+b", "a b"}},
		{name: "trailing document", body: deleteBody("a") + `<Delete><Object><Key>b</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "comment inside a key", body: `<Delete><Object><Key>public/<!-- -->secret</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "element inside a key", body: `<Delete><Object><Key>public/<b>x</b>secret</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "CDATA key", body: `<Delete><Object><Key><![CDATA[secret]]></Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "nested Object", body: `<Delete><Object><Key>public/a</Key></Object><Objects><Object><Key>secret</Key></Object></Objects></Delete>`, wantErr: ErrMalformedXML},
		{name: "Key outside an Object", body: `<Delete><Key>secret</Key><Object><Key>public/a</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "DOCTYPE", body: `<!DOCTYPE Delete [<!ENTITY k "secret">]>` + deleteBody("a"), wantErr: ErrMalformedXML},
		{name: "processing instruction", body: `<Delete><?pi x?><Object><Key>a</Key></Object></Delete>`, wantErr: ErrMalformedXML},
		{name: "trailing comment", body: deleteBody("a") + `<!-- x -->`, wantErr: ErrMalformedXML},
		{name: "trailing text", body: deleteBody("a") + `x`, wantErr: ErrMalformedXML},
		{name: "trailing white space", body: deleteBody("a") + "\n", keys: []string{"a"}},
		{name: "wrong root", body: `<Remove><Object><Key>a</Key></Object></Remove>`, wantErr: ErrMalformedXML},
		{name: "not xml", body: `{"keys":["a"]}`, wantErr: ErrMalformedXML},
		{name: "too large", body: deleteBody(strings.Repeat("k", 1000)) + strings.Repeat(" ", MaxDeleteBodySize), wantErr: ErrEntityTooLarge},
		{name: "too large chunked", body: deleteBody("a") + strings.Repeat(" ", MaxDeleteBodySize), chunked: true, wantErr: ErrEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, http.MethodPost, "proxy.local", "/bkt/?delete&encoding-type=url")
			r.Body = io.NopCloser(strings.NewReader(tc.body))
			r.ContentLength = int64(len(tc.body))
			if tc.chunked {
				r.ContentLength = -1
			}
			op, err := classifyRequest(c, rt, r, nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if string(op.Body) != tc.body {
				t.Errorf("body not kept byte for byte")
			}
			var keys []string
			for _, ch := range op.Checks {
				if ch.Action != ActionDelete || ch.Bucket != "bkt" {
					t.Errorf("check %+v, want delete on bkt", ch)
				}
				keys = append(keys, ch.Key)
			}
			if !reflect.DeepEqual(keys, tc.keys) {
				t.Errorf("keys = %q, want %q", keys, tc.keys)
			}
		})
	}
}

func FuzzDeleteMultiple(f *testing.F) {
	f.Add(deleteBody("a", "b/c"))
	f.Add(`<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>`)
	f.Add(`<Delete><Object><Key>a&#0;</Key></Object></Delete>`)
	rt, err := NewRouter(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	c := NewClassifier(rt)
	f.Fuzz(func(t *testing.T, body string) {
		r := rawRequest(t, http.MethodPost, "proxy.local", "/bkt/?delete")
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
		op, err := classifyRequest(c, rt, r, nil)
		if err != nil {
			return
		}
		if string(op.Body) != body || len(op.Checks) == 0 || len(op.Checks) > 2*MaxDeleteKeys {
			t.Fatalf("accepted body with %d checks", len(op.Checks))
		}
		for _, ch := range op.Checks {
			if err := validateKey(ch.Key); err != nil || ch.Key == "" {
				t.Fatalf("accepted key %q: %v", ch.Key, err)
			}
		}
	})
}

func FuzzCopySource(f *testing.F) {
	for _, s := range []string{"/bkt/a", "/bkt/a%20b?versionId=1", "/bkt/%2e%2e/x", "/other/a%2Fb", "/bkt/a+b"} {
		f.Add(s)
	}
	rt, err := NewRouter(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	c := NewClassifier(rt)
	f.Fuzz(func(t *testing.T, v string) {
		chk, canon, err := c.copySource(v)
		if err != nil {
			return
		}
		if err := validateKey(chk.Key); err != nil || chk.Key == "" {
			t.Fatalf("accepted source key %q from %q", chk.Key, v)
		}
		// The canonical value forwarded must parse back to the same check.
		chk2, canon2, err := c.copySource(canon)
		if err != nil || chk2 != chk || canon2 != canon {
			t.Fatalf("canonical %q re-parses to %+v %q %v, want %+v", canon, chk2, canon2, err, chk)
		}
	})
}
