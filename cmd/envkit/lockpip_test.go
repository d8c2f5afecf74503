package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/name"
)

// pythonChannel writes a conda channel holding python 3.12.0 and numpy
// 1.26.4 (a Python distribution) for linux-64.
func pythonChannel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := condatest.WriteChannel(dir,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func pipWheel(n, v string, requires ...string) pypitest.File {
	return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: n, Version: v, RequiresDist: requires}}}
}

// lockJSON is an entry of lock --format json.
type lockJSON struct {
	Manager, Name, Version, URL, SHA256 string
	Build                               string
}

func TestLockPip(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	channel := pythonChannel(t)
	main, extra := t.TempDir(), t.TempDir()
	if err := pypitest.WriteIndex(main,
		pypitest.Project{Name: "Flask", Files: []pypitest.File{pipWheel("Flask", "3.0.0", "Werkzeug>=3", `colorama; platform_system == "Windows"`)}},
		pypitest.Project{Name: "Werkzeug", Files: []pypitest.File{pipWheel("Werkzeug", "3.0.1"), pipWheel("Werkzeug", "2.0.0")}},
	); err != nil {
		t.Fatal(err)
	}
	inference := pipWheel("inference-schema", "1.8", `numpy>=1.20; extra == "numpy-support"`)
	inference.Wheel.ProvidesExtra = []string{"numpy-support"}
	if err := pypitest.WriteIndex(extra, pypitest.Project{Name: "inference-schema", Files: []pypitest.File{inference}}); err != nil {
		t.Fatal(err)
	}
	mainURL, extraURL := pypitest.Serve(t, main), pypitest.Serve(t, extra)
	// The extra index's URL carries credentials: they are sent, never printed.
	credURL := strings.Replace(extraURL, "http://", "http://user:s3cret@", 1)
	dir := t.TempDir()
	writeFile(t, dir, "requirements.txt", "# more\nWerkzeug>=2 \\\n   --hash=sha256:"+sumOf(t, pipWheel("Werkzeug", "3.0.1"))+"\n")
	conda := writeFile(t, dir, "conda.yml", fmt.Sprintf(`channels: [%s]
dependencies:
  - python=3.12
  - numpy
  - pip:
    - --index-url=%s
    - --extra-index-url %s
    - flask
    - inference-schema[numpy-support,nosuch]
    - -r requirements.txt
`, channel, mainURL, credURL))

	code, out, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "warning: linux-64: pip: ") || !strings.Contains(errs, "nosuch") {
		t.Errorf("no warning of the extra inference-schema lacks:\n%s", errs)
	}
	if strings.Contains(out+errs, "s3cret") {
		t.Errorf("credentials printed:\n%s\n%s", out, errs)
	}
	var entries []lockJSON
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range entries {
		got = append(got, e.Manager+":"+e.Name+"-"+e.Version)
		if e.Manager == "pip" && (i == 0 || e.SHA256 == "" || !strings.HasPrefix(e.URL, mainURL) && !strings.HasPrefix(e.URL, extraURL)) {
			t.Errorf("pip entry %+v", e)
		}
	}
	// conda first (numpy is conda's: the extra's numpy>=1.20 is satisfied),
	// then pip, each by name.
	want := []string{"conda:numpy-1.26.4", "conda:python-3.12.0", "pip:Flask-3.0.0", "pip:Werkzeug-3.0.1", "pip:inference-schema-1.8"}
	if !slices.Equal(got, want) {
		t.Errorf("lock:\n got %q\nwant %q", got, want)
	}

	// conda-lock and explicit carry the pip packages too.
	code, cl, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, err := lock.ReadCondaLock("conda-lock.yml", []byte(cl))
	if err != nil {
		t.Fatal(err)
	}
	if pip, err := l.PipPackages("linux-64"); err != nil || len(pip) != 3 {
		t.Errorf("conda-lock pip packages %v, %v", pip, err)
	}
	if _, ex, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "explicit"); strings.Count(ex, "# pip ") != 3 || !strings.Contains(ex, "# pip Flask @ "+mainURL) {
		t.Errorf("explicit:\n%s", ex)
	}
	// The lock is fresh for the file, and stale once a pip line changes;
	// with the lock, a changed requirements file is resolved again.
	locked := writeFile(t, dir, "conda-lock.yml", cl)
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Errorf("check: exit %d %q", code, out)
	}
	writeFile(t, dir, "requirements.txt", "Werkzeug<3\n")
	if code, out, _ := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--lockfile", locked, "--check"); code != exitFailure || !strings.Contains(out, "stale") {
		t.Errorf("check after requirements.txt changed: exit %d %q", code, out)
	}

	// Unsatisfiable: exit 1, at the pip line, with the explanation.

	code, _, errs = runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "json")
	if code != exitFailure || !strings.Contains(errs, "conda.yml:8:7") || !strings.Contains(strings.ToLower(errs), "werkzeug") {
		t.Errorf("unsatisfiable: exit %d\n%s", code, errs)
	}
	// A pip line conda's numpy does not satisfy names both lines.
	writeFile(t, dir, "requirements.txt", "numpy>=2\n")
	code, _, errs = runCLI(t, "lock", "-f", conda, "--platform", "linux-64")
	if code != exitFailure || !strings.Contains(errs, "requirements.txt:1:1") || !strings.Contains(errs, "conda.yml:4") || !strings.Contains(errs, "pin it in the conda part") {
		t.Errorf("conflict: exit %d\n%s", code, errs)
	}
	// Refused lines are positioned.
	bad := writeFile(t, dir, "bad.yml", fmt.Sprintf("channels: [%s]\ndependencies:\n  - python\n  - pip:\n    - -e ./src\n    - -r ../outside.txt\n", channel))
	code, _, errs = runCLI(t, "lock", "-f", bad, "--platform", "linux-64")
	if code != exitFailure || !strings.Contains(errs, "bad.yml:5:7") || !strings.Contains(errs, "editable") || !strings.Contains(errs, "bad.yml:6:10: dependencies.pip: -r ../outside.txt: outside the environment's directory") {
		t.Errorf("refused lines: exit %d\n%s", code, errs)
	}
}

