package frontend

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/diag"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/reqfile"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
	"github.com/envkit/envkit/pypi/wheel"
	"github.com/moby/buildkit/client/llb"
)

// pipEnv returns the pip part of the environment on platform from its
// lock (resolved with the conda part, or the lock file's): the wheels to
// install, nil when the conda file has no pip line or its lines resolved
// to no pip package (conda packages satisfy them).
func (s *condaSolver) pipEnv(l *lock.Lock, platform string, recs []*record.RepoDataRecord) (*pipEnv, error) {
	ef := s.env.Conda
	pkgs := pipPackages(l, platform)
	if len(ef.Pip) == 0 || len(pkgs) == 0 {
		return nil, nil
	}
	name := "the resolution"
	if lf := s.b.opts.Lockfile; lf != "" {
		name = lf
	}
	local := func(p *lock.Package) (llb.State, bool, error) { return s.b.localWheel(s.env, p.URL, p.SHA256) }
	return newPipEnvFrom(ef, s.env.Pip, local, name, platform, pkgs, recs)
}

// pipLine is a requirement line of the conda file's pip section, or of a
// -r file it names (file: where the line is).
type pipLine struct {
	file string
	item envfile.Item
	req  *requirement.Requirement
}

// pipLines returns the requirement lines of ef's pip section as pip reads
// them (pypi/reqfile, through conda/resolve: options such as --hash cut
// off, --index-url and other option lines naming no package), without
// their -r files: a section with -r lines gives no line here (the frontend
// takes the lines spec read: newPipEnvFrom).
func pipLines(ef *envfile.EnvFile) []pipLine {
	f, err := resolve.ParsePip(ef, func(string) ([]byte, error) { return nil, errors.New("not read") })
	if err != nil || f == nil {
		return nil
	}
	return linesOf(ef, f)
}

// linesOf returns the requirement lines f holds that are ef's own.
func linesOf(ef *envfile.EnvFile, f *reqfile.File) []pipLine {
	var out []pipLine
	for _, q := range f.Requirements {
		if q.Requirement == nil || q.Pos.File != ef.File {
			continue
		}
		out = append(out, lineOf(q))
	}
	return out
}

// allLines returns the requirement lines f holds, the -r files' included,
// each at its place in its own file.
func allLines(f *reqfile.File) []pipLine {
	var out []pipLine
	for _, q := range f.Requirements {
		if q.Requirement != nil {
			out = append(out, lineOf(q))
		}
	}
	return out
}

func lineOf(q reqfile.Requirement) pipLine {
	return pipLine{file: q.Pos.File, item: envfile.Item{Value: q.Text, Line: q.Pos.Line, Column: q.Pos.Column}, req: q.Requirement}
}

// pipPackages returns the pip packages l locks for platform (main and
// non-optional), as the lock gives them.
func pipPackages(l *lock.Lock, platform string) []*lock.Package {
	if l == nil {
		return nil
	}
	var out []*lock.Package
	for _, p := range l.Packages {
		if p.Manager == lock.Pip && p.Platform == platform && !p.Optional {
			out = append(out, p)
		}
	}
	return out
}

// pipOrigin says why a pip package is in the environment: the pip line
// that requests it, directly or through the packages of path.
type pipOrigin struct {
	line pipLine
	path []string // from the requested package's name to the package's
}

// pipEnv is an environment's pip part on one platform, from its lock.
type pipEnv struct {
	ef       *envfile.EnvFile
	lockName string
	wheels   []*envllb.Wheel
	// origins are the wheels' origins, by normalised name.
	origins map[string]pipOrigin
	// python is the environment's conda python; compat the wheel tags it
	// takes on the platform (nil when envkit cannot tell: not Linux).
	python *record.RepoDataRecord
	compat *tags.Compat
	// local gives a local wheel's state (nil: none).
	local func(*lock.Package) (llb.State, bool, error)
	// hasPip is true when pip is there to build sdists: a conda
	// package, or a locked wheel.
	hasPip bool
}

