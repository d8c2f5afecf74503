package resolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/virtual"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/reqfile"
	"github.com/envkit/envkit/pypi/requirement"
	pipresolve "github.com/envkit/envkit/pypi/resolve"
	"github.com/envkit/envkit/pypi/tags"
	pypiversion "github.com/envkit/envkit/pypi/version"
)

// Pip is the pip part of a request: what a conda environment file's pip:
// section asks for. conda installs first, then pip: after each platform's
// conda solve, the pip requirements are resolved for the interpreter and
// platform of that solution (its python, the subdir, the target's
// __glibc), and a requirement a conda package satisfies is not installed
// again.
type Pip struct {
	// File is the parsed section (ParsePip).
	File *reqfile.File
	// Index returns the index to resolve from, given the index URLs in
	// query order (credentials included); nil means an *index.Client of
	// those URLs without a disk cache.
	Index func(indexes []string) (pipresolve.Index, error)
	// SpecOrigins[i], when given, is where Request.Specs[i] is written
	// ("conda.yml:5"), for messages that name a conda package's line.
	SpecOrigins []string
	// Warn, if set, receives what pip would warn about (an extra a
	// package does not provide, an invalid Requires-Python on the index),
	// prefixed with the platform.
	Warn func(string)
	// LocalWheels are the wheels the pip lines name by path, by their
	// reqfile.Requirement.Path. A line that names a wheel not in it is
	// refused.
	LocalWheels map[string]LocalWheel
	// LocalProjects are the project directories the pip lines name, by
	// their reqfile.Requirement.Path. A line that names a project not in
	// it is refused.
	LocalProjects map[string]LocalProject
}

// LocalProject is a project directory a pip line names, read by the
// caller from the environment's directory (spec), with the metadata its
// pyproject.toml gives statically.
type LocalProject struct {
	// URL names it in the lock: a file: URL relative to the environment's
	// directory (file:src/mypkg).
	URL string
	// SHA256 is the sha256 of its canonical archive
	// (spec.ProjectArchive), hex.
	SHA256 string
	// Metadata is its core metadata (pyproject.Project.Metadata).
	Metadata *metadata.Metadata
}

// localProjectURL is the URL a project directory is resolved under: an
// sdist's, name-version.tar.gz, whose metadata localIndex answers (never
// fetched), replaced by LocalProject.URL in the lock.
func localProjectURL(lp LocalProject) string {
	return "file:///envkit-local/" + strings.TrimPrefix(lp.URL, "file:") + "/" +
		name.Normalize(lp.Metadata.Name) + "-" + lp.Metadata.Version.String() + ".tar.gz"
}

// LocalWheel is a wheel a pip line names by path, read by the caller from
// the environment's directory.
type LocalWheel struct {
	// URL names the wheel in the lock: a file: URL relative to the
	// environment's directory (file:wheels/x-1.0-py3-none-any.whl), as
	// pip reads it from that directory.
	URL string
	// SHA256 is the wheel's sha256 (hex).
	SHA256 string
	// Metadata reads the wheel's core metadata (index.WheelMetadata).
	Metadata func(ctx context.Context) (*metadata.Metadata, error)
}

// localWheelURL is the URL a local wheel is resolved under: an absolute
// file URL whose last segment is the wheel's file name, never fetched
// (localIndex answers its metadata), replaced by LocalWheel.URL in the
// lock.
func localWheelURL(lw LocalWheel) string {
	return "file:///envkit-local/" + strings.TrimPrefix(lw.URL, "file:")
}

// localIndex is an index that answers the metadata of the local wheels
// itself.
type localIndex struct {
	pipresolve.Index
	wheels   map[string]LocalWheel   // by localWheelURL
	projects map[string]LocalProject // by localProjectURL
}

func (ix localIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	if lw, ok := ix.wheels[f.URL]; ok {
		return lw.Metadata(ctx)
	}
	if lp, ok := ix.projects[f.URL]; ok {
		return lp.Metadata, nil
	}
	return ix.Index.Metadata(ctx, f)
}