func sumOf(t *testing.T, f pypitest.File) string {
	t.Helper()
	b, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return pypitest.Sum(b)
}

// packseLeftOut are the packse scenarios the end-to-end test does not run,
// and why; the other universal scenarios (wrong-backtracking-*) carry no
// marker, so a resolution for linux-64 must give their expected packages.
var packseLeftOut = map[string]string{
	"specific-architecture":  "a universal resolution: its only wheels are cp313 while the scenario's python is 3.12, which a lock for one target (python 3.12 on linux-64) rightly finds unsatisfiable",
	"requires-python-subset": "a universal resolution over required environments (linux and win32); a lock resolves each platform for its own target",
}

// TestLockPackse runs every packse scenario through envkit lock: a conda
// channel with python 3.12.0, the scenario's index served on 127.0.0.1,
// its root requirements as the conda file's pip lines; the pip packages of
// lock --format json are the expected ones, an unsatisfiable scenario
// exits 1 at a pip line.
func TestLockPackse(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	root := testdata.Path(t, "pypi", "packse")
	var paths []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".toml") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scenarios under %s: %v", root, err)
	}
	channel := pythonChannel(t)
	ran := 0
	for _, path := range paths {
		s := pypitest.Packse(t, path)
		t.Run(s.Name, func(t *testing.T) {
			switch {
			case packseLeftOut[s.Name] != "":
				t.Skip(packseLeftOut[s.Name])
			case len(s.RequiredEnvironments) > 0:
				t.Fatalf("required environments, and not among the scenarios left out")
			case s.Python != "3.12":
				t.Skipf("python %s: the channel has 3.12.0", s.Python)
			}
			ran++
			lines := []string{"--index-url " + pypitest.Serve(t, s.Dir)}
			if s.Prereleases == "allow" {
				lines = append(lines, "--pre")
			}
			if len(s.NoBinary) > 0 {
				lines = append(lines, "--no-binary "+strings.Join(s.NoBinary, ","))
			}
			if len(s.NoBuild) > 0 {
				lines = append(lines, "--only-binary "+strings.Join(s.NoBuild, ","))
			}
			lines = append(lines, s.Requires...)
			var b strings.Builder
			fmt.Fprintf(&b, "channels: [%s]\ndependencies:\n  - python=3.12.0\n  - pip:\n", channel)
			for _, l := range lines {
				fmt.Fprintf(&b, "    - %q\n", l)
			}
			conda := writeFile(t, t.TempDir(), "conda.yml", b.String())
			code, out, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "json")
			if !s.Satisfiable {
				if code != exitFailure || !strings.Contains(errs, "conda.yml:") {
					t.Errorf("%s: unsatisfiable, but exit %d\n%s\n%s", s.Description, code, out, errs)
				}
				return
			}
			if code != exitOK {
				t.Fatalf("%s: exit %d\n%s", s.Description, code, errs)
			}
			var entries []lockJSON
			if err := json.Unmarshal([]byte(out), &entries); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range entries {
				if e.Manager == "pip" {
					got[name.Normalize(e.Name)] = e.Version
				}
			}
			if s.Packages != nil && !mapsEqual(got, s.Packages) {
				t.Errorf("%s:\n got %v\nwant %v", s.Description, got, s.Packages)
			}
		})
	}
	t.Logf("%d of %d packse scenarios run", ran, len(paths))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Real wheels (pip, setuptools and wheel as Debian ships them) on an index