// newPipEnv turns the pip packages a platform's lock holds (pkgs) into
// the wheels to install, in the order of their normalised names: each
// fetched by the sha256 the lock gives, REQUESTED for the packages the pip
// lines name, direct_url.json for a "name @ url" line. recs are the
// platform's conda records: the wheels are installed for their python.
// Errors name the lock file and the package, at the pip line behind it.
func newPipEnv(ef *envfile.EnvFile, lockName, platform string, pkgs []*lock.Package, recs []*record.RepoDataRecord) (pe *pipEnv, err error) {
	return newPipEnvFrom(ef, nil, nil, lockName, platform, pkgs, recs)
}

// newPipEnvFrom is newPipEnv with the pip lines as spec read them (pf,
// the requirements of -r files included, which are requested too; nil
// reads ef's own lines) and local, which gives a lock's local wheel (a
// relative file: URL: builder.localWheel) from the build's own files.
func newPipEnvFrom(ef *envfile.EnvFile, pf *reqfile.File, local func(*lock.Package) (llb.State, bool, error),
	lockName, platform string, pkgs []*lock.Package, recs []*record.RepoDataRecord) (pe *pipEnv, err error) {
	lines := pipLines(ef)
	checked := lines // the lines checked against the lock
	if pf != nil {
		lines, checked = linesOf(ef, pf), allLines(pf)
	}
	byName := map[string]pipLine{}
	for _, l := range lines {
		if n := l.req.NormalizedName(); !hasKey(byName, n) {
			byName[n] = l
		}
	}
	if pf != nil {
		for _, q := range pf.Requirements {
			if n := q.NormalizedName(); !hasKey(byName, n) {
				byName[n] = pipLine{req: q.Requirement}
			}
		}
	}
	pe = &pipEnv{ef: ef, lockName: lockName, origins: pipOrigins(lines, pkgs), local: local}
	i := slices.IndexFunc(recs, func(r *record.RepoDataRecord) bool { return r.Name == "python" })
	if i < 0 {
		return nil, pe.errorf(nil, "", "add python (e.g. python=3.12) to the conda dependencies",
			"pip packages need a python among the conda packages, and the environment has none for %s", platform)
	}
	pe.python = recs[i]
	pe.hasPip = slices.ContainsFunc(recs, func(r *record.RepoDataRecord) bool { return r.Name == "pip" }) ||
		slices.ContainsFunc(pkgs, func(p *lock.Package) bool { return name.Equal(p.Name, "pip") && strings.HasSuffix(p.URL, ".whl") })
	if pe.compat, err = wheelCompat(recs, platform); err != nil {
		return nil, pe.errorf(nil, "", "pin python to a CPython version in the conda dependencies", "%v", err)
	}
	locked := map[string]*lock.Package{}
	for _, p := range pkgs {
		n := name.Normalize(p.Name)
		if prev, dup := locked[n]; dup {
			return nil, pe.errorf(p, "", "lock the environment again (envkit lock)", "pip package %s is locked twice for %s: %s and %s", p.Name, platform, prev.URL, p.URL)
		}
		locked[n] = p
	}
	for _, l := range checked {
		if err := pe.checkLine(l, locked[l.req.NormalizedName()]); err != nil {
			return nil, err
		}
	}
	for _, p := range pkgs {
		w, err := pe.wheel(p, platform)
		if err != nil {
			return nil, err
		}
		n := name.Normalize(p.Name)
		if l, ok := byName[n]; ok {
			w.Requested = true
			switch {
			case w.Source != nil && !w.Sdist:
				// A wheel named by its path: as pip writes it, the file
				// and its hash; the helper gives the URL of the file
				// where the build read it (helper.WheelFile.DirectURL),
				// as a project directory's is where its build read it.
				w.DirectURL = &wheel.DirectURL{Archive: &wheel.ArchiveInfo{
					Hash: "sha256=" + p.SHA256, Hashes: map[string]string{"sha256": p.SHA256}}}
			case l.req.URL != "":
				// As pip writes it for a URL whose hash it checked.
				w.DirectURL = &wheel.DirectURL{URL: p.URL, Archive: &wheel.ArchiveInfo{}}
				if p.SHA256 != "" {
					w.DirectURL.Archive.Hash, w.DirectURL.Archive.Hashes = "sha256="+p.SHA256, map[string]string{"sha256": p.SHA256}
				}
			}
		}
		pe.wheels = append(pe.wheels, w)
	}
	slices.SortStableFunc(pe.wheels, func(a, b *envllb.Wheel) int {
		return strings.Compare(name.Normalize(a.Name), name.Normalize(b.Name))
	})
	return pe, nil
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

// checkLine checks that the lock's package p (nil when it has none: a
// conda package satisfies the line) is what pip line l asks for, so that
// a lock made for another request is not installed as if it were this
// one's (conda/resolve's CheckLock checks a lock file's pip packages too).
// A line with a marker is left alone: it may not apply to the platform.
// The error is at the line in its own file: the conda file's pip section,
// or a -r file's line (which has no field).
func (pe *pipEnv) checkLine(l pipLine, p *lock.Package) error {
	const hint = "lock the environment again (envkit lock) with its pip packages"
	at := func(format string, args ...any) error {
		file, field := l.file, ""
		if file == "" || file == pe.ef.File {
			file, field = pe.ef.File, "dependencies.pip"
		}
		return diag.List{{File: file, Line: l.item.Line, Column: l.item.Column, Field: field,
			Msg: pe.lockName + ": " + fmt.Sprintf(format, args...), Hint: hint}}
	}
	switch {
	case l.req.Marker != nil, p == nil: // a conda package may satisfy it
		return nil
	case l.req.Specifier.Len() > 0:
		v, err := version.Parse(p.Version)
		if err != nil {
			return at("pip package %s: version %q: %v", p.Name, p.Version, err)
		}
		if !l.req.Specifier.Matches(v) {
			return at("pip package %s is locked at %s, which %s does not allow", p.Name, p.Version, l.req.Specifier)
		}
	}
	return nil
}

// wheel checks a locked pip package and returns it as a wheel to install.
func (pe *pipEnv) wheel(p *lock.Package, platform string) (*envllb.Wheel, error) {
	const hint = "lock the environment again (envkit lock) so that the lock gives each pip package's wheel URL and sha256"
	var src *llb.State
	if pe.local != nil {
		st, ok, err := pe.local(p)
		if err != nil {
			return nil, pe.errorf(p, "url", hint, "pip package %s: %v", p.Name, err)
		}
		if ok {
			src = &st
		}
	}
	u, err := url.Parse(p.URL)
	if src == nil && (err != nil || (u.Scheme != "http" && u.Scheme != "https")) {
		return nil, pe.errorf(p, "url", hint, "pip package %s: url %q is not an http(s) URL", p.Name, p.URL)
	}
	fn := path.Base(u.Path)
	if src != nil {
		fn = path.Base(u.Opaque)
		if !strings.HasSuffix(fn, ".whl") {
			return pe.project(p, fn, src)
		}
	}
	if !strings.HasSuffix(fn, ".whl") {
		return pe.sdist(p, fn, platform)
	}
	tw, err := tags.ParseWheelFilename(fn)
	if err != nil {
		return nil, pe.errorf(p, "url", hint, "pip package %s: %v", p.Name, err)
	}
	if !name.Equal(tw.Name, p.Name) {
		return nil, pe.errorf(p, "url", hint, "pip package %s: its URL names the wheel of another project (%s)", p.Name, fn)
	}
	if pe.compat != nil {
		if _, ok := pe.compat.WheelRank(tw); !ok {
			return nil, pe.errorf(p, "url", hint, "pip package %s: %s is not for this environment's python %s on %s",
				p.Name, fn, pe.python.Version, platform)
		}
	}
	if err := pe.checkSHA256(p, fn); err != nil {
		return nil, err
	}
	return &envllb.Wheel{Name: p.Name, Version: p.Version, URL: p.URL, SHA256: p.SHA256, Filename: fn, Source: src}, nil
}

func (pe *pipEnv) checkSHA256(p *lock.Package, fn string) error {
	const hint = "lock the environment again (envkit lock) so that the lock gives each pip package's URL and sha256"
	if p.SHA256 == "" {
		return pe.errorf(p, "hash.sha256", hint, "pip package %s: no sha256 to fetch %s by", p.Name, fn)
	}
	if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
		return pe.errorf(p, "hash.sha256", hint, "pip package %s: sha256 %q is not a hex sha256", p.Name, p.SHA256)
	}
	return nil
}