// SHA256 implements pipresolve.Hasher when the index does (a local
// wheel's is given with its URL).
func (ix localIndex) SHA256(ctx context.Context, f index.File) (string, error) {
	if h, ok := ix.Index.(pipresolve.Hasher); ok {
		return h.SHA256(ctx, f)
	}
	return "", fmt.Errorf("%s: the index cannot hash a direct URL's file", index.Redact(f.URL))
}

// active reports whether there is anything to resolve with pip.
func (p *Pip) active() bool {
	return p != nil && p.File != nil && len(p.File.Requirements) > 0
}

// PipError is a pip resolution that failed for a platform, at the pip line
// it concerns (Pos.Line is 0 when it concerns none in particular): a
// *pipresolve.UnsatError, a *pipresolve.ConflictError, a requirement that
// cannot be installed as written, or an index that cannot be read.
type PipError struct {
	Platform string
	Pos      reqfile.Pos
	Err      error
}

func (e *PipError) Error() string { return e.Platform + ": pip: " + e.Err.Error() }
func (e *PipError) Unwrap() error { return e.Err }

// hashPip adds the pip part to a request's canonical form: requirements
// and constraints as parsed (those of -r files included), the index URLs
// without credentials, and the options.
func (p *Pip) hashPip(b *strings.Builder) {
	if p == nil || p.File == nil {
		return
	}
	f := p.File
	for _, u := range f.Indexes() {
		fmt.Fprintf(b, "pip index %s\n", index.Redact(u))
	}
	req := func(kind string, r reqfile.Requirement) {
		norm := *r.Requirement
		norm.Name = r.NormalizedName()
		fmt.Fprintf(b, "pip %s %s", kind, reqfile.Redact(norm.String()))
		if r.Path != "" {
			fmt.Fprintf(b, " path %s", r.Path)
			if lw, ok := p.LocalWheels[r.Path]; ok && !r.Project {
				fmt.Fprintf(b, " sha256 %s", lw.SHA256)
			}
			if lp, ok := p.LocalProjects[r.Path]; ok && r.Project {
				fmt.Fprintf(b, " project sha256 %s", lp.SHA256)
			}
		}
		for _, h := range r.Hashes {
			fmt.Fprintf(b, " hash %s", h)
		}
		b.WriteByte('\n')
	}
	for _, r := range f.Requirements {
		req("require", r)
	}
	for _, r := range f.Constraints {
		req("constraint", r)
	}
	if f.Pre {
		b.WriteString("pip pre\n")
	}
	sel := func(kind string, s reqfile.Selector) {
		if s.All {
			fmt.Fprintf(b, "pip %s :all:\n", kind)
		}
		for _, n := range slicesSorted(s.Names) {
			fmt.Fprintf(b, "pip %s %s\n", kind, n)
		}
	}
	sel("only-binary", f.OnlyBinary)
	sel("no-binary", f.NoBinary)
}

func slicesSorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// PipTarget is the interpreter and platform a platform's pip packages are
// chosen for.
type PipTarget struct {
	Python pypiversion.Version
	Env    requirement.Environment
	Tags   tags.Target
}

// pipPlatform is what a conda subdir means to pip.
type pipPlatform struct {
	os                        tags.OS
	arch                      string // as platform tags spell it
	machine, sysPlatform, sys string // platform_machine, sys_platform, platform_system
	osName                    string
}

var pipPlatforms = map[string]pipPlatform{
	"linux-64":      {tags.Linux, "x86_64", "x86_64", "linux", "Linux", "posix"},
	"linux-aarch64": {tags.Linux, "aarch64", "aarch64", "linux", "Linux", "posix"},
	"linux-ppc64le": {tags.Linux, "ppc64le", "ppc64le", "linux", "Linux", "posix"},
	"linux-s390x":   {tags.Linux, "s390x", "s390x", "linux", "Linux", "posix"},
	"linux-armv7l":  {tags.Linux, "armv7l", "armv7l", "linux", "Linux", "posix"},
	"linux-32":      {tags.Linux, "i686", "i686", "linux", "Linux", "posix"},
	"osx-64":        {tags.MacOS, "x86_64", "x86_64", "darwin", "Darwin", "posix"},
	"osx-arm64":     {tags.MacOS, "arm64", "arm64", "darwin", "Darwin", "posix"},
	"win-64":        {tags.Windows, "amd64", "AMD64", "win32", "Windows", "nt"},
	"win-arm64":     {tags.Windows, "arm64", "ARM64", "win32", "Windows", "nt"},
	"win-32":        {tags.Windows, "x86", "x86", "win32", "Windows", "nt"},
}

