package credentials

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ossproxy/ossproxy/signer"
)

// CacheOptions configures a Cache. The zero value is usable: every zero
// field takes the default named in its comment.
type CacheOptions struct {
	// Now returns the current time. nil: time.Now.
	Now func() time.Time
	// Logger receives refresh successes (Debug), failures (Warn) and
	// invalidations (Info). Credentials are logged only through their
	// redacting LogValue. nil: logs are discarded.
	Logger *slog.Logger
	// Rand returns a number in [0, 1) used for jitter. nil: math/rand/v2.
	Rand func() float64
	// RefreshAt is the fraction of the credentials' lifetime after which
	// the background refresh starts. 0: 2/3.
	RefreshAt float64
	// Jitter is the largest fraction of the lifetime by which the refresh
	// is moved earlier at random, so that many proxies do not refresh in
	// step. 0: 0.1. Negative: no jitter.
	Jitter float64
	// ExpiryWindow is how long before Expires cached credentials stop being
	// served, to absorb clock skew and request latency. 0: 30s.
	ExpiryWindow time.Duration
	// MinLifetime rejects credentials that expire sooner than this after
	// they arrive (ErrExpiresTooSoon). 0, or not above ExpiryWindow:
	// twice ExpiryWindow.
	MinLifetime time.Duration
	// Timeout bounds one call to the provider. 0: 30s.
	Timeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff between failed
	// refreshes (with jitter over the upper half). 0: 1s and 1m. While
	// cached credentials are still valid, a retry is never scheduled later
	// than half of their remaining validity.
	RetryMin, RetryMax time.Duration
	// Hooks are called after refreshes; see Hooks.
	Hooks Hooks
}

// Hooks let metrics observe a Cache without the cache depending on a
// metrics library. Each nil func is skipped. Hooks are called synchronously
// from the refreshing goroutine and must not block. Seconds-to-expiry is a
// gauge best read at scrape time from Cache.Stats.
type Hooks struct {
	// OnRefresh is called after each successful refresh with the source and
	// expiry (zero: never) of the new credentials.
	OnRefresh func(source string, expires time.Time)
	// OnFailure is called after each failed refresh. err holds no secret.
	OnFailure func(err error)
}

// Stats is a snapshot of a Cache's state, for metrics and health checks.
type Stats struct {
	Source      string    // source of the cached credentials, "" if none
	Expires     time.Time // expiry of the cached credentials; zero: never, or none cached
	Valid       bool      // whether Retrieve would return without waiting
	LastRefresh time.Time // time of the last successful refresh
	Refreshes   uint64    // successful refreshes
	Failures    uint64    // failed refreshes
	LastError   error     // error of the last refresh; nil if it succeeded
}

// Cache wraps a Provider: it returns cached credentials without locking or
// waiting while they are valid, refreshes them in a background goroutine well
// before they expire, and keeps serving them while refreshes fail.
// Callers wait only when nothing valid is cached (at start-up, after an
// Invalidate, or once credentials have really expired), and then share one
// provider call.
//
// A Cache is safe for concurrent use. Call Close to stop its goroutine.
type Cache struct {
	provider Provider
	opts     CacheOptions
	now      func() time.Time
	realNow  bool // now is time.Now: entries carry a monotonic deadline
	log      *slog.Logger

	cur atomic.Pointer[entry] // nil: nothing valid cached
	sf  singleflight.Group

	life     context.Context // cancelled by Close
	stopLife context.CancelFunc
	wakeCh   chan struct{}
	wg       sync.WaitGroup

	refreshes, failures atomic.Uint64

	mu          sync.Mutex // guards the fields below (slow path only)
	closed      bool
	had         bool // some credentials were cached once
	attempt     int  // consecutive failures
	nextRetry   time.Time
	lastErr     error
	lastRefresh time.Time
}

// entry is one immutable set of cached credentials with its schedule.
type entry struct {
	creds      Credentials
	validUntil time.Time // Expires - ExpiryWindow; zero: never expires
	// deadline is validUntil with a monotonic clock reading (set when the
	// Cache runs on time.Now), so that the fast path checks it with
	// time.Until: one monotonic clock read instead of time.Now's two.
	// Timers (the background refresh) run on the same clock.
	deadline  time.Time
	refreshAt time.Time // zero: never refreshed in the background
}

func (e *entry) valid(now time.Time) bool {
	return e != nil && (e.validUntil.IsZero() || now.Before(e.validUntil))
}

// fresh is Retrieve's validity check: valid(c.now()), without reading the
// wall clock when the Cache runs on time.Now.
func (e *entry) fresh(c *Cache) bool {
	switch {
	case e == nil:
		return false
	case e.validUntil.IsZero():
		return true
	case !e.deadline.IsZero():
		return time.Until(e.deadline) > 0
	default:
		return c.now().Before(e.validUntil)
	}
}

