package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// startRealEmulator builds the ossproxy binary into a temporary directory
// and starts `ossproxy emulator` from it as a child process serving bucket,
// for tests that need the proxy's own process (its RSS, its signals). It
// returns the binary, the directory (which holds ca.pem, the emulator's CA)
// and the emulator's endpoints and keys. The emulator stops at cleanup.
func startRealEmulator(t *testing.T, bucket string) (bin, dir string, info emulatorInfo) {
	t.Helper()
	dir = t.TempDir()
	bin = filepath.Join(dir, "ossproxy")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building ossproxy: %v", err)
	}
	emu := exec.CommandContext(t.Context(), bin, "emulator", "-json", "-bucket", bucket, "-ca-out", filepath.Join(dir, "ca.pem"),
		"-dir", filepath.Join(dir, "objects"))
	emuOut, err := emu.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	emu.Stderr = os.Stderr
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Process.Signal(syscall.SIGTERM); emu.Wait() })
	line, err := bufio.NewReader(emuOut).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &info) != nil {
		t.Fatalf("emulator output %q: %v", line, err)
	}
	return bin, dir, info
}
