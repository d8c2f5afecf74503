package llb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/pypi/wheel"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// testWheel is a wheel as a lock would give it, its sha256 that of its
// file name and salt (a rebuilt wheel of the same version).
func testWheel(name, version, salt string) *Wheel {
	fn := name + "-" + version + "-py3-none-any.whl"
	sum := sha256.Sum256([]byte(fn + salt))
	return &Wheel{Name: name, Version: version, Filename: fn, URL: "https://pypi.example/packages/" + fn, SHA256: hex.EncodeToString(sum[:])}
}

func testWheels() []*Wheel {
	ws := []*Wheel{testWheel("attrs", "23.1.0", ""), testWheel("requests", "2.31.0", ""), testWheel("urllib3", "2.0.7", "")}
	ws[1].Requested = true
	ws[2].DirectURL = &wheel.DirectURL{URL: ws[2].URL, Archive: &wheel.ArchiveInfo{}}
	return ws
}

// mergeInputs returns the ops of the merge's inputs, in merge order.
func mergeInputs(t *testing.T, g *graph) []*pb.Op {
	t.Helper()
	var merge *pb.Op
	for _, op := range g.ops {
		if op.GetMerge() != nil {
			merge = op
		}
	}
	if merge == nil {
		t.Fatal("no merge")
	}
	out := make([]*pb.Op, len(merge.Inputs))
	for i, in := range merge.Inputs {
		out[i] = g.ops[digest.Digest(in.Digest)]
	}
	return out
}

// helperCommand is an exec's helper subcommand ("" for other ops).
func helperCommand(op *pb.Op) string {
	if e := op.GetExec(); e != nil && len(e.Meta.Args) > 1 && e.Meta.Args[0] == helper.Path {
		return e.Meta.Args[1]
	}
	return ""
}

