package vend

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/osstest"
)

const (
	rd = auth.ActionRead
	ls = auth.ActionList
	wr = auth.ActionWrite
	dl = auth.ActionDelete
)

func TestSessionPolicy(t *testing.T) {
	tests := []struct {
		name   string
		grants []auth.Grant
		want   string
	}{
		{"read only under a prefix",
			[]auth.Grant{{Bucket: "bkt", Prefix: "users/alice/", Actions: rd}},
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/users/alice/*"}]}`},
		{"read list write delete under a prefix",
			[]auth.Grant{{Bucket: "bkt", Prefix: "users/alice/", Actions: rd | ls | wr | dl}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject","oss:AbortMultipartUpload","oss:DeleteObject","oss:ListParts"],"Resource":"acs:oss:*:*:bkt/users/alice/*"},` +
				`{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:bkt","Condition":{"StringLike":{"oss:Prefix":"users/alice/*"}}}]}`},
		{"same actions on two prefixes merge into one statement",
			[]auth.Grant{{Bucket: "bkt", Prefix: "b/", Actions: rd | ls}, {Bucket: "bkt", Prefix: "a/", Actions: rd | ls}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":["oss:GetObject","oss:ListParts"],"Resource":["acs:oss:*:*:bkt/a/*","acs:oss:*:*:bkt/b/*"]},` +
				`{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:bkt","Condition":{"StringLike":{"oss:Prefix":["a/*","b/*"]}}}]}`},
		{"a narrower grant with fewer actions is dropped",
			[]auth.Grant{{Bucket: "bkt", Prefix: "users/", Actions: rd | wr}, {Bucket: "bkt", Prefix: "users/alice/", Actions: rd}},
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject","oss:AbortMultipartUpload"],"Resource":"acs:oss:*:*:bkt/users/*"}]}`},
		{"a narrower grant with more actions stays",
			[]auth.Grant{{Bucket: "bkt", Prefix: "users/", Actions: rd}, {Bucket: "bkt", Prefix: "users/alice/", Actions: rd | dl}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/users/*"},` +
				`{"Effect":"Allow","Action":["oss:GetObject","oss:DeleteObject"],"Resource":"acs:oss:*:*:bkt/users/alice/*"}]}`},
		{"whole bucket with bucket-level actions",
			[]auth.Grant{{Bucket: "bkt", Actions: rd | ls | auth.ActionBucketRead}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":["oss:GetObject","oss:ListParts"],"Resource":"acs:oss:*:*:bkt/*"},` +
				`{"Effect":"Allow","Action":["oss:ListObjects","oss:ListMultipartUploads"],"Resource":"acs:oss:*:*:bkt"},` +
				`{"Effect":"Allow","Action":"oss:GetBucket*","Resource":"acs:oss:*:*:bkt"}]}`},
		{"two buckets with equal list prefixes share the list statement",
			[]auth.Grant{{Bucket: "one", Prefix: "p/", Actions: ls}, {Bucket: "two", Prefix: "p/", Actions: ls}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":"oss:ListParts","Resource":["acs:oss:*:*:one/p/*","acs:oss:*:*:two/p/*"]},` +
				`{"Effect":"Allow","Action":"oss:ListObjects","Resource":["acs:oss:*:*:one","acs:oss:*:*:two"],"Condition":{"StringLike":{"oss:Prefix":"p/*"}}}]}`},
		{"two buckets with different list prefixes do not",
			[]auth.Grant{{Bucket: "one", Prefix: "a/", Actions: ls}, {Bucket: "two", Prefix: "b/", Actions: ls}},
			`{"Version":"1","Statement":[` +
				`{"Effect":"Allow","Action":"oss:ListParts","Resource":["acs:oss:*:*:one/a/*","acs:oss:*:*:two/b/*"]},` +
				`{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:one","Condition":{"StringLike":{"oss:Prefix":"a/*"}}},` +
				`{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:two","Condition":{"StringLike":{"oss:Prefix":"b/*"}}}]}`},
		{"service list and a wildcard prefix left out",
			[]auth.Grant{{Actions: auth.ActionServiceList}, {Bucket: "bkt", Prefix: "x*/", Actions: rd}, {Bucket: "bkt", Prefix: "ok/", Actions: rd}},
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/ok/*"},{"Effect":"Allow","Action":"oss:ListBuckets","Resource":"acs:oss:*:*:*"}]}`},
		{"quotes and HTML characters in a prefix are JSON-escaped, not HTML-escaped",
			[]auth.Grant{{Bucket: "bkt", Prefix: `a"<&>/`, Actions: rd}},
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/a\"<&>/*"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SessionPolicy(tt.grants)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("policy\n got %s\nwant %s", got, tt.want)
			}
			if _, err := osstest.ParsePolicy(got); err != nil {
				t.Errorf("the emulator (as STS) rejects the policy: %v", err)
			}
		})
	}
}

// TestSessionPolicySemantics evaluates generated policies with the
// emulator's RAM policy engine: what the grants allow is allowed, and
// nothing next to it.
func TestSessionPolicySemantics(t *testing.T) {
	pol, err := SessionPolicy([]auth.Grant{
		{Bucket: "bkt", Prefix: "users/alice/", Actions: rd | ls | wr},
		{Bucket: "pub", Actions: rd},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := osstest.MustParsePolicy(pol)
	const res = "acs:oss:cn-hangzhou:123:"
	tests := []struct {
		action, resource string
		prefix           *string
		want             bool
	}{
		{"oss:GetObject", res + "bkt/users/alice/a.txt", nil, true},
		{"oss:PutObject", res + "bkt/users/alice/d/e.txt", nil, true},
		{"oss:DeleteObject", res + "bkt/users/alice/a.txt", nil, false},
		{"oss:GetObject", res + "bkt/users/alice", nil, false},
		{"oss:GetObject", res + "bkt/users/alicex/a", nil, false},
		{"oss:GetObject", res + "bkt/users/bob/a", nil, false},
		{"oss:GetObject", res + "other/users/alice/a", nil, false},
		{"oss:ListObjects", res + "bkt", ptr("users/alice/"), true},
		{"oss:ListObjects", res + "bkt", ptr("users/alice/sub/"), true},
		{"oss:ListObjects", res + "bkt", ptr("users/"), false},
		{"oss:ListObjects", res + "bkt", ptr(""), false},
		{"oss:GetObject", res + "pub/any/key", nil, true},
		{"oss:PutObject", res + "pub/any/key", nil, false},
		{"oss:ListObjects", res + "pub", ptr(""), false},
		{"oss:GetBucketInfo", res + "bkt", nil, false},
		{"oss:ListBuckets", res + "*", nil, false},
	}
	for _, tt := range tests {
		var cond map[string]string
		if tt.prefix != nil {
			cond = map[string]string{"oss:Prefix": *tt.prefix}
		}
		if got := p.Allows(tt.action, tt.resource, cond); got != tt.want {
			t.Errorf("%s %s prefix %v: allowed %t, want %t", tt.action, tt.resource, cond, got, tt.want)
		}
	}
}

func ptr(s string) *string { return &s }

func TestSessionPolicyTooLarge(t *testing.T) {
	var grants []auth.Grant
	for i := range 60 {
		grants = append(grants, auth.Grant{Bucket: "bkt", Prefix: fmt.Sprintf("projects/p%03d/", i), Actions: rd})
	}
	pol, err := SessionPolicy(grants[:40])
	if err != nil || len(pol) > MaxPolicyLength {
		t.Fatalf("40 merged grants: %d chars, %v", len(pol), err)
	}
	_, err = SessionPolicy(grants)
	if !errors.Is(err, ErrPolicyTooLarge) || StatusCode(err) != 400 || !strings.Contains(err.Error(), "60 grants") {
		t.Fatalf("60 grants: err = %v, want ErrPolicyTooLarge", err)
	}
	// The same 60 prefixes under one covering grant compact to one statement.
	pol, err = SessionPolicy(append(grants, auth.Grant{Bucket: "bkt", Prefix: "projects/", Actions: rd}))
	if err != nil || strings.Count(pol, "acs:oss") != 1 {
		t.Fatalf("covered grants: %s, %v", pol, err)
	}
	if _, err := SessionPolicy(nil); !errors.Is(err, ErrDenied) {
		t.Fatalf("no grants: %v", err)
	}
}

func TestNarrow(t *testing.T) {
	grants := []auth.Grant{
		{Actions: auth.ActionServiceList},
		{Bucket: "bkt", Prefix: "users/alice/", Actions: rd | ls | wr},
		{Bucket: "bkt", Prefix: "shared/", Actions: rd},
		{Bucket: "pub", Actions: rd | auth.ActionBucketRead},
	}
	tests := []struct {
		name           string
		bucket, prefix string
		actions        auth.Action
		want           []auth.Grant
		denied         bool
	}{
		{"everything", "", "", 0, grants, false},
		{"one bucket", "bkt", "", 0, grants[1:3], false},
		{"one bucket, read only", "bkt", "", rd, []auth.Grant{{Bucket: "bkt", Prefix: "users/alice/", Actions: rd}, grants[2]}, false},
		{"a prefix inside a grant", "bkt", "users/alice/photos/", 0, []auth.Grant{{Bucket: "bkt", Prefix: "users/alice/photos/", Actions: rd | ls | wr}}, false},
		{"a prefix inside a grant, write only", "bkt", "users/alice/up/", wr, []auth.Grant{{Bucket: "bkt", Prefix: "users/alice/up/", Actions: wr}}, false},
		{"a prefix wider than the grant", "bkt", "users/", 0, nil, true},
		{"a prefix beside the grant", "bkt", "users/bob/", rd, nil, true},
		{"an action not granted under the prefix", "bkt", "shared/x/", wr, nil, true},
		{"an action not granted anywhere", "", "", dl, nil, true},
		{"a bucket not granted", "other", "", 0, nil, true},
		{"bucket-level action on the whole bucket", "pub", "", auth.ActionBucketRead, []auth.Grant{{Bucket: "pub", Actions: auth.ActionBucketRead}}, false},
		{"bucket-level action needs the whole bucket", "pub", "dir/", auth.ActionBucketRead, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Narrow(grants, tt.bucket, tt.prefix, tt.actions)
			if tt.denied {
				if !errors.Is(err, ErrDenied) {
					t.Fatalf("got %v, %v; want ErrDenied", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestExpandBuckets(t *testing.T) {
	got := ExpandBuckets([]auth.Grant{
		{Bucket: "*", Prefix: "p/", Actions: rd},
		{Bucket: "one", Prefix: "p/", Actions: wr},
		{Bucket: "unserved", Actions: rd},
	}, []string{"one", "two"})
	want := []auth.Grant{{Bucket: "one", Prefix: "p/", Actions: rd | wr}, {Bucket: "two", Prefix: "p/", Actions: rd}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
