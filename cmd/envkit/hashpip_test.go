package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
)

// envkit hash covers the files a conda file's pip lines name, read inside
// the environment's directory: editing requirements.txt changes the hash,
// a comment does not; --canonical shows the file's lines; a -r file that
// leads out of the directory is refused at its line.
func TestHashPipFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "env"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := writeFile(t, dir, "env/environment.yml", "image: busybox\nconda_file: conda/conda.yml\n")
	if err := os.Mkdir(filepath.Join(dir, "env", "conda"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "env/conda/conda.yml", "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - -r requirements.txt\n")
	hashOf := func() string {
		t.Helper()
		code, out, errs := runCLI(t, "hash", env)
		if code != exitOK {
			t.Fatalf("hash: exit %d: %s", code, errs)
		}
		return strings.TrimSpace(out)
	}
	writeFile(t, dir, "env/conda/requirements.txt", "flask==3.0\n")
	h0 := hashOf()
	writeFile(t, dir, "env/conda/requirements.txt", "# the web part\nflask==3.0\n")
	if h := hashOf(); h != h0 {
		t.Errorf("a comment changed the hash: %s, was %s", h, h0)
	}
	writeFile(t, dir, "env/conda/requirements.txt", "flask==3.1\n")
	if h := hashOf(); h == h0 {
		t.Error("editing requirements.txt left the hash as it was")
	}
	code, out, errs := runCLI(t, "hash", "--canonical", env)
	if code != exitOK || !strings.Contains(out, `"v":2,`) || !strings.Contains(out, `"pip_files":[{"p":"conda/requirements.txt","lines":["flask==3.1"]}]`) {
		t.Errorf("canonical: exit %d %s %s", code, out, errs)
	}
	writeFile(t, dir, "secret.txt", "SECRET\n")
	if err := os.Symlink("../../secret.txt", filepath.Join(dir, "env", "conda", "out.txt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "env/conda/requirements.txt", "-r out.txt\n")
	code, _, errs = runCLI(t, "hash", env)
	if code != exitFailure || !strings.Contains(errs, "conda/requirements.txt:1:4: -r out.txt: a symlink that leads outside the environment's directory") || strings.Contains(errs, "SECRET") {
		t.Errorf("symlink out: exit %d %s", code, errs)
	}
}

// A pip line that names a wheel in the environment's directory: envkit
// lock locks it with its sha256 and a file: URL relative to that
// directory (its dependencies from the index), and envkit hash covers its
// content.
func TestLockLocalWheel(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	channel := pythonChannel(t)
	idx := t.TempDir()
	if err := pypitest.WriteIndex(idx, pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{pipWheel("itsdangerous", "2.1.2")}}); err != nil {
		t.Fatal(err)
	}
	idxURL := pypitest.Serve(t, idx)
	dir := t.TempDir()
	tool := pipWheel("tool", "1.0", "itsdangerous>=2")
	data, err := tool.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "dist/tool-1.0-py3-none-any.whl", string(data))
	conda := writeFile(t, dir, "conda.yml", "channels: ["+channel+"]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url "+idxURL+"\n    - -r requirements.txt\n")
	writeFile(t, dir, "requirements.txt", "./dist/tool-1.0-py3-none-any.whl\n")
	code, out, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var entries []lockJSON
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	got := map[string]lockJSON{}
	for _, e := range entries {
		got[e.Name] = e
	}
	if e := got["tool"]; e.Manager != "pip" || e.URL != "file:dist/tool-1.0-py3-none-any.whl" || e.SHA256 != pypitest.Sum(data) || e.Version != "1.0" {
		t.Errorf("tool: %+v", e)
	}
	if e := got["itsdangerous"]; e.Version != "2.1.2" || !strings.HasPrefix(e.URL, idxURL) {
		t.Errorf("itsdangerous: %+v", e)
	}
	// The lock is fresh while the wheel is the same, stale once it changes;
	// and the hash changes with it.
	code, cl, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	locked := writeFile(t, dir, "conda-lock.yml", cl)
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Errorf("check: exit %d %q", code, out)
	}
	_, h1, _ := runCLI(t, "hash", conda)
	writeFile(t, dir, "dist/tool-1.0-py3-none-any.whl", string(data)+"\x00")
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitFailure || !strings.Contains(out, "stale") {
		t.Errorf("check after the wheel changed: exit %d %q", code, out)
	}
	if _, h2, _ := runCLI(t, "hash", conda); h2 == h1 || h1 == "" {
		t.Errorf("the wheel changed, the hash %q did not (%q)", h2, h1)
	}
}
