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
