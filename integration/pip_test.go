package integration

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	envllb "github.com/envkit/envkit/llb"
)

// pipWheel is a wheel made for a test (internal/pypitest builds it); its
// lock entry is made from its bytes.
type pipWheel struct {
	name, version string
	tag           string            // py3-none-any by default; a platform tag puts the files in platlib
	files         map[string]string // payload; a module <name>/__init__.py by default
	entryPoints   string
	deps          []string // Requires-Dist
	// edit replaces members' bytes after RECORD is written (a member
	// whose bytes RECORD does not list).
	edit map[string]string
}

func (w pipWheel) wheel() pypitest.Wheel {
	pw := pypitest.Wheel{Meta: pypitest.Meta{Name: w.name, Version: w.version, RequiresDist: w.deps}, Tag: w.tag, EntryPoints: w.entryPoints,
		Platlib: w.tag != "" && !strings.HasSuffix(w.tag, "-none-any")}
	for _, n := range slices.Sorted(maps.Keys(w.files)) {
		pw.Files = append(pw.Files, pypitest.FileSpec{Path: n, Content: w.files[n]})
	}
	return pw
}

func (w pipWheel) filename() string { return w.wheel().Filename() }

// bytes builds the wheel, then applies edit.
func (w pipWheel) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := w.wheel().Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(w.edit) == 0 {
		return b
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		h := f.FileHeader
		fw, err := zw.CreateHeader(&h)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := w.edit[f.Name]
		if !ok {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			body = string(data)
		}
		if _, err := fw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// pipEnv is a project whose conda file has pip lines, with a conda
// channel and a directory of wheels served on 127.0.0.1.
type pipEnv struct {
	p         project
	wheelDir  string
	files     string // the wheels' base URL
	bin       string
	platforms []string // conda subdirs, comma-separated in newPipEnv's subdir
}

// newPipEnv writes the channel, an index of the wheels (internal/pypitest)
// and the project, whose conda file's pip: section reads that index and
// has pipLines ({files} is the index's files URL), and locks it with
// envkit lock.
func newPipEnv(t *testing.T, e *harness.Env, subdir string, pkgs []condatest.Package, wheels []pipWheel, pipLines ...string) *pipEnv {
	t.Helper()
	return newPipEnvOn(t, e, e.Base.Multi, "python=3.10", subdir, pkgs, wheels, pipLines...)
}

// newPipEnvOn is newPipEnv on another base image, with another python spec.
func newPipEnvOn(t *testing.T, e *harness.Env, base, python, subdir string, pkgs []condatest.Package, wheels []pipWheel, pipLines ...string) *pipEnv {
	t.Helper()
	ch := condaChannel(t, pkgs...)
	pe := &pipEnv{wheelDir: t.TempDir(), bin: envkitBinary(t), platforms: strings.Split(subdir, ",")}
	idx := pypitest.Serve(t, pe.wheelDir)
	pe.files = idx + pypitest.FilesDir
	pip := "    - --index-url " + idx + "\n"
	for _, l := range pipLines {
		pip += "    - " + strings.ReplaceAll(l, "{files}", pe.files) + "\n"
	}
	conda := "channels: [" + ch + "]\ndependencies:\n  - " + python + "\n  - pip:\n" + pip
	pe.p = newProject(t, "environment.yml", syntax(t, e)+"name: pip-env\nimage: "+base+"\nconda_file: conda.yml\n", map[string]string{"conda.yml": conda})
	pe.lock(t, wheels, nil)
	return pe
}

// lock writes the wheels as the index (an edited wheel's bytes replacing
// its file) and conda-lock.yml as envkit lock resolves the conda file from
// them, a wheel's sha256 then taken from sha256s (by file name) when given,
// else from its file.
func (pe *pipEnv) lock(t *testing.T, wheels []pipWheel, sha256s map[string]string) {
	t.Helper()
	var projects []pypitest.Project
	for _, w := range wheels {
		pw := w.wheel()
		i := slices.IndexFunc(projects, func(p pypitest.Project) bool { return p.Name == w.name })
		if i < 0 {
			i = len(projects)
			projects = append(projects, pypitest.Project{Name: w.name})
		}
		projects[i].Files = append(projects[i].Files, pypitest.File{Wheel: &pw})
	}
	if err := pypitest.WriteIndex(pe.wheelDir, projects...); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, w := range wheels {
		b := w.bytes(t)
		if err := os.WriteFile(filepath.Join(pe.wheelDir, pypitest.FilesDir, w.filename()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sums[w.filename()] = pypitest.Sum(b)
		if s, ok := sha256s[w.filename()]; ok {
			sums[w.filename()] = s
		}
	}
	args := []string{"lock", "-f", filepath.Join(pe.p.dir, "conda.yml")}
	for _, p := range pe.platforms {
		args = append(args, "-p", p)
	}
	cmd := exec.Command(pe.bin, args...)
	cmd.Env = append(os.Environ(), "ENVKIT_CACHE="+t.TempDir()) // the index changes between locks
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("envkit lock: %v\n%s", err, stderr)
	}
	l, err := lock.ReadCondaLock("conda-lock.yml", out)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]bool{}
	for _, p := range l.Packages {
		if p.Manager == lock.Pip {
			files[path.Base(p.URL)] = true
			if s, ok := sums[path.Base(p.URL)]; ok {
				p.SHA256 = s
			}
		}
	}
	if len(files) != len(wheels) {
		t.Fatalf("envkit lock locked %d wheels, want the %d:\n%s", len(files), len(wheels), out)
	}
	var b bytes.Buffer
	if err := lock.WriteCondaLock(&b, l); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pe.p.dir, "conda-lock.yml"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pipTestWheels(t *testing.T, salt string) []pipWheel {
	return []pipWheel{
		{name: "demo-cli", version: "1.0", deps: []string{"helper-lib"}, entryPoints: "[console_scripts]\ndemo-cli = demo_cli:main\n",
			files: map[string]string{"demo_cli/__init__.py": "def main():\n    print('demo')\n"}},
		{name: "helper-lib", version: "2.0", files: map[string]string{"helper_lib/__init__.py": "SALT = " + fmt.Sprintf("%q", salt) + "\n"}},
		{name: "direct-pkg", version: "0.1"},
		{name: "fastlib", version: "1.0", tag: "cp310-cp310-manylinux2014_x86_64",
			files: map[string]string{"fastlib/__init__.py": "", "fastlib/_speed.so": "ELF x86_64 " + t.Name() + "\n"}},
	}
}

// A conda file with pip lines builds from a lock that locks its wheels:
// each wheel fetched by its sha256 from 127.0.0.1 and installed into its
// own layer after the conda packages, for the conda python; the image has
// the files under site-packages, dist-info with INSTALLER, RECORD,
// REQUESTED for the requested packages and direct_url.json for a URL
// line, an entry point whose shebang is the environment's python, and the
// lock with its pip entries. A changed wheel changes its own layer and
// the metadata's, through docker buildx build too.
func TestPipWheels(t *testing.T) {
	e := harness.Get(t)
	wheels := pipTestWheels(t, "one")
	pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, wheels,
		"demo-cli", "fastlib==1.0", "direct-pkg @ {files}/direct_pkg-0.1-py3-none-any.whl")
	ctx := ctxFor(t)
	ref := e.Ref("it/pip:1")
	img := mustBuild(t, e, clients[0], pe.p, ref, "lockfile=conda-lock.yml")
	base, err := e.Reg.Image(ctx, e.Base.Multi, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(img.Manifest.Layers), len(base.Manifest.Layers)+1+4+1; got != want {
		t.Errorf("%d layers, want the base's %d, python's, one per wheel (4) and the metadata's", got, len(base.Manifest.Layers))
	}
	prefix := envllb.DefaultPrefix
	site := prefix + "/lib/python3.10/site-packages/"
	read := func(path string) (string, error) {
		b, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", path)
		return string(b), err
	}
	for path, want := range map[string]string{
		site + "demo_cli/__init__.py":                     "def main():\n    print('demo')\n",
		site + "helper_lib/__init__.py":                   "SALT = \"one\"\n",
		site + "fastlib/_speed.so":                        "ELF x86_64 " + t.Name() + "\n",
		site + "demo_cli-1.0.dist-info/INSTALLER":         "envkit\n",
		site + "helper_lib-2.0.dist-info/INSTALLER":       "envkit\n",
		site + "demo_cli-1.0.dist-info/REQUESTED":         "",
		site + "fastlib-1.0.dist-info/REQUESTED":          "",
		site + "direct_pkg-0.1.dist-info/REQUESTED":       "",
		site + "direct_pkg-0.1.dist-info/direct_url.json": `"url":"` + pe.files + `/direct_pkg-0.1-py3-none-any.whl"`,
		site + "demo_cli-1.0.dist-info/RECORD":            "demo_cli/__init__.py,sha256=",
		prefix + "/bin/demo-cli":                          "#!" + prefix + "/bin/python3.10\n",
	} {
		got, err := read(path)
		if err != nil || !strings.Contains(got, want) || (want == "" && got != "") {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if got, err := read(site + "helper_lib-2.0.dist-info/REQUESTED"); err == nil {
		t.Errorf("REQUESTED for a dependency: %q", got)
	}
	if got, _ := read(prefix + "/bin/demo-cli"); !strings.HasPrefix(got, "#!"+prefix+"/bin/python3.10\n") {
		t.Errorf("entry point script:\n%s", got)
	}
	inImage, err := read(prefix + "/" + envllb.LockPath)
	if err != nil {
		t.Fatal(err)
	}
	il, err := lock.Read("conda-lock.yml", []byte(inImage))
	if err != nil {
		t.Fatal(err)
	}
	var pip []string
	for _, p := range il.Packages {
		if p.Manager == lock.Pip {
			pip = append(pip, p.Name+"=="+p.Version)
		}
	}
	if strings.Join(pip, " ") != "demo-cli==1.0 direct-pkg==0.1 fastlib==1.0 helper-lib==2.0" {
		t.Errorf("pip packages in the image's lock: %q", pip)
	}
	var history []string
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "envkit: pip package") {
			history = append(history, h.CreatedBy)
		}
	}
	if len(history) != 4 || history[0] != "envkit: pip package demo-cli==1.0" {
		t.Errorf("pip history: %q", history)
	}
	// The entry point runs the environment's python (the fake one says so).
	run := newProject(t, "Dockerfile", "FROM "+ref+"\nRUN demo-cli > /run.txt\n", map[string]string{})
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, e.Ref("it/pip-run:1")); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Reg.ReadFile(ctx, e.Ref("it/pip-run:1"), "linux/amd64", "/run.txt"); err != nil || string(got) != "fake python\n" {
		t.Errorf("demo-cli ran %q, %v", got, err)
	}

	// A new build of helper-lib (same version, other bytes): its layer and
	// the metadata's change, nothing else; through docker buildx build.
	pe.lock(t, pipTestWheels(t, "two"), nil)
	ref2 := e.Ref("it/pip:2")
	img2 := mustBuild(t, e, clients[1], pe.p, ref2, "build-arg:ENVKIT_LOCKFILE=conda-lock.yml")
	if got, err := e.Reg.ReadFile(ctx, ref2, "linux/amd64", site+"helper_lib/__init__.py"); err != nil || string(got) != "SALT = \"two\"\n" {
		t.Errorf("helper-lib after the change: %q, %v", got, err)
	}
	shared := map[string]bool{}
	for _, l := range img.Manifest.Layers {
		shared[l.Digest.String()] = true
	}
	var changed int
	for _, l := range img2.Manifest.Layers {
		if !shared[l.Digest.String()] {
			changed++
		}
	}
	if changed != 2 || len(img2.Manifest.Layers) != len(img.Manifest.Layers) {
		t.Errorf("%d of %d layers changed, want 2 (helper-lib's and the metadata's)", changed, len(img2.Manifest.Layers))
	}
}

// An arm64 image with a platform wheel (manylinux2014_aarch64) builds on
// this amd64 machine, which has no emulation: the helper installs the
// wheel on the build platform. Compiling its bytecode, which needs its
// python to run, is refused.
func TestPipArm64(t *testing.T) {
	e := harness.Get(t)
	wheels := []pipWheel{{name: "fastlib", version: "1.0", tag: "cp310-cp310-manylinux2014_aarch64",
		files: map[string]string{"fastlib/__init__.py": "", "fastlib/_speed.so": "ELF aarch64 " + t.Name() + "\n"}}}
	pe := newPipEnv(t, e, "linux-aarch64", []condatest.Package{python("linux-aarch64")}, wheels, "fastlib")
	ref := e.Ref("it/pip-arm64:1")
	if out, err := clients[0].build(t, e, pe.p, ref, []string{"linux/arm64"}, "lockfile=conda-lock.yml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	site := envllb.DefaultPrefix + "/lib/python3.10/site-packages/"
	ctx := ctxFor(t)
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/arm64", site+"fastlib/_speed.so"); err != nil || string(got) != "ELF aarch64 "+t.Name()+"\n" {
		t.Errorf("fastlib/_speed.so = %q, %v", got, err)
	}
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/arm64", site+"fastlib-1.0.dist-info/WHEEL"); err != nil || !strings.Contains(string(got), "Tag: cp310-cp310-manylinux2014_aarch64") {
		t.Errorf("WHEEL = %q, %v", got, err)
	}
	// Bytecode is compiled by the environment's python, which this builder
	// cannot run: the build says so.
	out, err := clients[1].build(t, e, pe.p, e.Ref("it/pip-arm64:bytecode"), []string{"linux/arm64"}, "build-arg:ENVKIT_LOCKFILE=conda-lock.yml", "build-arg:ENVKIT_COMPILE_BYTECODE=1")
	if err == nil {
		t.Fatalf("bytecode for linux/arm64 on linux/amd64 built\n%s", out)
	}
	mustContain(t, "bytecode", string(out), "ENVKIT_COMPILE_BYTECODE=1: the bytecode is compiled by the environment's python for linux/arm64, which does not run on this linux/amd64 builder without emulation")
}

