package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
)

// The solver is PubGrub (Natalie Weizenbaum's version solver, as in
// pub-dartlang's solver.md and pubgrub-rs): unit propagation over
// incompatibilities, decisions, and conflict resolution that learns a new
// incompatibility and backjumps. Extras are packages of their own
// ("name[extra]") that depend on their base at the same version, as in uv.
// uv's heuristic keeps backtracking from wandering to ancient versions: a
// package whose versions keep being rejected because of another package's
// decision (5 times) is decided before that package, which is undone.

// pkg is a PubGrub package: a project, one of its extras, or the root.
type pkg struct {
	id    int
	key   string // "" for the root, "name" or "name[extra]"
	base  *pkg   // for an extra: its project's package
	extra string // normalised (PEP 685)
	proj  *project
	// extraText is the extra as first written, for messages.
	extraText string
	order     int // discovery order

	prio      int          // raised when the package is decided before a culprit
	conflicts int          // decisions refused since the last raise
	tried     int          // versions picked so far
	boosts    int          // raises so far (at most maxBoosts: two packages cannot take turns forever)
	pinned    map[int]bool // versions pinned with == or ===: usable even when yanked
	preOK     bool         // a requirement on it names a pre-release
}

func (p *pkg) n() int { return len(p.proj.versions) }

// term is a PubGrub term: the package is in the set (see set).
type term struct {
	pkg *pkg
	set set
}

type kind uint8

const (
	kRoot        kind = iota // the root must be selected
	kDep                     // a version depends on a requirement
	kNoVersions              // no usable version in a set
	kUnavailable             // one version is unusable (metadata)
	kConstraint              // a -c constraint
	kDerived                 // learned from two others
)

// incompat is a PubGrub incompatibility: its terms cannot all hold.
type incompat struct {
	terms []term
	kind  kind
	// kDep: the requirement as written, where, and (when no version of the
	// required project matches it) why.
	req, origin, empty string
	// kUnavailable, kConstraint: why.
	reason string
	// kNoVersions: why each version is rejected.
	rejects []string
	c1, c2  *incompat
}

type assignment struct {
	pkg   *pkg
	set   set
	level int
	cause *incompat // nil for a decision
}

type depKey struct{ pkg, vi int }

type dep struct {
	pkg *pkg
	set set
}

type solver struct {
	ctx context.Context
	req Request
	env requirement.Environment
	pv  *provider

	root      *pkg
	pkgs      []*pkg
	byKey     map[string]*pkg
	extrasOf  map[*pkg][]*pkg
	requested map[string]bool
	cons      map[string][]Requirement

	incompats [][]*incompat // by package id
	partial   []assignment
	cur       []set // intersection of the package's assignments
	decided   []int // version index, -1 when undecided
	level     int

	deps    map[depKey][]dep
	depIncs map[depKey][]*incompat // the dependency incompatibilities added per version
	// dependents are the dependency incompatibilities merged across
	// versions, by dependent package, dependency and requirement.
	dependents map[dependentsKey]*incompat
	warnings   []string
	warned     map[string]bool
}

func newSolver(ctx context.Context, req Request) *solver {
	s := &solver{ctx: ctx, req: req, env: req.Env, byKey: map[string]*pkg{}, extrasOf: map[*pkg][]*pkg{},
		requested: map[string]bool{}, cons: map[string][]Requirement{}, deps: map[depKey][]dep{}, depIncs: map[depKey][]*incompat{},
		dependents: map[dependentsKey]*incompat{},
		warned:     map[string]bool{}}
	s.env.Extra = ""
	s.pv = newProvider(ctx, req, s.warn)
	rootProj := &project{display: "the request", ready: make(chan struct{}),
		versions: []version.Version{version.MustParse("0")}, cands: []candidate{{ok: true}}}
	close(rootProj.ready)
	s.root = s.addPkg("", nil, "", rootProj)
	return s
}

func (s *solver) wait() { s.pv.wg.Wait() }

func (s *solver) warn(msg string) {
	s.pv.mu.Lock()
	defer s.pv.mu.Unlock()
	if !s.warned[msg] {
		s.warned[msg] = true
		s.warnings = append(s.warnings, msg)
	}
}

