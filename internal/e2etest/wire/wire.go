// Package wire builds the auth side of the end-to-end environments and
// connects it to proxy as cmd/ossproxy does, and gives the trivial
// authenticator, authorizer and credential source of tests that are about
// something else.
//
//	a := wire.NewAuthenticator(t, iss, cloud.Region, logger)
//	h, err := proxy.New(proxy.Options{
//		Authenticator: wire.Authenticator(a), Authorizer: wire.Authorizer(pol),
//		Credentials: wire.Static(creds), ...})
//
// It imports auth and proxy: their own (internal) tests, and signer's,
// cannot use it; their external tests can.
package wire

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/internal/e2etest"
	"github.com/ossproxy/ossproxy/proxy"
	"github.com/ossproxy/ossproxy/signer"
)

// IssuerConfig is the auth configuration that accepts iss's tokens.
func IssuerConfig(iss e2etest.Issuer) auth.IssuerConfig {
	return auth.IssuerConfig{Issuer: iss.URL, Audiences: []string{iss.Audience}, Algorithms: []string{"HS256"},
		HMACSecret: auth.Secret(iss.Secret)}
}

// NewAuthenticator returns the authenticator of the end-to-end
// environments: JWTs from iss in the Authorization header or the
// access_token query parameter, and the access key e2etest.ProxyKeyID for
// signatures in region. It logs to logger.
func NewAuthenticator(t testing.TB, iss e2etest.Issuer, region string, logger *slog.Logger) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(context.Background(), auth.Config{
		Issuers:         []auth.IssuerConfig{IssuerConfig(iss)},
		TokenQueryParam: "access_token",
		AccessKeys:      []auth.AccessKey{{ID: e2etest.ProxyKeyID, Secret: auth.Secret(e2etest.ProxyKeySecret), Principal: "bob"}},
		AccessKeyRegion: region,
		Logger:          logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Authenticator adapts a to proxy.Authenticator, as cmd/ossproxy does: the
// Caller carries the auth.Principal and the places its credential came in,
// which the proxy strips before forwarding.
func Authenticator(a *auth.Authenticator) proxy.Authenticator {
	return proxy.AuthenticatorFunc(func(ctx context.Context, r *http.Request, bucket, key string) (*proxy.Caller, error) {
		p, err := a.Authenticate(ctx, r, auth.Target{Bucket: bucket, Key: key})
		if err != nil {
			return nil, err
		}
		return &proxy.Caller{Name: p.Name, Mode: p.Mode.String(), StripHeaders: p.Carrier.Headers,
			StripQuery: p.Carrier.QueryParams, Principal: p}, nil
	})
}

// Authorizer adapts pol to proxy.Authorizer; the Action values are the
// same bits. A Caller without an *auth.Principal is judged as a nil one.
func Authorizer(pol *auth.Policy) proxy.Authorizer {
	return proxy.AuthorizerFunc(func(_ context.Context, c *proxy.Caller, a proxy.Action, bucket, key string) error {
		p, _ := c.Principal.(*auth.Principal)
		return pol.Authorize(p, auth.Action(a), bucket, key)
	})
}

// Anyone is an authenticator that accepts every request as the caller
// name, authenticated by mode.
func Anyone(name, mode string) proxy.Authenticator {
	return proxy.AuthenticatorFunc(func(context.Context, *http.Request, string, string) (*proxy.Caller, error) {
		return &proxy.Caller{Name: name, Mode: mode}, nil
	})
}

// AllowAll is an authorizer that allows every action.
func AllowAll() proxy.Authorizer {
	return proxy.AuthorizerFunc(func(context.Context, *proxy.Caller, proxy.Action, string, string) error { return nil })
}

// Static is a credential source that always returns c.
func Static(c signer.Credentials) proxy.CredentialFuncs {
	return proxy.CredentialFuncs{RetrieveFunc: func(context.Context) (signer.Credentials, error) { return c, nil }}
}
