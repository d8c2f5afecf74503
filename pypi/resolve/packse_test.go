package resolve

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// packseSkip lists the packse scenarios left out, and why.
var packseSkip = map[string]string{
	"specific-architecture": "a universal (all-platform) resolution in uv: envkit resolves for one target, and for " +
		"CPython 3.12 on x86_64 b has only cp313 wheels and no sdist, so the request is unsatisfiable there",
}

// packseBetter are expectations beyond uv's: scenarios whose expected
// packages packse leaves out because uv does not reach them yet.
var packseBetter = map[string]map[string]string{
	// astral-sh/uv#12060: b-inner must not fall back to 1.0.0.
	"wrong-backtracking-indirect": {"a": "1.0.0", "b": "1.0.0", "b-inner": "2.0.9"},
}

// linux312 is the packse default target: CPython 3.12.0 on x86_64 Linux
// (manylinux2014, glibc 2.17 and later).
func linux312(t testing.TB) (requirement.Environment, *tags.Compat) {
	t.Helper()
	env, c, err := Target(tags.Target{Python: [2]int{3, 12}, OS: tags.Linux, Arch: "x86_64", Glibc: [2]int{2, 28}}, version.MustParse("3.12.0"))
	if err != nil {
		t.Fatal(err)
	}
	return env, c
}

// packseRequest is the request a scenario makes of an index.
func packseRequest(t testing.TB, s *pypitest.Scenario, ix Index) Request {
	t.Helper()
	env, compat := linux312(t)
	py := version.MustParse(s.Python)
	if len(py.Release()) == 2 {
		py = version.MustParse(s.Python + ".0")
	}
	env.PythonVersion = s.Python
	env.PythonFullVersion = py.String()
	req := Request{Python: py, Env: env, Tags: compat, Index: ix, Pre: s.Prereleases == "allow",
		OnlyBinary: Selector{Names: map[string]bool{}}, NoBinary: Selector{Names: map[string]bool{}}}
	for _, r := range s.Requires {
		pr, err := requirement.Parse(r)
		if err != nil {
			t.Fatalf("%s: %v", s.Path, err)
		}
		req.Requirements = append(req.Requirements, Requirement{Requirement: pr, Origin: filepath.Base(s.Path)})
	}
	for _, n := range s.NoBuild {
		req.OnlyBinary.Names[name.Normalize(n)] = true
	}
	for _, n := range s.NoBinary {
		req.NoBinary.Names[name.Normalize(n)] = true
	}
	return req
}

// TestPackse runs every packse scenario against its own index, read as a
// directory and over HTTP, and compares the resolution with the scenario's expectation.
func TestPackse(t *testing.T) {
	paths, err := filepath.Glob(testdata.Path(t, "pypi", "packse", "*", "*.toml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no packse scenarios: %v", err)
	}
	seen := map[string]bool{}
	for _, path := range paths {
		s := pypitest.Packse(t, path)
		seen[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			if why, ok := packseSkip[s.Name]; ok {
				t.Skip(why)
			}
			if want, ok := packseBetter[s.Name]; ok {
				if s.Packages != nil {
					t.Errorf("packse now lists the packages of %s: drop it from packseBetter", s.Name)
				}
				s.Packages = want
			}
			// The index as a directory, and served over HTTP.
			for _, ix := range []string{s.Dir, pypitest.Serve(t, s.Dir)} {
				res, err := Resolve(context.Background(), packseRequest(t, s, &index.Client{Indexes: []string{ix}}))
				checkPackse(t, s, res, err)
			}
		})
	}
	for n := range packseSkip {
		if !seen[n] {
			t.Errorf("skip lists %s, which is no scenario", n)
		}
	}
}

func checkPackse(t *testing.T, s *pypitest.Scenario, res *Result, err error) {
	t.Helper()
	if !s.Satisfiable {
		var ue *UnsatError
		if !errors.As(err, &ue) {
			t.Fatalf("want an unsatisfiable request, got %v, %+v", err, res)
		}
		if len(ue.Packages) == 0 || len(ue.Requirements) == 0 || !strings.Contains(ue.Error(), filepath.Base(s.Path)) {
			t.Errorf("the explanation names no package or no root requirement: %+v\n%s", ue, ue)
		}
		t.Logf("%s\n%s", s.Explanation, ue)
		return
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	got := map[string]string{}
	for _, p := range res.Packages {
		got[name.Normalize(p.Name)] = p.Version.String()
		sdist := strings.HasSuffix(p.File.Filename, ".tar.gz")
		if sdist != p.Sdist || p.File.SHA256() == "" {
			t.Errorf("%s: file %+v, sdist %v", p.Name, p.File, p.Sdist)
		}
		for _, n := range s.NoBinary {
			if name.Normalize(n) == name.Normalize(p.Name) && !p.Sdist {
				t.Errorf("%s: --no-binary, but the wheel %s was chosen", p.Name, p.File.Filename)
			}
		}
		for _, n := range s.NoBuild {
			if name.Normalize(n) == name.Normalize(p.Name) && p.Sdist {
				t.Errorf("%s: --only-binary, but the sdist %s was chosen", p.Name, p.File.Filename)
			}
		}
	}
	if s.Packages != nil {
		if len(got) != len(s.Packages) {
			t.Errorf("got %v, want %v", got, s.Packages)
		}
		for n, v := range s.Packages {
			if got[n] != v {
				t.Errorf("%s: got %q, want %q (all: %v)", n, got[n], v, got)
			}
		}
	}
}
