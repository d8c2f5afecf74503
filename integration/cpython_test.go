package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/pypi/name"
)

// cpythonCheck imports modules whose C libraries come from three places:
// the python package (json, the stdlib), hostlibs (ssl, hashlib, sqlite3,
// zlib, ctypes, lzma, bz2) and the system base (glibc, for all of them), and
// prints where python thinks it lives.
const cpythonCheck = `import sys, sysconfig, platform, json, ssl, hashlib, sqlite3, zlib, ctypes, lzma, bz2; print(sys.prefix, sysconfig.get_config_var("prefix"), sys.version.split()[0], platform.python_implementation(), ssl.OPENSSL_VERSION.split()[0], sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])`

// A real CPython (a pyenv build made relocatable: condatest.CPython) is
// installed by the frontend as a conda environment on a base that has glibc
// and nothing else, and runs there from the environment's prefix: in a RUN
// on top of the image, and under containerd.
func TestCPythonEnvironment(t *testing.T) {
	e := harness.Get(t)
	py := condatest.CPython(t, "3.12")
	t.Logf("CPython %s packages from %s (cached: %v) in %v", py.Version, py.Root, py.Cached, py.Took)
	base := e.SystemBase(t, py.System)
	ch := condaChannel(t, py.Packages...)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: cpython\nimage: "+base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n"})
	ref := e.Ref("it/cpython:1")
	began := time.Now()
	img := mustBuild(t, e, clients[0], p, ref)
	t.Logf("built through the frontend in %v", time.Since(began).Round(time.Millisecond))
	var size int64
	for _, l := range img.Manifest.Layers {
		size += l.Size
	}
	t.Logf("image %s: %d layers, %d MiB compressed (base included)", ref, len(img.Manifest.Layers), size>>20)
	prefix := envllb.DefaultPrefix
	if envs := strings.Join(img.Config.Config.Env, "\n"); !strings.Contains(envs, "PATH="+prefix+"/bin:") {
		t.Errorf("the environment's bin is not on the image's PATH:\n%s", envs)
	}
	want := prefix + " " + prefix + " " + py.Version + " CPython OpenSSL 42\n"

	// A RUN on top of the image (docker_steps run before the environment
	// is merged, so a Dockerfile FROM the image, as users extend one).
	run := newProject(t, "Dockerfile", "FROM "+ref+"\nRUN python -c '"+cpythonCheck+"' > /check.txt && python3 -m sysconfig > /sysconfig.txt\n", map[string]string{})
	ctx := ctxFor(t)
	runRef := e.Ref("it/cpython-run:1")
	began = time.Now()
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, runRef); err != nil {
		t.Fatal(err)
	}
	t.Logf("RUN on top in %v", time.Since(began).Round(time.Millisecond))
	got, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", "/check.txt")
	if err != nil || string(got) != want {
		t.Errorf("python in a RUN printed %q (%v), want %q", got, err, want)
	}
	// sysconfig's paths are the prefix's: the placeholder in
	// _sysconfigdata was replaced; the pyenv installation is nowhere.
	sc, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", "/sysconfig.txt")
	if err != nil || !strings.Contains(string(sc), `purelib = "`+prefix+`/lib/python3.12/site-packages"`) ||
		!strings.Contains(string(sc), `prefix = "`+prefix+`"`) || strings.Contains(string(sc), py.Root) {
		t.Errorf("python3 -m sysconfig (%v):\n%s", err, sc)
	}

	// Under containerd, as the image's own command line.
	began = time.Now()
	out, err := e.CtrRun(ctx, t, ref, "python", "-c", cpythonCheck)
	t.Logf("pulled and run under containerd in %v", time.Since(began).Round(time.Millisecond))
	if err != nil || out != want {
		t.Errorf("python under containerd printed %q (%v), want %q", out, err, want)
	}
}

