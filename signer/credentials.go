package signer

import (
	"fmt"
	"log/slog"
)

// Credentials is the key material a request is signed with. It holds
// secrets, so its String, GoString and LogValue methods redact them: printing
// a Credentials with fmt or slog shows only a masked access key id.
//
// A zero SecurityToken means long-term access keys; a non-empty one means STS
// credentials, and the signer sends it as x-oss-security-token (header
// signing) or as the security-token / x-oss-security-token query parameter
// (presigning).
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// HasToken reports whether the credentials are STS credentials.
func (c Credentials) HasToken() bool { return c.SecurityToken != "" }

// MaskID returns the access key id with all but its last four characters
// replaced by '*', for logs. Short ids are masked entirely.
func MaskID(id string) string {
	const keep = 4
	if len(id) <= keep*2 {
		return "****"
	}
	return id[:keep] + "****" + id[len(id)-keep:]
}

// String implements fmt.Stringer without revealing the secret or the token.
func (c Credentials) String() string {
	tok := "none"
	if c.SecurityToken != "" {
		tok = "[REDACTED]"
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %s, AccessKeySecret: [REDACTED], SecurityToken: %s}", MaskID(c.AccessKeyID), tok)
}

// GoString implements fmt.GoStringer, so %#v redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format implements fmt.Formatter so that every verb, %+v included, redacts.
func (c Credentials) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.String()) }

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", MaskID(c.AccessKeyID)),
		slog.Bool("sts", c.SecurityToken != ""),
	)
}

var (
	_ fmt.Stringer   = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ fmt.Formatter  = Credentials{}
	_ slog.LogValuer = Credentials{}
)
