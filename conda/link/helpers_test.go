package link

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	condapkg "github.com/envkit/envkit/conda/package"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// tree describes every entry below dir, one line each: path, type, mode,
// mtime, and content hash or link target. Two trees with equal
// descriptions are byte-identical as far as a layer tarball is concerned
// (ownership aside).
func tree(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		what := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			what, err = os.Readlink(p)
			what = "-> " + what
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			what = hex.EncodeToString(sum[:8])
		}
		lines = append(lines, fmt.Sprintf("%s %s %d %s", rel, fi.Mode(), fi.ModTime().UnixNano(), what))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// pkg builds an extracted package in a temporary directory: index.json
// from index, paths.json from paths (omitted when nil), link.json when
// given, and the payload files.
type pkg struct {
	index map[string]any
	paths []condapkg.PathEntry
	link  string
	files map[string]string // path -> content; "->target" makes a symlink
	modes map[string]fs.FileMode
}

func (p pkg) write(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "info"), 0o755))
	idx := map[string]any{"name": "synthetic", "version": "1.0", "build": "0", "build_number": 0, "depends": []string{}, "subdir": "linux-64"}
	for k, v := range p.index {
		idx[k] = v
	}
	b, _ := json.Marshal(idx)
	must(os.WriteFile(filepath.Join(dir, "info", "index.json"), b, 0o644))
	if p.paths != nil {
		b, _ = json.Marshal(map[string]any{"paths": p.paths, "paths_version": 1})
		must(os.WriteFile(filepath.Join(dir, "info", "paths.json"), b, 0o644))
	}
	if p.link != "" {
		must(os.WriteFile(filepath.Join(dir, "info", "link.json"), []byte(p.link), 0o644))
	}
	for name, content := range p.files {
		f := filepath.Join(dir, filepath.FromSlash(name))
		must(os.MkdirAll(filepath.Dir(f), 0o755))
		if to, ok := strings.CutPrefix(content, "->"); ok {
			must(os.Symlink(to, f))
			continue
		}
		mode := fs.FileMode(0o644)
		if m, ok := p.modes[name]; ok {
			mode = m
		}
		must(os.WriteFile(f, []byte(content), mode))
		must(os.Chmod(f, mode))
	}
	return dir
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
