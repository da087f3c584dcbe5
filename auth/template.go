package auth

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// template is a compiled key-prefix template such as "users/${sub}/". It is
// a sequence of literal parts and claim references; matching walks it
// against the key without building the expanded string.
type template struct {
	raw   string
	parts []tplPart
}

type tplPart struct {
	lit   string // literal text, when claim == ""
	claim string // claim name of a ${claim} reference
}

// compileTemplate parses s. A reference is "${name}" with a name of letters,
// digits, '_', '-', '.' or ':'; every reference must be followed directly by
// a literal '/', so that a claim value always fills a whole path segment and
// can never be a prefix of a longer one ("home/${sub}" would let sub "al"
// reach "home/alice"). A '$' not followed by '{' is literal.
func compileTemplate(s string) (template, error) {
	t := template{raw: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return template{}, fmt.Errorf("compiling prefix %q: unterminated ${: %w", s, ErrInvalidPolicy)
		}
		name := rest[:j]
		if !validClaimName(name) {
			return template{}, fmt.Errorf("compiling prefix %q: bad claim name %q: %w", s, name, ErrInvalidPolicy)
		}
		rest = rest[j+1:]
		if !strings.HasPrefix(rest, "/") {
			return template{}, fmt.Errorf("compiling prefix %q: ${%s} must be followed by '/': %w", s, name, ErrInvalidPolicy)
		}
		t.parts = append(t.parts, tplPart{claim: name})
	}
	return t, nil
}

func validClaimName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// isLiteral reports whether t has no claim references.
func (t *template) isLiteral() bool {
	return len(t.parts) == 0 || len(t.parts) == 1 && t.parts[0].claim == ""
}

// matchPrefix reports whether key starts with t expanded for p. A reference
// whose claim is missing or unsafe (see safeClaimValue) never matches.
func (t *template) matchPrefix(p *Principal, key string) bool {
	for i := range t.parts {
		part := &t.parts[i]
		v := part.lit
		if part.claim != "" {
			var ok bool
			if v, ok = claimValue(p, part.claim); !ok {
				return false
			}
		}
		if !strings.HasPrefix(key, v) {
			return false
		}
		key = key[len(v):]
	}
	return true
}

// expand returns t with its references replaced by p's claims, or false if
// one is missing or unsafe.
func (t *template) expand(p *Principal) (string, bool) {
	if t.isLiteral() {
		return t.raw, true
	}
	var b strings.Builder
	for _, part := range t.parts {
		if part.claim == "" {
			b.WriteString(part.lit)
			continue
		}
		v, ok := claimValue(p, part.claim)
		if !ok {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// claimValue resolves a template reference: "sub", "iss", "name" and
// "access_key_id" read the Principal's fields; any other name reads a string
// claim. The value must be safe to put in a key prefix.
func claimValue(p *Principal, name string) (string, bool) {
	var v string
	switch name {
	case "sub":
		v = p.Subject
	case "iss":
		v = p.Issuer
	case "name":
		v = p.Name
	case "access_key_id":
		v = p.KeyID
	default:
		s, ok := p.Claims[name].(string)
		if !ok {
			return "", false
		}
		v = s
	}
	return v, safeClaimValue(v)
}

// safeClaimValue reports whether v may fill a path segment of a prefix: it
// is non-empty valid UTF-8, is not "." and contains no '/', '\\', "..",
// '*', '?', '$', '{', '}' or control characters. Anything else could widen
// the prefix (or look like a wildcard or a template to something downstream).
func safeClaimValue(v string) bool {
	if v == "" || v == "." || strings.Contains(v, "..") || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		switch {
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
			return false
		case r == '/', r == '\\', r == '*', r == '?', r == '$', r == '{', r == '}':
			return false
		}
	}
	return true
}
