package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/signer"
)

func ExampleCache() {
	// A provider that mints one-hour credentials; in production this is an
	// AssumeRoleProvider, ECSProvider, OIDCProvider or the default chain.
	n := 0
	provider := credentials.ProviderFunc(func(ctx context.Context) (credentials.Credentials, error) {
		n++
		return credentials.Credentials{
			Credentials: signer.Credentials{AccessKeyID: fmt.Sprintf("STS.example%04d", n), AccessKeySecret: "secret", SecurityToken: "token"},
			Expires:     time.Now().Add(time.Hour),
			Source:      "example",
		}, nil
	})
	cache := credentials.NewCache(provider, credentials.CacheOptions{})
	defer cache.Close()

	creds, err := cache.Retrieve(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(creds.AccessKeyID, creds.Source)

	// OSS rejected the token: drop it; the next Retrieve gets new ones.
	cache.Invalidate(creds)
	creds, _ = cache.Retrieve(context.Background())
	fmt.Println(creds.AccessKeyID)
	// Output:
	// STS.example0001 example
	// STS.example0002
}

func ExampleNewDefaultChain() {
	env := map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID":         "LTAI5tExampleKeyId",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET":     "example-secret",
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
	}
	chain, err := credentials.NewDefaultChain(credentials.ChainConfig{
		Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	creds, err := chain.Retrieve(context.Background())
	fmt.Println(chain.Names(), err)
	fmt.Println(creds) // secrets are redacted

	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_ID")
	_, err = credentials.NewChain(nil, credentials.ChainEntry{Name: "env", Provider: credentials.NewEnv(func(k string) string { return env[k] })}).Retrieve(context.Background())
	fmt.Println(errors.Is(err, credentials.ErrNotFound))
	// Output:
	// [env] <nil>
	// Credentials{AccessKeyID: LTAI****eyId, AccessKeySecret: [REDACTED], SecurityToken: none, Expires: never, Source: env}
	// true
}

func ExampleScopedCache() {
	calls := 0
	sts := credentials.RoleAssumerFunc(func(ctx context.Context, base credentials.Credentials, in credentials.AssumeRoleInput) (credentials.Credentials, error) {
		calls++
		return credentials.Credentials{
			Credentials: signer.Credentials{AccessKeyID: fmt.Sprintf("STS.scoped%04d", calls), AccessKeySecret: "s", SecurityToken: "t"},
			Expires:     time.Now().Add(in.Duration),
		}, nil
	})
	scoped, _ := credentials.NewScopedCache(credentials.NewStatic("LTAI5tExampleKeyId", "example-secret", ""), sts, credentials.ScopedOptions{})
	const role = "acs:ram::1234567890123456:role/reader"
	const policy = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:bkt/*"}]}`
	a, _ := scoped.Retrieve(context.Background(), role, policy)
	b, _ := scoped.Retrieve(context.Background(), role, policy) // reused
	c, _ := scoped.Retrieve(context.Background(), role, "")     // another key
	fmt.Println(a.AccessKeyID, b.AccessKeyID, c.AccessKeyID, calls)
	// Output:
	// STS.scoped0001 STS.scoped0001 STS.scoped0002 2
}