// Wheels that must not be installed are refused, the error naming the
// wheel, its URL and the pip line behind it (marked in the conda file):
// a lock whose sha256 is not the wheel's (both digests named), a wheel
// with a member outside site-packages, a wheel whose RECORD does not match
// its member.
func TestPipRefusals(t *testing.T) {
	e := harness.Get(t)
	good := pipWheel{name: "good-pkg", version: "1.0", files: map[string]string{"good_pkg/__init__.py": t.Name() + "\n"}}
	for _, c := range []struct {
		name   string
		wheel  pipWheel
		sha256 func(real string) string
		want   []string
	}{
		{name: "sha256", wheel: pipWheel{name: "bad-sum", version: "1.0", files: map[string]string{"bad_sum/__init__.py": t.Name() + "\n"}},
			sha256: func(string) string { return pypitest.Sum([]byte("other bytes")) },
			want: []string{"conda.yml:6: pip package bad_sum-1.0-py3-none-any.whl (requested at conda.yml:6): fetching {files}/bad_sum-1.0-py3-none-any.whl",
				"expected sha256:" + pypitest.Sum([]byte("other bytes")), "sha256:{real}", ">>>     - bad-sum"}},
		{name: "escape", wheel: pipWheel{name: "escape-pkg", version: "1.0", files: map[string]string{"escape_pkg/__init__.py": "", "../../../../etc/evil.conf": "evil\n"}},
			want: []string{"conda.yml:6: installing pip package escape_pkg-1.0-py3-none-any.whl (requested at conda.yml:6) from {files}/escape_pkg-1.0-py3-none-any.whl failed",
				"escape_pkg-1.0-py3-none-any.whl: ../../../../etc/evil.conf", "unsafe path", ">>>     - escape-pkg"}},
		{name: "record", wheel: pipWheel{name: "record-pkg", version: "1.0", files: map[string]string{"record_pkg/__init__.py": "X = 1\n"},
			edit: map[string]string{"record_pkg/__init__.py": "X = 2 # not what RECORD says\n"}},
			want: []string{"conda.yml:6: installing pip package record_pkg-1.0-py3-none-any.whl (requested at conda.yml:6)",
				"record_pkg-1.0-py3-none-any.whl: record_pkg-1.0.dist-info/RECORD:1: archive disagrees with RECORD: record_pkg/__init__.py", ">>>     - record-pkg"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, []pipWheel{good, c.wheel}, c.wheel.name, "good-pkg")
			real := pypitest.Sum(c.wheel.bytes(t))
			sums := map[string]string{}
			if c.sha256 != nil {
				sums[c.wheel.filename()] = c.sha256(real)
			}
			pe.lock(t, []pipWheel{good, c.wheel}, sums)
			out, err := clients[0].build(t, e, pe.p, e.Ref("it/pip-refused:"+c.name), nil, "lockfile=conda-lock.yml")
			if err == nil {
				t.Fatalf("the build succeeded\n%s", out)
			}
			var wants []string
			for _, w := range c.want {
				wants = append(wants, strings.NewReplacer("{files}", pe.files, "{real}", real).Replace(w))
			}
			mustContain(t, c.name, string(out), wants...)
		})
	}
}

