package osstest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// STS request limits, as documented for STS 2015-04-01.
const (
	stsMinDuration     = 900 * time.Second
	stsDefaultDuration = 3600 * time.Second
	stsMaxRoleDuration = 43200 * time.Second
	stsMaxPolicyLen    = 2048
	stsTimeFormat      = "2006-01-02T15:04:05Z"
	stsDefaultMaxSkew  = 15 * time.Minute
	stsAPIVersion      = "2015-04-01"
)

var roleSessionNameRE = regexp.MustCompile(`^[\w.@-]{2,64}$`)

// STSOptions configures a fake STS. The zero value is usable.
type STSOptions struct {
	// OIDCProviders are the identity providers AssumeRoleWithOIDC trusts,
	// keyed by their ARN. Nil: AssumeRoleWithOIDC always fails with
	// AuthenticationFail.NoPermission ("No such OIDC Provider registered.").
	OIDCProviders []*OIDCIssuer
	// MaxSkew is how far the Timestamp parameter may be from the account
	// clock (0: 15 minutes).
	MaxSkew time.Duration
	// Logger receives one line per request, without secrets (nil: discard).
	Logger *slog.Logger
}

// STS is a fake Alibaba Cloud Security Token Service (API 2015-04-01) that
// mints credentials into an Account. It serves POP RPC requests (GET or POST,
// parameters in the query and/or a form body) and answers in JSON only.
//
// AssumeRole verifies the HMAC-SHA1 POP signature of a long-term key or of
// STS credentials (role chaining; the SecurityToken parameter is then
// required), rejects the account's root principal, checks that the caller is
// trusted by the role (Role.TrustedAccessKeys lists access key ids or
// principal ARNs; empty trusts every key of the account), and validates
// DurationSeconds, RoleSessionName, ExternalId and Policy as STS does.
// SignatureNonce values may not be reused within the skew window.
//
// AssumeRoleWithOIDC is anonymous: an AccessKeyId and Signature, which the
// typed alibaba-cloud-sdk-go client adds, are ignored, as STS ignores them.
// The OIDC token must be an RS256 JWT from a configured provider whose
// issuer, audience and expiry are checked on the account clock, and the
// role's OIDCProviderARN must be the OIDCProviderArn parameter.
//
// Minted credentials carry the role's policy and the session policy, so
// their permissions are the intersection of both. STS is safe for
// concurrent use.
type STS struct {
	acct   *Account
	opts   STSOptions
	log    *slog.Logger
	oidc   map[string]*OIDCIssuer
	mu     sync.Mutex
	nonces map[string]time.Time // SignatureNonce -> first use
	pruned time.Time            // last sweep of nonces
}

// NewSTS returns a fake STS minting into acct.
func NewSTS(acct *Account, opts STSOptions) *STS {
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = stsDefaultMaxSkew
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &STS{acct: acct, opts: opts, log: log, oidc: map[string]*OIDCIssuer{}, nonces: map[string]time.Time{}}
	for _, p := range opts.OIDCProviders {
		if p != nil {
			s.oidc[p.ARN] = p
		}
	}
	return s
}

// STSError is an STS error response body. It is also the error STS
// returns internally; Status is the HTTP status.
type STSError struct {
	Status    int    `json:"-"`
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func (e *STSError) Error() string { return fmt.Sprintf("sts: %d %s: %s", e.Status, e.Code, e.Message) }

func stsErr(status int, code, msg string) *STSError {
	return &STSError{Status: status, Code: code, Message: msg}
}

// stsResponse is the body of a successful AssumeRole* call.
type stsResponse struct {
	RequestID       string `json:"RequestId"`
	AssumedRoleUser struct {
		Arn           string `json:"Arn"`
		AssumedRoleID string `json:"AssumedRoleId"`
	} `json:"AssumedRoleUser"`
	Credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
		SecurityToken   string `json:"SecurityToken"`
		Expiration      string `json:"Expiration"`
	} `json:"Credentials"`
	OIDCTokenInfo *oidcTokenInfo `json:"OIDCTokenInfo,omitempty"`
}

type oidcTokenInfo struct {
	Subject          string `json:"Subject"`
	Issuer           string `json:"Issuer"`
	ClientIDs        string `json:"ClientIds"`
	ExpirationTime   string `json:"ExpirationTime"`
	IssuanceTime     string `json:"IssuanceTime"`
	VerificationInfo string `json:"VerificationInfo"`
}

