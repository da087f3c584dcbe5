package osstest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcreds "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"

	"github.com/ossproxy/ossproxy/osstest"
)

// Start a whole cloud, assume its default role through the real STS client
// (trusting the cloud's CA, not touching http.DefaultTransport), and use the
// STS credentials with the official OSS SDK.
func ExampleStart() {
	ctx := context.Background()
	c, err := osstest.Start(ctx, osstest.CloudOptions{Buckets: []string{"bkt"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	cli, err := sts.NewClientWithOptions(c.Region, sdk.NewConfig().WithHttpTransport(c.CA.Transport()),
		sdkcreds.NewStaticAKCredentialsProvider(c.Admin.AccessKeyID, c.Admin.AccessKeySecret))
	if err != nil {
		log.Fatal(err)
	}
	req := sts.CreateAssumeRoleRequest()
	req.Scheme, req.Domain = requests.HTTPS, c.STSEndpoint
	req.RoleArn, req.RoleSessionName = c.Role.ARN, "example"
	resp, err := cli.AssumeRole(req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.AssumedRoleUser.Arn)

	cr := resp.Credentials
	client := oss.NewClient(oss.LoadDefaultConfig().WithRegion(c.Region).WithEndpoint(c.OSSURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)))
	if _, err := client.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("hello.txt"),
		Body: strings.NewReader("hello, emulator")}); err != nil {
		log.Fatal(err)
	}
	got, err := client.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("hello.txt")})
	if err != nil {
		log.Fatal(err)
	}
	defer got.Body.Close()
	body, _ := io.ReadAll(got.Body)
	fmt.Println(string(body))
	fmt.Println(c.Faults.Calls(osstest.EndpointSTS), c.Faults.Calls(osstest.EndpointOSS))
	// Output:
	// acs:ram::1234567890123456:assumed-role/ossproxy/example
	// hello, emulator
	// 1 2
}

// Make the next OSS request fail with a 503 in OSS's XML error shape, and
// see the one after it succeed.
func ExampleFaults_Add() {
	c, err := osstest.Start(context.Background(), osstest.CloudOptions{Buckets: []string{"bkt"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	inj := c.Faults.Add(osstest.EndpointOSS, osstest.Fault{Status: 503, Times: 1})

	client := oss.NewClient(oss.LoadDefaultConfig().WithRegion(c.Region).WithEndpoint(c.OSSURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(c.Admin.AccessKeyID, c.Admin.AccessKeySecret)).
		WithRetryMaxAttempts(1))
	_, err = client.ListObjectsV2(context.Background(), &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt")})
	var se *oss.ServiceError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Code)
	}
	_, err = client.ListObjectsV2(context.Background(), &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt")})
	fmt.Println(err, inj.Fired(), c.Faults.Calls(osstest.EndpointOSS))
	// Output:
	// 503 ServiceUnavailable
	// <nil> 1 2
}