// Over the image's layer limit wheels share layers with wheels only, one
// exec installing each group: the image keeps to the limit and has every
// wheel's files and dist-info, each group's later wheel winning a file
// they share.
func TestPipBudget(t *testing.T) {
	e := harness.Get(t)
	var wheels []pipWheel
	var lines []string
	for i := range 12 {
		n := fmt.Sprintf("budget-%02d", i)
		wheels = append(wheels, pipWheel{name: n, version: "1.0", files: map[string]string{
			strings.ReplaceAll(n, "-", "_") + "/__init__.py": "", "budget_shared.txt": n + "\n"}})
		lines = append(lines, n)
	}
	pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, wheels, lines...)
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Multi, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	limit := len(base.Manifest.Layers) + 1 + 3 // the metadata's, python's and two for the wheels
	ref := e.Ref("it/pip-budget:1")
	img := mustBuild(t, e, clients[0], pe.p, ref, "lockfile=conda-lock.yml", fmt.Sprintf("max-layers=%d", limit))
	if n := len(img.Manifest.Layers); n > limit || n < len(base.Manifest.Layers)+3 {
		t.Errorf("%d layers under a limit of %d", n, limit)
	}
	site := envllb.DefaultPrefix + "/lib/python3.10/site-packages/"
	for _, w := range wheels {
		d := strings.ReplaceAll(w.name, "-", "_")
		if got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", site+d+"-1.0.dist-info/INSTALLER"); err != nil || string(got) != "envkit\n" {
			t.Errorf("%s: INSTALLER %q, %v", w.name, got, err)
		}
	}
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", site+"budget_shared.txt"); err != nil || string(got) != "budget-11\n" {
		t.Errorf("the file every wheel installs holds %q, %v: want the last wheel's", got, err)
	}
	var groups int
	for _, h := range img.Config.History {
		if strings.HasPrefix(h.CreatedBy, "envkit: pip package") {
			groups++
		}
	}
	if groups < 1 || groups > 2 {
		t.Errorf("%d pip history entries for a budget of two wheel layers", groups)
	}
}

