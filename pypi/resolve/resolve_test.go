package resolve

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// whl is a py3-none-any wheel of name==ver depending on deps.
func whl(name, ver string, deps ...string) pypitest.File {
	return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: ver, RequiresDist: deps}}}
}

func sdist(name, ver string, deps ...string) pypitest.File {
	return pypitest.File{Sdist: &pypitest.Sdist{Meta: pypitest.Meta{Name: name, Version: ver, RequiresDist: deps}}}
}

func proj(name string, files ...pypitest.File) pypitest.Project {
	return pypitest.Project{Name: name, Files: files}
}

// countingIndex counts the requests that reach an index.
type countingIndex struct {
	Index
	mu       sync.Mutex
	projects map[string]int
	metas    map[string]int
}

func (c *countingIndex) Project(ctx context.Context, name string) (*index.Project, error) {
	c.mu.Lock()
	c.projects[name]++
	c.mu.Unlock()
	return c.Index.Project(ctx, name)
}

func (c *countingIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	c.mu.Lock()
	c.metas[f.Filename]++
	c.mu.Unlock()
	return c.Index.Metadata(ctx, f)
}

func newIndex(t testing.TB, projects ...pypitest.Project) (*countingIndex, string) {
	t.Helper()
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir, projects...); err != nil {
		t.Fatal(err)
	}
	return &countingIndex{Index: &index.Client{Indexes: []string{dir}}, projects: map[string]int{}, metas: map[string]int{}}, dir
}

func request(t testing.TB, ix Index, reqs ...string) Request {
	t.Helper()
	env, compat := linux312(t)
	r := Request{Python: version.MustParse("3.12.0"), Env: env, Tags: compat, Index: ix}
	for i, s := range reqs {
		pr, err := requirement.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		r.Requirements = append(r.Requirements, Requirement{Requirement: pr, Origin: "conda.yml:" + string(rune('1'+i))})
	}
	return r
}

func resolved(t *testing.T, req Request) map[string]Package {
	t.Helper()
	res, err := Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Package{}
	for _, p := range res.Packages {
		out[p.Name] = p
	}
	return out
}

func versions(t *testing.T, req Request) string {
	t.Helper()
	res, err := Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range res.Packages {
		out = append(out, p.Name+"=="+p.Version.String())
	}
	return strings.Join(out, " ")
}

func unsat(t *testing.T, req Request) string {
	t.Helper()
	res, err := Resolve(context.Background(), req)
	var ue *UnsatError
	if !errors.As(err, &ue) {
		t.Fatalf("want *UnsatError, got %v, %+v", err, res)
	}
	return ue.Error()
}

func wantContains(t *testing.T, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("%q is not in:\n%s", p, text)
		}
	}
}

func TestNewestThatFits(t *testing.T) {
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0"), whl("a", "1.5", "b<2"), whl("a", "2.0", "b>=3")),
		proj("b", whl("b", "1.0"), whl("b", "1.9"), whl("b", "2.5")))
	if got, want := versions(t, request(t, ix, "a")), "a==2.0 b==2.5"; got == want {
		t.Fatalf("b>=3 does not exist, yet %s", got)
	}
	if got, want := versions(t, request(t, ix, "a")), "a==1.5 b==1.9"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Requirements of the same name intersect.
	if got, want := versions(t, request(t, ix, "b>=1", "b<2", "b!=1.9")), "b==1.0"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Requires names its dependencies in the result.
	if got := resolved(t, request(t, ix, "a"))["a"]; !got.Requested || strings.Join(got.Requires, ",") != "b" {
		t.Errorf("a: %+v", got)
	}
	// Each page and each metadata file is read once per resolution.
	ix.projects, ix.metas = map[string]int{}, map[string]int{}
	versions(t, request(t, ix, "a", "b>=1"))
	for n, c := range ix.projects {
		if c != 1 {
			t.Errorf("project %s read %d times", n, c)
		}
	}
	for n, c := range ix.metas {
		if c != 1 {
			t.Errorf("metadata of %s read %d times", n, c)
		}
	}
}

