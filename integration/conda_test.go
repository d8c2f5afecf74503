package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/testdata"
	envllb "github.com/envkit/envkit/llb"
)

// condaChannel serves a channel made of packages built for the test, over
// HTTP on 127.0.0.1 (buildkitd fetches from it directly).
func condaChannel(t testing.TB, pkgs ...condatest.Package) string {
	t.Helper()
	dir := t.TempDir()
	if err := condatest.WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv.URL
}

func libfoo(subdir, arch string) condatest.Package {
	return condatest.Package{Name: "libfoo", Version: "1.0", Build: "h0_0", Subdir: subdir, Files: []condatest.File{
		{Path: "lib/libfoo.txt", Content: "libfoo for " + arch + "\n"},
		{Path: "etc/foo.conf", Content: "prefix=" + condatest.Placeholder + "\n", Prefix: true},
	}}
}

func tool(version, subdir string) condatest.Package {
	return condatest.Package{Name: "tool", Version: version, Build: "0", Subdir: subdir, Depends: []string{"libfoo >=1"},
		Files: []condatest.File{{Path: "bin/tool", Mode: 0o755, Prefix: true,
			Content: "#!/bin/sh\necho \"tool " + version + " in " + condatest.Placeholder + "\"\ncat " + condatest.Placeholder + "/lib/libfoo.txt\n"}}}
}

func python(subdir string) condatest.Package {
	return condatest.Package{Name: "python", Version: "3.10.12", Build: "h0_0", Subdir: subdir,
		Files: []condatest.File{{Path: "bin/python3.10", Content: "#!/bin/sh\necho fake python\n", Mode: 0o755}}}
}

var pyhello = condatest.Package{Name: "pyhello", Version: "0.1", Build: "py_0", Subdir: "noarch", Noarch: "python", Depends: []string{"python >=3.8"},
	Files: []condatest.File{{Path: "site-packages/pyhello/__init__.py", Content: "GREETING = 'hello'\n"}}}

