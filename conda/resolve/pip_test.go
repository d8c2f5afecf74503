package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	pipresolve "github.com/envkit/envkit/pypi/resolve"
)

// pipChannel writes a conda channel with a python 3.12.0, numpy 1.26.4
// (a Python distribution: it depends on python) and pip.
func pipChannel(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := condatest.WriteChannel(dir,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}},
		condatest.Package{Name: "zlib", Version: "1.3.1", Build: "h0_0"},
		condatest.Package{Name: "pip", Version: "24.0", Build: "pyhd8ed1ab_0", Noarch: "python", Subdir: "noarch", Depends: []string{"python >=3.8"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func wheel(name, ver string, requires ...string) pypitest.File {
	return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: ver, RequiresDist: requires, RequiresPython: ">=3.8"}}}
}

// servePipIndex writes and serves an index: flask needs werkzeug (and
// importlib-metadata only before 3.10, which the index lacks); platpkg
// 1.1 has only a musllinux wheel, 1.0 a manylinux one.
func servePipIndex(t *testing.T) (string, map[string]string) {
	t.Helper()
	projects := []pypitest.Project{
		{Name: "Flask", Files: []pypitest.File{wheel("Flask", "3.0.0", "Werkzeug>=3.0", `importlib-metadata>=3.6; python_version < "3.10"`), wheel("Flask", "2.0.0", "Werkzeug>=2")}},
		{Name: "Werkzeug", Files: []pypitest.File{wheel("Werkzeug", "3.0.1"), wheel("Werkzeug", "2.0.0")}},
		{Name: "numpy", Files: []pypitest.File{wheel("numpy", "2.0.0"), wheel("numpy", "1.26.4")}},
		{Name: "platpkg", Files: []pypitest.File{
			{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "platpkg", Version: "1.1"}, Tag: "cp312-cp312-musllinux_1_2_x86_64"}},
			{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "platpkg", Version: "1.0"}, Tag: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"}},
		}},
	}
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir, projects...); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, p := range projects {
		for _, f := range p.Files {
			b, err := f.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			sums[f.Filename()] = pypitest.Sum(b)
		}
	}
	return pypitest.Serve(t, dir), sums
}

// countingIndex is a real index client that counts the project pages asked.
type countingIndex struct {
	*index.Client
	pages *atomic.Int64
}

func (c countingIndex) Project(ctx context.Context, name string) (*index.Project, error) {
	c.pages.Add(1)
	return c.Client.Project(ctx, name)
}

func (c countingIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	return c.Client.Metadata(ctx, f)
}

