package auth

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// tokenHasher computes the SHA-256 cache key of a token without
// allocating: sha256.Sum256([]byte(tok)) copied every token (about 700
// bytes for an RS256 JWT) to the heap on each request. The zero value is
// ready; it is safe for concurrent use.
type tokenHasher struct {
	pool sync.Pool // *tokenHashState
}

type tokenHashState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// maxPooledToken bounds the buffer a pooled state keeps (tokens are at
// most Config.MaxTokenSize, 8 KiB by default).
const maxPooledToken = 16 << 10

func (t *tokenHasher) sum(tok string) [sha256.Size]byte {
	s, _ := t.pool.Get().(*tokenHashState)
	if s == nil {
		s = &tokenHashState{h: sha256.New()}
	}
	s.h.Reset()
	s.buf = append(s.buf[:0], tok...)
	s.h.Write(s.buf)
	out := [sha256.Size]byte(s.h.Sum(s.sum[:0]))
	if cap(s.buf) <= maxPooledToken {
		t.pool.Put(s)
	}
	return out
}
