package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	envllb "github.com/envkit/envkit/llb"
)

// sdistProject is an sdist-only project (setuptools, through
// pyproject.toml) with a module and a console entry point.
var sdistProject = pypitest.Sdist{Meta: pypitest.Meta{Name: "envkit-sdist", Version: "1.0"}, Files: []pypitest.FileSpec{
	{Path: "pyproject.toml", Content: "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n" +
		"[project]\nname = \"envkit-sdist\"\nversion = \"1.0\"\n\n[project.scripts]\nenvkit-sdist-hello = \"envkit_sdist:main\"\n"},
	{Path: "envkit_sdist/__init__.py", Content: "import sys\n\ndef main():\n    print('hello from the sdist in', sys.prefix)\n"},
}}

// sdistIndex serves, on 127.0.0.1, a simple index of the sdist-only
// project and of wheels (files): the environment's pip and the sdist's
// build dependencies. It returns the index URL.
func sdistIndex(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	idx := pypitest.Serve(t, dir)
	if err := pypitest.WriteIndex(dir, pypitest.Project{Name: sdistProject.Name, Files: []pypitest.File{{Sdist: &sdistProject}}}); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		project, _, _ := strings.Cut(filepath.Base(file), "-")
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		fn := filepath.Base(file)
		if err := os.WriteFile(filepath.Join(dir, pypitest.FilesDir, fn), data, 0o644); err != nil {
			t.Fatal(err)
		}
		// Its METADATA as a PEP 658 metadata file: the frontend reads
		// that, not the wheel.
		md := wheelMetadata(t, data)
		if err := os.WriteFile(filepath.Join(dir, pypitest.FilesDir, fn+".metadata"), md, 0o644); err != nil {
			t.Fatal(err)
		}
		page := fmt.Sprintf("<!DOCTYPE html>\n<html><body>\n<a href=\"../%s/%s#sha256=%s\" data-core-metadata=\"sha256=%s\">%s</a>\n</body></html>\n",
			pypitest.FilesDir, fn, pypitest.Sum(data), pypitest.Sum(md), fn)
		if err := os.MkdirAll(filepath.Join(dir, project), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, project, "index.html"), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return idx
}

// debianWheel is the file of a project's wheel in testdata/pypi/wheels
// (as Debian ships it).
func debianWheel(t *testing.T, project string) string {
	t.Helper()
	found, _ := filepath.Glob(testdata.Path(t, "pypi", "wheels", project+"-*-py3-none-any.whl"))
	if len(found) != 1 {
		t.Fatalf("testdata/pypi/wheels: %d wheels of %s, want one", len(found), project)
	}
	return found[0]
}