// errNoPython is a pip section in an environment whose solution has no
// python.
var errNoPython = errors.New("pip packages need a python: the conda solution has none (add python to the conda dependencies)")

// NewPipTarget returns the pip target of a conda solution for platform:
// the marker environment and wheel tags of its python (CPython; free-threaded
// when python_abi says cpXYt) on the subdir's OS and architecture, with
// the glibc (manylinux) and macOS versions of the target's virtual
// packages (virtual overrides, as for the solve).
func NewPipTarget(platform string, solution []*record.RepoDataRecord, overrides map[string]string) (*PipTarget, error) {
	pp, ok := pipPlatforms[platform]
	if !ok {
		return nil, fmt.Errorf("pip packages for %s: envkit does not know the platform's wheel tags", platform)
	}
	var py *record.RepoDataRecord
	free := false
	for _, r := range solution {
		switch r.Name {
		case "python":
			py = r
		case "python_abi":
			// e.g. 7_cp313t: the ABI tag of a free-threaded build.
			abi := r.Build[strings.LastIndexByte(r.Build, '_')+1:]
			free = strings.HasPrefix(abi, "cp") && strings.HasSuffix(abi, "t")
		case "python-freethreading":
			free = true
		}
	}
	if py == nil {
		return nil, errNoPython
	}
	full := py.Version.String()
	v, err := pypiversion.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("python %s: not a Python version: %w", full, err)
	}
	parts := strings.SplitN(full, ".", 3)
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := 0, error(nil)
	if len(parts) > 1 {
		minor, err2 = strconv.Atoi(parts[1])
	}
	if err1 != nil || err2 != nil || len(parts) < 2 {
		return nil, fmt.Errorf("python %s: want major.minor[.micro]", full)
	}
	t := &PipTarget{Python: v}
	t.Tags = tags.Target{Python: [2]int{major, minor}, FreeThreaded: free, OS: pp.os, Arch: pp.arch}
	virt, err := virtual.ForPlatform(virtual.Options{Platform: platform, Overrides: overrides})
	if err != nil {
		return nil, err
	}
	for _, vp := range virt {
		switch vp.Name {
		case "__glibc":
			t.Tags.Glibc = majorMinor(vp.Version.String())
		case "__osx":
			t.Tags.MacOS = majorMinor(vp.Version.String())
		}
	}
	t.Env = requirement.Environment{
		PythonVersion:                fmt.Sprintf("%d.%d", major, minor),
		PythonFullVersion:            full,
		OSName:                       pp.osName,
		SysPlatform:                  pp.sysPlatform,
		PlatformMachine:              pp.machine,
		PlatformSystem:               pp.sys,
		PlatformPythonImplementation: "CPython",
		ImplementationName:           "cpython",
		ImplementationVersion:        full,
	}
	return t, nil
}

func majorMinor(s string) [2]int {
	parts := strings.SplitN(s, ".", 3)
	var out [2]int
	for i := 0; i < 2 && i < len(parts); i++ {
		out[i], _ = strconv.Atoi(parts[i])
	}
	return out
}

// pipNames are the Python distributions a conda python may carry without
// depending on python itself.
var pipNames = []string{"pip", "setuptools", "wheel"}

// pypiNames maps conda-forge packages whose Python distribution has
// another name on PyPI (the dist-info they install) to that name: a pip
// line for torch is satisfied by conda's pytorch, not installed over it.
var pypiNames = map[string]string{
	"pytorch":            "torch",
	"pytorch-cpu":        "torch",
	"pytorch-gpu":        "torch",
	"matplotlib-base":    "matplotlib",
	"py-xgboost":         "xgboost",
	"py-xgboost-cpu":     "xgboost",
	"py-xgboost-gpu":     "xgboost",
	"msgpack-python":     "msgpack",
	"pytables":           "tables",
	"python-graphviz":    "graphviz",
	"tensorflow-base":    "tensorflow",
	"python-kubernetes":  "kubernetes",
	"python-flatbuffers": "flatbuffers",
}

