package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/rootfs"
)

const pipEnv = "image: busybox\nconda_file: conda.yml\n"

func pipConda(lines ...string) string {
	s := "channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n"
	for _, l := range lines {
		s += "    - " + l + "\n"
	}
	return s
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The files a conda file's pip lines name are read with the environment:
// -r and -c files recursively (relative to the file that names them), a
// file included twice once, wheels by their content's sha256; their
// requirements are in env.Pip, and OpenPipFile serves what was read.
func TestLoadPipFiles(t *testing.T) {
	wheel := "PK\x03\x04 not really a zip"
	fsys := fstest.MapFS{
		"conda.yml":                        {Data: []byte(pipConda("-r reqs/base.txt", "-c constraints.txt", "requests==2.31", "wheels/tool-1.0-py3-none-any.whl"))},
		"reqs/base.txt":                    {Data: []byte("# base\nflask>=3\n-r more.txt\n-r common.txt\n")},
		"reqs/more.txt":                    {Data: []byte("-r common.txt\nclick\n")},
		"reqs/common.txt":                  {Data: []byte("itsdangerous\n")},
		"constraints.txt":                  {Data: []byte("werkzeug<4\n")},
		"wheels/tool-1.0-py3-none-any.whl": {Data: []byte(wheel)},
	}
	env, err := Load("env.yml", []byte(pipEnv), fsys)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range env.PipFiles {
		got = append(got, f.Path)
		want := sum(string(fsys[f.Path].Data))
		if f.SHA256 != want || f.Size != int64(len(fsys[f.Path].Data)) {
			t.Errorf("%s: sha256 %s size %d", f.Path, f.SHA256, f.Size)
		}
		if f.Wheel != strings.HasSuffix(f.Path, ".whl") || (f.Wheel == (f.Data != nil)) {
			t.Errorf("%s: wheel %v, %d bytes of data", f.Path, f.Wheel, len(f.Data))
		}
	}
	if strings.Join(got, " ") != "reqs/base.txt reqs/more.txt reqs/common.txt constraints.txt wheels/tool-1.0-py3-none-any.whl" {
		t.Errorf("pip files %v", got)
	}
	var reqs []string
	for _, q := range env.Pip.Requirements {
		reqs = append(reqs, q.Name+"@"+q.Pos.String())
	}
	if strings.Join(reqs, " ") != "flask@reqs/base.txt:2 itsdangerous@reqs/common.txt:1 click@reqs/more.txt:2 itsdangerous@reqs/common.txt:1 requests@conda.yml:7 tool@conda.yml:8" {
		t.Errorf("requirements %v", reqs)
	}
	if len(env.Pip.Constraints) != 1 || env.Pip.Constraints[0].Name != "werkzeug" {
		t.Errorf("constraints %+v", env.Pip.Constraints)
	}
	if data, err := env.OpenPipFile("reqs/common.txt"); err != nil || string(data) != "itsdangerous\n" {
		t.Errorf("OpenPipFile: %q %v", data, err)
	}
	if _, err := env.OpenPipFile("conda.yml"); err == nil {
		t.Error("OpenPipFile serves a file that no pip line names")
	}
	// Parsed without its directory: nothing read.
	env, err = Parse("env.yml", []byte("image: busybox\nconda_file:\n  dependencies:\n    - pip:\n      - -r r.txt\n"))
	if err != nil || env.Pip != nil || env.PipFiles != nil {
		t.Errorf("parse: %v %+v", err, env)
	}
}

// The environment file in a directory of its own: paths are relative to
// it, and the conda file in a subdirectory names its -r files relative to
// itself.
func TestLoadPipFilesPaths(t *testing.T) {
	fsys := fstest.MapFS{
		"env/conda.yml":  {Data: []byte(pipConda("-r req.txt"))},
		"env/req.txt":    {Data: []byte("flask\n")},
		"env/sub/c.yml":  {Data: []byte(pipConda("-r ../req.txt", "-r r2.txt"))},
		"env/sub/r2.txt": {Data: []byte("click\n")},
	}
	env, err := Load("/abs/env/environment.yml", []byte(pipEnv), mustSub(t, fsys, "env"))
	if err != nil || len(env.PipFiles) != 1 || env.PipFiles[0].Path != "req.txt" {
		t.Fatalf("%v %+v", err, env)
	}
	env, err = Load("env/environment.yml", []byte("image: busybox\nconda_file: sub/c.yml\n"), mustSub(t, fsys, "env"))
	if err != nil || len(env.PipFiles) != 2 || env.PipFiles[0].Path != "req.txt" || env.PipFiles[1].Path != "sub/r2.txt" {
		t.Fatalf("%v %+v", err, env)
	}
	if p, ok := env.RelPath("env/sub/../req.txt"); ok || p != "" {
		t.Errorf("unclean path taken: %q", p)
	}
}

func mustSub(t *testing.T, fsys fstest.MapFS, dir string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	for k, v := range fsys {
		if rel, ok := strings.CutPrefix(k, dir+"/"); ok {
			out[rel] = v
		}
	}
	return out
}

// Files a pip line cannot have: each refused at the line that names it
// (file, line, column), never with the content of what was refused.
func TestLoadPipFilesRefused(t *testing.T) {
	for name, c := range map[string]struct {
		conda string
		files fstest.MapFS
		want  string // file:line:col: and a part of the message
	}{
		"missing":   {pipConda("-r nope.txt"), nil, "conda.yml:5:10: dependencies.pip: -r nope.txt: no such file"},
		"outside":   {pipConda("-r ../x.txt"), nil, "conda.yml:5:10: dependencies.pip: -r ../x.txt: outside the environment's directory"},
		"nested":    {pipConda("-r a.txt"), fstest.MapFS{"a.txt": {Data: []byte("\n-r ../../b.txt\n")}}, "a.txt:2:4: -r ../../b.txt: outside the environment's directory"},
		"cycle":     {pipConda("-r a.txt"), fstest.MapFS{"a.txt": {Data: []byte("-r b.txt\n")}, "b.txt": {Data: []byte("flask\n-r a.txt\n")}}, "b.txt:2:4: a.txt includes itself (conda.yml -> a.txt -> b.txt -> a.txt)"},
		"too large": {pipConda("-r big.txt"), fstest.MapFS{"big.txt": {Data: []byte(strings.Repeat("SECRET\n", 1000))}}, "-r big.txt: big.txt is larger than the limit of 1000 bytes"},
		"too large in all": {pipConda("-r a.txt", "-r b.txt"), fstest.MapFS{"a.txt": {Data: []byte("-r c.txt\n-r d.txt\n-r e.txt\n" + pad(900))},
			"b.txt": {Data: []byte(pad(999))}, "c.txt": {Data: []byte(pad(999))}, "d.txt": {Data: []byte(pad(999))}, "e.txt": {Data: []byte(pad(999))}},
			"conda.yml:6:10: dependencies.pip: -r b.txt: the -r and -c files are larger than 4000 bytes in all"},
		"fifo": {pipConda("-r p.txt"), fstest.MapFS{"p.txt": {Mode: os.ModeNamedPipe}}, "-r p.txt: p.txt is a named pipe (FIFO), not a regular file"},
		"wheel missing": {pipConda("flask", "./w/x-1.0-py3-none-any.whl"), nil,
			"conda.yml:6:7: dependencies.pip: ./w/x-1.0-py3-none-any.whl: no such file"},
		"wheel in -r outside": {pipConda("-r a.txt"), fstest.MapFS{"a.txt": {Data: []byte("../x-1.0-py3-none-any.whl\n")}},
			"a.txt:1:1: ../x-1.0-py3-none-any.whl: outside the environment's directory"},
		"project directory": {pipConda("./src"), fstest.MapFS{"src/pyproject.toml": {Data: []byte("[project]\n")}},
			"conda.yml:5:7: dependencies.pip: ./src: pyproject.toml: project.name: missing"},
		"sdist by path": {pipConda("./x-1.0.tar.gz"), fstest.MapFS{"x-1.0.tar.gz": {Data: []byte("x")}},
			"conda.yml:5:7: dependencies.pip: ./x-1.0.tar.gz: only a wheel or a project directory is read from a path (not an sdist)"},
		"wheel too large": {pipConda("x-1.0-py3-none-any.whl"), fstest.MapFS{"x-1.0-py3-none-any.whl": {Data: make([]byte, 2001)}},
			"x-1.0-py3-none-any.whl is larger than the limit of 2000 bytes"},
	} {
		files := fstest.MapFS{"conda.yml": {Data: []byte(c.conda)}}
		for k, v := range c.files {
			files[k] = v
		}
		_, err := Options{MaxFileSize: 1000, MaxWheelSize: 2000}.Load("env.yml", []byte(pipEnv), files)
		var l diag.List
		if !errors.As(err, &l) || len(l) != 1 || !strings.Contains(l[0].Error(), c.want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v\nwant %s", name, err, c.want)
		}
	}
}

// On disk, through rootfs: a -r file that is a symlink out of the
// environment's directory is refused; one that stays inside is read.
func TestLoadPipFilesSymlinks(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "env")
	if err := os.MkdirAll(filepath.Join(dir, "reqs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, s := range map[string]string{
		filepath.Join(top, "secret.txt"):    "SECRET\n",
		filepath.Join(dir, "conda.yml"):     pipConda("-r in.txt", "-r out.txt"),
		filepath.Join(dir, "reqs", "r.txt"): "flask\n",
	} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("reqs/r.txt", filepath.Join(dir, "in.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.txt", filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	root, err := rootfs.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	_, err = Load(filepath.Join(dir, "env.yml"), []byte(pipEnv), root)
	var l diag.List
	if !errors.As(err, &l) || len(l) != 1 || l[0].Line != 6 || !strings.Contains(l[0].Msg, "-r out.txt: a symlink that leads outside the environment's directory") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("%v", err)
	}
	if err := os.Remove(filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "out.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := Load(filepath.Join(dir, "env.yml"), []byte(pipEnv), root)
	if err != nil || len(env.PipFiles) != 2 || string(env.PipFiles[0].Data) != "flask\n" || env.PipFiles[0].Path != "in.txt" {
		t.Errorf("%v %+v", err, env)
	}
}

// pad is a comment line of n bytes.
func pad(n int) string { return "#" + strings.Repeat("x", n-2) + "\n" }
