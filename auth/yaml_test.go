package auth

import (
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestYAMLMapping checks that a config file maps directly onto Config and
// []Rule through their yaml tags, actions by name.
func TestYAMLMapping(t *testing.T) {
	const doc = `
auth:
  token_header: X-Auth-Token
  token_query_param: access_token
  max_token_size: 4096
  cache_size: 500
  cache_ttl: 2m
  access_key_region: cn-hangzhou
  issuers:
    - issuer: https://kubernetes.default.svc
      audiences: [ossproxy]
      algorithms: [RS256, ES256]
      discovery: true
      leeway: 45s
      min_refresh_interval: 30s
      groups_claim: grp
      required_claims:
        - claim: groups
          values: [staff]
  access_keys:
    - id: LTAIci
      principal: ci
      groups: [ci]
  anonymous:
    enabled: true
    principal: sidecar
rules:
  - name: home
    issuers: [https://kubernetes.default.svc]
    groups: [staff]
    buckets: [home]
    prefixes: ["users/${sub}/"]
    actions: [read, list, write, delete]
  - name: admin
    access_key_ids: [LTAIci]
    buckets: ["*"]
    actions: ["*"]
`
	var file struct {
		Auth  Config `yaml:"auth"`
		Rules []Rule `yaml:"rules"`
	}
	if err := yaml.Unmarshal([]byte(doc), &file); err != nil {
		t.Fatal(err)
	}
	c := file.Auth
	if c.TokenHeader != "X-Auth-Token" || c.TokenQueryParam != "access_token" || c.MaxTokenSize != 4096 ||
		c.CacheSize != 500 || c.CacheTTL != 2*time.Minute || c.AccessKeyRegion != "cn-hangzhou" ||
		!c.Anonymous.Enabled || c.Anonymous.Principal != "sidecar" {
		t.Fatalf("config = %+v", c)
	}
	is := c.Issuers[0]
	if is.Issuer != "https://kubernetes.default.svc" || !slices.Equal(is.Algorithms, []string{"RS256", "ES256"}) ||
		!is.Discovery || is.Leeway != 45*time.Second || is.MinRefreshInterval != 30*time.Second ||
		is.GroupsClaim != "grp" || is.RequiredClaims[0].Claim != "groups" || is.RequiredClaims[0].Values[0] != "staff" {
		t.Fatalf("issuer = %+v", is)
	}
	if k := c.AccessKeys[0]; k.ID != "LTAIci" || k.Principal != "ci" || k.Groups[0] != "ci" || k.Secret != nil {
		t.Fatalf("access key = %+v", k)
	}
	r := file.Rules
	if !slices.Equal(r[0].Actions, []Action{ActionRead, ActionList, ActionWrite, ActionDelete}) ||
		r[0].Prefixes[0] != "users/${sub}/" || !slices.Equal(r[1].Actions, []Action{ActionAll}) {
		t.Fatalf("rules = %+v", r)
	}
	if _, err := NewPolicy(r); err != nil {
		t.Fatal(err)
	}
	var bad []Rule
	if err := yaml.Unmarshal([]byte("- actions: [admin]\n"), &bad); err == nil {
		t.Fatal("unknown action accepted")
	}
}
