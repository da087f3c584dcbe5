package proxy

import (
	"context"
	"errors"
	"fmt"
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

// clientBody is every request body the Handler forwards or reads (it is
// allocated with the request's state: no allocation of its own). A read
// error is the client's (a malformed chunked encoding, a body shorter
// than its Content-Length, a connection that failed): clientBody marks
// it (failed) and wraps it with ErrIncompleteBody, so the ErrorHandler
// tells it from an upstream failure, which the upstream transport's
// error alone does not (it returns a body read error as its own).
//
// With an idle bound, it also moves the connection's read deadline
// forward before each read (http.ResponseController): a client that
// sends nothing for idle fails the pending Read, which net/http follows
// by canceling the request context, so the upstream request ends too.
// Only time spent waiting for the client counts: the deadline is set
// when a read starts, so authentication, credentials, dialing OSS or
// OSS's own backpressure never use it up.
//
// Read runs on the upstream transport's writer goroutine, so the flags
// the handler reads are atomic.
type clientBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController // nil: no idle bound
	idle     time.Duration
	limit    time.Time // the whole-request bound; zero: none
	last     time.Time // when the deadline was last moved
	done     bool      // EOF seen: deadline back to limit, no longer moved
	failed   atomic.Bool
	timedOut atomic.Bool
}

// start wraps body; with t.Idle > 0, the first read sets the first
// deadline.
func (b *clientBody) start(w http.ResponseWriter, body io.ReadCloser, t BodyTimeouts, now time.Time) {
	b.body = body
	if t.Idle <= 0 {
		return
	}
	b.rc, b.idle = http.NewResponseController(w), t.Idle
	if t.Read > 0 {
		b.limit = now.Add(t.Read)
	}
}

// Read reads from the body. With an idle bound, before a read it moves
// the deadline to idle from now unless that was done less than idle/8
// ago (which keeps the cost of large uploads down); at the end of the
// body the deadline goes back to the whole-request bound, so a slow
// upstream answer is not cut. A read that hits a deadline (this one or
// the listener's) fails with ErrRequestTimeout; any other read error
// wraps ErrIncompleteBody.
func (b *clientBody) Read(p []byte) (int, error) {
	if b.rc != nil && !b.done {
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
		if b.rc != nil && !b.done {
			b.done = true
			_ = b.rc.SetReadDeadline(b.limit)
		}
	default:
		b.failed.Store(true)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			// The idle deadline, or the listener's whole-request one.
			b.timedOut.Store(true)
			return n, ErrRequestTimeout
		}
		return n, fmt.Errorf("reading request body: %w: %w", ErrIncompleteBody, err)
	}
	return n, err
}

// Close closes the body.
func (b *clientBody) Close() error { return b.body.Close() }
