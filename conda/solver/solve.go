// Package solver resolves conda package requests into a consistent set of
// package records, with conda's and rattler's semantics: depends,
// constrains, track_features, channel priority, pins, locked (previous)
// solutions and virtual packages.
//
// The problem is encoded as SAT over one variable per candidate record (at
// most one record per package name; each dependency a clause "¬A ∨ B1 ∨ B2
// ..." over the records that match it; each constrains entry a conflict; each
// requested spec a clause) and solved by a CDCL core (sat.go) whose decisions
// follow the package preference order (order.go), like libsolv and resolvo.
// When there is no solution, Solve returns an *UnsatError that explains the
// conflict from the requested specs down to the incompatible packages.
package solver

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	Specs       []*MatchSpec             // what the user asked for
	Available   []*record.RepoDataRecord // candidates (all subdirs, all channels)
	Virtual     []*record.PackageRecord  // virtual packages of the target (conda/virtual)
	Constraints []*MatchSpec             // pins: restrict a package if it is installed, do not require it
	Locked      []*record.RepoDataRecord // preferred existing solution (kept when it still fits)
	// ChannelOrder lists channel canonical URLs, highest priority first.
	// Channels of Available that are not listed rank after, in order of
	// first appearance.
	ChannelOrder    []string
	ChannelPriority Priority // Strict (default) | Flexible | Disabled
}

