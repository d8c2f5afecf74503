// Package testdata locates the shared, read-only fixtures (../shared/testdata
// beside the project root) for tests. ENVKIT_SHARED overrides the location.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Shared returns the absolute path of the shared directory (which holds
// testdata/ and conda-specs/). It fails the test when it cannot be found:
// CI always has it, so a missing fixture is a broken checkout, not a skip.
func Shared(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ENVKIT_SHARED"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(filepath.Dir(dir), "shared")
			if _, err := os.Stat(filepath.Join(s, "testdata")); err != nil {
				t.Fatalf("shared fixtures not found at %s (set ENVKIT_SHARED): %v", s, err)
			}
			return s
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("project root (go.mod) not found above the test directory")
		}
		dir = parent
	}
}

// Path joins elem onto the shared testdata directory.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Shared(t), "testdata"}, elem...)...)
}
