package osstest

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OIDCIssuer is a fake OIDC identity provider registered in RAM (an ACK
// cluster's RRSA issuer, say). It holds an RSA key, mints RS256 ID tokens
// for tests, and verifies them for the fake STS. It is safe for concurrent
// use; its fields must not be changed after NewOIDCIssuer.
type OIDCIssuer struct {
	ARN       string   // acs:ram::<account>:oidc-provider/<name>
	Issuer    string   // the iss claim, e.g. https://oidc-ack-cn-hangzhou.aliyuncs.com/c1234
	ClientIDs []string // accepted aud values; tokens are minted for ClientIDs[0]

	clock  *Clock
	key    *rsa.PrivateKey
	kid    string
	parser *jwt.Parser
}

// NewOIDCIssuer creates a provider named name in acct with a fresh 2048-bit
// RSA key. clientIDs default to "sts.aliyuncs.com", the RRSA audience.
// Token lifetimes are measured on acct.Clock.
func NewOIDCIssuer(acct *Account, name, issuer string, clientIDs ...string) (*OIDCIssuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating OIDC signing key: %w", err)
	}
	if len(clientIDs) == 0 {
		clientIDs = []string{"sts.aliyuncs.com"}
	}
	o := &OIDCIssuer{
		ARN:       fmt.Sprintf("acs:ram::%s:oidc-provider/%s", acct.ID, name),
		Issuer:    issuer,
		ClientIDs: clientIDs,
		clock:     acct.Clock,
		key:       key,
		kid:       randomString(16),
	}
	o.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(clientIDs...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(acct.Clock.Now),
	)
	return o, nil
}

// String names the issuer; the signing key never prints.
func (o *OIDCIssuer) String() string { return "OIDCIssuer(" + o.ARN + ", " + o.Issuer + ")" }

// GoString is String, so %#v does not print the key either.
func (o *OIDCIssuer) GoString() string { return o.String() }

// LogValue logs the ARN and issuer only.
func (o *OIDCIssuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("arn", o.ARN), slog.String("issuer", o.Issuer))
}

// PublicKey is the key that verifies the issuer's tokens.
func (o *OIDCIssuer) PublicKey() *rsa.PublicKey { return &o.key.PublicKey }

// Token mints an ID token for subject sub (e.g.
// "system:serviceaccount:ns:sa"), issued now on the account clock and
// valid for ttl.
func (o *OIDCIssuer) Token(sub string, ttl time.Duration) (string, error) {
	now := o.clock.Now()
	return o.Sign(jwt.RegisteredClaims{
		Issuer:    o.Issuer,
		Subject:   sub,
		Audience:  jwt.ClaimStrings{o.ClientIDs[0]},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	})
}

// Sign signs arbitrary claims with the issuer's key (RS256), for tests
// that need a wrong audience, issuer or expiry.
func (o *OIDCIssuer) Sign(claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = o.kid
	s, err := t.SignedString(o.key)
	if err != nil {
		return "", fmt.Errorf("signing OIDC token: %w", err)
	}
	return s, nil
}

// WriteTokenFile mints a token as Token does and atomically replaces the
// file at path with it, the way the kubelet rotates a projected RRSA token.
func (o *OIDCIssuer) WriteTokenFile(path, sub string, ttl time.Duration) error {
	tok, err := o.Token(sub, ttl)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("writing OIDC token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(tok); err != nil {
		tmp.Close()
		return fmt.Errorf("writing OIDC token file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing OIDC token file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing OIDC token file: %w", err)
	}
	return nil
}

// verify parses and validates an ID token.
func (o *OIDCIssuer) verify(token string) (*jwt.RegisteredClaims, error) {
	var c jwt.RegisteredClaims
	_, err := o.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &o.key.PublicKey, nil })
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *STS) assumeRoleWithOIDC(r *http.Request) (*stsResponse, error) {
	f := r.Form
	provARN := f.Get("OIDCProviderArn")
	if provARN == "" {
		return nil, stsErr(http.StatusBadRequest, "MissingOIDCProviderArn", "OIDCProviderArn is mandatory for this action.")
	}
	tok := f.Get("OIDCToken")
	if tok == "" {
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.Invalid", "The OIDCToken can not empty.")
	}
	p, err := s.parseSession(f, false)
	if err != nil {
		return nil, err
	}
	prov, ok := s.oidc[provARN]
	if !ok {
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.NoPermission", "No such OIDC Provider registered.")
	}
	claims, err := prov.verify(tok)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.Expired", "This JsonWebToken is expired.")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.AudienceNotMatch", "Invalid audience.")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.IssuerNotMatch", "Invalid issuer.")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.InvalidSignature", "OIDC token validate failed: invalid signature.")
	case err != nil:
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.OIDCToken.Invalid", "The Jwt content is invalid that cannot be recognized.")
	}
	if p.role.OIDCProviderARN != provARN {
		return nil, stsErr(http.StatusUnauthorized, "AuthenticationFail.NoPermission", "There is no permission")
	}
	resp := s.mint(p)
	info := &oidcTokenInfo{
		Subject:          claims.Subject,
		Issuer:           claims.Issuer,
		VerificationInfo: "Success",
	}
	for i, a := range claims.Audience {
		if i > 0 {
			info.ClientIDs += ","
		}
		info.ClientIDs += a
	}
	if claims.ExpiresAt != nil {
		info.ExpirationTime = claims.ExpiresAt.UTC().Format(stsTimeFormat)
	}
	if claims.IssuedAt != nil {
		info.IssuanceTime = claims.IssuedAt.UTC().Format(stsTimeFormat)
	}
	resp.OIDCTokenInfo = info
	return resp, nil
}