func TestPrereleases(t *testing.T) {
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0"), whl("a", "2.0b1")),
		proj("onlypre", whl("onlypre", "1.0a1"), whl("onlypre", "1.0a2")),
		proj("c", whl("c", "1.0", "a>=2.0b1")))
	cases := []struct {
		reqs []string
		pre  bool
		want string
	}{
		{[]string{"a"}, false, "a==1.0"},
		{[]string{"a"}, true, "a==2.0b1"},
		{[]string{"a>=2.0b1"}, false, "a==2.0b1"}, // the specifier names a pre-release
		{[]string{"a>=1.5"}, false, "a==2.0b1"},   // no final release fits
		{[]string{"onlypre"}, false, "onlypre==1.0a2"},
		{[]string{"c"}, false, "a==2.0b1 c==1.0"},
	}
	for _, c := range cases {
		req := request(t, ix, c.reqs...)
		req.Pre = c.pre
		if got := versions(t, req); got != c.want {
			t.Errorf("%v pre=%v: got %s, want %s", c.reqs, c.pre, got, c.want)
		}
	}
}

func TestYanked(t *testing.T) {
	y := func(f pypitest.File) pypitest.File { f.Yanked, f.YankedReason = true, "broken build"; return f }
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0"), y(whl("a", "2.0"))),
		proj("b", y(whl("b", "1.0"))))
	if got := versions(t, request(t, ix, "a")); got != "a==1.0" {
		t.Errorf("got %s", got)
	}
	if got := versions(t, request(t, ix, "a==2.0")); got != "a==2.0" {
		t.Errorf("a pinned: got %s", got)
	}
	if got := versions(t, request(t, ix, "b===1.0")); got != "b==1.0" {
		t.Errorf("b pinned: got %s", got)
	}
	wantContains(t, unsat(t, request(t, ix, "b")), `b==1.0 is yanked ("broken build")`, "the request requires b (conda.yml:1)")
	// A version a previous lock chose stays usable once yanked.
	req := request(t, ix, "a")
	req.Preferred = map[string]version.Version{"a": version.MustParse("2.0")}
	if got := versions(t, req); got != "a==2.0" {
		t.Errorf("locked a 2.0: got %s", got)
	}
	wantContains(t, unsat(t, request(t, ix, "a>1")), "a==2.0 is yanked")
}

func TestWheelsAndSdists(t *testing.T) {
	plat := func(name, ver, tag string) pypitest.File {
		return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: ver}, Tag: tag}}
	}
	ix, _ := newIndex(t,
		proj("a", sdist("a", "1.0"), whl("a", "1.0"), plat("a", "1.0", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"),
			plat("a", "1.0", "cp312-cp312-win_amd64")),
		proj("b", sdist("b", "1.0"), plat("b", "1.0", "cp312-cp312-macosx_11_0_arm64"), plat("b", "0.9", "cp312-abi3-manylinux_2_28_x86_64")),
		proj("c", sdist("c", "1.0")))
	got := resolved(t, request(t, ix, "a"))["a"]
	if got.Sdist || got.File.Filename != "a-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" || got.File.SHA256() == "" {
		t.Errorf("a: the best wheel is the platform one, got %+v", got.File)
	}
	if got := resolved(t, request(t, ix, "b"))["b"]; !got.Sdist || got.Version.String() != "1.0" {
		t.Errorf("b: no wheel for the platform: the newest version's sdist, got %+v", got)
	}
	req := request(t, ix, "b")
	req.OnlyBinary = Selector{All: true}
	if got := resolved(t, req)["b"]; got.Sdist || got.Version.String() != "0.9" {
		t.Errorf("b --only-binary :all:: the older wheel, got %+v", got)
	}
	req = request(t, ix, "a", "b")
	req.NoBinary = Selector{Names: map[string]bool{"a": true}}
	if got := resolved(t, req); !got["a"].Sdist || got["a"].File.Filename != "a-1.0.tar.gz" || !got["b"].Sdist {
		t.Errorf("--no-binary a: %+v", got)
	}
	req = request(t, ix, "c")
	req.OnlyBinary = Selector{Names: map[string]bool{"c": true}}
	wantContains(t, unsat(t, req), "c==1.0 has no wheel, --only-binary refuses its source distribution")
}

