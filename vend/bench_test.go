package vend_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
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