func (s *solver) addPkg(key string, base *pkg, extra string, proj *project) *pkg {
	p := &pkg{id: len(s.pkgs), key: key, base: base, extra: extra, proj: proj, order: len(s.pkgs), pinned: map[int]bool{}}
	s.pkgs = append(s.pkgs, p)
	s.byKey[key] = p
	s.incompats = append(s.incompats, nil)
	s.cur = append(s.cur, fullSet(p.n()))
	s.decided = append(s.decided, -1)
	if base != nil {
		s.extrasOf[base] = append(s.extrasOf[base], p)
	}
	return p
}

// pkgFor returns the package of a project (and extra), waiting for its
// page. A project whose page cannot be read is an error.
func (s *solver) pkgFor(proj *project, extra string) (*pkg, error) {
	key := proj.norm
	if extra != "" {
		key += "[" + extra + "]"
	}
	if p, ok := s.byKey[key]; ok {
		return p, nil
	}
	select {
	case <-proj.ready:
	case <-s.ctx.Done():
		return nil, context.Cause(s.ctx)
	}
	if proj.err != nil {
		return nil, proj.err
	}
	if extra != "" {
		base, err := s.pkgFor(proj, "")
		if err != nil {
			return nil, err
		}
		return s.addPkg(key, base, extra, proj), nil
	}
	p := s.addPkg(key, nil, "", proj)
	// A locked version stays usable if it was yanked since (as uv allows).
	if pref, ok := s.req.Preferred[proj.norm]; ok {
		for i, v := range proj.versions {
			if v.Equal(pref) {
				p.pinned[i] = true
			}
		}
	}
	// Constraints restrict the project from the start.
	for _, c := range s.cons[proj.norm] {
		allowed := emptySet(p.n())
		for i, v := range proj.versions {
			if c.Specifier.Matches(v) {
				allowed.add(i)
			}
		}
		s.markPins(p, c.Specifier, allowed)
		s.addIncompat(&incompat{terms: []term{{p, allowed.not().minus(singleton(p.n(), p.n()))}}, kind: kConstraint,
			reason: fmt.Sprintf("the constraint %s%s", c.Requirement.String(), origin(c.Origin))})
	}
	return p, nil
}

func (s *solver) markPins(p *pkg, spec version.SpecifierSet, matches set) {
	pin := false
	for _, sp := range spec.Specifiers() {
		if (sp.Op() == "==" && !sp.IsWildcard()) || sp.Op() == "===" {
			pin = true
		}
	}
	if pin {
		for _, i := range matches.versions() {
			p.pinned[i] = true
		}
	}
	if spec.NamesPrerelease() {
		p.preOK = true
	}
}

// addIncompat merges an incompatibility's terms by package, drops the terms
// that always hold, and records it (unless a term can never hold).
func (s *solver) addIncompat(inc *incompat) *incompat {
	inc.terms = mergeTerms(inc.terms)
	for _, t := range inc.terms {
		if t.set.isEmpty() {
			return inc
		}
	}
	if merged := s.mergeDependents(inc); merged != nil {
		inc = merged
	}
	for _, t := range inc.terms {
		s.incompats[t.pkg.id] = append(s.incompats[t.pkg.id], inc)
	}
	return inc
}

type dependentsKey struct {
	p, q        int
	req, origin string
}

// mergeDependents merges a dependency with the same one of other versions
// (as pubgrub-rs does): "p==1 depends on q>=2" and "p==2 depends on q>=2"
// become "p>=1,<=2 depends on q>=2", which is as true, one fact for the
// solver to weigh and one sentence in an explanation. It returns the merged
// incompatibility (the one it replaces is dropped), or nil.
func (s *solver) mergeDependents(inc *incompat) *incompat {
	if inc.kind != kDep || len(inc.terms) != 2 || inc.terms[0].pkg == s.root || !inc.terms[0].set.positive() {
		return nil
	}
	self, dep := inc.terms[0], inc.terms[1]
	k := dependentsKey{self.pkg.id, dep.pkg.id, inc.req, inc.origin}
	old := s.dependents[k]
	if old == nil || !old.terms[1].set.equal(dep.set) {
		s.dependents[k] = inc
		return nil
	}
	merged := &incompat{terms: []term{{self.pkg, old.terms[0].set.or(self.set)}, dep}, kind: kDep, req: inc.req, origin: inc.origin}
	for _, t := range old.terms {
		s.incompats[t.pkg.id] = slices.DeleteFunc(s.incompats[t.pkg.id], func(i *incompat) bool { return i == old })
	}
	s.dependents[k] = merged
	return merged
}

