package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dockerfile is the parsed ../Dockerfile: instructions with their
// continuation lines joined.
type dockerfile struct{ lines []string }

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var d dockerfile
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		d.lines = append(d.lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return d
}

// find returns the instructions starting with prefix.
func (d dockerfile) find(prefix string) []string {
	var out []string
	for _, l := range d.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)
	froms := d.find("FROM ")
	if len(froms) != 2 || !strings.HasPrefix(froms[0], "FROM golang:1.26 AS build") ||
		froms[1] != "FROM gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("stages %q: want golang:1.26 AS build, then distroless static nonroot", froms)
	}
	// Everything after the last FROM is the runtime image.
	var runtime []string
	for _, l := range d.lines {
		if strings.HasPrefix(l, "FROM ") {
			runtime = nil
		}
		runtime = append(runtime, l)
	}
	rt := dockerfile{runtime}
	want := map[string]string{
		"USER ":        "USER nonroot:nonroot",
		"COPY ":        "COPY --from=build /out/ossproxy /ossproxy",
		"ENTRYPOINT ":  `ENTRYPOINT ["/ossproxy"]`,
		"HEALTHCHECK ": `HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/ossproxy", "health", "-q"]`,
		"EXPOSE ":      "EXPOSE 8080 9090",
	}
	for prefix, w := range want {
		if got := rt.find(prefix); len(got) != 1 || got[0] != w {
			t.Errorf("runtime stage %s: %q, want %q", strings.TrimSpace(prefix), got, w)
		}
	}
	if got := rt.find("RUN "); len(got) != 0 {
		t.Errorf("the runtime stage runs %q: distroless has no shell", got)
	}
}

// TestStaticBinary runs the Dockerfile's build command, with the same
// environment and flags, and checks the binary is static (no program
// interpreter, no shared libraries), stripped, stamped with the version,
// and that its health command fails when nothing listens. A cold build
// cache makes it slow, so -short skips it; CI runs it.
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	runs := readDockerfile(t).find("RUN CGO_ENABLED=0 go build ")
	if len(runs) != 1 {
		t.Fatalf("build instructions %q, want one RUN CGO_ENABLED=0 go build", runs)
	}
	cmd := strings.TrimPrefix(runs[0], "RUN ")
	for _, flag := range []string{" -trimpath ", ` -ldflags "-s -w -X main.version=${VERSION}" `, " -o /out/ossproxy ", " ./cmd/ossproxy"} {
		if !strings.Contains(cmd+" ", flag) {
			t.Fatalf("build command %q lacks %q", cmd, flag)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the build command")
	}
	out := filepath.Join(t.TempDir(), "ossproxy")
	const version = "v9.8.7-dockerfile-test"
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, sh, "-c", strings.Replace(cmd, "/out/ossproxy", out, 1))
	build.Dir = ".."
	build.Env = append(os.Environ(), "VERSION="+version)
	start := time.Now()
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	t.Logf("built in %v", time.Since(start).Round(time.Millisecond))

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("DT_NEEDED %q (%v)", libs, err)
	}
	if needed, _ := f.DynString(elf.DT_NEEDED); len(needed) != 0 {
		t.Errorf("DT_NEEDED %q", needed)
	}
	if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
		t.Error("the binary has .interp or .dynamic")
	}
	if f.Section(".symtab") != nil {
		t.Error("the binary is not stripped (-s)")
	}
	if f.Type != elf.ET_EXEC {
		t.Errorf("ELF type %v, want a static executable", f.Type)
	}

	v, err := exec.CommandContext(ctx, out, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "ossproxy "+version {
		t.Errorf("version: %q %v", v, err)
	}
	var stderr bytes.Buffer
	health := exec.CommandContext(ctx, out, "health", "--addr", "127.0.0.1:1", "--timeout", "2s")
	health.Stderr = &stderr
	err = health.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != 1 ||
		!regexp.MustCompile(`unhealthy`).MatchString(stderr.String()) {
		t.Errorf("health with nothing listening: %v, %q; want exit 1", err, stderr.String())
	}
}
