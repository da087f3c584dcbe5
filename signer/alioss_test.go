package signer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ossproxy/ossproxy/internal/alioss"
	"github.com/ossproxy/ossproxy/internal/e2etest"
)

// TestAliOSSClientVerify drives npm ali-oss (V1, which sends no Date and
// signs its RFC 1123 x-oss-date, and V4), with and without STS tokens,
// against the verifying server. `make test` installs the client; without
// node it skips.
func TestAliOSSClientVerify(t *testing.T) {
	c := e2etest.AliOSS(t)
	srv, endpoint := newOSSServer(t, clientCreds...)
	endpoint = strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
	for _, cred := range clientCreds {
		for _, v4 := range []bool{false, true} {
			name := fmt.Sprintf("ali-oss v4=%t token=%t", v4, cred.HasToken())
			cfg := alioss.Config{Endpoint: endpoint, Bucket: "bkt", AccessKeyID: cred.AccessKeyID,
				AccessKeySecret: cred.AccessKeySecret, STSToken: cred.SecurityToken, V4: v4}
			for _, op := range []string{"put", "get", "list", "delete"} {
				if _, err := c.Op(context.Background(), cfg, op, "dir/a b+c~(1)&x=y.txt", "hello"); err != nil {
					t.Fatalf("%s %s: %v", name, op, err)
				}
			}
			version := map[bool]int{false: 1, true: 4}[v4]
			vs := srv.check(t, name, version, 4)
			if !v4 {
				for _, v := range vs {
					if !v.ossDate {
						t.Errorf("%s: ali-oss V1 request without x-oss-date; the quirk is not exercised", name)
					}
				}
			}
		}
	}
}
