package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/ossproxy/ossproxy/signer"
)

// BenchmarkProxyGet measures a 4 KiB GetObject through the whole proxy
// (JWT authentication with auth, routing, classification, policy,
// rewrite, V4 signing, streaming) to the osstest emulator, over real
// loopback sockets with keep-alive connections.
func BenchmarkProxyGet(b *testing.B) {
	e := newEnv(b)
	body := bytes.Repeat([]byte("x"), 4096)
	if _, err := e.client(e.tokens["alice"]).PutObject(b.Context(), &oss.PutObjectRequest{
		Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/bench.bin"), Body: bytes.NewReader(body)}); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	req, _ := http.NewRequest(http.MethodGet, e.proxyURL+"/data/alice/bench.bin", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

// BenchmarkDirectGet is the baseline for BenchmarkProxyGet: the same
// 4 KiB GetObject signed with the same credentials, sent straight to the
// emulator. The difference is the proxy's cost.
func BenchmarkDirectGet(b *testing.B) {
	e := newEnv(b)
	body := bytes.Repeat([]byte("x"), 4096)
	if _, err := e.client(e.tokens["alice"]).PutObject(b.Context(), &oss.PutObjectRequest{
		Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/bench.bin"), Body: bytes.NewReader(body)}); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	v4 := &signer.V4{Region: e.cloud.Region}
	creds := e.upstream.cur
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, e.cloud.OSSURL+"/data/alice/bench.bin", nil)
		if err := v4.Sign(req, creds, "data", "alice/bench.bin", e.cloud.Clock.Now()); err != nil {
			b.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
