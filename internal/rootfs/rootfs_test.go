package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// tree makes dir/{a.txt, sub/b.txt, in -> a.txt, subl -> sub, out -> secret,
// outdir -> secretdir, abs -> /etc/passwd, fifo} and a secret file and
// directory beside dir.
func tree(t *testing.T) (dir, secret string) {
	t.Helper()
	top := t.TempDir()
	dir = filepath.Join(top, "env")
	secret = filepath.Join(top, "secret.txt")
	must(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(t, os.MkdirAll(filepath.Join(top, "secretdir"), 0o755))
	must(t, os.WriteFile(secret, []byte("SECRET"), 0o600))
	must(t, os.WriteFile(filepath.Join(top, "secretdir", "s.txt"), []byte("SECRET"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "b.txt"), []byte("b"), 0o644))
	must(t, os.Symlink("a.txt", filepath.Join(dir, "in")))
	must(t, os.Symlink("sub", filepath.Join(dir, "subl")))
	must(t, os.Symlink("../secret.txt", filepath.Join(dir, "out")))
	must(t, os.Symlink("../secretdir", filepath.Join(dir, "outdir")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "abs")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	return dir, secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestInside(t *testing.T) {
	dir, _ := tree(t)
	f, err := Open(dir)
	must(t, err)
	defer f.Close()
	for name, want := range map[string]string{"a.txt": "a", "in": "a", "sub/b.txt": "b", "subl/b.txt": "b"} {
		got, err := fs.ReadFile(f, name)
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
	}
	if l, err := f.ReadLink("out"); err != nil || l != "../secret.txt" {
		t.Errorf("readlink: %q %v", l, err)
	}
	sub, err := f.Sub("subl")
	must(t, err)
	if got, err := fs.ReadFile(sub, "b.txt"); err != nil || string(got) != "b" {
		t.Errorf("sub: %q %v", got, err)
	}
	// fstest walks the tree through Open, Stat and ReadDir; the FIFO and
	// the escaping links are left out of what it may open.
	clean := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(clean, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(clean, "d", "x"), []byte("x"), 0o644))
	cf, err := Open(clean)
	must(t, err)
	defer cf.Close()
	if err := fstest.TestFS(cf, "d/x"); err != nil {
		t.Error(err)
	}
}

// Symlinks that leave the directory are refused by every operation that
// follows them; nothing of the target is read.
func TestEscapes(t *testing.T) {
	dir, _ := tree(t)
	f, err := Open(dir)
	must(t, err)
	defer f.Close()
	for _, name := range []string{"out", "abs", "outdir/s.txt", "../secret.txt"} {
		data, err := fs.ReadFile(f, name)
		if err == nil {
			t.Errorf("%s: read %q", name, data)
		}
		if _, err := f.Stat(name); err == nil {
			t.Errorf("%s: stat succeeded", name)
		}
	}
	for _, name := range []string{"outdir", ".."} {
		if _, err := f.Sub(name); err == nil {
			t.Errorf("sub %s succeeded", name)
		}
	}
}

// A FIFO, a socket and a device are refused without blocking.
func TestNotRegular(t *testing.T) {
	dir, _ := tree(t)
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(t, err)
	defer l.Close()
	names := []string{"fifo", "sock"}
	if err := syscall.Mknod(filepath.Join(dir, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err == nil {
		names = append(names, "null")
	} else {
		t.Logf("mknod: %v (no device case)", err)
	}
	f, err := Open(dir)
	must(t, err)
	defer f.Close()
	for _, name := range names {
		file, err := f.Open(name)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(file, 1))
			file.Close()
			t.Errorf("%s: opened", name)
			continue
		}
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v, want ErrNotRegular", name, err)
		}
		if !strings.Contains(err.Error(), Describe(mustStat(t, f, name).Mode())) {
			t.Errorf("%s: %v does not say what it is", name, err)
		}
	}
}

func mustStat(t *testing.T, f *FS, name string) fs.FileInfo {
	st, err := f.Lstat(name)
	must(t, err)
	return st
}
