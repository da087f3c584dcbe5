package auth

import (
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
)

func TestTokenHasher(t *testing.T) {
	var th tokenHasher
	tests := []struct {
		name, tok string
	}{
		{"empty", ""},
		{"short", "abc"},
		{"jwt sized", strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 35)},
		{"shorter after longer (buffer reuse)", "x"},
		{"larger than the pooled bound", strings.Repeat("y", maxPooledToken+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := th.sum(tt.tok), sha256.Sum256([]byte(tt.tok)); got != want {
				t.Errorf("sum = %x, want %x", got, want)
			}
		})
	}
}

func TestTokenHasherConcurrent(t *testing.T) {
	var th tokenHasher
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tok := strings.Repeat(string(rune('a'+i)), 100+i*97)
			want := sha256.Sum256([]byte(tok))
			for range 200 {
				if got := th.sum(tok); got != want {
					t.Errorf("goroutine %d: sum = %x, want %x", i, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkTokenHash(b *testing.B) {
	var th tokenHasher
	tok := strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 35)
	b.ReportAllocs()
	for b.Loop() {
		th.sum(tok)
	}
}
