package integration

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	envllb "github.com/envkit/envkit/llb"
)

// The frontend resolves a conda file's pip lines after the conda solve,
// reading the index through BuildKit's HTTP source (the index on
// 127.0.0.1, as buildkitd sees it); a pip line conda's numpy does not
// satisfy is marked in conda.yml with both lines. What it resolved is
// installed, each wheel in its layer, and the image's lock has it.
func TestPipResolvedThroughBuildKit(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}})
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir,
		pypitest.Project{Name: "Flask", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "Flask", Version: "3.0.0", RequiresDist: []string{"itsdangerous>=2"}}}}}},
		pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "itsdangerous", Version: "2.1.2"}}}}},
	); err != nil {
		t.Fatal(err)
	}
	idx := pypitest.Serve(t, dir)
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url " + idx + "\n    - flask\n"
	env := syntax(t, e) + "name: pip-resolve\nimage: " + e.Base.Base + "\nconda_file: conda.yml\n"
	p := newProject(t, "environment.yml", env, map[string]string{"conda.yml": conda})
	ref := e.Ref("it/pip-resolve:1")
	mustBuild(t, e, clients[0], p, ref)
	site := envllb.DefaultPrefix + "/lib/python3.12/site-packages/"
	ctx := ctxFor(t)
	for path, want := range map[string]string{
		site + "flask/__init__.py":                      "__version__ = \"3.0.0\"\n",
		site + "flask-3.0.0.dist-info/REQUESTED":        "",
		site + "itsdangerous-2.1.2.dist-info/INSTALLER": "envkit\n",
		envllb.DefaultPrefix + "/" + envllb.LockPath:    "url: " + idx + "_files/itsdangerous-2.1.2-py3-none-any.whl",
	} {
		got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", path)
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("%s = %q, %v; want %q in it", path, got, err, want)
		}
	}
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", site+"itsdangerous-2.1.2.dist-info/REQUESTED"); err == nil {
		t.Errorf("REQUESTED for a dependency: %q", got)
	}
	p = newProject(t, "environment.yml", env, map[string]string{"conda.yml": conda + "    - numpy>=2\n"})
	out, err := clients[0].build(t, e, p, e.Ref("it/pip-resolve:2"), nil)
	if err == nil || !strings.Contains(string(out), "conflicts with numpy 1.26.4 installed by numpy-1.26.4-py312_0 (conda, conda.yml:4)") ||
		!strings.Contains(string(out), ">>>     - numpy>=2") {
		t.Errorf("conflict: %v\n%s", err, out)
	}
}
