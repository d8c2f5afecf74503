package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// confinedDir makes dir/ with the given files beside a secret file and a
// secret directory outside it, and returns dir.
func confinedDir(t *testing.T, files map[string]string) string {
	t.Helper()
	top := t.TempDir()
	dir := filepath.Join(top, "env")
	for name, s := range map[string]string{
		"secret.txt":           "root:*:20228:0:99999:7:::SECRET\n",
		"secretdir/Dockerfile": "FROM busybox\n",
		"secretdir/secret.txt": "SECRET\n",
		"env/.keep":            "",
	} {
		writeAt(t, filepath.Join(top, name), s)
	}
	for name, s := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(s, "->"):
			if err := os.Symlink(strings.TrimPrefix(s, "->"), p); err != nil {
				t.Fatal(err)
			}
		case s == "|fifo":
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			writeAt(t, p, s)
		}
	}
	return dir
}

func writeAt(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Files an environment names are read inside its directory: symlinks that
// leave it, FIFOs and oversized files are refused, naming the file and the
// reason, and nothing of a refused file is printed.
func TestReadConfined(t *testing.T) {
	const env = "image: busybox\nconda_file: conda.yml\n"
	for _, c := range []struct {
		name  string
		cmd   string
		files map[string]string
		file  string // the environment file, default env.yml
		want  string
	}{
		{"conda file symlink to a secret", "validate", map[string]string{"env.yml": env, "conda.yml": "->../secret.txt"}, "", "env.yml:2:13: conda_file: cannot read \"conda.yml\": path escapes from parent"},
		{"conda file absolute symlink", "hash", map[string]string{"env.yml": env, "conda.yml": "->/etc/shadow"}, "", "path escapes from parent"},
		{"conda file FIFO", "validate", map[string]string{"env.yml": env, "conda.yml": "|fifo"}, "", "env.yml:2:13: conda_file: conda.yml is a named pipe (FIFO), not a regular file"},
		{"conda file directory", "validate", map[string]string{"env.yml": env, "conda.yml/x": ""}, "", "conda.yml is a directory, not a regular file"},
		{"conda file too large", "validate", map[string]string{"env.yml": env, "conda.yml": "dependencies: [" + strings.Repeat("python, ", 1<<20) + "]\n"}, "", "conda.yml is larger than the limit of 4 MiB (raise it with the max-file-size option)"},
		{"environment file FIFO", "validate", map[string]string{"env.yml": "|fifo"}, "", "env.yml is a named pipe (FIFO), not a regular file"},
		{"environment file symlink out", "hash", map[string]string{"env.yml": "->../secret.txt"}, "", "env.yml: a symlink that leads outside its directory"},
		{"build context symlink out", "hash", map[string]string{"env.yml": "build:\n  path: ctx\n", "ctx": "->../secretdir"}, "", "env.yml:2:9: build.path: cannot open the build context \"ctx\": path escapes from parent"},
		{"dockerignore FIFO", "hash", map[string]string{"env.yml": "build:\n  path: ctx\n", "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "|fifo"}, "", ".dockerignore is a named pipe (FIFO), not a regular file"},
		{"dockerignore symlink out", "hash", map[string]string{"env.yml": "build:\n  path: ctx\n", "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "->../../secret.txt"}, "", "path escapes from parent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := confinedDir(t, c.files)
			code, out, stderr := runCLI(t, c.cmd, filepath.Join(dir, "env.yml"))
			if code != exitFailure {
				t.Errorf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr:\n%s\nwant %q", stderr, c.want)
			}
			if strings.Contains(stderr+out, "SECRET") || strings.Contains(stderr+out, "root:") {
				t.Errorf("leaked content:\n%s%s", out, stderr)
			}
		})
	}
}

// A symlink inside the directory is followed; --max-file-size raises the
// bound.
func TestReadInside(t *testing.T) {
	big := "dependencies:\n" + strings.Repeat("  - python\n", 500_000) // 5.5 MB
	dir := confinedDir(t, map[string]string{
		"env.yml":        "image: busybox\nconda_file: envs/conda.yml\n",
		"envs/conda.yml": "->../real.yml",
		"real.yml":       "dependencies: [python]\n",
		"big.yml":        "image: busybox\nconda_file: bigconda.yml\n",
		"bigconda.yml":   big,
	})
	if code, out, stderr := runCLI(t, "validate", filepath.Join(dir, "env.yml")); code != exitOK {
		t.Errorf("inside symlink: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "validate", filepath.Join(dir, "big.yml")); code != exitFailure || !strings.Contains(stderr, "limit of 4 MiB") {
		t.Errorf("big: exit %d\n%s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "validate", "--max-file-size", "8MiB", filepath.Join(dir, "big.yml")); code != exitOK {
		t.Errorf("big with --max-file-size: exit %d\n%s%s", code, out, stderr)
	}
}

func TestClipLine(t *testing.T) {
	line := strings.Repeat("a", 1000) + "X" + strings.Repeat("b", 1000)
	out, col := clipLine(line, 1001)
	if len(out) > maxLineShown+40 || !strings.Contains(out, "… (") || !strings.HasPrefix(out, "…") {
		t.Errorf("clipped %q", out)
	}
	if got := strings.Split(out, "")[col-1]; got != "X" {
		// the caret column counts "…" as one column
		t.Errorf("column %d points at %q", col, got)
	}
	if out, col := clipLine("short", 3); out != "short" || col != 3 {
		t.Errorf("short line changed: %q %d", out, col)
	}
}

// validate refuses what hash refuses: a missing build context or
// Dockerfile, a bad .dockerignore, at build.path's line.
func TestValidateLikeHash(t *testing.T) {
	const env = "name: e\nbuild:\n  path: ctx\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing context", map[string]string{"env.yml": env}, "env.yml:3:9: build.path: cannot open the build context \"ctx\""},
		{"missing Dockerfile", map[string]string{"env.yml": env, "ctx/x": ""}, "env.yml:3:9: build.path: build context \"ctx\": Dockerfile \"Dockerfile\" not found"},
		{"bad .dockerignore", map[string]string{"env.yml": env, "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "[\n"}, "env.yml:3:9: build.path: build context \"ctx\": .dockerignore: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := confinedDir(t, c.files)
			for _, cmd := range []string{"validate", "hash"} {
				code, _, stderr := runCLI(t, cmd, filepath.Join(dir, "env.yml"))
				if code != exitFailure || !strings.Contains(stderr, c.want) {
					t.Errorf("%s: exit %d\n%s\nwant %q", cmd, code, stderr, c.want)
				}
			}
		})
	}
	dir := confinedDir(t, map[string]string{"env.yml": env, "ctx/Dockerfile": "FROM busybox\n", "ctx/.dockerignore": "*.log\n"})
	if code, out, stderr := runCLI(t, "validate", filepath.Join(dir, "env.yml")); code != exitOK {
		t.Errorf("good context: exit %d\n%s%s", code, out, stderr)
	}
}

// A build context that is the environment file's own directory (build.path:
// .) stays open while it is read.
func TestBuildContextItsOwnDirectory(t *testing.T) {
	dir := confinedDir(t, map[string]string{"env.yml": "build:\n  path: .\n", "Dockerfile": "FROM busybox\n", ".dockerignore": "*.log\n"})
	for _, cmd := range []string{"validate", "hash"} {
		if code, out, stderr := runCLI(t, cmd, filepath.Join(dir, "env.yml")); code != exitOK {
			t.Errorf("%s: exit %d\n%s%s", cmd, code, out, stderr)
		}
	}
}
