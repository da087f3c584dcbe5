package signer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ossproxy/ossproxy/signer"
)

var (
	exampleCred = signer.Credentials{AccessKeyID: "LTAI5tExampleKeyId", AccessKeySecret: "example-secret"}
	exampleTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
)

func ExampleV4_Sign() {
	// One V4 per region, shared by all requests (it caches signing keys).
	s := &signer.V4{Region: "cn-hangzhou"}

	r, _ := http.NewRequest("GET", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt?versionId=v1", nil)
	if err := s.Sign(r, exampleCred, "examplebucket", "dir/a b.txt", exampleTime); err != nil {
		panic(err)
	}
	fmt.Println(r.Header.Get("X-Oss-Date"))
	fmt.Println(r.Header.Get("X-Oss-Content-Sha256"))
	fmt.Println(r.Header.Get("Authorization"))
	// Output:
	// 20240506T070809Z
	// UNSIGNED-PAYLOAD
	// OSS4-HMAC-SHA256 Credential=LTAI5tExampleKeyId/20240506/cn-hangzhou/oss/aliyun_v4_request,Signature=c37fe428d5285cd473abb18fad0a44a0540f20fe6d48d563adc5a70782a811cb
}

func ExampleV4_Presign() {
	s := &signer.V4{Region: "cn-hangzhou"}
	r, _ := http.NewRequest("GET", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/report.pdf", nil)
	u, err := s.Presign(r, exampleCred, "examplebucket", "report.pdf", exampleTime, 10*time.Minute)
	if err != nil {
		panic(err)
	}
	fmt.Println(u)
	// Output:
	// https://examplebucket.oss-cn-hangzhou.aliyuncs.com/report.pdf?x-oss-credential=LTAI5tExampleKeyId%2F20240506%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20240506T070809Z&x-oss-expires=600&x-oss-signature=b65a5041b2a13e7db1749116cf27c022ba4d46055adc64b548a03e43fdc15928&x-oss-signature-version=OSS4-HMAC-SHA256
}

func ExampleV1_Sign() {
	r, _ := http.NewRequest("PUT", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/k?acl", nil)
	r.Header.Set("X-Oss-Object-Acl", "private")
	if err := (signer.V1{}).Sign(r, exampleCred, "examplebucket", "k", exampleTime); err != nil {
		panic(err)
	}
	fmt.Println(r.Header.Get("Date"))
	fmt.Println(r.Header.Get("Authorization"))
	// Output:
	// Mon, 06 May 2024 07:08:09 GMT
	// OSS LTAI5tExampleKeyId:Ft1+PH2a+1IRmlEsrOsOiOinWx0=
}

func ExampleVerifier_Verify() {
	v := &signer.Verifier{
		Region: "cn-hangzhou",
		Keys: signer.KeyLookupFunc(func(_ context.Context, id string) (signer.Credentials, bool) {
			return exampleCred, id == exampleCred.AccessKeyID
		}),
	}

	// A client signs ...
	r, _ := http.NewRequest("GET", "https://examplebucket.oss-cn-hangzhou.aliyuncs.com/dir/a%20b.txt", nil)
	_ = (&signer.V4{Region: "cn-hangzhou"}).Sign(r, exampleCred, "examplebucket", "dir/a b.txt", exampleTime)

	// ... and the server verifies, with bucket and key from its router.
	res, err := v.Verify(context.Background(), r, "examplebucket", "dir/a b.txt", exampleTime.Add(time.Minute))
	fmt.Println(res.Credentials.AccessKeyID, res.Version, err)

	// A different key, or a clock 20 minutes off, fails with an OSS code.
	_, err = v.Verify(context.Background(), r, "examplebucket", "dir/a b.txt.bak", exampleTime)
	fmt.Println(signer.Code(err), errors.Is(err, signer.ErrSignatureDoesNotMatch))
	_, err = v.Verify(context.Background(), r, "examplebucket", "dir/a b.txt", exampleTime.Add(20*time.Minute))
	var ve *signer.VerifyError
	if errors.As(err, &ve) {
		fmt.Println(ve.Code, ve.HTTPStatus())
	}
	// Output:
	// LTAI5tExampleKeyId 4 <nil>
	// SignatureDoesNotMatch true
	// RequestTimeTooSkewed 403
}
