package osstest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ECS metadata wire constants (PROTOCOL.md §6).
const (
	ECSTokenHeader    = "X-aliyun-ecs-metadata-token"
	ECSTokenTTLHeader = "X-aliyun-ecs-metadata-token-ttl-seconds"
	ecsCredPrefix     = "/latest/meta-data/ram/security-credentials/"
	ecsMaxTokenTTL    = 21600
)

// ECSOptions configures a fake ECS metadata service. Role is required for
// the RAM endpoints to answer; everything else has a default.
type ECSOptions struct {
	// Role is the instance RAM role; its name is the last segment of its ARN.
	// Nil: the instance has no role, and the role list is 404.
	Role *Role
	// AllowIMDSv1 serves GETs that carry no session token (normal mode).
	// False is the hardened mode: such GETs get 403.
	AllowIMDSv1 bool
	// CredentialTTL is the lifetime of the credentials handed out (0: 6h).
	CredentialTTL time.Duration
	// RefreshFraction is the fraction of CredentialTTL after which new
	// credentials are minted (0: 0.5). The old ones stay valid until they
	// expire, as on ECS.
	RefreshFraction float64
	// InstanceID names the session in the assumed-role ARN (default
	// "i-osstest").
	InstanceID string
	// Logger receives one line per request, without secrets (nil: discard).
	Logger *slog.Logger
}

// ECSMetadata is a fake ECS instance metadata service (the server behind
// http://100.100.100.200): IMDSv2 session tokens and the instance role's
// STS credentials, minted into the Account with the role's policy and
// rotated on the account clock. It is safe for concurrent use.
type ECSMetadata struct {
	acct *Account
	opts ECSOptions
	log  *slog.Logger

	mu       sync.Mutex
	tokens   map[string]time.Time // session token -> expiry
	cur      *Identity
	issued   time.Time
	rotation int
}

// NewECSMetadata returns a metadata service for acct.
func NewECSMetadata(acct *Account, opts ECSOptions) *ECSMetadata {
	if opts.CredentialTTL <= 0 {
		opts.CredentialTTL = 6 * time.Hour
	}
	if opts.RefreshFraction <= 0 || opts.RefreshFraction >= 1 {
		opts.RefreshFraction = 0.5
	}
	if opts.InstanceID == "" {
		opts.InstanceID = "i-osstest"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ECSMetadata{acct: acct, opts: opts, log: log, tokens: map[string]time.Time{}}
}

// RoleName is the instance role's name ("" without a role).
func (e *ECSMetadata) RoleName() string {
	if e.opts.Role == nil {
		return ""
	}
	arn := e.opts.Role.ARN
	return arn[strings.LastIndex(arn, "/")+1:]
}

// Credentials returns the credentials the service hands out now, minting
// new ones if the current ones are due for rotation, and how many times
// credentials have been minted so far. It returns nil without a role.
func (e *ECSMetadata) Credentials() (*Identity, int) {
	id, _, n := e.current()
	return id, n
}

// current is Credentials plus the time the credentials were minted.
func (e *ECSMetadata) current() (*Identity, time.Time, int) {
	if e.opts.Role == nil {
		return nil, time.Time{}, 0
	}
	now := e.acct.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	refreshAt := e.issued.Add(time.Duration(float64(e.opts.CredentialTTL) * e.opts.RefreshFraction))
	if e.cur == nil || !now.Before(refreshAt) {
		principal := fmt.Sprintf("acs:ram::%s:assumed-role/%s/%s", e.acct.ID, e.RoleName(), e.opts.InstanceID)
		e.cur = e.acct.MintSTS(principal, e.opts.CredentialTTL, e.opts.Role.Policy)
		e.issued = now
		e.rotation++
	}
	return e.cur, e.issued, e.rotation
}

type ecsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"`
	LastUpdated     string `json:"LastUpdated"`
	Code            string `json:"Code"`
}

// ServeHTTP implements http.Handler.
func (e *ECSMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := e.serve(w, r)
	e.log.LogAttrs(r.Context(), slog.LevelInfo, "ecs metadata request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status))
}

func (e *ECSMetadata) serve(w http.ResponseWriter, r *http.Request) int {
	fail := func(status int) int {
		http.Error(w, http.StatusText(status), status)
		return status
	}
	now := e.acct.Clock.Now()
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			return fail(http.StatusMethodNotAllowed)
		}
		if r.Header.Get("X-Forwarded-For") != "" {
			return fail(http.StatusForbidden)
		}
		ttl, err := strconv.Atoi(r.Header.Get(ECSTokenTTLHeader))
		if err != nil || ttl < 1 || ttl > ecsMaxTokenTTL {
			return fail(http.StatusBadRequest)
		}
		tok := randomString(56)
		e.mu.Lock()
		for t, exp := range e.tokens {
			if !now.Before(exp) {
				delete(e.tokens, t)
			}
		}
		e.tokens[tok] = now.Add(time.Duration(ttl) * time.Second)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set(ECSTokenTTLHeader, strconv.Itoa(ttl))
		_, _ = w.Write([]byte(tok))
		return http.StatusOK
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fail(http.StatusMethodNotAllowed)
	}
	switch tok := r.Header.Get(ECSTokenHeader); {
	case tok == "" && !e.opts.AllowIMDSv1:
		return fail(http.StatusForbidden)
	case tok != "":
		e.mu.Lock()
		exp, ok := e.tokens[tok]
		e.mu.Unlock()
		if !ok || !now.Before(exp) {
			return fail(http.StatusUnauthorized)
		}
	}
	name := e.RoleName()
	switch p := r.URL.Path; {
	case p == ecsCredPrefix || p == strings.TrimSuffix(ecsCredPrefix, "/"):
		if name == "" {
			return fail(http.StatusNotFound)
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(name))
		return http.StatusOK
	case name != "" && (p == ecsCredPrefix+name || p == ecsCredPrefix+name+"/"):
		id, issued, _ := e.current()
		w.Header().Set("Content-Type", "text/plain")
		_ = json.NewEncoder(w).Encode(ecsCredentials{
			AccessKeyID:     id.AccessKeyID,
			AccessKeySecret: id.AccessKeySecret,
			SecurityToken:   id.SecurityToken,
			Expiration:      id.Expires.UTC().Format(stsTimeFormat),
			LastUpdated:     issued.UTC().Format(stsTimeFormat),
			Code:            "Success",
		})
		return http.StatusOK
	default:
		return fail(http.StatusNotFound)
	}
}
