package vend_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/vend"
)

func ExampleService_Presign() {
	pol, _ := auth.NewPolicy([]auth.Rule{{
		Subjects: []string{"alice"}, Buckets: []string{"photos"},
		Prefixes: []string{"users/${sub}/"}, Actions: []auth.Action{auth.ActionRead, auth.ActionWrite},
	}})
	svc, err := vend.New(vend.Options{
		Buckets:     []vend.Bucket{{Name: "photos", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com"}},
		Policy:      pol,
		Credentials: credentials.NewStatic("LTAI5tExample", "example-secret", ""),
		MaxExpiry:   time.Hour,
		Now:         func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	alice := &auth.Principal{Name: "alice", Mode: auth.ModeJWT, Subject: "alice"}
	res, err := svc.Presign(context.Background(), alice, vend.PresignRequest{
		Bucket: "photos", Key: "users/alice/cat.jpg", Method: "PUT", Expires: vend.Expiry(2 * time.Hour),
		Headers: map[string]string{"Content-Type": "image/jpeg"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.URL)
	fmt.Println(res.HeadersToSend, res.ExpiresIn, res.CappedReason)

	_, err = svc.Presign(context.Background(), alice, vend.PresignRequest{Bucket: "photos", Key: "users/bob/cat.jpg"})
	fmt.Println(vend.StatusCode(err), vend.ErrorCode(err))
	// Output:
	// https://photos.oss-cn-hangzhou.aliyuncs.com/users/alice/cat.jpg?x-oss-credential=LTAI5tExample%2F20261127%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20261127T120000Z&x-oss-expires=3600&x-oss-signature=a9738169d44f9243cf5108f4a0c6707e1df99aa413eb888bad1f31d1016811ca&x-oss-signature-version=OSS4-HMAC-SHA256
	// map[Content-Type:image/jpeg] 3600 capped at the configured maximum of 1h0m0s
	// 403 AccessDenied
}

func ExampleSessionPolicy() {
	grants := []auth.Grant{
		{Bucket: "photos", Prefix: "users/alice/", Actions: auth.ActionRead | auth.ActionList},
		{Bucket: "photos", Prefix: "users/alice/inbox/", Actions: auth.ActionRead}, // covered: dropped
	}
	pol, err := vend.SessionPolicy(grants)
	if err != nil {
		panic(err)
	}
	fmt.Println(pol)
	// Output:
	// {"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:ListParts"],"Resource":"acs:oss:*:*:photos/users/alice/*"},{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:photos","Condition":{"StringLike":{"oss:Prefix":"users/alice/*"}}}]}
}