// pipRequest reads a conda file and makes its request.
func pipRequest(t *testing.T, channel, conda string, pages *atomic.Int64) (*Request, *envfile.EnvFile) {
	t.Helper()
	ef, err := envfile.Parse("conda.yml", []byte(conda))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := ParsePip(ef, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{
		Specs: envfile.Values(ef.Dependencies), Channels: []string{channel}, Platforms: []string{"linux-64"}, Gateway: gateway(t),
		Pip: &Pip{File: pf, SpecOrigins: SpecOrigins(ef), Index: func(urls []string) (pipresolve.Index, error) {
			return countingIndex{&index.Client{Indexes: urls}, pages}, nil
		}},
	}, ef
}

func pipLocked(l *lock.Lock, plat string) map[string]*lock.Package {
	out := map[string]*lock.Package{}
	for _, p := range l.Packages {
		if p.Platform == plat && p.Manager == lock.Pip {
			out[p.Name] = p
		}
	}
	return out
}

func TestResolvePip(t *testing.T) {
	channel := pipChannel(t)
	idx, sums := servePipIndex(t)
	conda := fmt.Sprintf(`channels: [%s]
dependencies:
  - python=3.12
  - numpy
  - pip:
    - --index-url %s
    - flask
    - numpy>=1.20
    - platpkg
`, channel, idx)
	var pages atomic.Int64
	req, _ := pipRequest(t, channel, conda, &pages)
	l, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	got := pipLocked(l, "linux-64")
	want := map[string]string{"Flask": "Flask-3.0.0", "Werkzeug": "Werkzeug-3.0.1", "platpkg": "platpkg-1.0"}
	if len(got) != len(want) {
		t.Fatalf("pip packages %v, want %v (numpy is conda's)", keys(got), want)
	}
	for n, nv := range want {
		p := got[n]
		if p == nil || p.Name+"-"+p.Version != nv {
			t.Fatalf("%s: %+v, want %s", n, p, nv)
		}
		fn := p.URL[strings.LastIndexByte(p.URL, '/')+1:]
		if !strings.HasPrefix(p.URL, idx) || p.SHA256 != sums[fn] || p.SHA256 == "" {
			t.Errorf("%s: url %s sha256 %s, want under %s with %s", n, p.URL, p.SHA256, idx, sums[fn])
		}
	}
	if _, ok := got["Flask"].Dependencies["werkzeug"]; !ok || len(got["Flask"].Dependencies) != 1 {
		t.Errorf("flask's dependencies %v", got["Flask"].Dependencies)
	}
	if err := req.CheckLock(l, "linux-64"); err != nil {
		t.Errorf("CheckLock of the lock just made: %v", err)
	}

	// The same request with the lock reuses it: no index is asked.
	before := pages.Load()
	req.Previous = l
	again, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	if n := pages.Load() - before; n != 0 {
		t.Errorf("reusing the lock asked the index %d times", n)
	}
	if g := pipLocked(again, "linux-64"); len(g) != 3 || g["Flask"].SHA256 != got["Flask"].SHA256 {
		t.Errorf("reused pip packages %v", keys(g))
	}

	// A pip line more changes the request: resolved again, the previous
	// versions preferred.
	req2, _ := pipRequest(t, channel, strings.Replace(conda, "    - platpkg\n", "    - platpkg\n    - werkzeug>=2\n", 1), &pages)
	req2.Previous = l
	l2, err := Resolve(context.Background(), *req2)
	if err != nil {
		t.Fatal(err)
	}
	if g := pipLocked(l2, "linux-64"); g["Werkzeug"] == nil || g["Werkzeug"].Version != "3.0.1" {
		t.Errorf("after a new pip line: %v", keys(g))
	}
	if pages.Load() == before {
		t.Error("a changed pip part was not resolved again")
	}
}

func keys(m map[string]*lock.Package) []string {
	var out []string
	for k, p := range m {
		out = append(out, k+"-"+p.Version)
	}
	return out
}

// pipFailure resolves conda and returns the error placed in the file.
func pipFailure(t *testing.T, channel, conda string) (*diag.Error, error) {
	t.Helper()
	var pages atomic.Int64
	req, ef := pipRequest(t, channel, conda, &pages)
	_, err := Resolve(context.Background(), *req)
	if err == nil {
		t.Fatal("resolved")
	}
	d := InEnvFile(err, ef)
	if len(d) != 1 {
		t.Fatalf("not placed in the file: %v", err)
	}
	return d[0], err
}

func TestResolvePipFailures(t *testing.T) {
	channel := pipChannel(t)
	idx, _ := servePipIndex(t)
	head := fmt.Sprintf("channels: [%s]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url %s\n", channel, idx)

	// conda's numpy does not satisfy the pip line: both lines named, and
	// the hint.
	d, err := pipFailure(t, channel, head+"    - flask\n    - numpy>=2\n")
	var ce *pipresolve.ConflictError
	if !errors.As(err, &ce) || d.Line != 8 || d.Column != 7 || d.Field != "dependencies.pip" ||
		!strings.Contains(d.Msg, "numpy>=2") || !strings.Contains(d.Msg, "conda.yml:4") || !strings.Contains(d.Msg, "pin it in the conda part") {
		t.Errorf("conflict: %v (%v)", d, err)
	}

	// Unsatisfiable: the explanation, at the line.
	d, err = pipFailure(t, channel, head+"    - flask>=3\n    - werkzeug<2\n")
	var ue *pipresolve.UnsatError
	if !errors.As(err, &ue) || d.Line != 7 || !strings.Contains(d.Msg, "werkzeug") || !strings.Contains(d.Msg, "linux-64") {
		t.Errorf("unsatisfiable: %v (%v)", d, err)
	}

	// No python in the conda part.
	d, _ = pipFailure(t, channel, fmt.Sprintf("channels: [%s]\ndependencies:\n  - zlib\n  - pip:\n    - --index-url %s\n    - flask\n", channel, idx))
	if d.Line != 6 || !strings.Contains(d.Msg, "need a python") {
		t.Errorf("no python: %v", d)
	}

	// An index that does not answer is named at its line.
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusForbidden)
	}))
	defer dead.Close()
	d, err = pipFailure(t, channel, head+"    - --extra-index-url "+dead.URL+"/simple\n    - flask\n")
	if d.Line != 7 || !strings.Contains(d.Msg, dead.URL) {
		t.Errorf("dead index: %v (%v)", d, err)
	}

	// A --hash the chosen file does not have is refused at its line.
	d, _ = pipFailure(t, channel, head+"    - flask --hash=sha256:"+strings.Repeat("0", 64)+"\n")
	if d.Line != 7 || !strings.Contains(d.Msg, "not one of the --hash values") {
		t.Errorf("--hash: %v", d)
	}
	d, _ = pipFailure(t, channel, head+"    - flask --hash=sha512:"+strings.Repeat("0", 128)+"\n")
	if d.Line != 7 || !strings.Contains(d.Msg, "sha256:... values only") {
		t.Errorf("--hash=sha512: %v", d)
	}

	// A direct URL that is a file URL is refused at its line.
	d, _ = pipFailure(t, channel, head+"    - flask\n    - platpkg @ file:///srv/platpkg-1.0-py3-none-any.whl\n")
	if d.Line != 8 || !strings.Contains(d.Msg, "http(s) URL") {
		t.Errorf("file URL: %v", d)
	}

	// A wheel from a path is refused at its line.
	d, _ = pipFailure(t, channel, head+"    - ./dist/foo-1.0-py3-none-any.whl\n")
	if d.Line != 7 || !strings.Contains(d.Msg, "not supported here") {
		t.Errorf("path: %v", d)
	}
}