// The real-wheels test: pip, setuptools and wheel as Debian ships
// them, and a generated wheel with a console entry point and a platform
// tag, served by a simple index on 127.0.0.1, are resolved by the frontend
// from the conda file's pip lines beside the real CPython, installed as
// wheel layers and compiled to bytecode by that python; in a RUN on top of
// the image python imports them, the entry point runs (under containerd
// too), and pip itself lists them and finds no broken requirement. The python is 3.11, the one these wheels
// were made for (Debian 12's): pip 23.0.1 fails on 3.12 (its vendored
// pkg_resources uses pkgutil.ImpImporter, which 3.12 removed). setuptools
// is imported before pip: with pip imported first, setuptools 66's
// distutils hack asserts that distutils is its own and finds the
// standard library's (in a plain venv with the same wheels too).
func TestCPythonPipWheels(t *testing.T) {
	e := harness.Get(t)
	py := condatest.CPython(t, "3.11")
	base := e.SystemBase(t, py.System)
	ch := condaChannel(t, py.Packages...)

	wheelDir := t.TempDir()
	files := pypitest.Serve(t, wheelDir) + pypitest.FilesDir
	if err := os.MkdirAll(filepath.Join(wheelDir, pypitest.FilesDir), 0o755); err != nil {
		t.Fatal(err)
	}
	type locked struct{ name, version, file string }
	var wheels []locked
	add := func(name, version, file string, data []byte) {
		if err := os.WriteFile(filepath.Join(wheelDir, pypitest.FilesDir, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
		wheels = append(wheels, locked{name, version, file})
	}
	for _, project := range []string{"pip", "setuptools", "wheel"} {
		found, _ := filepath.Glob(testdata.Path(t, "pypi", "wheels", project+"-*-py3-none-any.whl"))
		if len(found) != 1 {
			t.Fatalf("testdata/pypi/wheels: %d wheels of %s, want one", len(found), project)
		}
		data, err := os.ReadFile(found[0])
		if err != nil {
			t.Fatal(err)
		}
		fn := filepath.Base(found[0])
		add(project, strings.Split(fn, "-")[1], fn, data)
	}
	hello := pypitest.Wheel{Meta: pypitest.Meta{Name: "envkit-hello", Version: "1.0"}, Tag: "cp311-cp311-manylinux_2_17_x86_64", Platlib: true,
		EntryPoints: "[console_scripts]\nenvkit-hello = envkit_hello:main\n",
		Files: []pypitest.FileSpec{{Path: "envkit_hello/__init__.py", Content: "import sys, sysconfig\n\ndef main():\n" +
			"    print('hello from', sys.prefix, __file__.startswith(sysconfig.get_path('platlib')))\n"}}}
	data, err := hello.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	add(hello.Name, hello.Version, hello.Filename(), data)

	// A simple index of those files, without metadata files: the resolver
	// reads each wheel's METADATA from the wheel itself.
	for _, w := range wheels {
		data, err := os.ReadFile(filepath.Join(wheelDir, pypitest.FilesDir, w.file))
		if err != nil {
			t.Fatal(err)
		}
		page := fmt.Sprintf("<html><body><a href=\"../%s/%s#sha256=%s\">%s</a></body></html>\n", pypitest.FilesDir, w.file, pypitest.Sum(data), w.file)
		dir := filepath.Join(wheelDir, name.Normalize(w.name))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx := strings.TrimSuffix(files, pypitest.FilesDir)

	var pip strings.Builder
	fmt.Fprintf(&pip, "    - --index-url %s\n", idx)
	for _, w := range wheels {
		fmt.Fprintf(&pip, "    - %s==%s\n", w.name, w.version)
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: cpython-pip\nimage: "+base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - python=3.11\n  - pip:\n" + pip.String()})
	// Resolved by the frontend (the pip lines, an index on 127.0.0.1),
	// installed as wheel layers, compiled to bytecode by the environment's
	// own python.
	ref := e.Ref("it/cpython-pip:1")
	began := time.Now()
	mustBuild(t, e, clients[0], p, ref, "build-arg:ENVKIT_COMPILE_BYTECODE=1")
	t.Logf("built through the frontend in %v", time.Since(began).Round(time.Millisecond))

	prefix := envllb.DefaultPrefix
	run := newProject(t, "Dockerfile", "FROM "+ref+"\n"+
		`RUN python -c "import setuptools, pip, wheel; print(pip.__version__, setuptools.__version__, wheel.__version__)" > /imports.txt`+
		" && envkit-hello > /hello.txt"+
		" && python -m pip list --disable-pip-version-check --format freeze > /list.txt"+
		" && python -m pip check --disable-pip-version-check > /check.txt"+
		" && ls "+envllb.DefaultPrefix+"/lib/python3.11/site-packages/pip/__pycache__/ > /pycache.txt\n", map[string]string{})
	ctx := ctxFor(t)
	runRef := e.Ref("it/cpython-pip-run:1")
	began = time.Now()
	if out, err := e.BuildDockerfile(ctx, run.dir, nil, runRef); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("RUN on top in %v", time.Since(began).Round(time.Millisecond))
	var freeze []string
	for _, w := range wheels {
		freeze = append(freeze, w.name+"=="+w.version)
	}
	slices.Sort(freeze)
	// The entry point under containerd, from the image's PATH.
	if out, err := e.CtrRun(ctx, t, ref, "envkit-hello"); err != nil || out != "hello from "+prefix+" True\n" {
		t.Errorf("envkit-hello under containerd printed %q (%v)", out, err)
	}
	// The bytecode layer: pip's modules compiled by python 3.11 itself.
	if got, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", "/pycache.txt"); err != nil || !strings.Contains(string(got), "__init__.cpython-311.pyc") {
		t.Errorf("pip/__pycache__ holds %q (%v), want __init__.cpython-311.pyc", got, err)
	}
	for file, want := range map[string]string{
		"/imports.txt": wheels[0].version + " " + wheels[1].version + " " + wheels[2].version + "\n",
		"/hello.txt":   "hello from " + prefix + " True\n",
		"/list.txt":    strings.Join(freeze, "\n") + "\n",
		"/check.txt":   "No broken requirements found.\n",
	} {
		got, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", file)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q (%v), want %q", file, got, err, want)
		}
	}
}
