package link

import (
	"path"
	"sort"

	condapkg "github.com/envkit/envkit/conda/package"
)

// ClobberKind says how packages collide on a path.
type ClobberKind string

const (
	// ClobberFile: several packages install a file or symlink at the same
	// path. The last package's layer wins; the others' copies are hidden
	// (conda's path_conflict / ClobberError).
	ClobberFile ClobberKind = "file"
	// ClobberFileDirectory: a package installs a file or symlink where
	// another needs a directory (for a path below it). Merging layers
	// cannot keep both: a later file hides the whole directory below it, a
	// later directory hides the file (or replaces the symlink, so files
	// that conda would have written through a symlinked directory end up
	// in a real directory instead).
	ClobberFileDirectory ClobberKind = "file-directory"
)

// Clobber is one path on which packages collide.
type Clobber struct {
	Path string
	Kind ClobberKind
	// Packages are the dists (name-version-build) involved, in layer
	// order; for ClobberFileDirectory the file's owners come first.
	Packages []string
	// Winner is the package whose layer is merged last: the one whose
	// entry is visible in the image.
	Winner string
	// SameContent is true for a ClobberFile whose files all have the same
	// sha256 (and no prefix placeholder): overwriting changes nothing, so
	// a caller may choose not to warn.
	SameContent bool
}

// Clobbers predicts the path conflicts of packages linked in this order
// (one layer each, merged in order) from their records, as Plan or Link
// return them. The result is sorted by path.
func Clobbers(packages []*PrefixRecord) []Clobber {
	type use struct {
		pkg int
		p   *PrefixPath
	}
	files := map[string][]use{} // non-directory paths and their owners
	dirs := map[string][]int{}  // directories and the packages that need them
	for i, r := range packages {
		for j := range r.PathsData.Paths {
			p := &r.PathsData.Paths[j]
			if p.PathType == condapkg.PathDirectory {
				addDir(dirs, p.Path, i)
			} else {
				files[p.Path] = append(files[p.Path], use{i, p})
			}
			for d := path.Dir(p.Path); d != "."; d = path.Dir(d) {
				if !addDir(dirs, d, i) {
					break // the parents are already there for package i
				}
			}
		}
	}
	var out []Clobber
	for p, us := range files {
		ds := dirs[p]
		if len(us) < 2 && len(ds) == 0 {
			continue
		}
		c := Clobber{Path: p, Kind: ClobberFile}
		last := -1
		same := true
		for _, u := range us {
			c.Packages = append(c.Packages, packages[u.pkg].Dist())
			last = max(last, u.pkg)
			same = same && u.p.PathType != condapkg.PathSoftlink && u.p.PrefixPlaceholder == "" &&
				u.p.SHA256 != "" && u.p.SHA256 == us[0].p.SHA256
		}
		if len(ds) > 0 {
			c.Kind = ClobberFileDirectory
			same = false
			for _, d := range ds {
				c.Packages = append(c.Packages, packages[d].Dist())
				last = max(last, d)
			}
		}
		c.Winner = packages[last].Dist()
		c.SameContent = same
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// addDir records that package i needs directory d; false if it was already
// recorded.
func addDir(dirs map[string][]int, d string, i int) bool {
	ps := dirs[d]
	if len(ps) > 0 && ps[len(ps)-1] == i {
		return false
	}
	dirs[d] = append(ps, i)
	return true
}
