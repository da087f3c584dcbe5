package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/vend"
)

func TestSTSCommand(t *testing.T) {
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	path, getenv := vendConfig(t, cloud)
	ctx := t.Context()
	if err := cloud.OSS.PutObject(ctx, "data", "other/x", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCmd(t, getenv, "sts", "--config", path, "--bucket", "data", "--prefix", "app/",
		"--actions", "read,write", "--duration", "900s")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var a vend.STSResult
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	exp, err := time.Parse(vend.STSTimeFormat, a.Expiration)
	if err != nil || exp.Sub(cloud.Clock.Now()) > 15*time.Minute+time.Second || a.Bucket != "data" || a.Endpoint != cloud.OSSURL || a.SecurityToken == "" {
		t.Fatalf("credentials %v (expire %s): %v", a, a.Expiration, err)
	}
	c := oss.NewClient(oss.LoadDefaultConfig().WithRegion(a.Region).WithEndpoint(a.Endpoint).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(a.AccessKeyID, a.AccessKeySecret, a.SecurityToken)))
	if _, err := c.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("app/x"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("put inside: %v", err)
	}
	r, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("app/x")})
	if err != nil {
		t.Fatalf("get inside: %v", err)
	}
	r.Body.Close()
	denied := []error{
		func() error {
			_, err := c.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("other/x")})
			return err
		}(),
		func() error {
			_, err := c.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: oss.Ptr("data"), Key: oss.Ptr("app/x")})
			return err
		}(),
		func() error {
			_, err := c.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("data"), Prefix: oss.Ptr("app/")})
			return err
		}(),
	}
	for i, err := range denied {
		if se, ok := errors.AsType[*oss.ServiceError](err); !ok || se.Code != "AccessDenied" {
			t.Errorf("denied step %d: %v", i, err)
		}
	}

	tests := []struct {
		name string
		args []string
	}{
		{"no bucket", []string{"--prefix", "a/"}},
		{"short duration", []string{"--bucket", "data", "--duration", "10m"}},
		{"unknown action", []string{"--bucket", "data", "--actions", "read,admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, getenv, append([]string{"sts", "--config", path}, tt.args...)...)
			if _, ok := errors.AsType[usageError](err); !ok || out != "" {
				t.Fatalf("err = %v, stdout %q", err, out)
			}
		})
	}
	if _, _, err := runCmd(t, getenv, "sts", "--config", path, "--bucket", "data", "--prefix", "a*/"); !errors.Is(err, vend.ErrMalformed) {
		t.Fatalf("wildcard prefix: %v", err)
	}
}
