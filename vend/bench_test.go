package vend_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/signer"
	"github.com/ossproxy/ossproxy/vend"
)

func BenchmarkPresign(b *testing.B) {
	pol, err := auth.NewPolicy([]auth.Rule{{Subjects: []string{"alice"}, Buckets: []string{"bkt"},
		Prefixes: []string{"users/${sub}/"}, Actions: []auth.Action{auth.ActionRead}}})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := vend.New(vend.Options{
		Buckets:     []vend.Bucket{{Name: "bkt", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}},
		Policy:      pol,
		Credentials: credentials.NewStatic("LTAI5tBench", "bench-secret", "CAISbenchtoken"),
	})
	if err != nil {
		b.Fatal(err)
	}
	p := &auth.Principal{Name: "alice", Mode: auth.ModeJWT, Subject: "alice"}
	in := vend.PresignRequest{Bucket: "bkt", Key: "users/alice/photos/2026/cat.jpg", Expires: vend.Expiry(10 * time.Minute)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Presign(ctx, p, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionPolicy(b *testing.B) {
	var grants []auth.Grant
	for i := range 10 {
		grants = append(grants, auth.Grant{Bucket: "bkt", Prefix: fmt.Sprintf("projects/p%02d/", i), Actions: auth.ActionRead | auth.ActionList})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vend.SessionPolicy(grants); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePresignRequest(b *testing.B) {
	body := []byte(`{"bucket":"bkt","key":"users/alice/cat.jpg","method":"PUT","expires":"10m","headers":{"content-type":"image/jpeg"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vend.DecodePresignRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCredentialsCached is one STS vend answered from the scoped
// cache: grants, narrowing, policy generation and the LRU lookup.
func BenchmarkCredentialsCached(b *testing.B) {
	pol, err := auth.NewPolicy([]auth.Rule{{Subjects: []string{"alice"}, Buckets: []string{"bkt"},
		Prefixes: []string{"users/${sub}/", "shared/"}, Actions: []auth.Action{auth.ActionRead, auth.ActionList, auth.ActionWrite}}})
	if err != nil {
		b.Fatal(err)
	}
	calls := 0
	svc, err := vend.New(vend.Options{
		Buckets: []vend.Bucket{{Name: "bkt", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}},
		Policy:  pol,
		STS: &vend.STSOptions{RoleARN: "acs:ram::1:role/vend", Base: credentials.NewStatic("LTAI5tBase", "base-secret", ""),
			Client: credentials.RoleAssumerFunc(func(_ context.Context, _ credentials.Credentials, in credentials.AssumeRoleInput) (credentials.Credentials, error) {
				calls++
				return credentials.Credentials{Expires: time.Now().Add(in.Duration), Credentials: signer.Credentials{
					AccessKeyID: "STS.bench", AccessKeySecret: "s", SecurityToken: "t"}}, nil
			})},
	})
	if err != nil {
		b.Fatal(err)
	}
	p := &auth.Principal{Name: "alice", Mode: auth.ModeJWT, Subject: "alice"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Credentials(ctx, p, vend.STSRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	if calls != 1 {
		b.Fatalf("%d STS calls, want 1", calls)
	}
}
