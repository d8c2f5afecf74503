package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	envllb "github.com/envkit/envkit/llb"
)

// A conda file's "-r requirements.txt" line, built through the frontend:
// the frontend reads requirements.txt from the dockerfile local and
// resolves its requirements (from an index on 127.0.0.1), the image's hash
// label is what `envkit hash` prints for the files on disk, and editing
// requirements.txt changes the hash and the image.
func TestPipRequirementsFile(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ch := condaChannel(t,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}})
	idxDir := t.TempDir()
	if err := pypitest.WriteIndex(idxDir,
		pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "itsdangerous", Version: "2.1.2"}}}}},
	); err != nil {
		t.Fatal(err)
	}
	idx := pypitest.Serve(t, idxDir)
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url " + idx + "\n    - -r reqs/requirements.txt\n"
	p := newProject(t, "environment.yml", syntax(t, e)+"name: pip-reqfile\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": conda, "reqs/requirements.txt": "# satisfied by conda's numpy\nnumpy\n"})
	file := filepath.Join(p.dir, p.file)
	envkitHash := func() string {
		t.Helper()
		out, err := exec.Command(bin, "hash", "--full", file).Output()
		if err != nil {
			t.Fatalf("envkit hash: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	build := func(tag string) *harness.Image {
		t.Helper()
		return mustBuild(t, e, clients[0], p, e.Ref("it/pip-reqfile:"+tag))
	}
	h1 := envkitHash()
	img1 := build("1")
	if got := img1.Config.Config.Labels[envllb.LabelHash]; got != h1 {
		t.Errorf("label %s, envkit hash %s", got, h1)
	}
	// An edit of requirements.txt: another hash, another image.
	if err := os.WriteFile(filepath.Join(p.dir, "reqs", "requirements.txt"), []byte("numpy>=1.20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2 := envkitHash()
	if h2 == h1 {
		t.Fatal("envkit hash: editing requirements.txt left the hash as it was")
	}
	img2 := build("2")
	if got := img2.Config.Config.Labels[envllb.LabelHash]; got != h2 {
		t.Errorf("after the edit: label %s, envkit hash %s", got, h2)
	}
	if img2.Digest == img1.Digest {
		t.Error("editing requirements.txt gave the same image")
	}
	// A requirement of requirements.txt that conda's numpy does not meet is
	// marked at its line in requirements.txt.
	if err := os.WriteFile(filepath.Join(p.dir, "reqs", "requirements.txt"), []byte("itsdangerous\nnumpy>=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := clients[0].build(t, e, p, e.Ref("it/pip-reqfile:3"), nil)
	if err == nil || !strings.Contains(string(out), "reqs/requirements.txt:2") || !strings.Contains(string(out), "numpy 1.26.4 installed by numpy-1.26.4-py312_0") ||
		!strings.Contains(string(out), ">>> numpy>=2") {
		t.Errorf("conflict in requirements.txt: %v\n%s", err, out)
	}
	// A line of requirements.txt envkit cannot read is marked there too.
	if err := os.WriteFile(filepath.Join(p.dir, "reqs", "requirements.txt"), []byte("numpy\n-e ./src\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = clients[0].build(t, e, p, e.Ref("it/pip-reqfile:4"), nil)
	if err == nil || !strings.Contains(string(out), "reqs/requirements.txt:2:1: editable requirements (-e) are not supported") || !strings.Contains(string(out), ">>> -e ./src") {
		t.Errorf("editable in requirements.txt: %v\n%s", err, out)
	}
}

// A registered environment keeps its -r files: envkit env create stores
// requirements.txt beside the conda file, and envkit build of the
// registered version builds it from the stored files with the file's hash;
// the same file built by path then reuses that image.
func TestPipRequirementsFileRegistered(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}})
	idx := pypitest.Serve(t, t.TempDir())
	ws := e.Registry + "/it-pipreqfile"
	c := newWSCLI(t, ws)
	p := newProject(t, "environment.yml", "name: pip-reqfile-ws\nimage: "+e.Base.Base+"\nconda_file: conda/conda.yml\n", map[string]string{
		"conda/conda.yml":        "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url " + idx + "\n    - -r requirements.txt\n",
		"conda/requirements.txt": "-c constraints.txt\nnumpy\n",
		"conda/constraints.txt":  "numpy<2\n",
	})
	file := filepath.Join(p.dir, p.file)
	h := strings.TrimSpace(c.ok("hash", file))
	if out := c.ok("env", "create", "--file", file); out != "pip-reqfile-ws:1\n" {
		t.Fatalf("create: %q", out)
	}
	// Built from the stored files (Lookup checks them against the
	// recorded hash: without requirements.txt and constraints.txt, the
	// definition would not load).
	first, _ := wsBuild(t, e, c.bin, ws, "pip-reqfile-ws:1")
	if first.Hash != h || first.Reused {
		t.Errorf("build of the registered version: %+v, envkit hash %s", first, h)
	}
	again, _ := wsBuild(t, e, c.bin, ws, file)
	if !again.Reused || again.Digest != first.Digest {
		t.Errorf("the file built by path after its registered version: %+v", again)
	}
}

// A pip line of a -r file that names a wheel of the environment's
// directory: resolved from the wheel (its dependency from the index),
// locked as file:<path> with its sha256, taken from the dockerfile local
// (not fetched) and installed in its layer, REQUESTED as the -r file
// names it; the hash label is envkit hash's, and another wheel at the same
// path changes the hash and the image.
func TestPipLocalWheel(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ch := condaChannel(t, condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"})
	idxDir := t.TempDir()
	if err := pypitest.WriteIndex(idxDir,
		pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "itsdangerous", Version: "2.1.2"}}}}},
	); err != nil {
		t.Fatal(err)
	}
	idx := pypitest.Serve(t, idxDir)
	toolWheel := func(requires string) string {
		t.Helper()
		b, err := pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "tool", Version: "1.0", RequiresDist: []string{requires}}}}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: pip-local-wheel\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n", map[string]string{
		"conda.yml":                        "channels: [" + ch + "]\ndependencies:\n  - python=3.12\n  - pip:\n    - --index-url " + idx + "\n    - -r reqs/requirements.txt\n",
		"reqs/requirements.txt":            "../wheels/tool-1.0-py3-none-any.whl\n",
		"wheels/tool-1.0-py3-none-any.whl": toolWheel("itsdangerous>=2"),
	})
	file := filepath.Join(p.dir, p.file)
	envkitHash := func() string {
		t.Helper()
		out, err := exec.Command(bin, "hash", "--full", file).Output()
		if err != nil {
			t.Fatalf("envkit hash: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	ctx := ctxFor(t)
	site := envllb.DefaultPrefix + "/lib/python3.12/site-packages/"
	ref := e.Ref("it/pip-local-wheel:1")
	img := mustBuild(t, e, clients[0], p, ref)
	h1 := envkitHash()
	if got := img.Config.Config.Labels[envllb.LabelHash]; got != h1 {
		t.Errorf("label %s, envkit hash %s", got, h1)
	}
	for path, want := range map[string]string{
		site + "tool/__init__.py":                       "__version__ = \"1.0\"\n",
		site + "tool-1.0.dist-info/REQUESTED":           "",
		site + "tool-1.0.dist-info/METADATA":            "Requires-Dist: itsdangerous>=2",
		site + "tool-1.0.dist-info/direct_url.json":     `{"url":"file:///whl/`,
		site + "itsdangerous-2.1.2.dist-info/INSTALLER": "envkit\n",
		envllb.DefaultPrefix + "/" + envllb.LockPath:    "url: file:wheels/tool-1.0-py3-none-any.whl",
	} {
		got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", path)
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("%s = %q, %v; want %q in it", path, got, err, want)
		}
	}
	// Another wheel at the same path: another hash, another image with it.
	if err := os.WriteFile(filepath.Join(p.dir, "wheels", "tool-1.0-py3-none-any.whl"), []byte(toolWheel("itsdangerous>=2.1")), 0o644); err != nil {
		t.Fatal(err)
	}
	ref2 := e.Ref("it/pip-local-wheel:2")
	img2 := mustBuild(t, e, clients[0], p, ref2)
	h2 := envkitHash()
	if h2 == h1 || img2.Config.Config.Labels[envllb.LabelHash] != h2 || img2.Digest == img.Digest {
		t.Errorf("another wheel: hash %s (was %s), label %s, digest %s (was %s)", h2, h1, img2.Config.Config.Labels[envllb.LabelHash], img2.Digest, img.Digest)
	}
	if got, err := e.Reg.ReadFile(ctx, ref2, "linux/amd64", site+"tool-1.0.dist-info/METADATA"); err != nil || !strings.Contains(string(got), "Requires-Dist: itsdangerous>=2.1") {
		t.Errorf("the new wheel's METADATA: %q %v", got, err)
	}
}