// ServeHTTP implements http.Handler.
func (s *STS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := stsRequestID()
	action := ""
	resp, err := func() (*stsResponse, error) {
		if r.Method != http.MethodPost && r.Method != http.MethodGet {
			return nil, stsErr(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", "This http method is not supported.")
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			return nil, stsErr(http.StatusBadRequest, "InvalidParameter", "The request body could not be parsed.")
		}
		action = r.Form.Get("Action")
		if v := r.Form.Get("Version"); v != stsAPIVersion {
			return nil, stsErr(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
		}
		switch action {
		case "AssumeRole":
			return s.assumeRole(r)
		case "AssumeRoleWithOIDC":
			return s.assumeRoleWithOIDC(r)
		default:
			return nil, stsErr(http.StatusNotFound, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
		}
	}()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("x-acs-request-id", reqID)
	if err != nil {
		var se *STSError
		if !errors.As(err, &se) {
			se = stsErr(http.StatusInternalServerError, "InternalError", "The request processing has failed due to some unknown error.")
		}
		se.RequestID, se.HostID = reqID, r.Host
		se.Recommend = "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(se.Code) + "&product=Sts"
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "sts request failed",
			slog.String("action", action), slog.String("code", se.Code), slog.Int("status", se.Status), slog.String("request_id", reqID))
		w.WriteHeader(se.Status)
		_ = json.NewEncoder(w).Encode(se)
		return
	}
	resp.RequestID = reqID
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "sts request",
		slog.String("action", action), slog.String("assumed_role", resp.AssumedRoleUser.Arn),
		slog.String("access_key_id", resp.Credentials.AccessKeyID), slog.String("request_id", reqID))
	_ = json.NewEncoder(w).Encode(resp)
}

// authenticate verifies the POP signature and returns the caller.
func (s *STS) authenticate(r *http.Request) (*Identity, error) {
	f := r.Form
	ak := f.Get("AccessKeyId")
	if ak == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
	}
	sig := f.Get("Signature")
	if sig == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingSignature", "Signature is mandatory for this action.")
	}
	if m := f.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return nil, stsErr(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not valid.")
	}
	if v := f.Get("SignatureVersion"); v != "1.0" {
		return nil, stsErr(http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version is not valid.")
	}
	now := s.acct.Clock.Now()
	ts := f.Get("Timestamp")
	if ts == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingTimestamp", "Timestamp is mandatory for this action.")
	}
	t, err := time.Parse(stsTimeFormat, ts)
	if err != nil {
		return nil, stsErr(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	if d := now.Sub(t); d > s.opts.MaxSkew || d < -s.opts.MaxSkew {
		return nil, stsErr(http.StatusBadRequest, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
	}
	nonce := f.Get("SignatureNonce")
	if nonce == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
	}
	id, err := s.acct.Lookup(ak, f.Get("SecurityToken"), now)
	switch {
	case errors.Is(err, ErrUnknownAccessKey):
		return nil, stsErr(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case errors.Is(err, ErrMissingToken):
		return nil, stsErr(http.StatusBadRequest, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
	case errors.Is(err, ErrTokenExpired):
		return nil, stsErr(http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	case errors.Is(err, ErrTokenNotForKey):
		return nil, stsErr(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrUnexpectedToken):
		return nil, stsErr(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
	case err != nil:
		return nil, fmt.Errorf("looking up access key: %w", err)
	}
	sts := POPStringToSign(r.Method, f)
	want := POPSignature(id.AccessKeySecret, sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		msg := "Specified signature is not matched with our calculation."
		if f.Get("SecurityToken") == "" { // else the string to sign holds the token
			msg += " server string to sign is:" + sts
		}
		return nil, stsErr(http.StatusBadRequest, "SignatureDoesNotMatch", msg)
	}
	if !s.useNonce(nonce, now) {
		return nil, stsErr(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return id, nil
}

// useNonce records a SignatureNonce and reports whether it was fresh.
func (s *STS) useNonce(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.pruned) > s.opts.MaxSkew/4 {
		for n, t := range s.nonces {
			if now.Sub(t) > 2*s.opts.MaxSkew {
				delete(s.nonces, n)
			}
		}
		s.pruned = now
	}
	if _, ok := s.nonces[nonce]; ok {
		return false
	}
	s.nonces[nonce] = now
	return true
}

// POPStringToSign is the RPC (POP) string to sign for params, every value
// of every parameter except Signature:
// METHOD&%2F&pct(sorted k=v joined by &), RFC 3986 encoded.
func POPStringToSign(method string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range params[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(popEscape(k))
			b.WriteByte('=')
			b.WriteString(popEscape(v))
		}
	}
	return method + "&%2F&" + popEscape(b.String())
}

// POPSignature is base64(HMAC-SHA1(secret+"&", stringToSign)).
func POPSignature(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// popEscape percent-encodes s per RFC 3986: everything but A-Z a-z 0-9
// - _ . ~ becomes %XX (upper-case hex), so space is %20 and * is %2A.
func popEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !popUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if popUnreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func popUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// stsSession are the parameters AssumeRole and AssumeRoleWithOIDC share.
type stsSession struct {
	role     *Role
	session  string
	duration time.Duration
	policy   *Policy
}

func (s *STS) parseSession(f url.Values, sessionRequired bool) (*stsSession, error) {
	arn := f.Get("RoleArn")
	if arn == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingRoleArn", "RoleArn is mandatory for this action.")
	}
	if !strings.HasPrefix(arn, "acs:ram::") || !strings.Contains(arn, ":role/") {
		return nil, stsErr(http.StatusBadRequest, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
	}
	p := &stsSession{}
	p.session = f.Get("RoleSessionName")
	switch {
	case p.session == "" && sessionRequired:
		return nil, stsErr(http.StatusBadRequest, "MissingRoleSessionName", "RoleSessionName is mandatory for this action.")
	case p.session == "":
		p.session = "oidc-" + randomString(12)
	case !roleSessionNameRE.MatchString(p.session):
		return nil, stsErr(http.StatusBadRequest, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
	}
	p.duration = stsDefaultDuration
	if ds := f.Get("DurationSeconds"); ds != "" {
		n, err := strconv.Atoi(ds)
		if err != nil {
			return nil, stsErr(http.StatusBadRequest, "InvalidParameter.DurationSeconds", "The parameter DurationSeconds is wrongly formed.")
		}
		p.duration = time.Duration(n) * time.Second
	}
	if pol := f.Get("Policy"); pol != "" {
		if utf8.RuneCountInString(pol) > stsMaxPolicyLen {
			return nil, stsErr(http.StatusBadRequest, "InvalidParameter.PolicyLength", "The parameter Policy exceeds 2048 characters.")
		}
		pp, err := ParsePolicy(pol)
		if err != nil {
			return nil, stsErr(http.StatusBadRequest, "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check.")
		}
		p.policy = pp
	}
	role, ok := s.acct.Role(arn)
	if !ok {
		return nil, stsErr(http.StatusNotFound, "EntityNotExist.Role", "The role not exists: "+arn+".")
	}
	p.role = role
	maxD := role.MaxSessionDuration
	if maxD <= 0 {
		maxD = stsDefaultDuration
	}
	maxD = min(maxD, stsMaxRoleDuration)
	if p.duration < stsMinDuration || p.duration > maxD {
		return nil, stsErr(http.StatusBadRequest, "InvalidParameter.DurationSeconds",
			fmt.Sprintf("The Min/Max value of DurationSeconds is %d/%d seconds.", int(stsMinDuration/time.Second), int(maxD/time.Second)))
	}
	return p, nil
}

func (s *STS) assumeRole(r *http.Request) (*stsResponse, error) {
	caller, err := s.authenticate(r)
	if err != nil {
		return nil, err
	}
	f := r.Form
	if ext, ok := f["ExternalId"]; ok {
		if n := utf8.RuneCountInString(ext[0]); n < 2 || n > 1224 {
			return nil, stsErr(http.StatusBadRequest, "InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.")
		}
	}
	p, err := s.parseSession(f, true)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(caller.Principal, ":root") {
		return nil, stsErr(http.StatusForbidden, "NoPermission", "Roles may not be assumed by root accounts.")
	}
	if !stsRoleTrusts(p.role, caller) {
		return nil, stsErr(http.StatusForbidden, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.")
	}
	return s.mint(p), nil
}

// roleTrusts reports whether the role's trust policy admits caller.
func stsRoleTrusts(role *Role, caller *Identity) bool {
	if len(role.TrustedAccessKeys) == 0 {
		return true
	}
	for _, k := range role.TrustedAccessKeys {
		if k == caller.AccessKeyID || k == caller.Principal {
			return true
		}
	}
	return false
}

func (s *STS) mint(p *stsSession) *stsResponse {
	roleName := p.role.ARN[strings.LastIndex(p.role.ARN, "/")+1:]
	account := strings.TrimPrefix(p.role.ARN, "acs:ram::")
	account = account[:strings.Index(account, ":")]
	principal := fmt.Sprintf("acs:ram::%s:assumed-role/%s/%s", account, roleName, p.session)
	id := s.acct.MintSTS(principal, p.duration, p.role.Policy, p.policy)
	resp := &stsResponse{}
	resp.AssumedRoleUser.Arn = principal
	resp.AssumedRoleUser.AssumedRoleID = stsRoleID(p.role.ARN) + ":" + p.session
	resp.Credentials.AccessKeyID = id.AccessKeyID
	resp.Credentials.AccessKeySecret = id.AccessKeySecret
	resp.Credentials.SecurityToken = id.SecurityToken
	resp.Credentials.Expiration = id.Expires.UTC().Format(stsTimeFormat)
	return resp
}

// roleID is a stable 19-digit role id derived from the ARN.
func stsRoleID(arn string) string {
	h := sha256.Sum256([]byte(arn))
	return fmt.Sprintf("3%018d", binary.BigEndian.Uint64(h[:8])%1e18)
}

func stsRequestID() string {
	var b [16]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	s := strings.ToUpper(hex.EncodeToString(b[:]))
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
