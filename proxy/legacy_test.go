package proxy_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// TestEndToEndLegacySDK drives the legacy aliyun-oss-go-sdk (V1 and V4
// signatures with a proxy-issued key) through the proxy, including a copy
// whose source key it query-escapes (a space sent as '+'), a denied copy
// source and a delete-multiple.
func TestEndToEndLegacySDK(t *testing.T) {
	e := newEnv(t)
	for _, v := range []v1oss.AuthVersionType{v1oss.AuthV1, v1oss.AuthV4} {
		t.Run(string(v), func(t *testing.T) {
			cl, err := v1oss.New(e.proxyURL, proxyKeyID, proxyKeySecret, v1oss.ForcePathStyle(true),
				v1oss.AuthVersion(v), v1oss.Region(e.cloud.Region))
			if err != nil {
				t.Fatal(err)
			}
			b, err := cl.Bucket("data")
			if err != nil {
				t.Fatal(err)
			}
			dir := fmt.Sprintf("bob/legacy-%s/", v)
			src, dst := dir+"a b+c.txt", dir+"copy of a.txt"
			if err := b.PutObject(src, strings.NewReader("legacy")); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if _, err := b.CopyObject(src, dst); err != nil {
				t.Fatalf("CopyObject: %v", err)
			}
			rc, err := b.GetObject(dst)
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "legacy" {
				t.Fatalf("copy holds %q", got)
			}
			if _, err := b.CopyObject("alice/secret.txt", dir+"stolen"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
				t.Errorf("copy from outside the prefix: %v", err)
			}
			res, err := b.DeleteObjects([]string{src, dst})
			if err != nil || len(res.DeletedObjects) != 2 {
				t.Fatalf("DeleteObjects: %v %+v", err, res)
			}
		})
	}
	e.assertNoCallerSecrets(t)
}
