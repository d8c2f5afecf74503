package solver

import "slices"

// The SAT core: conflict-driven clause learning (CDCL) with two watched
// literals per clause, first-UIP conflict analysis and non-chronological
// backjumping, as in libsolv and resolvo. Two things are specific to package
// solving:
//
//   - "at most one record per package name" is not stored as clauses (that
//     would be quadratic) but propagated natively from a per-variable group:
//     when a record becomes true every other record of its name becomes false,
//     with the implied binary clause (¬a ∨ ¬b) as the reason.
//   - decisions are not chosen by activity but by the caller (the package
//     preference order), and there are no restarts, so the result is
//     deterministic and greedy in preference order.

// Variables are 1..n. A literal is v<<1 for "v is true", v<<1|1 for "v is false".
func posLit(v int32) int32    { return v << 1 }
func negLit(v int32) int32    { return v<<1 | 1 }
func litVar(l int32) int32    { return l >> 1 }
func litNeg(l int32) int32    { return l ^ 1 }
func litIsPos(l int32) bool   { return l&1 == 0 }
func amoReason(v int32) int32 { return -(v + 2) } // reason: v is true in the same name group
func amoVar(r int32) int32    { return -r - 2 }

const noReason int32 = -1

// clauseKind says where a clause comes from, for explanations.
type clauseKind uint8

const (
	kindRoot       clauseKind = iota // a requested spec: one of its candidates (a = spec index)
	kindRequires                     // a dependency: ¬parent ∨ candidates (a = requirement index)
	kindConstrains                   // ¬a ∨ ¬b: a's constrains excludes b (a, b = vars; c = dep index)
	kindPin                          // ¬a: a problem constraint excludes a (c = constraint index)
	kindVirtual                      // a: a virtual package of the target is present
	kindLearnt                       // derived by conflict analysis
)

type clause struct {
	start, n int32 // literals are arena[start : start+n]
	kind     clauseKind
	a, b, c  int32 // kind-specific provenance
}

type sat struct {
	nvars   int32
	arena   []int32
	clauses []clause
	watches [][]int32 // per literal: clauses watching it (visited when it becomes false)
	val     []int8    // per literal: 1 true, -1 false, 0 unassigned
	level   []int32   // per variable
	reason  []int32   // per variable: clause index, amoReason(v) or noReason
	trail   []int32   // assigned literals in order
	lim     []int32   // trail length at the start of each decision level
	qhead   int
	group   []int32   // per variable: index in groups, or -1
	groups  [][]int32 // at-most-one sets (records of one package name)

	seen      []bool
	wblock    block[int32] // where watch lists start (addWatch)
	learnt    []int32      // scratch for analysis
	conflLits []int32

	// track: record why each learnt clause holds, to explain unsatisfiability.
	track bool
	why   map[int32][]int32 // learnt clause -> antecedent clauses (>= 0) and level-0 vars (-(v+1))
}

// newSAT makes a solver with room for n variables (it grows as needed).
func newSAT(track bool, n int) *sat {
	s := &sat{
		watches: make([][]int32, 2, 2*n+2),
		val:     make([]int8, 2, 2*n+2),
		level:   make([]int32, 1, n+1),
		reason:  make([]int32, 1, n+1),
		group:   append(make([]int32, 0, n+1), -1),
		seen:    make([]bool, 1, n+1),
		arena:   make([]int32, 0, 4*n),
		clauses: make([]clause, 0, n),
		track:   track,
	}
	if track {
		s.why = map[int32][]int32{}
	}
	return s
}

// reset empties s for another search, keeping its memory.
func (s *sat) reset() {
	s.nvars = 0
	s.arena, s.clauses = s.arena[:0], s.clauses[:0]
	s.watches, s.val = append(s.watches[:0], nil, nil), append(s.val[:0], 0, 0)
	s.level, s.reason = append(s.level[:0], 0), append(s.reason[:0], 0)
	s.group, s.seen = append(s.group[:0], -1), append(s.seen[:0], false)
	s.trail, s.lim, s.qhead = s.trail[:0], s.lim[:0], 0
	clear(s.groups)
	s.groups = s.groups[:0]
	s.wblock.reset()
	s.learnt, s.conflLits = s.learnt[:0], s.conflLits[:0]
	s.track, s.why = false, nil
}

