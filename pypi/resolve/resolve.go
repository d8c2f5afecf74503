// Package resolve chooses the Python distributions to install for a set of
// requirements, as pip would: the newest versions that fit, for a target
// interpreter and platform, with PubGrub (the algorithm of Dart's pub, Cargo
// and uv) over the versions the index lists. An unsatisfiable request is an
// *UnsatError whose text is the chain of requirements and rejections that
// proves it.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// Index is where projects and their metadata come from; *index.Client
// implements it.
type Index interface {
	Project(ctx context.Context, name string) (*index.Project, error)
	Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error)
}

// Hasher is an optional interface of an Index: the sha256 of a file, for a
// direct URL requirement given without a #sha256= fragment. Without it the
// resolver downloads the file (http, https or file URL) itself.
type Hasher interface {
	SHA256(ctx context.Context, f index.File) (string, error)
}

// Requirement is a root requirement or constraint and where it was written.
type Requirement struct {
	*requirement.Requirement
	Origin string // e.g. "conda.yml:12"; shown in explanations; may be ""
}

// Installed is a distribution another installer (conda) provides: it is
// never a candidate from the index, never installed again.
type Installed struct {
	Name    string // e.g. "numpy"
	Version version.Version
	Origin  string // e.g. "numpy-1.26.4-py312h1234_0 (conda)"
}

// Selector is pip's --only-binary / --no-binary: All for :all:, or Names
// (normalised).
type Selector struct {
	All   bool
	Names map[string]bool
}

// Has reports whether the selector names the (normalised) project.
func (s Selector) Has(norm string) bool { return s.All || s.Names[norm] }

// Request is what to resolve and for which target (see Target).
type Request struct {
	Requirements []Requirement // root requirements, in written order; markers evaluated with Env
	Constraints  []Requirement // -c constraints (restrict, never add)
	// Python is the target interpreter's full version, for Requires-Python.
	Python version.Version
	// Env is the target's marker environment (its Extra is ignored).
	Env requirement.Environment
	// Tags ranks wheels for the target; a wheel it does not rank is unusable.
	Tags  *tags.Compat
	Index Index
	// Installed are fixed: a requirement on one is met by it or fails.
	Installed map[string]Installed // by normalised name
	// Preferred versions are chosen whenever they fit.
	Preferred  map[string]version.Version // by normalised name (a previous lock)
	Pre        bool                       // --pre
	OnlyBinary Selector                   // --only-binary: no sdist
	NoBinary   Selector                   // --no-binary: no wheel
	// Concurrency bounds the index requests in flight; 0 means 16.
	Concurrency int
}

// Package is one distribution of a resolution.
type Package struct {
	Name      string // as the index/metadata spells it
	Version   version.Version
	File      index.File // the chosen wheel (or sdist)
	Sdist     bool
	Requested bool     // named by a root requirement
	Extras    []string // extras selected for it
	Requires  []string // normalised names of its dependencies in the result (or Installed)
	DirectURL string   // for "name @ url" root requirements (without credentials)
}

// Result is a resolution.
type Result struct {
	Packages  []Package   // sorted by normalised name
	Satisfied []Installed // requirements satisfied by Installed packages, sorted by name
	// Warnings are what pip would warn about: extras a package does not
	// provide (ignored), invalid Requires-Python on the index (ignored).
	Warnings []string
}

// UnsatError is an unsatisfiable request; Error() explains why.
type UnsatError struct {
	// Requirements are the root requirements the explanation involves, as
	// written, with their origins ("numpy>=2 (conda.yml:12)"), sorted.
	Requirements []string
	// Packages are the normalised names of the projects involved, sorted.
	Packages []string
	text     string
}

func (e *UnsatError) Error() string { return e.text }

// ConflictError is a requirement that an Installed package does not
// satisfy.
type ConflictError struct {
	Requirement string // as written
	Origin      string // the requirement's origin
	Installed   Installed
}

func (e *ConflictError) Error() string {
	where := ""
	if e.Origin != "" {
		where = " (" + e.Origin + ")"
	}
	origin := e.Installed.Origin
	if origin == "" {
		origin = "another installer"
	}
	return fmt.Sprintf("pip requirement %s%s conflicts with %s %s installed by %s: pin it in the conda part, or drop it",
		e.Requirement, where, e.Installed.Name, e.Installed.Version, origin)
}

