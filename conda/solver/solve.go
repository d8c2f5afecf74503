// Package solver resolves conda package requests into a consistent set of
// package records, with conda's and rattler's semantics: depends,
// constrains, track_features, channel priority, pins, locked (previous)
// solutions and virtual packages.
//
// The problem is encoded as SAT over one variable per candidate record: at
// most one record per package name; each dependency a clause "¬A ∨ B1 ∨ B2
// ..." over the records that match it; each constrains entry a conflict
// "¬A ∨ ¬B" with every record it excludes; each requested spec a clause over
// its candidates; pins exclude what they do not match. Like resolvo, the
// encoding is lazy (pool.go): a name's records are ordered when a
// requirement on it first appears and a record's clauses are added when it
// is installed. A CDCL core (sat.go) with watched literals, first-UIP
// learning and backjumping searches, deciding in the package preference
// order (order.go) without restarts (search.go), so the result is
// deterministic. When there is no solution, Solve returns an *UnsatError
// that explains the conflict from the requested specs down to the
// incompatible packages (explain.go).
//
// What does not depend on the request (records grouped by name and ranked
// by version, specs parsed and matched) is an Index (index.go), built once
// per set of records and shared by every solve over them, as libsolv
// loads a pool once: NewIndex, then Index.Solve. Solve does both.
package solver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/record"
)

// Priority is the channel priority mode.
type Priority int

const (
	// Strict: a package name found in a higher-priority channel comes only
	// from that channel (conda's default).
	Strict Priority = iota
	// Flexible: prefer the higher-priority channel, fall back to others.
	Flexible
	// Disabled: channels do not matter; the highest version wins.
	Disabled
)

func (p Priority) String() string {
	switch p {
	case Strict:
		return "strict"
	case Flexible:
		return "flexible"
	case Disabled:
		return "disabled"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// Problem is a solve request.
type Problem struct {
	Specs     []*MatchSpec             // what the user asked for
	Available []*record.RepoDataRecord // candidates (all subdirs, all channels)
	// Subdirs, when set, leaves out the records of other subdirs: one
	// Index of several platforms' records serves each platform's solve
	// (e.g. Subdirs: linux-64 and noarch).
	Subdirs     []string
	Virtual     []*record.PackageRecord  // virtual packages of the target (conda/virtual)
	Constraints []*MatchSpec             // pins: restrict a package if it is installed, do not require it
	Locked      []*record.RepoDataRecord // preferred existing solution (kept when it still fits)
	// ChannelOrder lists channel canonical URLs, highest priority first.
	// Channels of Available that are not listed rank after, in order of
	// first appearance.
	ChannelOrder    []string
	ChannelPriority Priority // Strict (default) | Flexible | Disabled
	// Budget bounds the search (the zero value: DefaultTimeout, no
	// conflict limit). A search that exceeds it ends with a *BudgetError.
	Budget Budget
}

// DefaultTimeout is the time a search may take when Budget.Time is 0.
const DefaultTimeout = 60 * time.Second

// Budget bounds one Solve. Some requests (a pigeonhole among a few hundred
// records) take the search exponential time to prove unsatisfiable; the
// budget turns them into an error instead of an endless build.
type Budget struct {
	// Time is how long Solve may search: 0 means DefaultTimeout, a
	// negative value no limit (the context can still cancel).
	Time time.Duration
	// Conflicts is how many conflicts the search may meet: 0 means no limit.
	Conflicts int
}

// BudgetError reports a search that ended because it used up its Budget,
// neither solved nor proved unsatisfiable.
type BudgetError struct {
	Limit     string        // the limit hit: "60s" or "1000 conflicts"
	Elapsed   time.Duration // time spent in Solve
	Conflicts int           // conflicts met
	Decisions int           // decisions made
	// The request's shape: the requested specs and how many candidate
	// records the search had loaded (of how many available).
	Specs      []string
	Candidates int
	Available  int
}

func (e *BudgetError) Error() string {
	specs := strings.Join(e.Specs[:min(len(e.Specs), maxBudgetSpecs)], ", ")
	if n := len(e.Specs) - maxBudgetSpecs; n > 0 {
		specs += fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("solver: gave up after %s (%d conflicts, %d decisions) solving %s (%d candidate records of %d available): "+
		"the request may be unsatisfiable or only hard to solve; pin some versions, or raise the solver's time budget to search longer",
		e.Limit, e.Conflicts, e.Decisions, specs, e.Candidates, e.Available)
}

// maxBudgetSpecs is how many requested specs a BudgetError names.
const maxBudgetSpecs = 10

// Solve returns the records to install (sorted by name; virtual packages
// excluded), or an *UnsatError when the specs cannot be satisfied together.
// It indexes p.Available first: to solve several problems over the same
// records, build their Index once and use Index.Solve.
func Solve(ctx context.Context, p Problem) ([]*record.RepoDataRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	ix, err := NewIndex(p.Available)
	if err != nil {
		return nil, err
	}
	return ix.solve(ctx, p)
}

// Solve is Solve over the index's records: p.Available must be nil or the
// very records the index was built from.
func (ix *Index) Solve(ctx context.Context, p Problem) ([]*record.RepoDataRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.Available != nil && (len(p.Available) != len(ix.recs) || len(ix.recs) > 0 && &p.Available[0] != &ix.recs[0]) {
		return nil, errors.New("solver: Problem.Available is not the index's records (leave it nil to solve over the index)")
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	return ix.solve(ctx, p)
}

// check checks the requested specs and pins.
func (p *Problem) check() error {
	for i, s := range p.Specs {
		if s == nil || s.Name == "" || strings.Contains(s.Name, "*") {
			return fmt.Errorf("solver: Specs[%d]: a requested spec needs a package name (not a pattern)", i)
		}
	}
	for i, s := range p.Constraints {
		if s == nil || s.Name == "" || strings.Contains(s.Name, "*") {
			return fmt.Errorf("solver: Constraints[%d]: a constraint needs a package name (not a pattern)", i)
		}
	}
	return nil
}

func (ix *Index) solve(ctx context.Context, p Problem) ([]*record.RepoDataRecord, error) {
	started := time.Now()
	pl := newPool(ix, &p)
	var r *run
	defer func() { pl.release(r) }()
	if len(pl.missing) > 0 {
		return nil, &UnsatError{Missing: pl.missing, text: explainMissing(pl.missing)}
	}
	r = newRun(pl, false)
	r.budget(p.Budget, started)
	ok, err := r.solve(ctx)
	if errors.Is(err, errBudget) {
		return nil, r.budgetError(started)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		// Solve again, recording why each learnt clause holds, to explain.
		// The search is the same (it is deterministic), so it ends within
		// the conflicts the first one met: no budget.
		r = newRun(pl, true)
		if _, err := r.solve(ctx); err != nil {
			return nil, err
		}
		return nil, r.explain()
	}
	sol := pl.candPtrs.take(len(r.s.trail))
	for _, l := range r.s.trail {
		if litIsPos(l) {
			if c := pl.vars[litVar(l)]; !c.virtual {
				sol = append(sol, c)
			}
		}
	}
	slices.SortFunc(sol, func(a, b *cand) int {
		if a.x != nil && b.x != nil {
			return cmp.Compare(a.x.order, b.x.order)
		}
		return strings.Compare(a.rec.Name, b.rec.Name)
	})
	out := make([]*record.RepoDataRecord, len(sol))
	for i, c := range sol {
		out[i] = c.rec
	}
	return out, nil
}
