package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/ossproxy/ossproxy/signer"
)

// stubProvider mints numbered STS-like credentials that live for life. It
// can be made to fail or to block until released.
type stubProvider struct {
	life time.Duration

	mu    sync.Mutex
	calls int
	fail  error
	gate  chan struct{} // non-nil: Retrieve waits for it to close (or ctx)
}

func (s *stubProvider) Retrieve(ctx context.Context) (Credentials, error) {
	s.mu.Lock()
	s.calls++
	n, fail, gate := s.calls, s.fail, s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Credentials{}, fmt.Errorf("stub sts: %w", ctx.Err())
		}
	}
	if fail != nil {
		return Credentials{}, fail
	}
	return stubCreds(n, time.Now().Add(s.life)), nil
}

func stubCreds(n int, exp time.Time) Credentials {
	return Credentials{
		Credentials: signer.Credentials{
			AccessKeyID:     fmt.Sprintf("STS.stubkey%04d", n),
			AccessKeySecret: fmt.Sprintf("s3cr3t-%04d", n),
			SecurityToken:   fmt.Sprintf("t0ken-%04d", n),
		},
		Expires: exp,
		Source:  "stub",
	}
}

func (s *stubProvider) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *stubProvider) set(fail error, gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.gate = fail, gate
}

// fixedRand returns a constant jitter source.
func fixedRand(v float64) func() float64 { return func() float64 { return v } }

func TestCacheConcurrentRetrieveOneCallNoBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 1000
		gate := make(chan struct{})
		sts := &stubSTS{life: 15 * time.Minute, gate: gate}
		p, err := NewAssumeRole(NewStatic("LTAIbasekey0000", "base-secret", ""), sts, AssumeRoleInput{RoleARN: roleA})
		if err != nil {
			t.Fatal(err)
		}
		c := NewCache(p, CacheOptions{Rand: fixedRand(0)})
		defer c.Close()

		// Cold: all callers wait for the single provider call.
		got := make([]Credentials, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				cr, err := c.Retrieve(t.Context())
				if err != nil {
					t.Errorf("cold Retrieve: %v", err)
				}
				got[i] = cr
			})
		}
		synctest.Wait()
		if sts.Calls() != 1 {
			t.Fatalf("cold: STS calls = %d, want 1", sts.Calls())
		}
		close(gate)
		wg.Wait()
		for i := range got {
			if got[i].AccessKeyID != "STS.stubkey0001" {
				t.Fatalf("caller %d got %s", i, got[i].AccessKeyID)
			}
		}

		// Warm: move past the refresh point (2/3 of 14m30s = 9m40s) with the
		// provider hung, so a background refresh is in flight.
		gate2 := make(chan struct{})
		sts.setGate(gate2)
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if sts.Calls() != 2 {
			t.Fatalf("background refresh: STS calls = %d, want 2", sts.Calls())
		}
		var done atomic.Int64
		for range n {
			wg.Go(func() {
				cr, err := c.Retrieve(t.Context())
				if err != nil || cr.AccessKeyID != "STS.stubkey0001" {
					t.Errorf("warm Retrieve = %s, %v; want the cached key", cr.AccessKeyID, err)
				}
				done.Add(1)
			})
		}
		synctest.Wait() // every goroutine has finished or is blocked
		if d := done.Load(); d != n {
			t.Fatalf("%d of %d warm callers blocked during the refresh", n-d, n)
		}
		if sts.Calls() != 2 {
			t.Fatalf("warm: STS calls = %d, want 2", sts.Calls())
		}
		close(gate2)
		wg.Wait()
		synctest.Wait()
		cr, err := c.Retrieve(t.Context())
		if err != nil || cr.AccessKeyID != "STS.stubkey0002" {
			t.Fatalf("after refresh: %s, %v; want STS.stubkey0002", cr.AccessKeyID, err)
		}
	})
}