// PipInstalled returns the Python distributions of a conda solution, by
// normalised name: each record that depends on python (and pip,
// setuptools and wheel in any case) whose name is a valid PyPI name and
// whose version is a PEP 440 version, under its PyPI name (pytorch is
// torch: pypiNames). A pip requirement they satisfy is
// not installed again; one they do not satisfy is an error. origins gives
// the conda line that brought each record in (Origins), specOrigins the
// place of each spec (may be nil).
func PipInstalled(solution []*record.RepoDataRecord, specs, specOrigins []string) map[string]pipresolve.Installed {
	origins := Origins(specs, solution)
	out := map[string]pipresolve.Installed{}
	for _, r := range solution {
		if r.Name == "python" || strings.HasPrefix(r.Name, "_") || !name.Valid(r.Name) {
			continue
		}
		py := slices.Contains(pipNames, r.Name)
		for _, d := range r.Depends {
			if n, _ := matchspec.CutName(d); n == "python" {
				py = true
				break
			}
		}
		if !py {
			continue
		}
		v, err := pypiversion.Parse(r.Version.String())
		if err != nil {
			continue
		}
		pypi := r.Name
		if n, ok := pypiNames[r.Name]; ok {
			pypi = n
		}
		where := r.Dist() + " (conda"
		if o, ok := origins[strings.ToLower(r.Name)]; ok {
			line := ""
			if o.Spec < len(specOrigins) {
				line = specOrigins[o.Spec]
			} else if o.Spec < len(specs) {
				line = "spec " + strconv.Quote(specs[o.Spec])
			}
			switch {
			case line != "" && len(o.Path) > 1:
				where += ", required by " + strings.Join(o.Path[:len(o.Path)-1], " → ") + " (" + line + ")"
			case line != "":
				where += ", " + line
			}
		}
		where += ")"
		out[name.Normalize(pypi)] = pipresolve.Installed{Name: pypi, Version: v, Origin: where}
	}
	return out
}