func TestCheckLockPip(t *testing.T) {
	channel := pipChannel(t)
	idx, _ := servePipIndex(t)
	conda := fmt.Sprintf("channels: [%s]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url %s\n    - flask==3.0.0\n", channel, idx)
	var pages atomic.Int64
	req, _ := pipRequest(t, channel, conda, &pages)
	l, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckLock(l, "linux-64"); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(p map[string]*lock.Package) []*lock.Package) *lock.Lock {
		c := &lock.Lock{Platforms: l.Platforms, ContentHash: l.ContentHash, Channels: l.Channels}
		pip := map[string]*lock.Package{}
		for _, p := range l.Packages {
			cp := *p
			if p.Manager == lock.Pip {
				pip[p.Name] = &cp
				continue
			}
			c.Packages = append(c.Packages, &cp)
		}
		c.Packages = append(c.Packages, f(pip)...)
		return c
	}
	all := func(m map[string]*lock.Package) []*lock.Package {
		var out []*lock.Package
		for _, p := range m {
			out = append(out, p)
		}
		return out
	}
	for _, c := range []struct {
		name string
		edit func(map[string]*lock.Package) []*lock.Package
		rule Rule
		msg  string
	}{
		{"elsewhere", func(m map[string]*lock.Package) []*lock.Package {
			m["Flask"].URL = "https://evil.example/flask-3.0.0-py3-none-any.whl"
			return all(m)
		}, RuleIndex, "on none of the request's indexes"},
		{"no sha256", func(m map[string]*lock.Package) []*lock.Package { m["Werkzeug"].SHA256 = ""; return all(m) }, RuleRecord, "without a sha256"},
		{"flask missing", func(m map[string]*lock.Package) []*lock.Package { delete(m, "Flask"); return all(m) }, RuleSpec, "flask==3.0.0 (conda.yml:7): no locked pip package"},
		{"werkzeug missing", func(m map[string]*lock.Package) []*lock.Package { delete(m, "Werkzeug"); return all(m) }, RuleDepends, "no locked pip or conda package werkzeug"},
		{"another flask", func(m map[string]*lock.Package) []*lock.Package { m["Flask"].Version = "2.0.0"; return all(m) }, RuleRecord, "not version 2.0.0"},
	} {
		var se *StaleError
		err := req.CheckLock(edit(c.edit), "linux-64")
		if !errors.As(err, &se) || !hasProblem(se, c.rule, c.msg) {
			t.Errorf("%s: %v, want %s: %s", c.name, err, c.rule, c.msg)
		}
	}
}

func hasProblem(se *StaleError, rule Rule, msg string) bool {
	for _, p := range se.Problems {
		if p.Rule == rule && strings.Contains(p.String(), msg) {
			return true
		}
	}
	return false
}