// A conda environment is materialized by the frontend: solved against the
// channel, each package fetched by its sha256 and linked into its own
// layer, merged over the base, and usable at run time.
func TestCondaEnvironment(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("1.0", "linux-64"), tool("2.0", "linux-64"), python("linux-64"), pyhello)
	env := func(pin string) project {
		return newProject(t, "environment.yml", syntax(t, e)+`
name: conda-env
image: `+e.Base.Base+`
conda_file: conda.yml
`, map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - python=3.10\n  - tool" + pin + "\n  - pyhello\nvariables:\n  MODEL_CACHE: /cache\n"})
	}
	p := env("")
	ref := e.Ref("it/conda:1")
	img := mustBuild(t, e, clients[1], p, ref)
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(img.Manifest.Layers), len(base.Manifest.Layers)+4+1; got != want {
		t.Errorf("%d layers, want the base's %d, one per package (4) and the environment's metadata", got, len(base.Manifest.Layers))
	}
	prefix := envllb.DefaultPrefix
	read := func(ref, path string) string {
		t.Helper()
		b, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return string(b)
	}
	if got := read(ref, prefix+"/etc/foo.conf"); got != "prefix="+prefix+"\n" {
		t.Errorf("foo.conf = %q: prefix not replaced", got)
	}
	if got := read(ref, prefix+"/lib/python3.10/site-packages/pyhello/__init__.py"); got != "GREETING = 'hello'\n" {
		t.Errorf("noarch python file: %q", got)
	}
	if got := read(ref, prefix+"/conda-meta/tool-2.0-0.json"); !strings.Contains(got, `"url"`) || !strings.Contains(got, "tool-2.0-0.conda") {
		t.Errorf("conda-meta record: %s", got)
	}
	if got := read(ref, prefix+"/conda-meta/history"); !strings.Contains(got, "+"+ch+"/linux-64::tool-2.0-0") || !strings.Contains(got, "# update specs: [") {
		t.Errorf("conda-meta/history:\n%s", got)
	}
	if got := read(ref, prefix+"/conda-meta/state"); !strings.Contains(got, `"MODEL_CACHE": "/cache"`) {
		t.Errorf("conda-meta/state: %s", got)
	}
	// The image keeps what it resolved to, as a lock a later build can take.
	l, err := lock.Read("conda-lock.yml", []byte(read(ref, prefix+"/"+envllb.LockPath)))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := l.Records("linux-64")
	if err != nil || len(recs) != 4 || l.ContentHash["linux-64"] == "" {
		t.Errorf("lock in the image: %d records, %v, hashes %v", len(recs), err, l.ContentHash)
	}
	envs := strings.Join(img.Config.Config.Env, "\n")
	if !strings.Contains(envs, "PATH="+prefix+"/bin:") || !strings.Contains(envs, "CONDA_PREFIX="+prefix) {
		t.Errorf("env:\n%s", envs)
	}
	if img.Config.Config.Labels[envllb.LabelKind] != "system-managed" || img.Config.Config.Labels[envllb.LabelHash] != p.expectedHash(t) {
		t.Errorf("labels %v", img.Config.Config.Labels)
	}
	// The environment runs: a Dockerfile on top of the image calls tool.
	dir := t.TempDir()
	run := newProject(t, "Dockerfile", "FROM "+ref+"\nRUN tool > /run.txt\n", map[string]string{})
	_ = dir
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, e.Ref("it/conda-run:1")); err != nil {
		t.Fatal(err)
	}
	if got := read(e.Ref("it/conda-run:1"), "/run.txt"); got != "tool 2.0 in "+prefix+"\nlibfoo for x86_64\n" {
		t.Errorf("tool output %q", got)
	}

	// Pinning another version of one package changes its layer (and the
	// environment's metadata, whose history lists the packages).
	p2 := env("=1.0")
	ref2 := e.Ref("it/conda:2")
	if out, err := clients[0].build(t, e, p2, ref2, nil); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	img2, err := e.Reg.Image(ctx, ref2, "linux/amd64")
	if err != nil {
		t.Fatal(err)
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
		t.Errorf("%d of %d layers changed, want 2 (tool's and the metadata's)", changed, len(img2.Manifest.Layers))
	}
}

// Each platform gets its own solution and packages, linked on the build
// platform without emulation.
func TestCondaMultiPlatform(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), libfoo("linux-aarch64", "aarch64"), tool("2.0", "linux-64"), tool("2.0", "linux-aarch64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: conda-multi\nimage: "+e.Base.Multi+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	ref := e.Ref("it/conda-multi:1")
	if out, err := clients[0].build(t, e, p, ref, []string{"linux/amd64", "linux/arm64"}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx := ctxFor(t)
	for plat, arch := range map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"} {
		got, err := e.Reg.ReadFile(ctx, ref, plat, envllb.DefaultPrefix+"/lib/libfoo.txt")
		if err != nil || string(got) != "libfoo for "+arch+"\n" {
			t.Errorf("%s: libfoo.txt %q %v", plat, got, err)
		}
	}
}