// resolvePip resolves the pip part of r for one platform's conda solution
// from ix (r.pipIndex; ixErr when it could not be made) and returns the
// pip packages to lock.
func (r *Request) resolvePip(ctx context.Context, plat string, solution []*record.RepoDataRecord, ix pipresolve.Index, ixErr error) ([]*lock.Package, error) {
	f := r.Pip.File
	first := f.Requirements[0].Pos
	fail := func(pos reqfile.Pos, err error) error { return &PipError{Platform: plat, Pos: pos, Err: err} }
	for _, q := range f.Requirements {
		if _, ok := r.Pip.LocalProjects[q.Path]; q.Project && !ok {
			return nil, fail(q.Pos, fmt.Errorf("%s: a project directory is not supported here", q.Path))
		}
		if _, ok := r.Pip.LocalWheels[q.Path]; q.Path != "" && !q.Project && !ok {
			return nil, fail(q.Pos, fmt.Errorf("%s: a wheel from a path is not supported here", q.Path))
		}
		if q.URL != "" && !strings.HasPrefix(q.URL, "https://") && !strings.HasPrefix(q.URL, "http://") {
			return nil, fail(q.Pos, fmt.Errorf("%s: a direct URL is an http(s) URL (a lock names files every builder can fetch)", index.Redact(q.URL)))
		}
	}
	t, err := NewPipTarget(plat, solution, r.Virtual[plat])
	if err != nil {
		return nil, fail(first, err)
	}
	compat, err := tags.NewCompat(t.Tags)
	if err != nil {
		return nil, fail(first, err)
	}
	if ixErr != nil {
		return nil, fail(first, ixErr)
	}
	req := pipresolve.Request{
		Python: t.Python, Env: t.Env, Tags: compat, Index: ix,
		Installed:  PipInstalled(solution, r.Specs, r.Pip.SpecOrigins),
		Pre:        f.Pre,
		OnlyBinary: pipresolve.Selector{All: f.OnlyBinary.All, Names: f.OnlyBinary.Names},
		NoBinary:   pipresolve.Selector{All: f.NoBinary.All, Names: f.NoBinary.Names},
	}
	hashes := map[string][]string{}
	byName := map[string]reqfile.Requirement{}
	local := map[string]LocalWheel{}      // by localWheelURL
	projects := map[string]LocalProject{} // by localProjectURL
	for _, q := range f.Requirements {
		rq := q.Requirement
		if lp, ok := r.Pip.LocalProjects[q.Path]; ok && q.Project {
			c := *q.Requirement
			c.URL = localProjectURL(lp) + "#sha256=" + lp.SHA256
			projects[localProjectURL(lp)] = lp
			rq = &c
		} else if lw, ok := r.Pip.LocalWheels[q.Path]; ok && q.Path != "" {
			c := *q.Requirement
			c.URL = localWheelURL(lw) + "#sha256=" + lw.SHA256
			local[localWheelURL(lw)] = lw
			rq = &c
		}
		req.Requirements = append(req.Requirements, pipresolve.Requirement{Requirement: rq, Origin: q.Pos.String()})
		n := q.NormalizedName()
		hashes[n] = append(hashes[n], q.Hashes...)
		if _, ok := byName[n]; !ok {
			byName[n] = q
		}
	}
	for _, q := range f.Constraints {
		req.Constraints = append(req.Constraints, pipresolve.Requirement{Requirement: q.Requirement, Origin: q.Pos.String()})
	}
	if r.Previous != nil {
		for _, p := range r.Previous.Packages {
			if p.Platform != plat || p.Manager != lock.Pip {
				continue
			}
			if v, err := pypiversion.Parse(p.Version); err == nil {
				if req.Preferred == nil {
					req.Preferred = map[string]pypiversion.Version{}
				}
				req.Preferred[name.Normalize(p.Name)] = v
			}
		}
	}
	if len(local) > 0 || len(projects) > 0 {
		req.Index = localIndex{Index: req.Index, wheels: local, projects: projects}
	}
	res, err := pipresolve.Resolve(ctx, req)
	if err != nil {
		pos := first
		var ce *pipresolve.ConflictError
		var ue *pipresolve.UnsatError
		switch {
		case errors.As(err, &ce):
			for _, q := range f.Requirements {
				if q.Pos.String() == ce.Origin {
					pos = q.Pos
					break
				}
			}
		case !errors.As(err, &ue):
			// An index that cannot be read: at the line that names it.
			ixs := f.ExtraIndexURLs
			if f.IndexURL != nil {
				ixs = append([]reqfile.Index{*f.IndexURL}, ixs...)
			}
			for _, ix := range ixs {
				if strings.Contains(err.Error(), strings.TrimSuffix(index.Redact(ix.URL), "/")) {
					pos = ix.Pos
					break
				}
			}
		}
		return nil, fail(pos, err)
	}
	if r.Pip.Warn != nil {
		for _, w := range res.Warnings {
			r.Pip.Warn(plat + ": pip: " + w)
		}
	}
	out := make([]*lock.Package, 0, len(res.Packages))
	for _, p := range res.Packages {
		n := name.Normalize(p.Name)
		pos := first
		if q, ok := byName[n]; ok {
			pos = q.Pos
		}
		sha := p.File.SHA256()
		if sha == "" {
			return nil, fail(pos, fmt.Errorf("%s %s: the index gives no sha256 for %s: envkit locks every file by its sha256", p.Name, p.Version, index.Redact(p.File.URL)))
		}
		if want := hashes[n]; len(want) > 0 && !slices.Contains(want, "sha256:"+sha) {
			if !slices.ContainsFunc(want, func(h string) bool { return strings.HasPrefix(h, "sha256:") }) {
				return nil, fail(pos, fmt.Errorf("%s %s: envkit checks --hash=sha256:... values only (it locks files by their sha256)", p.Name, p.Version))
			}
			return nil, fail(pos, fmt.Errorf("%s %s: %s has sha256 %s, not one of the --hash values of the requirement", p.Name, p.Version, p.File.Filename, sha))
		}
		u := p.File.URL
		if u == "" {
			u = p.DirectURL
		}
		if lw, ok := local[u]; ok {
			u = lw.URL
		}
		if lp, ok := projects[u]; ok {
			u = lp.URL
		}
		// A direct URL's credentials are the request's, never the lock's.
		u = index.Redact(u)
		deps := make(map[string]string, len(p.Requires))
		for _, d := range p.Requires {
			deps[d] = ""
		}
		out = append(out, &lock.Package{Name: p.Name, Version: p.Version.String(), Manager: lock.Pip, URL: u, SHA256: sha, Dependencies: deps, Category: lock.MainCategory})
	}
	return out, nil
}

