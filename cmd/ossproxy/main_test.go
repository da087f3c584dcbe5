package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunDispatch(t *testing.T) {
	getenv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, getenv, &out, &errOut); err != nil {
		t.Fatalf("version: %v", err)
	}
	if !strings.HasPrefix(out.String(), "ossproxy ") {
		t.Errorf("version printed %q", out.String())
	}
	err := run(context.Background(), []string{"no-such-command"}, getenv, &out, &errOut)
	var ue usageError
	if !errors.As(err, &ue) || exitCode(err) != 2 {
		t.Errorf("unknown command: err = %v (exit %d), want a usage error with exit 2", err, exitCode(err))
	}
	if err := run(context.Background(), nil, getenv, &out, &errOut); exitCode(err) != 2 || !strings.Contains(errOut.String(), "version") {
		t.Errorf("no args: err = %v, usage = %q", err, errOut.String())
	}
}

// TestSubcommandFlags pins how every subcommand that takes flags treats
// -h, an unknown flag and a stray argument: help prints the flags and
// succeeds; the others are usage errors (exit 2) with these messages,
// returned before anything runs.
func TestSubcommandFlags(t *testing.T) {
	getenv := func(string) string { return "" }
	tests := []struct {
		cmd      string
		helpFlag string   // a flag -h lists
		required []string // flags that get past the required-flag check
		stray    string   // the message for a stray argument
	}{
		{"health", "-ready", nil, `health: unexpected argument "stray"`},
		{"check-config", "-config", []string{"--config", "x.yaml"}, "usage: ossproxy check-config --config FILE"},
		{"presign", "-expires", []string{"--config", "x.yaml", "--bucket", "b", "--key", "k"},
			"usage: ossproxy presign --config FILE --bucket B --key K [--method GET] [--expires 15m] [--v1] [--header 'Name: value']"},
		{"sts", "-duration", []string{"--config", "x.yaml", "--bucket", "b"},
			"usage: ossproxy sts --config FILE --bucket B [--prefix P] [--actions read,list] [--duration 1h] [--role-arn ARN]"},
		{"serve", "-admin-addr", []string{"--config", "x.yaml"}, "usage: ossproxy serve --config FILE [--admin-addr HOST:PORT]"},
		{"emulator", "-bucket", nil, `emulator: unexpected argument "stray"`},
		{"demo", "-json", nil, `demo: unexpected argument "stray"`},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(t.Context(), []string{tc.cmd, "-h"}, getenv, &out, &errOut); err != nil {
				t.Errorf("-h: %v", err)
			}
			if !strings.Contains(errOut.String(), tc.helpFlag) || out.Len() != 0 {
				t.Errorf("-h printed stdout %q, stderr %q; want the flags (%s) on stderr", out.String(), errOut.String(), tc.helpFlag)
			}
			for _, c := range []struct {
				args []string
				msg  string
			}{
				{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
				{append(append([]string{}, tc.required...), "stray"), tc.stray},
			} {
				out.Reset()
				errOut.Reset()
				err := run(t.Context(), append([]string{tc.cmd}, c.args...), getenv, &out, &errOut)
				if _, ok := errors.AsType[usageError](err); !ok || exitCode(err) != 2 || err.Error() != c.msg {
					t.Errorf("%v: err = %v (exit %d), want usage error %q", c.args, err, exitCode(err), c.msg)
				}
				if out.Len() != 0 {
					t.Errorf("%v: stdout %q", c.args, out.String())
				}
			}
		})
	}
}