// Unsatisfiable requests and bad specs fail with the conda file's line.
func TestCondaErrors(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: conda-bad\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - tool >=3\n"})
	out, err := clients[1].build(t, e, p, e.Ref("it/conda-bad:1"), nil)
	if err == nil || !strings.Contains(string(out), "tool >=3") {
		t.Errorf("unsatisfiable: %v\n%s", err, out)
	}
	p = newProject(t, "environment.yml", syntax(t, e)+"name: conda-bad\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - tool\n  - 'numpy >>1'\n"})
	out, err = clients[1].build(t, e, p, e.Ref("it/conda-bad:2"), nil)
	if err == nil || !strings.Contains(string(out), ">>>   - 'numpy >>1'") {
		t.Errorf("bad spec not marked in conda.yml: %v\n%s", err, out)
	}
	p = newProject(t, "environment.yml", syntax(t, e)+"name: conda-bad\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [./my-channel]\ndependencies: [tool]\n"})
	out, err = clients[1].build(t, e, p, e.Ref("it/conda-bad:3"), nil)
	if err == nil || !strings.Contains(string(out), `channel "./my-channel" is not reachable from BuildKit`) {
		t.Errorf("local channel: %v\n%s", err, out)
	}
	p = newProject(t, "environment.yml", syntax(t, e)+"name: conda-bad\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + ch + "]\ndependencies:\n  - tool\n  - file:///srv/chan::libfoo\n"})
	out, err = clients[1].build(t, e, p, e.Ref("it/conda-bad:4"), nil)
	if err == nil || !strings.Contains(string(out), `channel "file:///srv/chan", which this dependency names, is not reachable from BuildKit`) ||
		!strings.Contains(string(out), ">>>   - file:///srv/chan::libfoo") {
		t.Errorf("a dependency's local channel not marked in conda.yml: %v\n%s", err, out)
	}
}

// envkit build runs the frontend in-process; with --helper-image it links
// conda packages with the frontend image's binary.
func TestCLIBuildConda(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	p := newProject(t, "env.yml", "name: cli-conda\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	ref := e.Ref("it/cli-conda:1")
	out, err := exec.Command(bin, "build", "--addr", e.BuildkitAddr, "-t", ref, "--progress", "plain", "--helper-image", frontend(t, e), filepath.Join(p.dir, p.file)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := e.Reg.ReadFile(ctxFor(t), ref, "linux/amd64", envllb.DefaultPrefix+"/lib/libfoo.txt")
	if err != nil || string(got) != "libfoo for x86_64\n" {
		t.Errorf("libfoo.txt %q %v", got, err)
	}
	// Without a helper image the build says what is missing (in another
	// repository: in this one the image of the hash is reused).
	out, err = exec.Command(bin, "build", "--addr", e.BuildkitAddr, "-t", e.Ref("it/cli-conda-nohelper:1"), "--progress", "plain", filepath.Join(p.dir, p.file)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "needs envkit's frontend image") {
		t.Errorf("no helper: %v\n%s", err, out)
	}
}

// A lock file pins what unpinned packages resolved to: after the channel
// gains a newer tool, a build with the lock still installs the locked one,
// without fetching repodata; without the lock the build takes the new one.
func TestCondaLockfileResolvesOnce(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	chDir := t.TempDir()
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(chDir)))
	t.Cleanup(srv.Close)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: locked\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels: [" + srv.URL + "]\ndependencies: [tool]\n"})
	lockOut, err := exec.Command(bin, "lock", "-p", "linux-64", "-f", filepath.Join(p.dir, "conda.yml")).Output()
	if err != nil {
		t.Fatalf("envkit lock: %v", err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "conda-lock.yml"), lockOut, 0o644); err != nil {
		t.Fatal(err)
	}
	// The channel moves on.
	if err := condatest.WriteChannel(chDir, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), tool("3.0", "linux-64")); err != nil {
		t.Fatal(err)
	}
	tool := func(ref string) string {
		b, err := e.Reg.ReadFile(ctxFor(t), ref, "linux/amd64", envllb.DefaultPrefix+"/bin/tool")
		if err != nil {
			t.Fatal(err)
		}
		return strings.SplitN(string(b), "\n", 3)[1]
	}
	out, err := clients[1].build(t, e, p, e.Ref("it/locked:1"), nil, "build-arg:ENVKIT_LOCKFILE=conda-lock.yml")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := tool(e.Ref("it/locked:1")); !strings.Contains(got, "tool 2.0") {
		t.Errorf("with the lock: %q", got)
	}
	if strings.Contains(string(out), "repodata") {
		t.Errorf("a fresh lock still fetched repodata:\n%s", out)
	}
	if out, err := clients[0].build(t, e, p, e.Ref("it/locked:2"), nil); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := tool(e.Ref("it/locked:2")); !strings.Contains(got, "tool 3.0") {
		t.Errorf("without the lock: %q", got)
	}
}