// pipIndex makes the index every platform's pip resolution reads (a
// Client is safe for concurrent use).
func (r *Request) pipIndex() (pipresolve.Index, error) {
	if r.Pip.Index == nil {
		return NewPipIndex(&index.Client{Indexes: r.Pip.File.Indexes()}), nil
	}
	return r.Pip.Index(r.Pip.File.Indexes())
}

// lockedPip returns the pip packages l holds for platform.
func lockedPip(l *lock.Lock, platform string) []*lock.Package {
	var out []*lock.Package
	for _, p := range l.Packages {
		if p.Platform == platform && p.Manager == lock.Pip {
			out = append(out, p)
		}
	}
	return out
}

// RuleIndex: a pip package's URL is on the host of one of the request's
// indexes (for PyPI, files.pythonhosted.org), or is a direct URL of the
// request.
const RuleIndex Rule = "index"

// pypiFiles is where PyPI's (and TestPyPI's) pages link their files.
var pypiFiles = map[string]string{
	"pypi.org":      "https://files.pythonhosted.org/",
	"test.pypi.org": "https://test-files.pythonhosted.org/",
}

// checkPip applies the rules to l's pip packages for plat: each complete
// and locked once (RuleRecord), from the request's indexes or direct URLs
// (RuleIndex), every root requirement that applies to the target
// satisfied by a pip package or a conda one (RuleSpec), every dependency
// locked (RuleDepends), and no pip package without a pip request
// (RuleRequired).
func (r *Request) checkPip(l *lock.Lock, plat string, recs []*record.RepoDataRecord, add func(Rule, string, string, ...any)) {
	pkgs := lockedPip(l, plat)
	if !r.Pip.active() {
		for _, p := range pkgs {
			add(RuleRequired, p.Name+"-"+p.Version, "a pip package, but the request has no pip requirements")
		}
		return
	}
	f := r.Pip.File
	byName := map[string]*lock.Package{}
	for _, p := range pkgs {
		n := name.Normalize(p.Name)
		if prev, dup := byName[n]; dup {
			add(RuleRecord, p.Name+"-"+p.Version, "pip package %s is locked twice: %s and %s", p.Name, prev.URL, p.URL)
			continue
		}
		byName[n] = p
		if p.SHA256 == "" || record.ValidSHA256(p.SHA256) != nil {
			add(RuleRecord, p.Name+"-"+p.Version, "a pip package without a sha256")
		}
		if err := lock.ValidPipFile(p.Name, p.Version, p.URL); err != nil {
			add(RuleRecord, p.Name+"-"+p.Version, "%v", err)
		}
		if err := r.inIndexes(p.URL); err != nil {
			add(RuleIndex, p.Name+"-"+p.Version, "%v", err)
		}
	}
	t, err := NewPipTarget(plat, recs, r.Virtual[plat])
	if err != nil {
		add(RuleSpec, "", "%v", err)
		return
	}
	installed := PipInstalled(recs, r.Specs, nil)
	for _, q := range f.Requirements {
		if !q.Applies(t.Env) {
			continue
		}
		n := q.NormalizedName()
		if inst, ok := installed[n]; ok {
			if q.URL != "" || !q.Specifier.Matches(inst.Version) {
				add(RuleSpec, "", "%s (%s): the conda package %s does not satisfy it", reqfile.Redact(q.Text), q.Pos, inst.Origin)
			}
			continue
		}
		p := byName[n]
		if p == nil {
			add(RuleSpec, "", "%s (%s): no locked pip package %s", reqfile.Redact(q.Text), q.Pos, q.Name)
			continue
		}
		if q.Project {
			if lp, ok := r.Pip.LocalProjects[q.Path]; !ok || p.URL != lp.URL || p.SHA256 != lp.SHA256 {
				add(RuleSpec, "", "%s (%s): the locked %s is not this project directory (%s, sha256 %s)", q.Text, q.Pos, p.Name, p.URL, p.SHA256)
			}
			continue
		}
		if q.Path != "" {
			if lw, ok := r.Pip.LocalWheels[q.Path]; !ok || p.URL != lw.URL || p.SHA256 != lw.SHA256 {
				add(RuleSpec, "", "%s (%s): the locked %s is not this wheel (%s, sha256 %s)", q.Text, q.Pos, p.Name, p.URL, p.SHA256)
			}
			continue
		}
		if q.URL != "" {
			if u, _, _ := strings.Cut(q.URL, "#"); index.Redact(u) != p.URL {
				add(RuleSpec, "", "%s (%s): the locked %s is from %s", reqfile.Redact(q.Text), q.Pos, p.Name, index.Redact(p.URL))
			}
			continue
		}
		v, err := pypiversion.Parse(p.Version)
		if err != nil || !q.Specifier.Matches(v) {
			add(RuleSpec, "", "%s (%s): the locked %s %s does not satisfy it", reqfile.Redact(q.Text), q.Pos, p.Name, p.Version)
		}
	}
	for _, p := range pkgs {
		for d := range p.Dependencies {
			n := name.Normalize(d)
			if byName[n] == nil && installed[n].Name == "" {
				add(RuleDepends, p.Name+"-"+p.Version, "%s: no locked pip or conda package %s", d, d)
			}
		}
	}
}