// Each wheel is an HTTP source by its sha256, installed by the helper in
// an exec without network into a layer of its own, after the conda
// packages' layers and before the metadata's; the helper reads back, from
// the exec's read-only input mount, the environment's python from its
// conda record, the prefix, and each wheel's file in its mount, REQUESTED
// and direct_url.json.
func TestWheelLayers(t *testing.T) {
	recs := testRecords(t)
	c := testConda(recs...)
	c.Wheels = testWheels()
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(recs)+len(c.Wheels)+1 {
		t.Fatalf("%d layers for %d packages and %d wheels", len(layers), len(recs), len(c.Wheels))
	}
	g := marshal(t, bkllb.Merge(layers))
	var order []string
	for _, op := range mergeInputs(t, g) {
		order = append(order, helperCommand(op))
	}
	if want := []string{"link", "link", "link", "link", "wheel", "wheel", "wheel", "meta"}; !slices.Equal(order, want) {
		t.Errorf("merge order %q, want %q", order, want)
	}
	for _, w := range c.Wheels {
		exec := g.named(t, "pip: install "+w.Filename)
		e := exec.GetExec()
		if e.Network != pb.NetMode_NONE {
			t.Errorf("%s: network %v", w.Filename, e.Network)
		}
		h, err := helper.ParseWheel(e.Meta.Args[1:])
		if err != nil {
			t.Fatalf("%s: the helper cannot parse %q: %v", w.Filename, e.Meta.Args, err)
		}
		if want := (helper.Wheel{Input: helper.InputDir + "/" + helper.WheelInputFile, Dest: helper.OutputDir}); *h != want {
			t.Errorf("%s: %+v", w.Filename, h)
		}
		m, in := g.mount(t, exec, helper.InputDir)
		if !m.Readonly {
			t.Errorf("%s: input mount writable", w.Filename)
		}
		got := readPayload(t, mkfile(t, in, helper.WheelInputFile), helper.ReadWheelInput)
		want := &helper.WheelInput{Prefix: DefaultPrefix, Platform: "linux-64",
			Python: helper.WheelPython{Version: "3.10", SitePackages: "lib/python3.10/site-packages"},
			Wheels: []helper.WheelFile{{Filename: w.Filename, Archive: helper.WheelDir + "/0/" + w.Filename, SHA256: w.SHA256, Requested: w.Requested, DirectURL: w.DirectURL}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: payload %+v, want %+v", w.Filename, got, want)
		}
		m, src := g.mount(t, exec, helper.WheelDir+"/0")
		s := src.GetSource()
		if !m.Readonly || s == nil || s.Identifier != w.URL || s.Attrs[pb.AttrHTTPChecksum] != "sha256:"+w.SHA256 || s.Attrs[pb.AttrHTTPFilename] != w.Filename {
			t.Errorf("%s: wheel mount %+v of %+v", w.Filename, m, s)
		}
		if _, out := g.mount(t, exec, helper.OutputDir); out != nil {
			t.Errorf("%s: the output is not scratch", w.Filename)
		}
	}
}

// A python from python_site_packages_path (a free-threaded build) puts
// the wheels where that python looks.
func TestWheelLayersSitePackagesPath(t *testing.T) {
	recs := testRecords(t)
	recs[0].PythonSitePackagesPath = "lib/python3.13t/site-packages"
	c := testConda(recs...)
	c.Wheels = testWheels()[:1]
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	g := marshal(t, bkllb.Merge(layers))
	_, in := g.mount(t, g.named(t, "pip: install "+c.Wheels[0].Filename), helper.InputDir)
	got := readPayload(t, mkfile(t, in, helper.WheelInputFile), helper.ReadWheelInput)
	if got.Python.SitePackages != "lib/python3.13t/site-packages" {
		t.Errorf("site-packages %q", got.Python.SitePackages)
	}
}

// A new build of one wheel changes its own install exec alone: the other
// layers' ops keep their digests.
func TestWheelLayersChangeOne(t *testing.T) {
	digests := func(ws []*Wheel) map[string]digest.Digest {
		c := testConda(testRecords(t)...)
		c.Wheels = ws
		layers, err := c.Layers()
		if err != nil {
			t.Fatal(err)
		}
		g := marshal(t, bkllb.Merge(layers))
		out := map[string]digest.Digest{}
		for d, n := range g.names {
			if strings.HasPrefix(n, "pip: install ") || strings.HasPrefix(n, "conda: link ") {
				out[n] = d
			}
		}
		return out
	}
	before := digests(testWheels())
	ws := testWheels()
	ws[1] = testWheel("requests", "2.31.0", "rebuilt")
	ws[1].Requested = true
	after := digests(ws)
	var changed []string
	for n, d := range after {
		if before[n] != d {
			changed = append(changed, n)
		}
	}
	if len(after) != len(before) || !slices.Equal(changed, []string{"pip: install requests-2.31.0-py3-none-any.whl"}) {
		t.Errorf("changed %q of %d ops", changed, len(after))
	}
}

// Wheels need the environment's python; without one the error names the
// first pip package.
func TestWheelLayersNoPython(t *testing.T) {
	c := testConda(testRecords(t)[1:3]...)
	c.Wheels = testWheels()
	if _, err := c.Layers(); err == nil || !strings.Contains(err.Error(), "attrs==23.1.0 is a pip package, but the environment has no python") {
		t.Errorf("no python: %v", err)
	}
}

// Over the budget, wheels share layers with wheels only, after the conda
// packages' groups; one exec installs a group's wheels in order, each in
// its own mount, and the layers fit the budget.
func TestWheelGroups(t *testing.T) {
	recs := append(testRecords(t)[:1], numbered(t, 40)...)
	c := testConda(recs...)
	for i := range 30 {
		c.Wheels = append(c.Wheels, testWheel(fmt.Sprintf("wheel%02d", i), "1.0", ""))
	}
	c.PackageLayers = 8
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	wgs, err := c.WheelGroups()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups)+len(wgs) > 8 || len(wgs) < 2 {
		t.Fatalf("%d conda groups and %d wheel groups for a budget of 8", len(groups), len(wgs))
	}
	var all []*Wheel
	for _, g := range wgs {
		all = append(all, g...)
	}
	if !slices.Equal(all, c.Wheels) {
		t.Errorf("the wheel groups do not cover the wheels in order")
	}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	g := marshal(t, bkllb.Merge(layers))
	ops := mergeInputs(t, g)
	for i, ws := range wgs {
		op := ops[len(groups)+i]
		if helperCommand(op) != helper.CommandWheel {
			t.Fatalf("layer %d: %q, want the wheel group %d", len(groups)+i, op.GetExec().GetMeta().GetArgs(), i)
		}
		_, in := g.mount(t, op, helper.InputDir)
		p := readPayload(t, mkfile(t, in, helper.WheelInputFile), helper.ReadWheelInput)
		if len(p.Wheels) != len(ws) {
			t.Fatalf("group %d: %d wheels in the payload, want %d", i, len(p.Wheels), len(ws))
		}
		for j, w := range ws {
			if p.Wheels[j].Filename != w.Filename {
				t.Errorf("group %d: wheel %d is %s, want %s", i, j, p.Wheels[j].Filename, w.Filename)
			}
			_, src := g.mount(t, op, fmt.Sprintf("%s/%d", helper.WheelDir, j))
			if src.GetSource().GetIdentifier() != w.URL {
				t.Errorf("group %d: mount %d holds %s", i, j, src.GetSource().GetIdentifier())
			}
		}
	}
}

