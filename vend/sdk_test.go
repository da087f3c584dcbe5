package vend_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/vend"
)

// allowAll grants everything; the cross-check is about signatures.
type allowAll struct{}

func (allowAll) Authorize(*auth.Principal, auth.Action, string, string) error { return nil }
func (allowAll) Grants(*auth.Principal) []auth.Grant                          { return nil }

// TestPresignMatchesSDK compares the Service's URLs with the official
// SDK-v2's Presign for the same inputs at the same instant (time.Now is
// the bubble's fake clock, which the SDK reads too): byte for byte, in V4
// and V1, virtual-host and path style, with and without a security token.
func TestPresignMatchesSDK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const key = "dir/a b+c~(1)&x=y ü.txt"
		for _, token := range []string{"", "CAIStoken0123456789"} {
			for _, style := range []vend.AddressingStyle{vend.VirtualHosted, vend.PathStyle} {
				for _, v := range []oss.SignatureVersionType{oss.SignatureVersionV4, oss.SignatureVersionV1} {
					creds := credentials.NewStatic("LTAI5tCrossCheck", "cross-check-secret", token)
					svc, err := vend.New(vend.Options{
						Buckets:     []vend.Bucket{{Name: "bkt", Region: "cn-hangzhou", Endpoint: "https://oss-cn-hangzhou.aliyuncs.com", Style: style}},
						Policy:      allowAll{},
						Credentials: creds,
						MaxExpiry:   7 * 24 * time.Hour,
					})
					if err != nil {
						t.Fatal(err)
					}
					client := oss.NewClient(oss.LoadDefaultConfig().WithRegion("cn-hangzhou").
						WithEndpoint("https://oss-cn-hangzhou.aliyuncs.com").WithUsePathStyle(style == vend.PathStyle).
						WithSignatureVersion(v).
						WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(creds.Value.AccessKeyID, creds.Value.AccessKeySecret, token)))
					version := "v4"
					if v == oss.SignatureVersionV1 {
						version = "v1"
					}
					cases := []struct {
						name string
						in   vend.PresignRequest
						sdk  any
					}{
						{"get", vend.PresignRequest{Bucket: "bkt", Key: key, Expires: vend.Expiry(10 * time.Minute)},
							&oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr(key)}},
						{"get with overrides", vend.PresignRequest{Bucket: "bkt", Key: key, Expires: vend.Expiry(7 * 24 * time.Hour),
							Response: map[string]string{"content-disposition": `attachment; filename="a b.txt"`, "content-type": "text/csv"}},
							&oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr(key),
								ResponseContentDisposition: oss.Ptr(`attachment; filename="a b.txt"`), ResponseContentType: oss.Ptr("text/csv")}},
						{"head", vend.PresignRequest{Bucket: "bkt", Key: key, Method: "HEAD", Expires: vend.Expiry(time.Minute)},
							&oss.HeadObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr(key)}},
						{"put with content type", vend.PresignRequest{Bucket: "bkt", Key: key, Method: "PUT", Expires: vend.Expiry(time.Hour),
							Headers: map[string]string{"Content-Type": "text/plain"}},
							&oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr(key), ContentType: oss.Ptr("text/plain")}},
					}
					for _, c := range cases {
						c.in.Version = version
						got, err := svc.Presign(context.Background(), &auth.Principal{Name: "x"}, c.in)
						if err != nil {
							t.Fatal(err)
						}
						pr, err := client.Presign(context.Background(), c.sdk, oss.PresignExpires(time.Duration(c.in.Expires)))
						if err != nil {
							t.Fatal(err)
						}
						if got.URL != pr.URL || got.Method != pr.Method || !got.ExpiresAt.Equal(pr.Expiration) {
							t.Errorf("%s %s token=%t %s:\n got %s %s %s\nwant %s %s %s", version, style, token != "", c.name,
								got.Method, got.URL, got.ExpiresAt, pr.Method, pr.URL, pr.Expiration)
						}
						for k, v := range got.HeadersToSend {
							if pr.SignedHeaders[k] != v {
								t.Errorf("%s: header %s: %q, SDK signed %q", c.name, k, v, pr.SignedHeaders[k])
							}
						}
					}
				}
			}
		}
	})
}
