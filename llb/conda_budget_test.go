package llb

import (
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// numbered returns n packages pkg0000..., each depending on the one before.
func numbered(t testing.TB, n int) []*record.RepoDataRecord {
	var recs []*record.RepoDataRecord
	for i := range n {
		var deps []string
		if i > 0 {
			deps = []string{fmt.Sprintf("pkg%04d", i-1)}
		}
		recs = append(recs, rec(t, fmt.Sprintf("pkg%04d", i), "1.0", "h0_0", "linux-64", "", deps...))
	}
	return recs
}

// linkExecs returns the link execs of g in merge order (the order their
// layers are merged in) with their parsed arguments.
func linkExecs(t *testing.T, g *graph, merge *pb.Op) ([]*pb.Op, []*helper.Link) {
	t.Helper()
	var ops []*pb.Op
	var links []*helper.Link
	for _, in := range merge.Inputs {
		op := g.ops[digest.Digest(in.Digest)]
		e := op.GetExec()
		if e == nil || len(e.Meta.Args) < 2 || e.Meta.Args[1] != helper.CommandLink {
			continue
		}
		l, err := helper.ParseLink(e.Meta.Args[1:])
		if err != nil {
			t.Fatalf("the helper cannot parse %q: %v", e.Meta.Args, err)
		}
		ops, links = append(ops, op), append(links, l)
	}
	return ops, links
}

// Packages over the budget share layers: one exec per group links its
// packages, in link order, into the group's one output mount; each package
// is still its own HTTP source by sha256, and its own record in the
// group's input mount.
func TestCondaGroupLayers(t *testing.T) {
	recs := numbered(t, 40)
	c := testConda(recs...)
	c.PackageLayers = 5
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) > 5+1 || len(layers) < 3 {
		t.Fatalf("%d layers for 40 packages in at most 5 and the metadata's", len(layers))
	}
	g := marshal(t, bkllb.Merge(layers))
	var merge *pb.Op
	for _, op := range g.ops {
		if op.GetMerge() != nil {
			merge = op
		}
	}
	ops, links := linkExecs(t, g, merge)
	if len(ops) != len(layers)-1 {
		t.Fatalf("%d link execs for %d package layers", len(ops), len(layers)-1)
	}
	var linked []string
	for i, exec := range ops {
		l := links[i]
		if exec.GetExec().Network != pb.NetMode_NONE || l.Prefix != DefaultPrefix {
			t.Errorf("exec %d: %+v", i, l)
		}
		if m, from := g.mount(t, exec, helper.OutputDir); m.Readonly || from != nil || m.Output < 0 {
			t.Errorf("exec %d: output mount %v", i, m)
		}
		for _, m := range exec.GetExec().Mounts {
			if m.MountType == pb.MountType_TMPFS {
				t.Errorf("exec %d: a tmpfs mount at %s", i, m.Dest)
			}
			if m.Output >= 0 && m.Dest != helper.OutputDir && m.Dest != "/" {
				t.Errorf("exec %d: a second output mount at %s", i, m.Dest)
			}
		}
		_, in := g.mount(t, exec, helper.InputDir)
		for _, p := range l.Packages {
			if p.Dest != helper.OutputDir {
				t.Errorf("exec %d: %s linked into %s", i, p.Archive, p.Dest)
			}
			m, src := g.mount(t, exec, path.Dir(p.Archive))
			s := src.GetSource()
			r := readPayload(t, mkfile(t, in, strings.TrimPrefix(p.Input, helper.InputDir+"/")), helper.ReadLinkInput).Record
			if !m.Readonly || s == nil || s.Identifier != r.URL || s.Attrs[pb.AttrHTTPChecksum] != "sha256:"+r.SHA256 || s.Attrs[pb.AttrHTTPFilename] != path.Base(p.Archive) {
				t.Errorf("%s: package mount %v from %v", r.Dist(), m, src)
			}
			linked = append(linked, r.Dist())
		}
	}
	var want []string
	for _, r := range recs {
		want = append(want, r.Dist())
	}
	if !reflect.DeepEqual(linked, want) {
		t.Errorf("linked in the order\n%v\nwant the records' order\n%v", linked, want)
	}
}

