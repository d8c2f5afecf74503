package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// A pip line that names a project directory of the build context
// (./src/envkit-proj, a setuptools project whose pyproject.toml gives its
// metadata statically): the frontend reads the directory from the
// dockerfile local, resolves its dependency (wheel) from a local index,
// builds it into a wheel with the environment's own pip (a real CPython
// 3.11; setuptools from the index, as CPython bundles it) and installs it
// as a layer of its own, with direct_url.json's dir_info. The image's
// hash label is what envkit hash computes (a __pycache__ in the directory
// left out of both); in a Dockerfile FROM the image the module imports and
// pip lists it as envkit installed it; its stale build/ is not in its
// wheel. A rebuild takes the built wheel
// from the cache; a file of the directory changed, it is built again.
func TestPipProjectDirectory(t *testing.T) {
	e := harness.Get(t)
	py := condatest.CPython(t, "3.11")
	base := e.SystemBase(t, py.System)
	ch := condaChannel(t, py.Packages...)
	setuptools, _ := filepath.Glob(filepath.Join(py.Root, "lib", "python3.11", "ensurepip", "_bundled", "setuptools-*-py3-none-any.whl"))
	if len(setuptools) != 1 {
		t.Fatalf("%s bundles %d setuptools wheels, want one", py.Root, len(setuptools))
	}
	idx := sdistIndex(t, debianWheel(t, "pip"), setuptools[0], debianWheel(t, "wheel"))
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.11\n  - pip:\n    - --index-url " + idx + "\n    - pip==23.0.1\n    - ./src/envkit-proj\n"
	p := newProject(t, "environment.yml", syntax(t, e)+"name: pipproject\nimage: "+base+"\nconda_file: conda.yml\n", map[string]string{
		"conda.yml": conda,
		"src/envkit-proj/pyproject.toml": "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
			"[project]\nname = \"envkit-proj\"\nversion = \"2.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"wheel\"]\n\n" +
			"[tool.setuptools]\npackages = [\"envkit_proj\"]\n",
		"src/envkit-proj/envkit_proj/__init__.py":                          "GREETING = 'hello from the project directory'\n",
		"src/envkit-proj/envkit_proj/__pycache__/__init__.cpython-311.pyc": "not bytecode: left out",
		// A stale build of it, which setuptools would put in the wheel
		// were it not left out.
		"src/envkit-proj/build/lib/envkit_proj/stale.py": "STALE = True\n",
	})
	ref := e.Ref("it/pipproject:1")
	img := mustBuild(t, e, clients[0], p, ref, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	if got, want := img.Config.Config.Labels[envllb.LabelHash], p.expectedHash(t); got != want {
		t.Errorf("hash label %s, envkit hash %s", got, want)
	}
	var history []string
	for _, h := range img.Config.History {
		history = append(history, h.CreatedBy)
	}
	if !strings.Contains(strings.Join(history, "\n"), "envkit: pip package envkit-proj==2.0 (a wheel built from its project directory)") {
		t.Errorf("no layer of the project's wheel in the history:\n%s", strings.Join(history, "\n"))
	}
	ctx := ctxFor(t)
	prefix := envllb.DefaultPrefix
	du, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", prefix+"/lib/python3.11/site-packages/envkit_proj-2.0.dist-info/direct_url.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", prefix+"/lib/python3.11/site-packages/envkit_proj/stale.py"); err == nil {
		t.Error("the stale build/ of the project directory went into its wheel")
	}
	var d struct {
		URL     string          `json:"url"`
		DirInfo json.RawMessage `json:"dir_info"`
	}
	if err := json.Unmarshal(du, &d); err != nil || d.URL != "file:///sdist/envkit-proj" || string(d.DirInfo) != "{}" {
		t.Errorf("direct_url.json %s (%v)", du, err)
	}

	run := newProject(t, "Dockerfile", "FROM "+ref+"\n"+
		`RUN python -c "import envkit_proj, wheel; print(envkit_proj.GREETING)" > /import.txt`+
		" && python -m pip list -v --format json --disable-pip-version-check > /list.json\n", map[string]string{})
	runRef := e.Ref("it/pipproject-run:1")
	if out, err := e.BuildDockerfile(ctx, run.dir, nil, runRef); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", "/import.txt"); err != nil || string(got) != "hello from the project directory\n" {
		t.Errorf("/import.txt = %q (%v)", got, err)
	}
	pipListed(ctx, t, e, runRef, "envkit-proj", "2.0")

	const step = "pip: build a wheel from the project directory src/envkit-proj"
	out, err := clients[1].build(t, e, p, e.Ref("it/pipproject:2"), nil, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !cachedStep(string(out), step) {
		t.Errorf("the project was built again:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "src", "envkit-proj", "envkit_proj", "__init__.py"), []byte("GREETING = 'changed'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := mustBuild(t, e, clients[0], p, e.Ref("it/pipproject:3"), "build-arg:SOURCE_DATE_EPOCH=1700000000")
	if got, want := changed.Config.Config.Labels[envllb.LabelHash], p.expectedHash(t); got != want || got == img.Config.Config.Labels[envllb.LabelHash] {
		t.Errorf("changed: hash label %s, envkit hash %s, before %s", got, want, img.Config.Config.Labels[envllb.LabelHash])
	}
	if changed.Digest == img.Digest {
		t.Error("a changed project directory gave the same image")
	}
}
