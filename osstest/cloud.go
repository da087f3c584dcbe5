package osstest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// DefaultAccountID is the account id a Cloud uses when none is given.
const DefaultAccountID = "1234567890123456"

// CloudOptions configures Start. The zero value is usable: one account,
// no buckets, every service on an ephemeral loopback port.
type CloudOptions struct {
	AccountID string   // "" : DefaultAccountID
	Region    string   // "" : "cn-hangzhou"
	Buckets   []string // created at start
	// Dir holds OSS object bodies ("" : a temporary directory removed by
	// Close).
	Dir string
	// OSSAddr, STSAddr and ECSAddr are listen addresses (host:port); ""
	// means "127.0.0.1:0".
	OSSAddr, STSAddr, ECSAddr string
	// Hostnames are extra DNS names or IPs the STS certificate is valid for,
	// besides localhost, 127.0.0.1 and ::1.
	Hostnames []string
	// VirtualHostSuffix is passed to the OSS emulator (see OSSOptions).
	VirtualHostSuffix string
	// Clock is the account clock (nil: a new one following time.Now).
	Clock *Clock
	// Logger receives the services' logs, without secrets (nil: discard).
	Logger *slog.Logger
	// RolePolicy is the default role's policy (nil: allow everything).
	RolePolicy *Policy
	// MaxSessionDuration is the default role's limit (0: 3600s).
	MaxSessionDuration time.Duration
	// AllowIMDSv1 lets the ECS metadata service answer without a session
	// token; CredentialTTL and RefreshFraction tune its credentials (see
	// ECSOptions).
	AllowIMDSv1      bool
	ECSCredentialTTL time.Duration
	ECSRefresh       float64
	// RecorderSize bounds the request log (0: 10000 requests).
	RecorderSize int
}

// Cloud is a running emulator: OSS over plain HTTP, STS over HTTPS with a
// throw-away CA, and ECS metadata over plain HTTP, each on a real loopback
// listener, sharing one Account and Clock, and each wrapped by Faults (the
// endpoints are named EndpointOSS, EndpointSTS and EndpointECS) so every
// request is recorded and may be faulted.
//
// The exported fields are set by Start and must not be reassigned; the
// objects they point to are safe for concurrent use.
type Cloud struct {
	Account  *Account
	Clock    *Clock
	OSS      *OSS
	STS      *STS
	ECS      *ECSMetadata
	OIDC     *OIDCIssuer // registered with STS; the default role trusts it
	CA       *TestCA     // signs the STS certificate; trust it via CA.Transport()
	Faults   *Faults
	Recorder *Recorder

	// Admin is a long-term RAM user key without policy (allowed
	// everything), trusted by Role.
	Admin *Identity
	// Role is the default role, acs:ram::<account>:role/ossproxy: any key
	// of the account may AssumeRole it, OIDC tokens of OIDC may
	// AssumeRoleWithOIDC it, and it is the ECS instance role.
	Role *Role

	Region      string
	OSSURL      string // http://127.0.0.1:port
	STSEndpoint string // host:port, for an SDK's STS endpoint setting
	STSURL      string // https://host:port
	ECSURL      string // http://host:port, where 100.100.100.200 would be

	cancel  context.CancelFunc
	servers []*http.Server
	wg      sync.WaitGroup
	once    sync.Once
	err     error
}

