package osstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcreds "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	v1oss "github.com/aliyun/aliyun-oss-go-sdk/oss"
	"go.uber.org/goleak"
)

// cloudAssumeRole gets STS credentials from the cloud's fake STS through
// the real alibaba-cloud-sdk-go client, over HTTPS.
func cloudAssumeRole(t *testing.T, c *Cloud, session, policy string, seconds int) sts.Credentials {
	t.Helper()
	cli, err := sts.NewClientWithOptions(c.Region, sdk.NewConfig().WithHttpTransport(c.CA.Transport()).WithAutoRetry(false),
		sdkcreds.NewStaticAKCredentialsProvider(c.Admin.AccessKeyID, c.Admin.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	req := sts.CreateAssumeRoleRequest()
	req.Scheme = requests.HTTPS
	req.Domain = c.STSEndpoint
	req.RoleArn = c.Role.ARN
	req.RoleSessionName = session
	req.Policy = policy
	req.DurationSeconds = requests.NewInteger(seconds)
	resp, err := cli.AssumeRole(req)
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	return resp.Credentials
}

const sessionPolicy = `{"Version":"1","Statement":[
 {"Effect":"Allow","Action":["oss:PutObject","oss:GetObject"],"Resource":"acs:oss:*:*:bkt/allowed/*"},
 {"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:bkt","Condition":{"StringLike":{"oss:Prefix":"allowed/*"}}}]}`

func TestCloudSTSCredentialsWithOSSSDKs(t *testing.T) {
	c := NewTestCloud(t, CloudOptions{Buckets: []string{"bkt"}})
	ctx := t.Context()
	creds := cloudAssumeRole(t, c, "sdk-test", sessionPolicy, 900)

	// Official SDK v2, V4 signatures.
	v2 := oss.NewClient(oss.LoadDefaultConfig().WithRegion(c.Region).WithEndpoint(c.OSSURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(creds.AccessKeyId, creds.AccessKeySecret, creds.SecurityToken)).
		WithUsePathStyle(true).WithRetryMaxAttempts(1))
	if _, err := v2.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("allowed/v2.txt"), Body: strings.NewReader("from v2")}); err != nil {
		t.Fatalf("v2 PutObject: %v", err)
	}
	got, err := v2.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("allowed/v2.txt")})
	if err != nil {
		t.Fatalf("v2 GetObject: %v", err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "from v2" {
		t.Errorf("v2 got %q", body)
	}
	list, err := v2.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt"), Prefix: oss.Ptr("allowed/")})
	if err != nil || len(list.Contents) != 1 || *list.Contents[0].Key != "allowed/v2.txt" {
		t.Fatalf("v2 list: %v %+v", err, list)
	}
	_, err = v2.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("denied/v2.txt"), Body: strings.NewReader("x")})
	if code := serviceCode(err); code != "AccessDenied" {
		t.Errorf("v2 put outside the session policy: %s", code)
	}
	_, err = v2.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("bkt")})
	if code := serviceCode(err); code != "AccessDenied" {
		t.Errorf("v2 list outside the session policy: %s", code)
	}

	// Legacy aliyun-oss-go-sdk, V1 signatures.
	legacy, err := v1oss.New(c.OSSURL, creds.AccessKeyId, creds.AccessKeySecret, v1oss.SecurityToken(creds.SecurityToken), v1oss.ForcePathStyle(true))
	if err != nil {
		t.Fatal(err)
	}
	bkt, err := legacy.Bucket("bkt")
	if err != nil {
		t.Fatal(err)
	}
	if err := bkt.PutObject("allowed/legacy.txt", strings.NewReader("from legacy")); err != nil {
		t.Fatalf("legacy PutObject: %v", err)
	}
	rc, err := bkt.GetObject("allowed/v2.txt")
	if err != nil {
		t.Fatalf("legacy GetObject: %v", err)
	}
	body, _ = io.ReadAll(rc)
	rc.Close()
	if string(body) != "from v2" {
		t.Errorf("legacy got %q", body)
	}
	lr, err := bkt.ListObjects(v1oss.Prefix("allowed/"))
	if err != nil || len(lr.Objects) != 2 {
		t.Errorf("legacy list: %v %+v", err, lr.Objects)
	}
	if code := serviceCode(bkt.PutObject("denied/legacy.txt", strings.NewReader("x"))); code != "AccessDenied" {
		t.Errorf("legacy put outside the session policy: %s", code)
	}

	// Every OSS request carried the STS token, never the admin's key.
	for _, r := range c.Recorder.Requests(EndpointOSS) {
		if r.Header.Get("X-Oss-Security-Token") != creds.SecurityToken {
			t.Errorf("%s %s without the session token", r.Method, r.URL)
		}
	}
	if c.Recorder.Contains(EndpointOSS, c.Admin.AccessKeyID) {
		t.Error("the admin key reached OSS")
	}

	// Once the account clock passes the 900 s lifetime, the token is dead.
	c.Clock.Advance(901 * time.Second)
	_, err = v2.GetObject(ctx, &oss.GetObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("allowed/v2.txt")})
	if code := serviceCode(err); code != "SecurityTokenExpired" {
		t.Errorf("v2 after expiry: %s", code)
	}
	_, err = bkt.GetObject("allowed/v2.txt")
	if code := serviceCode(err); code != "SecurityTokenExpired" {
		t.Errorf("legacy after expiry: %s", code)
	}
}

