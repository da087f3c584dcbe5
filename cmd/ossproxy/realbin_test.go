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

// realServeConfig is the configuration of a proxy in front of the emulator
// info describes: the subject name may read and write the bucket name with
// an HS256 token from mint, and the upstream credentials are assumeRole of
// the emulator's role. Logs are JSON at info, the admin listener takes a
// free port, and extra is appended.
func realServeConfig(info emulatorInfo, name, extra string) string {
	return `listeners:
  - name: main
    address: "127.0.0.1:0"
auth:
  issuers:
    - issuer: ` + tIssuer + `
      audiences: [` + tAudience + `]
      algorithms: [HS256]
      hmac_secret: ${HMAC}
policy:
  rules:
    - subjects: [` + name + `]
      buckets: [` + name + `]
      actions: [read, write]
buckets:
  - name: ` + name + `
    endpoint: ` + info.OSSEndpoint + `
    region: ` + info.Region + `
    allow_insecure_http: true
` + assumeRole(info.RoleARN, info.STSEndpoint, "") + `logging:
  level: info
admin:
  address: "127.0.0.1:0"
` + extra
}

// realServe is `ossproxy serve` running as a child process.
type realServe struct {
	*server // logs (its stderr) and url; cloud is nil
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process exited; then waitErr is Wait's result
	waitErr error
}

// startRealServe writes cfg as dir/ossproxy.yaml and runs `bin serve` on
// it, with the environment realServeConfig needs, until the test ends. It
// waits until the main listener logged its address.
func startRealServe(t *testing.T, bin, dir, cfg string, info emulatorInfo) *realServe {
	t.Helper()
	path := filepath.Join(dir, "ossproxy.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &realServe{server: &server{logs: newLogSink(), cfg: path}, exited: make(chan struct{})}
	p.cmd = exec.CommandContext(t.Context(), bin, "serve", "--config", path)
	p.cmd.Env = append(os.Environ(), "HMAC="+tHMAC, "ADMIN_ID="+info.AccessKeyID, "ADMIN_SECRET="+info.AccessKeySecret)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	p.waitLog(t, "listening", 0)
	p.url = "http://" + p.logs.records("listening")[0]["addr"].(string)
	return p
}
