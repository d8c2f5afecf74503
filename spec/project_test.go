package spec

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/rootfs"
)

const staticPyproject = "[project]\nname = \"My_Pkg\"\nversion = \"1.0\"\ndependencies = [\"six\"]\n"

func projectFS() fstest.MapFS {
	return fstest.MapFS{
		"conda.yml":                    {Data: []byte(pipConda("./mypkg[fast]"))},
		"mypkg/pyproject.toml":         {Data: []byte(staticPyproject)},
		"mypkg/src/my_pkg/__init__.py": {Data: []byte("X = 1\n")},
		"mypkg/bin/tool":               {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"mypkg/src/my_pkg/__pycache__/x.cpython-312.pyc": {Data: []byte("junk")},
		"mypkg/src/my_pkg/y.pyc":                         {Data: []byte("junk")},
		"mypkg/.git/HEAD":                                {Data: []byte("ref")},
		"mypkg/build/lib/x.py":                           {Data: []byte("old")},
		"mypkg/dist/x-1.0.whl":                           {Data: []byte("old")},
		"mypkg/src/My_Pkg.egg-info/PKG-INFO":             {Data: []byte("old")},
		"mypkg/src/my_pkg/build/keep.py":                 {Data: []byte("a module directory named build\n")},
	}
}

func TestLoadProjectDirectory(t *testing.T) {
	env, err := Load("env.yml", []byte(pipEnv), projectFS())
	if err != nil {
		t.Fatal(err)
	}
	if len(env.PipFiles) != 1 {
		t.Fatalf("pip files %+v", env.PipFiles)
	}
	f := env.PipFiles[0]
	var paths []string
	for _, pf := range f.Files {
		paths = append(paths, pf.Path+":"+pf.Mode.String())
	}
	want := "bin/tool:-rwxr-xr-x pyproject.toml:-rw-r--r-- src/my_pkg/__init__.py:-rw-r--r-- src/my_pkg/build/keep.py:-rw-r--r--"
	if !f.Project || f.Path != "mypkg" || strings.Join(paths, " ") != want {
		t.Fatalf("got %q\nwant %q", strings.Join(paths, " "), want)
	}
	if q := env.Pip.Requirements[0]; !q.Project || q.String() != "My_Pkg[fast]" || q.Path != "mypkg" {
		t.Fatalf("requirement %s %+v", q, q)
	}
	// The sha256 is the canonical archive's: a tar a reader takes back.
	var buf bytes.Buffer
	if err := ProjectArchive(&buf, f.Files); err != nil {
		t.Fatal(err)
	}
	if ProjectSHA256(f.Files) != f.SHA256 || f.Size != int64(len(staticPyproject)+len("X = 1\n")+len("#!/bin/sh\n")+len("a module directory named build\n")) {
		t.Fatalf("sha256 %s size %d", f.SHA256, f.Size)
	}
	tr := tar.NewReader(&buf)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.Unix() != 0 || h.Uid != 0 || h.Uname != "" {
			t.Fatalf("header %+v", h)
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "bin/tool pyproject.toml src/my_pkg/__init__.py src/my_pkg/build/keep.py" {
		t.Fatalf("archive %q", names)
	}
	// Content, a mode and a left-out file: the sha256 follows the first
	// two only.
	fsys := projectFS()
	fsys["mypkg/src/my_pkg/__pycache__/z.pyc"] = &fstest.MapFile{Data: []byte("more junk")}
	if env2, err := Load("env.yml", []byte(pipEnv), fsys); err != nil || env2.PipFiles[0].SHA256 != f.SHA256 {
		t.Fatalf("a left-out file changes the sha256: %v", err)
	}
	fsys["mypkg/bin/tool"].Mode = 0o644
	if env2, err := Load("env.yml", []byte(pipEnv), fsys); err != nil || env2.PipFiles[0].SHA256 == f.SHA256 {
		t.Fatalf("a mode does not change the sha256: %v", err)
	}
	fsys = projectFS()
	fsys["mypkg/src/my_pkg/__init__.py"].Data = []byte("X = 2\n")
	if env2, err := Load("env.yml", []byte(pipEnv), fsys); err != nil || env2.PipFiles[0].SHA256 == f.SHA256 {
		t.Fatalf("content does not change the sha256: %v", err)
	}
}

func TestLoadProjectDirectoryRefused(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(fstest.MapFS)
		o    Options
		want string
	}{
		"dynamic dependencies": {func(m fstest.MapFS) {
			m["mypkg/pyproject.toml"].Data = []byte("[project]\nname = \"p\"\nversion = \"1\"\ndynamic = [\"dependencies\"]\n")
		}, Options{}, "conda.yml:5:7: dependencies.pip: ./mypkg[fast]: p declares its dependencies dynamically (project.dynamic); envkit cannot know them without building: build a wheel (python -m build --wheel) and name the wheel instead"},
		"dynamic version": {func(m fstest.MapFS) {
			m["mypkg/pyproject.toml"].Data = []byte("[project]\nname = \"p\"\ndynamic = [\"version\"]\n")
		}, Options{}, "p declares its version dynamically"},
		"setup.py only": {func(m fstest.MapFS) {
			delete(m, "mypkg/pyproject.toml")
			m["mypkg/setup.py"] = &fstest.MapFile{Data: []byte("from setuptools import setup\nsetup()\n")}
		}, Options{}, "./mypkg[fast]: has only setup.py: envkit cannot know its name, version and dependencies without building it: build a wheel (python -m build --wheel)"},
		"no [project]": {func(m fstest.MapFS) {
			m["mypkg/pyproject.toml"].Data = []byte("[build-system]\nrequires = [\"setuptools\"]\n")
		}, Options{}, "pyproject.toml has no [project] table (its metadata is in setup.py or setup.cfg)"},
		"not a project":  {func(m fstest.MapFS) { delete(m, "mypkg/pyproject.toml") }, Options{}, "is not a Python project (no pyproject.toml or setup.py)"},
		"missing":        {func(m fstest.MapFS) { m["conda.yml"].Data = []byte(pipConda("./nothere")) }, Options{}, "./nothere: no such file"},
		"a file":         {func(m fstest.MapFS) { m["conda.yml"].Data = []byte(pipConda("./mypkg/bin/tool")) }, Options{}, "./mypkg/bin/tool: not a directory"},
		"outside":        {func(m fstest.MapFS) { m["conda.yml"].Data = []byte(pipConda("../mypkg")) }, Options{}, "../mypkg: outside the environment's directory"},
		"too many files": {func(fstest.MapFS) {}, Options{MaxProjectFiles: 3}, "./mypkg[fast]: has more than 3 files"},
		"too large":      {func(fstest.MapFS) {}, Options{MaxProjectSize: 60}, "./mypkg[fast]: is larger than 60 bytes"},
		"fifo":           {func(m fstest.MapFS) { m["mypkg/p"] = &fstest.MapFile{Mode: fs.ModeNamedPipe} }, Options{}, "./mypkg[fast]: p: p is a named pipe (FIFO), not a regular file"},
	} {
		m := projectFS()
		c.edit(m)
		_, err := c.o.Load("env.yml", []byte(pipEnv), m)
		var l diag.List
		if !errors.As(err, &l) || len(l) != 1 || !strings.Contains(l[0].Error(), c.want) {
			t.Errorf("%s: %v\nwant %s", name, err, c.want)
		}
	}
}

// On disk: a symlink inside the project is kept as a symlink; one that
// leads out of it is refused.
func TestLoadProjectDirectorySymlinks(t *testing.T) {
	dir := t.TempDir()
	for p, s := range map[string]string{
		"conda.yml":                 pipConda("./mypkg"),
		"mypkg/pyproject.toml":      staticPyproject,
		"mypkg/src/my_pkg/data.txt": "data\n",
		"secret.txt":                "SECRET\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("data.txt", filepath.Join(dir, "mypkg/src/my_pkg/link.txt")); err != nil {
		t.Fatal(err)
	}
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	env, err := Load(filepath.Join(dir, "env.yml"), []byte(pipEnv), root)
	if err != nil {
		t.Fatal(err)
	}
	l := env.PipFiles[0].ProjectFile("src/my_pkg/link.txt")
	if l == nil || l.Mode&fs.ModeSymlink == 0 || l.Link != "data.txt" || l.Data != nil {
		t.Fatalf("link %+v", l)
	}
	if err := os.Symlink("../../../secret.txt", filepath.Join(dir, "mypkg/src/my_pkg/out.txt")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(filepath.Join(dir, "env.yml"), []byte(pipEnv), root)
	if err == nil || !strings.Contains(err.Error(), "./mypkg: src/my_pkg/out.txt: a symlink that leads outside the project directory") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("%v", err)
	}
}

// Loading a project directory of 1000 small files (read, sorted, its
// canonical archive hashed).
func BenchmarkLoadProject(b *testing.B) {
	m := projectFS()
	for i := range 1000 {
		m[fmt.Sprintf("mypkg/src/my_pkg/m%04d.py", i)] = &fstest.MapFile{Data: bytes.Repeat([]byte("x = 1\n"), 200)}
	}
	for b.Loop() {
		if _, err := Load("env.yml", []byte(pipEnv), m); err != nil {
			b.Fatal(err)
		}
	}
}
