package solver

import (
	"cmp"
	"slices"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

// TestVersionRank checks that vrank orders candidates exactly as
// Version.Compare does, for a name with few candidates and for one with
// more than manyCandidates (index4's most built name, on two mirrors).
func TestVersionRank(t *testing.T) {
	recs := loadIndex(t, "https://conda.example/index4", "conda", "indexes", "index4.json")
	count := map[string]int{}
	for _, r := range recs {
		count[r.Name]++
	}
	most := ""
	for n, k := range count {
		if k > count[most] || (k == count[most] && n < most) {
			most = n
		}
	}
	var mirrored []*record.RepoDataRecord
	for _, ch := range []string{"https://a.example/main", "https://b.example/main"} {
		for _, r := range recs {
			c := *r
			c.Channel = ch
			mirrored = append(mirrored, &c)
		}
	}
	for _, name := range []string{"zlib", most} {
		ix, err := NewIndex(mirrored)
		if err != nil {
			t.Fatal(err)
		}
		pl := newPool(ix, &Problem{ChannelPriority: Flexible})
		cs := pl.rawOf(name)
		if name == most && len(cs) <= manyCandidates {
			t.Fatalf("%s has %d candidates, want more than %d", name, len(cs), manyCandidates)
		}
		for _, a := range cs {
			for _, b := range cs {
				if got, want := cmp.Compare(a.vrank, b.vrank), a.rec.Version.Compare(b.rec.Version); got != want {
					t.Fatalf("%s: vrank compares %s and %s as %d, versions as %d", name, a.rec.Version, b.rec.Version, got, want)
				}
			}
		}
		byVer := pl.lookup(name).byVer
		if !slices.IsSortedFunc(byVer, func(a, b *cand) int { return b.rec.Version.Compare(a.rec.Version) }) || len(byVer) != len(cs) {
			t.Errorf("%s: versionOrder is not the candidates from the highest version down", name)
		}
	}
}