// Wheel layers are reproducible: after BuildKit's cache is emptied, a
// rebuild installs every wheel again into the same layers, and with
// SOURCE_DATE_EPOCH makes the same image.
func TestPipReproducible(t *testing.T) {
	e := harness.Get(t)
	pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, pipTestWheels(t, "repro"),
		"demo-cli", "fastlib==1.0", "direct-pkg @ {files}/direct_pkg-0.1-py3-none-any.whl")
	build := func(ref string) *harness.Image {
		return mustBuild(t, e, clients[0], pe.p, ref, "lockfile=conda-lock.yml", "build-arg:SOURCE_DATE_EPOCH=1700000000")
	}
	a := build(e.Ref("it/pip-repro:1"))
	if out, err := e.Buildctl(ctxFor(t), "prune", "--all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b := build(e.Ref("it/pip-repro:2"))
	if a.Digest != b.Digest {
		for i := range a.Manifest.Layers {
			if i < len(b.Manifest.Layers) && a.Manifest.Layers[i].Digest != b.Manifest.Layers[i].Digest {
				t.Errorf("layer %d differs: %s vs %s", i, a.Manifest.Layers[i].Digest, b.Manifest.Layers[i].Digest)
			}
		}
		t.Errorf("image %s, rebuilt %s", a.Digest, b.Digest)
	}
}