func TestCacheOutageShorterThanLifetime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: 15 * time.Minute}
		var failures atomic.Int64
		c := NewCache(p, CacheOptions{Rand: fixedRand(0.5), Hooks: Hooks{OnFailure: func(error) { failures.Add(1) }}})
		defer c.Close()
		start := time.Now()
		stsDown := errors.New("sts: connection refused")
		var errs int
		for elapsed := time.Duration(0); elapsed < 20*time.Minute; elapsed += 5 * time.Second {
			switch elapsed {
			case 9 * time.Minute: // refresh point is ~9m10s; the SDKs would refresh at 12m
				p.set(stsDown, nil)
			case 13*time.Minute + 30*time.Second: // 4m30s outage, longer than the SDKs' 180s lead
				p.set(nil, nil)
			}
			time.Sleep(start.Add(elapsed).Sub(time.Now()))
			if _, err := c.Retrieve(t.Context()); err != nil {
				errs++
				t.Logf("at %s: %v", elapsed, err)
			}
		}
		if errs != 0 {
			t.Errorf("%d Retrieve calls failed during an outage shorter than the remaining lifetime", errs)
		}
		if failures.Load() == 0 {
			t.Error("no refresh failed: the outage did not overlap a refresh")
		}
		if s := c.Stats(); s.Refreshes < 2 || s.LastError != nil {
			t.Errorf("Stats = %+v; want a successful refresh after the outage", s)
		}
	})
}

func TestCacheExpiredThenHeals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: 15 * time.Minute}
		c := NewCache(p, CacheOptions{Rand: fixedRand(0)})
		defer c.Close()
		if _, err := c.Retrieve(t.Context()); err != nil {
			t.Fatal(err)
		}
		stsDown := errors.New("sts: service unavailable")
		p.set(stsDown, nil)
		time.Sleep(14*time.Minute + 31*time.Second) // past Expires - ExpiryWindow
		_, err := c.Retrieve(t.Context())
		if !errors.Is(err, ErrExpired) || !errors.Is(err, stsDown) {
			t.Fatalf("Retrieve after expiry = %v; want ErrExpired wrapping the refresh error", err)
		}
		p.set(nil, nil)
		time.Sleep(time.Minute) // at most RetryMax until the background retry
		cr, err := c.Retrieve(t.Context())
		if err != nil || !cr.Valid() {
			t.Fatalf("Retrieve after STS recovered = %v, %v", cr, err)
		}
	})
}

func TestCacheColdFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("no route to sts")
		p := &stubProvider{life: time.Hour, fail: boom}
		c := NewCache(p, CacheOptions{})
		defer c.Close()
		_, err := c.Retrieve(t.Context())
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) {
			t.Fatalf("cold failure = %v; want ErrUnavailable wrapping the cause", err)
		}
		calls := p.Calls()
		_, err = c.Retrieve(t.Context()) // still backing off: no new provider call
		if !errors.Is(err, ErrUnavailable) || p.Calls() != calls {
			t.Fatalf("during backoff: err=%v calls %d -> %d", err, calls, p.Calls())
		}
	})
}

func TestCacheHungProviderBoundedByTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: time.Hour, gate: make(chan struct{})} // never released
		c := NewCache(p, CacheOptions{Timeout: 5 * time.Second})
		defer c.Close()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Retrieve(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Fatalf("caller deadline: err=%v after %s; want DeadlineExceeded after 1s", err, time.Since(start))
		}
		_, err = c.Retrieve(t.Context()) // joins the same hung call
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Fatalf("refresh timeout: err=%v after %s; want ErrUnavailable(DeadlineExceeded) after 5s", err, time.Since(start))
		}
		if p.Calls() != 1 {
			t.Fatalf("provider calls = %d, want 1", p.Calls())
		}
	})
}

func TestCacheRejectsShortLived(t *testing.T) {
	tests := []struct {
		name string
		life time.Duration
		want error
	}{
		{"already expired", -time.Minute, ErrExpiresTooSoon},
		{"within minimum lifetime", 30 * time.Second, ErrExpiresTooSoon},
		{"long enough", 15 * time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewCache(&stubProvider{life: tt.life}, CacheOptions{})
				defer c.Close()
				_, err := c.Retrieve(t.Context())
				if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
					t.Fatalf("Retrieve = %v; want %v", err, tt.want)
				}
			})
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: time.Hour}
		c := NewCache(p, CacheOptions{})
		defer c.Close()
		first, err := c.Retrieve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Invalidate(stubCreds(99, first.Expires)) // not what is cached
		synctest.Wait()
		if got, _ := c.Retrieve(t.Context()); got.AccessKeyID != first.AccessKeyID || p.Calls() != 1 {
			t.Fatalf("invalidating other credentials refreshed: %s, calls %d", got.AccessKeyID, p.Calls())
		}
		c.Invalidate(first)
		c.Invalidate(first) // a second rejection of the same stale key is a no-op
		second, err := c.Retrieve(t.Context())
		if err != nil || second.AccessKeyID == first.AccessKeyID {
			t.Fatalf("after Invalidate: %s, %v; want new credentials", second.AccessKeyID, err)
		}
		synctest.Wait()
		c.Invalidate(first) // stale: newer credentials are cached
		synctest.Wait()
		if p.Calls() != 2 {
			t.Fatalf("provider calls = %d, want 2", p.Calls())
		}
	})
}

func TestCacheStatsAndHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: time.Hour}
		var refreshed []string
		var mu sync.Mutex
		c := NewCache(p, CacheOptions{Hooks: Hooks{OnRefresh: func(src string, exp time.Time) {
			mu.Lock()
			defer mu.Unlock()
			refreshed = append(refreshed, src+"@"+exp.Sub(time.Now()).String())
		}}})
		defer c.Close()
		if _, err := c.Retrieve(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s := c.Stats()
		if !s.Valid || s.Source != "stub" || s.Refreshes != 1 || s.Failures != 0 || s.Expires.Sub(time.Now()) != time.Hour {
			t.Fatalf("Stats = %+v", s)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(refreshed) != 1 || refreshed[0] != "stub@1h0m0s" {
			t.Fatalf("OnRefresh calls = %q", refreshed)
		}
	})
}

func TestCacheNeverExpiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(NewStatic("LTAIexampleid00", "example-secret", ""), CacheOptions{})
		defer c.Close()
		time.Sleep(1000 * time.Hour)
		cr, err := c.Retrieve(t.Context())
		if err != nil || cr.AccessKeyID != "LTAIexampleid00" || c.Stats().Refreshes != 1 {
			t.Fatalf("Retrieve = %v, %v; refreshes %d", cr, err, c.Stats().Refreshes)
		}
	})
}

func TestCacheCloseNoLeak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gate := make(chan struct{}) // hung provider: Close must cancel it
	c := NewCache(&stubProvider{life: time.Hour, gate: gate}, CacheOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Retrieve(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Retrieve = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Retrieve(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Retrieve after Close = %v; want ErrClosed", err)
	}
}

func TestCacheNeverLogsSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p := &stubProvider{life: 15 * time.Minute}
		c := NewCache(p, CacheOptions{Logger: log})
		defer c.Close()
		var texts []string
		cr, err := c.Retrieve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, fmt.Sprint(cr), fmt.Sprintf("%v %+v %#v %s %q", cr, cr, cr, cr, cr))
		log.Info("retrieved", "creds", cr)
		p.set(errors.New("sts: 503"), nil)
		c.Invalidate(cr)
		time.Sleep(20 * time.Minute)
		_, err = c.Retrieve(t.Context())
		if err == nil {
			t.Fatal("want an error while the provider fails")
		}
		texts = append(texts, err.Error(), buf.String())
		all := strings.Join(texts, "\n")
		if !strings.Contains(all, "STS.") || !strings.Contains(all, "refreshing credentials failed") {
			t.Fatalf("captured output lacks the expected log lines:\n%s", all)
		}
		for _, secret := range []string{"s3cr3t-", "t0ken-"} {
			if strings.Contains(all, secret) {
				t.Errorf("output contains %q:\n%s", secret, all)
			}
		}
	})
}

