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
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	w, err := Open(strings.TrimPrefix(srv.URL, "http://") + "/envkit")
	if err != nil {
		t.Fatal(err)
	}
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
	if len(env.PipFiles) != 3 {
		t.Fatalf("%d pip files", len(env.PipFiles))
	}
	d, err := hash.Compute(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hash.Short(d)
}
