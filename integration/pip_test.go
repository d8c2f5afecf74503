package integration

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
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
	deps          []string // the lock's dependencies of the package
	// edit replaces members' bytes after RECORD is written (a member
	// whose bytes RECORD does not list).
	edit map[string]string
}

func (w pipWheel) wheel() pypitest.Wheel {
	pw := pypitest.Wheel{Meta: pypitest.Meta{Name: w.name, Version: w.version}, Tag: w.tag, EntryPoints: w.entryPoints,
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
	p        project
	wheelDir string
	files    string // the wheels' base URL
	bin      string
	platform string // conda subdir
}

// newPipEnv writes the channel, the wheels and the project; pipLines go
// under the conda file's pip: ({files} is the wheels' base URL).
func newPipEnv(t *testing.T, e *harness.Env, subdir string, pkgs []condatest.Package, wheels []pipWheel, pipLines ...string) *pipEnv {
	t.Helper()
	ch := condaChannel(t, pkgs...)
	pe := &pipEnv{wheelDir: t.TempDir(), bin: envkitBinary(t), platform: subdir}
	pe.files = pypitest.Serve(t, pe.wheelDir) + pypitest.FilesDir
	var pip strings.Builder
	for _, l := range pipLines {
		fmt.Fprintf(&pip, "    - %s\n", strings.ReplaceAll(l, "{files}", pe.files))
	}
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.10\n  - pip:\n" + pip.String()
	pe.p = newProject(t, "environment.yml", syntax(t, e)+"name: pip-env\nimage: "+e.Base.Multi+"\nconda_file: conda.yml\n", map[string]string{"conda.yml": conda})
	pe.lock(t, wheels, nil)
	return pe
}

// lock writes the wheels and conda-lock.yml: the conda part as envkit
// lock gives it, then a pip entry per wheel; sha256s overrides a wheel's
// sha256 by file name.
func (pe *pipEnv) lock(t *testing.T, wheels []pipWheel, sha256s map[string]string) {
	t.Helper()
	out, err := exec.Command(pe.bin, "lock", "-p", pe.platform, "-f", filepath.Join(pe.p.dir, "conda.yml")).Output()
	if err != nil {
		t.Fatalf("envkit lock: %v", err)
	}
	l, err := lock.ReadCondaLock("conda-lock.yml", out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(pe.wheelDir, pypitest.FilesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range wheels {
		b := w.bytes(t)
		if err := os.WriteFile(filepath.Join(pe.wheelDir, pypitest.FilesDir, w.filename()), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := pypitest.Sum(b)
		if s, ok := sha256s[w.filename()]; ok {
			sum = s
		}
		deps := map[string]string{}
		for _, d := range w.deps {
			deps[d] = ""
		}
		l.Packages = append(l.Packages, &lock.Package{Name: w.name, Version: w.version, Manager: lock.Pip, Platform: pe.platform,
			URL: pe.files + "/" + w.filename(), SHA256: sum, Dependencies: deps, Category: lock.MainCategory})
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
// its member. Without a lock that locks the pip lines, the first one is
// marked.
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
			want: []string{"conda.yml:5: pip package bad_sum-1.0-py3-none-any.whl (requested at conda.yml:5): fetching {files}/bad_sum-1.0-py3-none-any.whl",
				"expected sha256:" + pypitest.Sum([]byte("other bytes")), "sha256:{real}", ">>>     - bad-sum"}},
		{name: "escape", wheel: pipWheel{name: "escape-pkg", version: "1.0", files: map[string]string{"escape_pkg/__init__.py": "", "../../../../etc/evil.conf": "evil\n"}},
			want: []string{"conda.yml:5: installing pip package escape_pkg-1.0-py3-none-any.whl (requested at conda.yml:5) from {files}/escape_pkg-1.0-py3-none-any.whl failed",
				"escape_pkg-1.0-py3-none-any.whl: ../../../../etc/evil.conf", "unsafe path", ">>>     - escape-pkg"}},
		{name: "record", wheel: pipWheel{name: "record-pkg", version: "1.0", files: map[string]string{"record_pkg/__init__.py": "X = 1\n"},
			edit: map[string]string{"record_pkg/__init__.py": "X = 2 # not what RECORD says\n"}},
			want: []string{"conda.yml:5: installing pip package record_pkg-1.0-py3-none-any.whl (requested at conda.yml:5)",
				"record_pkg-1.0-py3-none-any.whl: record_pkg-1.0.dist-info/RECORD:1: archive disagrees with RECORD: record_pkg/__init__.py", ">>>     - record-pkg"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, []pipWheel{good}, c.wheel.name, "good-pkg")
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
	t.Run("no-lock", func(t *testing.T) {
		pe := newPipEnv(t, e, "linux-64", []condatest.Package{python("linux-64")}, []pipWheel{good}, "good-pkg")
		out, err := clients[1].build(t, e, pe.p, e.Ref("it/pip-refused:no-lock"), nil)
		if err == nil {
			t.Fatalf("the build succeeded\n%s", out)
		}
		mustContain(t, "no lock", string(out), "conda.yml:5:7: dependencies.pip: pip packages are not resolved by the frontend yet", ">>>     - good-pkg")
	})
}
