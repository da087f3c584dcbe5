package vend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ossproxy/ossproxy/auth"
)

// MaxPolicyLength is the longest session policy STS accepts, in characters.
const MaxPolicyLength = 2048

const objectActions = auth.ActionRead | auth.ActionList | auth.ActionWrite | auth.ActionDelete

// RAM actions granted for each auth action. Object-level actions apply to
// acs:oss:*:*:<bucket>/<prefix>*, bucket-level ones to acs:oss:*:*:<bucket>.
// Listing is granted on the bucket with an oss:Prefix condition.
var (
	objectRAM = []struct {
		act auth.Action
		ram []string
	}{
		{auth.ActionRead, []string{"oss:GetObject"}},
		{auth.ActionWrite, []string{"oss:PutObject", "oss:AbortMultipartUpload"}},
		{auth.ActionDelete, []string{"oss:DeleteObject"}},
		{auth.ActionList, []string{"oss:ListParts"}},
	}
	bucketRAM = []struct {
		act auth.Action
		ram []string
	}{
		{auth.ActionBucketRead, []string{"oss:GetBucket*"}},
		{auth.ActionBucketWrite, []string{"oss:PutBucket*", "oss:DeleteBucket*"}},
	}
)

// ExpandBuckets replaces grants on bucket "*" by one grant per name in
// buckets (the buckets the proxy serves), so vended credentials never reach
// a bucket the proxy does not serve. Grants on unlisted buckets are dropped.
// The result is sorted by bucket and prefix, with equal entries merged.
func ExpandBuckets(grants []auth.Grant, buckets []string) []auth.Grant {
	type bp struct{ bucket, prefix string }
	acc := map[bp]auth.Action{}
	for _, g := range grants {
		switch {
		case g.Bucket == "": // service-level (ListBuckets)
			acc[bp{}] |= g.Actions
		case g.Bucket == "*":
			for _, b := range buckets {
				acc[bp{b, g.Prefix}] |= g.Actions
			}
		case slices.Contains(buckets, g.Bucket):
			acc[bp{g.Bucket, g.Prefix}] |= g.Actions
		}
	}
	out := make([]auth.Grant, 0, len(acc))
	for k, a := range acc {
		out = append(out, auth.Grant{Bucket: k.bucket, Prefix: k.prefix, Actions: a})
	}
	sortGrants(out)
	return out
}

// Narrow restricts grants to bucket, prefix and actions, as an STS request
// asks. Empty bucket and prefix and zero actions keep everything. A
// non-empty prefix must lie inside a granted prefix of that bucket (a
// request for "users/" when only "users/alice/" is granted is refused), and
// every requested action must be granted there: Narrow never widens.
// Refusals and an empty result wrap ErrDenied. Grants on bucket "*" must
// have been expanded (ExpandBuckets) first.
func Narrow(grants []auth.Grant, bucket, prefix string, actions auth.Action) ([]auth.Grant, error) {
	var out []auth.Grant
	var granted auth.Action
	switch {
	case prefix != "":
		for _, g := range grants {
			if g.Bucket == bucket && strings.HasPrefix(prefix, g.Prefix) {
				granted |= g.Actions & objectActions
			}
		}
		want := actions
		if want == 0 {
			want = granted
		}
		if want != 0 {
			out = append(out, auth.Grant{Bucket: bucket, Prefix: prefix, Actions: want & granted})
		}
	default:
		for _, g := range grants {
			if bucket != "" && g.Bucket != bucket {
				continue
			}
			granted |= g.Actions
			a := g.Actions
			if actions != 0 {
				a &= actions
			}
			if a != 0 {
				out = append(out, auth.Grant{Bucket: g.Bucket, Prefix: g.Prefix, Actions: a})
			}
		}
	}
	if actions&^granted != 0 {
		return nil, fmt.Errorf("%w: actions %s are not granted on %s", ErrDenied, auth.Action(actions&^granted), where(bucket, prefix))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: nothing is granted on %s", ErrDenied, where(bucket, prefix))
	}
	return out, nil
}

func where(bucket, prefix string) string {
	switch {
	case bucket == "":
		return "any bucket"
	case prefix == "":
		return "bucket " + bucket
	}
	return "bucket " + bucket + " prefix " + truncate(prefix)
}

// strList is a JSON string when it has one element, else an array.
type strList []string

func (l strList) MarshalJSON() ([]byte, error) {
	if len(l) == 1 {
		return marshal(l[0])
	}
	return marshal([]string(l))
}

type statement struct {
	Effect    string                        `json:"Effect"`
	Action    strList                       `json:"Action"`
	Resource  strList                       `json:"Resource"`
	Condition map[string]map[string]strList `json:"Condition,omitempty"`
}

