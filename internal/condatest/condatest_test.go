package condatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/repodata"
)

// What WriteChannel makes is read back by envkit's own repodata parser and
// package reader, with matching checksums.
func TestWriteChannel(t *testing.T) {
	dir := t.TempDir()
	p := Package{Name: "tool", Version: "1.0", Build: "h0_0", Depends: []string{"lib >=2"},
		Files: []File{{Path: "bin/tool", Content: "#!/bin/sh\necho " + Placeholder + "\n", Mode: 0o755, Prefix: true}}}
	if err := WriteChannel(dir, p, Package{Name: "lib", Version: "2.1", Build: "0"}); err != nil {
		t.Fatal(err)
	}
	rd, err := (&repodata.Gateway{}).RepoData(context.Background(), mustChannel(t, dir), "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.ByName("tool")
	if len(recs) != 1 || recs[0].SHA256 == "" || recs[0].Depends[0] != "lib >=2" {
		t.Fatalf("records %+v", recs)
	}
	md, err := condapkg.ReadFile(filepath.Join(dir, "linux-64", "tool-1.0-h0_0.conda"))
	if err != nil {
		t.Fatal(err)
	}
	if md.Index.Name != "tool" || len(md.Paths) != 1 || md.Paths[0].PrefixPlaceholder != Placeholder {
		t.Errorf("metadata %+v", md)
	}
}

func mustChannel(t *testing.T, dir string) channel.Channel {
	t.Helper()
	c, err := channel.Parse(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Writing the same packages into a channel again keeps their files; a
// file changed since is built again.
func TestWriteChannelAgain(t *testing.T) {
	dir := t.TempDir()
	pkgs := []Package{{Name: "a", Version: "1", Build: "0", Files: []File{{Path: "lib/a", Random: 1000}}},
		{Name: "b", Version: "1", Build: "0", Files: []File{{Path: "lib/b", Content: "b"}}}}
	if err := WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "linux-64", "a-1-0.conda"), filepath.Join(dir, "linux-64", "b-1-0.conda")
	want, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	fiB, _ := os.Stat(b)
	// a is corrupted in place, b is left alone.
	if err := os.WriteFile(a, bytes.Repeat([]byte{'x'}, len(want)), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, want) {
		t.Error("a corrupted package file was kept")
	}
	if fi, _ := os.Stat(b); !fi.ModTime().Equal(fiB.ModTime()) {
		t.Error("an unchanged package was built again")
	}
	// The repodata still describes the files.
	rd, err := os.ReadFile(filepath.Join(dir, "linux-64", "repodata.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	if !strings.Contains(string(rd), hex.EncodeToString(sum[:])) {
		t.Errorf("repodata lacks a's sha256:\n%s", rd)
	}
}

// A softlink and a binary file with its own build prefix as placeholder
// extract and link as conda-build's packages do: the link points at its
// target, the binary's string is replaced and NUL-padded to its length.
func TestWriteChannelSymlinkAndBinaryPlaceholder(t *testing.T) {
	dir := t.TempDir()
	const build = "/build/prefix/of/some/length"
	bin := "\x7fELF\x00" + build + "/lib\x00tail"
	p := Package{Name: "py", Version: "1", Build: "0", Files: []File{
		{Path: "bin/py1", Content: bin, Mode: 0o755, Prefix: true, Binary: true, Placeholder: build},
		{Path: "bin/py", Symlink: "py1"},
		{Path: "bin/dangling", Symlink: "../nowhere"},
	}}
	if err := WriteChannel(dir, p); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "linux-64", "py-1-0.conda")
	pkgDir := t.TempDir()
	md, err := condapkg.ExtractFile(context.Background(), archive, pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]condapkg.PathEntry{}
	for _, e := range md.Paths {
		byPath[e.Path] = e
	}
	sum := sha256.Sum256([]byte(bin))
	if e := byPath["bin/py"]; e.PathType != condapkg.PathSoftlink || e.SHA256 != hex.EncodeToString(sum[:]) || e.SizeInBytes == nil || *e.SizeInBytes != int64(len(bin)) {
		t.Errorf("bin/py entry %+v: want a softlink with its target's sha256 and size", e)
	}
	if e := byPath["bin/dangling"]; e.PathType != condapkg.PathSoftlink || e.SHA256 != "" || e.SizeInBytes != nil {
		t.Errorf("bin/dangling entry %+v: want a softlink with no sha256 or size", e)
	}
	if e := byPath["bin/py1"]; e.FileMode != condapkg.FileModeBinary || e.PrefixPlaceholder != build {
		t.Errorf("bin/py1 entry %+v", e)
	}
	const prefix = "/opt/env"
	dest := filepath.Join(t.TempDir(), prefix)
	if _, err := link.Link(context.Background(), pkgDir, prefix, link.Options{Dest: dest, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(dest, "bin/py")); err != nil || target != "py1" {
		t.Errorf("bin/py links to %q (%v), want py1", target, err)
	}
	got, err := os.ReadFile(filepath.Join(dest, "bin/py1"))
	if want := "\x7fELF\x00" + prefix + "/lib" + strings.Repeat("\x00", len(build)-len(prefix)) + "\x00tail"; err != nil || string(got) != want {
		t.Errorf("bin/py1 = %q (%v), want %q", got, err, want)
	}
}
