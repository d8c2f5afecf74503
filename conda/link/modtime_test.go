package link

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestModTime(t *testing.T) {
	if got := ModTime(time.Time{}); !got.Equal(time.Unix(0, 0)) {
		t.Errorf("zero -> %v, want the epoch", got)
	}
	at := time.Unix(1700000000, 0)
	if got := ModTime(at); !got.Equal(at) {
		t.Errorf("%v -> %v", at, got)
	}
}

// The directories between a layer's root and the prefix get the fixed
// mode and time; the root and what is below the prefix are left to Link.
func TestSettleParentsAndDirs(t *testing.T) {
	root := t.TempDir()
	prefix := "/opt/envs/e"
	if err := os.MkdirAll(filepath.Join(root, prefix, "conda-meta"), 0o700); err != nil {
		t.Fatal(err)
	}
	rootBefore, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	if err := SettleParents(root, prefix, at); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"opt", "opt/envs"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(at) {
			t.Errorf("%s: %v %v %v", d, fi.Mode(), fi.ModTime(), err)
		}
	}
	for _, d := range []string{".", "opt/envs/e"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil || fi.Mode().Perm() == 0o755 && d != "." || d == "." && !fi.ModTime().Equal(rootBefore.ModTime()) {
			t.Errorf("%s was changed: %v %v %v", d, fi.Mode(), fi.ModTime(), err)
		}
	}
	if err := SettleDirs(filepath.Join(root, prefix), time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"opt/envs/e", "opt/envs/e/conda-meta"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil || !fi.ModTime().Equal(time.Unix(0, 0)) {
			t.Errorf("%s: %v %v", d, fi.ModTime(), err)
		}
	}
}
