package auth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	e := extractor{header: "X-Auth-Token", param: "access_token", maxToken: 64}
	tests := []struct {
		name    string
		headers map[string][]string
		query   string
		kind    credentialKind
		tok     string
		carrier Carrier
		err     error
	}{
		{name: "nothing", kind: credNone},
		{name: "bearer", headers: map[string][]string{"Authorization": {"Bearer a.b.c"}}, kind: credBearer, tok: "a.b.c", carrier: Carrier{Headers: []string{"Authorization"}}},
		{name: "bearer lower-case scheme", headers: map[string][]string{"Authorization": {"bearer  a.b.c "}}, kind: credBearer, tok: "a.b.c", carrier: Carrier{Headers: []string{"Authorization"}}},
		{name: "custom header raw", headers: map[string][]string{"X-Auth-Token": {"a.b.c"}}, kind: credBearer, tok: "a.b.c", carrier: Carrier{Headers: []string{"X-Auth-Token"}}},
		{name: "custom header bearer", headers: map[string][]string{"X-Auth-Token": {"Bearer a.b.c"}}, kind: credBearer, tok: "a.b.c", carrier: Carrier{Headers: []string{"X-Auth-Token"}}},
		{name: "query", query: "access_token=a.b.c&prefix=x", kind: credBearer, tok: "a.b.c", carrier: Carrier{QueryParams: []string{"access_token"}}},
		{name: "same token twice", headers: map[string][]string{"Authorization": {"Bearer a.b.c"}}, query: "access_token=a.b.c", kind: credBearer, tok: "a.b.c", carrier: Carrier{Headers: []string{"Authorization"}, QueryParams: []string{"access_token"}}},
		{name: "two different tokens", headers: map[string][]string{"Authorization": {"Bearer a.b.c"}}, query: "access_token=d.e.f", err: ErrTokenMalformed},
		{name: "two authorization headers", headers: map[string][]string{"Authorization": {"Bearer a.b.c", "Bearer a.b.c"}}, err: ErrTokenMalformed},
		{name: "repeated query param", query: "access_token=a.b.c&access_token=a.b.c", err: ErrTokenMalformed},
		{name: "empty bearer", headers: map[string][]string{"Authorization": {"Bearer "}}, err: ErrTokenMalformed},
		{name: "empty query token", query: "access_token=", err: ErrTokenMalformed},
		{name: "basic auth", headers: map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, err: ErrTokenMalformed},
		{name: "oversized header", headers: map[string][]string{"Authorization": {"Bearer " + strings.Repeat("a", 65)}}, err: ErrTokenTooLarge},
		{name: "oversized query", query: "access_token=" + strings.Repeat("a", 65), err: ErrTokenTooLarge},
		{name: "oss v1 header", headers: map[string][]string{"Authorization": {"OSS AK:sig"}}, kind: credSignature, carrier: Carrier{Headers: []string{"Authorization"}}},
		{name: "oss v4 header", headers: map[string][]string{"Authorization": {"OSS4-HMAC-SHA256 Credential=AK/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=ab"}}, kind: credSignature, carrier: Carrier{Headers: []string{"Authorization"}}},
		{name: "presigned v1", query: "OSSAccessKeyId=AK&Expires=1&Signature=x", kind: credSignature, carrier: Carrier{QueryParams: presignParams(false)}},
		{name: "token and v1 signature header", headers: map[string][]string{"Authorization": {"OSS AK:sig"}}, query: "access_token=a.b.c", err: ErrTokenMalformed},
		{name: "token header and presign", headers: map[string][]string{"X-Auth-Token": {"a.b.c"}}, query: "OSSAccessKeyId=AK&Expires=1&Signature=x", err: ErrTokenMalformed},
		{name: "bearer and presign v4", headers: map[string][]string{"Authorization": {"Bearer a.b.c"}}, query: "x-oss-credential=AK&x-oss-signature=ab", err: ErrTokenMalformed},
		{name: "presigned v4", query: "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=AK&x-oss-signature=ab", kind: credSignature, carrier: Carrier{QueryParams: presignParams(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			kind, tok, carrier, err := e.extract(http.Header(tt.headers), q)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || kind != tt.kind || tok != tt.tok || !slices.Equal(carrier.Headers, tt.carrier.Headers) || !slices.Equal(carrier.QueryParams, tt.carrier.QueryParams) {
				t.Fatalf("extract = %v, %q, %+v, %v; want %v, %q, %+v", kind, tok, carrier, err, tt.kind, tt.tok, tt.carrier)
			}
		})
	}
}

func TestCarrierStrip(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer x"}, "X-Auth-Token": {"x"}, "X-Other": {"keep"}}
	q := url.Values{"access_token": {"x"}, "prefix": {"p/"}}
	Carrier{Headers: []string{"Authorization", "X-Auth-Token"}, QueryParams: []string{"access_token"}}.Strip(h, q)
	if len(h) != 1 || h.Get("X-Other") != "keep" || len(q) != 1 || q.Get("prefix") != "p/" {
		t.Fatalf("after Strip: %v %v", h, q)
	}
	Carrier{Headers: []string{"X"}}.Strip(nil, nil) // nil is allowed
}

// FuzzExtract feeds arbitrary header and query values to the credential
// extractor: it must not panic, must respect the size limit, and a token
// it returns must be one of the inputs, trimmed.
func FuzzExtract(f *testing.F) {
	f.Add("Bearer a.b.c", "", "access_token=a.b.c")
	f.Add("OSS AK:sig", "x", "")
	f.Add("", "Bearer  t ", "OSSAccessKeyId=a&Signature=b")
	f.Add("bearer", "", "access_token=%zz")
	f.Fuzz(func(t *testing.T, authz, custom, rawQuery string) {
		e := extractor{header: "X-Auth-Token", param: "access_token", maxToken: 32}
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if custom != "" {
			h.Set("X-Auth-Token", custom)
		}
		q, _ := url.ParseQuery(rawQuery)
		kind, tok, carrier, err := e.extract(h, q)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) || ae.Status() != http.StatusUnauthorized {
				t.Fatalf("error %v is not a 401 *Error", err)
			}
			return
		}
		switch kind {
		case credBearer:
			if tok == "" || len(tok) > e.maxToken {
				t.Fatalf("token %q violates limits", tok)
			}
			if !strings.Contains(authz, tok) && !strings.Contains(custom, tok) && !slices.Contains(q["access_token"], tok) {
				t.Fatalf("token %q not from the inputs", tok)
			}
			if len(carrier.Headers)+len(carrier.QueryParams) == 0 {
				t.Fatal("bearer without carrier")
			}
		case credSignature:
			if tok != "" || len(carrier.Headers)+len(carrier.QueryParams) == 0 {
				t.Fatalf("signature with token %q, carrier %+v", tok, carrier)
			}
			if q.Has("access_token") || len(h.Values("X-Auth-Token")) > 0 {
				t.Fatal("signature accepted alongside a token")
			}
		case credNone:
			if tok != "" {
				t.Fatalf("kind %v with token", kind)
			}
		default:
			t.Fatalf("kind %v", kind)
		}
	})
}
