package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

const testIss = "https://idp.example.com"

func testPolicy(t testing.TB) *Policy {
	t.Helper()
	pol, err := NewPolicy([]Rule{
		{
			Name:     "per-user folders",
			Issuers:  []string{testIss},
			Groups:   []string{"staff"},
			Buckets:  []string{"home"},
			Prefixes: []string{"users/${sub}/", "teams/${team}/"},
			Actions:  []Action{ActionRead, ActionList, ActionWrite, ActionDelete},
		},
		{
			Name:     "public read",
			Groups:   []string{"staff", "partners"},
			Buckets:  []string{"public"},
			Prefixes: []string{"pub/"},
			Actions:  []Action{ActionRead, ActionList},
		},
		{
			Name:     "admins",
			Subjects: []string{"root"},
			Issuers:  []string{testIss},
			Buckets:  []string{"*"},
			Actions:  []Action{ActionAll},
		},
		{
			Name:         "legacy uploader",
			AccessKeyIDs: []string{"AKUPLOADER"},
			Buckets:      []string{"ingest"},
			Prefixes:     []string{"in/${name}/"},
			Actions:      []Action{ActionWrite},
		},
		{
			Name:    "auditors",
			Roles:   []string{"auditor"},
			Issuers: []string{testIss},
			Buckets: []string{"audit", "home"},
			Actions: []Action{ActionRead, ActionList, ActionBucketRead},
		},
		{
			Name:      "sidecar",
			Anonymous: true,
			Buckets:   []string{"cache"},
			Actions:   []Action{ActionRead, ActionBucketRead},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func jwtPrincipal(sub string, groups []string, claims map[string]any) *Principal {
	if claims == nil {
		claims = map[string]any{}
	}
	claims["sub"] = sub
	return &Principal{Name: sub, Mode: ModeJWT, Issuer: testIss, Subject: sub, Groups: groups, Claims: claims}
}

func TestAuthorizeMatrix(t *testing.T) {
	pol := testPolicy(t)
	alice := jwtPrincipal("alice", []string{"staff"}, map[string]any{"team": "red"})
	aliceOtherIss := jwtPrincipal("alice", []string{"staff"}, nil)
	aliceOtherIss.Issuer = "https://evil.example.com"
	nogroup := jwtPrincipal("bob", nil, nil)
	partner := jwtPrincipal("pat", []string{"partners"}, nil)
	root := jwtPrincipal("root", nil, nil)
	uploader := &Principal{Name: "ci", Mode: ModeAccessKey, KeyID: "AKUPLOADER"}
	anon := &Principal{Name: "anonymous", Mode: ModeAnonymous}
	// A JWT whose sub equals an access key's principal name gets nothing
	// of the access key's rights.
	fakeUploader := jwtPrincipal("ci", []string{"staff"}, nil)
	fakeUploader.KeyID = "AKUPLOADER"

	auditor := jwtPrincipal("eve", nil, nil)
	auditor.Roles = []string{"auditor"}
	auditorOtherIss := jwtPrincipal("eve", nil, nil)
	auditorOtherIss.Roles = []string{"auditor"}
	auditorOtherIss.Issuer = "https://evil.example.com"

	hostile := func(sub string, team any) *Principal {
		return jwtPrincipal(sub, []string{"staff"}, map[string]any{"team": team})
	}

	tests := []struct {
		name   string
		p      *Principal
		action Action
		bucket string
		key    string
		allow  bool
	}{
		{"own folder read", alice, ActionRead, "home", "users/alice/a.txt", true},
		{"own folder write", alice, ActionWrite, "home", "users/alice/dir/b", true},
		{"own folder delete", alice, ActionDelete, "home", "users/alice/x", true},
		{"team folder via claim", alice, ActionRead, "home", "teams/red/doc", true},
		{"other team", alice, ActionRead, "home", "teams/blue/doc", false},
		{"other user", alice, ActionRead, "home", "users/bob/a.txt", false},
		{"user prefix sibling", alice, ActionRead, "home", "users/alice2/a.txt", false},
		{"folder itself without slash", alice, ActionRead, "home", "users/alice", false},
		{"dotdot escape", alice, ActionRead, "home", "users/alice/../bob/a", false},
		{"dot segment", alice, ActionRead, "home", "users/alice/./a", false},
		{"wrong bucket", alice, ActionRead, "other", "users/alice/a.txt", false},
		{"bucket-level needs whole bucket", alice, ActionBucketRead, "home", "", false},
		{"service list not granted", alice, ActionServiceList, "", "", false},
		{"list own folder", alice, ActionList, "home", "users/alice/", true},
		{"list own subfolder", alice, ActionList, "home", "users/alice/photos/", true},
		{"list escaping prefix", alice, ActionList, "home", "users/", false},
		{"list partial prefix", alice, ActionList, "home", "users/al", false},
		{"list everything", alice, ActionList, "home", "", false},
		{"other issuer same sub", aliceOtherIss, ActionRead, "home", "users/alice/a.txt", false},
		{"other issuer public via group", aliceOtherIss, ActionRead, "public", "pub/x", true},
		{"no group", nogroup, ActionRead, "home", "users/bob/a.txt", false},
		{"partner public read", partner, ActionRead, "public", "pub/x", true},
		{"partner public write", partner, ActionWrite, "public", "pub/x", false},
		{"partner outside pub", partner, ActionRead, "public", "private/x", false},
		{"root anything", root, ActionDelete, "any-bucket", "any/key", true},
		{"root bucket write", root, ActionBucketWrite, "any-bucket", "", true},
		{"root service list", root, ActionServiceList, "", "", true},
		{"uploader own folder", uploader, ActionWrite, "ingest", "in/ci/f.bin", true},
		{"uploader read", uploader, ActionRead, "ingest", "in/ci/f.bin", false},
		{"uploader other folder", uploader, ActionWrite, "ingest", "in/other/f.bin", false},
		{"jwt posing as access key", fakeUploader, ActionWrite, "ingest", "in/ci/f.bin", false},
		{"role read", auditor, ActionRead, "audit", "any/key", true},
		{"role list whole bucket", auditor, ActionList, "home", "", true},
		{"role bucket read", auditor, ActionBucketRead, "home", "", true},
		{"role write", auditor, ActionWrite, "audit", "k", false},
		{"role other issuer", auditorOtherIss, ActionRead, "audit", "k", false},
		{"no role", alice, ActionRead, "audit", "k", false},
		{"anonymous read", anon, ActionRead, "cache", "k", true},
		{"anonymous bucket read", anon, ActionBucketRead, "cache", "", true},
		{"anonymous write", anon, ActionWrite, "cache", "k", false},
		{"anonymous elsewhere", anon, ActionRead, "home", "users/alice/a", false},
		{"nil principal", nil, ActionRead, "cache", "k", false},
		{"action set refused", root, ActionRead | ActionWrite, "b", "k", false},
		{"zero action", root, 0, "b", "k", false},
		{"bucket action with key", root, ActionBucketRead, "b", "k", false},
		{"object action without bucket", root, ActionRead, "", "k", false},
		{"service list with bucket", root, ActionServiceList, "b", "", false},

		// Hostile claims never widen a prefix.
		{"sub with slash", hostile("alice/../bob", "red"), ActionRead, "home", "users/alice/../bob/x", false},
		{"sub with slash prefix", hostile("a/b", "red"), ActionRead, "home", "users/a/b/x", false},
		{"sub dotdot", hostile("..", "red"), ActionRead, "home", "users/../x", false},
		{"sub dotdot list", hostile("..", "red"), ActionList, "home", "users/../", false},
		{"sub star", hostile("*", "red"), ActionRead, "home", "users/*/x", false},
		{"sub empty", hostile("", "red"), ActionRead, "home", "users//x", false},
		{"sub dot", hostile(".", "red"), ActionRead, "home", "users/./x", false},
		{"sub control char", hostile("a\nb", "red"), ActionRead, "home", "users/a\nb/x", false},
		{"sub NUL", hostile("a\x00", "red"), ActionRead, "home", "users/a\x00/x", false},
		{"team not a string", hostile("carol", []any{"red"}), ActionRead, "home", "teams/red/x", false},
		{"team missing", hostile("carol", nil), ActionRead, "home", "teams//x", false},
		{"team slash", hostile("carol", "red/../blue"), ActionRead, "home", "teams/red/../blue/x", false},
		{"hostile sub keeps team", hostile("a/b", "red"), ActionRead, "home", "teams/red/x", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pol.Authorize(tt.p, tt.action, tt.bucket, tt.key)
			if tt.allow && err != nil {
				t.Fatalf("Authorize = %v, want allowed", err)
			}
			if !tt.allow {
				if !errors.Is(err, ErrDenied) {
					t.Fatalf("Authorize = %v, want ErrDenied", err)
				}
				if StatusCode(err) != 403 || ErrorCode(err) != "AccessDenied" {
					t.Fatalf("status, code = %d, %q", StatusCode(err), ErrorCode(err))
				}
			}
		})
	}
}

func TestNilPolicyDenies(t *testing.T) {
	var pol *Policy
	if err := pol.Authorize(jwtPrincipal("root", nil, nil), ActionRead, "b", "k"); !errors.Is(err, ErrDenied) {
		t.Fatalf("nil policy: %v", err)
	}
	empty, err := NewPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Authorize(jwtPrincipal("root", nil, nil), ActionRead, "b", "k"); !errors.Is(err, ErrDenied) {
		t.Fatalf("empty policy: %v", err)
	}
}

func TestNewPolicyRejects(t *testing.T) {
	base := Rule{Subjects: []string{"a"}, Buckets: []string{"b"}, Actions: []Action{ActionRead}}
	tests := []struct {
		name string
		edit func(r *Rule)
	}{
		{"no principal criteria", func(r *Rule) { r.Subjects = nil }},
		{"anonymous with criteria", func(r *Rule) { r.Anonymous = true }},
		{"no actions", func(r *Rule) { r.Actions = nil }},
		{"bad action", func(r *Rule) { r.Actions = []Action{1 << 12} }},
		{"no buckets", func(r *Rule) { r.Buckets = nil }},
		{"bucket wildcard fragment", func(r *Rule) { r.Buckets = []string{"logs-*"} }},
		{"unterminated template", func(r *Rule) { r.Prefixes = []string{"users/${sub"} }},
		{"empty claim name", func(r *Rule) { r.Prefixes = []string{"users/${}/"} }},
		{"bad claim name", func(r *Rule) { r.Prefixes = []string{"users/${a b}/"} }},
		{"claim not followed by slash", func(r *Rule) { r.Prefixes = []string{"home/${sub}"} }},
		{"claim followed by text", func(r *Rule) { r.Prefixes = []string{"home/${sub}-x/"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			if _, err := NewPolicy([]Rule{r}); !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("NewPolicy = %v, want ErrInvalidPolicy", err)
			}
		})
	}
	if _, err := NewPolicy([]Rule{base}); err != nil {
		t.Fatalf("base rule: %v", err)
	}
}

func TestGrants(t *testing.T) {
	pol := testPolicy(t)
	alice := jwtPrincipal("alice", []string{"staff"}, map[string]any{"team": "red"})
	want := []Grant{
		{Bucket: "home", Prefix: "teams/red/", Actions: ActionRead | ActionList | ActionWrite | ActionDelete},
		{Bucket: "home", Prefix: "users/alice/", Actions: ActionRead | ActionList | ActionWrite | ActionDelete},
		{Bucket: "public", Prefix: "pub/", Actions: ActionRead | ActionList},
	}
	if got := pol.Grants(alice); !slices.Equal(got, want) {
		t.Fatalf("Grants(alice) =\n%v\nwant\n%v", got, want)
	}
	hostile := jwtPrincipal("../x", []string{"staff"}, nil)
	want = []Grant{{Bucket: "public", Prefix: "pub/", Actions: ActionRead | ActionList}}
	if got := pol.Grants(hostile); !slices.Equal(got, want) {
		t.Fatalf("Grants(hostile) = %v, want %v", got, want)
	}
	root := jwtPrincipal("root", nil, nil)
	want = []Grant{{Actions: ActionServiceList}, {Bucket: "*", Actions: ActionAll &^ ActionServiceList}}
	if got := pol.Grants(root); !slices.Equal(got, want) {
		t.Fatalf("Grants(root) = %v, want %v", got, want)
	}
	if got := pol.Grants(nil); got != nil {
		t.Fatalf("Grants(nil) = %v", got)
	}
}

func TestActionText(t *testing.T) {
	for _, n := range actionNames {
		a, err := ParseAction(n.name)
		if err != nil || a != n.a || a.String() != n.name {
			t.Errorf("ParseAction(%q) = %v, %v", n.name, a, err)
		}
		var u Action
		b, _ := n.a.MarshalText()
		if err := u.UnmarshalText(b); err != nil || u != n.a {
			t.Errorf("round trip %q: %v, %v", b, u, err)
		}
	}
	if a, err := ParseAction("*"); err != nil || a != ActionAll || a.String() != "*" {
		t.Errorf("ParseAction(*) = %v, %v", a, err)
	}
	if _, err := ParseAction("admin"); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("ParseAction(admin) = %v", err)
	}
	if s := (ActionRead | ActionList).String(); s != "read|list" {
		t.Errorf("String = %q", s)
	}
}

// FuzzTemplate checks that whatever the template and claim, a match never
// lets a key outside the expanded prefix through, and that unsafe claim
// values never match at all.
func FuzzTemplate(f *testing.F) {
	f.Add("users/${sub}/", "alice", "users/alice/x")
	f.Add("users/${sub}/", "../bob", "users/../bob/x")
	f.Add("a/${team}/b/${sub}/", "x/y", "a/x/y/b/")
	f.Add("${sub}/", "*", "*/k")
	f.Add("p/", "", "p/q")
	f.Fuzz(func(t *testing.T, tpl, claim, key string) {
		tm, err := compileTemplate(tpl)
		if err != nil {
			return
		}
		// Every reference resolves to claim.
		p := &Principal{Subject: claim, Issuer: claim, Name: claim, KeyID: claim, Claims: map[string]any{}}
		for _, part := range tm.parts {
			if part.claim != "" {
				p.Claims[part.claim] = claim
			}
		}
		matched := tm.matchPrefix(p, key)
		exp, ok := tm.expand(p)
		if ok != (tm.isLiteral() || safeClaimValue(claim)) {
			t.Fatalf("expand ok=%v for claim %q", ok, claim)
		}
		if matched && (!ok || !strings.HasPrefix(key, exp)) {
			t.Fatalf("template %q claim %q matched key %q outside expansion %q (ok=%v)", tpl, claim, key, exp, ok)
		}
		if ok && strings.HasPrefix(key, exp) && !matched {
			t.Fatalf("template %q claim %q: key %q has prefix %q but did not match", tpl, claim, key, exp)
		}
		if !tm.isLiteral() && ok {
			// The expansion adds exactly the literal parts and the claim.
			if strings.Contains(claim, "/") || strings.Contains(claim, "..") || strings.Contains(claim, "*") {
				t.Fatalf("unsafe claim %q expanded", claim)
			}
		}
	})
}

func BenchmarkAuthorize(b *testing.B) {
	pol := testPolicy(b)
	alice := jwtPrincipal("alice", []string{"staff"}, map[string]any{"team": "red"})
	cases := []struct {
		name   string
		action Action
		bucket string
		key    string
	}{
		{"templated-allow", ActionRead, "home", "users/alice/photos/2024/img.jpg"},
		{"claim-allow", ActionWrite, "home", "teams/red/doc.txt"},
		{"deny", ActionRead, "home", "users/bob/photos/img.jpg"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = pol.Authorize(alice, c.action, c.bucket, c.key)
			}
		})
	}
}

