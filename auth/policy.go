package auth

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Rule grants actions on buckets and key prefixes to the principals it
// matches. It maps directly onto the YAML config:
//
//   - name: per-user folders
//     issuers: [https://idp.example.com]
//     groups: [staff]
//     buckets: [home]
//     prefixes: ["users/${sub}/"]
//     actions: [read, list, write, delete]
//
// Principal criteria are ANDed when several are given, and a criterion
// matches when any of its values does. At least one criterion is required:
// a rule never matches everyone by accident.
type Rule struct {
	// Name is used in logs only.
	Name string `yaml:"name"`

	// Subjects match a JWT principal's verified sub.
	Subjects []string `yaml:"subjects"`
	// Issuers match a JWT principal's verified iss.
	Issuers []string `yaml:"issuers"`
	// Groups and Roles match any of the principal's groups or roles (from
	// JWT claims, or from the access key or anonymous configuration).
	Groups []string `yaml:"groups"`
	Roles  []string `yaml:"roles"`
	// AccessKeyIDs match a proxy-issued access key.
	AccessKeyIDs []string `yaml:"access_key_ids"`
	// Anonymous matches the anonymous principal, and only it; it cannot be
	// combined with the other criteria.
	Anonymous bool `yaml:"anonymous"`

	// Buckets are bucket names, or "*" for any bucket. Required.
	Buckets []string `yaml:"buckets"`
	// Prefixes restrict object actions to keys starting with one of them.
	// They are literal: "logs/" grants every key under logs/, and a '*'
	// is refused (it is not a glob). Empty (or a "" entry) means the
	// whole bucket, which bucket-level actions require. A prefix may
	// reference claims as ${claim} (see the package documentation); a
	// reference whose claim is missing or unsafe makes that prefix match
	// nothing.
	Prefixes []string `yaml:"prefixes"`
	// Actions granted. Required.
	Actions []Action `yaml:"actions"`
}

// Grant is one (bucket, prefix, actions) permission of a principal, with
// templates expanded, for building STS session policies. Bucket may be "*".
// Prefix "" means the whole bucket.
type Grant struct {
	Bucket  string
	Prefix  string
	Actions Action
}

// Policy is a compiled, immutable set of rules; it denies by default. It is
// safe for concurrent use. A nil *Policy denies everything.
type Policy struct {
	rules []compiledRule
}

type compiledRule struct {
	name                                          string
	subjects, issuers, groups, roles, accessKeyID []string
	anonymous                                     bool
	anyBucket                                     bool
	buckets                                       []string
	prefixes                                      []template
	actions                                       Action
}

// CheckRule reports what is wrong with one rule, as NewPolicy would
// (without naming its place in a list, which the caller knows). Errors
// wrap [ErrInvalidPolicy].
func CheckRule(r Rule) error {
	_, err := compileRule(r)
	return err
}

// NewPolicy validates and compiles rules; an error names the rule by its
// place in rules (from 1) and its Name. Errors wrap [ErrInvalidPolicy].
func NewPolicy(rules []Rule) (*Policy, error) {
	p := &Policy{rules: make([]compiledRule, 0, len(rules))}
	for i, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			if r.Name != "" {
				return nil, fmt.Errorf("compiling rule %d (%q): %w", i+1, r.Name, err)
			}
			return nil, fmt.Errorf("compiling rule %d: %w", i+1, err)
		}
		p.rules = append(p.rules, c)
	}
	return p, nil
}

func compileRule(r Rule) (compiledRule, error) {
	c := compiledRule{
		name:        r.Name,
		subjects:    slices.Clone(r.Subjects),
		issuers:     slices.Clone(r.Issuers),
		groups:      slices.Clone(r.Groups),
		roles:       slices.Clone(r.Roles),
		accessKeyID: slices.Clone(r.AccessKeyIDs),
		anonymous:   r.Anonymous,
	}
	criteria := len(c.subjects) + len(c.issuers) + len(c.groups) + len(c.roles) + len(c.accessKeyID)
	switch {
	case c.anonymous && criteria > 0:
		return c, fmt.Errorf("anonymous cannot be combined with other principal criteria: %w", ErrInvalidPolicy)
	case !c.anonymous && criteria == 0:
		return c, fmt.Errorf("no principal criteria: %w", ErrInvalidPolicy)
	case len(r.Actions) == 0:
		return c, fmt.Errorf("no actions: %w", ErrInvalidPolicy)
	}
	for _, a := range r.Actions {
		if a == 0 || a&^ActionAll != 0 {
			return c, fmt.Errorf("action %#x: %w", uint16(a), ErrInvalidPolicy)
		}
		c.actions |= a
	}
	if len(r.Buckets) == 0 && c.actions != ActionServiceList {
		return c, fmt.Errorf("no buckets: %w", ErrInvalidPolicy)
	}
	for _, b := range r.Buckets {
		switch {
		case b == "*":
			c.anyBucket = true
		case b == "" || strings.ContainsAny(b, "/*?$"):
			return c, fmt.Errorf("bucket %q: %w", b, ErrInvalidPolicy)
		default:
			c.buckets = append(c.buckets, b)
		}
	}
	prefixes := r.Prefixes
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	for _, s := range prefixes {
		if i := strings.IndexByte(s, '*'); i >= 0 {
			return c, globPrefixError(s, s[:i])
		}
		t, err := compileTemplate(s)
		if err != nil {
			return c, err
		}
		c.prefixes = append(c.prefixes, t)
	}
	return c, nil
}

