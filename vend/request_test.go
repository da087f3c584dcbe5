package vend

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
)

func TestDecodePresignRequest(t *testing.T) {
	tests := []struct {
		name, body string
		want       PresignRequest
		errHas     string // "" means success
	}{
		{"minimal", `{"bucket":"bkt","key":"a/b.txt"}`,
			PresignRequest{Bucket: "bkt", Key: "a/b.txt", Method: "GET", Version: "v4"}, ""},
		{"seconds", `{"bucket":"bkt","key":"k","method":"put","expires":60,"version":"V1"}`,
			PresignRequest{Bucket: "bkt", Key: "k", Method: "PUT", Version: "v1", Expires: Expiry(time.Minute)}, ""},
		{"duration string", `{"bucket":"bkt","key":"k","expires":"1h30m"}`,
			PresignRequest{Bucket: "bkt", Key: "k", Method: "GET", Version: "v4", Expires: Expiry(90 * time.Minute)}, ""},
		{"seconds as a string", `{"bucket":"bkt","key":"k","expires":"600"}`,
			PresignRequest{Bucket: "bkt", Key: "k", Method: "GET", Version: "v4", Expires: Expiry(10 * time.Minute)}, ""},
		{"headers canonicalised", `{"bucket":"bkt","key":"k","method":"PUT","headers":{"content-type":"text/plain","x-oss-meta-a":" b "}}`,
			PresignRequest{Bucket: "bkt", Key: "k", Method: "PUT", Version: "v4", Headers: map[string]string{"Content-Type": "text/plain", "X-Oss-Meta-A": "b"}}, ""},
		{"response overrides", `{"bucket":"bkt","key":"k","response":{"content-disposition":"attachment","response-content-type":"text/csv"}}`,
			PresignRequest{Bucket: "bkt", Key: "k", Method: "GET", Version: "v4", Response: map[string]string{"response-content-disposition": "attachment", "response-content-type": "text/csv"}}, ""},
		{"unicode key", `{"bucket":"bkt","key":"dir/a b+c~(1)&x=y ü.txt"}`,
			PresignRequest{Bucket: "bkt", Key: "dir/a b+c~(1)&x=y ü.txt", Method: "GET", Version: "v4"}, ""},

		{"empty body", ``, PresignRequest{}, "empty body"},
		{"not an object", `[1]`, PresignRequest{}, "wrong type"},
		{"unknown field", `{"bucket":"bkt","key":"k","acl":"public-read"}`, PresignRequest{}, "unknown field"},
		{"trailing data", `{"bucket":"bkt","key":"k"} {}`, PresignRequest{}, "data after"},
		{"bad method", `{"bucket":"bkt","key":"k","method":"POST"}`, PresignRequest{}, "method"},
		{"bad version", `{"bucket":"bkt","key":"k","version":"v2"}`, PresignRequest{}, "version"},
		{"bad bucket", `{"bucket":"Bkt","key":"k"}`, PresignRequest{}, "bucket"},
		{"no key", `{"bucket":"bkt"}`, PresignRequest{}, "key is required"},
		{"long key", `{"bucket":"bkt","key":"` + strings.Repeat("k", 1024) + `"}`, PresignRequest{}, "longer"},
		{"dot segment", `{"bucket":"bkt","key":"a/../b"}`, PresignRequest{}, "segment"},
		{"leading slash", `{"bucket":"bkt","key":"/a"}`, PresignRequest{}, "leading"},
		{"control character", `{"bucket":"bkt","key":"a\nb"}`, PresignRequest{}, "invalid characters"},
		{"zero expiry", `{"bucket":"bkt","key":"k","expires":0}`, PresignRequest{}, "expires"},
		{"negative expiry", `{"bucket":"bkt","key":"k","expires":"-5m"}`, PresignRequest{}, "expires"},
		{"fractional expiry", `{"bucket":"bkt","key":"k","expires":1.5}`, PresignRequest{}, "expires"},
		{"sub-second expiry", `{"bucket":"bkt","key":"k","expires":"1500ms"}`, PresignRequest{}, "expires"},
		{"huge expiry", `{"bucket":"bkt","key":"k","expires":99999999999999999}`, PresignRequest{}, "expires"},
		{"token header", `{"bucket":"bkt","key":"k","headers":{"x-oss-security-token":"t"}}`, PresignRequest{}, "may not be presigned"},
		{"copy source header", `{"bucket":"bkt","key":"k","method":"PUT","headers":{"x-oss-copy-source":"/bkt/secret"}}`, PresignRequest{}, "may not be presigned"},
		{"other header", `{"bucket":"bkt","key":"k","headers":{"Authorization":"x"}}`, PresignRequest{}, "may not be presigned"},
		{"header twice", `{"bucket":"bkt","key":"k","headers":{"content-type":"a","Content-Type":"b"}}`, PresignRequest{}, "twice"},
		{"override on PUT", `{"bucket":"bkt","key":"k","method":"PUT","response":{"content-type":"x"}}`, PresignRequest{}, "GET or HEAD"},
		{"unknown override", `{"bucket":"bkt","key":"k","response":{"x-oss-process":"image/resize"}}`, PresignRequest{}, "unknown response override"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePresignRequest([]byte(tt.body))
			if tt.errHas != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.errHas) || StatusCode(err) != http.StatusBadRequest {
					t.Fatalf("err = %v, want ErrMalformed containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalPresign(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalPresign(a, b PresignRequest) bool {
	eq := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a.Bucket == b.Bucket && a.Key == b.Key && a.Method == b.Method && a.Version == b.Version &&
		a.Expires == b.Expires && eq(a.Headers, b.Headers) && eq(a.Response, b.Response)
}

func TestDecodeSTSRequest(t *testing.T) {
	tests := []struct {
		name, body string
		want       STSRequest
		errHas     string
	}{
		{"empty body is everything", ``, STSRequest{}, ""},
		{"empty object", `{}`, STSRequest{}, ""},
		{"full", `{"bucket":"bkt","prefix":"users/alice/","actions":["read","list"],"duration_seconds":900}`,
			STSRequest{Bucket: "bkt", Prefix: "users/alice/", Actions: Actions(rd | ls), DurationSeconds: 900}, ""},
		{"actions as a string", `{"actions":"read, write"}`, STSRequest{Actions: Actions(rd | wr)}, ""},
		{"star bucket", `{"bucket":"*"}`, STSRequest{}, ""},
		{"unknown action", `{"actions":["read","admin"]}`, STSRequest{}, "unknown action"},
		{"prefix without bucket", `{"prefix":"a/"}`, STSRequest{}, "needs a bucket"},
		{"wildcard prefix", `{"bucket":"bkt","prefix":"a*/"}`, STSRequest{}, "'*'"},
		{"short duration", `{"duration_seconds":899}`, STSRequest{}, "at least 900"},
		{"negative duration", `{"duration_seconds":-1}`, STSRequest{}, "positive"},
		{"string duration", `{"duration_seconds":"900"}`, STSRequest{}, "wrong type"},
		{"unknown field", `{"policy":"{}"}`, STSRequest{}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSTSRequest([]byte(tt.body))
			if tt.errHas != "" {
				if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want ErrMalformed containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodePresignRequest checks that any body either fails with
// ErrMalformed or yields a request that satisfies every documented
// constraint, and that validation is idempotent.
func FuzzDecodePresignRequest(f *testing.F) {
	for _, s := range []string{
		`{"bucket":"bkt","key":"a/b.txt"}`,
		`{"bucket":"bkt","key":"k","method":"put","expires":"90s","headers":{"content-type":"text/plain"}}`,
		`{"bucket":"bkt","key":"k","expires":60,"response":{"content-disposition":"attachment"},"version":"v1"}`,
		`{"bucket":"bkt","key":"a/../b"}`, `{"expires":1e9}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodePresignRequest(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		switch in.Method {
		case "GET", "PUT", "HEAD", "DELETE":
		default:
			t.Fatalf("method %q", in.Method)
		}
		if in.Version != "v4" && in.Version != "v1" {
			t.Fatalf("version %q", in.Version)
		}
		if !validBucketName(in.Bucket) || validKey(in.Key) != nil {
			t.Fatalf("invalid bucket or key accepted: %q %q", in.Bucket, in.Key)
		}
		if d := time.Duration(in.Expires); d < 0 || d%time.Second != 0 {
			t.Fatalf("expires %v", d)
		}
		for k, v := range in.Headers {
			if allowedHeader(k, v) != nil || k != http.CanonicalHeaderKey(k) {
				t.Fatalf("header %q accepted", k)
			}
		}
		for k := range in.Response {
			if !strings.HasPrefix(k, "response-") || !responseOverrides[strings.TrimPrefix(k, "response-")] {
				t.Fatalf("override %q accepted", k)
			}
		}
		again := in
		if err := again.validate(); err != nil || !equalPresign(again, in) {
			t.Fatalf("validation is not idempotent: %v", err)
		}
	})
}

// FuzzDecodeSTSRequest checks the STS body decoder the same way.
func FuzzDecodeSTSRequest(f *testing.F) {
	for _, s := range []string{
		`{"bucket":"bkt","prefix":"users/alice/","actions":["read","list"],"duration_seconds":900}`,
		`{"actions":"read,write"}`, `{"bucket":"*"}`, `{"prefix":"a"}`, ``, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := DecodeSTSRequest(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if in.Bucket != "" && !validBucketName(in.Bucket) {
			t.Fatalf("bucket %q", in.Bucket)
		}
		if in.Prefix != "" && (in.Bucket == "" || validPrefix(in.Prefix) != nil) {
			t.Fatalf("prefix %q accepted", in.Prefix)
		}
		if in.DurationSeconds != 0 && in.DurationSeconds < 900 {
			t.Fatalf("duration %d", in.DurationSeconds)
		}
		if auth.Action(in.Actions)&^auth.ActionAll != 0 {
			t.Fatalf("actions %v", in.Actions)
		}
	})
}

func TestNotConfigured(t *testing.T) {
	svc, err := New(Options{
		Buckets: []Bucket{{Name: "bkt", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}},
		Policy:  allowEverything{},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &auth.Principal{Name: "x"}
	if _, err := svc.Presign(t.Context(), p, PresignRequest{Bucket: "bkt", Key: "k"}); !errors.Is(err, ErrNotConfigured) || StatusCode(err) != http.StatusNotImplemented {
		t.Errorf("presign without credentials: %v", err)
	}
	if _, err := svc.Credentials(t.Context(), p, STSRequest{}); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("sts without a role: %v", err)
	}
	if _, err := svc.Presign(t.Context(), nil, PresignRequest{Bucket: "bkt", Key: "k"}); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("nil principal: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := Bucket{Name: "bkt", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}
	tests := []struct {
		name string
		o    Options
	}{
		{"no policy", Options{Buckets: []Bucket{ok}}},
		{"no buckets", Options{Policy: allowEverything{}}},
		{"bad bucket name", Options{Policy: allowEverything{}, Buckets: []Bucket{{Name: "B", Region: "r", Endpoint: ok.Endpoint}}}},
		{"no region", Options{Policy: allowEverything{}, Buckets: []Bucket{{Name: "bkt", Endpoint: ok.Endpoint}}}},
		{"endpoint with a path", Options{Policy: allowEverything{}, Buckets: []Bucket{{Name: "bkt", Region: "r", Endpoint: "https://h/x"}}}},
		{"bad style", Options{Policy: allowEverything{}, Buckets: []Bucket{{Name: "bkt", Region: "r", Endpoint: ok.Endpoint, Style: "odd"}}}},
		{"duplicate bucket", Options{Policy: allowEverything{}, Buckets: []Bucket{ok, ok}}},
		{"sts without a role", Options{Policy: allowEverything{}, Buckets: []Bucket{ok}, STS: &STSOptions{}}},
		{"sts duration too long", Options{Policy: allowEverything{}, Buckets: []Bucket{ok}, STS: &STSOptions{
			RoleARN: "acs:ram::1:role/r", Base: credentials.NewStatic("a", "b", ""),
			Client: credentials.RoleAssumerFunc(func(context.Context, credentials.Credentials, credentials.AssumeRoleInput) (credentials.Credentials, error) {
				return credentials.Credentials{}, nil
			}), MaxDuration: 13 * time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.o); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}

type allowEverything struct{}

func (allowEverything) Authorize(*auth.Principal, auth.Action, string, string) error { return nil }
func (allowEverything) Grants(*auth.Principal) []auth.Grant                          { return nil }
