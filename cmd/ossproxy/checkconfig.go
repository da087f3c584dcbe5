package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ossproxy/ossproxy/config"
)

// errConfigInvalid is returned by check-config after printing the problems.
var errConfigInvalid = errors.New("configuration is invalid")

// runCheckConfig is `ossproxy check-config --config FILE`: it loads and
// validates the file (environment references, secret, key, certificate and
// CA files included) without contacting any service, prints "ok" or one
// "file:line: message" per problem, and fails if there is any.
func runCheckConfig(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration `file` (YAML)")
	const usage = "usage: ossproxy check-config --config FILE"
	if done, err := parseFlags(fs, args, usage); done {
		return err
	}
	if *path == "" {
		return usageError{usage}
	}
	_, err := config.Load(*path, config.Options{Getenv: getenv})
	if err == nil {
		_, err = fmt.Fprintln(stdout, "ok")
		return err
	}
	var es config.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		fmt.Fprintln(stdout, e)
	}
	return fmt.Errorf("%s: %d problem(s): %w", *path, len(es), errConfigInvalid)
}
