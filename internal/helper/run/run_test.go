package run

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/helper"
)

const prefix = "/azureml-envs/envkit"

// channel writes pkgs as a channel in dir and returns their records as
// its repodata gives them, by name.
func channel(t *testing.T, dir string, pkgs ...condatest.Package) map[string]*record.RepoDataRecord {
	t.Helper()
	if err := condatest.WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	recs := map[string]*record.RepoDataRecord{}
	for _, sub := range []string{"linux-64", "noarch"} {
		data, err := os.ReadFile(filepath.Join(dir, sub, "repodata.json"))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := repodata.Parse(data, "https://conda.example/c", sub)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rd.Records() {
			recs[r.Name] = r
		}
	}
	return recs
}

// archive is where channel wrote r's file.
func archive(dir string, r *record.RepoDataRecord) string {
	return filepath.Join(dir, r.Subdir, r.FileName)
}

// writeInput writes a payload file as the caller's llb.Mkfile would.
func writeInput(t *testing.T, file string, encode func() ([]byte, error)) {
	t.Helper()
	data, err := encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	// Read-only, as BuildKit mounts it: replace rather than rewrite (only
	// root may write a 0444 file).
	if err := os.Remove(file); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o444); err != nil {
		t.Fatal(err)
	}
}

// checkTimes fails when anything under dir has another time than the epoch.
func checkTimes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.ModTime().Equal(time.Unix(0, 0)) {
			t.Errorf("%s: time %v, want the epoch", p, fi.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// One exec links two packages, each from its own input file and archive
// into its own layer, from the argv the contract writes.
func TestLink(t *testing.T) {
	root := t.TempDir()
	pkgs := filepath.Join(root, "channel")
	recs := channel(t, pkgs,
		condatest.Package{Name: "libfoo", Version: "1.0", Build: "h0_0", Files: []condatest.File{
			{Path: "etc/foo.conf", Content: "prefix=" + condatest.Placeholder + "\n", Prefix: true},
			{Path: "bin/foo", Content: "#!/bin/sh\n", Mode: 0o755}}},
		condatest.Package{Name: "pyhello", Version: "0.1", Build: "py_0", Subdir: "noarch", Noarch: "python",
			Files: []condatest.File{{Path: "site-packages/pyhello/__init__.py", Content: "GREETING = 'hello'\n"}}})
	l := &helper.Link{Prefix: prefix, Platform: "linux-64",
		Python: &link.Python{Version: "3.10", SitePackages: "lib/python3.10/site-packages"}}
	for i, r := range []*record.RepoDataRecord{recs["libfoo"], recs["pyhello"]} {
		n := string(rune('0' + i))
		p := helper.LinkPackage{Input: filepath.Join(root, "in", n, helper.LinkInputFile), Archive: archive(pkgs, r), Dest: filepath.Join(root, "out", n)}
		writeInput(t, p.Input, (&helper.LinkInput{Record: r}).Encode)
		l.Packages = append(l.Packages, p)
	}
	var stderr bytes.Buffer
	if err := Main(context.Background(), l.Args(), &stderr); err != nil {
		t.Fatal(err)
	}
	read := func(layer, rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, "out", layer, prefix, rel))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	if got := read("0", "etc/foo.conf"); got != "prefix="+prefix+"\n" {
		t.Errorf("foo.conf = %q", got)
	}
	if got := read("0", "conda-meta/libfoo-1.0-h0_0.json"); !strings.Contains(got, `"url": "https://conda.example/c/linux-64/libfoo-1.0-h0_0.conda"`) {
		t.Errorf("conda-meta record of libfoo: %s", got)
	}
	if got := read("1", "lib/python3.10/site-packages/pyhello/__init__.py"); got != "GREETING = 'hello'\n" {
		t.Errorf("noarch: python file %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "out", "1", prefix, "etc")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("libfoo's files in pyhello's layer: %v", err)
	}
	for _, layer := range []string{"0", "1"} {
		fi, err := os.Stat(filepath.Join(root, "out", layer, "azureml-envs"))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("layer %s: the prefix's parent: %v %v", layer, fi.Mode(), err)
		}
		checkTimes(t, filepath.Join(root, "out", layer, "azureml-envs"))
	}
	for _, layer := range []string{"0", "1"} {
		left, err := filepath.Glob(filepath.Join(root, "out", layer, ".envkit-*"))
		if err != nil || len(left) != 0 {
			t.Errorf("layer %s: extraction left behind: %v %v", layer, left, err)
		}
	}
}

// An archive whose bytes are not the record's is refused, naming it.
func TestLinkChecksum(t *testing.T) {
	root := t.TempDir()
	r := channel(t, root, condatest.Package{Name: "a", Version: "1", Build: "0", Files: []condatest.File{{Path: "a.txt", Content: "a\n"}}})["a"]
	r.SHA256 = strings.Repeat("0", 64)
	p := helper.LinkPackage{Input: filepath.Join(root, "in", helper.LinkInputFile), Archive: archive(root, r), Dest: filepath.Join(root, "out")}
	writeInput(t, p.Input, (&helper.LinkInput{Record: r}).Encode)
	l := &helper.Link{Prefix: prefix, Platform: "linux-64", Packages: []helper.LinkPackage{p}}
	err := Main(context.Background(), l.Args(), &bytes.Buffer{})
	if err == nil || !errors.Is(err, condapkg.ErrChecksum) || !strings.Contains(err.Error(), "a-1-0.conda") {
		t.Errorf("checksum mismatch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "out", prefix)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a layer was written for a bad archive: %v", err)
	}
}

// Of packages extracted ahead of their linking, one with a bad archive ends
// the link with its name, and no extraction is left in the layer.
func TestLinkChecksumAhead(t *testing.T) {
	root := t.TempDir()
	var pkgs []condatest.Package
	names := []string{"a", "b", "c", "d", "e", "f"}
	for _, n := range names {
		pkgs = append(pkgs, condatest.Package{Name: n, Version: "1", Build: "0", Files: []condatest.File{{Path: n + ".bin", Random: 1 << 20}}})
	}
	recs := channel(t, root, pkgs...)
	recs["d"].SHA256 = strings.Repeat("0", 64)
	out := filepath.Join(root, "out")
	l := &helper.Link{Prefix: prefix, Platform: "linux-64"}
	for _, n := range names {
		p := helper.LinkPackage{Input: filepath.Join(root, "in", n, helper.LinkInputFile), Archive: archive(root, recs[n]), Dest: out}
		writeInput(t, p.Input, (&helper.LinkInput{Record: recs[n]}).Encode)
		l.Packages = append(l.Packages, p)
	}
	err := Main(context.Background(), l.Args(), &bytes.Buffer{})
	if err == nil || !errors.Is(err, condapkg.ErrChecksum) || !strings.Contains(err.Error(), "d-1-0.conda") {
		t.Errorf("checksum mismatch: %v", err)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".envkit") {
			t.Errorf("left in the layer: %s", e.Name())
		}
	}
	for _, n := range names[:3] {
		if _, err := os.Stat(filepath.Join(out, prefix, n+".bin")); err != nil {
			t.Errorf("%s, linked before the bad package: %v", n, err)
		}
	}
}

