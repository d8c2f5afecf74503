package integration

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// cpythonCheck imports modules whose C libraries come from three places:
// the python package (json, the stdlib), hostlibs (ssl, hashlib, sqlite3,
// zlib, ctypes, lzma, bz2) and the system base (glibc, for all of them), and
// prints where python thinks it lives.
const cpythonCheck = `import sys, sysconfig, json, ssl, hashlib, sqlite3, zlib, ctypes, lzma, bz2; print(sys.prefix, sysconfig.get_config_var("prefix"), sys.version_info[:2] == (3, 12), ssl.OPENSSL_VERSION.split()[0], sqlite3.connect(":memory:").execute("select 6*7").fetchone()[0])`

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
	img := mustBuild(t, e, clients[0], p, ref)
	var size int64
	for _, l := range img.Manifest.Layers {
		size += l.Size
	}
	t.Logf("image %s: %d layers, %d MiB compressed (base included)", ref, len(img.Manifest.Layers), size>>20)
	prefix := envllb.DefaultPrefix
	if envs := strings.Join(img.Config.Config.Env, "\n"); !strings.Contains(envs, "PATH="+prefix+"/bin:") {
		t.Errorf("the environment's bin is not on the image's PATH:\n%s", envs)
	}
	want := prefix + " " + prefix + " True OpenSSL 42\n"

	// A RUN on top of the image (docker_steps run before the environment
	// is merged, so a Dockerfile FROM the image, as users extend one).
	run := newProject(t, "Dockerfile", "FROM "+ref+"\nRUN python -c '"+cpythonCheck+"' > /check.txt && python3 -m sysconfig > /sysconfig.txt\n", map[string]string{})
	ctx := ctxFor(t)
	runRef := e.Ref("it/cpython-run:1")
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, runRef); err != nil {
		t.Fatal(err)
	}
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
	out, err := e.CtrRun(ctx, t, ref, "python", "-c", cpythonCheck)
	if err != nil || out != want {
		t.Errorf("python under containerd printed %q (%v), want %q", out, err, want)
	}
}