func mergeTerms(ts []term) []term {
	var out []term
	for _, t := range ts {
		merged := false
		for i := range out {
			if out[i].pkg == t.pkg {
				out[i].set = out[i].set.and(t.set)
				merged = true
			}
		}
		if !merged {
			out = append(out, term{t.pkg, t.set.clone()})
		}
	}
	kept := out[:0]
	for _, t := range out {
		if !t.set.isFull() {
			kept = append(kept, t)
		}
	}
	return kept
}

const (
	relSatisfied = iota
	relContradicted
	relAlmost
	relInconclusive
)

func (s *solver) relation(inc *incompat) (int, *term) {
	var un *term
	for i := range inc.terms {
		t := &inc.terms[i]
		cur := s.cur[t.pkg.id]
		if cur.subsetOf(t.set) {
			continue
		}
		if cur.disjoint(t.set) {
			return relContradicted, nil
		}
		if un != nil {
			return relInconclusive, nil
		}
		un = t
	}
	if un == nil {
		return relSatisfied, nil
	}
	return relAlmost, un
}

func (s *solver) assign(p *pkg, st set, cause *incompat) {
	level := s.level
	if cause == nil {
		s.level++
		level = s.level
		s.decided[p.id] = st.versions()[0]
	}
	s.partial = append(s.partial, assignment{pkg: p, set: st, level: level, cause: cause})
	s.cur[p.id].andWith(st)
}

func (s *solver) backtrack(level int) {
	keep := 0
	for keep < len(s.partial) && s.partial[keep].level <= level {
		keep++
	}
	s.partial = s.partial[:keep]
	s.level = level
	for _, p := range s.pkgs {
		s.cur[p.id] = fullSet(p.n())
		s.decided[p.id] = -1
	}
	for _, a := range s.partial {
		s.cur[a.pkg.id].andWith(a.set)
		if a.cause == nil {
			s.decided[a.pkg.id] = a.set.versions()[0]
		}
	}
}

// propagate is PubGrub's unit propagation from the changed packages.
func (s *solver) propagate(start []*pkg) error {
	changed := slices.Clone(start) // a work list of its own: start may be s.pkgs
	queued := map[*pkg]bool{}
	for _, p := range changed {
		queued[p] = true
	}
	for len(changed) > 0 {
		p := changed[len(changed)-1]
		changed = changed[:len(changed)-1]
		delete(queued, p)
		incs := s.incompats[p.id]
		for i := len(incs) - 1; i >= 0; i-- {
			inc := incs[i]
			rel, t := s.relation(inc)
			if rel == relSatisfied {
				learned, err := s.resolveConflict(inc)
				if err != nil {
					return err
				}
				rel, t = s.relation(learned)
				if rel != relAlmost {
					return fmt.Errorf("resolve: internal error: a learned incompatibility is not almost satisfied")
				}
				s.assign(t.pkg, t.set.not(), learned)
				for q := range queued {
					delete(queued, q)
				}
				changed = append(changed[:0], t.pkg)
				queued[t.pkg] = true
				break
			}
			if rel == relAlmost {
				s.assign(t.pkg, t.set.not(), inc)
				if !queued[t.pkg] {
					queued[t.pkg] = true
					changed = append(changed, t.pkg)
				}
			}
		}
	}
	return nil
}

// satisfier is the index of the earliest assignment from which p's
// assignments satisfy st.
func (s *solver) satisfier(p *pkg, st set) int {
	acc := fullSet(p.n())
	for i, a := range s.partial {
		if a.pkg != p {
			continue
		}
		acc.andWith(a.set)
		if acc.subsetOf(st) {
			return i
		}
	}
	return -1
}

