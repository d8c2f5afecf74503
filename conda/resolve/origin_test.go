package resolve

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
)

func originRec(name string, depends ...string) *record.RepoDataRecord {
	return &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: name, Depends: depends}}
}

func TestOrigins(t *testing.T) {
	recs := []*record.RepoDataRecord{
		originRec("libzlib"),
		originRec("python", "libzlib >=1.2", "__glibc >=2.17"),
		originRec("libopenblas"),
		originRec("libblas", "libopenblas 0.3.*"),
		originRec("numpy", "python >=3.10,<3.11", "libblas >=3.9"),
		originRec("pandas", "numpy >=1.21", "python", "libzlib"),
		originRec("orphan"),
	}
	specs := []string{"python=3.10", "NumPy >=1.24", "conda-forge::pandas", "numpy >>1", "not-solved"}
	got := Origins(specs, recs)
	want := map[string]Origin{
		"python":      {0, []string{"python"}},
		"libzlib":     {0, []string{"python", "libzlib"}},
		"numpy":       {1, []string{"numpy"}},
		"libblas":     {1, []string{"numpy", "libblas"}},
		"libopenblas": {1, []string{"numpy", "libblas", "libopenblas"}},
		"pandas":      {2, []string{"pandas"}},
	}
	if len(got) != len(want) {
		t.Errorf("%d origins, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g.Spec != w.Spec || !slices.Equal(g.Path, w.Path) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
	if _, ok := got["orphan"]; ok {
		t.Error("orphan, which nothing requires, has an origin")
	}
	// A requested package is its own origin, even when an earlier spec
	// reaches it; of two equally short paths, the earlier spec's wins.
	got = Origins([]string{"pandas", "libblas", "python"}, recs)
	if o := got["libblas"]; o.Spec != 1 || !slices.Equal(o.Path, []string{"libblas"}) {
		t.Errorf("libblas requested after pandas: %+v", o)
	}
	if o := got["libzlib"]; o.Spec != 0 || !slices.Equal(o.Path, []string{"pandas", "libzlib"}) {
		t.Errorf("libzlib, required by pandas and python: %+v", o)
	}
}

// Every package of a real solution has an origin whose path follows the
// solved records' depends from a requested spec to the package.
func TestOriginsOfASolve(t *testing.T) {
	dir := channelDir(t, "conda-index1")
	specs := []string{"numpy", "pandas"}
	l, err := Resolve(context.Background(), Request{Specs: specs, Channels: []string{dir}, Platforms: []string{"linux-64"}, Gateway: gateway(t)})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*record.RepoDataRecord
	for _, p := range l.Packages {
		recs = append(recs, p.Record)
	}
	if len(recs) < 10 {
		t.Fatalf("%d records: want a solution with dependencies", len(recs))
	}
	byName := map[string]*record.RepoDataRecord{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	origins := Origins(specs, recs)
	deep := 0
	for _, r := range recs {
		o, ok := origins[r.Name]
		if !ok {
			t.Errorf("%s: no origin", r.Name)
			continue
		}
		if name, _ := matchspec.CutName(specs[o.Spec]); o.Path[0] != name || o.Path[len(o.Path)-1] != r.Name {
			t.Errorf("%s: path %v from spec %q", r.Name, o.Path, specs[o.Spec])
		}
		for i := 1; i < len(o.Path); i++ {
			if !slices.ContainsFunc(byName[o.Path[i-1]].Depends, func(d string) bool {
				n, _ := matchspec.CutName(d)
				return strings.EqualFold(n, o.Path[i])
			}) {
				t.Errorf("%s: %s does not depend on %s", r.Name, o.Path[i-1], o.Path[i])
			}
		}
		if len(o.Path) > 2 {
			deep++
		}
	}
	if deep == 0 {
		t.Error("no package came in through two or more dependencies: the test solves too little")
	}
}