// One build for amd64 and arm64 installs each platform's own wheels (its
// platform wheel, the pure-Python one on both), each image keeping its
// own platform's lock.
func TestPipMultiPlatform(t *testing.T) {
	e := harness.Get(t)
	fast := func(arch string) pipWheel {
		return pipWheel{name: "fastlib", version: "1.0", tag: "cp310-cp310-manylinux2014_" + arch,
			files: map[string]string{"fastlib/__init__.py": "", "fastlib/_speed.so": "ELF " + arch + "\n"}}
	}
	wheels := []pipWheel{fast("x86_64"), fast("aarch64"), {name: "pure-pkg", version: "2.0"}}
	pe := newPipEnv(t, e, "linux-64,linux-aarch64", []condatest.Package{python("linux-64"), python("linux-aarch64")}, wheels, "fastlib", "pure-pkg")
	ref := e.Ref("it/pip-multi:1")
	if out, err := clients[0].build(t, e, pe.p, ref, []string{"linux/amd64", "linux/arm64"}, "lockfile=conda-lock.yml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx := ctxFor(t)
	site := envllb.DefaultPrefix + "/lib/python3.10/site-packages/"
	for plat, arch := range map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"} {
		if got, err := e.Reg.ReadFile(ctx, ref, plat, site+"fastlib/_speed.so"); err != nil || string(got) != "ELF "+arch+"\n" {
			t.Errorf("%s: fastlib/_speed.so = %q, %v", plat, got, err)
		}
		if got, err := e.Reg.ReadFile(ctx, ref, plat, site+"pure_pkg-2.0.dist-info/INSTALLER"); err != nil || string(got) != "envkit\n" {
			t.Errorf("%s: pure-pkg: %q, %v", plat, got, err)
		}
		lk, err := e.Reg.ReadFile(ctx, ref, plat, envllb.DefaultPrefix+"/"+envllb.LockPath)
		if err != nil || !strings.Contains(string(lk), "manylinux2014_"+arch+".whl") || strings.Count(string(lk), "manager: pip") != 2 {
			t.Errorf("%s: the image's lock (%v):\n%s", plat, err, lk)
		}
	}
}

