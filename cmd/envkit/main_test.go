package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidate(t *testing.T) {
	bad := testdata.Path(t, "azureml", "azure-ai-ml-tests", "environment_conda_bad.yml")
	code, _, stderr := runCLI(t, "validate", bad)
	if code != exitFailure {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "environment_conda_bad.yml:8:1: path: unknown key") || !strings.Contains(stderr, "   8 | path: .") {
		t.Errorf("stderr:\n%s", stderr)
	}
	good := testdata.Path(t, "azureml", "azureml-examples-cli", "docker-image-plus-conda.yaml")
	code, stdout, stderr := runCLI(t, "validate", good)
	if code != exitOK || !strings.Contains(stdout, "valid system-managed environment") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "validate"); code != exitUsage {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "frobnicate"); code != exitUsage {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

func TestHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yml", "name: a\nversion: 1\nimage: busybox\n")
	b := write("b.yml", "# other name and version, same image\nname: b\nversion: 2\nimage: docker.io/library/busybox:latest\n")
	_, ha, _ := runCLI(t, "hash", a)
	_, hb, _ := runCLI(t, "hash", b)
	if !regexp.MustCompile(`^envkit_[0-9a-f]{32}\n$`).MatchString(ha) || ha != hb {
		t.Errorf("hashes %q %q", ha, hb)
	}
	_, full, _ := runCLI(t, "hash", "--full", a)
	if !strings.HasPrefix(full, "sha256:"+strings.TrimPrefix(strings.TrimSpace(ha), "envkit_")) {
		t.Errorf("full %q short %q", full, ha)
	}
	// A build context is read relative to the file.
	c := write("ctx.yml", "name: c\nbuild:\n  path: ctx\n")
	write("ctx/Dockerfile", "FROM busybox\n")
	_, h1, _ := runCLI(t, "hash", c)
	write("ctx/file.txt", "x")
	_, h2, _ := runCLI(t, "hash", c)
	if h1 == h2 || !strings.HasPrefix(h1, "envkit_") {
		t.Errorf("context change: %q %q", h1, h2)
	}
	if code, _, stderr := runCLI(t, "hash", write("bad.yml", "image: x\nimage2: y\n")); code != exitFailure || !strings.Contains(stderr, "image2") {
		t.Errorf("bad file: exit %d %s", code, stderr)
	}
}
