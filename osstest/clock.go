package osstest

import (
	"sync"
	"time"
)

// Clock is the emulator's notion of now. By default it follows time.Now
// (which is the fake clock inside a testing/synctest bubble); tests move it
// with Set or Advance to expire tokens and presigned URLs, or to skew the
// server against its clients, without sleeping. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	fixed  time.Time // non-zero: frozen at this instant
}

// Now returns the emulator's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed.IsZero() {
		return c.fixed
	}
	return time.Now().Add(c.offset)
}

// Set freezes the clock at t. Advance moves a frozen clock forward.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fixed = t
}

// Advance moves the clock by d (negative d moves it back). A running clock
// keeps running, offset by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fixed.IsZero() {
		c.fixed = c.fixed.Add(d)
		return
	}
	c.offset += d
}

// Reset makes the clock follow time.Now again.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fixed, c.offset = time.Time{}, 0
}
