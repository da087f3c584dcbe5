package auth

import (
	"fmt"
	"log/slog"
)

// Secret is key material (an HMAC secret or an access key secret). Its
// String, GoString, Format and LogValue methods redact it, so printing a
// config that holds one never reveals it. The bytes are used as-is.
type Secret []byte

func (s Secret) String() string {
	if len(s) == 0 {
		return ""
	}
	return "[REDACTED]"
}

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so that every verb redacts.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var (
	_ fmt.Stringer   = Secret(nil)
	_ fmt.GoStringer = Secret(nil)
	_ fmt.Formatter  = Secret(nil)
	_ slog.LogValuer = Secret(nil)
)
