// Package lock reads and writes conda lock files: conda-lock v1
// (conda-lock.yml, CEP 37), @EXPLICIT files (CEP 23) and the conda part of
// pixi.lock (v6, v7). All of them meet in one neutral model, Lock, which is
// also what envkit keeps beside an environment hash so that unpinned
// packages resolve once: a solver solution goes in with SetPlatform, and
// Records gives it back to the installer.
//
// Every reader leaves out, with a positioned warning in Lock.Skipped, a
// package whose file name is not a plain name-version-build.conda or
// .tar.bz2 of its own name, version and build, or whose md5 or sha256 is
// not a hex digest (record.ValidFileName, ValidMD5, ValidSHA256): a lock
// cannot steer a download outside its URL's subdir or lock "abc" as a
// digest.
package lock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/matchspec"
	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/diag"
)

// Manager is the ecosystem a locked package belongs to.
type Manager string

const (
	Conda Manager = "conda"
	Pip   Manager = "pip" // PyPI
)

// MainCategory is the category of packages that are always installed.
const MainCategory = "main"

// Lock is a locked environment for one or more platforms.
type Lock struct {
	// Platforms are the target subdirs, e.g. "linux-64" (never "noarch").
	Platforms []string
	// Channels are the conda channels the lock was solved from, in priority order.
	Channels []Channel
	// ContentHash maps a platform to the hash of the specification the lock
	// was solved from (conda-lock's metadata.content_hash, an explicit
	// file's "# input_hash:"). A lock whose hash differs is stale.
	ContentHash map[string]string
	// Sources are the input files the lock was made from, relative to it.
	Sources []string
	// Packages are the locked packages of every platform.
	Packages []*Package
	// Notes say what a reader left out (e.g. pixi source packages).
	Notes []string
	// Skipped are the packages a reader left out because what they would
	// put into a download URL or an install cannot be trusted: a conda
	// file name that is not a plain name-version-build.conda or .tar.bz2
	// of the package (record.ValidFileName), an md5 or sha256 that is not
	// a hex digest. A platform with skipped packages is incomplete:
	// conda/resolve does not reuse it as is.
	Skipped []Skipped
}

// Skipped is a package a reader left out, with a warning at its place in
// the file.
type Skipped struct {
	// Platform is the platform the package was locked for; "" when the
	// file does not say.
	Platform string
	// Name is the package's name as the file gives it ("" when unknown).
	Name string
	// Warning says where and why; its Field is the field at fault.
	Warning *diag.Error
}

// SkippedFor returns the packages skipped for platform.
func (l *Lock) SkippedFor(platform string) []Skipped {
	var out []Skipped
	for _, s := range l.Skipped {
		if s.Platform == platform {
			out = append(out, s)
		}
	}
	return out
}

// Channel is a conda channel as a lock names it: a name ("conda-forge") or
// a URL, with the environment variables its URL needs.
type Channel struct {
	URL         string
	UsedEnvVars []string
}

// Package is one locked package for one platform.
type Package struct {
	Name     string
	Version  string
	Manager  Manager
	Platform string // target platform, e.g. "linux-64" (the record's subdir may be "noarch")
	URL      string
	MD5      string // lowercase hex; "" when unknown
	SHA256   string // lowercase hex; "" when unknown
	// Dependencies maps a dependency's name to the rest of its spec ("" for
	// any version): a conda MatchSpec or a PEP 508 specifier once joined.
	Dependencies map[string]string
	Category     string // install group; "main" unless told
	Optional     bool
	// Record is the conda package's record (nil for pip packages). Fields
	// the source format lacks stay zero; name, version, build, fn, url,
	// subdir, channel, hashes and depends are always filled.
	Record *record.RepoDataRecord
}

// Stale reports whether the lock cannot be reused for platform when the
// specification now hashes to contentHash: the platform is missing, or it
// was locked from a different (or unrecorded) specification. It looks at
// the content hash alone, which anyone editing the file can keep:
// conda/resolve's CheckLock also checks every package against the request
// before a lock is installed as is.
func (l *Lock) Stale(platform, contentHash string) bool {
	if !slices.Contains(l.Platforms, platform) {
		return true
	}
	h, ok := l.ContentHash[platform]
	return !ok || h == "" || h != contentHash
}

// SetPlatform replaces what the lock holds for platform by a solver
// solution, recorded as main, non-optional conda packages, and records the
// specification's content hash. Each record must have a name, version,
// build and URL. The records are copied.
func (l *Lock) SetPlatform(platform, contentHash string, solution []*record.RepoDataRecord) error {
	if platform == "" || platform == string(condaplatform.Noarch) {
		return fmt.Errorf("lock: invalid target platform %q", platform)
	}
	pkgs := make([]*Package, 0, len(solution))
	seen := make(map[string]string, len(solution))
	for _, r := range solution {
		if r.Name == "" || r.Version.IsZero() || r.Build == "" || r.URL == "" {
			return fmt.Errorf("lock: %s: record %q lacks a name, version, build or url", platform, r.Dist())
		}
		if prev, dup := seen[r.Name]; dup {
			return fmt.Errorf("lock: %s: package %s is in the solution twice (%s and %s)", platform, r.Name, prev, r.URL)
		}
		seen[r.Name] = r.URL
		pkgs = append(pkgs, condaPackage(cloneRecord(r), platform, MainCategory, false))
	}
	l.Packages = slices.DeleteFunc(l.Packages, func(p *Package) bool { return p.Platform == platform })
	l.Packages = append(l.Packages, pkgs...)
	sortPackages(l.Packages)
	if !slices.Contains(l.Platforms, platform) {
		l.Platforms = append(l.Platforms, platform)
		slices.Sort(l.Platforms)
	}
	if l.ContentHash == nil {
		l.ContentHash = map[string]string{}
	}
	l.ContentHash[platform] = contentHash
	return nil
}