// envkit build (the frontend in-process) resolves and installs pip lines
// too, the wheels installed by the frontend image's helper.
func TestCLIBuildPip(t *testing.T) {
	e := harness.Get(t)
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir, pypitest.Project{Name: "cli-pkg", Files: []pypitest.File{{Wheel: &pypitest.Wheel{
		Meta: pypitest.Meta{Name: "cli-pkg", Version: "1.0"}, EntryPoints: "[console_scripts]\ncli-pkg = cli_pkg:main\n"}}}}); err != nil {
		t.Fatal(err)
	}
	idx := pypitest.Serve(t, dir)
	ch := condaChannel(t, python("linux-64"))
	p := newProject(t, "env.yml", "name: cli-pip\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [python=3.10, {pip: [--index-url "+idx+", cli-pkg]}]\n", map[string]string{})
	ref := e.Ref("it/cli-pip:1")
	out, err := exec.Command(envkitBinary(t), "build", "--addr", e.BuildkitAddr, "-t", ref, "--progress", "plain", "--helper-image", frontend(t, e), filepath.Join(p.dir, p.file)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := e.Reg.ReadFile(ctxFor(t), ref, "linux/amd64", envllb.DefaultPrefix+"/bin/cli-pkg")
	if err != nil || !strings.HasPrefix(string(got), "#!"+envllb.DefaultPrefix+"/bin/python3.10\n") {
		t.Errorf("bin/cli-pkg = %q, %v", got, err)
	}
}

// Twenty wheels (more than a few layers) are installed in batches, one
// exec for several wheels' layers: still a layer per wheel, each with its
// own wheel's files.
func TestPipBatches(t *testing.T) {
	e := harness.Get(t)
	var wheels []pipWheel
	var lines []string
	for i := range 20 {
		n := fmt.Sprintf("batch-%02d", i)
		wheels = append(wheels, pipWheel{name: n, version: "1.0"})
		lines = append(lines, n)
	}
	pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, wheels, lines...)
	ref := e.Ref("it/pip-batches:1")
	out, err := clients[0].build(t, e, pe.p, ref, nil, "lockfile=conda-lock.yml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "pip: install 8 wheels, batch_00-1.0-py3-none-any.whl to batch_07-1.0-py3-none-any.whl in 8 layers") {
		t.Errorf("no batch of 8 wheels in the progress:\n%s", out)
	}
	ctx := ctxFor(t)
	img, err := e.Reg.Image(ctx, ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	base, err := e.Reg.Image(ctx, e.Base.Multi, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(img.Manifest.Layers), len(base.Manifest.Layers)+1+20+1; got != want {
		t.Errorf("%d layers, want %d: a layer per wheel", got, want)
	}
	files, err := e.Reg.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	site := envllb.DefaultPrefix + "/lib/python3.10/site-packages/"
	for i := range 20 {
		p := fmt.Sprintf("%sbatch_%02d-1.0.dist-info/RECORD", site, i)
		if f, ok := files[p]; !ok || f.Layer != len(base.Manifest.Layers)+1+i {
			t.Errorf("%s: in the image %v, want it in layer %d", p, ok, len(base.Manifest.Layers)+1+i)
		}
	}
}
