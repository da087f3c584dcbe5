package vend

import (
	"math"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// RateLimit limits how often each principal may call an endpoint: a token
// bucket per principal (golang.org/x/time/rate), kept in a bounded LRU. The
// zero value means no limit.
type RateLimit struct {
	// PerSecond is the sustained rate. 0: no limit.
	PerSecond float64
	// Burst is the bucket size. 0: PerSecond rounded up, at least 1.
	Burst int
	// MaxPrincipals bounds the principals tracked; the least recently seen
	// is forgotten (and so starts afresh). 0: 10000.
	MaxPrincipals int
}

// limiter is a per-principal rate limiter; nil allows everything. It is
// safe for concurrent use.
type limiter struct {
	cfg RateLimit
	lru *lru.Cache[string, *rate.Limiter]
}

func newLimiter(cfg RateLimit) (*limiter, error) {
	if cfg.PerSecond <= 0 {
		return nil, nil
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.PerSecond)))
	}
	if cfg.MaxPrincipals <= 0 {
		cfg.MaxPrincipals = 10000
	}
	c, err := lru.New[string, *rate.Limiter](cfg.MaxPrincipals)
	if err != nil {
		return nil, err
	}
	return &limiter{cfg: cfg, lru: c}, nil
}

// allow takes a token for key at now. When none is left it returns false
// and how long until one is.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	lim, ok := l.lru.Get(key)
	if !ok {
		fresh := rate.NewLimiter(rate.Limit(l.cfg.PerSecond), l.cfg.Burst)
		if prev, found, _ := l.lru.PeekOrAdd(key, fresh); found {
			lim = prev
		} else {
			lim = fresh
		}
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