func (s *solver) isFailure(inc *incompat) bool {
	return len(inc.terms) == 0 || len(inc.terms) == 1 && inc.terms[0].pkg == s.root && inc.terms[0].set.positive()
}

// resolveConflict is PubGrub's conflict resolution: it derives from a
// satisfied incompatibility the one that explains the conflict at the
// level to backjump to, backjumps, and returns it.
func (s *solver) resolveConflict(inc *incompat) (*incompat, error) {
	created := false
	for {
		if s.isFailure(inc) {
			return nil, s.explain(inc)
		}
		satIdx, satTerm := -1, -1
		idx := make([]int, len(inc.terms))
		for i, t := range inc.terms {
			idx[i] = s.satisfier(t.pkg, t.set)
			if idx[i] < 0 {
				return nil, fmt.Errorf("resolve: internal error: a term of a satisfied incompatibility has no satisfier")
			}
			if idx[i] > satIdx {
				satIdx, satTerm = idx[i], i
			}
		}
		sat := s.partial[satIdx]
		prevLevel := 1
		for i := range inc.terms {
			if i != satTerm {
				prevLevel = max(prevLevel, s.partial[idx[i]].level)
			}
		}
		diff := sat.set.minus(inc.terms[satTerm].set)
		if !diff.isEmpty() {
			if j := s.satisfier(sat.pkg, diff.not()); j >= 0 {
				prevLevel = max(prevLevel, s.partial[j].level)
			}
		}
		if sat.cause == nil || prevLevel < sat.level {
			s.backtrack(prevLevel)
			if created {
				s.addIncompat(inc)
			}
			return inc, nil
		}
		var terms []term
		for i, t := range inc.terms {
			if i != satTerm {
				terms = append(terms, t)
			}
		}
		for _, t := range sat.cause.terms {
			if t.pkg != sat.pkg {
				terms = append(terms, t)
			}
		}
		if !diff.isEmpty() {
			terms = append(terms, term{sat.pkg, diff.not()})
		}
		inc = &incompat{terms: mergeTerms(terms), kind: kDerived, c1: inc, c2: sat.cause}
		created = true
	}
}

// solve runs PubGrub to a solution or an *UnsatError.
func (s *solver) solve() error {
	env := s.env
	for _, c := range s.req.Constraints {
		if c.Requirement != nil && c.Applies(env) {
			s.cons[c.NormalizedName()] = append(s.cons[c.NormalizedName()], c)
		}
	}
	// Start every root project, direct URLs first: such a project is its
	// URL's file, whatever else names it.
	for _, url := range []bool{true, false} {
		for _, r := range s.req.Requirements {
			if r.Requirement == nil || !r.Applies(env) || (r.URL != "") != url {
				continue
			}
			norm := r.NormalizedName()
			s.requested[norm] = true
			if _, inst := s.req.Installed[norm]; url && !inst && s.pv.known(norm) == nil {
				s.pv.direct(norm, r.Name, r.URL)
			} else {
				s.pv.project(norm, r.Name)
			}
		}
	}
	for _, c := range s.cons {
		s.pv.project(c[0].NormalizedName(), c[0].Name)
	}
	s.addIncompat(&incompat{terms: []term{{s.root, singleton(1, 0).not()}}, kind: kRoot})
	next := []*pkg{s.root}
	for {
		if err := s.ctx.Err(); err != nil {
			return context.Cause(s.ctx)
		}
		if err := s.propagate(next); err != nil {
			return err
		}
		p := s.choose()
		if p == nil {
			return nil
		}
		var err error
		if next, err = s.decide(p); err != nil {
			return err
		}
	}
}

// choose picks the next package to decide: one whose set is a single
// version (a pin, an installed or direct package), then those raised by
// conflicts, then in the order they were found (breadth first).
func (s *solver) choose() *pkg {
	var best *pkg
	bestClass := 0
	for _, p := range s.pkgs {
		cur := s.cur[p.id]
		if s.decided[p.id] >= 0 || !cur.positive() {
			continue
		}
		class := 2
		if cur.count() == 1 || p.proj.installed != nil || p.proj.directURL != "" {
			class = 0
		} else if p.prio > 0 {
			class = 1
		}
		if best == nil || class < bestClass || class == bestClass &&
			(p.prio > best.prio || p.prio == best.prio && p.order < best.order) {
			best, bestClass = p, class
		}
	}
	return best
}

