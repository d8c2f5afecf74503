package frontend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

const pipConda = `channels: [http://127.0.0.1:9/ch]
dependencies:
  - python=3.10
  - pip:
    - --index-url http://127.0.0.1:9/simple
    - Requests>=2 --hash=sha256:ac52a19ae6a0a0d0bbc52c7a53e4b9aa93cbbd0fc9dfbd6b8d85f5ec0d1e8c16
    - my_pkg @ http://127.0.0.1:9/files/my_pkg-1.0-py3-none-any.whl
    - colorama; sys_platform == "win32"
`

func pipLock(name, version, fn string, deps ...string) *lock.Package {
	d := map[string]string{}
	for _, x := range deps {
		d[x] = ""
	}
	return &lock.Package{Name: name, Version: version, Manager: lock.Pip, Platform: "linux-64", Category: lock.MainCategory,
		URL: "http://127.0.0.1:9/files/" + fn, SHA256: strings.Repeat(fmt.Sprintf("%x", fn[0]%16), 64), Dependencies: d}
}

func pipTestPackages() []*lock.Package {
	return []*lock.Package{
		pipLock("urllib3", "2.0.7", "urllib3-2.0.7-py3-none-any.whl"),
		pipLock("idna", "3.4", "idna-3.4-py3-none-any.whl"),
		pipLock("requests", "2.31.0", "requests-2.31.0-py3-none-any.whl", "urllib3", "idna"),
		pipLock("my-pkg", "1.0", "my_pkg-1.0-py3-none-any.whl"),
	}
}

func pythonRecords() []*record.RepoDataRecord {
	return []*record.RepoDataRecord{{PackageRecord: record.PackageRecord{Name: "python", Version: version.MustParse("3.10.12"), Build: "0", Subdir: "linux-64"}}}
}

