package vend_test

import (
	"errors"
	"testing"

	"github.com/ossproxy/ossproxy/vend"
)

// TestPresignCallbackHeaderAnyCase: the presign API refuses an upload
// callback header in any spelling a client may send, since net/http and
// OSS read header names case-insensitively: header names are canonicalised
// before the x-oss-callback check (403), and a name with '_' is not an
// x-oss-* header at all (400). No URL is ever signed for one.
func TestPresignCallbackHeaderAnyCase(t *testing.T) {
	tests := []struct {
		name string
		want error
	}{
		{"x-oss-callback", vend.ErrDenied},
		{"X-OSS-CALLBACK", vend.ErrDenied},
		{"x-Oss-cAllback", vend.ErrDenied},
		{" x-oss-callback ", vend.ErrDenied},
		{"X-OSS-CALLBACK-VAR", vend.ErrDenied},
		{"x-oss-callback-var", vend.ErrDenied},
		{"x_oss_callback", vend.ErrMalformed},
		{"X_OSS_CALLBACK_VAR", vend.ErrMalformed},
		{"x-oss-callback\x00", vend.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"bucket":"bkt","key":"users/alice/x","method":"PUT","headers":{"` + hardJSONEscape(tc.name) + `":"eyJjYWxsYmFja1VybCI6Imh0dHA6Ly9ldmlsIn0="}}`
			_, err := vend.DecodePresignRequest([]byte(body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodePresignRequest: %v, want %v", err, tc.want)
			}
		})
	}
}

func hardJSONEscape(s string) string {
	out := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		if c < 0x20 {
			out = append(out, []byte(`\u00`)...)
			out = append(out, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			continue
		}
		out = append(out, c)
	}
	return string(out)
}
