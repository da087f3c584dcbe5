package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/ossproxy/ossproxy/signer"
)

// benchSize is the size of the object the socket benchmarks GET.
const benchSize = 4096

// BenchmarkProxyGet measures a 4 KiB GetObject through the whole proxy
// (JWT authentication with auth, routing, classification, policy,
// rewrite, V4 signing, streaming) to the osstest emulator, over real
// loopback sockets with keep-alive connections.
func BenchmarkProxyGet(b *testing.B) {
	e := newBenchEnv(b)
	req, _ := http.NewRequest(http.MethodGet, e.proxyURL+"/data/alice/bench.bin", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
	benchGets(b, func() *http.Request { return req })
}

// BenchmarkDirectGet is the baseline for BenchmarkProxyGet: the same
// 4 KiB GetObject signed with the same credentials, sent straight to the
// emulator. The difference is the proxy's cost.
func BenchmarkDirectGet(b *testing.B) {
	e := newBenchEnv(b)
	v4 := &signer.V4{Region: e.cloud.Region}
	creds := e.upstream.cur
	benchGets(b, func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, e.cloud.OSSURL+"/data/alice/bench.bin", nil)
		if err := v4.Sign(req, creds, "data", "alice/bench.bin", e.cloud.Clock.Now()); err != nil {
			b.Fatal(err)
		}
		return req
	})
}

// newBenchEnv is newEnv with alice's benchSize object alice/bench.bin in
// bucket data.
func newBenchEnv(b *testing.B) *env {
	e := newEnv(b)
	if _, err := e.client(e.tokens["alice"]).PutObject(b.Context(), &oss.PutObjectRequest{
		Bucket: oss.Ptr("data"), Key: oss.Ptr("alice/bench.bin"), Body: bytes.NewReader(bytes.Repeat([]byte("x"), benchSize))}); err != nil {
		b.Fatal(err)
	}
	return e
}

// benchGets is the loop of the socket benchmarks: it sends next()'s
// request on keep-alive connections and fails unless the answer is 200
// with benchSize bytes.
func benchGets(b *testing.B, next func() *http.Request) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.ReportAllocs()
	b.SetBytes(benchSize)
	for b.Loop() {
		resp, err := client.Do(next())
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != benchSize {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