// Solve returns the records to install (sorted by name; virtual packages
// excluded), or an *UnsatError when the specs cannot be satisfied together.
func Solve(ctx context.Context, p Problem) ([]*record.RepoDataRecord, error) {
	for i, s := range p.Specs {
		if s == nil || s.Name == "" || s.Name == "*" {
			return nil, fmt.Errorf("solver: spec %d: a requested spec needs a package name", i)
		}
	}
	pl := buildPool(&p)
	if len(pl.missing) > 0 {
		return nil, &UnsatError{Missing: pl.missing, text: explainMissing(pl.missing)}
	}
	r := newRun(pl, false)
	ok, err := r.solve(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Solve again, recording why each learnt clause holds, to explain.
		r = newRun(pl, true)
		if _, err := r.solve(ctx); err != nil {
			return nil, err
		}
		return nil, r.explain()
	}
	var out []*record.RepoDataRecord
	for _, l := range r.s.trail {
		if litIsPos(l) {
			if c := pl.vars[litVar(l)]; !c.virtual {
				out = append(out, c.rec)
			}
		}
	}
	slices.SortFunc(out, func(a, b *record.RepoDataRecord) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// run is one SAT search over a pool.
type run struct {
	pl       *pool
	s        *sat
	units    []int32 // unit clauses, asserted at level 0
	confl    int32   // the final conflict's clause, -1 for an at-most-one conflict
	trueVars []int32 // variables assigned true, in trail order
	trailPos int     // trail prefix already scanned into trueVars
}

func newRun(pl *pool, track bool) *run {
	var groups [][]int32
	for _, name := range pl.names {
		cs := pl.byName[name]
		if len(cs) > 1 {
			g := make([]int32, len(cs))
			for i, c := range cs {
				g[i] = c.v
			}
			groups = append(groups, g)
		}
	}
	r := &run{pl: pl, s: newSAT(int32(len(pl.vars)-1), groups, track)}
	r.encode()
	r.s.attach()
	return r
}

// encode adds the clauses of the problem.
func (r *run) encode() {
	pl, s := r.pl, r.s
	var buf []int32
	add := func(lits []int32, kind clauseKind, a, b, c int32) {
		id := s.addClause(lits, kind, a, b, c)
		if len(lits) <= 1 {
			r.units = append(r.units, id)
		}
	}
	for _, c := range pl.vars[1:] {
		if c.virtual {
			add([]int32{posLit(c.v)}, kindVirtual, c.v, 0, 0)
		}
	}
	for i, d := range pl.roots {
		buf = buf[:0]
		for _, v := range d.matches {
			buf = append(buf, posLit(v))
		}
		add(buf, kindRoot, int32(i), 0, 0) // empty when nothing matches: unsatisfiable
	}
	for i, d := range pl.pins {
		for _, v := range d.others {
			add([]int32{negLit(v)}, kindPin, v, 0, int32(i))
		}
	}
	for _, c := range pl.vars[1:] {
		if c.badDep != nil {
			add([]int32{negLit(c.v)}, kindRequires, c.v, -1, 0)
		}
		for di, d := range c.deps {
			buf = append(buf[:0], negLit(c.v))
			for _, v := range d.matches {
				buf = append(buf, posLit(v))
			}
			add(buf, kindRequires, c.v, int32(di), 0)
		}
		for di, d := range c.cons {
			for _, v := range d.others {
				add([]int32{negLit(c.v), negLit(v)}, kindConstrains, c.v, v, int32(di))
			}
		}
	}
}

// solve searches for a solution. It returns false when there is none.
func (r *run) solve(ctx context.Context) (bool, error) {
	s := r.s
	for _, id := range r.units {
		ls := s.lits(id)
		if len(ls) == 0 {
			s.conflLits = s.conflLits[:0]
			r.confl = id
			return false, nil
		}
		l := ls[0]
		switch s.val[l] {
		case -1:
			s.conflLits = append(s.conflLits[:0], l)
			r.confl = id
			return false, nil
		case 0:
			s.assign(l, id)
		}
	}
	conflicts := 0
	for {
		ok, confl := s.propagate()
		if !ok {
			if s.decisionLevel() == 0 {
				r.confl = confl
				return false, nil
			}
			conflicts++
			if conflicts&255 == 0 {
				if err := ctx.Err(); err != nil {
					return false, err
				}
			}
			learnt, back, why := s.analyze(confl)
			if debugLearn != nil {
				debugLearn(s, learnt)
			}
			s.backtrack(back)
			r.dropTrue()
			s.learn(learnt, why)
			continue
		}
		r.collectTrue()
		v := r.decide()
		if v == 0 {
			return true, nil
		}
		s.lim = append(s.lim, int32(len(s.trail)))
		s.assign(posLit(v), noReason)
	}
}

// collectTrue appends the variables made true since the last call.
func (r *run) collectTrue() {
	for _, l := range r.s.trail[r.trailPos:] {
		if litIsPos(l) {
			r.trueVars = append(r.trueVars, litVar(l))
		}
	}
	r.trailPos = len(r.s.trail)
}

// dropTrue forgets the true variables undone by a backjump.
func (r *run) dropTrue() {
	for n := len(r.trueVars); n > 0 && r.s.val[posLit(r.trueVars[n-1])] != 1; n-- {
		r.trueVars = r.trueVars[:n-1]
	}
	r.trailPos = min(r.trailPos, len(r.s.trail))
}

// decide picks the next decision, resolvo style: the first requested spec,
// then the first dependency of an installed record (in the order they were
// installed), that no true record satisfies yet; its most preferred
// candidate that is still possible becomes true. It returns 0 when every
// requirement is satisfied: the true records are the solution (everything
// else stays out).
func (r *run) decide() int32 {
	for _, d := range r.pl.roots {
		if v := r.pick(d); v != 0 {
			return v
		}
	}
	for i := 0; i < len(r.trueVars); i++ {
		for _, d := range r.pl.vars[r.trueVars[i]].deps {
			if v := r.pick(d); v != 0 {
				return v
			}
		}
	}
	return 0
}

// pick returns 0 if d is satisfied, else its best unassigned candidate.
func (r *run) pick(d *dep) int32 {
	val := r.s.val
	if d.satBy != 0 && val[posLit(d.satBy)] == 1 {
		return 0
	}
	var first int32
	for _, v := range d.matches {
		switch val[posLit(v)] {
		case 1:
			d.satBy = v
			return 0
		case 0:
			if first == 0 {
				first = v
			}
		}
	}
	return first
}

var debugLearn func(*sat, []int32)
