package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pigeonChannel writes a local channel whose solve is a pigeonhole problem
// (pigeon-i at version j sits in hole j; each hole holds one pigeon): with
// more pigeons than holes it is unsatisfiable and hard to prove so.
func pigeonChannel(t *testing.T, pigeons, holes int) string {
	t.Helper()
	dir := t.TempDir()
	pkgs := map[string]any{}
	add := func(name string, ver int, depends ...string) {
		fn := fmt.Sprintf("%s-%d-0.tar.bz2", name, ver)
		pkgs[fn] = map[string]any{"name": name, "version": fmt.Sprint(ver), "build": "0", "build_number": 0,
			"subdir": "noarch", "depends": append([]string{}, depends...),
			"sha256": strings.Repeat("a", 64), "md5": strings.Repeat("b", 32), "size": 1}
	}
	for i := 1; i <= pigeons; i++ {
		for j := 1; j <= holes; j++ {
			add(fmt.Sprintf("pigeon-%d", i), j, fmt.Sprintf("hole-%d ==%d", j, i))
		}
	}
	for j := 1; j <= holes; j++ {
		for i := 1; i <= pigeons; i++ {
			add(fmt.Sprintf("hole-%d", j), i)
		}
	}
	for sub, p := range map[string]map[string]any{"noarch": pkgs, "linux-64": {}} {
		data, err := json.Marshal(map[string]any{"info": map[string]any{"subdir": sub}, "packages": p})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "repodata.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A solve that outlasts --solver-timeout gives up with the request's shape
// and a hint, exit 1; a bad value is a usage error.
func TestLockSolverTimeout(t *testing.T) {
	ch := pigeonChannel(t, 14, 13)
	args := []string{"lock", "-c", ch, "-p", "linux-64", "--solver-timeout", "200ms"}
	for i := 1; i <= 14; i++ {
		args = append(args, fmt.Sprintf("pigeon-%d", i))
	}
	code, _, stderr := runCLI(t, args...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s", code, exitFailure, stderr)
	}
	for _, want := range []string{"gave up after 200ms", "pigeon-1", "candidate records", "--solver-timeout"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "lock", "--solver-timeout", "-1s", "numpy"); code != exitUsage || !strings.Contains(stderr, "--solver-timeout") {
		t.Errorf("negative timeout: exit %d\n%s", code, stderr)
	}
}
