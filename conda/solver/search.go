package solver

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// run is one SAT search over a pool.
type run struct {
	pl       *pool
	s        *sat
	confl    int32   // the final conflict's clause, -1 for an at-most-one conflict
	trueVars []int32 // variables assigned true, in trail order
	trailPos int     // trail prefix already scanned into trueVars
	synced   int     // pool names whose variables the SAT core knows
	added    []int32 // per variable: how many of its clauses are in the SAT core
	expanded int     // trueVars[:expanded] have all their clauses in the SAT core
	// decide's progress since the last backjump: the requested specs are
	// satisfied (rootsOK) and so are the dependencies of trueVars[:depsOK].
	rootsOK bool
	depsOK  int

	conflicts, decisions int
	maxConflicts         int       // 0: no limit
	deadline             time.Time // zero: no limit
	timeLimit            time.Duration
	limit                string // the limit that ended the search
}

// errBudget ends a search that used up its budget (see run.budgetError).
var errBudget = errors.New("solver budget exhausted")

// budget sets the run's limits from b, the time counted from started.
func (r *run) budget(b Budget, started time.Time) {
	t := b.Time
	if t == 0 {
		t = DefaultTimeout
	}
	if t > 0 {
		r.deadline, r.timeLimit = started.Add(t), t
	}
	r.maxConflicts = b.Conflicts
}

// outOfConflicts reports whether the run met as many conflicts as its
// budget allows.
func (r *run) outOfConflicts() bool {
	if r.maxConflicts > 0 && r.conflicts >= r.maxConflicts {
		r.limit = fmt.Sprint(r.maxConflicts, " conflicts")
		return true
	}
	return false
}

// budgetError describes a run that ended with errBudget.
func (r *run) budgetError(started time.Time) *BudgetError {
	e := &BudgetError{
		Limit: r.limit, Elapsed: time.Since(started), Conflicts: r.conflicts, Decisions: r.decisions,
		Candidates: len(r.pl.vars) - 1, Available: len(r.pl.ix.recs),
	}
	if r.pl.p.Subdirs != nil {
		e.Available = 0
		for _, rec := range r.pl.ix.recs {
			if r.pl.subdirOK(rec.Subdir) {
				e.Available++
			}
		}
	}
	for _, d := range r.pl.roots {
		e.Specs = append(e.Specs, d.src)
	}
	return e
}

func newRun(pl *pool, track bool) *run {
	// Room for as many variables as small problems have records.
	if sc := pl.sc; sc != nil && sc.sat != nil && !track {
		// The memory of an earlier search over the index.
		r := &run{pl: pl, s: sc.sat, added: sc.added[:0], trueVars: sc.trueVars[:0]}
		sc.sat = nil
		r.s.reset()
		return r
	}
	n := min(len(pl.ix.recs), smallProblem) + len(pl.p.Virtual) + len(pl.p.Locked)
	return &run{pl: pl, s: newSAT(track, n), added: make([]int32, 0, n+1)}
}

// sync makes the SAT core know every variable the pool has numbered.
func (r *run) sync() {
	n := int32(len(r.pl.vars) - 1)
	r.s.grow(n)
	for len(r.added) <= int(n) {
		r.added = append(r.added, 0)
	}
	for ; r.synced < len(r.pl.loaded); r.synced++ {
		cs := r.pl.loaded[r.synced].cands
		if len(cs) > 1 {
			g := make([]int32, len(cs))
			for i, c := range cs {
				g[i] = c.v
			}
			r.s.addGroup(g)
		}
	}
}

// start asserts the facts of the problem at level 0: virtual packages are
// present, pins exclude what they do not match, one candidate of each
// requested spec is installed. It returns false if they already conflict.
func (r *run) start() bool {
	pl, s := r.pl, r.s
	for _, d := range pl.pins {
		pl.resolve(d)
	}
	for _, d := range pl.roots {
		pl.resolve(d)
	}
	r.sync()
	check := func(id int32, res insertResult) bool {
		if res == conflicts {
			r.confl = id
			return false
		}
		return true
	}
	for _, c := range pl.vars[1:] {
		if c.virtual && !check(s.insert([]int32{posLit(c.v)}, kindVirtual, c.v, 0, 0)) {
			return false
		}
	}
	for i, d := range pl.pins {
		for _, v := range d.others {
			if !check(s.insert([]int32{negLit(v)}, kindPin, v, 0, int32(i))) {
				return false
			}
		}
	}
	var lits []int32
	for i, d := range pl.roots {
		lits = lits[:0]
		for _, v := range d.matches {
			lits = append(lits, posLit(v))
		}
		if !check(s.insert(lits, kindRoot, int32(i), 0, 0)) {
			return false
		}
	}
	return true
}

