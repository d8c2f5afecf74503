package integration

import (
	"archive/tar"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	envfrontend "github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/testdata"
	envllb "github.com/envkit/envkit/llb"
)

// maxLayersArg sets the image's layer limit.
const maxLayersArg = envfrontend.KeyMaxLayersArg

// clobberPackages are conda's clobber test packages that need no Python:
// files several packages write, a file where another package has a
// directory and the reverse, symlinks over symlinks.
var clobberPackages = []string{
	"clobber-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-2-0.1.0-h4616a5c_0.tar.bz2", "clobber-3-0.1.0-h4616a5c_0.tar.bz2",
	"clobber-fd-1-0.1.0-h4616a5c_0.conda", "clobber-fd-2-0.1.0-h4616a5c_0.conda", "clobber-fd-3-0.1.0-h4616a5c_0.conda",
	"clobber-fd-rev-1-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-2-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-3-0.1.0-h4616a5c_0.conda",
	"clobber-with-dir-0.1.0-h4616a5c_0.conda", "clobber-without-dir-0.1.0-h4616a5c_0.conda",
	"clobber-with-symlink-a-0.1.0-h4616a5c_0.conda", "clobber-with-symlink-b-0.1.0-h4616a5c_0.conda",
	"clobber-pypy-0.1.0-h4616a5c_0.conda", "clobber-python-0.1.0-pypy.conda",
}

// envFiles describes the files of img under the environment's prefix:
// type, mode, time, link target and content of each path.
func envFiles(t *testing.T, e *harness.Env, img *harness.Image) map[string]string {
	t.Helper()
	ctx := ctxFor(t)
	files, err := e.Reg.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for p, f := range files {
		if !strings.HasPrefix(p, envllb.DefaultPrefix+"/") {
			continue
		}
		h := f.Header
		d := fmt.Sprintf("type %c mode %o time %d", h.Typeflag, h.Mode, h.ModTime.Unix())
		switch h.Typeflag {
		case tar.TypeSymlink:
			d += " -> " + h.Linkname
		case tar.TypeReg, tar.TypeLink:
			b, err := e.Reg.ReadImageFile(ctx, img, p)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			d += " content " + strconv.Quote(string(b))
		}
		out[p] = d
	}
	return out
}

// Packages that share a layer give the files that one layer per package
// gives, clobbers included (the last package in link order wins, a file
// hides a directory and the reverse, as merging their layers would).
func TestCondaBudgetClobbers(t *testing.T) {
	e := harness.Get(t)
	var pkgs []condatest.Package
	var deps []string
	for _, f := range clobberPackages {
		pkgs = append(pkgs, condatest.Package{Archive: testdata.Path(t, "conda", "packages", "clobber", f)})
		if name, _, _ := strings.Cut(strings.TrimSuffix(strings.TrimSuffix(f, ".conda"), ".tar.bz2"), "-0.1.0-"); name != "clobber-pypy" {
			deps = append(deps, name)
		}
	}
	ch := condaChannel(t, pkgs...)
	deps[len(deps)-1] += "=0.1.0=pypy"
	p := newProject(t, "environment.yml", syntax(t, e)+"name: budget-clobber\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: ['"+strings.Join(deps, "', '")+"']\n", map[string]string{})
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	alone := mustBuild(t, e, clients[0], p, e.Ref("it/budget-clobber:alone"))
	if got, want := len(alone.Manifest.Layers), len(base.Manifest.Layers)+len(clobberPackages)+1; got != want {
		t.Fatalf("%d layers, want %d: one per package", got, want)
	}
	want := envFiles(t, e, alone)
	if len(want) < 20 {
		t.Fatalf("only %d files in the environment: %v", len(want), want)
	}
	for _, envLayers := range []int{1, 3, 6} {
		max := len(base.Manifest.Layers) + envLayers + 1
		img := mustBuild(t, e, clients[envLayers%2], p, e.Ref(fmt.Sprintf("it/budget-clobber:%d", envLayers)), maxLayersArg+"="+strconv.Itoa(max))
		if got := len(img.Manifest.Layers); got > max {
			t.Errorf("%d layers, want at most %d", got, max)
		}
		got := envFiles(t, e, img)
		for p, w := range want {
			if got[p] != w {
				t.Errorf("%d layers for the packages: %s is %q, one layer per package gives %q", envLayers, p, got[p], w)
			}
		}
		for p, g := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("%d layers for the packages: %s (%s) is not there with one layer per package", envLayers, p, g)
			}
		}
	}
}