// globPrefixError explains a prefix with a '*': prefixes are literal, so
// "logs/*" would grant only keys starting with "logs/*" and silently deny
// the rest of logs/ (and vended STS policies, where RAM reads '*' as a
// wildcard, leave such a grant out). lit is the part before the '*'.
func globPrefixError(s, lit string) error {
	fix := fmt.Sprintf("write %q to grant every key under it", lit)
	switch {
	case lit == "":
		fix = "omit prefixes (or use \"\") to grant the whole bucket"
	case !strings.HasSuffix(lit, "/") && strings.Contains(lit, "/"):
		fix = fmt.Sprintf("write %q to grant every key starting with it (or %q for a folder)", lit, lit[:strings.LastIndexByte(lit, '/')+1])
	case !strings.HasSuffix(lit, "/"):
		fix = fmt.Sprintf("write %q to grant every key starting with it", lit)
	}
	return fmt.Errorf("prefix %q contains '*': prefixes are literal key prefixes, not globs (they match every key that starts with them); %s: %w", s, fix, ErrInvalidPolicy)
}

// matchPrincipal reports whether the rule's principal criteria match p.
func (c *compiledRule) matchPrincipal(p *Principal) bool {
	if p.Mode == ModeAnonymous || c.anonymous {
		return p.Mode == ModeAnonymous && c.anonymous
	}
	if len(c.subjects) > 0 && (p.Mode != ModeJWT || !slices.Contains(c.subjects, p.Subject)) {
		return false
	}
	if len(c.issuers) > 0 && (p.Mode != ModeJWT || !slices.Contains(c.issuers, p.Issuer)) {
		return false
	}
	if len(c.accessKeyID) > 0 && (p.Mode != ModeAccessKey || !slices.Contains(c.accessKeyID, p.KeyID)) {
		return false
	}
	if len(c.groups) > 0 && !intersects(c.groups, p.Groups) {
		return false
	}
	if len(c.roles) > 0 && !intersects(c.roles, p.Roles) {
		return false
	}
	return true
}

func intersects(a, b []string) bool {
	for _, x := range b {
		if slices.Contains(a, x) {
			return true
		}
	}
	return false
}

func (c *compiledRule) matchBucket(bucket string) bool {
	return c.anyBucket || slices.Contains(c.buckets, bucket)
}

// Authorize reports whether p may perform action (exactly one Action) on
// bucket and key, returning nil if a rule allows it and an error wrapping
// [ErrDenied] otherwise. For object actions key is the object key; for
// ActionList it is the list's prefix parameter, so a listing is allowed
// only when it stays inside an allowed prefix; for bucket-level actions
// key must be ""; for ActionServiceList bucket and key are "".
//
// Keys with a "." or ".." path segment never match a non-empty prefix, in
// case something between the client and OSS normalises paths.
func (pol *Policy) Authorize(p *Principal, action Action, bucket, key string) error {
	if pol == nil || p == nil || bits.OnesCount16(uint16(action)) != 1 || action&^ActionAll != 0 {
		return ErrDenied
	}
	switch {
	case action == ActionServiceList:
		if bucket != "" || key != "" {
			return fmt.Errorf("service-level action with a bucket or key: %w", ErrDenied)
		}
	case bucket == "":
		return fmt.Errorf("%s without a bucket: %w", action, ErrDenied)
	case action&objectActions == 0 && key != "":
		return fmt.Errorf("bucket-level action %s with a key: %w", action, ErrDenied)
	}
	dotty := hasDotSegment(key)
	for i := range pol.rules {
		r := &pol.rules[i]
		if r.actions&action == 0 || !r.matchPrincipal(p) {
			continue
		}
		if action == ActionServiceList {
			return nil
		}
		if !r.matchBucket(bucket) {
			continue
		}
		for j := range r.prefixes {
			t := &r.prefixes[j]
			if t.raw == "" {
				return nil
			}
			if !dotty && t.matchPrefix(p, key) {
				return nil
			}
		}
	}
	return ErrDenied
}

// hasDotSegment reports whether key has a "." or ".." segment.
func hasDotSegment(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// Grants lists what p may do, one entry per (bucket, prefix), with
// templates expanded; prefixes whose claims are missing or unsafe are left
// out. ActionServiceList appears as a grant with Bucket "" and Prefix "".
// The result is sorted by bucket and prefix. A nil policy or principal has
// no grants.
func (pol *Policy) Grants(p *Principal) []Grant {
	if pol == nil || p == nil {
		return nil
	}
	type bp struct{ bucket, prefix string }
	acc := map[bp]Action{}
	for i := range pol.rules {
		r := &pol.rules[i]
		if !r.matchPrincipal(p) {
			continue
		}
		if r.actions&ActionServiceList != 0 {
			acc[bp{}] |= ActionServiceList
		}
		acts := r.actions &^ ActionServiceList
		if acts == 0 {
			continue
		}
		buckets := r.buckets
		if r.anyBucket {
			buckets = []string{"*"}
		}
		for j := range r.prefixes {
			prefix, ok := r.prefixes[j].expand(p)
			if !ok {
				continue
			}
			a := acts
			if prefix != "" {
				a &= objectActions // bucket-level actions need the whole bucket
			}
			if a == 0 {
				continue
			}
			for _, b := range buckets {
				acc[bp{b, prefix}] |= a
			}
		}
	}
	out := make([]Grant, 0, len(acc))
	for k, a := range acc {
		out = append(out, Grant{Bucket: k.bucket, Prefix: k.prefix, Actions: a})
	}
	slices.SortFunc(out, func(x, y Grant) int {
		if c := strings.Compare(x.Bucket, y.Bucket); c != 0 {
			return c
		}
		return strings.Compare(x.Prefix, y.Prefix)
	})
	return out
}