type ramPolicy struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// SessionPolicy returns the RAM session policy, as minified JSON, that
// allows exactly grants on OSS: object actions on
// acs:oss:*:*:<bucket>/<prefix>*, listing on the bucket with a StringLike
// oss:Prefix "<prefix>*" condition, bucket-level actions on the bucket and
// ListBuckets for a service-level grant. Read is oss:GetObject, write
// oss:PutObject (which covers append and multipart upload) and
// oss:AbortMultipartUpload, delete oss:DeleteObject, list oss:ListObjects
// and oss:ListParts; ACL and tagging changes are not vended.
//
// Grants covered by a wider grant are dropped and statements with the same
// actions are merged, so the policy is as short as it can be; if it still
// exceeds MaxPolicyLength the error wraps ErrPolicyTooLarge. Grants must have
// concrete bucket names (see ExpandBuckets); a grant whose prefix holds a
// '*' or '?' (which RAM would read as a wildcard) is left out. No grants
// is an error wrapping ErrDenied.
func SessionPolicy(grants []auth.Grant) (string, error) {
	gs := compact(grants)
	if len(gs) == 0 {
		return "", fmt.Errorf("generating session policy: %w: no grants", ErrDenied)
	}
	var stmts []statement
	// Object statements, one per distinct set of RAM actions.
	objRes := map[string][]string{}
	var objKeys []string
	// List statements: per bucket its prefixes ("" = whole bucket).
	listPrefixes := map[string][]string{}
	var listBuckets []string
	bucketRes := map[string][]string{}
	var bucketKeys []string
	service := false
	for _, g := range gs {
		if g.Bucket == "" {
			service = service || g.Actions&auth.ActionServiceList != 0
			continue
		}
		var ram []string
		for _, m := range objectRAM {
			if g.Actions&m.act != 0 {
				ram = append(ram, m.ram...)
			}
		}
		if len(ram) > 0 {
			k := strings.Join(ram, ",")
			if _, ok := objRes[k]; !ok {
				objKeys = append(objKeys, k)
			}
			objRes[k] = append(objRes[k], "acs:oss:*:*:"+g.Bucket+"/"+g.Prefix+"*")
		}
		if g.Actions&auth.ActionList != 0 {
			if _, ok := listPrefixes[g.Bucket]; !ok {
				listBuckets = append(listBuckets, g.Bucket)
			}
			listPrefixes[g.Bucket] = append(listPrefixes[g.Bucket], g.Prefix)
		}
		if g.Prefix == "" {
			ram = ram[:0]
			for _, m := range bucketRAM {
				if g.Actions&m.act != 0 {
					ram = append(ram, m.ram...)
				}
			}
			if len(ram) > 0 {
				k := strings.Join(ram, ",")
				if _, ok := bucketRes[k]; !ok {
					bucketKeys = append(bucketKeys, k)
				}
				bucketRes[k] = append(bucketRes[k], "acs:oss:*:*:"+g.Bucket)
			}
		}
	}
	for _, k := range objKeys {
		stmts = append(stmts, statement{Effect: "Allow", Action: strings.Split(k, ","), Resource: objRes[k]})
	}
	// Buckets whose prefix lists are equal share a list statement.
	listGroups := map[string][]string{}
	var listKeys []string
	for _, b := range listBuckets {
		ps := listPrefixes[b]
		k := "\x00"
		if !slices.Contains(ps, "") {
			k = strings.Join(ps, "\x00")
		}
		if _, ok := listGroups[k]; !ok {
			listKeys = append(listKeys, k)
		}
		listGroups[k] = append(listGroups[k], "acs:oss:*:*:"+b)
	}
	for _, k := range listKeys {
		st := statement{Effect: "Allow", Action: strList{"oss:ListObjects"}, Resource: listGroups[k]}
		if k == "\x00" {
			st.Action = strList{"oss:ListObjects", "oss:ListMultipartUploads"}
		} else {
			var like strList
			for p := range strings.SplitSeq(k, "\x00") {
				like = append(like, p+"*")
			}
			st.Condition = map[string]map[string]strList{"StringLike": {"oss:Prefix": like}}
		}
		stmts = append(stmts, st)
	}
	for _, k := range bucketKeys {
		stmts = append(stmts, statement{Effect: "Allow", Action: strings.Split(k, ","), Resource: bucketRes[k]})
	}
	if service {
		stmts = append(stmts, statement{Effect: "Allow", Action: strList{"oss:ListBuckets"}, Resource: strList{"acs:oss:*:*:*"}})
	}
	if len(stmts) == 0 {
		return "", fmt.Errorf("generating session policy: %w: no grants", ErrDenied)
	}
	b, err := marshal(ramPolicy{Version: "1", Statement: stmts})
	if err != nil {
		return "", fmt.Errorf("generating session policy: %w", err)
	}
	if len(b) > MaxPolicyLength {
		return "", fmt.Errorf("generating session policy: %w (%d characters for %d grants)", ErrPolicyTooLarge, len(b), len(gs))
	}
	return string(b), nil
}

// compact drops unrepresentable grants and grants covered by another
// (same bucket, a prefix of its prefix, a superset of its actions), and
// sorts the rest.
func compact(grants []auth.Grant) []auth.Grant {
	in := make([]auth.Grant, 0, len(grants))
	for _, g := range grants {
		if g.Actions == 0 || strings.ContainsAny(g.Prefix, "*?") || (g.Bucket == "*") {
			continue
		}
		if g.Prefix != "" {
			g.Actions &= objectActions
		}
		in = append(in, g)
	}
	sortGrants(in)
	out := make([]auth.Grant, 0, len(in))
	for i, g := range in {
		covered := false
		for j, h := range in {
			if i == j || h.Bucket != g.Bucket || !strings.HasPrefix(g.Prefix, h.Prefix) || g.Actions&^h.Actions != 0 {
				continue
			}
			// h covers g; of two identical grants keep the first.
			if h.Prefix != g.Prefix || h.Actions != g.Actions || j < i {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, g)
		}
	}
	return out
}

func sortGrants(gs []auth.Grant) {
	slices.SortFunc(gs, func(x, y auth.Grant) int {
		if c := strings.Compare(x.Bucket, y.Bucket); c != 0 {
			return c
		}
		return strings.Compare(x.Prefix, y.Prefix)
	})
}

// marshal is json.Marshal without HTML escaping and without the final
// newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
