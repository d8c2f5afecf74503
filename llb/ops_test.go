package llb

import (
	"context"
	"slices"
	"testing"

	bkllb "github.com/moby/buildkit/client/llb"
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