// NewCache returns a Cache over p and starts its background goroutine,
// which fetches credentials at once so that the first Retrieve rarely waits.
// p must not be nil.
func NewCache(p Provider, opts CacheOptions) *Cache {
	realNow := opts.Now == nil
	if realNow {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.RefreshAt <= 0 || opts.RefreshAt >= 1 {
		opts.RefreshAt = 2.0 / 3
	}
	switch {
	case opts.Jitter == 0:
		opts.Jitter = 0.1
	case opts.Jitter < 0:
		opts.Jitter = 0
	}
	opts.Jitter = min(opts.Jitter, opts.RefreshAt/2)
	if opts.ExpiryWindow <= 0 {
		opts.ExpiryWindow = 30 * time.Second
	}
	if opts.MinLifetime <= opts.ExpiryWindow {
		opts.MinLifetime = 2 * opts.ExpiryWindow
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(time.Minute, opts.RetryMin)
	}
	c := &Cache{
		provider: p,
		opts:     opts,
		now:      opts.Now,
		realNow:  realNow,
		log:      opts.Logger,
		wakeCh:   make(chan struct{}, 1),
	}
	c.life, c.stopLife = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run()
	return c
}

// Retrieve returns valid credentials. While valid credentials are cached it
// returns them at once, lock-free. Otherwise it waits for a refresh, shared
// with every other waiting caller, until ctx is done. The refresh itself is
// not cancelled with ctx: it runs under CacheOptions.Timeout.
//
// When nothing valid can be returned the error wraps ErrExpired (credentials
// were cached once) or ErrUnavailable (never), and the last refresh error.
// While a failed refresh is backing off, that error is returned without
// calling the provider again.
func (c *Cache) Retrieve(ctx context.Context) (Credentials, error) {
	if e := c.cur.Load(); e.fresh(c) {
		return e.creds, nil
	}
	return c.retrieveSlow(ctx)
}

func (c *Cache) retrieveSlow(ctx context.Context) (Credentials, error) {
	now := c.now()
	c.mu.Lock()
	closed, backingOff, err, had := c.closed, c.lastErr != nil && now.Before(c.nextRetry), c.lastErr, c.had
	c.mu.Unlock()
	if closed {
		return Credentials{}, ErrClosed
	}
	if backingOff {
		return Credentials{}, unavailable(had, err)
	}
	ch := c.sf.DoChan("", func() (any, error) { return c.refresh(ctx, false) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return Credentials{}, r.Err
		}
		return r.Val.(Credentials), nil
	case <-ctx.Done():
		return Credentials{}, fmt.Errorf("waiting for credentials: %w", context.Cause(ctx))
	}
}

func unavailable(had bool, err error) error {
	if had {
		return fmt.Errorf("%w: refreshing: %w", ErrExpired, err)
	}
	return fmt.Errorf("%w: refreshing: %w", ErrUnavailable, err)
}

// refresh calls the provider once and stores the result. It runs inside the
// single flight. A foreground refresh (background false) returns cached
// credentials that became valid meanwhile; a background one returns cached
// credentials that are not yet due for refresh.
func (c *Cache) refresh(ctx context.Context, background bool) (Credentials, error) {
	now := c.now()
	if e := c.cur.Load(); e != nil {
		if !background && e.valid(now) {
			return e.creds, nil
		}
		if background && e.valid(now) && (e.refreshAt.IsZero() || now.Before(e.refreshAt)) {
			return e.creds, nil
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Credentials{}, ErrClosed
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
	defer cancel()
	defer context.AfterFunc(c.life, cancel)()

	creds, err := c.provider.Retrieve(ctx)
	now = c.now()
	if err == nil {
		err = c.check(creds, now)
	}
	if err != nil {
		return c.failed(err, now)
	}
	e := c.newEntry(creds, now)
	c.cur.Store(e)
	c.mu.Lock()
	c.had, c.attempt, c.lastErr, c.nextRetry, c.lastRefresh = true, 0, nil, time.Time{}, now
	c.mu.Unlock()
	c.refreshes.Add(1)
	c.log.LogAttrs(ctx, slog.LevelDebug, "credentials refreshed", slog.Any("credentials", creds), slog.Time("refresh_at", e.refreshAt))
	if h := c.opts.Hooks.OnRefresh; h != nil {
		h(creds.Source, creds.Expires)
	}
	c.wake()
	return creds, nil
}

func (c *Cache) check(creds Credentials, now time.Time) error {
	if !creds.Valid() {
		return fmt.Errorf("checking credentials from %q: %w: empty access key id or secret", creds.Source, ErrInvalid)
	}
	if creds.CanExpire() && creds.Expires.Sub(now) < c.opts.MinLifetime {
		return fmt.Errorf("checking credentials from %q: %w: they expire at %s, less than %s from now",
			creds.Source, ErrExpiresTooSoon, creds.Expires.UTC().Format(time.RFC3339), c.opts.MinLifetime)
	}
	return nil
}

func (c *Cache) newEntry(creds Credentials, now time.Time) *entry {
	e := &entry{creds: creds}
	if !creds.CanExpire() {
		return e
	}
	e.validUntil = creds.Expires.Add(-c.opts.ExpiryWindow)
	life := e.validUntil.Sub(now)
	if c.realNow {
		// now is time.Now's: adding to it keeps its monotonic reading.
		e.deadline = now.Add(life)
	}
	frac := c.opts.RefreshAt - c.opts.Jitter*c.opts.Rand()
	e.refreshAt = now.Add(time.Duration(float64(life) * frac))
	return e
}

func (c *Cache) failed(err error, now time.Time) (Credentials, error) {
	c.failures.Add(1)
	e := c.cur.Load()
	c.mu.Lock()
	c.attempt++
	d := c.opts.RetryMin << min(c.attempt-1, 30)
	if d <= 0 || d > c.opts.RetryMax {
		d = c.opts.RetryMax
	}
	d = d/2 + time.Duration(float64(d/2)*c.opts.Rand())
	if e.valid(now) && !e.validUntil.IsZero() {
		d = min(d, max(e.validUntil.Sub(now)/2, c.opts.RetryMin))
	}
	c.nextRetry, c.lastErr = now.Add(d), err
	had := c.had
	c.mu.Unlock()
	c.log.LogAttrs(context.Background(), slog.LevelWarn, "refreshing credentials failed",
		slog.String("error", err.Error()), slog.Duration("retry_in", d), slog.Bool("serving_cached", e.valid(now)))
	if h := c.opts.Hooks.OnFailure; h != nil {
		h(err)
	}
	c.wake()
	if e.valid(now) {
		return e.creds, nil
	}
	return Credentials{}, unavailable(had, err)
}

// Invalidate drops stale from the cache, typically after OSS rejected its
// token, and starts a refresh. It does nothing if the cache already holds
// different (newer) credentials, so many requests failing with the same
// stale credentials cause one refresh.
func (c *Cache) Invalidate(stale Credentials) {
	e := c.cur.Load()
	if e == nil || !e.creds.sameKey(stale) {
		return
	}
	if c.cur.CompareAndSwap(e, nil) {
		c.log.LogAttrs(context.Background(), slog.LevelInfo, "credentials invalidated", slog.Any("credentials", e.creds))
		c.wake()
	}
}

// Stats returns a snapshot of the cache's state.
func (c *Cache) Stats() Stats {
	s := Stats{Refreshes: c.refreshes.Load(), Failures: c.failures.Load()}
	if e := c.cur.Load(); e != nil {
		s.Source, s.Expires, s.Valid = e.creds.Source, e.creds.Expires, e.valid(c.now())
	}
	c.mu.Lock()
	s.LastRefresh, s.LastError = c.lastRefresh, c.lastErr
	c.mu.Unlock()
	return s
}

// Close stops the background goroutine, cancels a refresh in flight and
// waits for both to return. Afterwards Retrieve still returns cached
// credentials while they are valid, then ErrClosed. Close is idempotent and
// always returns nil.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stopLife()
	c.wg.Wait()
	return nil
}

func (c *Cache) wake() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

// nextWake returns how long the background goroutine should sleep before
// its next refresh; ok false means until woken.
func (c *Cache) nextWake() (d time.Duration, ok bool) {
	now := c.now()
	c.mu.Lock()
	failing, next := c.lastErr != nil, c.nextRetry
	c.mu.Unlock()
	e := c.cur.Load()
	switch {
	case failing:
		return max(next.Sub(now), 0), true
	case e == nil:
		return 0, true
	case e.refreshAt.IsZero():
		return 0, false
	default:
		return max(e.refreshAt.Sub(now), 0), true
	}
}

func (c *Cache) run() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d, ok := c.nextWake()
		if ok {
			timer.Reset(d)
		} else {
			timer.Stop()
		}
		select {
		case <-c.life.Done():
			return
		case <-c.wakeCh:
			continue
		case <-timer.C:
		}
		ch := c.sf.DoChan("", func() (any, error) { return c.refresh(c.life, true) })
		select {
		case <-ch:
		case <-c.life.Done():
			return
		}
	}
}

var _ Provider = (*Cache)(nil)

// SignerSource adapts a Cache to consumers that deal in signer.Credentials,
// such as proxy.CredentialSource. It is safe for concurrent use.
type SignerSource struct{ c *Cache }

// SignerSource returns the adapter for c.
func (c *Cache) SignerSource() SignerSource { return SignerSource{c} }

// Retrieve is Cache.Retrieve without the expiry and source.
func (s SignerSource) Retrieve(ctx context.Context) (signer.Credentials, error) {
	cr, err := s.c.Retrieve(ctx)
	return cr.Credentials, err
}

// Invalidate is Cache.Invalidate for the key material in stale.
func (s SignerSource) Invalidate(stale signer.Credentials) {
	s.c.Invalidate(Credentials{Credentials: stale})
}
