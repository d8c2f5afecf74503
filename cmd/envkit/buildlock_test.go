package main

import (
	"context"
	"io"
	gofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/tonistiigi/fsutil"
)

// The stored lock joins the environment file's directory in walk order (as
// BuildKit's file sync wants), hides a file of its name, and is opened
// with its content.
func TestWithFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"-first", "a/x", "env.yml", storedLockName, "z/y"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("on disk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inner, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &withFile{FS: inner, name: storedLockName, data: []byte("stored")}
	var got []string
	err = f.Walk(context.Background(), "/", func(p string, d gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-first", storedLockName, "a", "a/x", "env.yml", "z", "z/y"}
	if !slices.Equal(got, want) {
		t.Errorf("walk %q, want %q", got, want)
	}
	rc, err := f.Open(storedLockName)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, _ := io.ReadAll(rc); string(b) != "stored" {
		t.Errorf("open: %q", b)
	}
	// The last entry when every name sorts before it.
	f.name = "zz"
	got = nil
	_ = f.Walk(context.Background(), "/", func(p string, _ gofs.DirEntry, _ error) error { got = append(got, p); return nil })
	if got[len(got)-1] != "zz" {
		t.Errorf("walk %q: zz not last", got)
	}
}

// A stored lock's platforms that a build did not target stay; the ones it
// built are replaced.
func TestMergeLock(t *testing.T) {
	pkg := func(platform, version string) *lock.Package {
		return &lock.Package{Name: "tool", Version: version, Manager: lock.Conda, Platform: platform}
	}
	stored := &lock.Lock{Platforms: []string{"linux-64", "linux-aarch64"}, ContentHash: map[string]string{"linux-64": "a", "linux-aarch64": "a"},
		Packages: []*lock.Package{pkg("linux-64", "2.0"), pkg("linux-aarch64", "2.0")}}
	built := &lock.Lock{Platforms: []string{"linux-64"}, ContentHash: map[string]string{"linux-64": "b"}, Packages: []*lock.Package{pkg("linux-64", "3.0")}}
	m := mergeLock(stored, built)
	if !slices.Equal(m.Platforms, []string{"linux-64", "linux-aarch64"}) || m.ContentHash["linux-64"] != "b" || m.ContentHash["linux-aarch64"] != "a" {
		t.Errorf("merged %v %v", m.Platforms, m.ContentHash)
	}
	versions := map[string]string{}
	for _, p := range m.Packages {
		versions[p.Platform] += p.Version
	}
	if versions["linux-64"] != "3.0" || versions["linux-aarch64"] != "2.0" {
		t.Errorf("packages %v", versions)
	}
}