// project checks a locked pip package that is a project directory of the
// pip lines (src holds it at /<fn>: builder.localProject checked its
// sha256) and returns it to build into a wheel as an sdist is.
func (pe *pipEnv) project(p *lock.Package, fn string, src *llb.State) (*envllb.Wheel, error) {
	if err := pe.checkSHA256(p, fn); err != nil {
		return nil, err
	}
	if !pe.hasPip {
		return nil, pe.errorf(p, "", "add pip to the conda dependencies, or build a wheel of it (python -m build --wheel) and name the wheel instead",
			"building the project directory %s needs pip in the conda environment: add pip to its dependencies", strings.TrimPrefix(p.URL, "file:"))
	}
	return &envllb.Wheel{Name: p.Name, Version: p.Version, URL: p.URL, SHA256: p.SHA256, Filename: fn, Sdist: true, Project: true, Source: src}, nil
}

// sdist checks a locked pip package whose file fn is a source
// distribution (the resolution found no wheel for the platform) and
// returns it to build into a wheel (envllb.Wheel.Sdist): its file names
// its project, and pip is there to build it (a conda package, or a wheel
// of the pip lines).
func (pe *pipEnv) sdist(p *lock.Package, fn, platform string) (*envllb.Wheel, error) {
	const hint = "lock the environment again (envkit lock) so that the lock gives each pip package's URL and sha256"
	n, _, ok := sdistName(fn)
	if !ok {
		return nil, pe.errorf(p, "url", hint, "pip package %s: %s is neither a wheel nor an sdist", p.Name, p.URL)
	}
	if !name.Equal(n, p.Name) && !name.Equal(strings.ReplaceAll(n, "_", "-"), p.Name) {
		return nil, pe.errorf(p, "url", hint, "pip package %s: its URL names the sdist of another project (%s)", p.Name, fn)
	}
	if err := pe.checkSHA256(p, fn); err != nil {
		return nil, err
	}
	if !pe.hasPip {
		return nil, pe.errorf(p, "", "add pip to the conda dependencies, or add --only-binary :all: to the pip lines (the resolution then takes wheels only)",
			"building %s needs pip in the conda environment: add pip to its dependencies", fn)
	}
	return &envllb.Wheel{Name: p.Name, Version: p.Version, URL: p.URL, SHA256: p.SHA256, Filename: fn, Sdist: true}, nil
}