func parseConda(t *testing.T, data string) *envfile.EnvFile {
	t.Helper()
	ef, err := envfile.Parse("conda.yml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return ef
}

// The lock's pip packages become wheels in the order of their names: each
// fetched by its sha256 from its URL, REQUESTED for those the pip lines
// name (whatever their spelling), direct_url.json for a "name @ url" line;
// each knows the pip line that brought it in (options such as --hash
// are not part of the name).
func TestPipEnv(t *testing.T) {
	ef := parseConda(t, pipConda)
	pe, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pipTestPackages(), pythonRecords())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range pe.wheels {
		s := w.Filename
		if w.Requested {
			s += " requested"
		}
		if w.DirectURL != nil {
			s += " direct " + w.DirectURL.URL
		}
		why, line := pe.why(w)
		got = append(got, s+" | "+why+" | "+string(rune('0'+line)))
	}
	want := []string{
		"idna-3.4-py3-none-any.whl | required by Requests (conda.yml:6) → idna | 6",
		"my_pkg-1.0-py3-none-any.whl requested direct http://127.0.0.1:9/files/my_pkg-1.0-py3-none-any.whl | requested at conda.yml:7 | 7",
		"requests-2.31.0-py3-none-any.whl requested | requested at conda.yml:6 | 6",
		"urllib3-2.0.7-py3-none-any.whl | required by Requests (conda.yml:6) → urllib3 | 6",
	}
	if !slices.Equal(got, want) {
		t.Errorf("wheels:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := pe.wheels[0]; w.URL != "http://127.0.0.1:9/files/idna-3.4-py3-none-any.whl" || w.SHA256 != strings.Repeat("9", 64) || w.Name != "idna" || w.Version != "3.4" {
		t.Errorf("idna: %+v", w)
	}
}

// What the lock gives that cannot be installed, or that a pip line does
// not ask for, is refused at the pip line behind the package, naming the
// lock file and the package (a line whose marker may not apply to the
// platform, colorama's, is not checked).
func TestPipEnvErrors(t *testing.T) {
	ef := parseConda(t, pipConda)
	for _, c := range []struct {
		edit func(pkgs []*lock.Package) []*lock.Package
		recs []*record.RepoDataRecord
		line int
		want string
	}{
		{func(p []*lock.Package) []*lock.Package {
			p[0].URL = "http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz"
			return p
		}, nil, 6, "conda-lock.yml: building urllib3-2.0.7.tar.gz needs pip in the conda environment: add pip to its dependencies"},
		{func(p []*lock.Package) []*lock.Package {
			p[0].URL = "http://127.0.0.1:9/files/idna-2.0.7.tar.gz"
			return p
		}, nil, 6, "pip package urllib3: its URL names the sdist of another project (idna-2.0.7.tar.gz)"},
		{func(p []*lock.Package) []*lock.Package {
			p[0].URL = "http://127.0.0.1:9/files/urllib3.exe"
			return p
		}, nil, 6, "pip package urllib3: http://127.0.0.1:9/files/urllib3.exe is neither a wheel nor an sdist"},
		{func(p []*lock.Package) []*lock.Package { p[3].SHA256 = ""; return p }, nil, 7, "pip package my-pkg: no sha256 to fetch my_pkg-1.0-py3-none-any.whl by"},
		{func(p []*lock.Package) []*lock.Package {
			p[2].URL = "http://127.0.0.1:9/files/evil-2.31.0-py3-none-any.whl"
			return p
		}, nil, 6, "pip package requests: its URL names the wheel of another project (evil-2.31.0-py3-none-any.whl)"},
		{func(p []*lock.Package) []*lock.Package { p[1].URL = "file:///etc/idna-3.4-py3-none-any.whl"; return p }, nil, 6, "is not an http(s) URL"},
		{func(p []*lock.Package) []*lock.Package { return p }, []*record.RepoDataRecord{}, 5, "pip packages need a python among the conda packages"},
		{func(p []*lock.Package) []*lock.Package {
			p[0].URL = "http://127.0.0.1:9/files/urllib3-2.0.7-cp311-cp311-manylinux2014_x86_64.whl"
			return p
		}, nil, 6, "pip package urllib3: urllib3-2.0.7-cp311-cp311-manylinux2014_x86_64.whl is not for this environment's python 3.10.12 on linux-64"},
		{func(p []*lock.Package) []*lock.Package {
			p[0].URL = "http://127.0.0.1:9/files/urllib3-2.0.7-cp310-cp310-manylinux2014_aarch64.whl"
			return p
		}, nil, 6, "urllib3-2.0.7-cp310-cp310-manylinux2014_aarch64.whl is not for this environment's python 3.10.12 on linux-64"},
		{func(p []*lock.Package) []*lock.Package {
			return append(p, pipLock("urllib3", "1.26.0", "urllib3-1.26.0-py3-none-any.whl"))
		}, nil, 6, "pip package urllib3 is locked twice for linux-64: http://127.0.0.1:9/files/urllib3-2.0.7-py3-none-any.whl and http://127.0.0.1:9/files/urllib3-1.26.0-py3-none-any.whl"},
		{func(p []*lock.Package) []*lock.Package { p[2].Version = "1.9"; return p }, nil, 6, "conda-lock.yml: pip package requests is locked at 1.9, which >=2 does not allow"},
	} {
		recs := c.recs
		if recs == nil {
			recs = pythonRecords()
		}
		_, err := newPipEnv(ef, "conda-lock.yml", "linux-64", c.edit(pipTestPackages()), recs)
		var list diag.List
		if !errors.As(err, &list) || len(list) != 1 || list[0].Line != c.line || list[0].File != "conda.yml" || !strings.Contains(list[0].Msg, c.want) {
			t.Errorf("%v: want %q at conda.yml:%d", err, c.want, c.line)
		}
	}
}

// A failed fetch or install of a wheel names it, its URL, the sha256 it
// is fetched by and the pip line behind it, keeps BuildKit's message and
// marks the line; the fetch and install ops carry that line.
func TestWheelError(t *testing.T) {
	data := pipConda
	ef := parseConda(t, data)
	pe, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pipTestPackages(), pythonRecords())
	if err != nil {
		t.Fatal(err)
	}
	sm := llb.NewSourceMap(nil, "conda.yml", "YAML", []byte(data))
	py := &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "python", Build: "0", Subdir: "linux-64", SHA256: strings.Repeat("p", 64)},
		FileName: "python-3.10.12-0.conda", URL: "http://127.0.0.1:9/ch/linux-64/python-3.10.12-0.conda"}
	py.Version = version.MustParse("3.10.12")
	c := &envllb.Conda{Records: []*record.RepoDataRecord{py}, Wheels: pe.wheels, WheelLocations: pe.locations(sm),
		Prefix: envllb.DefaultPrefix, Subdir: "linux-64", Helper: llb.Image("frontend:test"), HelperPath: helper.Path}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	def, err := llb.Merge(layers).Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops, err := envllb.WheelOps(def, c.Wheels)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]digest.Digest{}
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		byName[def.Metadata[d].Description["llb.customname"]] = d
	}
	for _, n := range []string{"pip: fetch urllib3-2.0.7-py3-none-any.whl", "pip: install urllib3-2.0.7-py3-none-any.whl"} {
		locs := def.Source.Locations[byName[n].String()]
		if locs == nil || len(locs.Locations) != 1 || !slices.EqualFunc(locs.Locations[0].Ranges, []*pb.Range{{Start: &pb.Position{Line: 6}, End: &pb.Position{Line: 6}}},
			func(a, b *pb.Range) bool { return a.Start.Line == b.Start.Line && a.End.Line == b.End.Line }) {
			t.Errorf("%s: locations %v, want conda.yml:6", n, locs)
		}
	}
	buildkit := "failed to load cache key: digest mismatch sha256:" + strings.Repeat("u", 64) + ": sha256:" + strings.Repeat("0", 64)
	failed := func(vertex digest.Digest, msg string) error { return errdefs.WrapVertex(errors.New(msg), vertex) }
	err = withPackageSource(wheelError(failed(byName["pip: fetch urllib3-2.0.7-py3-none-any.whl"], buildkit), ops, pe), sm)
	for _, want := range []string{"conda.yml:6: pip package urllib3-2.0.7-py3-none-any.whl (required by Requests (conda.yml:6) → urllib3)",
		"fetching http://127.0.0.1:9/files/urllib3-2.0.7-py3-none-any.whl", "expected sha256:" + strings.Repeat("5", 64), buildkit} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("fetch failure %q does not say %q", err, want)
		}
	}
	if src := errdefs.Sources(err); len(src) != 1 || src[0].Ranges[0].Start.Line != 6 {
		t.Errorf("sources %v, want conda.yml line 6", src)
	}
	err = wheelError(failed(byName["pip: install my_pkg-1.0-py3-none-any.whl"], "exit code: 1"), ops, pe)
	if want := "conda.yml:7: installing pip package my_pkg-1.0-py3-none-any.whl (requested at conda.yml:7) from http://127.0.0.1:9/files/my_pkg-1.0-py3-none-any.whl failed"; !strings.Contains(err.Error(), want) {
		t.Errorf("install failure %q, want %q", err, want)
	}
	other := failed(byName["conda: link python-3.10.12-0"], "exit code: 1")
	if got := wheelError(other, ops, pe); got != other { //nolint:errorlint // the very error, not one wrapping it
		t.Errorf("a conda package's failure became %q", got)
	}
}