// usable reports whether version vi of p may be chosen: a file fits the
// target, and it is not yanked or the version is pinned.
func (s *solver) usable(p *pkg, vi int) bool {
	base := p
	if p.base != nil {
		base = p.base
	}
	c := base.proj.cands[vi]
	return c.ok && (!c.yanked || p.pinned[vi] || base.pinned[vi])
}

// pick chooses p's version among its allowed ones: the preferred version,
// else the newest final release, else the newest pre-release (final
// releases first unless --pre or a requirement names a pre-release).
func (s *solver) pick(p *pkg) int {
	cur := s.cur[p.id]
	if p.base != nil {
		// An extra goes with its project's version.
		if vi := s.decided[p.base.id]; vi >= 0 && cur.has(vi) && s.usable(p, vi) {
			return vi
		}
		if both := cur.and(s.cur[p.base.id]).minus(singleton(p.n(), p.n())); !both.isEmpty() {
			if vi := s.pickIn(p, both); vi >= 0 {
				return vi
			}
		}
	}
	return s.pickIn(p, cur)
}

// pickIn is pick within a set of p's versions.
func (s *solver) pickIn(p *pkg, cur set) int {
	allowed := cur.versions()
	proj := p.proj
	if pref, ok := s.req.Preferred[proj.norm]; ok {
		for _, vi := range allowed {
			if proj.versions[vi].Equal(pref) && s.usable(p, vi) {
				return vi
			}
		}
	}
	anyPre := s.req.Pre || p.preOK || p.base != nil && p.base.preOK
	for pass := 0; pass < 2; pass++ {
		for i := len(allowed) - 1; i >= 0; i-- {
			vi := allowed[i]
			if !s.usable(p, vi) {
				continue
			}
			if pass == 0 && !anyPre && proj.versions[vi].IsPrerelease() {
				continue
			}
			return vi
		}
	}
	return -1
}

// maxBoosts bounds how often one package is raised above a culprit.
const maxBoosts = 8

// decide picks a version for p and adds its dependencies; it returns the
// packages to propagate from.
func (s *solver) decide(p *pkg) ([]*pkg, error) {
	vi := s.pick(p)
	allowed := s.cur[p.id].minus(singleton(p.n(), p.n()))
	if vi < 0 {
		s.addIncompat(&incompat{terms: []term{{p, allowed}}, kind: kNoVersions, rejects: s.rejects(p, allowed)})
		return []*pkg{p}, nil
	}
	if p.tried++; p.tried > 1 && p.base == nil && p.proj.installed == nil {
		// Backtracking through p's versions: read the metadata of the next
		// few while this one is looked at (as uv's batch prefetch).
		s.prefetchBelow(p, allowed, vi, 4)
	}
	key := depKey{p.id, vi}
	deps, seen := s.depIncs[key]
	if !seen {
		// A version's dependencies are read and added once; after a
		// backjump the same version finds them in place.
		var why string
		var err error
		deps, why, err = s.dependencies(p, vi)
		if err != nil {
			return nil, err
		}
		if why != "" {
			s.addIncompat(&incompat{terms: []term{{p, singleton(p.n(), vi)}}, kind: kUnavailable, reason: why})
			return []*pkg{p}, nil
		}
		s.depIncs[key] = deps
		for _, inc := range deps {
			s.addIncompat(inc)
		}
	}
	var conflict *incompat
	for _, inc := range deps {
		if conflict == nil && s.satisfiedWith(inc, p, vi) {
			conflict = inc
		}
	}
	if conflict == nil {
		s.assign(p, singleton(p.n(), vi), nil)
		return []*pkg{p}, nil
	}
	// uv's heuristic: a package rejected again and again because of
	// another's decision is decided before it.
	p.conflicts++
	if p.conflicts >= 5 && p.boosts < maxBoosts {
		for _, t := range conflict.terms {
			if t.pkg == p {
				continue
			}
			j := s.satisfier(t.pkg, t.set)
			if j < 0 || s.partial[j].cause != nil || s.partial[j].level <= 1 {
				continue
			}
			p.conflicts = 0
			p.boosts++
			p.prio = max(p.prio, t.pkg.prio+1)
			s.backtrack(s.partial[j].level - 1)
			return s.pkgs, nil
		}
	}
	return []*pkg{p}, nil
}