// grow makes room for variables up to n.
func (s *sat) grow(n int32) {
	if n <= s.nvars {
		return
	}
	k := int(n - s.nvars)
	s.watches = slices.Grow(s.watches, 2*k)[:len(s.watches)+2*k]
	s.val = slices.Grow(s.val, 2*k)[:len(s.val)+2*k]
	s.level = slices.Grow(s.level, k)[:len(s.level)+k]
	s.reason = slices.Grow(s.reason, k)[:len(s.reason)+k]
	s.group = slices.Grow(s.group, k)[:len(s.group)+k]
	s.seen = slices.Grow(s.seen, k)[:len(s.seen)+k]
	for v := s.nvars + 1; v <= n; v++ {
		s.watches[2*v], s.watches[2*v+1] = nil, nil
		s.val[2*v], s.val[2*v+1] = 0, 0
		s.level[v], s.reason[v], s.group[v], s.seen[v] = 0, noReason, -1, false
	}
	s.nvars = n
}

// addWatch makes clause id watch literal l. A literal's first watches
// come from a shared block rather than an allocation of their own.
func (s *sat) addWatch(l, id int32) {
	w := s.watches[l]
	if w == nil {
		w = s.wblock.take(watchChunk)
	}
	s.watches[l] = append(w, id)
}

// watchChunk is the capacity a literal's watch list starts with.
const watchChunk = 4

// addGroup declares that at most one of vs can be true.
func (s *sat) addGroup(vs []int32) {
	g := int32(len(s.groups))
	s.groups = append(s.groups, vs)
	for _, v := range vs {
		s.group[v] = g
	}
}

func (s *sat) lits(c int32) []int32 {
	cl := &s.clauses[c]
	return s.arena[cl.start : cl.start+cl.n]
}

// addClause stores a clause, not yet watched (see watch).
func (s *sat) addClause(lits []int32, kind clauseKind, a, b, c int32) int32 {
	id := int32(len(s.clauses))
	s.clauses = append(s.clauses, clause{start: int32(len(s.arena)), n: int32(len(lits)), kind: kind, a: a, b: b, c: c})
	s.arena = append(s.arena, lits...)
	return id
}

// watch makes clause id watched on its first two literals.
func (s *sat) watch(id int32) {
	ls := s.lits(id)
	s.addWatch(ls[0], id)
	s.addWatch(ls[1], id)
}

// insertResult says what inserting a clause during the search did.
type insertResult int

const (
	inserted  insertResult = iota // stored and watched; the assignment is unchanged
	implied                       // it was unit: the solver jumped back to where and assigned
	conflicts                     // it is false: s.conflLits holds it, at the current level
)

// insert adds a clause during the search, whatever the assignment. The two
// watched literals are the best ones (not false, else false at the highest
// level). When the clause is unit or false under the assignment, insert
// jumps back to the level where it became so and, if it is unit there,
// assigns the implied literal; a clause false with two literals at its top
// level is returned as a conflict at that level, for analysis.
func (s *sat) insert(lits []int32, kind clauseKind, a, b, c int32) (int32, insertResult) {
	id := s.addClause(lits, kind, a, b, c)
	ls := s.lits(id)
	if len(ls) == 0 {
		s.backtrack(0)
		s.conflLits = s.conflLits[:0]
		return id, conflicts
	}
	key := func(l int32) int32 {
		if s.val[l] != -1 {
			return 1 << 30
		}
		return s.level[litVar(l)]
	}
	for i := 0; i < 2 && i < len(ls); i++ { // select the two best literals
		for j := i + 1; j < len(ls); j++ {
			if key(ls[j]) > key(ls[i]) {
				ls[i], ls[j] = ls[j], ls[i]
			}
		}
	}
	if len(ls) >= 2 {
		s.watch(id)
	}
	first := ls[0]
	var second int32 = -1 // level of the second literal when it is false, else -1
	if len(ls) >= 2 && s.val[ls[1]] == -1 {
		second = s.level[litVar(ls[1])]
	}
	switch {
	case s.val[first] != -1 && len(ls) >= 2 && second < 0:
		return id, inserted // two literals not false
	case s.val[first] != -1:
		// Unit: the only literal not false must hold from level m on.
		m := max(second, 0)
		if s.val[first] == 1 && s.level[litVar(first)] <= m {
			return id, inserted
		}
		s.backtrack(m)
		if s.val[first] == 0 {
			s.assign(first, id)
		}
		return id, implied
	}
	m1, m2 := s.level[litVar(first)], max(second, 0)
	if m1 > m2 {
		s.backtrack(m2)
		s.assign(first, id)
		return id, implied
	}
	s.backtrack(m1)
	s.conflLits = append(s.conflLits[:0], ls...)
	return id, conflicts
}