// sdistName splits an sdist's file name (name-version.tar.gz, .zip...)
// into its name and version.
func sdistName(fn string) (n, v string, ok bool) {
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"} {
		if stem, found := strings.CutSuffix(fn, ext); found {
			i := strings.LastIndex(stem, "-")
			if i <= 0 || i == len(stem)-1 {
				return "", "", false
			}
			return stem[:i], stem[i+1:], true
		}
	}
	return "", "", false
}

// sdists returns the pip packages built from sdists.
func (pe *pipEnv) sdists() []*envllb.Wheel {
	var out []*envllb.Wheel
	for _, w := range pe.wheels {
		if w.Sdist {
			out = append(out, w)
		}
	}
	return out
}

// sdistPlatformError refuses to build sdists for a target other than the
// build platform: the build runs the target's python, which needs
// emulation there, which envkit does not use.
func (pe *pipEnv) sdistPlatformError(target, build string) error {
	ws := pe.sdists()
	if len(ws) == 0 {
		return nil
	}
	w := ws[0]
	p := &lock.Package{Name: w.Name, URL: w.URL}
	if w.Project {
		return pe.errorf(p, "", "build a wheel of it (python -m build --wheel) and name the wheel instead, or build on a "+target+" builder",
			"pip package %s is the project directory %s, which is built into a wheel by the environment's own python for %s: that does not run on this %s builder without emulation, which envkit does not use",
			w.Name, strings.TrimPrefix(w.URL, "file:"), target, build)
	}
	return pe.errorf(p, "", "add --only-binary :all: to the pip lines (the resolution then takes wheels only), pin a version with a wheel for "+target+", or build on a "+target+" builder",
		"pip package %s has no wheel for %s, only the sdist %s, which is built by the environment's own python for %s: that does not run on this %s builder without emulation, which envkit does not use",
		w.Name, target, w.URL, target, build)
}

