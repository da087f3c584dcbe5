package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ossproxy/ossproxy/osstest"
)

// stubSTS is a RoleAssumer that mints numbered credentials living for the
// requested duration (or life, if set), optionally blocking on gate.
type stubSTS struct {
	life time.Duration
	gate chan struct{}

	mu    sync.Mutex
	calls []AssumeRoleInput
	bases []Credentials
}

func (s *stubSTS) AssumeRole(ctx context.Context, base Credentials, in AssumeRoleInput) (Credentials, error) {
	s.mu.Lock()
	s.calls = append(s.calls, in)
	s.bases = append(s.bases, base)
	n, gate := len(s.calls), s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return Credentials{}, ctx.Err()
		}
	}
	life := in.Duration
	if s.life != 0 {
		life = s.life
	}
	c := stubCreds(n, time.Now().Add(life))
	c.Source = "assume_role"
	return c, nil
}

func (s *stubSTS) setGate(gate chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = gate
}

func (s *stubSTS) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

const (
	roleA = "acs:ram::1234567890123456:role/a"
	roleB = "acs:ram::1234567890123456:role/b"
	polR  = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}`
	polW  = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:PutObject","Resource":"*"}]}`
)

func TestScopedCacheReuseAndExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sts := &stubSTS{}
		s, err := NewScopedCache(NewStatic("LTAIbasekey0000", "base-secret", ""), sts, ScopedOptions{Duration: time.Hour, MinRemaining: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		first, err := s.Retrieve(ctx, roleA, polR)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			after     time.Duration
			role, pol string
			wantCalls int
			wantSame  bool
		}{
			{0, roleA, polR, 1, true},                // cached
			{49 * time.Minute, roleA, polR, 1, true}, // 11m left: reused
			{0, roleA, polW, 2, false},               // other policy: other key
			{0, roleB, polR, 3, false},               // other role: other key
			{2 * time.Minute, roleA, polR, 4, false}, // 9m left: refetched
			{0, roleA, polR, 4, false},               // and the new one is cached
		}
		for i, st := range steps {
			time.Sleep(st.after)
			c, err := s.Retrieve(ctx, st.role, st.pol)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if sts.Calls() != st.wantCalls || (c.AccessKeyID == first.AccessKeyID) != st.wantSame {
				t.Fatalf("step %d: calls = %d (want %d), same = %v (want %v)", i, sts.Calls(), st.wantCalls, c.AccessKeyID == first.AccessKeyID, st.wantSame)
			}
		}
		if in := sts.calls[1]; in.Policy != polW || in.RoleARN != roleA || in.Duration != time.Hour || in.SessionName != DefaultSessionName {
			t.Fatalf("AssumeRole input = %+v", in)
		}
		if sts.bases[0].AccessKeyID != "LTAIbasekey0000" {
			t.Fatalf("AssumeRole was not signed with the base credentials")
		}
	})
}

func TestScopedCacheSingleFlightPerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sts := &stubSTS{gate: make(chan struct{})}
		s, err := NewScopedCache(NewStatic("LTAIbasekey0000", "base-secret", ""), sts, ScopedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		keys := map[string]int{}
		var mu sync.Mutex
		for i := range 200 {
			pol := []string{polR, polW}[i%2]
			wg.Go(func() {
				c, err := s.Retrieve(t.Context(), roleA, pol)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				keys[pol+"="+c.AccessKeyID]++
				mu.Unlock()
			})
		}
		synctest.Wait()
		if sts.Calls() != 2 {
			t.Fatalf("STS calls = %d, want one per key (2)", sts.Calls())
		}
		close(sts.gate)
		wg.Wait()
		if len(keys) != 2 {
			t.Fatalf("callers saw %d distinct (policy, key) pairs, want 2: %v", len(keys), keys)
		}
	})
}

func TestScopedCacheEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sts := &stubSTS{}
		s, err := NewScopedCache(NewStatic("LTAIbasekey0000", "base-secret", ""), sts, ScopedOptions{Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := s.Retrieve(t.Context(), roleA, fmt.Sprintf(`{"n":%d}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		if s.Len() != 2 {
			t.Fatalf("Len = %d, want 2", s.Len())
		}
		if _, err := s.Retrieve(t.Context(), roleA, `{"n":2}`); err != nil || sts.Calls() != 3 {
			t.Fatalf("recent entry refetched: calls %d, err %v", sts.Calls(), err)
		}
		if _, err := s.Retrieve(t.Context(), roleA, `{"n":0}`); err != nil || sts.Calls() != 4 {
			t.Fatalf("evicted entry not refetched: calls %d, err %v", sts.Calls(), err)
		}
	})
}

func TestScopedCacheErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		short := &stubSTS{life: 5 * time.Minute}
		s, err := NewScopedCache(NewStatic("LTAIbasekey0000", "base-secret", ""), short, ScopedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Retrieve(t.Context(), roleA, ""); !errors.Is(err, ErrExpiresTooSoon) {
			t.Fatalf("short-lived STS answer: %v; want ErrExpiresTooSoon", err)
		}
		noBase := errors.New("base down")
		s2, _ := NewScopedCache(ProviderFunc(func(context.Context) (Credentials, error) { return Credentials{}, noBase }), &stubSTS{}, ScopedOptions{})
		if _, err := s2.Retrieve(t.Context(), roleA, ""); !errors.Is(err, noBase) {
			t.Fatalf("base failure: %v", err)
		}
		if _, err := NewScopedCache(s2.base, &stubSTS{}, ScopedOptions{Duration: 15 * time.Minute, MinRemaining: 20 * time.Minute}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("MinRemaining above Duration accepted: %v", err)
		}
	})
}

func TestScopedCacheAgainstFakeSTS(t *testing.T) {
	env := newSTSEnv(t, 5*time.Second)
	s, err := NewScopedCache(NewStatic(env.user.AccessKeyID, env.user.AccessKeySecret, ""), env.client, ScopedOptions{Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	read := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/*"}]}`
	c, err := s.Retrieve(t.Context(), env.role.ARN, read)
	if err != nil {
		t.Fatal(err)
	}
	id, err := env.acct.Lookup(c.AccessKeyID, c.SecurityToken, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res := "acs:oss:*:" + testAccount + ":bkt/k"
	if !id.Allowed("oss:GetObject", res, nil) || id.Allowed("oss:PutObject", res, nil) {
		t.Fatal("scoped credentials do not carry the session policy")
	}
	again, err := s.Retrieve(t.Context(), env.role.ARN, read)
	if err != nil || again.AccessKeyID != c.AccessKeyID || env.faults.Calls(osstest.EndpointSTS) != 1 {
		t.Fatalf("second Retrieve: %v, same key %v, STS calls %d", err, again.AccessKeyID == c.AccessKeyID, env.faults.Calls(osstest.EndpointSTS))
	}
}
