package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"
)

// ScopedOptions configures a ScopedCache. Zero fields take the defaults
// named in their comments.
type ScopedOptions struct {
	// Size is the most entries kept; the least recently used is evicted.
	// 0: 1024.
	Size int
	// Duration is the session duration requested from STS. 0: 3600s.
	Duration time.Duration
	// MinRemaining is the least lifetime an entry must have left to be
	// reused; with less, a new one is fetched. 0: 10 minutes. It must be
	// less than Duration.
	MinRemaining time.Duration
	// SessionName is the RoleSessionName sent to STS. "": DefaultSessionName.
	SessionName string
	// ExternalID is sent with every AssumeRole if set.
	ExternalID string
	// Timeout bounds one STS call (base credentials included). 0: 30s.
	Timeout time.Duration
	// Now returns the current time. nil: time.Now.
	Now func() time.Time
	// Logger receives one Debug line per STS call. nil: discard.
	Logger *slog.Logger
}

// ScopedCache vends down-scoped STS credentials: AssumeRole with a session
// policy, cached in a bounded LRU keyed by role ARN and a hash of the policy.
// An entry is reused while at least MinRemaining of its lifetime is left;
// concurrent requests for the same key share one STS call. There is no
// background refresh: entries are fetched on demand.
//
// A ScopedCache is safe for concurrent use and needs no Close.
type ScopedCache struct {
	base   Provider
	client RoleAssumer
	opts   ScopedOptions
	lru    *lru.Cache[string, Credentials]
	sf     singleflight.Group
}

// NewScopedCache returns a ScopedCache that signs AssumeRole with the
// credentials of base (typically a Cache) through client. Neither may be nil.
func NewScopedCache(base Provider, client RoleAssumer, opts ScopedOptions) (*ScopedCache, error) {
	if base == nil || client == nil {
		return nil, fmt.Errorf("configuring scoped cache: %w: nil base provider or sts client", ErrInvalid)
	}
	if opts.Size <= 0 {
		opts.Size = 1024
	}
	if opts.Duration == 0 {
		opts.Duration = time.Hour
	}
	if opts.MinRemaining <= 0 {
		opts.MinRemaining = 10 * time.Minute
	}
	if opts.MinRemaining >= opts.Duration {
		return nil, fmt.Errorf("configuring scoped cache: %w: min remaining %s is not below duration %s", ErrInvalid, opts.MinRemaining, opts.Duration)
	}
	if opts.SessionName == "" {
		opts.SessionName = DefaultSessionName
	}
	if err := checkRoleInput("acs:ram::0:role/check", opts.SessionName, opts.Duration, ""); err != nil {
		return nil, fmt.Errorf("configuring scoped cache: %w", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l, err := lru.New[string, Credentials](opts.Size)
	if err != nil {
		return nil, fmt.Errorf("configuring scoped cache: %w", err)
	}
	return &ScopedCache{base: base, client: client, opts: opts, lru: l}, nil
}

// ScopedKey returns the cache key for a role and session policy: the role
// ARN and the SHA-256 of the policy. It is exported for logs and tests.
func ScopedKey(roleARN, policy string) string {
	h := sha256.Sum256([]byte(policy))
	return roleARN + "#" + hex.EncodeToString(h[:])
}

// Retrieve returns credentials for roleARN restricted by the session policy
// (empty: the role's own permissions), from the cache if enough lifetime is
// left, else from STS. The STS call is not cancelled with ctx; the caller
// stops waiting when ctx is done.
func (s *ScopedCache) Retrieve(ctx context.Context, roleARN, policy string) (Credentials, error) {
	key := ScopedKey(roleARN, policy)
	if c, ok := s.lru.Get(key); ok && s.fresh(c) {
		return c, nil
	}
	ch := s.sf.DoChan(key, func() (any, error) {
		if c, ok := s.lru.Get(key); ok && s.fresh(c) {
			return c, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		base, err := s.base.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting base credentials to assume %s: %w", roleARN, err)
		}
		c, err := s.client.AssumeRole(ctx, base, AssumeRoleInput{
			RoleARN: roleARN, SessionName: s.opts.SessionName, Duration: s.opts.Duration,
			ExternalID: s.opts.ExternalID, Policy: policy,
		})
		if err != nil {
			return nil, fmt.Errorf("assuming %s with a session policy: %w", roleARN, err)
		}
		if !c.Valid() || !s.fresh(c) {
			return nil, fmt.Errorf("assuming %s with a session policy: %w: expiry %s leaves less than %s",
				roleARN, ErrExpiresTooSoon, c.Expires.UTC().Format(time.RFC3339), s.opts.MinRemaining)
		}
		if c.Source == "" || c.Source == "assume_role" {
			c.Source = "scoped"
		}
		s.lru.Add(key, c)
		s.opts.Logger.LogAttrs(ctx, slog.LevelDebug, "scoped credentials minted",
			slog.String("role_arn", roleARN), slog.String("key", key), slog.Any("credentials", c))
		return c, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Credentials{}, r.Err
		}
		return r.Val.(Credentials), nil
	case <-ctx.Done():
		return Credentials{}, fmt.Errorf("waiting for scoped credentials: %w", context.Cause(ctx))
	}
}

func (s *ScopedCache) fresh(c Credentials) bool {
	return !c.CanExpire() || c.Expires.Sub(s.opts.Now()) >= s.opts.MinRemaining
}

// Len returns the number of cached entries.
func (s *ScopedCache) Len() int { return s.lru.Len() }

// Purge drops every entry, e.g. after the base credentials were revoked.
func (s *ScopedCache) Purge() { s.lru.Purge() }