// many returns n packages with a tool each (tool-<i> prints its version),
// and a second version of package number bump.
func many(n, bump int) []condatest.Package {
	var pkgs []condatest.Package
	for i := range n {
		versions := []string{"1.0"}
		if i == bump {
			versions = append(versions, "2.0")
		}
		for _, v := range versions {
			name := fmt.Sprintf("many-%d", i)
			pkgs = append(pkgs, condatest.Package{Name: name, Version: v, Build: "0", Files: []condatest.File{
				{Path: "bin/tool-" + strconv.Itoa(i), Mode: 0o755, Prefix: true,
					Content: "#!/bin/sh\necho \"" + name + " " + v + " in " + condatest.Placeholder + "\"\n"},
				{Path: "share/many/" + name + ".txt", Content: name + " " + v + "\n"},
			}})
		}
	}
	return pkgs
}

// 60 packages under a small layer budget: the image stays within it, its
// tools run in a RUN on top of it, and pinning one package to another
// version changes its group's layer and the metadata's only.
func TestCondaBudgetMany(t *testing.T) {
	e := harness.Get(t)
	const n, bump = 60, 17
	ch := condaChannel(t, many(n, bump)...)
	ctx := ctxFor(t)
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	max := len(base.Manifest.Layers) + 1 + 12
	env := func(pin string) project {
		deps := make([]string, n)
		for i := range deps {
			deps[i] = fmt.Sprintf("many-%d", i)
		}
		deps[bump] += pin
		return newProject(t, "environment.yml", syntax(t, e)+"name: budget-many\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: ["+strings.Join(deps, ", ")+"]\n", map[string]string{})
	}
	arg := maxLayersArg + "=" + strconv.Itoa(max)
	ref := e.Ref("it/budget-many:1")
	img := mustBuild(t, e, clients[1], env(""), ref, arg)
	if got := len(img.Manifest.Layers); got > max || got < len(base.Manifest.Layers)+3 {
		t.Errorf("%d layers, want at most %d (and the packages in more than one)", got, max)
	}
	run := newProject(t, "Dockerfile", "FROM "+ref+"\nRUN tool-0 > /run.txt && tool-"+strconv.Itoa(bump)+" >> /run.txt && tool-"+strconv.Itoa(n-1)+" >> /run.txt\n", map[string]string{})
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, e.Ref("it/budget-many-run:1")); err != nil {
		t.Fatal(err)
	}
	p := envllb.DefaultPrefix
	if got, err := e.Reg.ReadFile(ctx, e.Ref("it/budget-many-run:1"), "linux/amd64", "/run.txt"); err != nil ||
		string(got) != fmt.Sprintf("many-0 1.0 in %s\nmany-%d 2.0 in %s\nmany-%d 1.0 in %s\n", p, bump, p, n-1, p) {
		t.Errorf("tools: %q %v", got, err)
	}

	img2 := mustBuild(t, e, clients[0], env("=1.0"), e.Ref("it/budget-many:2"), arg)
	if got, err := e.Reg.ReadImageFile(ctx, img2, p+"/share/many/many-"+strconv.Itoa(bump)+".txt"); err != nil || string(got) != fmt.Sprintf("many-%d 1.0\n", bump) {
		t.Errorf("pinned: %q %v", got, err)
	}
	had := map[string]bool{}
	for _, l := range img.Manifest.Layers {
		had[l.Digest.String()] = true
	}
	changed := 0
	for _, l := range img2.Manifest.Layers {
		if !had[l.Digest.String()] {
			changed++
		}
	}
	if changed > 2 || len(img2.Manifest.Layers) != len(img.Manifest.Layers) {
		t.Errorf("pinning one package changed %d of %d layers (%d before), want its group's and the metadata's", changed, len(img2.Manifest.Layers), len(img.Manifest.Layers))
	}
}