// Resolve resolves the request. The context's deadline bounds it.
//
// Each version is one file: the best-ranked wheel for Tags, else an sdist
// (whose metadata must be trusted: PKG-INFO 2.2 with static dependencies),
// with Requires-Python (the index's, then the metadata's) met by Python.
// A yanked file is taken only when no other file of the version fits and
// a requirement met so far pins the version with == or === (or it is the
// Preferred version: a lock's choice stays usable once yanked). Pre-releases
// are taken with Pre, for a project a requirement names one of, or when no
// final release is left. Missing extras are ignored with a warning.
func Resolve(ctx context.Context, req Request) (*Result, error) {
	if req.Index == nil {
		return nil, errors.New("resolve: no index")
	}
	if req.Tags == nil {
		return nil, errors.New("resolve: no target tags")
	}
	if req.Python.IsZero() {
		return nil, errors.New("resolve: no target Python version")
	}
	req.Installed = normKeys(req.Installed)
	req.Preferred = normKeys(req.Preferred)
	req.OnlyBinary.Names = normKeys(req.OnlyBinary.Names)
	req.NoBinary.Names = normKeys(req.NoBinary.Names)
	env := req.Env
	env.Extra = ""
	// Root requirements that conda's packages satisfy, or conflict with.
	urls := map[string]Requirement{}
	for _, r := range req.Requirements {
		if r.Requirement == nil || !r.Applies(env) {
			continue
		}
		if r.URL != "" {
			if o, ok := urls[r.NormalizedName()]; ok && o.URL != r.URL {
				return nil, fmt.Errorf("%s%s and %s%s: two direct URLs for %s", reqText(o.Requirement), origin(o.Origin),
					reqText(r.Requirement), origin(r.Origin), r.NormalizedName())
			}
			urls[r.NormalizedName()] = r
		}
		inst, ok := req.Installed[r.NormalizedName()]
		if !ok {
			continue
		}
		if r.URL != "" || !r.Specifier.Matches(inst.Version) {
			return nil, &ConflictError{Requirement: reqText(r.Requirement), Origin: r.Origin, Installed: inst}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	s := newSolver(ctx, req)
	defer func() {
		cancel() // prefetches no longer needed
		s.wait()
	}()
	if err := s.solve(); err != nil {
		if ctx.Err() != nil && !errors.As(err, new(*UnsatError)) {
			return nil, fmt.Errorf("resolve: %w", context.Cause(ctx))
		}
		return nil, err
	}
	res := s.result()
	if err := s.hashes(res); err != nil {
		return nil, err
	}
	return res, nil
}

// hashes computes the sha256 of the chosen files the index lists without
// one (a lock needs it), concurrently.
func (s *solver) hashes(res *Result) error {
	var wg sync.WaitGroup
	errs := make([]error, len(res.Packages))
	for i := range res.Packages {
		p := &res.Packages[i]
		if p.File.SHA256() != "" {
			continue
		}
		wg.Add(1)
		s.pv.goLimited(func() {
			defer wg.Done()
			sum, err := s.pv.hash(p.File)
			if err != nil {
				errs[i] = fmt.Errorf("%s %s: the index gives no sha256 and reading the file failed: %w", p.Name, p.Version, err)
				return
			}
			hs := map[string]string{"sha256": sum}
			for k, v := range p.File.Hashes {
				if k != "sha256" {
					hs[k] = v
				}
			}
			p.File.Hashes = hs
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// result assembles the decisions into a Result.
func (s *solver) result() *Result {
	s.pv.mu.Lock()
	res := &Result{Warnings: append([]string(nil), s.warnings...)}
	s.pv.mu.Unlock()
	byBase := map[*pkg]*Package{}
	var order []*pkg
	satisfied := map[string]Installed{}
	for _, p := range s.pkgs {
		if p == s.root || s.decided[p.id] < 0 {
			continue
		}
		base := p
		if p.base != nil {
			base = p.base
		}
		if base.proj.installed != nil {
			satisfied[base.proj.norm] = *base.proj.installed
			continue
		}
		pk := byBase[base]
		if pk == nil {
			vi := s.decided[base.id]
			if vi < 0 {
				vi = s.decided[p.id]
			}
			c := base.proj.cands[vi]
			pk = &Package{Name: c.name, Version: base.proj.versions[vi], File: c.file, Sdist: c.sdist,
				Requested: s.requested[base.proj.norm], DirectURL: base.proj.directURL}
			if pk.Name == "" {
				pk.Name = base.proj.display
			}
			if pk.DirectURL != "" {
				// Credentials in a direct URL fetch it, but stay out of
				// the result (and so of a lock).
				pk.DirectURL, pk.File.URL = index.Redact(pk.DirectURL), index.Redact(pk.File.URL)
			}
			byBase[base] = pk
			order = append(order, base)
		}
		if p.base != nil {
			pk.Extras = append(pk.Extras, p.extra)
		}
	}
	for _, base := range order {
		pk := byBase[base]
		sort.Strings(pk.Extras)
		need := map[string]bool{}
		for _, p := range append([]*pkg{base}, s.extrasOf[base]...) {
			vi := s.decided[p.id]
			if vi < 0 {
				continue
			}
			for _, d := range s.deps[depKey{p.id, vi}] {
				q := d.pkg
				if q.base != nil {
					q = q.base
				}
				if q != base && s.decided[q.id] >= 0 {
					need[q.proj.norm] = true
				}
			}
		}
		for n := range need {
			pk.Requires = append(pk.Requires, n)
		}
		sort.Strings(pk.Requires)
		res.Packages = append(res.Packages, *pk)
	}
	sort.Slice(res.Packages, func(i, j int) bool {
		return name.Normalize(res.Packages[i].Name) < name.Normalize(res.Packages[j].Name)
	})
	for _, n := range sortedKeys(satisfied) {
		res.Satisfied = append(res.Satisfied, satisfied[n])
	}
	return res
}

// normKeys copies a map by project name with the names normalised.
func normKeys[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[name.Normalize(k)] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// origin formats a requirement's origin for messages: " (conda.yml:12)".
func origin(o string) string {
	if o == "" {
		return ""
	}
	return " (" + o + ")"
}

func joinWords(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
