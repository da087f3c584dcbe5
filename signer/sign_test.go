package signer

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestSignMutationRules checks what Sign overwrites, adds and deletes, and
// that Presign leaves the request alone.
func TestSignMutationRules(t *testing.T) {
	stale := func() *http.Request {
		u, _ := url.Parse("http://bkt.oss-cn-hangzhou.aliyuncs.com/k?acl")
		return &http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{
			"Authorization":        {"OSS stale:sig"},
			"Date":                 {"Mon, 01 Jan 2001 00:00:00 GMT"},
			"X-Oss-Date":           {"20010101T000000Z"},
			"X-Oss-Content-Sha256": {"abc"},
			"X-Oss-Security-Token": {"stale-token"},
			"X-Oss-Meta-Keep":      {"kept"},
		}}
	}
	ak := Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}
	sts := Credentials{AccessKeyID: "STS.ak", AccessKeySecret: "sk", SecurityToken: "fresh-token"}
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	signers := map[string]func(*http.Request, Credentials) error{
		"v4": func(r *http.Request, c Credentials) error {
			return (&V4{Region: "cn-hangzhou"}).Sign(r, c, "bkt", "k", now)
		},
		"v1": func(r *http.Request, c Credentials) error { return V1{}.Sign(r, c, "bkt", "k", now) },
	}
	for name, sign := range signers {
		for _, cred := range []Credentials{ak, sts} {
			r := stale()
			if err := sign(r, cred); err != nil {
				t.Fatal(err)
			}
			h := r.Header
			want := map[string]string{
				"Date":                 "Mon, 06 May 2024 07:08:09 GMT",
				"X-Oss-Security-Token": cred.SecurityToken,
				"X-Oss-Meta-Keep":      "kept",
			}
			if name == "v4" {
				want["X-Oss-Date"] = "20240506T070809Z"
				want["X-Oss-Content-Sha256"] = UnsignedPayload
			} else {
				want["X-Oss-Date"] = "20010101T000000Z" // V1 does not own x-oss-date
				want["X-Oss-Content-Sha256"] = "abc"
			}
			for k, v := range want {
				if got := h.Values(k); (v == "" && len(got) != 0) || (v != "" && (len(got) != 1 || got[0] != v)) {
					t.Errorf("%s token=%t: %s = %q, want %q", name, cred.HasToken(), k, got, v)
				}
			}
			if a := h.Values("Authorization"); len(a) != 1 || a[0] == "OSS stale:sig" {
				t.Errorf("%s: Authorization = %q", name, a)
			}
		}
	}

	// Presign mutates nothing.
	for name, presign := range map[string]func(*http.Request) (string, error){
		"v4": func(r *http.Request) (string, error) {
			return (&V4{Region: "cn-hangzhou"}).Presign(r, sts, "bkt", "k", now, time.Minute)
		},
		"v1": func(r *http.Request) (string, error) { return V1{}.Presign(r, sts, "bkt", "k", now, time.Minute) },
	} {
		r, before := stale(), stale()
		if _, err := presign(r); err != nil {
			t.Fatal(err)
		}
		if r.URL.String() != before.URL.String() || len(r.Header) != len(before.Header) {
			t.Errorf("%s Presign changed the request", name)
		}
		for k, v := range before.Header {
			if r.Header.Get(k) != v[0] {
				t.Errorf("%s Presign changed %s", name, k)
			}
		}
	}
}

func TestSignInputErrors(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://h/k", nil)
	cred := Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}
	now := time.Now()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"v4 nil request", (&V4{Region: "r"}).Sign(nil, cred, "b", "k", now), ErrNilRequest},
		{"v1 nil request", V1{}.Sign(nil, cred, "b", "k", now), ErrNilRequest},
		{"v4 no secret", (&V4{Region: "r"}).Sign(r, Credentials{AccessKeyID: "ak"}, "b", "k", now), ErrMissingCredentials},
		{"v1 no id", V1{}.Sign(r, Credentials{AccessKeySecret: "sk"}, "b", "k", now), ErrMissingCredentials},
		{"v4 no region", (&V4{}).Sign(r, cred, "b", "k", now), ErrMissingRegion},
		{"v4 presign no region", second((&V4{}).Presign(r, cred, "b", "k", now, time.Minute)), ErrMissingRegion},
		{"v1 presign nil", second(V1{}.Presign(nil, cred, "b", "k", now, time.Minute)), ErrNilRequest},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if _, err := (&Verifier{}).Verify(t.Context(), nil, "b", "k", now); Code(err) != CodeInvalidArgument {
		t.Errorf("Verify(nil) = %v", err)
	}
	// A nil header map is allocated.
	r2 := &http.Request{Method: "GET", URL: &url.URL{Path: "/"}}
	if err := (&V4{Region: "r"}).Sign(r2, cred, "", "", now); err != nil || r2.Header.Get("Authorization") == "" {
		t.Errorf("Sign with nil Header: %v", err)
	}
}

func second(_ string, err error) error { return err }
