package osstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ossproxy/ossproxy/internal/alioss"
	"github.com/ossproxy/ossproxy/internal/e2etest"
)

// TestAliOSSLifecycle runs npm ali-oss, a client in another language, through
// the whole object lifecycle directly against the emulator: V1 and V4, with a
// long-term key and with STS credentials from the fake STS.
func TestAliOSSLifecycle(t *testing.T) {
	node := e2etest.AliOSS(t)
	c := NewTestCloud(t, CloudOptions{Buckets: []string{"bkt"}})
	// ali-oss refuses to presign for an IP endpoint.
	endpoint := strings.Replace(c.OSSURL, "127.0.0.1", "localhost", 1)
	user := c.Account.NewUser("node", nil)
	stsCreds := cloudAssumeRole(t, c, "alioss", `{"Version":"1","Statement":[
	 {"Effect":"Allow","Action":"oss:*","Resource":["acs:oss:*:*:bkt/sts/*","acs:oss:*:*:bkt"]}]}`, 900)

	for _, v4 := range []bool{false, true} {
		for _, sts := range []bool{false, true} {
			name := fmt.Sprintf("v4=%t/sts=%t", v4, sts)
			t.Run(name, func(t *testing.T) {
				cfg := alioss.Config{Endpoint: endpoint, Bucket: "bkt", AccessKeyID: user.AccessKeyID,
					AccessKeySecret: user.AccessKeySecret, V4: v4, Prefix: fmt.Sprintf("static-%t/", v4)}
				if sts {
					cfg.AccessKeyID, cfg.AccessKeySecret, cfg.STSToken = stsCreds.AccessKeyId, stsCreds.AccessKeySecret, stsCreds.SecurityToken
					cfg.Prefix = fmt.Sprintf("sts/%t/", v4)
				}
				before := len(c.Recorder.Requests(EndpointOSS))
				res, err := node.Lifecycle(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if !res.OK {
					t.Fatalf("ali-oss failed at step %q after %v: code=%q status=%d %s", res.Step, res.Steps, res.Code, res.Status, res.Message)
				}
				if len(res.Steps) != 12 {
					t.Errorf("ran steps %v, want all 12", res.Steps)
				}
				if n := len(c.Recorder.Requests(EndpointOSS)) - before; n < 25 {
					t.Errorf("emulator saw %d requests, want the whole lifecycle (>= 25)", n)
				}
			})
		}
	}
}

// TestAliOSSRejections checks that ali-oss surfaces the emulator's exact
// OSS error codes.
func TestAliOSSRejections(t *testing.T) {
	node := e2etest.AliOSS(t)
	c := NewTestCloud(t, CloudOptions{Buckets: []string{"bkt"}})
	endpoint := strings.Replace(c.OSSURL, "127.0.0.1", "localhost", 1)
	user := c.Account.NewUser("node", MustParsePolicy(`{"Version":"1","Statement":[
	 {"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":"acs:oss:*:*:bkt/mine/*"}]}`))
	sts := c.Account.MintSTS("acs:ram::1:assumed-role/r/s", 2*time.Minute)

	base := alioss.Config{Endpoint: endpoint, Bucket: "bkt", AccessKeyID: user.AccessKeyID, AccessKeySecret: user.AccessKeySecret}
	for _, v4 := range []bool{false, true} {
		cfg := base
		cfg.V4 = v4
		if res, err := node.Op(context.Background(), cfg, "put", "mine/ok.txt", "ok"); err != nil || !res.OK {
			t.Fatalf("v4=%t: allowed put failed: %v %+v", v4, err, res)
		}
		cases := []struct {
			name     string
			mutate   func(*alioss.Config)
			op, key  string
			wantCode string
		}{
			{"outside policy", func(*alioss.Config) {}, "get", "theirs/x.txt", "AccessDenied"},
			{"action outside policy", func(*alioss.Config) {}, "delete", "mine/ok.txt", "AccessDenied"},
			{"wrong secret", func(c *alioss.Config) { c.AccessKeySecret += "x" }, "get", "mine/ok.txt", "SignatureDoesNotMatch"},
			{"unknown key", func(c *alioss.Config) { c.AccessKeyID = "LTAInobody" }, "put", "mine/x.txt", "InvalidAccessKeyId"},
			{"forged token", func(c *alioss.Config) {
				c.AccessKeyID, c.AccessKeySecret, c.STSToken = sts.AccessKeyID, sts.AccessKeySecret, "CAISforged"
			}, "put", "mine/x.txt", "InvalidSecurityToken"},
		}
		for _, tc := range cases {
			cfg := cfg
			tc.mutate(&cfg)
			res, err := node.Op(context.Background(), cfg, tc.op, tc.key, "x")
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Code != tc.wantCode {
				t.Errorf("v4=%t %s: ok=%t code=%q status=%d, want %s", v4, tc.name, res.OK, res.Code, res.Status, tc.wantCode)
			}
		}
	}

	// An expired STS token: move the emulator's clock past its expiry.
	cfg := base
	cfg.AccessKeyID, cfg.AccessKeySecret, cfg.STSToken = sts.AccessKeyID, sts.AccessKeySecret, sts.SecurityToken
	if res, err := node.Op(context.Background(), cfg, "put", "mine/sts.txt", "x"); err != nil || !res.OK {
		t.Fatalf("STS put before expiry: %v %+v", err, res)
	}
	// Three minutes on: past the token's expiry, well inside the 15-minute
	// skew window of the client's own clock.
	c.Clock.Advance(3 * time.Minute)
	res, err := node.Op(context.Background(), cfg, "put", "mine/sts.txt", "x")
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || res.Code != "SecurityTokenExpired" {
		t.Errorf("expired token: ok=%t code=%q, want SecurityTokenExpired", res.OK, res.Code)
	}
}
