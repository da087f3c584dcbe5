package signer

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	osssigner "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/signer"
)

var (
	benchCred = Credentials{AccessKeyID: "LTAI5tBenchmarkKeyId", AccessKeySecret: "benchmark-secret-0123456789abcdef",
		SecurityToken: "CAISbenchmarktoken"}
	benchTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
)

// benchRequest is a typical proxied GetObject: a virtual-host URL, a key
// needing escapes, two sub-resources, SDK-v2's default headers and one
// user metadata header.
func benchRequest() *http.Request {
	u, _ := url.Parse("http://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b+c~%281%29.txt?versionId=CAEQNhiBgMDJgZCA0BYiIGQ&response-content-type=text%2Fplain")
	return &http.Request{Method: "GET", URL: u, Host: u.Host, Header: http.Header{
		"Content-Md5":       {"1B2M2Y8AsgTpgAmY7PhCfg=="},
		"Content-Type":      {"application/octet-stream"},
		"User-Agent":        {"aliyun-sdk-go/v1.6.1"},
		"X-Oss-Meta-Author": {"alice"},
		"Range":             {"bytes=0-1023"},
	}}
}

const benchBucket, benchKey = "examplebucket", "dir/a b+c~(1).txt"

func sdkBenchContext(r *http.Request) *osssigner.SigningContext {
	return &osssigner.SigningContext{
		Product: new("oss"), Region: new("cn-hangzhou"), Bucket: new(benchBucket), Key: new(benchKey),
		Request: r, Time: benchTime,
		Credentials: &osscreds.Credentials{AccessKeyID: benchCred.AccessKeyID,
			AccessKeySecret: benchCred.AccessKeySecret, SecurityToken: benchCred.SecurityToken},
	}
}

func BenchmarkSignV4(b *testing.B) {
	r := benchRequest()
	s := &V4{Region: "cn-hangzhou"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(r, benchCred, benchBucket, benchKey, benchTime); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignV4OfficialSDK(b *testing.B) {
	r := benchRequest()
	s := &osssigner.SignerV4{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(ctx, sdkBenchContext(r)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignV1(b *testing.B) {
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if err := (V1{}).Sign(r, benchCred, benchBucket, benchKey, benchTime); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignV1OfficialSDK(b *testing.B) {
	r := benchRequest()
	s := &osssigner.SignerV1{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Sign(ctx, sdkBenchContext(r)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPresignV4(b *testing.B) {
	r := benchRequest()
	s := &V4{Region: "cn-hangzhou"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Presign(r, benchCred, benchBucket, benchKey, benchTime, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyV4(b *testing.B) {
	r := benchRequest()
	if err := (&V4{Region: "cn-hangzhou"}).Sign(r, benchCred, benchBucket, benchKey, benchTime); err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Region: "cn-hangzhou", Keys: staticKeys(benchCred)}
	ctx := context.Background()
	now := benchTime.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, benchBucket, benchKey, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignV4ColdKey derives the signing key on every call (a new
// date each time), to show what the key cache saves.
func BenchmarkSignV4ColdKey(b *testing.B) {
	r := benchRequest()
	s := &V4{Region: "cn-hangzhou"}
	t := benchTime
	b.ReportAllocs()
	for b.Loop() {
		t = t.Add(24 * time.Hour)
		if err := s.Sign(r, benchCred, benchBucket, benchKey, t); err != nil {
			b.Fatal(err)
		}
	}
}