// A base image that leaves no layer for the environment under the limit
// fails with its name, its layer count and the option to raise.
func TestCondaBudgetBaseTooDeep(t *testing.T) {
	e := harness.Get(t)
	ch := condaChannel(t, many(2, -1)...)
	p := newProject(t, "environment.yml", syntax(t, e)+"name: budget-deep\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: [many-0, many-1]\n", map[string]string{})
	base, err := e.Reg.Image(ctxFor(t), e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	layers := len(base.Manifest.Layers)
	for _, c := range clients {
		out, err := c.build(t, e, p, e.Ref("it/budget-deep:1"), nil, maxLayersArg+"="+strconv.Itoa(layers+1))
		for _, want := range []string{e.Base.Base, fmt.Sprintf("%d layers", layers), "--build-arg ENVKIT_MAX_LAYERS=N", envfrontend.KeyMaxLayers + "=N", fmt.Sprintf("at least %d", layers+2), ">>> image: " + e.Base.Base} {
			if err == nil || !strings.Contains(string(out), want) {
				t.Errorf("%s: %v: the error does not say %q:\n%s", c.name, err, want, out)
			}
		}
	}
}

// envkit build --max-layers K gives an image of at most K layers, of the
// same packages and the same hash as without it; an image of the hash with
// more layers is built again (with its stored lock), one within K is
// reused, and so is it by a build without the flag.
func TestCLIBuildMaxLayers(t *testing.T) {
	e := harness.Get(t)
	bin := envkitBinary(t)
	ctx := ctxFor(t)
	const n = 12
	ch := condaChannel(t, many(n, -1)...)
	deps := make([]string, n)
	for i := range deps {
		deps[i] = fmt.Sprintf("many-%d", i)
	}
	p := newProject(t, "env.yml", "name: cli-max-layers\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+ch+"]\n  dependencies: ["+strings.Join(deps, ", ")+"]\n", map[string]string{})
	file := filepath.Join(p.dir, p.file)
	hashOut, err := exec.Command(bin, "hash", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(string(hashOut))
	base, err := e.Reg.Image(ctx, e.Base.Base, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	image := func(ref string) *harness.Image {
		t.Helper()
		img, err := e.Reg.Image(ctx, ref, "linux/amd64")
		if err != nil {
			t.Fatal(err)
		}
		return img
	}

	wide, _ := cliBuild(t, e, bin, file, e.Ref("it/cli-max-layers:wide"), "--platform", "linux/amd64")
	wideImg := image(e.Ref("it/cli-max-layers:wide"))
	if got, want := len(wideImg.Manifest.Layers), len(base.Manifest.Layers)+n+1; wide.Hash != h || got != want {
		t.Fatalf("without --max-layers: hash %s (envkit hash: %s), %d layers, want %d: one per package", wide.Hash, h, got, want)
	}
	k := len(base.Manifest.Layers) + 1 + 3
	narrow, log := cliBuild(t, e, bin, file, e.Ref("it/cli-max-layers:narrow"), "--platform", "linux/amd64", "--max-layers", strconv.Itoa(k))
	narrowImg := image(e.Ref("it/cli-max-layers:narrow"))
	if got := len(narrowImg.Manifest.Layers); narrow.Reused || narrow.Hash != h || got > k || got < len(base.Manifest.Layers)+3 {
		t.Errorf("--max-layers %d: %+v (hash %s), %d layers, want at most %d, the packages in more than one", k, narrow, h, got, k)
	}
	if want := fmt.Sprintf("building: %s has %d layers for linux/amd64, more than --max-layers %d", e.Ref("it/cli-max-layers:"+h), len(wideImg.Manifest.Layers), k); !strings.Contains(log, want) ||
		!strings.Contains(log, "installing the packages "+h+" resolved to first") {
		t.Errorf("--max-layers %d over the wider image: the log does not say %q, nor that it installs the stored lock:\n%s", k, want, log)
	}
	want, got := envFiles(t, e, wideImg), envFiles(t, e, narrowImg)
	if len(want) < n || !maps.Equal(got, want) {
		t.Errorf("--max-layers %d: the environment's files differ from one layer per package's:\n%v\nwant\n%v", k, got, want)
	}
	for _, args := range [][]string{{"--max-layers", strconv.Itoa(k)}, nil} {
		again, _ := cliBuild(t, e, bin, file, e.Ref("it/cli-max-layers:again"), append([]string{"--platform", "linux/amd64"}, args...)...)
		if !again.Reused || again.Digest != narrow.Digest {
			t.Errorf("%q after --max-layers %d: %+v, want the %d-layer image %s reused", args, k, again, len(narrowImg.Manifest.Layers), narrow.Digest)
		}
	}
	// --rebuild builds again, with the stored lock, an image that would be
	// reused: without --max-layers, the first build's image, to the byte.
	re, log := cliBuild(t, e, bin, file, e.Ref("it/cli-max-layers:rebuilt"), "--platform", "linux/amd64", "--rebuild")
	if want := "building: --rebuild: " + e.Ref("it/cli-max-layers:"+h) + " is built again with its stored lock"; re.Reused || re.Hash != h || !strings.Contains(log, want) ||
		!strings.Contains(log, "installing the packages "+h+" resolved to first") {
		t.Errorf("--rebuild: %+v; the log does not say %q, nor that it installs the stored lock:\n%s", re, want, log)
	}
	if re.Digest != wide.Digest {
		t.Errorf("--rebuild: image %s, want the first build's %s (one layer per package, the same lock)", re.Digest, wide.Digest)
	}
}

// BenchmarkCondaBudgetCold measures a cold build of 200 small packages with
// a layer each (one exec each) and sharing layers under the default limit
// and a small one (one exec per layer):
//
//	go test -run '^$' -bench CondaBudgetCold -benchtime 1x ./integration
//
// Compare the sub-benchmarks' ns/op within one run.
func BenchmarkCondaBudgetCold(b *testing.B) {
	e := harness.Get(b)
	const n = 200
	srv := condaChannel(b, many(n, -1)...)
	deps := make([]string, n)
	for i := range deps {
		deps[i] = fmt.Sprintf("many-%d", i)
	}
	p := newProject(b, "environment.yml", syntax(b, e)+"name: budget-bench\nimage: "+e.Base.Base+"\nconda_file:\n  channels: ["+srv+"]\n  dependencies: ["+strings.Join(deps, ", ")+"]\n", map[string]string{})
	for _, c := range []struct{ name, max string }{{"layer-each", "1000"}, {"limit-100", "100"}, {"limit-20", "20"}} {
		b.Run(c.name, func(b *testing.B) {
			var layers int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if out, err := e.Buildctl(ctxFor(b), "prune", "--all"); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				b.StartTimer()
				ref := e.Ref("bench/budget:" + c.name)
				if out, err := clients[0].build(b, e, p, ref, nil, maxLayersArg+"="+c.max); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				b.StopTimer()
				img, err := e.Reg.Image(ctxFor(b), ref, "linux/amd64")
				if err != nil {
					b.Fatal(err)
				}
				layers = len(img.Manifest.Layers)
				b.StartTimer()
			}
			b.ReportMetric(float64(layers), "layers")
		})
	}
}