// Each wheel's fetch and install op is found by the digest BuildKit names
// it by; conda packages' ops are not wheels'.
func TestWheelOps(t *testing.T) {
	c := testConda(testRecords(t)...)
	c.Wheels = testWheels()
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	def, err := bkllb.Merge(layers).Marshal(context.Background(), bkllb.LinuxArm64)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := WheelOps(def, c.Wheels)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]digest.Digest{}
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		names[def.Metadata[d].Description["llb.customname"]] = d
	}
	for _, w := range c.Wheels {
		if f, ok := ops[names["pip: fetch "+w.Filename]]; !ok || !f.Fetch || len(f.Wheels) != 1 || f.Wheels[0] != w {
			t.Errorf("%s: fetch op maps to %+v (%v)", w.Filename, f, ok)
		}
		if l, ok := ops[names["pip: install "+w.Filename]]; !ok || l.Fetch || len(l.Wheels) != 1 || l.Wheels[0] != w {
			t.Errorf("%s: install op maps to %+v (%v)", w.Filename, l, ok)
		}
	}
	if len(ops) != 2*len(c.Wheels) {
		t.Errorf("%d wheel ops, want %d", len(ops), 2*len(c.Wheels))
	}
}

// The image stays within its limit with wheels too: they share what the
// conda packages leave, each group has its history entry ("envkit: pip
// package ..." for a wheel alone), and a limit that leaves one layer for
// both kinds is a LayerLimitError.
func TestConvertWheelsBudget(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [python, pkg0049, {pip: [wheel00]}]\n"
	recs := append(testRecords(t)[:1], numbered(t, 50)...)
	var ws []*Wheel
	for i := range 20 {
		ws = append(ws, testWheel(fmt.Sprintf("wheel%02d", i), "1.0", ""))
	}
	for _, maxLayers := range []int{4, 10, 30, 73, 200} {
		c := testConda(recs...)
		c.Wheels = ws
		res, err := convertWithin(t, y, c, maxLayers)
		if err != nil {
			t.Fatal(err)
		}
		merges := marshal(t, res.State).kind("merge")
		if len(merges) != 1 {
			t.Fatalf("%d merges", len(merges))
		}
		layers := len(merges[0].Inputs) // the base's, the packages', the wheels', the metadata's
		if layers > maxLayers || (maxLayers >= 73 && layers != 73) {
			t.Errorf("limit %d: %d layers", maxLayers, layers)
		}
		if h := layersInHistory(res.Image.History); h != layers {
			t.Errorf("limit %d: %d layers in the history, %d in the image", maxLayers, h, layers)
		}
		var pip []string
		for _, h := range res.Image.History {
			if strings.HasPrefix(h.CreatedBy, "envkit: pip package") {
				pip = append(pip, h.CreatedBy)
			}
		}
		if maxLayers >= 73 && (len(pip) != 20 || pip[0] != "envkit: pip package wheel00==1.0") {
			t.Errorf("limit %d: pip history %q", maxLayers, pip)
		}
		if len(pip) == 0 {
			t.Errorf("limit %d: no pip history", maxLayers)
		}
	}
	c := testConda(recs...)
	c.Wheels = ws
	_, err := convertWithin(t, y, c, 3)
	var le *LayerLimitError
	if !errors.As(err, &le) || le.Need() != 4 {
		t.Errorf("a limit of 3: %v", err)
	}
}

