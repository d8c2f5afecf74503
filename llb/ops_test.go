package llb

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// Each package's fetch and link op is found by the digest BuildKit names
// it by, in a definition marshaled for another platform; the metadata
// exec and a fetch of the same URL by another checksum are not packages'.
func TestPackageOps(t *testing.T) {
	recs := testRecords(t)
	layers, err := testConda(recs...).Layers()
	if err != nil {
		t.Fatal(err)
	}
	other := bkllb.HTTP(recs[1].URL, bkllb.Checksum(digest.FromString("other bytes")), bkllb.WithCustomName("other fetch"))
	st := bkllb.Merge(append(layers, other))
	def, err := st.Marshal(context.Background(), bkllb.LinuxArm64)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := PackageOps(def, recs)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]digest.Digest{}
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		names[def.Metadata[d].Description["llb.customname"]] = d
	}
	for _, r := range recs {
		f, ok := ops[names["conda: fetch "+r.FileName]]
		if !ok || !f.Fetch || !slices.Equal(f.Records, recs[slices.Index(recs, r):][:1]) {
			t.Errorf("%s: fetch op maps to %+v (%v)", r.FileName, f, ok)
		}
		l, ok := ops[names["conda: link "+r.Dist()]]
		if !ok || l.Fetch || len(l.Records) != 1 || l.Records[0] != r {
			t.Errorf("%s: link op maps to %+v (%v)", r.Dist(), l, ok)
		}
	}
	for _, n := range []string{"conda: environment metadata", "other fetch"} {
		if d, ok := names[n]; !ok {
			t.Errorf("no op %q", n)
		} else if _, ok := ops[d]; ok {
			t.Errorf("%q maps to a package", n)
		}
	}
	if len(ops) != 2*len(recs) {
		t.Errorf("%d package ops, want %d", len(ops), 2*len(recs))
	}
}

// A package's fetch and link ops carry the locations Conda.Locations gives
// it, and an exec linking a group those it gives for all its packages; the
// metadata exec and the ops' digests are untouched.
func TestCondaLocations(t *testing.T) {
	recs := testRecords(t)
	sm := bkllb.NewSourceMap(nil, "conda.yml", "YAML", []byte("channels: [x]\ndependencies:\n  - tool\n  - pyhello\n"))
	line := map[string]int32{"python": 4, "pyhello": 4, "libfoo": 3, "tool": 3}
	locate := func(recs ...*record.RepoDataRecord) []bkllb.ConstraintsOpt {
		var rs []*pb.Range
		for _, r := range recs {
			rs = append(rs, &pb.Range{Start: &pb.Position{Line: line[r.Name]}, End: &pb.Position{Line: line[r.Name]}})
		}
		return []bkllb.ConstraintsOpt{sm.Location(rs)}
	}
	marshal := func(c *Conda) (*bkllb.Definition, map[string]digest.Digest) {
		t.Helper()
		layers, err := c.Layers()
		if err != nil {
			t.Fatal(err)
		}
		def, err := bkllb.Merge(layers).Marshal(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]digest.Digest{}
		for _, dt := range def.Def {
			d := digest.FromBytes(dt)
			names[def.Metadata[d].Description["llb.customname"]] = d
		}
		return def, names
	}
	lines := func(def *bkllb.Definition, d digest.Digest) []int32 {
		var out []int32
		if def.Source == nil || def.Source.Locations[d.String()] == nil {
			return nil
		}
		for _, l := range def.Source.Locations[d.String()].Locations {
			if def.Source.Infos[l.SourceIndex].Filename != "conda.yml" {
				t.Errorf("%s: location in %s", d, def.Source.Infos[l.SourceIndex].Filename)
			}
			for _, r := range l.Ranges {
				out = append(out, r.Start.Line)
			}
		}
		slices.Sort(out)
		return out
	}
	plain, plainNames := marshal(testConda(recs...))
	c := testConda(recs...)
	c.Locations = locate
	def, names := marshal(c)
	for _, r := range recs {
		for _, op := range []string{"conda: fetch " + r.FileName, "conda: link " + r.Dist()} {
			if got := lines(def, names[op]); !slices.Equal(got, []int32{line[r.Name]}) {
				t.Errorf("%s: lines %v, want [%d]", op, got, line[r.Name])
			}
			if names[op] != plainNames[op] {
				t.Errorf("%s: the locations changed the op's digest", op)
			}
		}
	}
	if got := lines(def, names["conda: environment metadata"]); got != nil {
		t.Errorf("metadata exec at lines %v", got)
	}
	if got := lines(plain, plainNames["conda: fetch "+recs[0].FileName]); got != nil {
		t.Errorf("without Locations, lines %v", got)
	}

	c.PackageLayers = 1
	def, names = marshal(c)
	var group digest.Digest
	for n, d := range names {
		if strings.HasPrefix(n, "conda: link 4 packages") {
			group = d
		}
	}
	if got := lines(def, group); !slices.Equal(got, []int32{3, 3, 4, 4}) {
		t.Errorf("the group's exec at lines %v, want those of its 4 packages", got)
	}
}