func (s *sat) decisionLevel() int32 { return int32(len(s.lim)) }

// assign makes literal l true. It must be unassigned.
func (s *sat) assign(l, reason int32) {
	v := litVar(l)
	s.val[l] = 1
	s.val[litNeg(l)] = -1
	s.level[v] = s.decisionLevel()
	s.reason[v] = reason
	s.trail = append(s.trail, l)
}

// propagate runs unit propagation to a fixpoint. It returns false on a
// conflict, whose literals (all false) are left in s.conflLits and whose
// clause (or -1 for an at-most-one conflict) is returned as well.
func (s *sat) propagate() (ok bool, confl int32) {
	for s.qhead < len(s.trail) {
		p := s.trail[s.qhead]
		s.qhead++
		if litIsPos(p) {
			v := litVar(p)
			if g := s.group[v]; g >= 0 {
				for _, u := range s.groups[g] {
					if u == v {
						continue
					}
					switch s.val[posLit(u)] {
					case 1:
						s.conflLits = append(s.conflLits[:0], negLit(v), negLit(u))
						return false, -1
					case 0:
						s.assign(negLit(u), amoReason(v))
					}
				}
			}
		}
		// Clauses watching ¬p: ¬p just became false.
		f := litNeg(p)
		ws := s.watches[f]
		j := 0
		for i := 0; i < len(ws); i++ {
			c := ws[i]
			cl := &s.clauses[c]
			ls := s.arena[cl.start : cl.start+cl.n]
			if ls[0] == f {
				ls[0], ls[1] = ls[1], ls[0]
			}
			if s.val[ls[0]] == 1 {
				ws[j] = c
				j++
				continue
			}
			moved := false
			for k := 2; k < len(ls); k++ {
				if s.val[ls[k]] != -1 {
					ls[1], ls[k] = ls[k], ls[1]
					s.addWatch(ls[1], c)
					moved = true
					break
				}
			}
			if moved {
				continue
			}
			ws[j] = c
			j++
			if s.val[ls[0]] == -1 {
				j += copy(ws[j:], ws[i+1:])
				s.watches[f] = ws[:j]
				s.conflLits = append(s.conflLits[:0], ls...)
				return false, c
			}
			s.assign(ls[0], c)
		}
		s.watches[f] = ws[:j]
	}
	return true, -1
}

// reasonLits returns the clause that implied variable v's value, with the
// implied literal first.
func (s *sat) reasonLits(v int32, buf []int32) []int32 {
	r := s.reason[v]
	if r >= 0 {
		return s.lits(r)
	}
	// at-most-one: (¬u ∨ ¬v) with u true, so v is false.
	return append(buf[:0], negLit(v), negLit(amoVar(r)))
}

