package llb

import (
	"reflect"
	"testing"

	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// Under a layer budget, a large environment's layers are linked by fewer
// execs: consecutive groups share an exec, each linked into an output mount
// of its own that is the group's layer, in link order; a package larger
// than a batch keeps an exec of its own.
func TestCondaBatchLayers(t *testing.T) {
	recs := numbered(t, 300)
	big := recs[150]
	big.Size = batchBytes + 1
	c := testConda(recs...)
	c.PackageLayers = 100
	groups, err := c.Groups()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(groups)+1 {
		t.Fatalf("%d layers for %d groups and the metadata", len(layers), len(groups))
	}
	g := marshal(t, bkllb.Merge(layers))
	var merge *pb.Op
	for _, op := range g.ops {
		if op.GetMerge() != nil {
			merge = op
		}
	}
	execs := map[digest.Digest]int{}
	var linked []string
	layer := 0
	for _, in := range merge.Inputs {
		op := g.ops[digest.Digest(in.Digest)]
		e := op.GetExec()
		if e == nil || e.Meta.Args[1] != helper.CommandLink {
			continue
		}
		execs[digest.Digest(in.Digest)]++
		l, err := helper.ParseLink(e.Meta.Args[1:])
		if err != nil {
			t.Fatal(err)
		}
		var dest string
		for _, m := range e.Mounts {
			if m.Output == in.Index {
				dest = m.Dest
			}
		}
		if dest == "" {
			t.Fatalf("layer %d: no output mount %d", layer, in.Index)
		}
		_, input := g.mount(t, op, helper.InputDir)
		var got []string
		for _, p := range l.Packages {
			if p.Dest == dest {
				r := readPayload(t, mkfile(t, input, p.Input[len(helper.InputDir)+1:]), helper.ReadLinkInput).Record
				got = append(got, r.Dist())
			}
		}
		var want []string
		for _, r := range groups[layer] {
			want = append(want, r.Dist())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("layer %d (%s of its exec): %v, want its group %v", layer, dest, got, want)
		}
		if len(groups[layer]) == 1 && groups[layer][0] == big && (len(l.Packages) != 1 || execs[digest.Digest(in.Digest)] != 1) {
			t.Errorf("the large package shares its exec: %d packages", len(l.Packages))
		}
		linked = append(linked, got...)
		layer++
	}
	if layer != len(groups) {
		t.Fatalf("%d package layers merged, want %d", layer, len(groups))
	}
	var want []string
	for _, r := range recs {
		want = append(want, r.Dist())
	}
	if !reflect.DeepEqual(linked, want) {
		t.Errorf("linked in another order than the records'")
	}
	if len(execs) > len(groups)/4 {
		t.Errorf("%d link execs for %d layers", len(execs), len(groups))
	}
	for d, n := range execs {
		if n > batchGroups {
			t.Errorf("exec %s links %d layers, over %d", d, n, batchGroups)
		}
	}
}
