package proxy

import (
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
)

// TestClassifyWatermark: an image watermark draws another object of the
// bucket into the response, so its key is a read check of its own.
func TestClassifyWatermark(t *testing.T) {
	rt, err := NewRouter(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rt)
	b64 := base64.URLEncoding.EncodeToString
	raw := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name    string
		process string
		reads   []string // extra read checks
		err     error
	}{
		{"no watermark", "image/resize,w_10", nil, nil},
		{"text watermark", "image/watermark,text_" + raw([]byte("hello")), nil, nil},
		{"image watermark", "image/watermark,image_" + b64([]byte("logos/a.png")), []string{"logos/a.png"}, nil},
		{"unpadded, with its own processing", "image/resize,w_10/watermark,g_se,image_" + raw([]byte("private/x?x-oss-process=image/resize,P_30")), []string{"private/x"}, nil},
		{"standard alphabet", "image/watermark,image_" + base64.RawStdEncoding.EncodeToString([]byte("a/b~~>?")), []string{"a/b~~>"}, nil},
		{"two watermarks", "image/watermark,image_" + raw([]byte("k1")) + "/watermark,IMAGE_" + raw([]byte("k2")), []string{"k1", "k2"}, nil},
		{"case of the action", "image/WaterMark,image_" + raw([]byte("k1")), []string{"k1"}, nil},
		{"undecodable", "image/watermark,image_!!!", nil, ErrInvalidArgument},
		{"empty key", "image/watermark,image_" + raw([]byte("?x-oss-process=a")), nil, ErrInvalidArgument},
		{"dot-dot key", "image/watermark,image_" + raw([]byte("a/../b")), nil, ErrInvalidURI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, "GET", "bkt.oss.local", "/obj?x-oss-process="+escapeQueryValue(tc.process))
			op, err := classifyRequest(c, rt, r, nil)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []Check{{Action: ActionRead, Bucket: "bkt", Key: "obj"}}
			for _, k := range tc.reads {
				want = append(want, Check{Action: ActionRead, Bucket: "bkt", Key: k})
			}
			if !reflect.DeepEqual(op.Checks, want) {
				t.Fatalf("checks %+v, want %+v", op.Checks, want)
			}
		})
	}
}

// FuzzWatermarkKeys: whatever the x-oss-process value, every key it is
// found to read is a valid key, and an error is one of the refusals.
func FuzzWatermarkKeys(f *testing.F) {
	f.Add("image/watermark,image_" + base64.URLEncoding.EncodeToString([]byte("a/b.png")))
	f.Add("image/resize,w_1/watermark,text_aGk,image_cHJpdmF0ZS94P3gtb3NzLXByb2Nlc3M9aW1hZ2UvcmVzaXplLFBfMzA=")
	f.Add("image/watermark,image_!!")
	f.Add("style/name")
	f.Fuzz(func(t *testing.T, process string) {
		keys, err := watermarkKeys(process)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrInvalidURI) && !errors.Is(err, ErrInvalidObjectName) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, k := range keys {
			if k == "" || validateKey(k) != nil {
				t.Fatalf("invalid key %q from %q", k, process)
			}
		}
	})
}

// TestClassifyCallbacks: an upload callback makes OSS POST to a URL the
// caller chose, so it is refused unless the bucket opts in.
func TestClassifyCallbacks(t *testing.T) {
	cfg := testConfig()
	cfg.Buckets[1].AllowCallbacks = true // "other"
	rt, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rt)
	cb := base64.URLEncoding.EncodeToString([]byte(`{"callbackUrl":"http://169.254.169.254/","callbackBody":"x"}`))
	tests := []struct {
		name, method, target string
		header               map[string]string
		err                  error
		op                   string
	}{
		{name: "header", method: "PUT", target: "/bkt/a", header: map[string]string{"X-Oss-Callback": cb}, err: ErrCallbackDenied},
		{name: "empty header", method: "PUT", target: "/bkt/a", header: map[string]string{"X-Oss-Callback": ""}, err: ErrCallbackDenied},
		{name: "callback-var header", method: "POST", target: "/bkt/a?uploadId=u", header: map[string]string{"X-Oss-Callback-Var": cb}, err: ErrCallbackDenied},
		{name: "query parameter (presigned)", method: "PUT", target: "/bkt/a?callback=" + cb, err: ErrCallbackDenied},
		{name: "callback-var query parameter", method: "PUT", target: "/bkt/a?callback-var=" + cb, err: ErrCallbackDenied},
		{name: "x-oss-callback query parameter", method: "PUT", target: "/bkt/a?x-oss-callback=" + cb, err: ErrCallbackDenied},
		{name: "on a read", method: "GET", target: "/bkt/a?callback=" + cb, err: ErrCallbackDenied},
		{name: "on ListBuckets", method: "GET", target: "/", header: map[string]string{"X-Oss-Callback": cb}, err: ErrCallbackDenied},
		{name: "opted-in bucket, header", method: "PUT", target: "/other/a", header: map[string]string{"X-Oss-Callback": cb, "X-Oss-Callback-Var": cb}, op: "PutObject"},
		{name: "opted-in bucket, query", method: "POST", target: "/other/a?uploadId=u&callback=" + cb + "&callback-var=" + cb, op: "CompleteMultipartUpload"},
		{name: "no callback", method: "PUT", target: "/bkt/a", op: "PutObject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rawRequest(t, tc.method, "proxy.local", tc.target)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			op, err := classifyRequest(c, rt, r, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && op.Name != tc.op {
				t.Fatalf("op %s, want %s", op.Name, tc.op)
			}
			if tc.err != nil && (ErrCallbackDenied.Status() != 403 || ErrCallbackDenied.Code() != "AccessDenied") {
				t.Fatalf("answer %d %s", ErrCallbackDenied.Status(), ErrCallbackDenied.Code())
			}
		})
	}
}
