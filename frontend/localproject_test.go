package frontend

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/conda/lock"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
)

// A lock's relative file: URL that names a pip line's project directory
// is taken from the dockerfile local (that directory) and copied to
// /<its base name> without what spec left out; the lock's sha256 must be
// that of the canonical archive of what spec read. The pip environment
// builds it as an sdist (pip needed), with the project's name in its
// errors.
func TestLocalProject(t *testing.T) {
	env, err := spec.Load("sub/environment.yml", []byte("image: busybox\nconda_file: conda.yml\n"), fstest.MapFS{
		"conda.yml":                   {Data: []byte("dependencies:\n  - python\n  - pip:\n    - ./src/mypkg\n")},
		"src/mypkg/pyproject.toml":    {Data: []byte("[project]\nname = \"mypkg\"\nversion = \"1.0\"\n")},
		"src/mypkg/mypkg/__init__.py": {Data: []byte("X = 1\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	sha := env.PipFiles[0].SHA256
	b := &builder{c: &optsOnly{bo: client.BuildOpts{SessionID: "s"}}, opts: &options{Filename: "sub/environment.yml", DockerfileLocal: "dockerfile"}}
	if _, ok, err := b.localWheel(env, "file:src/mypkg", strings.Repeat("0", 64)); !ok || err == nil || !strings.Contains(err.Error(), "is not the project directory's") {
		t.Errorf("another sha256: %v %v", ok, err)
	}
	st, ok, err := b.localWheel(env, "file:src/mypkg", sha)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	local, cp := localCopy(t, st)
	if local == nil || !strings.Contains(local.Attrs[pb.AttrFollowPaths], `"sub/src/mypkg"`) {
		t.Errorf("source %+v", local)
	}
	if cp == nil || cp.Src != "/sub/src/mypkg" || cp.Dest != "/mypkg" || !cp.DirCopyContents || !strings.Contains(strings.Join(cp.ExcludePatterns, " "), "**/__pycache__") {
		t.Errorf("copy %+v", cp)
	}
	// In the pip environment: built as an sdist, and only with pip.
	pe := &pipEnv{ef: env.Conda, lockName: "the resolution", hasPip: true}
	p := &lock.Package{Name: "mypkg", Version: "1.0", URL: "file:src/mypkg", SHA256: sha}
	w, err := pe.project(p, "mypkg", &st)
	if err != nil || !w.Sdist || !w.Project || w.Source == nil || w.Filename != "mypkg" {
		t.Fatalf("%+v %v", w, err)
	}
	pe.hasPip = false
	if _, err := pe.project(p, "mypkg", &st); err == nil || !strings.Contains(err.Error(), "building the project directory src/mypkg needs pip") {
		t.Errorf("without pip: %v", err)
	}
	pe.wheels = []*envllb.Wheel{w}
	if err := pe.sdistPlatformError("linux/arm64", "linux/amd64"); err == nil || !strings.Contains(err.Error(), "pip package mypkg is the project directory src/mypkg") {
		t.Errorf("another platform: %v", err)
	}
}
