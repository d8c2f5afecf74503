package hash

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/spec"
	"github.com/opencontainers/go-digest"
)

// A project directory a pip line names is in the hash by its canonical
// archive's sha256, at encoding version 3: its files' content, modes and
// names change the hash; what spec leaves out (__pycache__, build/) does
// not.
func TestPipProjectDirectory(t *testing.T) {
	env := "image: busybox\nconda_file: conda.yml\n"
	files := func() fstest.MapFS {
		return fstest.MapFS{
			"conda.yml":               {Data: []byte("channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ./mypkg\n")},
			"mypkg/pyproject.toml":    {Data: []byte("[project]\nname = \"mypkg\"\nversion = \"1.0\"\n")},
			"mypkg/mypkg/__init__.py": {Data: []byte("X = 1\n")},
		}
	}
	h0 := mustHash(t, env, files())
	same := files()
	same["mypkg/mypkg/__pycache__/__init__.cpython-312.pyc"] = &fstest.MapFile{Data: []byte("junk")}
	same["mypkg/build/lib/mypkg/__init__.py"] = &fstest.MapFile{Data: []byte("old")}
	if mustHash(t, env, same) != h0 {
		t.Error("a left-out file changed the hash")
	}
	seen := map[digest.Digest]string{h0: "base"}
	for name, edit := range map[string]func(fstest.MapFS){
		"content": func(m fstest.MapFS) { m["mypkg/mypkg/__init__.py"].Data = []byte("X = 2\n") },
		"mode":    func(m fstest.MapFS) { m["mypkg/mypkg/__init__.py"].Mode = 0o755 },
		"name": func(m fstest.MapFS) {
			m["mypkg/mypkg/other.py"] = m["mypkg/mypkg/__init__.py"]
			delete(m, "mypkg/mypkg/__init__.py")
		},
		"a file": func(m fstest.MapFS) { m["mypkg/README"] = &fstest.MapFile{Data: []byte("hi")} },
	} {
		m := files()
		edit(m)
		h := mustHash(t, env, m)
		if prev, dup := seen[h]; dup {
			t.Errorf("%s gives the same hash as %s", name, prev)
		}
		seen[h] = name
	}
	e, err := spec.Load("env.yml", []byte(env), files())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Canonical(e, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":3,"image":"docker.io/library/busybox:latest","conda":{"channels":["conda-forge"],"dependencies":["python=3.12"],` +
		`"pip":["./mypkg"],"pip_files":[{"p":"mypkg","tree":"` + e.PipFiles[0].SHA256 + `"}]}}`
	if string(c) != want || len(e.PipFiles[0].SHA256) != 64 {
		t.Errorf("canonical\n got %s\nwant %s", c, want)
	}
	p, err := spec.Parse("env.yml", []byte("image: busybox\nconda_file:\n  dependencies:\n    - pip:\n      - ./mypkg\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compute(p, nil); err == nil || !strings.Contains(err.Error(), "./mypkg: the environment was not loaded with its directory") {
		t.Errorf("parsed: %v", err)
	}
}