// satisfiedWith reports whether the partial solution plus the decision
// p==vi satisfies inc.
func (s *solver) satisfiedWith(inc *incompat, p *pkg, vi int) bool {
	for _, t := range inc.terms {
		if t.pkg == p {
			if !t.set.has(vi) {
				return false // a dependency of p on itself that vi meets
			}
			continue
		}
		if !s.cur[t.pkg.id].subsetOf(t.set) {
			return false
		}
	}
	return true
}

// dependencies reads version vi of p's metadata and returns the
// incompatibilities of its dependencies, or why the version is unusable.
func (s *solver) dependencies(p *pkg, vi int) ([]*incompat, string, error) {
	base := p
	if p.base != nil {
		base = p.base
	}
	proj := base.proj
	self := term{p, singleton(p.n(), vi)}
	var incs []*incompat
	if p.base != nil {
		incs = append(incs, &incompat{terms: []term{self, {base, singleton(base.n(), vi).not()}}, kind: kDep,
			req: fmt.Sprintf("%s==%s", proj.display, proj.versions[vi])})
	}
	if p == s.root {
		var reqs []Requirement
		for _, r := range s.req.Requirements {
			if r.Requirement != nil && r.Applies(s.env) {
				reqs = append(reqs, r)
			}
		}
		more, err := s.depIncompats(self, reqs, nil)
		return more, "", err
	}
	if proj.installed != nil {
		return incs, "", nil
	}
	fut := s.pv.metadata(proj, vi)
	m, err := fut.get(s.ctx)
	if errors.Is(err, index.ErrNoMetadata) {
		return nil, fmt.Sprintf("has no wheel and its sdist does not declare its dependencies for sure (%v)", err), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", proj.display, proj.versions[vi], err)
	}
	if proj.cands[vi].name == "" {
		s.pv.mu.Lock()
		proj.cands[vi].name = m.Name
		s.pv.mu.Unlock()
	}
	if m.RequiresPython.Len() > 0 && !m.RequiresPython.Matches(s.req.Python) {
		return nil, fmt.Sprintf("requires Python %s (the target has %s)", m.RequiresPython, s.req.Python), nil
	}
	key := depKey{p.id, vi}
	env := s.env
	var reqs []Requirement
	if p.base != nil {
		if !hasExtra(m, p.extra) {
			s.warn(fmt.Sprintf("%s %s does not provide the extra %q", m.Name, m.Version, p.extra))
		}
		env.Extra = p.extra
		for _, r := range m.RequiresDist {
			if r.Applies(env) && !r.Applies(s.env) {
				reqs = append(reqs, Requirement{Requirement: r})
			}
		}
	} else {
		for _, r := range m.RequiresDist {
			if r.Applies(env) {
				reqs = append(reqs, Requirement{Requirement: r})
			}
		}
	}
	more, err := s.depIncompats(self, reqs, &key)
	return append(incs, more...), "", err
}

func hasExtra(m *metadata.Metadata, extra string) bool {
	for _, e := range m.ProvidesExtra {
		if name.Equal(e, extra) {
			return true
		}
	}
	return false
}