// Records returns the conda packages to install for platform, as records in
// dependency order (a package after what it depends on, otherwise in lock
// order). Non-optional packages are always included, optional ones only
// when their category is listed. It fails when a package lacks what the
// installer needs (name, version, build, url, sha256) or when two
// selected packages share a name but not a URL.
func (l *Lock) Records(platform string, categories ...string) ([]*record.RepoDataRecord, error) {
	pkgs, err := l.selected(platform, categories)
	if err != nil {
		return nil, err
	}
	out := make([]*record.RepoDataRecord, 0, len(pkgs))
	var missing []string
	for _, p := range pkgs {
		if p.Manager != Conda {
			continue
		}
		if p.SHA256 == "" {
			missing = append(missing, p.Name)
			continue
		}
		out = append(out, cloneRecord(p.Record))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("lock: %s: no sha256 for %s (the lock has only md5 or no hash; re-lock to record sha256)",
			platform, strings.Join(missing, ", "))
	}
	return out, nil
}

// selected returns the packages of platform to install with categories,
// one per name, in dependency order.
func (l *Lock) selected(platform string, categories []string) ([]*Package, error) {
	var out []*Package
	byName := map[[2]string]*Package{}
	for _, p := range l.Packages {
		if p.Platform != platform || (p.Optional && !slices.Contains(categories, p.Category)) {
			continue
		}
		key := [2]string{string(p.Manager), p.Name}
		if prev, dup := byName[key]; dup {
			if prev.URL != p.URL {
				return nil, fmt.Errorf("lock: %s: %s package %s is locked twice: %s and %s", platform, p.Manager, p.Name, prev.URL, p.URL)
			}
			continue
		}
		if p.Manager == Conda && (p.Record == nil || p.Name == "" || p.Version == "" || p.Record.Build == "" || p.URL == "") {
			return nil, fmt.Errorf("lock: %s: conda package %q lacks a name, version, build or url", platform, p.Name)
		}
		byName[key] = p
		out = append(out, p)
	}
	return dependencyOrder(out), nil
}

// dependencyOrder orders pkgs so that each conda package comes after the
// packages it depends on; otherwise the input order is kept. Cycles are
// broken at the package met first.
func dependencyOrder(pkgs []*Package) []*Package {
	index := make(map[string]int, len(pkgs))
	for i, p := range pkgs {
		if p.Manager == Conda {
			index[p.Name] = i
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(pkgs))
	out := make([]*Package, 0, len(pkgs))
	var visit func(i int)
	visit = func(i int) {
		if state[i] != unseen {
			return
		}
		state[i] = visiting
		if r := pkgs[i].Record; r != nil {
			for _, d := range r.Depends {
				name, _ := matchspec.CutName(d)
				if j, ok := index[name]; ok {
					visit(j)
				}
			}
		}
		state[i] = done
		out = append(out, pkgs[i])
	}
	for i := range pkgs {
		visit(i)
	}
	return out
}

// condaPackage wraps a record as a locked conda package, taking the
// neutral fields from it.
func condaPackage(r *record.RepoDataRecord, platform, category string, optional bool) *Package {
	return &Package{
		Name:         r.Name,
		Version:      r.Version.String(),
		Manager:      Conda,
		Platform:     platform,
		URL:          r.URL,
		MD5:          r.MD5,
		SHA256:       r.SHA256,
		Dependencies: dependencyMap(r.Depends),
		Category:     category,
		Optional:     optional,
		Record:       r,
	}
}

func cloneRecord(r *record.RepoDataRecord) *record.RepoDataRecord {
	c := *r
	c.Depends = slices.Clone(r.Depends)
	c.Constrains = slices.Clone(r.Constrains)
	c.TrackFeatures = slices.Clone(r.TrackFeatures)
	return &c
}

// sortPackages puts packages in the canonical order of written locks:
// conda before pip, then by name, platform and category.
func sortPackages(pkgs []*Package) {
	slices.SortStableFunc(pkgs, func(a, b *Package) int {
		if c := strings.Compare(managerRank(a.Manager), managerRank(b.Manager)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Platform, b.Platform); c != 0 {
			return c
		}
		return strings.Compare(a.Category, b.Category)
	})
}

func managerRank(m Manager) string {
	if m == Conda {
		return "0"
	}
	return "1" + string(m)
}