// A conda python takes the wheels pip would give it on its platform,
// whatever the manylinux level (the lock chose it), and no other.
func TestWheelCompat(t *testing.T) {
	recs := pythonRecords()
	for platform, cases := range map[string]map[string]bool{
		"linux-64": {
			"a-1-py3-none-any.whl": true, "a-1-cp310-cp310-manylinux2014_x86_64.whl": true, "a-1-cp37-abi3-manylinux_2_28_x86_64.whl": true,
			"a-1-cp310-cp310-musllinux_1_2_x86_64.whl": false, "a-1-cp311-cp311-manylinux2014_x86_64.whl": false, "a-1-py2-none-any.whl": false,
			"a-1-cp310-cp310-manylinux2014_aarch64.whl": false, "a-1-cp310-cp310-win_amd64.whl": false,
		},
		"linux-aarch64": {"a-1-cp310-cp310-manylinux2014_aarch64.whl": true, "a-1-cp310-cp310-manylinux2014_x86_64.whl": false},
	} {
		c, err := wheelCompat(recs, platform)
		if err != nil {
			t.Fatal(err)
		}
		for fn, want := range cases {
			w, err := tags.ParseWheelFilename(fn)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.WheelRank(w); ok != want {
				t.Errorf("%s: %s compatible %v, want %v", platform, fn, ok, want)
			}
		}
	}
	// A free-threaded python (python_abi *_cp313t) takes cp313t wheels.
	ft := []*record.RepoDataRecord{
		{PackageRecord: record.PackageRecord{Name: "python", Version: version.MustParse("3.13.0"), Build: "h0_0_cp313t", Subdir: "linux-64"}},
		{PackageRecord: record.PackageRecord{Name: "python_abi", Version: version.MustParse("3.13"), Build: "7_cp313t", Subdir: "linux-64"}},
	}
	c, err := wheelCompat(ft, "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	for fn, want := range map[string]bool{"a-1-cp313-cp313t-manylinux2014_x86_64.whl": true, "a-1-cp313-cp313-manylinux2014_x86_64.whl": false} {
		w, err := tags.ParseWheelFilename(fn)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.WheelRank(w); ok != want {
			t.Errorf("free-threaded: %s compatible %v, want %v", fn, ok, want)
		}
	}
	if c, err := wheelCompat(recs, "osx-arm64"); c != nil || err != nil {
		t.Errorf("osx-arm64: %v, %v: want no check", c, err)
	}
}

