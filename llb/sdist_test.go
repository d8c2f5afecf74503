package llb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

func testSdist(name, version string) *Wheel {
	fn := name + "-" + version + ".tar.gz"
	sum := sha256.Sum256([]byte(fn))
	return &Wheel{Name: name, Version: version, Filename: fn, URL: "https://pypi.example/packages/" + fn, SHA256: hex.EncodeToString(sum[:]), Sdist: true, Requested: true}
}

// An sdist is fetched by its sha256 and built by the environment's python
// (pip wheel, with the request's indexes and SOURCE_DATE_EPOCH, network
// allowed) on the image below merged with the conda packages and the
// wheels that need no building; the helper's wheel exec installs what it
// built, without network, into a layer of its own in the wheels' order.
func TestSdistLayers(t *testing.T) {
	recs := testRecords(t)
	c := testConda(recs...)
	c.Wheels = []*Wheel{testWheel("attrs", "23.1.0", ""), testSdist("demo", "1.0"), testWheel("pip", "23.0.1", "")}
	c.PipIndexes = []string{"http://127.0.0.1:8080/simple/", "https://extra.example/simple/"}
	if _, err := c.Layers(); err == nil || !strings.Contains(err.Error(), "LayersOn") {
		t.Errorf("Layers with an sdist: %v", err)
	}
	base := bkllb.Image("docker.io/library/debian:bookworm")
	layers, err := c.LayersOn(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(recs)+len(c.Wheels)+1 {
		t.Fatalf("%d layers for %d packages and %d wheels", len(layers), len(recs), len(c.Wheels))
	}
	g := marshal(t, bkllb.Merge(append([]bkllb.State{base}, layers...)))
	build := g.named(t, "pip: build a wheel from demo-1.0.tar.gz")
	e := build.GetExec()
	if e.Network == pb.NetMode_NONE {
		t.Error("the build has no network for its build dependencies")
	}
	args := e.Meta.Args
	if args[0] != DefaultPrefix+"/bin/python3.10" || args[2] != "/envkit/build_sdist.py" ||
		args[3] != "/sdist/demo-1.0.tar.gz" || !slices.Equal(args[len(args)-4:], []string{"--index-url", c.PipIndexes[0], "--extra-index-url", c.PipIndexes[1]}) {
		t.Errorf("build args %q", args)
	}
	if !slices.Contains(e.Meta.Env, "SOURCE_DATE_EPOCH="+sdistEpoch) {
		t.Errorf("build env %q", e.Meta.Env)
	}
	_, sc := g.mount(t, build, sdistScriptDir)
	if got := string(mkfile(t, sc, sdistScriptFile)); !strings.Contains(got, `"pip", "wheel", "--no-deps", "--no-cache-dir"`) {
		t.Errorf("build script %q", got)
	}
	m, src := g.mount(t, build, sdistDir)
	if s := src.GetSource(); !m.Readonly || s == nil || s.Attrs[pb.AttrHTTPChecksum] != "sha256:"+c.Wheels[1].SHA256 {
		t.Errorf("sdist mount %+v of %+v", m, src)
	}
	_, root := g.mount(t, build, "/")
	mg := root.GetMerge()
	if mg == nil || len(root.Inputs) != 1+len(recs)+2 {
		t.Fatalf("the build runs on %+v, want the base, %d conda layers and 2 wheels merged", root, len(recs))
	}
	var below []string
	for _, in := range root.Inputs[1:] {
		below = append(below, g.names[digest.Digest(in.Digest)])
	}
	if got := below[len(below)-2:]; !slices.Equal(got, []string{"pip: install attrs-23.1.0-py3-none-any.whl", "pip: install pip-23.0.1-py3-none-any.whl"}) {
		t.Errorf("the build's wheels: %q", got)
	}
	install := g.named(t, "pip: install the wheel built from demo-1.0.tar.gz")
	ie := install.GetExec()
	h, err := helper.ParseWheel(ie.Meta.Args[1:])
	if err != nil || h.Input != helper.WheelDir+"/0/"+helper.WheelInputFile || ie.Network != pb.NetMode_NONE {
		t.Errorf("install exec %q, %v", ie.Meta.Args, err)
	}
	if _, in := g.mount(t, install, helper.WheelDir+"/0"); in != build {
		t.Error("the install does not read the build's output")
	}
	var top *pb.Op
	for _, op := range g.ops {
		if op.GetMerge() != nil && (top == nil || len(op.Inputs) > len(top.Inputs)) {
			top = op
		}
	}
	var order []string
	for _, in := range top.Inputs[1+len(recs):] {
		order = append(order, g.names[digest.Digest(in.Digest)])
	}
	if want := []string{"pip: install attrs-23.1.0-py3-none-any.whl", "pip: install the wheel built from demo-1.0.tar.gz", "pip: install pip-23.0.1-py3-none-any.whl"}; !slices.Equal(order[:3], want) {
		t.Errorf("wheel layers %q, want %q", order, want)
	}
}

// An sdist cannot be built without pip below it, nor with an index that
// takes credentials.
func TestSdistRefusals(t *testing.T) {
	c := testConda(testRecords(t)...)
	c.Wheels = []*Wheel{testSdist("demo", "1.0")}
	if _, err := c.LayersOn(bkllb.Scratch()); err == nil || err.Error() != "building demo-1.0.tar.gz needs pip in the conda environment: add pip to its dependencies" {
		t.Errorf("without pip: %v", err)
	}
	c.Wheels = append(c.Wheels, testWheel("pip", "23.0.1", ""))
	c.PipIndexes = []string{"https://user:tok3n@private.example/simple/"}
	_, err := c.LayersOn(bkllb.Scratch())
	if err == nil || !strings.Contains(err.Error(), "building demo-1.0.tar.gz") || !strings.Contains(err.Error(), "takes credentials") || strings.Contains(err.Error(), "tok3n") {
		t.Errorf("index with credentials: %v", err)
	}
	c.PipIndexes = []string{"https://private.example/simple/"}
	c.Auth = Auth{"private.example": true}
	if _, err := c.LayersOn(bkllb.Scratch()); err == nil || !strings.Contains(err.Error(), "takes credentials") {
		t.Errorf("index with a secret: %v", err)
	}
}

// Under a layer budget, an sdist's wheel keeps a layer of its own (its
// install reads what its build wrote), the wheels around it sharing
// theirs.
func TestSdistBudget(t *testing.T) {
	for _, n := range []int{12, 40} { // 40: wheel layers in batches
		recs := testRecords(t)
		c := testConda(recs...)
		for i := range n {
			c.Wheels = append(c.Wheels, testWheel(fmt.Sprintf("w%02d", i), "1.0", ""))
		}
		c.Wheels = append(c.Wheels[:6:6], append([]*Wheel{testSdist("demo", "1.0"), testWheel("pip", "23.0.1", "")}, c.Wheels[6:]...)...)
		c.PackageLayers = len(recs) + n*3/4
		groups, err := c.WheelGroups()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, g := range groups {
			for _, w := range g {
				if w.Sdist {
					found = true
					if len(g) != 1 {
						t.Errorf("%d wheels: the sdist shares its layer: %q", n, wheelGroupName(g))
					}
				}
			}
		}
		cg, _ := c.Groups()
		if !found || len(groups)+len(cg) > c.PackageLayers || len(groups) >= len(c.Wheels) {
			t.Errorf("%d wheels: %d conda and %d wheel layers over a budget of %d (sdist in one: %v)", n, len(cg), len(groups), c.PackageLayers, found)
		}
		layers, err := c.LayersOn(bkllb.Image("docker.io/library/debian:bookworm"))
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != len(cg)+len(groups)+1 {
			t.Errorf("%d wheels: %d layers for %d groups", n, len(layers), len(cg)+len(groups))
		}
		g := marshal(t, bkllb.Merge(layers))
		g.named(t, "pip: install the wheel built from demo-1.0.tar.gz")
		batched := false
		for _, name := range g.names {
			batched = batched || strings.HasPrefix(name, "pip: install ") && strings.HasSuffix(name, " layers")
		}
		if batched != (n == 40) {
			t.Errorf("%d wheels: batched %v", n, batched)
		}
	}
}
