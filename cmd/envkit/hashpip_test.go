package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
