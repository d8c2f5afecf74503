package llb

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// With CompileBytecode the environment's python compiles its
// site-packages in an exec on the image built so far, without network,
// with a fixed hash seed; what it adds (the diff) is merged on top as a
// layer of its own, with its history entry, within the layer limit.
func TestConvertBytecode(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [python, {pip: [attrs]}]\n"
	c := testConda(testRecords(t)...)
	c.Wheels = testWheels()
	c.CompileBytecode = true
	res, g := convert(t, y, c)
	var compile *pb.Op
	for _, op := range g.kind("exec") {
		if args := op.GetExec().GetMeta().GetArgs(); len(args) > 0 && args[0] == DefaultPrefix+"/bin/python3.10" {
			if compile != nil {
				t.Fatal("two compile execs")
			}
			compile = op
		}
	}
	if compile == nil {
		t.Fatal("no exec runs the environment's python")
	}
	e := compile.GetExec()
	if args := e.Meta.Args; !slices.Equal(args[1:3], []string{"-s", "-c"}) || !strings.Contains(args[3], "PycInvalidationMode.UNCHECKED_HASH") ||
		!slices.Equal(args[4:], []string{DefaultPrefix + "/lib/python3.10/site-packages"}) {
		t.Errorf("compile argv %q", args)
	}
	if e.Network != pb.NetMode_NONE || !slices.Contains(e.Meta.Env, "PYTHONHASHSEED=0") || e.Meta.User != "0:0" {
		t.Errorf("compile exec: network %v, env %q, user %q", e.Network, e.Meta.Env, e.Meta.User)
	}
	// It runs on the merge of the environment's layers, and the image is
	// that merge with the diff on top.
	root := g.ops[digest.Digest(compile.Inputs[0].Digest)]
	envMerge := g.named(t, "conda: merge 4 packages and 3 wheels")
	if root != envMerge {
		t.Errorf("the compile exec runs on %v, not on the environment's merge", root)
	}
	top := g.named(t, "python: merge the bytecode layer")
	diff := g.ops[digest.Digest(top.Inputs[1].Digest)].GetDiff()
	if len(top.Inputs) != 2 || g.ops[digest.Digest(top.Inputs[0].Digest)] != envMerge || diff == nil {
		t.Fatalf("the image is not the environment with the bytecode diff on top: %v", top)
	}
	last := res.Image.History[len(res.Image.History)-1]
	if last.CreatedBy != "envkit: python bytecode (compileall, unchecked-hash)" || last.EmptyLayer {
		t.Errorf("last history entry %+v", last)
	}

	// Its layer counts against the limit.
	if _, err := convertWithin(t, y, c, 1+4+3+1+1); err != nil {
		t.Errorf("a limit the image fits: %v", err)
	}
	var le *LayerLimitError
	if _, err := convertWithin(t, y, c, 3+1); !errors.As(err, &le) || !le.Bytecode {
		t.Errorf("a limit that leaves one layer: %v", err)
	}
	// Without a python there is nothing to compile with.
	c = testConda(testRecords(t)[1:3]...)
	c.CompileBytecode = true
	if _, err := convertWithin(t, y, c, 0); err == nil || !strings.Contains(err.Error(), "compiling bytecode needs the environment's python") {
		t.Errorf("no python: %v", err)
	}
}

// pyenvPython is a CPython of this machine's pyenv, for running the
// compile script; tests skip without one.
func pyenvPython(t *testing.T) string {
	t.Helper()
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".pyenv", "versions", "3.12.1", "bin", "python3.12")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no pyenv CPython 3.12.1: %v", err)
	}
	return p
}

// The compile script, run twice by a real CPython over the same tree,
// writes the same .pyc bytes with the same times (the
// epoch for what it creates; the directories it adds __pycache__ to keep
// theirs), as unchecked-hash pycs; a file that does not compile is left
// out without failing.
func TestCompileScriptDeterministic(t *testing.T) {
	py := pyenvPython(t)
	write := func(root string) {
		for name, body := range map[string]string{
			"pkg/__init__.py":       "VALUES = {'a', 'b', 'c', 'd'}\n",
			"pkg/sub/mod.py":        "def f():\n    return frozenset({'x', 'y', 'z'})\n",
			"pkg/py2only.py":        "print 'python 2'\n",
			"pkg/__pycache__/old.c": "kept\n",
		} {
			p := filepath.Join(root, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The same path each time: the sources' paths are in the pycs.
	root := filepath.Join(t.TempDir(), "site-packages")
	compile := func() map[string]string {
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		write(root)
		cmd := exec.Command(py, "-s", "-c", compileScript, root)
		cmd.Env = append(os.Environ(), "PYTHONHASHSEED=0", "PYTHONPATH=", "PYTHONDONTWRITEBYTECODE=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		} else if !strings.Contains(string(out), "do not compile") {
			t.Errorf("the file that does not compile is not reported:\n%s", out)
		}
		out := map[string]string{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			v := fi.ModTime().UTC().String()
			if !d.IsDir() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				v += "|" + hex.EncodeToString(b)
			}
			out[filepath.ToSlash(rel)] = v
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := compile(), compile()
	if !maps.Equal(a, b) {
		t.Errorf("two compilations differ:\n%v\n%v", a, b)
	}
	pyc, ok := a["pkg/sub/__pycache__/mod.cpython-312.pyc"]
	if !ok {
		t.Fatalf("no pyc for pkg/sub/mod.py: %v", slices.Sorted(maps.Keys(a)))
	}
	// The flags word after the magic number: 0b01, a hash-based pyc whose
	// source is not checked (PEP 552).
	if _, data, _ := strings.Cut(pyc, "|"); !strings.HasPrefix(data[8:], "01000000") {
		t.Errorf("not an unchecked-hash pyc: %s", data[:32])
	}
	for p, v := range a {
		if !strings.HasPrefix(v, time.Unix(0, 0).UTC().String()) {
			t.Errorf("%s has the time %s", p, v)
		}
	}
	if _, ok := a["pkg/__pycache__/py2only.cpython-312.pyc"]; ok {
		t.Error("a pyc for a file that does not compile")
	}
}