func BenchmarkRetrieve(b *testing.B) {
	c := NewCache(&stubProvider{life: time.Hour}, CacheOptions{})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRetrieveParallel(b *testing.B) {
	c := NewCache(&stubProvider{life: time.Hour}, CacheOptions{})
	defer c.Close()
	if _, err := c.Retrieve(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := c.Retrieve(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func credsOf(id, secret, token string) signer.Credentials {
	return signer.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}
}

func TestCacheRefreshSchedule(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		life      time.Duration
		rand      float64
		wantAfter time.Duration // refresh this long after arrival
	}{
		{"15m, no jitter", 15 * time.Minute, 0, 9*time.Minute + 40*time.Second},                     // 2/3 of 14m30s
		{"15m, full jitter", 15 * time.Minute, 1, 8*time.Minute + 13*time.Second},                   // (2/3-0.1) of 14m30s
		{"1h, half jitter", time.Hour, 0.5, 36*time.Minute + 41*time.Second + 500*time.Millisecond}, // (2/3-0.05) of 59m30s
		{"12h, no jitter", 12 * time.Hour, 0, 7*time.Hour + 59*time.Minute + 40*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cache{opts: CacheOptions{RefreshAt: 2.0 / 3, Jitter: 0.1, ExpiryWindow: 30 * time.Second, Rand: fixedRand(tt.rand)}}
			e := c.newEntry(stubCreds(1, now.Add(tt.life)), now)
			if got := e.refreshAt.Sub(now); got.Round(time.Millisecond) != tt.wantAfter {
				t.Errorf("refresh after %s, want %s", got, tt.wantAfter)
			}
			if got := e.validUntil.Sub(now); got != tt.life-30*time.Second {
				t.Errorf("valid for %s, want %s", got, tt.life-30*time.Second)
			}
		})
	}
}

func TestCacheBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		fail := errors.New("sts down")
		p := ProviderFunc(func(context.Context) (Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Since(start))
			return Credentials{}, fail
		})
		// Rand 1 puts each delay at the top of its jitter range [d/2, d].
		c := NewCache(p, CacheOptions{RetryMin: time.Second, RetryMax: 8 * time.Second, Rand: fixedRand(1)})
		defer c.Close()
		time.Sleep(40 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		want := []time.Duration{0, 1, 3, 7, 15, 23, 31, 39} // delays 1, 2, 4, 8, 8, 8, 8 s
		for i := range want {
			want[i] *= time.Second
		}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Fatalf("provider called at %v, want %v", at, want)
		}
		if s := c.Stats(); s.Failures != uint64(len(want)) || !errors.Is(s.LastError, fail) || s.Valid {
			t.Fatalf("Stats = %+v", s)
		}
	})
}

func TestSignerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &stubProvider{life: time.Hour}
		c := NewCache(p, CacheOptions{})
		defer c.Close()
		// The shape proxy.CredentialSource expects.
		var src interface {
			Retrieve(context.Context) (signer.Credentials, error)
			Invalidate(signer.Credentials)
		} = c.SignerSource()
		first, err := src.Retrieve(t.Context())
		if err != nil || first.AccessKeyID != "STS.stubkey0001" || first.SecurityToken == "" {
			t.Fatalf("Retrieve = %v, %v", first, err)
		}
		src.Invalidate(first)
		second, err := src.Retrieve(t.Context())
		if err != nil || second.AccessKeyID != "STS.stubkey0002" {
			t.Fatalf("after Invalidate: %v, %v", second, err)
		}
	})
}

func BenchmarkSignerSourceRetrieve(b *testing.B) {
	c := NewCache(&stubProvider{life: time.Hour}, CacheOptions{})
	defer c.Close()
	src := c.SignerSource()
	ctx := context.Background()
	if _, err := src.Retrieve(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Retrieve(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCacheRealClockExpiry runs the Cache on the real clock, where
// Retrieve's fast path checks the entry's monotonic deadline instead of
// reading the wall clock: once the credentials pass their validity (and
// refreshing fails), they must not be served any more.
func TestCacheRealClockExpiry(t *testing.T) {
	// The background refresh is due at 0.99 of the life: the test sets
	// the provider failing long before that.
	p := &stubProvider{life: time.Second}
	c := NewCache(p, CacheOptions{ExpiryWindow: time.Millisecond, RefreshAt: 0.99, Jitter: -1})
	defer c.Close()
	first, err := c.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e := c.cur.Load()
	if e == nil || !strings.Contains(e.deadline.String(), " m=") {
		t.Fatalf("entry deadline %v carries no monotonic reading: the fast path would read the wall clock", e)
	}
	p.mu.Lock()
	p.fail = errors.New("stub sts: down")
	p.mu.Unlock()
	time.Sleep(1100 * time.Millisecond) // past validUntil (1 s − 1 ms) for sure
	got, err := c.Retrieve(t.Context())
	if err == nil {
		t.Fatalf("expired credentials served: %s (first %s)", got.AccessKeyID, first.AccessKeyID)
	}
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("error %v, want ErrExpired", err)
	}
}