func TestNewPipTarget(t *testing.T) {
	py := func(v string) *record.RepoDataRecord {
		return &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "python", Version: version.MustParse(v), Build: "h0"}}
	}
	abi := &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "python_abi", Version: version.MustParse("3.13"), Build: "7_cp313t"}}
	for _, c := range []struct {
		platform  string
		recs      []*record.RepoDataRecord
		overrides map[string]string
		want      string
	}{
		{"linux-64", []*record.RepoDataRecord{py("3.12.0")}, nil, "3.12 3.12.0 linux Linux x86_64 posix | {[3 12] false linux x86_64 [2 17] [0 0] [0 0]}"},
		{"linux-aarch64", []*record.RepoDataRecord{py("3.11.9")}, map[string]string{"__glibc": "2.28"}, "3.11 3.11.9 linux Linux aarch64 posix | {[3 11] false linux aarch64 [2 28] [0 0] [0 0]}"},
		{"linux-64", []*record.RepoDataRecord{py("3.13.1"), abi}, nil, "3.13 3.13.1 linux Linux x86_64 posix | {[3 13] true linux x86_64 [2 17] [0 0] [0 0]}"},
		{"osx-arm64", []*record.RepoDataRecord{py("3.12.3")}, nil, "3.12 3.12.3 darwin Darwin arm64 posix | {[3 12] false macos arm64 [0 0] [0 0] [11 0]}"},
		{"win-64", []*record.RepoDataRecord{py("3.10.14")}, nil, "3.10 3.10.14 win32 Windows AMD64 nt | {[3 10] false windows amd64 [0 0] [0 0] [0 0]}"},
	} {
		tg, err := NewPipTarget(c.platform, c.recs, c.overrides)
		if err != nil {
			t.Fatalf("%s: %v", c.platform, err)
		}
		e := tg.Env
		got := fmt.Sprintf("%s %s %s %s %s %s | %v", e.PythonVersion, e.PythonFullVersion, e.SysPlatform, e.PlatformSystem, e.PlatformMachine, e.OSName, tg.Tags)
		if got != c.want || e.ImplementationName != "cpython" || e.PlatformPythonImplementation != "CPython" || tg.Python.String() != e.PythonFullVersion {
			t.Errorf("%s: %s\n want %s", c.platform, got, c.want)
		}
		if _, err := tg.Tags.Tags(); err != nil {
			t.Errorf("%s: tags: %v", c.platform, err)
		}
	}
	if _, err := NewPipTarget("linux-64", nil, nil); !errors.Is(err, errNoPython) {
		t.Errorf("no python: %v", err)
	}
}