// clauseRef names one clause of a record: a dependency (dep >= 0, or -1 for
// an unparsable one) or a constrains entry excluding a variable.
type clauseRef struct {
	cons  bool
	dep   int32
	other int32
}

// clausesOf lists the clauses a record brings when installed, resolving
// its dependencies and constrains (which loads their names).
func (r *run) clausesOf(c *cand) []clauseRef {
	pl := r.pl
	pl.parse(c)
	out := pl.refs.take(len(c.deps) + len(c.cons) + 1)
	if c.badDep != nil {
		out = append(out, clauseRef{dep: -1})
	}
	for i, d := range c.deps {
		pl.resolve(d)
		out = append(out, clauseRef{dep: int32(i)})
	}
	for i, d := range c.cons {
		pl.resolve(d)
		for _, v := range d.others {
			out = append(out, clauseRef{cons: true, dep: int32(i), other: v})
		}
	}
	r.sync()
	return out
}

// expand adds the clauses of installed records that are not in the SAT
// core yet (resolvo's lazy encoding: a record's dependencies only matter
// once it is installed). It stops at the first clause that changes the
// assignment or conflicts, returning it.
func (r *run) expand() (int32, insertResult) {
	s := r.s
	var lits []int32
	r.sync()
	for ; r.expanded < len(r.trueVars); r.expanded++ {
		v := r.trueVars[r.expanded]
		c := r.pl.vars[v]
		if c.virtual {
			continue
		}
		refs := r.refs(c)
		for int(r.added[v]) < len(refs) {
			ref := refs[r.added[v]]
			r.added[v]++
			var id int32
			var res insertResult
			switch {
			case ref.cons:
				id, res = s.insert([]int32{negLit(v), negLit(ref.other)}, kindConstrains, v, ref.other, ref.dep)
			case ref.dep < 0:
				id, res = s.insert([]int32{negLit(v)}, kindRequires, v, -1, 0)
			default:
				lits = append(lits[:0], negLit(v))
				for _, m := range c.deps[ref.dep].matches {
					lits = append(lits, posLit(m))
				}
				id, res = s.insert(lits, kindRequires, v, ref.dep, 0)
			}
			if res != inserted {
				r.dropTrue()
				return id, res
			}
		}
	}
	return -1, inserted
}

// refs returns the clause list of a record, computed once per pool.
func (r *run) refs(c *cand) []clauseRef {
	if c.refs == nil {
		c.refs = r.clausesOf(c)
		if c.refs == nil {
			c.refs = []clauseRef{}
		}
	}
	return c.refs
}

// conflict learns from a conflict; it returns false at level 0 (unsatisfiable).
func (r *run) conflict(confl int32) bool {
	s := r.s
	if s.decisionLevel() == 0 {
		r.confl = confl
		return false
	}
	r.conflicts++
	learnt, back, why := s.analyze(confl)
	s.backtrack(back)
	r.dropTrue()
	s.learn(learnt, why)
	return true
}

// solve searches for a solution. It returns false when there is none.
func (r *run) solve(ctx context.Context) (bool, error) {
	if !r.start() {
		return false, nil
	}
	s := r.s
	for steps := 1; ; steps++ {
		if steps&255 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if !r.deadline.IsZero() && time.Now().After(r.deadline) {
				r.limit = r.timeLimit.String()
				return false, errBudget
			}
		}
		if ok, confl := s.propagate(); !ok {
			if !r.conflict(confl) {
				return false, nil
			}
			if r.outOfConflicts() {
				return false, errBudget
			}
			continue
		}
		r.collectTrue()
		switch id, res := r.expand(); res {
		case implied:
			continue
		case conflicts:
			if !r.conflict(id) {
				return false, nil
			}
			if r.outOfConflicts() {
				return false, errBudget
			}
			continue
		}
		v := r.decide()
		if v == 0 {
			return true, nil
		}
		r.decisions++
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
	r.expanded = min(r.expanded, len(r.trueVars))
	r.rootsOK, r.depsOK = false, 0 // a backjump may have undone what satisfied them
}

// decide picks the next decision, resolvo style: the first requested spec,
// then the first dependency of an installed record (in the order they were
// installed), that no true record satisfies yet; its most preferred
// candidate that is still possible becomes true. It returns 0 when every
// requirement is satisfied: the true records are the solution (everything
// else stays out).
//
// Without a backjump, assignments only grow, so what was satisfied stays
// satisfied and the scan resumes where it stopped.
func (r *run) decide() int32 {
	if !r.rootsOK {
		for _, d := range r.pl.roots {
			if v := r.pick(d); v != 0 {
				return v
			}
		}
		r.rootsOK = true
	}
	for ; r.depsOK < len(r.trueVars); r.depsOK++ {
		for _, d := range r.pl.vars[r.trueVars[r.depsOK]].deps {
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