// Start starts a Cloud. ctx bounds start-up and is the parent of every
// request's context: cancelling it aborts requests in flight (the
// listeners stay up until Close).
func Start(ctx context.Context, opts CloudOptions) (c *Cloud, err error) {
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	acct := NewAccount(opts.AccountID, opts.Clock)
	rec := NewRecorder(opts.RecorderSize)
	c = &Cloud{Account: acct, Clock: acct.Clock, Recorder: rec, Faults: NewFaults(rec)}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	defer func() {
		if err != nil {
			_ = c.Close()
			c = nil
		}
	}()

	if c.CA, err = NewTestCA(opts.Hostnames...); err != nil {
		return c, fmt.Errorf("starting cloud: %w", err)
	}
	if c.OIDC, err = NewOIDCIssuer(acct, "osstest", "https://oidc.osstest.invalid/"+opts.AccountID); err != nil {
		return c, fmt.Errorf("starting cloud: %w", err)
	}
	c.Role = &Role{
		ARN:                "acs:ram::" + opts.AccountID + ":role/ossproxy",
		Policy:             opts.RolePolicy,
		MaxSessionDuration: opts.MaxSessionDuration,
		OIDCProviderARN:    c.OIDC.ARN,
	}
	acct.AddRole(c.Role)
	c.Admin = acct.NewUser("admin", nil)

	c.OSS, err = NewOSS(acct, OSSOptions{Region: opts.Region, Dir: opts.Dir, Buckets: opts.Buckets,
		VirtualHostSuffix: opts.VirtualHostSuffix, Logger: log.With("service", "oss")})
	if err != nil {
		return c, fmt.Errorf("starting cloud: %w", err)
	}
	c.Region = c.OSS.Region()
	c.STS = NewSTS(acct, STSOptions{OIDCProviders: []*OIDCIssuer{c.OIDC}, Logger: log.With("service", "sts")})
	c.ECS = NewECSMetadata(acct, ECSOptions{Role: c.Role, AllowIMDSv1: opts.AllowIMDSv1,
		CredentialTTL: opts.ECSCredentialTTL, RefreshFraction: opts.ECSRefresh, Logger: log.With("service", "ecs")})

	listen := func(addr string) (net.Listener, error) {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var lc net.ListenConfig
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("starting cloud: listening on %s: %w", addr, err)
		}
		return l, nil
	}
	serve := func(l net.Listener, endpoint string, h http.Handler, tls bool) {
		srv := &http.Server{
			Handler:           c.Faults.Wrap(endpoint, h),
			BaseContext:       func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: 30 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		}
		if tls {
			srv.TLSConfig = c.CA.ServerTLSConfig()
		}
		c.servers = append(c.servers, srv)
		c.wg.Go(func() {
			var err error
			if tls {
				err = srv.ServeTLS(l, "", "")
			} else {
				err = srv.Serve(l)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("emulator server stopped", "service", endpoint, "err", err)
			}
		})
	}
	ol, err := listen(opts.OSSAddr)
	if err != nil {
		return c, err
	}
	serve(ol, EndpointOSS, c.OSS, false)
	sl, err := listen(opts.STSAddr)
	if err != nil {
		return c, err
	}
	serve(sl, EndpointSTS, c.STS, true)
	el, err := listen(opts.ECSAddr)
	if err != nil {
		return c, err
	}
	serve(el, EndpointECS, c.ECS, false)

	c.OSSURL = "http://" + ol.Addr().String()
	c.STSEndpoint = sl.Addr().String()
	c.STSURL = "https://" + c.STSEndpoint
	c.ECSURL = "http://" + el.Addr().String()
	return c, nil
}

// Close releases hanging faults, cancels the context of requests in
// flight, gives them up to a second to finish, closes every connection and
// listener, and removes the OSS objects. It is safe to call more than once.
func (c *Cloud) Close() error {
	c.once.Do(func() {
		c.Faults.Close()
		if c.cancel != nil {
			c.cancel()
		}
		var errs []error
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		for _, s := range c.servers {
			if err := s.Shutdown(ctx); err != nil {
				errs = append(errs, s.Close())
			}
		}
		c.wg.Wait()
		if c.OSS != nil {
			errs = append(errs, c.OSS.Close())
		}
		if err := errors.Join(errs...); err != nil {
			c.err = fmt.Errorf("closing cloud: %w", err)
		}
	})
	return c.err
}

// NewTestCloud starts a Cloud for a test or benchmark and closes it in
// t.Cleanup; it fails t if the cloud cannot start.
func NewTestCloud(t testing.TB, opts CloudOptions) *Cloud {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("osstest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("osstest: %v", err)
		}
	})
	return c
}
