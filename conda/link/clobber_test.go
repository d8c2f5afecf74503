package link

import (
	"reflect"
	"testing"
)

func planFixture(t *testing.T, py *Python, file string) *PrefixRecord {
	t.Helper()
	rec, err := Plan(extract(t, "conda", "packages", "clobber", file), envPrefix, Options{Python: py})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestClobbers(t *testing.T) {
	py := &Python{Version: "3.11", SitePackages: "lib/python3.11/site-packages"}
	cases := []struct {
		name  string
		files []string
		want  []Clobber
	}{
		{"three packages, two files", []string{"clobber-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-2-0.1.0-h4616a5c_0.tar.bz2", "clobber-3-0.1.0-h4616a5c_0.tar.bz2"},
			[]Clobber{
				{Path: "another-clobber.txt", Kind: ClobberFile, Packages: []string{"clobber-1-0.1.0-h4616a5c_0", "clobber-2-0.1.0-h4616a5c_0", "clobber-3-0.1.0-h4616a5c_0"}, Winner: "clobber-3-0.1.0-h4616a5c_0"},
				{Path: "clobber.txt", Kind: ClobberFile, Packages: []string{"clobber-1-0.1.0-h4616a5c_0", "clobber-2-0.1.0-h4616a5c_0", "clobber-3-0.1.0-h4616a5c_0"}, Winner: "clobber-3-0.1.0-h4616a5c_0"},
			}},
		{"file then directory", []string{"clobber-fd-1-0.1.0-h4616a5c_0.conda", "clobber-fd-2-0.1.0-h4616a5c_0.conda", "clobber-fd-3-0.1.0-h4616a5c_0.conda"},
			[]Clobber{{Path: "clobber", Kind: ClobberFileDirectory, Packages: []string{"clobber-fd-1-0.1.0-h4616a5c_0", "clobber-fd-2-0.1.0-h4616a5c_0", "clobber-fd-3-0.1.0-h4616a5c_0"}, Winner: "clobber-fd-3-0.1.0-h4616a5c_0"}}},
		{"directory then file", []string{"clobber-fd-rev-1-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-2-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-3-0.1.0-h4616a5c_0.conda"},
			[]Clobber{{Path: "clobber", Kind: ClobberFileDirectory, Packages: []string{"clobber-fd-rev-3-0.1.0-h4616a5c_0", "clobber-fd-rev-1-0.1.0-h4616a5c_0", "clobber-fd-rev-2-0.1.0-h4616a5c_0"}, Winner: "clobber-fd-rev-3-0.1.0-h4616a5c_0"}}},
		{"directory and file named dir", []string{"clobber-with-dir-0.1.0-h4616a5c_0.conda", "clobber-without-dir-0.1.0-h4616a5c_0.conda"},
			[]Clobber{{Path: "dir", Kind: ClobberFileDirectory, Packages: []string{"clobber-without-dir-0.1.0-h4616a5c_0", "clobber-with-dir-0.1.0-h4616a5c_0"}, Winner: "clobber-without-dir-0.1.0-h4616a5c_0"}}},
		{"symlinks", []string{"clobber-with-symlink-a-0.1.0-h4616a5c_0.conda", "clobber-with-symlink-b-0.1.0-h4616a5c_0.conda"},
			[]Clobber{{Path: "lib/clobber.so", Kind: ClobberFile, Packages: []string{"clobber-with-symlink-a-0.1.0-h4616a5c_0", "clobber-with-symlink-b-0.1.0-h4616a5c_0"}, Winner: "clobber-with-symlink-b-0.1.0-h4616a5c_0"}}},
		{"noarch python", []string{"clobber-pynoarch-1-0.1.0-pyh4616a5c_0.tar.bz2", "clobber-pynoarch-2-0.1.0-pyh4616a5c_0.tar.bz2"},
			[]Clobber{{Path: "lib/python3.11/site-packages/clobber/clobber.py", Kind: ClobberFile, Packages: []string{"clobber-pynoarch-1-0.1.0-pyh4616a5c_0", "clobber-pynoarch-2-0.1.0-pyh4616a5c_0"}, Winner: "clobber-pynoarch-2-0.1.0-pyh4616a5c_0"}}},
		{"python vs pypy", []string{"clobber-python-0.1.0-cpython.conda", "clobber-pypy-0.1.0-h4616a5c_0.conda"},
			[]Clobber{{Path: "bin/python", Kind: ClobberFile, Packages: []string{"clobber-python-0.1.0-cpython", "clobber-pypy-0.1.0-h4616a5c_0"}, Winner: "clobber-pypy-0.1.0-h4616a5c_0"}}},
		{"shared directories only", []string{"clobber-nested-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-fd-2-0.1.0-h4616a5c_0.conda", "clobber-with-dir-0.1.0-h4616a5c_0.conda"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []*PrefixRecord
			for _, f := range c.files {
				recs = append(recs, planFixture(t, py, f))
			}
			got := Clobbers(recs)
			// Contents are compared separately.
			for i := range got {
				got[i].SameContent = false
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Clobbers:\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

func TestClobbersSameContent(t *testing.T) {
	// clobber-nested-{1,2,3} write the same path; whether the contents are
	// equal is read from their sha256.
	var recs []*PrefixRecord
	for _, f := range []string{"clobber-nested-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-nested-2-0.1.0-h4616a5c_0.tar.bz2"} {
		recs = append(recs, planFixture(t, nil, f))
	}
	same := recs[0].PathsData.Paths[0].SHA256 == recs[1].PathsData.Paths[0].SHA256
	got := Clobbers(recs)
	if len(got) != 1 || got[0].SameContent != same {
		t.Fatalf("Clobbers = %+v, want one clobber with SameContent %v", got, same)
	}
	// A copy of a package's record clobbers with the same content.
	twin := *recs[0]
	twin.Name = "twin"
	got = Clobbers([]*PrefixRecord{recs[0], &twin})
	if len(got) != 1 || !got[0].SameContent || got[0].Winner != twin.Dist() {
		t.Errorf("Clobbers = %+v, want one same-content clobber won by the twin", got)
	}
}