// wheelCompat returns the wheel tags a conda solution's python takes on
// platform (conda/resolve's pip target), whatever the glibc: the lock's
// resolution chose the manylinux level (with the request's virtual
// packages); this check catches a wheel for another python or machine,
// such as a lock's wheels kept over a conda part solved again. Nil for a
// platform that is not Linux.
func wheelCompat(recs []*record.RepoDataRecord, platform string) (*tags.Compat, error) {
	if condaplatform.Platform(platform).OS() != "linux" {
		return nil, nil
	}
	t, err := resolve.NewPipTarget(platform, recs, nil)
	if err != nil {
		return nil, err
	}
	t.Tags.Glibc = [2]int{2, 99}
	return tags.NewCompat(t.Tags)
}

// errorf reports a problem with a locked pip package's field (p nil: with
// the pip part as a whole) at the pip line behind it (the first pip line
// when none is known), with a hint.
func (pe *pipEnv) errorf(p *lock.Package, field, hint, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p != nil {
		msg = pe.lockName + ": " + msg
		if field != "" {
			msg += " (" + field + ")"
		}
	}
	it := pe.ef.Pip[0]
	if p != nil {
		if o, ok := pe.origins[name.Normalize(p.Name)]; ok {
			it = o.line.item
		}
	}
	return diag.List{{File: pe.ef.File, Line: it.Line, Column: it.Column, Field: "dependencies.pip", Msg: msg, Hint: hint}}
}

// pipOrigins finds, for each locked pip package, the first pip line that
// brings it in: by name, or through the packages' dependencies in the
// lock (breadth first, so the shortest path).
func pipOrigins(lines []pipLine, pkgs []*lock.Package) map[string]pipOrigin {
	deps := map[string][]string{}
	for _, p := range pkgs {
		for d := range p.Dependencies {
			deps[name.Normalize(p.Name)] = append(deps[name.Normalize(p.Name)], name.Normalize(d))
		}
		slices.Sort(deps[name.Normalize(p.Name)])
	}
	out := map[string]pipOrigin{}
	var queue []string
	for _, l := range lines {
		n := l.req.NormalizedName()
		if !hasKey(out, n) {
			out[n] = pipOrigin{line: l, path: []string{n}}
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, d := range deps[n] {
			if !hasKey(out, d) {
				o := out[n]
				out[d] = pipOrigin{line: o.line, path: append(slices.Clip(o.path), d)}
				queue = append(queue, d)
			}
		}
	}
	return out
}

// why says why w is in the environment ("requested at conda.yml:9",
// "required by requests (conda.yml:9) → urllib3") and gives the line of
// its pip line (0 when unknown).
func (pe *pipEnv) why(w *envllb.Wheel) (string, int) {
	o, ok := pe.origins[name.Normalize(w.Name)]
	if !ok {
		return "not requested", 0
	}
	at := fmt.Sprintf("%s:%d", pe.ef.File, o.line.item.Line)
	if len(o.path) <= 1 {
		return "requested at " + at, o.line.item.Line
	}
	return fmt.Sprintf("required by %s (%s) → %s", o.line.req.Name, at, strings.Join(o.path[1:], " → ")), o.line.item.Line
}

// locations returns, for envllb.Conda.WheelLocations, the location in the
// conda file (sm) of the pip lines that brought wheels in; nil when sm is
// nil.
func (pe *pipEnv) locations(sm *llb.SourceMap) func(...*envllb.Wheel) []llb.ConstraintsOpt {
	if sm == nil {
		return nil
	}
	return func(ws ...*envllb.Wheel) []llb.ConstraintsOpt {
		var lines []int
		for _, w := range ws {
			if _, line := pe.why(w); line > 0 && !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
		if len(lines) == 0 {
			return nil
		}
		return []llb.ConstraintsOpt{sm.Location(lineRanges(lines))}
	}
}
