package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ossproxy/ossproxy/auth"
	"github.com/ossproxy/ossproxy/config"
	"github.com/ossproxy/ossproxy/credentials"
	"github.com/ossproxy/ossproxy/vend"
)

// runSTS is `ossproxy sts --config FILE --bucket B --prefix P
// [--actions read,list] [--duration 1h] [--role-arn ARN]`: it assumes the
// role (default: the configured assume_role role, with its base
// credentials; otherwise --role-arn with the configured credentials) with
// a session policy limited to the bucket, prefix and actions, and prints
// the credentials as STS does, plus bucket, region and endpoint.
func runSTS(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `file` (YAML)")
	bucket := fs.String("bucket", "", "`bucket` (one of the configured buckets)")
	prefix := fs.String("prefix", "", "key `prefix` the credentials are limited to (\"\": the whole bucket)")
	actionList := fs.String("actions", "read,list", "comma-separated `actions`: read, list, write, delete, bucket-read, bucket-write")
	duration := fs.Duration("duration", time.Hour, "session `duration` in whole seconds, 900s to 12h and at most the role's maximum session duration (1h unless the role raises it)")
	roleARN := fs.String("role-arn", "", "role to assume (default: the configured assume_role role)")
	const usage = "usage: ossproxy sts --config FILE --bucket B [--prefix P] [--actions read,list] [--duration 1h] [--role-arn ARN]"
	if done, err := parseFlags(fs, args, usage); done {
		return err
	}
	if *path == "" || *bucket == "" {
		return usageError{usage}
	}
	if *duration < credentials.MinSessionDuration || *duration > credentials.MaxSessionDuration {
		return usageError{"--duration must be between 900s and 12h"}
	}
	var actions vend.Actions
	if err := json.Unmarshal(fmt.Appendf(nil, "%q", *actionList), &actions); err != nil || actions == 0 {
		return usageError{fmt.Sprintf("--actions: %v", err)}
	}
	cfg, err := config.Load(*path, config.Options{Getenv: getenv})
	if err != nil {
		return err
	}
	logger := newLogger(stderr, config.Logging{Level: "warn", Format: "text"})
	deps := credentialDeps{getenv: getenv, homeDir: getenv("HOME"), logger: logger}
	cc := cfg.Credentials
	role, externalID := *roleARN, ""
	if cc.Source == config.SourceAssumeRole && cc.Base != nil && (role == "" || role == cc.RoleARN) {
		role, externalID = cc.RoleARN, cc.ExternalID
		base := *cc.Base
		base.STS, base.Cache = cc.STS, cc.Cache
		cc = base
	}
	if role == "" {
		return usageError{"--role-arn is required unless the configured credentials are assume_role"}
	}
	base, closeBase, err := buildCredentials(cc, deps)
	if err != nil {
		return err
	}
	defer closeBase()
	client, err := newSTSClient(cfg.Credentials.STS, getenv)
	if err != nil {
		return err
	}
	svc, err := vend.New(vend.Options{
		Buckets: vendBuckets(cfg.Proxy),
		Policy:  cliGrants{grant: auth.Grant{Bucket: *bucket, Prefix: *prefix, Actions: auth.Action(actions)}},
		STS: &vend.STSOptions{RoleARN: role, Base: base, Client: client, ExternalID: externalID,
			MaxDuration: *duration, DefaultDuration: *duration},
		Logger: logger,
	})
	if err != nil {
		return err
	}
	res, err := svc.Credentials(ctx, cliPrincipal(), vend.STSRequest{Bucket: *bucket, Prefix: *prefix})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