// A wheel from a host whose secret the build has is fetched with it;
// others without.
func TestWheelAuth(t *testing.T) {
	c := testConda(testRecords(t)...)
	c.Wheels = testWheels()
	c.Wheels[0].URL = "https://private.example/simple/files/" + c.Wheels[0].Filename
	c.Auth = Auth{"private.example": true}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	g := marshal(t, bkllb.Merge(layers))
	for i, w := range c.Wheels {
		_, src := g.mount(t, g.named(t, "pip: install "+w.Filename), helper.WheelDir+"/0")
		want := ""
		if i == 0 {
			want = "envkit-auth-private.example"
		}
		if got := src.GetSource().Attrs[pb.AttrHTTPAuthHeaderSecret]; got != want {
			t.Errorf("%s: auth header secret %q, want %q", w.Filename, got, want)
		}
	}
}

// In an environment of more than batchMinLayers layers, one exec installs
// up to batchGroups wheel layers, each into an output mount of its own
// (the payload's Dest), merged in the wheels' order.
func TestWheelBatches(t *testing.T) {
	c := testConda(testRecords(t)[:1]...)
	for i := range 30 {
		c.Wheels = append(c.Wheels, testWheel(fmt.Sprintf("wheel%02d", i), "1.0", ""))
	}
	c.PackageLayers = 100
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1+30+1 {
		t.Fatalf("%d layers for a package, 30 wheels and the metadata", len(layers))
	}
	g := marshal(t, bkllb.Merge(layers))
	var execs int
	for _, args := range g.execs() {
		if len(args) > 1 && args[1] == helper.CommandWheel {
			execs++
		}
	}
	if execs != (30+batchGroups-1)/batchGroups {
		t.Errorf("%d wheel execs for 30 wheels in batches of %d", execs, batchGroups)
	}
	// The merge's inputs are the batch execs' output mounts, in order:
	// each layer's wheels are those of its exec's payload whose Dest is
	// that mount.
	var merge *pb.Op
	for _, op := range g.ops {
		if op.GetMerge() != nil {
			merge = op
		}
	}
	var got []*Wheel
	for _, mi := range merge.GetMerge().Inputs {
		in := merge.Inputs[mi.Input]
		op := g.ops[digest.Digest(in.Digest)]
		if helperCommand(op) != helper.CommandWheel {
			continue
		}
		var dest string
		for _, m := range op.GetExec().GetMounts() {
			if m.Output == in.Index {
				dest = m.Dest
			}
		}
		_, pin := g.mount(t, op, helper.InputDir)
		p := readPayload(t, mkfile(t, pin, helper.WheelInputFile), helper.ReadWheelInput)
		var n int
		for _, f := range p.Wheels {
			if f.Dest == "" || !strings.HasPrefix(f.Dest, helper.OutputDir+"/") {
				t.Errorf("%s: dest %q in a batch", f.Filename, f.Dest)
			}
			if f.Dest == dest {
				got = append(got, c.Wheels[slices.IndexFunc(c.Wheels, func(w *Wheel) bool { return w.Filename == f.Filename })])
				n++
			}
		}
		if n != 1 {
			t.Errorf("the layer at %s holds %d wheels, want 1", dest, n)
		}
	}
	if !slices.Equal(got, c.Wheels) {
		t.Errorf("the layers hold the wheels in another order: %d of %d", len(got), len(c.Wheels))
	}
}
