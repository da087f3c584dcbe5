package osstest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Identity is one access key the emulator accepts: a long-term RAM user key
// (SecurityToken empty, Expires zero) or STS credentials minted by the fake
// STS or the fake ECS metadata service.
//
// Every policy in Policies must allow a request for it to be authorized: a
// role's policy and an STS session policy are intersected that way.
// An Identity is immutable once registered.
type Identity struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expires         time.Time // zero: never expires
	Principal       string    // e.g. "acs:ram::1234:user/alice" or an assumed-role ARN
	Policies        []*Policy // nil entries are skipped; an empty list allows everything
}

// Role is a RAM role the fake STS can assume.
type Role struct {
	ARN                string        // acs:ram::<account>:role/<name>
	Policy             *Policy       // what the role may do; nil allows everything
	MaxSessionDuration time.Duration // 0 means 3600s
	// TrustedAccessKeys lists the access key ids allowed to AssumeRole.
	// Empty trusts every long-term key of the account.
	TrustedAccessKeys []string
	// OIDCProviderARN, when set, lets AssumeRoleWithOIDC assume the role with
	// a token from that provider.
	OIDCProviderARN string
}

// Errors returned by Account.Lookup; the OSS front end maps them to codes.
var (
	ErrUnknownAccessKey   = errors.New("osstest: unknown access key id")          // InvalidAccessKeyId
	ErrInvalidToken       = errors.New("osstest: invalid security token")         // InvalidSecurityToken
	ErrTokenExpired       = errors.New("osstest: security token expired")         // SecurityTokenExpired
	ErrTokenNotForKey     = errors.New("osstest: security token for another key") // AccessKeyIdAndSecurityTokenNotMatch
	ErrMissingToken       = errors.New("osstest: STS key used without its security token")
	ErrUnexpectedToken    = errors.New("osstest: security token sent with a long-term key")
	ErrDuplicateAccessKey = errors.New("osstest: access key id already registered")
)

// Account is the identity store shared by the OSS, STS and ECS fakes. It is
// safe for concurrent use.
type Account struct {
	ID    string // numeric account id used in ARNs
	Clock *Clock

	mu     sync.RWMutex
	keys   map[string]*Identity
	tokens map[string]*Identity
	roles  map[string]*Role
}

// NewAccount returns an empty account with the given clock (nil: a fresh one).
func NewAccount(id string, clock *Clock) *Account {
	if clock == nil {
		clock = &Clock{}
	}
	return &Account{ID: id, Clock: clock, keys: map[string]*Identity{}, tokens: map[string]*Identity{}, roles: map[string]*Role{}}
}

// AddIdentity registers id. Access key ids are unique.
func (a *Account) AddIdentity(id *Identity) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.keys[id.AccessKeyID]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateAccessKey, id.AccessKeyID)
	}
	a.keys[id.AccessKeyID] = id
	if id.SecurityToken != "" {
		a.tokens[id.SecurityToken] = id
	}
	return nil
}

// NewUser registers a long-term access key with the given policy (nil allows
// everything) and returns it.
func (a *Account) NewUser(name string, policy *Policy) *Identity {
	id := &Identity{
		AccessKeyID:     "LTAI" + randomString(16),
		AccessKeySecret: randomString(30),
		Principal:       fmt.Sprintf("acs:ram::%s:user/%s", a.ID, name),
	}
	if policy != nil {
		id.Policies = []*Policy{policy}
	}
	if err := a.AddIdentity(id); err != nil {
		panic(err) // random ids do not collide
	}
	return id
}

// MintSTS registers fresh STS credentials for principal that expire after d
// (measured on the account clock) and carry policies.
func (a *Account) MintSTS(principal string, d time.Duration, policies ...*Policy) *Identity {
	id := &Identity{
		AccessKeyID:     "STS." + randomString(24),
		AccessKeySecret: randomString(40),
		SecurityToken:   "CAIS" + randomString(120),
		Expires:         a.Clock.Now().Add(d).Truncate(time.Second),
		Principal:       principal,
		Policies:        policies,
	}
	if err := a.AddIdentity(id); err != nil {
		panic(err)
	}
	return id
}

// Revoke removes an access key, as disabling it in RAM would.
func (a *Account) Revoke(accessKeyID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := a.keys[accessKeyID]; ok {
		delete(a.keys, accessKeyID)
		delete(a.tokens, id.SecurityToken)
	}
}

// Lookup finds the identity for an access key id and the security token the
// request carried, checking the token as OSS does: it must belong to that key
// and must not have expired at now.
func (a *Account) Lookup(accessKeyID, token string, now time.Time) (*Identity, error) {
	a.mu.RLock()
	id, ok := a.keys[accessKeyID]
	byTok, tokOK := a.tokens[token]
	a.mu.RUnlock()
	switch {
	case token != "" && !tokOK && !ok:
		return nil, ErrInvalidToken
	case !ok:
		return nil, ErrUnknownAccessKey
	case id.SecurityToken == "" && token != "":
		return nil, ErrUnexpectedToken
	case id.SecurityToken != "" && token == "":
		return nil, ErrMissingToken
	case token != "" && !tokOK:
		return nil, ErrInvalidToken
	case token != "" && byTok != id:
		return nil, ErrTokenNotForKey
	case !id.Expires.IsZero() && !now.Before(id.Expires):
		return nil, ErrTokenExpired
	}
	return id, nil
}

// AddRole registers a role for the fake STS.
func (a *Account) AddRole(r *Role) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roles[r.ARN] = r
}

// Role returns the role with that ARN.
func (a *Account) Role(arn string) (*Role, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	r, ok := a.roles[arn]
	return r, ok
}

// Allowed reports whether every policy of the identity allows action on
// resource with the request's condition keys. An identity without policies
// is an administrator.
func (id *Identity) Allowed(action, resource string, cond map[string]string) bool {
	for _, p := range id.Policies {
		if p != nil && !p.Allows(action, resource, cond) {
			return false
		}
	}
	return true
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	s := base64.RawURLEncoding.EncodeToString(b)
	s = strings.NewReplacer("-", "x", "_", "y").Replace(s)
	return s[:n]
}

// String describes the identity without its secret or token.
func (id Identity) String() string {
	return fmt.Sprintf("Identity{AccessKeyID:%s Principal:%s STS:%v Expires:%s}",
		id.AccessKeyID, id.Principal, id.SecurityToken != "", id.Expires.Format(time.RFC3339))
}

// LogValue implements slog.LogValuer: the secret and token never print.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", id.AccessKeyID), slog.String("principal", id.Principal),
		slog.Bool("sts", id.SecurityToken != ""), slog.Time("expires", id.Expires))
}
