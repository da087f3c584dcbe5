package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// BodyTimeouts bound how long the Handler waits for request body bytes.
type BodyTimeouts struct {
	// Idle is the longest wait for the next byte of a request body; a
	// body that pauses longer is abandoned: the upstream request is
	// canceled and the client, if it still listens, gets 400
	// RequestTimeout. 0 means no bound.
	Idle time.Duration
	// Read is the listener's whole-request bound (http.Server.ReadTimeout,
	// counted here from when the Handler starts), which the idle
	// deadline is never moved past, so both apply. 0 means none.
	Read time.Duration
}

type bodyTimeoutsKey struct{}

// WithBodyTimeouts returns a context whose requests the Handler reads
// with t instead of Options.BodyTimeouts: set it per listener through
// http.Server.BaseContext.
func WithBodyTimeouts(ctx context.Context, t BodyTimeouts) context.Context {
	return context.WithValue(ctx, bodyTimeoutsKey{}, t)
}

// idleBody is a request body whose connection read deadline is moved
// forward before each read (http.ResponseController): a client that
// sends nothing for idle fails the pending Read, which net/http follows
// by canceling the request context, so the upstream request ends too.
// Only time spent waiting for the client counts: the deadline is set
// when a read starts, so authentication, credentials, dialing OSS or
// OSS's own backpressure never use it up.
type idleBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	idle     time.Duration
	limit    time.Time // the whole-request bound; zero: none
	last     time.Time // when the deadline was last moved
	done     bool      // EOF seen: deadline back to limit, no longer moved
	timedOut atomic.Bool
}

// start wraps body; the first read sets the first deadline.
func (b *idleBody) start(w http.ResponseWriter, body io.ReadCloser, t BodyTimeouts, now time.Time) {
	b.body, b.rc, b.idle = body, http.NewResponseController(w), t.Idle
	if t.Read > 0 {
		b.limit = now.Add(t.Read)
	}
}

// Read reads from the body. Before a read it moves the deadline to idle
// from now unless that was done less than idle/8 ago (which keeps the
// cost of large uploads down); at the end of the body the deadline goes
// back to the whole-request bound, so a slow upstream answer is not cut.
// A read that hits the deadline fails with ErrRequestTimeout.
func (b *idleBody) Read(p []byte) (int, error) {
	if !b.done {
		if now := time.Now(); now.Sub(b.last) >= b.idle/8 {
			b.last = now
			d := now.Add(b.idle)
			if !b.limit.IsZero() && d.After(b.limit) {
				d = b.limit
			}
			_ = b.rc.SetReadDeadline(d) // ErrNotSupported: the body is read unbounded
		}
	}
	n, err := b.body.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if !b.done {
			b.done = true
			_ = b.rc.SetReadDeadline(b.limit)
		}
	default:
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			b.timedOut.Store(true)
			return n, ErrRequestTimeout
		}
	}
	return n, err
}

// Close closes the body.
func (b *idleBody) Close() error { return b.body.Close() }
