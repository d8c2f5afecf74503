package link

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/internal/testdata"
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

// Plan works from the metadata of an archive, before extraction.
func TestPlanFromArchiveMetadata(t *testing.T) {
	py := &Python{Version: "3.11", SitePackages: "lib/python3.11/site-packages"}
	for _, f := range []string{"clobber-pynoarch-1-0.1.0-pyh4616a5c_0.tar.bz2", "clobber-with-symlink-a-0.1.0-h4616a5c_0.conda"} {
		md, err := condapkg.ReadFile(testdata.Path(t, "conda", "packages", "clobber", f))
		if err != nil {
			t.Fatal(err)
		}
		fromArchive, err := Plan("", envPrefix, Options{Metadata: md, Python: py})
		if err != nil {
			t.Fatal(err)
		}
		if extracted := planFixture(t, py, f); !reflect.DeepEqual(fromArchive, extracted) {
			t.Errorf("%s: plan from archive metadata\n%+v\ndiffers from plan of the extracted package\n%+v", f, fromArchive, extracted)
		}
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

// TestClobbersPredictLayerMerge links each package into its own layer,
// merges the layers in order as an OCI image applies them (an entry of a
// later layer replaces whatever the lower layers have at its path; a
// non-directory hides a whole directory) and checks that each predicted
// winner is what the merged tree shows.
func TestClobbersPredictLayerMerge(t *testing.T) {
	files := []string{
		"clobber-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-2-0.1.0-h4616a5c_0.tar.bz2",
		"clobber-fd-1-0.1.0-h4616a5c_0.conda", "clobber-fd-2-0.1.0-h4616a5c_0.conda",
		"clobber-fd-rev-1-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-3-0.1.0-h4616a5c_0.conda",
		"clobber-with-symlink-a-0.1.0-h4616a5c_0.conda", "clobber-with-symlink-b-0.1.0-h4616a5c_0.conda",
		"clobber-with-dir-0.1.0-h4616a5c_0.conda", "clobber-without-dir-0.1.0-h4616a5c_0.conda",
	}
	merged := t.TempDir()
	var recs []*PrefixRecord
	for _, f := range files {
		layer := t.TempDir()
		res, err := Link(context.Background(), extract(t, "conda", "packages", "clobber", f), envPrefix, Options{Dest: layer})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, res.Record)
		applyLayer(t, layer, merged)
	}
	clobbers := Clobbers(recs)
	if len(clobbers) != 5 {
		t.Errorf("%d clobbers, want 5: %+v", len(clobbers), clobbers)
	}
	for _, c := range clobbers {
		var winner *PrefixRecord
		for _, r := range recs {
			if r.Dist() == c.Winner {
				winner = r
			}
		}
		fi, err := os.Lstat(filepath.Join(merged, filepath.FromSlash(c.Path)))
		if err != nil {
			t.Errorf("%s: %v", c.Path, err)
			continue
		}
		winnerHasFile := slices.Contains(winner.Files, c.Path)
		if winnerHasFile == fi.IsDir() {
			t.Errorf("%s: predicted winner %s (owns it as a file: %v), merged tree has a directory: %v", c.Path, c.Winner, winnerHasFile, fi.IsDir())
		}
		if winnerHasFile && fi.Mode().IsRegular() {
			// The merged file is the winner's.
			for _, p := range winner.PathsData.Paths {
				if p.Path == c.Path && sha(readFile(t, filepath.Join(merged, c.Path))) != p.SHA256 {
					t.Errorf("%s: merged content is not %s's", c.Path, c.Winner)
				}
			}
		}
	}
}

// applyLayer copies the tree at layer over dst with OCI layer semantics
// (no whiteouts: these layers only add).
func applyLayer(t *testing.T, layer, dst string) {
	t.Helper()
	err := filepath.WalkDir(layer, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == layer {
			return err
		}
		rel, _ := filepath.Rel(layer, p)
		out := filepath.Join(dst, rel)
		old, oerr := os.Lstat(out)
		if d.IsDir() {
			if oerr == nil && old.IsDir() {
				return nil
			}
			os.RemoveAll(out)
			return os.Mkdir(out, 0o755)
		}
		if oerr == nil {
			os.RemoveAll(out)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			to, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(to, out)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
