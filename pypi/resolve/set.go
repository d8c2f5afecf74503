package resolve

import "math/bits"

// set is a set of states of one package: bit i (i < n) is "version i of the
// package's universe is selected", bit n is "the package is not selected".
// A term of PubGrub is such a set: a positive term ("p in S") lacks the
// none bit, a negative one ("not p in S") has it. Universes are finite
// (the versions the index lists), so every operation is exact.
type set struct {
	n int // number of versions; the set has n+1 bits
	w []uint64
}

func words(n int) int { return (n + 1 + 63) / 64 }

func fullSet(n int) set {
	s := set{n: n, w: make([]uint64, words(n))}
	for i := range s.w {
		s.w[i] = ^uint64(0)
	}
	s.trim()
	return s
}

func emptySet(n int) set { return set{n: n, w: make([]uint64, words(n))} }

func singleton(n, i int) set {
	s := emptySet(n)
	s.add(i)
	return s
}

func (s *set) trim() {
	if r := (s.n + 1) % 64; r != 0 {
		s.w[len(s.w)-1] &= (uint64(1) << r) - 1
	}
}

func (s set) has(i int) bool { return s.w[i/64]&(uint64(1)<<(i%64)) != 0 }
func (s *set) add(i int)     { s.w[i/64] |= uint64(1) << (i % 64) }

// positive reports whether the set requires the package to be selected.
func (s set) positive() bool { return !s.has(s.n) }

func (s set) clone() set { return set{n: s.n, w: append([]uint64(nil), s.w...)} }

func (s set) and(o set) set {
	out := s.clone()
	for i := range out.w {
		out.w[i] &= o.w[i]
	}
	return out
}

// andWith intersects s with o in place.
func (s set) andWith(o set) {
	for i := range s.w {
		s.w[i] &= o.w[i]
	}
}

func (s set) or(o set) set {
	out := s.clone()
	for i := range out.w {
		out.w[i] |= o.w[i]
	}
	return out
}

func (s set) equal(o set) bool {
	for i := range s.w {
		if s.w[i] != o.w[i] {
			return false
		}
	}
	return true
}

func (s set) not() set {
	out := s.clone()
	for i := range out.w {
		out.w[i] = ^out.w[i]
	}
	out.trim()
	return out
}

func (s set) minus(o set) set {
	out := s.clone()
	for i := range out.w {
		out.w[i] &^= o.w[i]
	}
	return out
}

func (s set) subsetOf(o set) bool {
	for i := range s.w {
		if s.w[i]&^o.w[i] != 0 {
			return false
		}
	}
	return true
}

func (s set) disjoint(o set) bool {
	for i := range s.w {
		if s.w[i]&o.w[i] != 0 {
			return false
		}
	}
	return true
}

func (s set) isEmpty() bool {
	for _, w := range s.w {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s set) isFull() bool { return s.not().isEmpty() }

// count is the number of versions (not the none state) in the set.
func (s set) count() int {
	c := 0
	for _, w := range s.w {
		c += bits.OnesCount64(w)
	}
	if s.has(s.n) {
		c--
	}
	return c
}

// versions lists the version indexes in the set, ascending.
func (s set) versions() []int {
	var out []int
	for i := 0; i < s.n; i++ {
		if s.has(i) {
			out = append(out, i)
		}
	}
	return out
}