// inIndexes checks a pip package's URL against the request's indexes and
// direct URLs (RuleIndex).
func (r *Request) inIndexes(raw string) error {
	for _, q := range r.Pip.File.Requirements {
		if q.URL != "" {
			if u, _, _ := strings.Cut(q.URL, "#"); index.Redact(u) == raw {
				return nil
			}
		}
		if lw, ok := r.Pip.LocalWheels[q.Path]; ok && q.Path != "" && lw.URL == raw {
			return nil
		}
		if lp, ok := r.Pip.LocalProjects[q.Path]; ok && q.Project && lp.URL == raw {
			return nil
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("URL %q: %w", index.Redact(raw), err)
	}
	var names []string
	for _, ix := range r.Pip.File.Indexes() {
		iu, err := url.Parse(ix)
		if err != nil {
			continue
		}
		names = append(names, index.Redact(ix))
		if files, ok := pypiFiles[strings.ToLower(iu.Host)]; ok && strings.HasPrefix(raw, files) {
			return nil
		}
		if strings.EqualFold(u.Scheme, iu.Scheme) && strings.EqualFold(u.Host, iu.Host) {
			if iu.Scheme != "file" || strings.HasPrefix(u.Path, strings.TrimSuffix(iu.Path, "/")+"/") {
				return nil
			}
		}
	}
	return fmt.Errorf("URL %s is on none of the request's indexes (%s) and is not one of its direct URLs", index.Redact(raw), strings.Join(names, ", "))
}

// NewPipIndex returns c as the resolver's index, with the sha256 of a
// direct URL's file (a "name @ url" line without #sha256=) read through
// c.HTTPClient (BuildKit's HTTP source in the frontend), bounded by
// c.MaxFileSize (else index.DefaultMaxFileSize).
func NewPipIndex(c *index.Client) pipresolve.Index { return pipIndex{c} }

type pipIndex struct{ *index.Client }

// SHA256 implements pipresolve.Hasher.
func (ix pipIndex) SHA256(ctx context.Context, f index.File) (string, error) {
	if !strings.HasPrefix(f.URL, "https://") && !strings.HasPrefix(f.URL, "http://") {
		return "", fmt.Errorf("%s: not an http(s) URL", index.Redact(f.URL))
	}
	hc := ix.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", index.Redact(f.URL), err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s: %s", index.Redact(f.URL), index.Redact(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", index.Redact(f.URL), resp.Status)
	}
	limit := ix.MaxFileSize
	if limit <= 0 {
		limit = index.DefaultMaxFileSize
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %s", index.Redact(f.URL), index.Redact(err.Error()))
	case n > limit:
		return "", fmt.Errorf("%s: larger than %d bytes (%s raises the limit)", index.Redact(f.URL), limit, index.EnvMaxFileSize)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