// that serves no metadata files: their METADATA is read from the wheels,
// and the lock names each with its file's sha256.
func TestLockPipRealWheels(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	src := testdata.Path(t, "pypi", "wheels")
	ix := t.TempDir()
	sums := map[string]string{}
	for _, fn := range []string{"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl", "wheel-0.38.4-py3-none-any.whl"} {
		data, err := os.ReadFile(filepath.Join(src, fn))
		if err != nil {
			t.Fatal(err)
		}
		sums[fn] = pypitest.Sum(data)
		project := strings.SplitN(fn, "-", 2)[0]
		if err := os.MkdirAll(filepath.Join(ix, project), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, ix, fn, string(data))
		writeFile(t, filepath.Join(ix, project), "index.html", fmt.Sprintf(`<!DOCTYPE html><html><body><a href="../%s#sha256=%s">%s</a></body></html>`, fn, sums[fn], fn))
	}
	conda := writeFile(t, t.TempDir(), "conda.yml", fmt.Sprintf("channels: [%s]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url %s\n    - pip>=23\n    - setuptools\n    - wheel<1\n",
		pythonChannel(t), pypitest.Serve(t, ix)))
	code, out, errs := runCLI(t, "lock", "-f", conda, "--platform", "linux-64", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var entries []lockJSON
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		if e.Manager == "pip" {
			got[e.Name+"-"+e.Version] = e.SHA256
		}
	}
	for fn, sum := range sums {
		nv := strings.Join(strings.SplitN(fn, "-", 3)[:2], "-")
		if got[nv] != sum {
			t.Errorf("%s: locked %q, want sha256 %s (lock: %v)", nv, got[nv], sum, got)
		}
	}
}

// BenchmarkLockPip is envkit lock of a conda file with python and the ten
// root requirements of a generated index (200 projects x 20 versions),
// served over HTTP: cold (an empty cache each time) and with the disk cache
// of the run before (pages revalidated).
func BenchmarkLockPip(b *testing.B) {
	g := pypitest.Generate(pypitest.GenOptions{})
	ix := b.TempDir()
	if err := pypitest.WriteIndex(ix, g.Projects...); err != nil {
		b.Fatal(err)
	}
	url := pypitest.Serve(b, ix)
	channel := b.TempDir()
	if err := condatest.WriteChannel(channel, condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"}); err != nil {
		b.Fatal(err)
	}
	var conda strings.Builder
	fmt.Fprintf(&conda, "channels: [%s]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url %s\n", channel, url)
	for _, r := range g.Requires {
		fmt.Fprintf(&conda, "    - %q\n", r)
	}
	file := filepath.Join(b.TempDir(), "conda.yml")
	if err := os.WriteFile(file, []byte(conda.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B) int {
		var out, errs bytes.Buffer
		if code := run([]string{"lock", "-f", file, "--platform", "linux-64", "--format", "json"}, &out, &errs); code != exitOK {
			b.Fatalf("exit %d: %s", code, errs.String())
		}
		return strings.Count(out.String(), `"manager": "pip"`)
	}
	b.Run("cold", func(b *testing.B) {
		n := 0
		for b.Loop() {
			b.StopTimer()
			b.Setenv("ENVKIT_CACHE", b.TempDir())
			b.StartTimer()
			n = run(b)
		}
		b.ReportMetric(float64(n), "pip-packages")
	})
	b.Run("cached", func(b *testing.B) {
		b.Setenv("ENVKIT_CACHE", b.TempDir())
		n := run(b)
		for b.Loop() {
			n = run(b)
		}
		b.ReportMetric(float64(n), "pip-packages")
	})
}