// A new version of one package changes its group's layer and the
// metadata's; the other groups keep their ops, and so their cache. (What
// adding or removing a package changes is llb/budget's to test.)
func TestCondaGroupLayersCache(t *testing.T) {
	ids := func(recs []*record.RepoDataRecord) map[digest.Digest]bool {
		c := testConda(recs...)
		c.PackageLayers = 8
		m := map[digest.Digest]bool{}
		for _, id := range layerIDs(t, c) {
			m[id] = true
		}
		return m
	}
	changed := func(a, b map[digest.Digest]bool) int {
		n := 0
		for id := range b {
			if !a[id] {
				n++
			}
		}
		return n
	}
	recs := numbered(t, 100)
	base := ids(recs)
	if len(base) > 9 {
		t.Fatalf("%d layers", len(base))
	}
	for i := 0; i < len(recs); i += 7 {
		bumped := append([]*record.RepoDataRecord(nil), recs...)
		bumped[i] = rec(t, recs[i].Name, "1.1", "h0_0", "linux-64", "", recs[i].Depends...)
		if n := changed(base, ids(bumped)); n != 2 {
			t.Errorf("a new version of %s changed %d layers, want 2", recs[i].Name, n)
		}
	}
}

// For 2,000 packages in few layers, no argument of a group's exec grows
// with the group.
func TestCondaGroupArgvBounded(t *testing.T) {
	c := testConda(numbered(t, 2000)...)
	c.PackageLayers = 10
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	longest, total := 0, 0
	for _, args := range marshal(t, bkllb.Merge(layers)).execs() {
		n := 0
		for _, a := range args {
			longest = max(longest, len(a))
			n += len(a) + 1
		}
		total = max(total, n)
	}
	if longest > 512 {
		t.Errorf("an argument of %d bytes", longest)
	}
	t.Logf("longest argument %d bytes, longest argv %d bytes", longest, total)
}

// convertWithin converts an environment with a conda part for an image of
// at most maxLayers.
func convertWithin(t *testing.T, y string, conda *Conda, maxLayers int) (*Result, error) {
	t.Helper()
	env := load(t, y)
	df, _ := Dockerfile(env)
	h, err := hash.Compute(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Convert(context.Background(), Input{Env: env, Hash: h, Dockerfile: df}, amd64, conda, Options{MetaResolver: baseRegistry{}, MaxLayers: maxLayers})
}

// The whole image stays within its layer limit: the base's layer and the
// Docker steps' are counted, the packages share what is left but the
// metadata's; the history has an entry per layer.
func TestConvertCondaBudget(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\ndocker_steps: |\n  RUN echo one\n  ENV A=1\n  RUN echo two\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [pkg0099]\n"
	recs := numbered(t, 100)
	for _, maxLayers := range []int{5, 10, 50, 103, 104, 200} {
		res, err := convertWithin(t, y, testConda(recs...), maxLayers)
		if err != nil {
			t.Fatal(err)
		}
		g := marshal(t, res.State)
		merges := g.kind("merge")
		if len(merges) != 1 {
			t.Fatalf("%d merges", len(merges))
		}
		// base 1 + RUN 2, then the package layers and the metadata's
		packageLayers := len(merges[0].Inputs) - 2
		layers := 3 + packageLayers + 1
		if layers > maxLayers || (maxLayers >= 104 && packageLayers != 100) || packageLayers < min(100, (maxLayers-4)/4) || packageLayers < 1 {
			t.Errorf("limit %d: %d package layers, %d in all", maxLayers, packageLayers, layers)
		}
		if h := layersInHistory(res.Image.History); h != layers {
			t.Errorf("limit %d: %d layers in the history, %d in the image", maxLayers, h, layers)
		}
	}
	_, err := convertWithin(t, y, testConda(recs...), 4)
	var le *LayerLimitError
	if !errors.As(err, &le) || le.Base != baseRef || le.Layers != 3 || le.Max != 4 {
		t.Errorf("a base and steps of 3 layers under a limit of 4: %v", err)
	}
}