// A locked sdist is a pip package to build (pip is there: a conda
// package, or a locked wheel), refused for a target other than the build
// platform at the pip line behind it, naming the sdist and the platforms.
func TestPipEnvSdist(t *testing.T) {
	ef := parseConda(t, pipConda)
	for _, withPip := range []string{"conda", "wheel"} {
		pkgs := pipTestPackages()
		pkgs[0].URL = "http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz"
		recs := pythonRecords()
		if withPip == "conda" {
			recs = append(recs, &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "pip", Version: version.MustParse("23.0.1"), Build: "0", Subdir: "noarch"}})
		} else {
			pkgs = append(pkgs, pipLock("pip", "23.0.1", "pip-23.0.1-py3-none-any.whl"))
		}
		pe, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pkgs, recs)
		if err != nil {
			t.Fatalf("pip from %s: %v", withPip, err)
		}
		var sdists []string
		for _, w := range pe.wheels {
			if w.Sdist {
				sdists = append(sdists, w.Filename+" "+w.URL+" "+w.SHA256[:4])
			}
		}
		if want := []string{"urllib3-2.0.7.tar.gz http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz 5555"}; !slices.Equal(sdists, want) {
			t.Errorf("pip from %s: sdists %q, want %q", withPip, sdists, want)
		}
		err = pe.sdistPlatformError("linux/arm64", "linux/amd64")
		var list diag.List
		if !errors.As(err, &list) || len(list) != 1 || list[0].Line != 6 ||
			!strings.Contains(list[0].Msg, "pip package urllib3 has no wheel for linux/arm64, only the sdist http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz, which is built by the environment's own python for linux/arm64: that does not run on this linux/amd64 builder without emulation") {
			t.Errorf("another target: %v", err)
		}
	}
	pe, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pipTestPackages(), pythonRecords())
	if err != nil || pe.sdistPlatformError("linux/arm64", "linux/amd64") != nil {
		t.Errorf("wheels alone for another target: %v, %v", err, pe.sdistPlatformError("linux/arm64", "linux/amd64"))
	}
}

