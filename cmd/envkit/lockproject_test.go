package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
)

// A pip line that names a project directory in the environment's
// directory: envkit lock locks it as its pyproject.toml gives it (its
// dependencies from the index) with a file: URL of the directory and its
// canonical archive's sha256; the lock is fresh while the directory is the
// same (a __pycache__ written in it changes nothing), stale once a file
// changes; a project with dynamic dependencies is refused at its line.
func TestLockProjectDirectory(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	channel := pythonChannel(t)
	idx := t.TempDir()
	if err := pypitest.WriteIndex(idx, pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{pipWheel("itsdangerous", "2.1.2")}}); err != nil {
		t.Fatal(err)
	}
	idxURL := pypitest.Serve(t, idx)
	dir := t.TempDir()
	for _, d := range []string{"src/tool/tool", "src/tool/tool/__pycache__"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const pyproject = "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
		"[project]\nname = \"tool\"\nversion = \"1.0\"\ndependencies = [\"itsdangerous>=2\"]\n"
	writeFile(t, dir, "src/tool/pyproject.toml", pyproject)
	writeFile(t, dir, "src/tool/tool/__init__.py", "X = 1\n")
	conda := writeFile(t, dir, "conda.yml", "channels: ["+channel+"]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url "+idxURL+"\n    - ./src/tool\n")
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
	tool := got["tool"]
	if tool.Manager != "pip" || tool.URL != "file:src/tool" || len(tool.SHA256) != 64 || tool.Version != "1.0" {
		t.Errorf("tool: %+v", tool)
	}
	if e := got["itsdangerous"]; e.Version != "2.1.2" || !strings.HasPrefix(e.URL, idxURL) {
		t.Errorf("itsdangerous: %+v", e)
	}
	code, cl, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	locked := writeFile(t, dir, "conda-lock.yml", cl)
	writeFile(t, dir, "src/tool/tool/__pycache__/__init__.cpython-312.pyc", "bytecode")
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Errorf("check: exit %d %q", code, out)
	}
	_, h1, _ := runCLI(t, "hash", conda)
	writeFile(t, dir, "src/tool/tool/__init__.py", "X = 2\n")
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitFailure || !strings.Contains(out, "stale") {
		t.Errorf("check after a file changed: exit %d %q", code, out)
	}
	if _, h2, _ := runCLI(t, "hash", conda); h2 == h1 || h1 == "" {
		t.Errorf("a file changed, the hash %q did not (%q)", h2, h1)
	}
	writeFile(t, dir, "src/tool/pyproject.toml", strings.Replace(pyproject, "dependencies = [\"itsdangerous>=2\"]", "dynamic = [\"dependencies\"]", 1))
	code, _, errs = runCLI(t, "lock", "-f", conda, "--platform", "linux-64")
	if code != exitFailure || !strings.Contains(errs, "conda.yml:6:7: dependencies.pip: ./src/tool: tool declares its dependencies dynamically") ||
		!strings.Contains(errs, "build a wheel (python -m build --wheel) and name the wheel instead") {
		t.Errorf("dynamic dependencies: exit %d %s", code, errs)
	}
}