func TestRequiresPython(t *testing.T) {
	rp := func(f pypitest.File, spec, attr string) pypitest.File {
		f.Wheel.RequiresPython, f.RequiresPython = spec, attr
		return f
	}
	ix, _ := newIndex(t,
		// The index gives a's Requires-Python; b's is only in its metadata.
		proj("a", whl("a", "1.0"), rp(whl("a", "2.0"), ">=3.13", "")),
		proj("b", whl("b", "1.0"), rp(whl("b", "2.0"), ">=3.13", "-")),
		proj("c", rp(whl("c", "1.0"), "<3.10", "")))
	if got := versions(t, request(t, ix, "a", "b")); got != "a==1.0 b==1.0" {
		t.Errorf("got %s", got)
	}
	if ix.metas["a-2.0-py3-none-any.whl"] != 0 {
		t.Error("a 2.0's metadata was read though the index rules it out")
	}
	wantContains(t, unsat(t, request(t, ix, "b>=2")), "b==2.0 requires Python >=3.13 (the target has 3.12.0)")
	wantContains(t, unsat(t, request(t, ix, "c")), "c==1.0 requires Python <3.10 (the target has 3.12.0)")
}

func TestExtrasAndMarkers(t *testing.T) {
	a := pypitest.Meta{Name: "A", Version: "1.0", RequiresDist: []string{"b; sys_platform == 'linux'", "w; sys_platform == 'win32'"}}
	a.Extras(map[string][]string{"fast": {"c>=2"}, "all": {"A[fast]", "d"}})
	ix, _ := newIndex(t,
		proj("A", pypitest.File{Wheel: &pypitest.Wheel{Meta: a}}),
		proj("b", whl("b", "1.0")), proj("c", whl("c", "1.0"), whl("c", "2.0")), proj("d", whl("d", "1.0")), proj("w", whl("w", "1.0")))
	if got := versions(t, request(t, ix, "a")); got != "A==1.0 b==1.0" {
		t.Errorf("no extra: got %s", got)
	}
	// Nor the solver nor its read-ahead asks for what a marker or an extra
	// not asked for leaves out.
	if ix.projects["w"] != 0 || ix.projects["c"] != 0 || ix.projects["d"] != 0 {
		t.Errorf("pages read: %v", ix.projects)
	}
	if got := versions(t, request(t, ix, "a[fast]")); got != "A==1.0 b==1.0 c==2.0" {
		t.Errorf("[fast]: got %s", got)
	}
	got := resolved(t, request(t, ix, "a[all]"))
	if len(got) != 4 || strings.Join(got["A"].Extras, ",") != "all,fast" || strings.Join(got["A"].Requires, ",") != "b,c,d" {
		t.Errorf("[all]: %+v", got)
	}
	res, err := Resolve(context.Background(), request(t, ix, "a[nope]"))
	if err != nil || len(res.Packages) != 2 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `extra "nope"`) {
		t.Errorf("a missing extra is ignored with a warning: %+v %v", res, err)
	}
	// A root requirement whose marker is false for the target is dropped.
	if got := versions(t, request(t, ix, "w; sys_platform == 'win32'", "d")); got != "d==1.0" {
		t.Errorf("got %s", got)
	}
	wantContains(t, unsat(t, request(t, ix, "a[fast]", "c<2")), "a[fast]==1.0 depends on c>=2", "the request requires c<2 (conda.yml:2)")
}