// A failed sdist build names the sdist, its URL and sha256, the pip line
// behind it, and says pip's output is in the step's log; the build and
// the install of what it built carry that line.
func TestSdistError(t *testing.T) {
	ef := parseConda(t, pipConda)
	pkgs := append(pipTestPackages(), pipLock("pip", "23.0.1", "pip-23.0.1-py3-none-any.whl"))
	pkgs[0].URL = "http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz"
	pe, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pkgs, pythonRecords())
	if err != nil {
		t.Fatal(err)
	}
	sm := llb.NewSourceMap(nil, "conda.yml", "YAML", []byte(pipConda))
	py := &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "python", Build: "0", Subdir: "linux-64", SHA256: strings.Repeat("p", 64)},
		FileName: "python-3.10.12-0.conda", URL: "http://127.0.0.1:9/ch/linux-64/python-3.10.12-0.conda"}
	py.Version = version.MustParse("3.10.12")
	c := &envllb.Conda{Records: []*record.RepoDataRecord{py}, Wheels: pe.wheels, WheelLocations: pe.locations(sm),
		Prefix: envllb.DefaultPrefix, Subdir: "linux-64", Helper: llb.Image("frontend:test"), HelperPath: helper.Path}
	layers, err := c.LayersOn(llb.Image("base:test"))
	if err != nil {
		t.Fatal(err)
	}
	def, err := llb.Merge(layers).Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops, err := envllb.WheelOps(def, c.Wheels)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]digest.Digest{}
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		byName[def.Metadata[d].Description["llb.customname"]] = d
	}
	for _, n := range []string{"pip: build a wheel from urllib3-2.0.7.tar.gz", "pip: install the wheel built from urllib3-2.0.7.tar.gz"} {
		locs := def.Source.Locations[byName[n].String()]
		if locs == nil || len(locs.Locations) != 1 || locs.Locations[0].Ranges[0].Start.Line != 6 {
			t.Errorf("%s: locations %v, want conda.yml:6", n, locs)
		}
	}
	err = wheelError(errdefs.WrapVertex(errors.New("process did not complete successfully: exit code: 1"), byName["pip: build a wheel from urllib3-2.0.7.tar.gz"]), ops, pe)
	if want := "conda.yml:6: pip package urllib3-2.0.7.tar.gz (required by Requests (conda.yml:6) → urllib3): building a wheel from the sdist http://127.0.0.1:9/files/urllib3-2.0.7.tar.gz (sha256:" + strings.Repeat("5", 64) + ") with the environment's pip failed (pip's output is in the step's log above): process did not complete successfully: exit code: 1"; err == nil || err.Error() != want {
		t.Errorf("build failure %q, want %q", err, want)
	}
}

