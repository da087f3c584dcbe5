package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkcreds "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	osscreds "github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
)

// startEmulator runs `ossproxy emulator args...` and returns the first
// line it prints, a cancel func and a wait func returning run's error.
func startEmulator(t *testing.T, args ...string) (line string, cancel context.CancelFunc, wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = run(ctx, append([]string{"emulator"}, args...), func(string) string { return "" }, pw, io.Discard)
		pw.CloseWithError(io.EOF)
	}()
	wait = func() error { <-done; return runErr }
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the emulator's output: %v (run: %v)", err, wait())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return line, cancel, wait
}

func TestEmulatorJSON(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	line, cancel, wait := startEmulator(t, "-json", "-bucket", "photos,logs", "-bucket", "extra", "-region", "cn-beijing", "-ca-out", caFile)
	var info emulatorInfo
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("output %q: %v", line, err)
	}
	if info.Region != "cn-beijing" || strings.Join(info.Buckets, ",") != "photos,logs,extra" || info.AccessKeyID == "" ||
		info.AccessKeySecret == "" || !strings.HasPrefix(info.OSSEndpoint, "http://127.0.0.1:") || !strings.HasSuffix(info.RoleARN, ":role/ossproxy") {
		t.Fatalf("info %+v", info)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil || string(pem) != info.CAPEM {
		t.Fatalf("CA file: %v", err)
	}

	// The printed OSS endpoint and admin key work with the official SDK.
	ctx := t.Context()
	client := oss.NewClient(oss.LoadDefaultConfig().WithRegion(info.Region).WithEndpoint(info.OSSEndpoint).
		WithCredentialsProvider(osscreds.NewStaticCredentialsProvider(info.AccessKeyID, info.AccessKeySecret)).WithRetryMaxAttempts(1))
	if _, err := client.PutObject(ctx, &oss.PutObjectRequest{Bucket: oss.Ptr("photos"), Key: oss.Ptr("a.jpg"), Body: strings.NewReader("jpeg")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	res, err := client.ListObjectsV2(ctx, &oss.ListObjectsV2Request{Bucket: oss.Ptr("photos")})
	if err != nil || len(res.Contents) != 1 {
		t.Fatalf("ListObjectsV2: %v", err)
	}

	// The printed STS endpoint, role and CA work with the official STS client.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("bad CA PEM")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	cli, err := sts.NewClientWithOptions(info.Region, sdk.NewConfig().WithHttpTransport(tr).WithAutoRetry(false),
		sdkcreds.NewStaticAKCredentialsProvider(info.AccessKeyID, info.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	req := sts.CreateAssumeRoleRequest()
	req.Scheme, req.Domain, req.RoleArn, req.RoleSessionName = requests.HTTPS, info.STSEndpoint, info.RoleARN, "cli"
	resp, err := cli.AssumeRole(req)
	if err != nil || !strings.HasPrefix(resp.Credentials.AccessKeyId, "STS.") {
		t.Fatalf("AssumeRole: %v", err)
	}

	cancel()
	if err := wait(); err != nil {
		t.Errorf("run returned %v after cancel", err)
	}
	if _, err := http.Get(info.OSSEndpoint); err == nil {
		t.Error("OSS endpoint still up after the emulator stopped")
	}
}

func TestEmulatorText(t *testing.T) {
	line, _, _ := startEmulator(t, "-bucket", "bkt")
	if !strings.Contains(line, "emulator running") {
		t.Errorf("first line %q", line)
	}
}

func TestEmulatorUsage(t *testing.T) {
	var stderr bytes.Buffer
	for _, args := range [][]string{{"-no-such-flag"}, {"stray"}} {
		err := run(t.Context(), append([]string{"emulator"}, args...), func(string) string { return "" }, io.Discard, &stderr)
		var ue usageError
		if !errors.As(err, &ue) || exitCode(err) != 2 {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	err := run(t.Context(), []string{"emulator", "-oss-addr", "256.0.0.1:1"}, func(string) string { return "" }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "starting emulator") {
		t.Errorf("bad address: %v", err)
	}
}