func TestCloudECSAndOIDC(t *testing.T) {
	c := NewTestCloud(t, CloudOptions{Buckets: []string{"bkt"}})
	// IMDSv2 against the cloud's metadata endpoint.
	req, _ := http.NewRequest(http.MethodPut, c.ECSURL+"/latest/api/token", nil)
	req.Header.Set(ECSTokenTTLHeader, "21600")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, c.ECSURL+ecsCredPrefix+"ossproxy", nil)
	req.Header.Set(ECSTokenHeader, string(tok))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ec ecsCredentials
	err = json.NewDecoder(resp.Body).Decode(&ec)
	resp.Body.Close()
	if err != nil || ec.Code != "Success" {
		t.Fatalf("ECS credentials: %v %+v", err, ec)
	}
	v2 := oss.NewClient(oss.LoadDefaultConfig().WithRegion(c.Region).WithEndpoint(c.OSSURL).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(ec.AccessKeyID, ec.AccessKeySecret, ec.SecurityToken)).
		WithUsePathStyle(true).WithRetryMaxAttempts(1))
	if _, err := v2.PutObject(t.Context(), &oss.PutObjectRequest{Bucket: oss.Ptr("bkt"), Key: oss.Ptr("ecs"), Body: strings.NewReader("x")}); err != nil {
		t.Errorf("PutObject with ECS credentials: %v", err)
	}

	// RRSA: a token from the cloud's OIDC issuer assumes the default role.
	jwt, err := c.OIDC.Token("system:serviceaccount:default:app", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sts.NewClientWithOptions(c.Region, sdk.NewConfig().WithHttpTransport(c.CA.Transport()).WithAutoRetry(false),
		sdkcreds.NewStaticAKCredentialsProvider("unused", "unused"))
	if err != nil {
		t.Fatal(err)
	}
	oreq := sts.CreateAssumeRoleWithOIDCRequest()
	oreq.Scheme, oreq.Domain = requests.HTTPS, c.STSEndpoint
	oreq.RoleArn, oreq.OIDCProviderArn, oreq.OIDCToken, oreq.RoleSessionName = c.Role.ARN, c.OIDC.ARN, jwt, "pod"
	oresp, err := cli.AssumeRoleWithOIDC(oreq)
	if err != nil {
		t.Fatalf("AssumeRoleWithOIDC: %v", err)
	}
	if _, err := c.Account.Lookup(oresp.Credentials.AccessKeyId, oresp.Credentials.SecurityToken, c.Clock.Now()); err != nil {
		t.Errorf("OIDC credentials: %v", err)
	}
	if n := c.Faults.Calls(EndpointSTS); n != 1 {
		t.Errorf("STS calls = %d, want 1", n)
	}
}

func TestCloudFaultsThroughSDK(t *testing.T) {
	c := NewTestCloud(t, CloudOptions{})
	inj := c.Faults.Add(EndpointSTS, Fault{Status: http.StatusTooManyRequests, Times: 1})
	cli, err := sts.NewClientWithOptions(c.Region, sdk.NewConfig().WithHttpTransport(c.CA.Transport()).WithAutoRetry(false),
		sdkcreds.NewStaticAKCredentialsProvider(c.Admin.AccessKeyID, c.Admin.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	req := sts.CreateAssumeRoleRequest()
	req.Scheme, req.Domain, req.RoleArn, req.RoleSessionName = requests.HTTPS, c.STSEndpoint, c.Role.ARN, "throttled"
	_, err = cli.AssumeRole(req)
	if code, status := serverCode(t, err); code != "Throttling.User" || status != 429 {
		t.Errorf("injected throttle: %s %d", code, status)
	}
	if _, err := cli.AssumeRole(req); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	if inj.Fired() != 1 {
		t.Errorf("fired %d", inj.Fired())
	}
}

func TestCloudStartErrors(t *testing.T) {
	c := NewTestCloud(t, CloudOptions{})
	// The OSS address is taken.
	_, err := Start(t.Context(), CloudOptions{OSSAddr: strings.TrimPrefix(c.OSSURL, "http://")})
	if err == nil || !strings.Contains(err.Error(), "listening on") {
		t.Errorf("Start on a busy port: %v", err)
	}
	_, err = Start(t.Context(), CloudOptions{Buckets: []string{"Bad_Bucket"}})
	if err == nil {
		t.Error("Start with an invalid bucket name succeeded")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := http.Get(c.OSSURL); err == nil {
		t.Error("OSS still serving after Close")
	}
}

func TestCloudCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	c, err := Start(t.Context(), CloudOptions{Buckets: []string{"bkt"}})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.CA.Transport()
	client := &http.Client{Transport: tr}
	// A request hanging on a fault while the cloud closes.
	arrived := make(chan struct{})
	c.Faults.Add(EndpointOSS, Fault{Hang: true, Match: func(*http.Request) bool { close(arrived); return true }})
	hung := make(chan error, 1)
	go func() {
		resp, err := client.Get(c.OSSURL + "/bkt/k")
		if err == nil {
			resp.Body.Close()
		}
		hung <- err
	}()
	<-arrived
	resp, err := client.Get(c.STSURL + "/?Action=AssumeRole")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err == nil {
		t.Error("hung request got a response")
	}
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}