func TestInstalled(t *testing.T) {
	ix, _ := newIndex(t,
		proj("numpy", whl("numpy", "1.26.4"), whl("numpy", "2.1.0")),
		proj("pandas", whl("pandas", "2.2.0", "numpy>=1.22"), whl("pandas", "3.0.0", "numpy>=2")),
		proj("old", whl("old", "1.0", "numpy<1.20")))
	req := request(t, ix, "pandas", "numpy")
	req.Installed = map[string]Installed{"NumPy": {Name: "numpy", Version: version.MustParse("1.26.4"), Origin: "numpy-1.26.4-py312h1234_0 (conda)"}}
	res, err := Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 1 || res.Packages[0].Version.String() != "2.2.0" || len(res.Satisfied) != 1 || res.Satisfied[0].Name != "numpy" ||
		strings.Join(res.Packages[0].Requires, ",") != "numpy" {
		t.Errorf("%+v", res)
	}
	if ix.projects["numpy"] != 0 {
		t.Error("the index was asked for an installed project")
	}
	req.Requirements = request(t, ix, "numpy>=2").Requirements
	var ce *ConflictError
	if _, err := Resolve(context.Background(), req); !errors.As(err, &ce) {
		t.Fatalf("want *ConflictError, got %v", err)
	}
	wantContains(t, ce.Error(), "numpy>=2 (conda.yml:1)", "numpy-1.26.4-py312h1234_0 (conda)", "pin it in the conda part, or drop it")
	req.Requirements = request(t, ix, "old").Requirements
	wantContains(t, unsat(t, req), "old==1.0 depends on numpy<1.20, which is unavailable (numpy 1.26.4 is installed by numpy-1.26.4-py312h1234_0 (conda))")
}

func TestConstraintsAndPreferred(t *testing.T) {
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0", "b"), whl("a", "2.0", "b")),
		proj("b", whl("b", "1.0"), whl("b", "2.0")),
		proj("unused", whl("unused", "1.0")))
	req := request(t, ix, "a")
	for _, c := range []string{"b<2", "unused==1.0", "a; sys_platform == 'win32'"} {
		req.Constraints = append(req.Constraints, Requirement{Requirement: requirement.MustParse(c), Origin: "c.txt"})
	}
	if got := versions(t, req); got != "a==2.0 b==1.0" {
		t.Errorf("constraints: got %s", got)
	}
	req.Preferred = map[string]version.Version{"a": version.MustParse("1.0"), "b": version.MustParse("3.0")}
	if got := versions(t, req); got != "a==1.0 b==1.0" {
		t.Errorf("preferred: got %s", got)
	}
	req = request(t, ix, "b>=2")
	req.Constraints = []Requirement{{Requirement: requirement.MustParse("b<2"), Origin: "c.txt:3"}}
	wantContains(t, unsat(t, req), "the constraint b<2 (c.txt:3) excludes b==2.0")
}

func TestDirectURL(t *testing.T) {
	ix, dir := newIndex(t, proj("b", whl("b", "1.0")))
	w := pypitest.Wheel{Meta: pypitest.Meta{Name: "Direct", Version: "0.3", RequiresDist: []string{"b"}}}
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, w.Filename()), data, 0o644); err != nil {
		t.Fatal(err)
	}
	base := pypitest.Serve(t, dir)
	local := "file://" + filepath.Join(dir, w.Filename())
	for _, frag := range []string{"#sha256=" + pypitest.Sum(data), ""} {
		u := base + w.Filename() + frag
		got := resolved(t, request(t, ix, "direct @ "+u))
		d := got["Direct"]
		if d.DirectURL != u || d.File.SHA256() != pypitest.Sum(data) || d.Version.String() != "0.3" || !d.Requested || got["b"].Name != "b" {
			t.Errorf("%s: %+v", u, got)
		}
	}
	wantContains(t, unsat(t, request(t, ix, "direct @ "+base+w.Filename(), "direct>=1")), "direct>=1")
	if _, err := Resolve(context.Background(), request(t, ix, "direct @ "+base+w.Filename(), "direct @ "+local)); err == nil ||
		!strings.Contains(err.Error(), "two direct URLs for direct") || !strings.Contains(err.Error(), "conda.yml:2") {
		t.Errorf("two URLs: %v", err)
	}
	// Whatever the order, the URL is the project.
	if got := resolved(t, request(t, ix, "direct<1", "direct @ "+base+w.Filename()))["Direct"]; got.DirectURL == "" {
		t.Errorf("direct<1 first: %+v", got)
	}
	// Credentials fetch the file but stay out of the result.
	secret := strings.Replace(base, "http://", "http://user:s3cret@", 1) + w.Filename()
	if got := resolved(t, request(t, ix, "direct @ "+secret))["Direct"]; got.DirectURL != base+w.Filename() || got.File.URL != base+w.Filename() {
		t.Errorf("%s: %+v", secret, got)
	}
	if text := unsat(t, request(t, ix, "direct @ "+secret, "direct>=1")); strings.Contains(text, "s3cret") {
		t.Errorf("the explanation shows the credentials:\n%s", text)
	}
	// A local file, and a wrong digest.
	if got := resolved(t, request(t, ix, "direct @ "+local))["Direct"]; got.File.SHA256() != pypitest.Sum(data) {
		t.Errorf("%s: %+v", local, got)
	}
	bad := base + w.Filename() + "#sha256=" + strings.Repeat("0", 64)
	if _, err := Resolve(context.Background(), request(t, ix, "direct @ "+bad)); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("wrong digest: %v", err)
	}
}

