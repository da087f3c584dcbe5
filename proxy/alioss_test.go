package proxy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ossproxy/ossproxy/internal/alioss"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/osstest"
)

// TestEndToEndAliOSS runs npm ali-oss, a client in another language,
// through the whole object lifecycle via the proxy, signing V1 and V4
// with a proxy-issued access key; then checks that it is denied outside
// its prefix without an upstream request.
func TestEndToEndAliOSS(t *testing.T) {
	node := e2etest.AliOSS(t)
	e := newEnv(t)
	endpoint := strings.Replace(e.proxyURL, "127.0.0.1", "localhost", 1) // ali-oss will not presign for an IP
	for _, v4 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v4=%t", v4), func(t *testing.T) {
			cfg := alioss.Config{Endpoint: endpoint, Bucket: "data", Region: "oss-" + e.cloud.Region,
				AccessKeyID: proxyKeyID, AccessKeySecret: proxyKeySecret, V4: v4, Prefix: fmt.Sprintf("bob/node-%t/", v4)}
			res, err := node.Lifecycle(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK {
				t.Fatalf("ali-oss failed at step %q after %v: code=%q status=%d %s", res.Step, res.Steps, res.Code, res.Status, res.Message)
			}
			before := e.upstreamCount()
			res, err = node.Op(t.Context(), cfg, "get", "alice/secret.txt", "")
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Status != 403 || res.Code != "AccessDenied" || e.upstreamCount() != before {
				t.Errorf("read outside prefix: ok=%v %d %s, %d upstream requests", res.OK, res.Status, res.Code, e.upstreamCount()-before)
			}
		})
	}
	e.assertNoCallerSecrets(t)
	if e.cloud.Recorder.Contains(osstest.EndpointOSS, proxyKeyID) {
		t.Error("the client's access key id reached the upstream")
	}
}
