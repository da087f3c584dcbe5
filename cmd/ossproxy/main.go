// Command ossproxy is an authenticating reverse proxy in front of Alibaba
// Cloud OSS. See README.md for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ossproxy:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks errors caused by bad command-line use (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

// parseFlags parses args with fs for a command that takes flags only. done
// reports that the command ends with err: nil after -h (fs printed the
// usage), a usageError for a bad flag, or one for an argument: usage, or
// if usage is "", a message naming the argument.
func parseFlags(fs *flag.FlagSet, args []string, usage string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		if usage != "" {
			return true, usageError{usage}
		}
		return true, usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return false, nil
}

// command is one subcommand. run receives the arguments after its name.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"version", "print the version", func(_ context.Context, _ []string, _ func(string) string, stdout, _ io.Writer) error {
			_, err := fmt.Fprintln(stdout, "ossproxy", version)
			return err
		}},
		{"emulator", "run the OSS, STS and ECS metadata emulator", runEmulator},
		{"health", "query the admin listener's /healthz or /readyz (exit 0 when healthy)", runHealth},
		{"serve", "run the proxy (--config FILE)", runServe},
		{"check-config", "validate a configuration file (--config FILE)", runCheckConfig},
		{"demo", "run the emulator and the proxy with ready-made credentials", runDemo},
		{"presign", "print a presigned URL signed with the configured credentials", runPresign},
		{"sts", "print STS credentials limited to a bucket, prefix and actions", runSTS},
	}
}

// run is the whole program: main only supplies the process's context,
// arguments, environment and standard streams, so tests call run directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: ossproxy <command> [flags]\n\ncommands:")
		for _, c := range cmds {
			fmt.Fprintf(stderr, "  %-14s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return usageError{"no command given"}
		}
		return nil
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	return usageError{fmt.Sprintf("unknown command %q (try: ossproxy help)", args[0])}
}