func ExamplePolicy_Authorize() {
	pol, err := NewPolicy([]Rule{{
		Issuers:  []string{"https://idp.example.com"},
		Buckets:  []string{"home"},
		Prefixes: []string{"users/${sub}/"},
		Actions:  []Action{ActionRead, ActionList, ActionWrite},
	}})
	if err != nil {
		panic(err)
	}
	alice := &Principal{Name: "alice", Mode: ModeJWT, Issuer: "https://idp.example.com", Subject: "alice"}
	for _, key := range []string{"users/alice/a.txt", "users/bob/a.txt"} {
		if err := pol.Authorize(alice, ActionRead, "home", key); err != nil {
			fmt.Printf("%s: %d %s\n", key, StatusCode(err), ErrorCode(err))
			continue
		}
		fmt.Printf("%s: allowed\n", key)
	}
	fmt.Println(pol.Grants(alice))
	// Output:
	// users/alice/a.txt: allowed
	// users/bob/a.txt: 403 AccessDenied
	// [{home users/alice/ read|list|write}]
}

// TestACLAction: write does not include acl; acl is scoped by prefix like
// the object actions, a bucket ACL (empty key) needs the whole bucket, and
// "*" grants it.
func TestACLAction(t *testing.T) {
	pol, err := NewPolicy([]Rule{
		{Name: "writer", Subjects: []string{"w"}, Buckets: []string{"b"}, Prefixes: []string{"w/"}, Actions: []Action{ActionWrite}},
		{Name: "publisher", Subjects: []string{"p"}, Buckets: []string{"b"}, Prefixes: []string{"pub/"}, Actions: []Action{ActionWrite, ActionACL}},
		{Name: "bucket admin", Subjects: []string{"a"}, Buckets: []string{"b"}, Actions: []Action{ActionBucketWrite, ActionACL}},
		{Name: "root", Subjects: []string{"root"}, Buckets: []string{"*"}, Actions: []Action{ActionAll}},
	})
	if err != nil {
		t.Fatal(err)
	}
	who := func(sub string) *Principal { return &Principal{Name: sub, Mode: ModeJWT, Subject: sub} }
	tests := []struct {
		sub, key string
		allowed  bool
	}{
		{"w", "w/x", false},
		{"p", "pub/x", true},
		{"p", "w/x", false},
		{"p", "", false},
		{"a", "", true},
		{"a", "any/key", true},
		{"root", "", true},
		{"root", "k", true},
	}
	for _, tc := range tests {
		err := pol.Authorize(who(tc.sub), ActionACL, "b", tc.key)
		if (err == nil) != tc.allowed {
			t.Errorf("%s acl on %q: %v, want allowed=%v", tc.sub, tc.key, err, tc.allowed)
		}
	}
	if err := pol.Authorize(who("w"), ActionWrite, "b", "w/x"); err != nil {
		t.Errorf("writer write: %v", err)
	}
	if a, err := ParseAction("acl"); err != nil || a != ActionACL || ActionAll&ActionACL == 0 {
		t.Errorf("ParseAction(acl) = %v, %v", a, err)
	}
}
