package workspace

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/rootfs"
	"github.com/envkit/envkit/spec"
	"github.com/google/go-containerregistry/pkg/registry"
)

// A registered environment keeps the files its pip lines name (-r and -c
// files, a wheel): created, looked up from the registry (its files checked
// against the recorded hash) and written out, it hashes as the original.
func TestPipFilesStored(t *testing.T) {
	w := memWorkspace(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "environment.yml"), "name: pipfiles\nimage: busybox\nconda_file: env/conda.yml\n", 0o644)
	write(t, filepath.Join(dir, "env", "conda.yml"), "dependencies:\n  - python=3.12\n  - pip:\n    - -r reqs/requirements.txt\n    - ../wheels/tool-1.0-py3-none-any.whl\n", 0o644)
	write(t, filepath.Join(dir, "env", "reqs", "requirements.txt"), "flask\n-c c.txt\n", 0o644)
	write(t, filepath.Join(dir, "env", "reqs", "c.txt"), "werkzeug<4\n", 0o644)
	write(t, filepath.Join(dir, "wheels", "tool-1.0-py3-none-any.whl"), "PK wheel bytes", 0o644)
	file := filepath.Join(dir, "environment.yml")
	want := hashOf(t, file)

	ctx := context.Background()
	c, err := w.Create(ctx, file, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Hash != want {
		t.Errorf("registered hash %s, the file's %s", c.Hash, want)
	}
	def, err := w.Lookup(ctx, Ref{Name: "pipfiles", Version: c.Version})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range def.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, " ") != "environment.yml env/conda.yml env/reqs/requirements.txt env/reqs/c.txt wheels/tool-1.0-py3-none-any.whl" {
		t.Errorf("stored files %v", paths)
	}
	written, err := def.WriteFiles(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, written); got != want {
		t.Errorf("written out, the definition hashes to %s, want %s", got, want)
	}
	// A changed requirements file is another definition.
	write(t, filepath.Join(dir, "env", "reqs", "c.txt"), "werkzeug<3\n", 0o644)
	if _, err := w.Create(ctx, file, CreateOptions{Version: c.Version}); err == nil || !strings.Contains(err.Error(), "exists with another definition") {
		t.Errorf("changed c.txt registered as the same version: %v", err)
	}
}

func hashOf(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	root, err := rootfs.Open(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	env, err := spec.Load(file, data, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.PipFiles) == 0 {
		t.Fatal("no pip files")
	}
	d, err := hash.Compute(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hash.Short(d)
}

// A project directory a pip line names is stored file by file with its
// modes: written out, the definition hashes as the original; a symlink in
// it is refused (a stored definition keeps regular files).
func TestPipProjectStored(t *testing.T) {
	w := memWorkspace(t)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "environment.yml"), "name: pipproject\nimage: busybox\nconda_file: conda.yml\n", 0o644)
	write(t, filepath.Join(dir, "conda.yml"), "dependencies:\n  - python=3.12\n  - pip:\n    - ./mypkg\n", 0o644)
	write(t, filepath.Join(dir, "mypkg", "pyproject.toml"), "[project]\nname = \"mypkg\"\nversion = \"1.0\"\n", 0o644)
	write(t, filepath.Join(dir, "mypkg", "mypkg", "__init__.py"), "X = 1\n", 0o644)
	write(t, filepath.Join(dir, "mypkg", "bin", "tool"), "#!/bin/sh\n", 0o755)
	write(t, filepath.Join(dir, "mypkg", "mypkg", "__pycache__", "x.pyc"), "junk", 0o644)
	file := filepath.Join(dir, "environment.yml")
	want := hashOf(t, file)
	ctx := context.Background()
	c, err := w.Create(ctx, file, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	def, err := w.Lookup(ctx, Ref{Name: "pipproject", Version: c.Version})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range def.Files {
		paths = append(paths, f.Path+":"+f.Mode.String())
	}
	if strings.Join(paths, " ") != "environment.yml:-rw-r--r-- conda.yml:-rw-r--r-- mypkg/bin/tool:-rwxr-xr-x mypkg/mypkg/__init__.py:-rw-r--r-- mypkg/pyproject.toml:-rw-r--r--" {
		t.Errorf("stored files %v", paths)
	}
	written, err := def.WriteFiles(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, written); got != want || c.Hash != want {
		t.Errorf("written out, the definition hashes to %s, registered %s, want %s", got, c.Hash, want)
	}
	if err := os.Symlink("__init__.py", filepath.Join(dir, "mypkg", "mypkg", "link.py")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create(ctx, file, CreateOptions{Version: "2"}); err == nil || !strings.Contains(err.Error(), "pip project mypkg: mypkg/link.py is a symlink") {
		t.Errorf("a symlink stored: %v", err)
	}
}

// memWorkspace is a workspace on a registry in memory (go-containerregistry's).
func memWorkspace(t *testing.T) *Workspace {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	w, err := Open(strings.TrimPrefix(srv.URL, "http://") + "/envkit")
	if err != nil {
		t.Fatal(err)
	}
	return w
}
