package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/e2etest/wire"
	"github.com/ossproxy/ossproxy/osstest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// TestBodyIdleCountsOnlyClientTime: the body idle timeout measures the
// client's silence only. A fast client whose upload waits on the proxy
// (slow credentials) or on OSS (a slow upstream) for longer than the
// timeout is not cut.
func TestBodyIdleCountsOnlyClientTime(t *testing.T) {
	// The client sends its body without pausing, but a loaded machine can
	// stall its writes for a moment: idle is far above such a stall, and
	// the proxy's and OSS's waits are half as long again.
	const idle, wait = time.Second, 1500 * time.Millisecond
	cloud := osstest.NewTestCloud(t, osstest.CloudOptions{Buckets: []string{"data"}})
	creds := signer.Credentials{AccessKeyID: cloud.Admin.AccessKeyID, AccessKeySecret: cloud.Admin.AccessKeySecret}
	cfg := proxy.Config{Buckets: []proxy.BucketConfig{{Name: "data", Endpoint: cloud.OSSURL, Region: cloud.Region, AllowInsecureHTTP: true}}}
	h, err := proxy.New(proxy.Options{
		Config:        cfg,
		Authenticator: wire.Anyone("tester", "test"),
		Authorizer:    wire.AllowAll(),
		Credentials: proxy.CredentialFuncs{RetrieveFunc: func(ctx context.Context) (signer.Credentials, error) {
			select { // a slow credential source: longer than the idle timeout
			case <-time.After(wait):
			case <-ctx.Done():
				return signer.Credentials{}, ctx.Err()
			}
			return creds, nil
		}},
		Signer:       proxy.NewOSSSigner(cfg),
		BodyTimeouts: proxy.BodyTimeouts{Idle: idle},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Start()
	t.Cleanup(srv.Close)
	put := func(key string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/data/"+key, strings.NewReader(strings.Repeat("x", 256<<10)))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := put("slow-credentials"); code != http.StatusOK {
		t.Fatalf("slow credentials: %d %s", code, body)
	}
	// OSS slow to start reading (the body waits in buffers): still fine.
	inj := cloud.Faults.Add(osstest.EndpointOSS, osstest.Fault{Delay: wait, Times: 1})
	if code, body := put("slow-upstream"); code != http.StatusOK || inj.Fired() != 1 {
		t.Fatalf("slow upstream: %d %s (fault fired %d)", code, body, inj.Fired())
	}
	for _, k := range []string{"slow-credentials", "slow-upstream"} {
		if _, err := cloud.OSS.ObjectSHA256("data", k); err != nil {
			t.Fatalf("%s not stored: %v", k, err)
		}
	}
}