// meta writes history, state and the lock, all at the epoch.
func TestMeta(t *testing.T) {
	root := t.TempDir()
	r := channel(t, root, condatest.Package{Name: "a", Version: "1", Build: "0"})["a"]
	m := &helper.Meta{Prefix: prefix, Dest: filepath.Join(root, "out"), Input: filepath.Join(root, "in", helper.MetaInputFile), Lock: filepath.Join(root, "in", helper.LockFile)}
	writeInput(t, m.Input, (&helper.MetaInput{
		History:   link.History{Command: "envkit build", Tool: "envkit", ToolVersion: "1", Linked: []*record.RepoDataRecord{r}, Specs: []string{"a >=1"}},
		Variables: map[string]string{"MODEL_CACHE": "/cache"},
	}).Encode)
	if err := os.WriteFile(m.Lock, []byte("version: 1\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := Main(context.Background(), m.Args(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(m.Dest, prefix, rel))
		if err != nil {
			t.Error(err)
		}
		return string(b)
	}
	if got := read("conda-meta/history"); !strings.Contains(got, "\n+https://conda.example/c/linux-64::a-1-0\n") || !strings.Contains(got, "# update specs: ['a >=1']") {
		t.Errorf("history:\n%s", got)
	}
	if got := read("conda-meta/state"); !strings.Contains(got, `"MODEL_CACHE": "/cache"`) {
		t.Errorf("state: %s", got)
	}
	if got := read(helper.LockPath); got != "version: 1\n" {
		t.Errorf("lock: %q", got)
	}
	if fi, err := os.Stat(filepath.Join(m.Dest, prefix, helper.LockPath)); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("lock mode: %v %v", fi.Mode(), err)
	}
	checkTimes(t, filepath.Join(m.Dest, "azureml-envs"))
}

func TestMainErrors(t *testing.T) {
	for _, args := range [][]string{{"unlink"}, {}, {helper.CommandMeta, "--prefix", "/p"}} {
		if err := Main(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	// A missing payload names its path.
	m := &helper.Meta{Prefix: prefix, Dest: t.TempDir(), Input: "/nonexistent/meta.json"}
	if err := Main(context.Background(), m.Args(), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "/nonexistent/meta.json") {
		t.Errorf("missing input: %v", err)
	}
}