// wheelMetadata returns a wheel's .dist-info/METADATA.
func wheelMetadata(t *testing.T, whl []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(whl), int64(len(whl)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if dir, base := path.Split(f.Name); base == "METADATA" && strings.HasSuffix(dir, ".dist-info/") && strings.Count(f.Name, "/") == 1 {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatal("a wheel without METADATA")
	return nil
}

// A pip line whose project has only an sdist: the frontend resolves it
// from a local index and builds it into a wheel with the environment's own
// pip (a real CPython 3.11, pip from the same index: 23.0.1 needs 3.11),
// its build dependencies (setuptools, wheel) from that index, then installs
// the wheel as any other. In a Dockerfile FROM the image the module
// imports, the entry point runs and pip lists it as envkit installed it; a
// rebuild takes the built wheel from the cache.
func TestSdistBuild(t *testing.T) {
	e := harness.Get(t)
	py := condatest.CPython(t, "3.11")
	base := e.SystemBase(t, py.System)
	ch := condaChannel(t, py.Packages...)
	// setuptools as CPython bundles it: Debian's (testdata) builds
	// nothing with a CPython that is not Debian's (its distutils patch
	// wants install_layout), with pip wheel as with python -m build.
	setuptools, _ := filepath.Glob(filepath.Join(py.Root, "lib", "python3.11", "ensurepip", "_bundled", "setuptools-*-py3-none-any.whl"))
	if len(setuptools) != 1 {
		t.Fatalf("%s bundles %d setuptools wheels, want one", py.Root, len(setuptools))
	}
	idx := sdistIndex(t, debianWheel(t, "pip"), setuptools[0], debianWheel(t, "wheel"))
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.11\n  - pip:\n    - --index-url " + idx + "\n    - pip==23.0.1\n    - envkit-sdist\n"
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sdist\nimage: "+base+"\nconda_file: conda.yml\n", map[string]string{"conda.yml": conda})
	ref := e.Ref("it/sdist:1")
	img := mustBuild(t, e, clients[0], p, ref, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	var history []string
	for _, h := range img.Config.History {
		history = append(history, h.CreatedBy)
	}
	if !strings.Contains(strings.Join(history, "\n"), "envkit: pip package envkit-sdist==1.0 (a wheel built from its sdist)") {
		t.Errorf("no layer of the sdist's wheel in the history:\n%s", strings.Join(history, "\n"))
	}

	run := newProject(t, "Dockerfile", "FROM "+ref+"\n"+
		`RUN python -c "import envkit_sdist; print(envkit_sdist.__file__)" > /import.txt`+
		" && envkit-sdist-hello > /hello.txt"+
		" && python -m pip list -v --format json --disable-pip-version-check > /list.json\n", map[string]string{})
	ctx := ctxFor(t)
	runRef := e.Ref("it/sdist-run:1")
	if out, err := e.BuildDockerfile(ctx, run.dir, nil, runRef); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	prefix := envllb.DefaultPrefix
	for file, want := range map[string]string{
		"/import.txt": prefix + "/lib/python3.11/site-packages/envkit_sdist/__init__.py\n",
		"/hello.txt":  "hello from the sdist in " + prefix + "\n",
	} {
		got, err := e.Reg.ReadFile(ctx, runRef, "linux/amd64", file)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q (%v), want %q", file, got, err, want)
		}
	}
	pipListed(ctx, t, e, runRef, "envkit-sdist", "1.0")

	// A rebuild (another image name) takes the built wheel from the cache.
	out, err := clients[1].build(t, e, p, e.Ref("it/sdist:2"), nil, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !cachedStep(string(out), "pip: build a wheel from envkit_sdist-1.0.tar.gz") {
		t.Errorf("the sdist was built again:\n%s", out)
	}

	// Built again once BuildKit's cache is emptied, the wheel's layer
	// (and the image) comes out the same (SOURCE_DATE_EPOCH).
	if out, err := e.Buildctl(ctx, "prune", "--all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = clients[1].build(t, e, p, e.Ref("it/sdist:3"), nil, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cachedStep(string(out), "pip: build a wheel from envkit_sdist-1.0.tar.gz") {
		t.Errorf("the sdist's build was cached after the prune:\n%s", out)
	}
	again, err := e.Reg.Image(ctx, e.Ref("it/sdist:3"), "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != img.Digest {
		for i := range img.Manifest.Layers {
			if i < len(again.Manifest.Layers) && img.Manifest.Layers[i].Digest != again.Manifest.Layers[i].Digest {
				t.Errorf("layer %d differs: %s vs %s", i, img.Manifest.Layers[i].Digest, again.Manifest.Layers[i].Digest)
			}
		}
		t.Errorf("image %s, rebuilt from nothing %s", img.Digest, again.Digest)
	}
}

// An arm64 environment whose pip line has only an sdist, built on amd64
// without emulation, is refused at that line, naming the sdist and the
// platforms.
func TestSdistForeignPlatform(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, python("linux-aarch64"))
	idx := sdistIndex(t, debianWheel(t, "pip"))
	conda := "channels: [" + ch + "]\ndependencies:\n  - python=3.10\n  - pip:\n    - --index-url " + idx + "\n    - pip==23.0.1\n    - envkit-sdist\n"
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sdist-arm64\nimage: "+e.Base.Multi+"\nconda_file: conda.yml\n", map[string]string{"conda.yml": conda})
	out, err := clients[0].build(t, e, p, e.Ref("it/sdist-arm64:1"), []string{"linux/arm64"})
	if err == nil {
		t.Fatalf("an sdist for linux/arm64 built on linux/amd64:\n%s", out)
	}
	mustContain(t, "arm64", string(out), "pip package envkit-sdist has no wheel for linux/arm64, only the sdist "+idx+pypitest.FilesDir+"/envkit_sdist-1.0.tar.gz, which is built by the environment's own python for linux/arm64: that does not run on this linux/amd64 builder without emulation")
}

// pipListed asserts that the /list.json of image ref (`python -m pip list -v
// --format json`) shows the project at version, installed by envkit.
func pipListed(ctx context.Context, t *testing.T, e *harness.Env, ref, project, version string) {
	t.Helper()
	list, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", "/list.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []struct{ Name, Version, Installer string }
	if err := json.Unmarshal(list, &pkgs); err != nil {
		t.Fatalf("pip list: %v\n%s", err, list)
	}
	for _, pk := range pkgs {
		if pk.Name == project && pk.Version == version && pk.Installer == "envkit" {
			return
		}
	}
	t.Errorf("pip list does not show %s %s installed by envkit:\n%s", project, version, list)
}
