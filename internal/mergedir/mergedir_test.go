package mergedir

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes entries under root: "p/" a directory, "p -> t" a symlink,
// "p = content" a file, "p == q" a hard link of the file q.
func tree(t *testing.T, root string, entries ...string) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var err error
		switch {
		case strings.HasSuffix(e, "/"):
			err = os.MkdirAll(filepath.Join(root, e), 0o755)
		case strings.Contains(e, " -> "):
			p, to, _ := strings.Cut(e, " -> ")
			err = os.Symlink(to, filepath.Join(root, p))
		case strings.Contains(e, " == "):
			p, q, _ := strings.Cut(e, " == ")
			err = os.Link(filepath.Join(root, q), filepath.Join(root, p))
		default:
			p, c, _ := strings.Cut(e, " = ")
			err = os.WriteFile(filepath.Join(root, p), []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// list describes the tree under root in tree's notation, hard links as
// "p = content #inode-of-first-path".
func list(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			out[rel] = "dir " + fi.Mode().Perm().String()
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(p)
			out[rel] = "-> " + to
			return err
		default:
			b, err := os.ReadFile(p)
			out[rel] = "= " + string(b)
			ino := fi.Sys().(*syscall.Stat_t).Ino
			if first, ok := inodes[ino]; ok {
				out[rel] += " #" + first
			} else {
				inodes[ino] = rel
			}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Each kind of entry over each other kind, as merging the upper layer over
// the lower one gives.
func TestApply(t *testing.T) {
	root := t.TempDir()
	lower, upper := filepath.Join(root, "lower"), filepath.Join(root, "upper")
	tree(t, lower, "a/", "a/x = lx", "a/y = ly", "f = lf", "d2/", "d2/z = lz", "s -> a", "h1 = lh", "h2 == h1",
		"e/", "e/k = lk", "keep/", "keep/deep/", "keep/deep/k = lk")
	tree(t, upper, "a/", "a/x = ux", "a/n = un", "f = uf", "d2 = ud2", "s/", "s/q = uq", "e -> f",
		"new/", "new/m = um", "u1 = uh", "u2 == u1", "h1 = uh1")
	if err := os.Chmod(filepath.Join(upper, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(upper, "a"), when, when); err != nil {
		t.Fatal(err)
	}
	if err := Apply(lower, upper); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": "dir -rwx------", "a/x": "= ux", "a/y": "= ly", "a/n": "= un", // directories merge; the upper's mode
		"f":  "= uf",                          // file over file
		"d2": "= ud2",                         // file over directory: the directory is gone
		"s":  "dir -rwxr-xr-x", "s/q": "= uq", // directory over symlink
		"e":    "-> f", // symlink over directory
		"keep": "dir -rwxr-xr-x", "keep/deep": "dir -rwxr-xr-x", "keep/deep/k": "= lk",
		"new": "dir -rwxr-xr-x", "new/m": "= um",
		"u1": "= uh", "u2": "= uh #u1", // hard links stay one file
		"h1": "= uh1", "h2": "= lh", // replacing one name of a hard link leaves the other
	}
	if got := list(t, lower); !reflect.DeepEqual(got, want) {
		t.Errorf("merged:\n%v\nwant\n%v", got, want)
	}
	if fi, err := os.Stat(filepath.Join(lower, "a")); err != nil || !fi.ModTime().Equal(when) {
		t.Errorf("a's time: %v, %v; want the upper's %v", fi.ModTime(), err, when)
	}
	if left := list(t, upper); len(left) != 0 {
		t.Errorf("left in the upper tree: %v", left)
	}
}

// Applying onto an empty tree moves everything as it is.
func TestApplyEmpty(t *testing.T) {
	root := t.TempDir()
	dst, src := filepath.Join(root, "dst"), filepath.Join(root, "src")
	tree(t, dst)
	tree(t, src, "x/", "x/y/", "x/y/z = 1", "l -> x/y")
	want := list(t, src)
	if err := Apply(dst, src); err != nil {
		t.Fatal(err)
	}
	if got := list(t, dst); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}