func TestPipHash(t *testing.T) {
	h := func(lines ...string) string {
		var ls []string
		for _, l := range lines {
			ls = append(ls, "    - "+l)
		}
		ef, err := envfile.Parse("conda.yml", []byte("channels: [conda-forge]\ndependencies:\n  - python\n  - pip:\n"+strings.Join(ls, "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := ParsePip(ef, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := Request{Specs: []string{"python"}, Channels: []string{"conda-forge"}, Pip: &Pip{File: pf}}
		s, err := r.Hash("linux-64")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := h("flask", "--extra-index-url https://pkgs.example/simple")
	conda := Request{Specs: []string{"python"}, Channels: []string{"conda-forge"}}
	plain, _ := conda.Hash("linux-64")
	if base == plain {
		t.Error("pip lines do not change the request's hash")
	}
	if h("flask", "--extra-index-url https://u:tok@pkgs.example/simple") != base {
		t.Error("credentials change the request's hash")
	}
	if h("flask", "--extra-index-url=https://pkgs.example/simple") != base || h("Flask ", "--extra-index-url https://pkgs.example/simple") != base {
		t.Error("spellings of the same pip part hash differently")
	}
	for _, other := range [][]string{
		{"flask>=3", "--extra-index-url https://pkgs.example/simple"},
		{"flask", "--extra-index-url https://other.example/simple"},
		{"flask", "--extra-index-url https://pkgs.example/simple", "--pre"},
		{"flask", "--extra-index-url https://pkgs.example/simple", `"--only-binary=:all:"`},
	} {
		if h(other...) == base {
			t.Errorf("%q hashes as the base", other)
		}
	}
}

// A direct URL without #sha256 is hashed by reading the file through the
// index's HTTP client; its credentials stay out of the lock.
func TestResolvePipDirectURL(t *testing.T) {
	channel := pipChannel(t)
	idx, sums := servePipIndex(t)
	fn := "werkzeug-2.0.0-py3-none-any.whl"
	direct := strings.Replace(idx, "http://", "http://user:s3cret@", 1) + pypitest.FilesDir + "/" + fn
	conda := fmt.Sprintf("channels: [%s]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url %s\n    - werkzeug @ %s\n", channel, idx, direct)
	var pages atomic.Int64
	req, _ := pipRequest(t, channel, conda, &pages)
	l, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	w := pipLocked(l, "linux-64")["werkzeug"]
	if w == nil {
		w = pipLocked(l, "linux-64")["Werkzeug"]
	}
	if w == nil || w.Version != "2.0.0" || w.SHA256 != sums[fn] || strings.Contains(w.URL, "s3cret") || !strings.HasSuffix(w.URL, "/"+fn) {
		t.Fatalf("direct: %+v (want sha256 %s)", w, sums[fn])
	}
	if err := req.CheckLock(l, "linux-64"); err != nil {
		t.Errorf("CheckLock: %v", err)
	}
	// Another file at that URL is stale, said without the credentials.
	w.URL = strings.Replace(w.URL, fn, "werkzeug-3.0.1-py3-none-any.whl", 1)
	w.Version = "3.0.1"
	err = req.CheckLock(l, "linux-64")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "the locked Werkzeug is from") {
		t.Errorf("CheckLock of another file: %v", err)
	}
}

// Each platform gets the wheel of its own architecture.
func TestResolvePipPerPlatform(t *testing.T) {
	dir := t.TempDir()
	if err := condatest.WriteChannel(dir,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0", Subdir: "linux-aarch64"},
	); err != nil {
		t.Fatal(err)
	}
	plat := func(tag string) pypitest.File {
		return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "platpkg", Version: "1.0"}, Tag: tag}}
	}
	ix := t.TempDir()
	if err := pypitest.WriteIndex(ix, pypitest.Project{Name: "platpkg", Files: []pypitest.File{
		plat("cp312-cp312-manylinux_2_17_x86_64"), plat("cp312-cp312-manylinux_2_28_aarch64"), plat("py3-none-any"),
	}}); err != nil {
		t.Fatal(err)
	}
	url := pypitest.Serve(t, ix)
	conda := fmt.Sprintf("channels: [%s]\ndependencies:\n  - python\n  - pip:\n    - -i %s\n    - platpkg\n", dir, url)
	ef, err := envfile.Parse("conda.yml", []byte(conda))
	if err != nil {
		t.Fatal(err)
	}
	pf, err := ParsePip(ef, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Specs: []string{"python"}, Channels: []string{dir}, Platforms: []string{"linux-64", "linux-aarch64"}, Gateway: gateway(t),
		Virtual: map[string]map[string]string{"linux-aarch64": {"__glibc": "2.28"}}, Pip: &Pip{File: pf}}
	l, err := Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"linux-64": "manylinux_2_17_x86_64", "linux-aarch64": "manylinux_2_28_aarch64"} {
		got := pipLocked(l, p)["platpkg"]
		if got == nil || !strings.Contains(got.URL, want) {
			t.Errorf("%s: %+v, want the %s wheel", p, got, want)
		}
		if err := req.CheckLock(l, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	// Without a glibc 2.28 target, aarch64 takes the pure wheel.
	req.Virtual = nil
	l, err = Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := pipLocked(l, "linux-aarch64")["platpkg"]; got == nil || !strings.Contains(got.URL, "py3-none-any") {
		t.Errorf("aarch64 with glibc 2.17: %+v", got)
	}
}

// conda packages whose Python distribution has another name on PyPI
// satisfy pip lines of that name: conda's pytorch is pip's torch.
func TestPipInstalledPyPINames(t *testing.T) {
	rec := func(name, ver string, depends ...string) *record.RepoDataRecord {
		return &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: "py312_0", Depends: depends}}
	}
	sol := []*record.RepoDataRecord{
		rec("python", "3.12.0"), rec("pytorch", "2.3.0", "python >=3.12"), rec("numpy", "1.26.4", "python"),
		rec("libzlib", "1.3.1"), rec("setuptools", "69.0"), rec("_openmp_mutex", "4.5", "python"),
	}
	got := PipInstalled(sol, []string{"pytorch", "numpy"}, []string{"conda.yml:4", "conda.yml:5"})
	var names []string
	for n, i := range got {
		names = append(names, n+"="+i.Version.String())
	}
	slices.Sort(names)
	if want := []string{"numpy=1.26.4", "setuptools=69.0", "torch=2.3.0"}; !slices.Equal(names, want) {
		t.Errorf("installed %v, want %v", names, want)
	}
	if o := got["torch"].Origin; o != "pytorch-2.3.0-py312_0 (conda, conda.yml:4)" {
		t.Errorf("torch's origin %q", o)
	}
}
