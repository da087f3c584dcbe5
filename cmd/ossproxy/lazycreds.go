package main

import (
	"context"
	"errors"
	"sync"

	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/vend"
)

// errCredsClosed is returned by a lazyCache used after close.
var errCredsClosed = errors.New("credentials cache closed")

// lazyCache is a credentials cache that is built on first use, so the
// vend API's own caches make no STS call, and start no refresh goroutine,
// until a caller asks for a presigned URL or STS credentials. It is safe
// for concurrent use.
type lazyCache struct {
	build func() (*credentials.Cache, func(), error)

	mu      sync.Mutex
	c       *credentials.Cache
	closeFn func()
	closed  bool
}

var (
	_ credentials.Provider = (*lazyCache)(nil)
	_ vend.Invalidator     = (*lazyCache)(nil)
)

func (l *lazyCache) get() (*credentials.Cache, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, errCredsClosed
	case l.c != nil:
		return l.c, nil
	}
	c, closeFn, err := l.build()
	if err != nil {
		return nil, err
	}
	l.c, l.closeFn = c, closeFn
	return c, nil
}

// Retrieve builds the cache if needed and retrieves from it.
func (l *lazyCache) Retrieve(ctx context.Context) (credentials.Credentials, error) {
	c, err := l.get()
	if err != nil {
		return credentials.Credentials{}, err
	}
	return c.Retrieve(ctx)
}

// Invalidate passes stale to the cache, if it was built.
func (l *lazyCache) Invalidate(stale credentials.Credentials) {
	l.mu.Lock()
	c := l.c
	l.mu.Unlock()
	if c != nil {
		c.Invalidate(stale)
	}
}

// close closes the cache if it was built; later calls fail.
func (l *lazyCache) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.closeFn != nil {
		l.closeFn()
	}
}
