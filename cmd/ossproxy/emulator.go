package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ossproxy/ossproxy/osstest"
)

// emulatorInfo is what `ossproxy emulator` prints: where the services are
// and the emulator's (fake) credentials.
type emulatorInfo struct {
	AccountID       string   `json:"account_id"`
	Region          string   `json:"region"`
	Buckets         []string `json:"buckets"`
	OSSEndpoint     string   `json:"oss_endpoint"`
	STSEndpoint     string   `json:"sts_endpoint"` // host:port, https
	STSURL          string   `json:"sts_url"`
	ECSURL          string   `json:"ecs_metadata_url"`
	AccessKeyID     string   `json:"access_key_id"`
	AccessKeySecret string   `json:"access_key_secret"`
	RoleARN         string   `json:"role_arn"`
	OIDCProviderARN string   `json:"oidc_provider_arn"`
	CAFile          string   `json:"ca_file,omitempty"`
	CAPEM           string   `json:"ca_pem"`
}

// runEmulator runs the OSS + STS + ECS metadata emulator until ctx ends.
func runEmulator(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts osstest.CloudOptions
	fs.StringVar(&opts.OSSAddr, "oss-addr", "127.0.0.1:0", "OSS listen `address` (plain HTTP)")
	fs.StringVar(&opts.STSAddr, "sts-addr", "127.0.0.1:0", "STS listen `address` (HTTPS, emulator CA)")
	fs.StringVar(&opts.ECSAddr, "ecs-addr", "127.0.0.1:0", "ECS metadata listen `address` (plain HTTP)")
	fs.StringVar(&opts.Region, "region", "cn-hangzhou", "OSS `region`")
	fs.StringVar(&opts.AccountID, "account", osstest.DefaultAccountID, "account `id` used in ARNs")
	fs.StringVar(&opts.Dir, "dir", "", "`directory` for object bodies (default: a temporary directory, removed on exit)")
	fs.StringVar(&opts.VirtualHostSuffix, "virtual-host-suffix", "", "enable virtual-host addressing for `<bucket>.suffix`")
	fs.BoolVar(&opts.AllowIMDSv1, "imdsv1", false, "let ECS metadata answer without a session token")
	fs.Func("bucket", "create `bucket` (repeatable, or comma-separated)", func(v string) error {
		for b := range strings.SplitSeq(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				opts.Buckets = append(opts.Buckets, b)
			}
		}
		return nil
	})
	fs.Func("hostname", "extra DNS `name` or IP for the STS certificate (repeatable)", func(v string) error {
		opts.Hostnames = append(opts.Hostnames, v)
		return nil
	})
	caFile := fs.String("ca-out", "", "write the STS CA certificate (PEM) to `file`")
	asJSON := fs.Bool("json", false, "print the endpoints and credentials as one JSON line")
	verbose := fs.Bool("v", false, "log every request to stderr")
	if done, err := parseFlags(fs, args, ""); done {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	c, err := osstest.Start(ctx, opts)
	if err != nil {
		return fmt.Errorf("starting emulator: %w", err)
	}
	defer c.Close()
	info := emulatorInfo{
		AccountID: c.Account.ID, Region: c.Region, Buckets: opts.Buckets,
		OSSEndpoint: c.OSSURL, STSEndpoint: c.STSEndpoint, STSURL: c.STSURL, ECSURL: c.ECSURL,
		AccessKeyID: c.Admin.AccessKeyID, AccessKeySecret: c.Admin.AccessKeySecret,
		RoleARN: c.Role.ARN, OIDCProviderARN: c.OIDC.ARN, CAFile: *caFile, CAPEM: string(c.CA.CertPEM()),
	}
	if info.Buckets == nil {
		info.Buckets = []string{}
	}
	if *caFile != "" {
		if err := os.WriteFile(*caFile, c.CA.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("writing CA certificate: %w", err)
		}
	}
	if err := printEmulatorInfo(stdout, &info, *asJSON); err != nil {
		return fmt.Errorf("printing emulator endpoints: %w", err)
	}
	<-ctx.Done()
	if err := c.Close(); err != nil {
		return fmt.Errorf("stopping emulator: %w", err)
	}
	return nil
}

func printEmulatorInfo(w io.Writer, info *emulatorInfo, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(info)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ca := "(CA certificate not written; use -ca-out or -json)"
	if info.CAFile != "" {
		ca = "(CA certificate in " + info.CAFile + ")"
	}
	fmt.Fprintln(tw, "ossproxy emulator running; interrupt to stop")
	fmt.Fprintf(tw, "  region\t%s\n", info.Region)
	fmt.Fprintf(tw, "  buckets\t%s\n", strings.Join(info.Buckets, ","))
	fmt.Fprintf(tw, "  OSS endpoint\t%s\n", info.OSSEndpoint)
	fmt.Fprintf(tw, "  STS endpoint\t%s %s\n", info.STSURL, ca)
	fmt.Fprintf(tw, "  ECS metadata\t%s\n", info.ECSURL)
	fmt.Fprintf(tw, "  access key id\t%s\n", info.AccessKeyID)
	fmt.Fprintf(tw, "  access key secret\t%s\n", info.AccessKeySecret)
	fmt.Fprintf(tw, "  role ARN\t%s\n", info.RoleARN)
	fmt.Fprintf(tw, "  OIDC provider ARN\t%s\n", info.OIDCProviderARN)
	return tw.Flush()
}