func TestInvalidRequiresPython(t *testing.T) {
	f := whl("a", "1.0")
	f.RequiresPython = ">=3.lol"
	ix, _ := newIndex(t, proj("a", f))
	res, err := Resolve(context.Background(), request(t, ix, "a"))
	if err != nil || len(res.Packages) != 1 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], ">=3.lol") {
		t.Errorf("%+v %v", res, err)
	}
}

func TestUntrustedSdist(t *testing.T) {
	old := sdist("a", "2.0")
	old.Sdist.MetadataVersion = "2.1"
	old.Metadata = pypitest.MetadataNone
	ix, _ := newIndex(t, proj("a", whl("a", "1.0"), old))
	if got := versions(t, request(t, ix, "a")); got != "a==1.0" {
		t.Errorf("got %s", got)
	}
	wantContains(t, unsat(t, request(t, ix, "a>=2")), "a==2.0 has no wheel and its sdist does not declare its dependencies")
}

// TestBacktracking checks that a package that conflicts with an earlier
// decision again and again is decided first (packse's wrong-backtracking),
// at depth.
func TestBacktracking(t *testing.T) {
	var bs []pypitest.File
	bs = append(bs, whl("b", "1.0", "too-old"))
	for i := 0; i < 30; i++ {
		bs = append(bs, whl("b", "2."+itoa(i), "a==1.0", "c>=1"))
	}
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0"), whl("a", "2.0")),
		proj("b", bs...), proj("c", whl("c", "1.0")), proj("too-old", whl("too-old", "1.0")))
	got := resolved(t, request(t, ix, "a", "b"))
	if got["a"].Version.String() != "1.0" || got["b"].Version.String() == "1.0" {
		t.Errorf("backtracked to the ancient b: %+v", got)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestDeadline(t *testing.T) {
	ix, _ := newIndex(t, proj("a", whl("a", "1.0")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	_, err := Resolve(ctx, request(t, ix, "a"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("want the deadline, got %v", err)
	}
}

func TestRequestErrors(t *testing.T) {
	ix, _ := newIndex(t, proj("a", whl("a", "1.0")))
	req := request(t, ix, "a")
	req.Tags = nil
	if _, err := Resolve(context.Background(), req); err == nil || !strings.Contains(err.Error(), "tags") {
		t.Errorf("no tags: %v", err)
	}
	req = request(t, &countingIndex{Index: &index.Client{Indexes: []string{"http://127.0.0.1:1/"}, Attempts: 1}, projects: map[string]int{}, metas: map[string]int{}}, "a")
	if _, err := Resolve(context.Background(), req); err == nil || errors.As(err, new(*UnsatError)) {
		t.Errorf("an index that cannot be read is an error, not unsatisfiable: %v", err)
	}
}

// TestExplainRejections checks the report of a request whose only way
// through has no usable candidate: the chain, then each candidate rejected
// and why.
func TestExplainRejections(t *testing.T) {
	rp := func(f pypitest.File, spec string) pypitest.File { f.Wheel.RequiresPython = spec; return f }
	plat := func(name, ver, tag string, deps ...string) pypitest.File {
		return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: ver, RequiresDist: deps}, Tag: tag}}
	}
	ix, _ := newIndex(t,
		proj("torch", plat("torch", "2.1.0", "cp312-cp312-win_amd64"), plat("torch", "2.0.0", "cp311-cp311-manylinux_2_17_x86_64"),
			rp(whl("torch", "1.9.0"), ">=3.6,<3.10")),
		proj("app", whl("app", "1.0", "torch"), whl("app", "0.9", "torch<1")))
	got := unsat(t, request(t, ix, "app"))
	want := `the pip requirements cannot be resolved:
  Because app==0.9 depends on torch<1, which is unavailable (torch has only versions 1.9.0, 2.0.0, 2.1.0) and app==1.0 depends on torch, app requires torch.
  So, because no version of torch is usable (see below) and the request requires app (conda.yml:1), the requirements cannot be installed together.
rejected candidates:
  torch==2.1.0 has no wheel for the target platform (only cp312-cp312-win_amd64), no source distribution
  torch==2.0.0 has no wheel for the target platform (only cp311-cp311-manylinux_2_17_x86_64), no source distribution
  torch==1.9.0 requires Python >=3.6,<3.10 (the target has 3.12.0), no source distribution`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	_, err := Resolve(context.Background(), request(t, ix, "app"))
	var ue *UnsatError
	if !errors.As(err, &ue) || strings.Join(ue.Requirements, "|") != "app (conda.yml:1)" || strings.Join(ue.Packages, ",") != "app,torch" {
		t.Errorf("%+v", ue)
	}
}

// TestExplainBounded: a long chain is cut at maxExplainLines.
func TestExplainBounded(t *testing.T) {
	var projects []pypitest.Project
	for i := range 200 {
		n, next := "p"+itoa(i), "p"+itoa(i+1)
		projects = append(projects, proj(n, whl(n, "1.0", next+">=1"), whl(n, "2.0", next+">=2")))
	}
	mem, err := pypitest.NewMemIndex(projects...)
	if err != nil {
		t.Fatal(err)
	}
	text := unsat(t, request(t, mem, "p0"))
	lines := strings.Split(text, "\n")
	if len(lines) != maxExplainLines+2 || !strings.HasPrefix(lines[len(lines)-1], "... (") {
		t.Errorf("%d lines:\n%s", len(lines), text)
	}
}

// TestNoHashOnIndex checks that a chosen file the index lists without a
// sha256 gets one, computed from its bytes.
func TestNoHashOnIndex(t *testing.T) {
	f := whl("a", "1.0")
	f.NoHash = true
	ix, dir := newIndex(t, proj("a", f))
	// The countingIndex is no Hasher: the resolver reads the file itself;
	// index.Client downloads it.
	for _, ixs := range []Index{ix, &index.Client{Indexes: []string{pypitest.Serve(t, dir)}, CacheDir: filepath.Join(t.TempDir(), "cache")}} {
		got := resolved(t, request(t, ixs, "a"))["a"]
		data, err := os.ReadFile(filepath.Join(dir, pypitest.FilesDir, "a-1.0-py3-none-any.whl"))
		if err != nil {
			t.Fatal(err)
		}
		if got.File.SHA256() != pypitest.Sum(data) {
			t.Errorf("sha256 %q, want %q", got.File.SHA256(), pypitest.Sum(data))
		}
	}
}

// slowIndex answers after a pause and records how many requests were in
// flight at once.
type slowIndex struct {
	Index
	mu            sync.Mutex
	inFlight, max int
}

func (s *slowIndex) enter() func() {
	s.mu.Lock()
	s.inFlight++
	s.max = max(s.max, s.inFlight)
	s.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	return func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}
}

