package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

// FuzzPolicyAuthorize checks the policy matcher against its own Grants:
// a request is allowed exactly when a grant of the principal covers the
// bucket, the action and a prefix of the key, and the key has no dot
// segment; whatever the subject (it is expanded into a prefix template),
// an allowed object key is inside an expanded prefix.
func FuzzPolicyAuthorize(f *testing.F) {
	f.Add("alice", "home", "users/alice/a.txt", uint16(ActionRead))
	f.Add("alice", "home", "users/alice/../bob/x", uint16(ActionRead))
	f.Add("../bob", "home", "users/../bob/x", uint16(ActionWrite))
	f.Add("a/b", "home", "users/a/b/x", uint16(ActionWrite))
	f.Add("alice", "shared", "", uint16(ActionList))
	f.Add("root", "any", "", uint16(ActionBucketWrite))
	f.Add("", "", "", uint16(ActionServiceList))
	f.Add("alice", "home", "users/alice", uint16(ActionList))
	pol, err := NewPolicy([]Rule{
		{Name: "home", Issuers: []string{"https://idp"}, Buckets: []string{"home"}, Prefixes: []string{"users/${sub}/"}, Actions: []Action{ActionRead, ActionList, ActionWrite, ActionDelete}},
		{Name: "shared", Subjects: []string{"alice"}, Buckets: []string{"shared"}, Prefixes: []string{"pub/", "docs/"}, Actions: []Action{ActionRead, ActionList}},
		{Name: "root", Subjects: []string{"root"}, Buckets: []string{"*"}, Actions: []Action{ActionAll}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sub, bucket, key string, action uint16) {
		p := &Principal{Name: sub, Mode: ModeJWT, Issuer: "https://idp", Subject: sub, Claims: map[string]any{"sub": sub}}
		a := Action(action)
		err := pol.Authorize(p, a, bucket, key)
		if err != nil && !errors.Is(err, ErrDenied) {
			t.Fatalf("error %v does not wrap ErrDenied", err)
		}
		covered := false
		for _, g := range pol.Grants(p) {
			if g.Actions&a == 0 || a == 0 || a&(a-1) != 0 {
				continue
			}
			if a == ActionServiceList {
				covered = covered || (bucket == "" && key == "")
				continue
			}
			if bucket == "" || (g.Bucket != "*" && g.Bucket != bucket) {
				continue
			}
			if g.Prefix == "" {
				covered = covered || a&objectActions != 0 || key == ""
				continue
			}
			if a&objectActions != 0 && strings.HasPrefix(key, g.Prefix) && !hasDotSegment(key) {
				covered = true
			}
		}
		if (err == nil) != covered {
			t.Fatalf("Authorize(%q, %v, %q, %q) = %v, but the grants say covered=%v: %+v", sub, a, bucket, key, err, covered, pol.Grants(p))
		}
		if err == nil && bucket == "home" && sub != "root" && !strings.HasPrefix(key, "users/"+sub+"/") {
			t.Fatalf("%q may reach %q outside users/%s/", sub, key, sub)
		}
	})
}

// FuzzAccessKeyAuthenticate signs a request with a proxy-issued key (V1 or
// V4, header or presigned) for a fuzzed key and query, checks that the
// verifier accepts it as is, and that it refuses the same signature for
// another key, bucket or method, and with a fuzzed Authorization header.
func FuzzAccessKeyAuthenticate(f *testing.F) {
	f.Add("GET", "dir/a b+c~(1)&x=y.txt", "acl", "OSS4-HMAC-SHA256 Credential=AK/20250101/cn-hangzhou/oss/aliyun_v4_request,Signature=00", uint8(0))
	f.Add("PUT", "k", "uploadId=1&partNumber=2", "OSS AKIDproxy0001:c2ln", uint8(1))
	f.Add("DELETE", "日本/語", "", "", uint8(2))
	f.Add("HEAD", "%2e%2e/x", "x-oss-process=image/resize", "Bearer x", uint8(3))
	const id, secret = "AKIDproxy0001", "proxy-secret-value-0001"
	now := time.Unix(1_800_000_000, 0).UTC()
	a, err := New(context.Background(), Config{
		AccessKeys:      []AccessKey{{ID: id, Secret: Secret(secret), Principal: "app"}},
		AccessKeyRegion: "cn-hangzhou",
		CacheSize:       -1,
		Now:             func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	v4 := &signer.V4{Region: "cn-hangzhou"}
	cred := signer.Credentials{AccessKeyID: id, AccessKeySecret: secret}
	f.Fuzz(func(t *testing.T, method, key, rawQuery, authz string, mode uint8) {
		switch method {
		case "GET", "PUT", "DELETE", "HEAD", "POST":
		default:
			return
		}
		if key == "" || strings.ContainsAny(key, "\x00\r\n") || len(key) > 1024 {
			return
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		for k := range q {
			if k == "" || strings.HasPrefix(strings.ToLower(k), "x-oss-") || k == "OSSAccessKeyId" || k == "Signature" || k == "Expires" || k == "security-token" {
				return
			}
		}
		u := &url.URL{Scheme: "http", Host: "proxy.local", Path: "/bkt/" + key, RawQuery: q.Encode()}
		r, err := http.NewRequest(method, u.String(), nil)
		if err != nil {
			return
		}
		switch mode % 4 {
		case 0:
			err = v4.Sign(r, cred, "bkt", key, now)
		case 1:
			err = signer.V1{}.Sign(r, cred, "bkt", key, now)
		case 2, 3:
			var s string
			if mode%4 == 2 {
				s, err = v4.Presign(r, cred, "bkt", key, now, time.Hour)
			} else {
				s, err = signer.V1{}.Presign(r, cred, "bkt", key, now, time.Hour)
			}
			if err == nil {
				r, err = http.NewRequest(method, s, nil)
			}
		}
		if err != nil {
			return
		}
		ctx := context.Background()
		p, err := a.Authenticate(ctx, r, Target{Bucket: "bkt", Key: key})
		if err != nil {
			t.Fatalf("a correctly signed %s of %q (mode %d) was refused: %v", method, key, mode%4, err)
		}
		if p.Mode != ModeAccessKey || p.Name != "app" || p.KeyID != id {
			t.Fatalf("principal %+v", p)
		}
		for _, tgt := range []Target{{Bucket: "bkt", Key: key + "x"}, {Bucket: "bkx", Key: key}, {Bucket: "bkt", Key: "x" + key}} {
			if _, err := a.Authenticate(ctx, r, tgt); !errors.Is(err, ErrSignatureMismatch) {
				t.Fatalf("the signature for %q verified for %+v: %v", key, tgt, err)
			}
		}
		other := r.Clone(ctx)
		other.Method = map[string]string{"GET": "PUT", "PUT": "DELETE", "DELETE": "POST", "HEAD": "PUT", "POST": "GET"}[method]
		if _, err := a.Authenticate(ctx, other, Target{Bucket: "bkt", Key: key}); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("the %s signature verified for %s: %v", method, other.Method, err)
		}
		if authz != "" && mode%4 < 2 && authz != r.Header.Get("Authorization") {
			forged := r.Clone(ctx)
			forged.Header.Set("Authorization", authz)
			if p, err := a.Authenticate(ctx, forged, Target{Bucket: "bkt", Key: key}); err == nil {
				t.Fatalf("a forged Authorization %q authenticated %+v", authz, p)
			}
		}
		if _, err := a.Authenticate(ctx, other, Target{Bucket: "bkt", Key: key}); err != nil && strings.Contains(err.Error(), secret) {
			t.Fatal("the secret is in an error")
		}
	})
}
