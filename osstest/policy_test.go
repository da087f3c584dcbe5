package osstest

import "testing"

func TestPolicyAllows(t *testing.T) {
	p := MustParsePolicy(`{"Version":"1","Statement":[
	 {"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":"acs:oss:*:*:bkt/users/alice/*"},
	 {"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:*:bkt","Condition":{"StringLike":{"oss:Prefix":["users/alice/*"]}}},
	 {"Effect":"Deny","Action":"oss:*","Resource":"acs:oss:*:*:bkt/users/alice/secret/*"}]}`)
	tests := []struct {
		action, resource string
		cond             map[string]string
		want             bool
	}{
		{"oss:GetObject", "acs:oss:cn-hangzhou:1:bkt/users/alice/a/b.txt", nil, true},
		{"OSS:GetObject", "acs:oss:cn-hangzhou:1:bkt/users/alice/x", nil, true},
		{"oss:PutObject", "acs:oss:cn-hangzhou:1:bkt/users/alice/[x]", nil, true},
		{"oss:DeleteObject", "acs:oss:cn-hangzhou:1:bkt/users/alice/x", nil, false},
		{"oss:GetObject", "acs:oss:cn-hangzhou:1:bkt/users/bob/x", nil, false},
		{"oss:GetObject", "acs:oss:cn-hangzhou:1:bkt/users/alice", nil, false},
		{"oss:GetObject", "acs:oss:cn-hangzhou:1:other/users/alice/x", nil, false},
		{"oss:GetObject", "acs:oss:cn-hangzhou:1:bkt/users/alice/secret/k", nil, false},
		{"oss:ListObjects", "acs:oss:cn-hangzhou:1:bkt", map[string]string{"oss:Prefix": "users/alice/d/"}, true},
		{"oss:ListObjects", "acs:oss:cn-hangzhou:1:bkt", map[string]string{"oss:Prefix": "users/"}, false},
		{"oss:ListObjects", "acs:oss:cn-hangzhou:1:bkt", nil, false},
	}
	for _, tt := range tests {
		if got := p.Allows(tt.action, tt.resource, tt.cond); got != tt.want {
			t.Errorf("Allows(%q, %q, %v) = %v, want %v", tt.action, tt.resource, tt.cond, got, tt.want)
		}
	}
}

func TestParsePolicyRejects(t *testing.T) {
	for _, doc := range []string{
		``, `{}`, `{"Statement":[]}`,
		`{"Statement":[{"Effect":"Maybe","Action":"oss:*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"1.2.3.4"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*","Bogus":1}]}`,
	} {
		if _, err := ParsePolicy(doc); err == nil {
			t.Errorf("ParsePolicy(%s) succeeded, want an error", doc)
		}
	}
}