// depIncompats makes "self depends on r" for each requirement: on its
// project, and on each of its extras.
func (s *solver) depIncompats(self term, reqs []Requirement, key *depKey) ([]*incompat, error) {
	projs := make([]*project, len(reqs))
	for i, r := range reqs {
		projs[i] = s.pv.project(r.NormalizedName(), r.Name)
	}
	var out []*incompat
	for i, r := range reqs {
		if r.URL != "" && self.pkg != s.root {
			s.warn(fmt.Sprintf("%s: a dependency given by URL (%s) is resolved from the index", r.Name, index.Redact(r.URL)))
		}
		extras := append([]string{""}, r.Extras...)
		for _, e := range extras {
			q, err := s.pkgFor(projs[i], name.Normalize(e))
			if err != nil {
				return nil, err
			}
			if q.extraText == "" {
				q.extraText = e // as first written, for messages
			}
			match := emptySet(q.n())
			for vi, v := range q.proj.versions {
				if r.URL != "" || r.Specifier.Matches(v) {
					match.add(vi)
				}
			}
			s.markPins(q, r.Specifier, match)
			inc := &incompat{terms: []term{self, {q, match.not()}}, kind: kDep, req: reqText(r.Requirement), origin: r.Origin}
			if match.isEmpty() {
				inc.empty = s.emptyReason(q.proj)
			} else if e == "" {
				s.prefetch(q, match)
			}
			out = append(out, inc)
			if key != nil {
				s.deps[*key] = append(s.deps[*key], dep{q, match})
			}
		}
	}
	return out, nil
}

// reqText is a requirement without its marker, nor credentials in its URL.
func reqText(r *requirement.Requirement) string {
	c := *r
	c.Marker = nil
	c.URL = index.Redact(c.URL)
	return c.String()
}

// prefetch starts reading the metadata of the version of q most likely to
// be chosen within match.
func (s *solver) prefetch(q *pkg, match set) {
	vs := match.versions()
	for i := len(vs) - 1; i >= 0; i-- {
		if c := q.proj.cands[vs[i]]; c.ok && !c.yanked && !q.proj.versions[vs[i]].IsPrerelease() {
			s.pv.metadata(q.proj, vs[i])
			return
		}
	}
}

// prefetchBelow starts reading the metadata of up to n usable versions
// of p in allowed older than vi.
func (s *solver) prefetchBelow(p *pkg, allowed set, vi, n int) {
	for i := vi - 1; i >= 0 && n > 0; i-- {
		if allowed.has(i) && s.usable(p, i) {
			s.pv.metadata(p.proj, i)
			n--
		}
	}
}

// emptyReason says why no version of a project matches a requirement.
func (s *solver) emptyReason(proj *project) string {
	switch {
	case proj.installed != nil:
		return fmt.Sprintf("%s %s is installed by %s", proj.display, proj.installed.Version, orConda(proj.installed.Origin))
	case proj.notFound:
		return fmt.Sprintf("there is no project %s on the index", proj.norm)
	case len(proj.versions) == 0:
		return fmt.Sprintf("%s has no distribution files", proj.display)
	}
	return fmt.Sprintf("%s has only %s", proj.display, versionList(proj.versions))
}

func orConda(o string) string {
	if o == "" {
		return "another installer"
	}
	return o
}

func versionList(vs []version.Version) string {
	const shown = 8
	var out []string
	start := max(0, len(vs)-shown)
	for _, v := range vs[start:] {
		out = append(out, v.String())
	}
	if start > 0 {
		return fmt.Sprintf("%d versions (newest %s)", len(vs), strings.Join(out, ", "))
	}
	if len(out) == 1 {
		return "version " + out[0]
	}
	return "versions " + strings.Join(out, ", ")
}

// rejects says why each version of allowed cannot be chosen, newest
// first.
func (s *solver) rejects(p *pkg, allowed set) []string {
	proj := p.proj
	if p.base != nil {
		proj = p.base.proj
	}
	vs := allowed.versions()
	const shown = 10
	var out []string
	for i := len(vs) - 1; i >= 0 && len(out) < shown; i-- {
		vi := vs[i]
		c := proj.cands[vi]
		v := proj.versions[vi]
		switch {
		case !c.ok:
			out = append(out, fmt.Sprintf("%s==%s %s", proj.display, v, c.why))
		case c.yanked:
			out = append(out, fmt.Sprintf("%s==%s is yanked%s (only a == pin takes it)", proj.display, v, yankReason(c.file)))
		}
	}
	if len(vs) > shown {
		out = append(out, fmt.Sprintf("and %d older versions", len(vs)-shown))
	}
	return out
}

func yankReason(f index.File) string {
	if f.YankedReason != "" {
		return fmt.Sprintf(" (%q)", f.YankedReason)
	}
	return ""
}