// analyze derives a first-UIP clause from the conflict in s.conflLits. It
// returns the learnt literals (asserting literal first) and the level to
// jump back to, and the antecedents when tracking.
func (s *sat) analyze(confl int32) (learnt []int32, back int32, why []int32) {
	learnt = append(s.learnt[:0], 0)
	cur := s.decisionLevel()
	pathC := 0
	lits := s.conflLits
	var p int32 = -1
	idx := len(s.trail) - 1
	var buf [2]int32
	if s.track && confl >= 0 {
		why = append(why, confl)
	}
	var marked []int32
	for {
		for _, q := range lits {
			if p >= 0 && q == p {
				continue
			}
			v := litVar(q)
			if s.seen[v] {
				continue
			}
			if s.level[v] == 0 {
				if s.track {
					why = append(why, -(v + 1))
				}
				continue
			}
			s.seen[v] = true
			marked = append(marked, v)
			if s.level[v] == cur {
				pathC++
			} else {
				learnt = append(learnt, q)
			}
		}
		for !s.seen[litVar(s.trail[idx])] {
			idx--
		}
		p = s.trail[idx]
		idx--
		pathC--
		if pathC == 0 {
			break
		}
		v := litVar(p)
		if s.track && s.reason[v] >= 0 {
			why = append(why, s.reason[v])
		}
		lits = s.reasonLits(v, buf[:])
	}
	learnt[0] = litNeg(p)
	for _, v := range marked {
		s.seen[v] = false
	}
	// Put the literal of the highest level second, so that it is watched.
	back = 0
	for i := 2; i < len(learnt); i++ {
		if s.level[litVar(learnt[i])] > s.level[litVar(learnt[1])] {
			learnt[1], learnt[i] = learnt[i], learnt[1]
		}
	}
	if len(learnt) > 1 {
		back = s.level[litVar(learnt[1])]
	}
	s.learnt = learnt
	return learnt, back, why
}

// backtrack undoes every assignment above level lvl.
func (s *sat) backtrack(lvl int32) {
	if s.decisionLevel() <= lvl {
		return
	}
	start := s.lim[lvl]
	for i := len(s.trail) - 1; i >= int(start); i-- {
		l := s.trail[i]
		s.val[l] = 0
		s.val[litNeg(l)] = 0
		s.reason[litVar(l)] = noReason
	}
	s.trail = s.trail[:start]
	s.lim = s.lim[:lvl]
	s.qhead = int(start)
}

// learn adds a learnt clause after backjumping and asserts its first literal.
func (s *sat) learn(learnt []int32, why []int32) {
	var id int32
	if len(learnt) == 1 {
		id = int32(len(s.clauses))
		s.clauses = append(s.clauses, clause{start: int32(len(s.arena)), n: 1, kind: kindLearnt})
		s.arena = append(s.arena, learnt[0])
	} else {
		id = s.addClause(learnt, kindLearnt, 0, 0, 0)
		s.watch(id)
	}
	if s.track {
		s.why[id] = why
	}
	s.assign(learnt[0], id)
}

// core returns the original clauses that together cause the level-0 conflict
// (its literals in conflLits, its clause confl or -1), in ascending order.
func (s *sat) core(confl int32) []int32 {
	inCore := map[int32]bool{}
	doneVar := map[int32]bool{}
	var clauses []int32
	var vars []int32
	addClause := func(c int32) {
		if c >= 0 && !inCore[c] {
			inCore[c] = true
			clauses = append(clauses, c)
		}
	}
	addClause(confl)
	for _, l := range s.conflLits {
		vars = append(vars, litVar(l))
	}
	for len(clauses) > 0 || len(vars) > 0 {
		if n := len(vars); n > 0 {
			v := vars[n-1]
			vars = vars[:n-1]
			if doneVar[v] || s.val[posLit(v)] == 0 {
				continue
			}
			doneVar[v] = true
			if r := s.reason[v]; r >= 0 {
				addClause(r)
			} else if r != noReason {
				vars = append(vars, amoVar(r))
			}
			continue
		}
		c := clauses[len(clauses)-1]
		clauses = clauses[:len(clauses)-1]
		for _, l := range s.lits(c) {
			vars = append(vars, litVar(l))
		}
		for _, a := range s.why[c] {
			if a >= 0 {
				addClause(a)
			} else {
				vars = append(vars, -a-1)
			}
		}
	}
	out := make([]int32, 0, len(inCore))
	for c := range inCore {
		if s.clauses[c].kind != kindLearnt {
			out = append(out, c)
		}
	}
	sortInt32(out)
	return out
}