func (s *slowIndex) Project(ctx context.Context, name string) (*index.Project, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // after the resolution: prefetches no longer needed
	}
	defer s.enter()()
	return s.Index.Project(ctx, name)
}

func (s *slowIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer s.enter()()
	return s.Index.Metadata(ctx, f)
}

// TestConcurrency checks that pages and metadata are fetched in parallel,
// within the bound.
func TestConcurrency(t *testing.T) {
	var projects []pypitest.Project
	var deps []string
	for i := range 12 {
		n := "dep" + itoa(i)
		deps = append(deps, n)
		projects = append(projects, proj(n, whl(n, "1.0"), whl(n, "2.0")))
	}
	projects = append(projects, proj("top", whl("top", "1.0", deps...)))
	mem, err := pypitest.NewMemIndex(projects...)
	if err != nil {
		t.Fatal(err)
	}
	for _, bound := range []int{1, 4} {
		ix := &slowIndex{Index: mem}
		req := request(t, ix, "top")
		req.Concurrency = bound
		if got := len(resolved(t, req)); got != 13 {
			t.Fatalf("%d packages", got)
		}
		if ix.max > bound || bound > 1 && ix.max < 2 {
			t.Errorf("bound %d: %d requests in flight at most", bound, ix.max)
		}
	}
}