// A patched base image (its tag moved) rebuilds none of the environment:
// the package layers are reused as they are, on the new base.
func TestCondaPatchedBase(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	baseRef := e.Ref("it/patchable:1")
	pushBase := func(patch string) { t.Helper(); pushPatchedBase(t, e, baseRef, patch) }
	pushBase("1")
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: patched\nimage: "+baseRef+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	build := func(ref string) (*harness.Image, string) {
		t.Helper()
		out, err := clients[0].build(t, e, p, ref, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		img, err := e.Reg.Image(ctx, ref, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		return img, string(out)
	}
	before, _ := build(e.Ref("it/patched:1"))
	pushBase("2")
	after, out := build(e.Ref("it/patched:2"))
	if got, err := e.Reg.ReadImageFile(ctx, after, "/etc/patch-level"); err != nil || string(got) != "2\n" {
		t.Errorf("not rebuilt on the patched base: %q %v", got, err)
	}
	n := len(before.Manifest.Layers)
	if len(after.Manifest.Layers) != n {
		t.Fatalf("layers %d -> %d", n, len(after.Manifest.Layers))
	}
	// base layers, then libfoo, tool and the metadata: the last three are
	// the same blobs.
	for i := n - 3; i < n; i++ {
		if before.Manifest.Layers[i].Digest != after.Manifest.Layers[i].Digest {
			t.Errorf("environment layer %d changed with the base", i)
		}
	}
	if before.Manifest.Layers[n-4].Digest == after.Manifest.Layers[n-4].Digest {
		t.Errorf("the base's top layer did not change")
	}
	if !regexp.MustCompile(`conda: link tool-2.0-0\n#\d+ CACHED`).MatchString(out) {
		t.Errorf("the package was linked again:\n%s", out)
	}
	if before.Config.Config.Labels["org.opencontainers.image.base.digest"] == after.Config.Config.Labels["org.opencontainers.image.base.digest"] {
		t.Errorf("base.digest label did not follow the patched base")
	}
}

// Conda layers are reproducible: after BuildKit's cache is emptied, a
// rebuild makes the same layers, and with SOURCE_DATE_EPOCH the same image.
func TestCondaReproducible(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	p := newProject(t, "environment.yml", syntax(t, e)+"name: repro\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [tool]\n", map[string]string{})
	build := func(ref string) *harness.Image {
		return mustBuild(t, e, clients[0], p, ref, "build-arg:SOURCE_DATE_EPOCH=1700000000")
	}
	a := build(e.Ref("it/repro:1"))
	if out, err := e.Buildctl(ctxFor(t), "prune", "--all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	b := build(e.Ref("it/repro:2"))
	if a.Digest != b.Digest {
		for i := range a.Manifest.Layers {
			if i < len(b.Manifest.Layers) && a.Manifest.Layers[i].Digest != b.Manifest.Layers[i].Digest {
				t.Errorf("layer %d differs: %s vs %s", i, a.Manifest.Layers[i].Digest, b.Manifest.Layers[i].Digest)
			}
		}
		t.Errorf("image %s, rebuilt %s", a.Digest, b.Digest)
	}
}

// Different environments share the layers of the packages they have in
// common, whatever their names: a registry stores each package once.
func TestCondaLayersShared(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"))
	layers := func(name, deps string) map[string]bool {
		p := newProject(t, "environment.yml", syntax(t, e)+"name: "+name+"\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: ["+deps+"]\n", map[string]string{})
		img := mustBuild(t, e, clients[0], p, e.Ref("it/"+name+":1"))
		m := map[string]bool{}
		for _, l := range img.Manifest.Layers {
			m[l.Digest.String()] = true
		}
		return m
	}
	a, b := layers("share-a", "tool"), layers("share-b", "libfoo")
	var shared int
	for d := range b {
		if a[d] {
			shared++
		}
	}
	// the base layer and libfoo's
	if shared != 2 {
		t.Errorf("%d layers shared, want the base's and libfoo's", shared)
	}
}

// A real .tar.bz2 package (conda's cph_test_data: noarch, symlinks, one
// of them dangling) installs like a .conda one.
func TestCondaTarBz2(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, condatest.Package{Archive: testdata.Path(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2")})
	p := newProject(t, "environment.yml", syntax(t, e)+"name: bz2\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [cph_test_data]\n", map[string]string{})
	ref := e.Ref("it/bz2:1")
	img := mustBuild(t, e, clients[0], p, ref)
	ctx := ctxFor(t)
	files, err := e.Reg.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	hello := files[envllb.DefaultPrefix+"/bin/hello"]
	if hello == nil || hello.Header.Typeflag != '2' || hello.Header.Linkname != "hello-1.0" {
		t.Errorf("bin/hello: %+v", hello)
	}
	body, err := e.Reg.ReadImageFile(ctx, img, envllb.DefaultPrefix+"/bin/hello")
	if err != nil || len(body) == 0 {
		t.Errorf("bin/hello through its link: %q %v", body, err)
	}
	if files[envllb.DefaultPrefix+"/conda-meta/cph_test_data-0.0.1-0.json"] == nil {
		t.Error("no conda-meta record")
	}
}

// An environment whose metadata is larger than one command-line argument
// may be (Linux caps one at 128 KiB) builds: the helper reads the records
// from files mounted into its execs, not from its argv.
func TestCondaLargeMetadata(t *testing.T) {
	e := harness.Get(t)
	var depends []string
	for i := range 150 {
		depends = append(depends, fmt.Sprintf("libfoo >=1.0,!=0.0.%04d,!=0.1.%04d", i, i))
	}
	const n = 40
	pkgs := []condatest.Package{libfoo("linux-64", "x86_64")}
	var names []string
	for i := range n {
		name := fmt.Sprintf("big%02d", i)
		names = append(names, name)
		pkgs = append(pkgs, condatest.Package{Name: name, Version: "1.0", Build: "0", Depends: depends,
			Files: []condatest.File{{Path: "share/" + name + ".txt", Content: name + "\n"}}})
	}
	if size := n * len(strings.Join(depends, `", "`)); size <= 128<<10 {
		t.Fatalf("the records' depends hold %d bytes: not over one argument's limit", size)
	}
	ch := condaChannel(t, pkgs...)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: large-meta\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: ["+strings.Join(names, ", ")+"]\n", map[string]string{})
	ref := e.Ref("it/large-meta:1")
	img := mustBuild(t, e, clients[0], p, ref)
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(img.Manifest.Layers), len(base.Manifest.Layers)+n+2; got != want {
		t.Errorf("%d layers, want %d: the base's, one per package (%d) and the metadata's", got, want, n+1)
	}
	history, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/conda-meta/history")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(names, "libfoo") {
		if !regexp.MustCompile(`(?m)^\+.*::` + name + `-1\.0-`).Match(history) {
			t.Errorf("conda-meta/history does not list %s:\n%s", name, history)
		}
	}
	rec, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/conda-meta/big39-1.0-0.json")
	if err != nil || !strings.Contains(string(rec), "!=0.1.0149") {
		t.Errorf("big39's conda-meta record lacks its depends: %v\n%.300s", err, rec)
	}
	if got, err := e.Reg.ReadFile(ctx, ref, "linux/amd64", envllb.DefaultPrefix+"/share/big17.txt"); err != nil || string(got) != "big17\n" {
		t.Errorf("share/big17.txt: %q %v", got, err)
	}
}
