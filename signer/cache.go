package signer

import (
	"crypto/sha256"
	"strings"
	"sync"
)

// maxCachedKeys bounds the derived-key cache; when full it is emptied.
// A proxy signs with one upstream key per region and verifies a handful of
// client keys, and each entry only lives for a UTC day.
const maxCachedKeys = 512

type keyID struct {
	accessKeyID, region, product string
	date                         [8]byte
}

type keyEntry struct {
	secret string // the secret the key was derived from
	key    [sha256.Size]byte
}

// keyCache caches derived V4 signing keys. Its zero value is ready; it is
// safe for concurrent use and must not be copied after first use.
type keyCache struct {
	mu sync.RWMutex
	m  map[keyID]keyEntry
}

// signingKey returns the derived key for the credentials, date (yyyymmdd),
// region and product, deriving and caching it on a miss. An entry whose
// secret differs from the one given (a rotated key) is replaced.
func (c *keyCache) signingKey(accessKeyID, secret string, date []byte, region, product string) [sha256.Size]byte {
	id := keyID{accessKeyID: accessKeyID, region: region, product: product}
	copy(id.date[:], date)
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && e.secret == secret {
		return e.key
	}
	k := deriveKeyV4(secret, string(date), region, product)
	// Clone: the strings may point into a request header we must not pin.
	// (A separate variable also keeps the caller's strings from escaping.)
	nid := keyID{accessKeyID: strings.Clone(accessKeyID), region: strings.Clone(region),
		product: strings.Clone(product), date: id.date}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyID]keyEntry)
	}
	c.m[nid] = keyEntry{secret: strings.Clone(secret), key: k}
	c.mu.Unlock()
	return k
}
