package osstest

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Policy is a RAM policy document as OSS evaluates it:
//
//	{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:GetObject"],
//	  "Resource":["acs:oss:*:*:bkt/users/alice/*"],
//	  "Condition":{"StringLike":{"oss:Prefix":["users/alice/*"]}}}]}
//
// An explicit Deny wins over any Allow; with no matching Allow the request
// is denied. Action and Resource patterns use '*' and '?' wildcards and match
// case-sensitively, except the action's service prefix. Supported condition
// operators are StringEquals, StringNotEquals, StringLike and StringNotLike on
// request keys such as oss:Prefix and oss:Delimiter; a condition key the
// request does not carry matches as the empty string.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement.
type Statement struct {
	Effect    string                           `json:"Effect"`
	Action    StringList                       `json:"Action"`
	Resource  StringList                       `json:"Resource"`
	Condition map[string]map[string]StringList `json:"Condition,omitempty"`
}

// StringList is a JSON string or array of strings.
type StringList []string

// UnmarshalJSON accepts "x" or ["x","y"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or an array of strings: %w", err)
	}
	*l = many
	return nil
}

// ParsePolicy parses and validates a policy document, as STS does for the
// Policy parameter (InvalidParameter.PolicyGrammar on error).
func ParsePolicy(doc string) (*Policy, error) {
	var p Policy
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	if len(p.Statement) == 0 {
		return nil, fmt.Errorf("parsing policy: no statement")
	}
	for i, s := range p.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return nil, fmt.Errorf("parsing policy: statement %d: effect %q", i, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			return nil, fmt.Errorf("parsing policy: statement %d: needs Action and Resource", i)
		}
		for op := range s.Condition {
			switch op {
			case "StringEquals", "StringNotEquals", "StringLike", "StringNotLike":
			default:
				return nil, fmt.Errorf("parsing policy: statement %d: unsupported condition %q", i, op)
			}
		}
	}
	return &p, nil
}

// MustParsePolicy is ParsePolicy for literals in tests; it panics on error.
func MustParsePolicy(doc string) *Policy {
	p, err := ParsePolicy(doc)
	if err != nil {
		panic(err)
	}
	return p
}

// Allows evaluates the policy for one action (e.g. "oss:GetObject") on one
// resource (e.g. "acs:oss:cn-hangzhou:1234:bkt/dir/key").
func (p *Policy) Allows(action, resource string, cond map[string]string) bool {
	allowed := false
	for _, s := range p.Statement {
		if !s.matches(action, resource, cond) {
			continue
		}
		if s.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (s *Statement) matches(action, resource string, cond map[string]string) bool {
	if !anyMatch(s.Action, action, true) || !anyMatch(s.Resource, resource, false) {
		return false
	}
	for op, kv := range s.Condition {
		for key, vals := range kv {
			got := cond[key]
			var hit bool
			switch op {
			case "StringEquals", "StringNotEquals":
				for _, v := range vals {
					hit = hit || v == got
				}
			case "StringLike", "StringNotLike":
				hit = anyMatch(vals, got, false)
			}
			if strings.HasSuffix(op, "NotEquals") || strings.HasSuffix(op, "NotLike") {
				hit = !hit
			}
			if !hit {
				return false
			}
		}
	}
	return true
}

func anyMatch(patterns []string, s string, action bool) bool {
	for _, p := range patterns {
		if action {
			// "oss:GetObject": the service part is case-insensitive.
			if i := strings.IndexByte(p, ':'); i > 0 && strings.EqualFold(p[:i+1], s[:min(len(s), i+1)]) {
				p = s[:i+1] + p[i+1:]
			}
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against a pattern in which '*' matches any run of
// characters (slashes included) and '?' any one character.
func wildcardMatch(pattern, s string) bool {
	// path.Match treats '/' specially and supports classes; RAM does neither,
	// so escape what path.Match would interpret and map '/' away.
	const sep = "\x00"
	esc := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, "/", sep)
	ok, err := path.Match(esc.Replace(pattern), strings.ReplaceAll(s, "/", sep))
	return err == nil && ok
}