func TestTarget(t *testing.T) {
	env, compat, err := Target(tags.Target{Python: [2]int{3, 11}, OS: tags.Windows, Arch: "amd64"}, version.MustParse("3.11.4"))
	if err != nil {
		t.Fatal(err)
	}
	want := requirement.Environment{PythonVersion: "3.11", PythonFullVersion: "3.11.4", OSName: "nt", SysPlatform: "win32",
		PlatformMachine: "AMD64", PlatformSystem: "Windows", PlatformPythonImplementation: "CPython", ImplementationName: "cpython",
		ImplementationVersion: "3.11.4"}
	if !reflect.DeepEqual(env, want) || compat.Tags()[0].String() != "cp311-cp311-win_amd64" {
		t.Errorf("%+v %v", env, compat.Tags()[0])
	}
	if !requirement.MustParse("a; platform_machine == 'AMD64' and python_full_version >= '3.11.4'").Applies(env) {
		t.Error("marker")
	}
	if _, _, err := Target(tags.Target{Python: [2]int{3, 12}, OS: tags.Linux, Arch: "x86_64"}, version.MustParse("3.11.4")); err == nil {
		t.Error("3.11.4 is not 3.12")
	}
}

// TestSelfDependency: a project that depends on itself (through its own
// extras, or a bound its version meets or not).
func TestSelfDependency(t *testing.T) {
	a2 := pypitest.Meta{Name: "a", Version: "2.0", RequiresDist: []string{"a[x]>=1", "a>=1.5"}}
	a2.Extras(map[string][]string{"x": {"b"}})
	ix, _ := newIndex(t,
		proj("a", whl("a", "1.0", "a>=2"), pypitest.File{Wheel: &pypitest.Wheel{Meta: a2}}, whl("a", "3.0", "a<3")),
		proj("b", whl("b", "1.0")))
	got := resolved(t, request(t, ix, "a"))
	if got["a"].Version.String() != "2.0" || strings.Join(got["a"].Extras, ",") != "x" || got["b"].Name != "b" {
		t.Errorf("%+v", got)
	}
	wantContains(t, unsat(t, request(t, ix, "a<2")), "a==1.0 depends on a>=2")
}

// TestBacktrackingPairs: packse's wrong-backtracking-basic twenty times
// over in one request; no pair falls back to its ancient version.
func TestBacktrackingPairs(t *testing.T) {
	var projects []pypitest.Project
	var roots []string
	for i := range 20 {
		a, b := "a"+itoa(i), "b"+itoa(i)
		bs := []pypitest.File{whl(b, "1.0", "too-old")}
		for j := range 10 {
			bs = append(bs, whl(b, "2."+itoa(j), a+"==1.0"))
		}
		projects = append(projects, proj(a, whl(a, "1.0"), whl(a, "2.0")), proj(b, bs...))
		roots = append(roots, a, b)
	}
	projects = append(projects, proj("too-old", whl("too-old", "1.0")))
	mem, err := pypitest.NewMemIndex(projects...)
	if err != nil {
		t.Fatal(err)
	}
	got := resolved(t, request(t, mem, roots...))
	for i := range 20 {
		a, b := "a"+itoa(i), "b"+itoa(i)
		if got[a].Version.String() != "1.0" || got[b].Version.String() != "2.9" {
			t.Errorf("%s %s, %s %s", a, got[a].Version, b, got[b].Version)
		}
	}
	if _, ok := got["too-old"]; ok {
		t.Error("too-old is in the result")
	}
}