// The requirements of a -r file are checked against the lock as the conda
// file's own lines are: an error is at the line in the -r file, its
// column included; a lock that keeps them all builds.
func TestPipEnvRequirementsFile(t *testing.T) {
	ef := parseConda(t, `dependencies:
  - python=3.10
  - pip:
    - requests>=2
    - -r requirements.txt
`)
	for _, c := range []struct {
		reqs      string
		line, col int
		want      string
	}{
		{"# the index's packages\n  idna<3 --hash=sha256:" + strings.Repeat("0", 64) + "\n", 2, 3, "pip package idna is locked at 3.4, which <3 does not allow"},
		{"idna>=3\n\nurllib3 == 1.26.*\n", 3, 1, "pip package urllib3 is locked at 2.0.7, which ==1.26.* does not allow"},
		{"idna>=3\nurllib3>=2\n", 0, 0, ""},
	} {
		pf, err := resolve.ParsePip(ef, func(p string) ([]byte, error) {
			if p != "requirements.txt" {
				return nil, fmt.Errorf("%s: not there", p)
			}
			return []byte(c.reqs), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pkgs := pipTestPackages()[:3]
		pe, err := newPipEnvFrom(ef, pf, nil, "conda-lock.yml", "linux-64", pkgs, pythonRecords())
		if c.want == "" {
			if err != nil || len(pe.wheels) != 3 {
				t.Errorf("%q: %v", c.reqs, err)
			}
			continue
		}
		var list diag.List
		if !errors.As(err, &list) || len(list) != 1 || list[0].File != "requirements.txt" || list[0].Line != c.line ||
			list[0].Column != c.col || list[0].Msg != "conda-lock.yml: "+c.want {
			t.Errorf("%q: %#v, want %q at requirements.txt:%d:%d", c.reqs, err, c.want, c.line, c.col)
		}
		// Without the -r file's lines (ef's own only), the lock passes.
		if _, err := newPipEnv(ef, "conda-lock.yml", "linux-64", pkgs, pythonRecords()); err != nil {
			t.Errorf("%q: the conda file's own lines: %v", c.reqs, err)
		}
	}
}

// A wheel a pip line names by its path (locked as a relative file: URL,
// taken from the build's own files) gets direct_url.json's archive_info
// with its sha256 as pip writes it, its URL left to the helper (where the
// exec reads the file); a "name @ url" line's keeps its URL.
func TestPipEnvLocalWheelDirectURL(t *testing.T) {
	ef := parseConda(t, `dependencies:
  - python=3.10
  - pip:
    - ./dist/tool-1.0-py3-none-any.whl
    - my_pkg @ http://127.0.0.1:9/files/my_pkg-1.0-py3-none-any.whl
`)
	pf, err := resolve.ParsePip(ef, nil)
	if err != nil {
		t.Fatal(err)
	}
	tool := &lock.Package{Name: "tool", Version: "1.0", Manager: lock.Pip, Platform: "linux-64", Category: lock.MainCategory,
		URL: "file:dist/tool-1.0-py3-none-any.whl", SHA256: strings.Repeat("7", 64)}
	pkgs := []*lock.Package{tool, pipTestPackages()[3]}
	local := func(p *lock.Package) (llb.State, bool, error) {
		if !strings.HasPrefix(p.URL, "file:") {
			return llb.State{}, false, nil
		}
		return llb.Scratch(), true, nil
	}
	pe, err := newPipEnvFrom(ef, pf, local, "conda-lock.yml", "linux-64", pkgs, pythonRecords())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*envllb.Wheel{}
	for _, w := range pe.wheels {
		got[w.Name] = w
	}
	w := got["tool"]
	if w == nil || w.Source == nil || !w.Requested || w.DirectURL == nil || w.DirectURL.URL != "" || w.DirectURL.Dir != nil ||
		w.DirectURL.Archive == nil || w.DirectURL.Archive.Hash != "sha256="+tool.SHA256 || w.DirectURL.Archive.Hashes["sha256"] != tool.SHA256 {
		t.Errorf("the local wheel: %+v", w)
	} else if _, err := (&helper.WheelInput{Prefix: "/p", Platform: "linux-64", Python: helper.WheelPython{Version: "3.10", SitePackages: "lib/python3.10/site-packages"},
		Wheels: []helper.WheelFile{{Filename: w.Filename, Archive: "/whl/0/" + w.Filename, SHA256: w.SHA256, DirectURL: w.DirectURL}}}).Encode(); err != nil {
		t.Errorf("the helper's input: %v", err)
	}
	if w, sum := got["my-pkg"], pipTestPackages()[3].SHA256; w == nil || w.DirectURL == nil || w.DirectURL.URL != "http://127.0.0.1:9/files/my_pkg-1.0-py3-none-any.whl" ||
		w.DirectURL.Archive == nil || sum == "" || w.DirectURL.Archive.Hash != "sha256="+sum || w.DirectURL.Archive.Hashes["sha256"] != sum {
		t.Errorf("a URL's wheel: %+v", w)
	}
}
