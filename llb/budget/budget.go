// Package budget groups an environment's packages into at most a given
// number of layers, keeping their link order, so that a package's layer
// survives changes to the others.
//
// The packages come in link order (dependencies first); a layer holds a
// contiguous run of them, so that merging the layers in order places every
// file as linking the packages one by one would: the same clobber winners.
// When the packages fit, each has its own layer. Otherwise the runs are cut
// by content: a run starts before a package whose name hashes to a multiple
// of the spacing K (the first power of two whose runs fit), and before and
// after every large package, which keeps a layer of its own. A boundary
// depends on the package's name alone, not its version or position, so a
// new version of a package changes its own run only, and adding or removing
// a package changes the runs beside it only: as long as K and the large
// threshold stay the same (they change only when the number of runs crosses
// the budget, or the large packages alone no longer fit). A package marked
// Break always starts a run: the first of another installer's packages
// (pip's wheels after the conda packages), which one exec cannot install
// together with the packages before it.
package budget

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// DefaultLarge is the archive size from which a package keeps a layer of
// its own when packages share layers.
const DefaultLarge = 50 << 20

// Package is what grouping looks at: a package's name and its archive's
// size in bytes (0 when unknown), and whether a run must start at it.
type Package struct {
	Name string
	Size int64
	// Break starts a run at the package whatever its name: the first
	// package of another kind (the first wheel after the conda packages).
	Break bool
}

// Group is a run of packages, Packages[Start:End], linked into one layer.
type Group struct{ Start, End int }

// Len is the number of packages in g.
func (g Group) Len() int { return g.End - g.Start }

// Plan is a grouping of packages into layers.
type Plan struct {
	// Groups cover the packages in order, each non-empty.
	Groups []Group
	// Spacing is K: a package whose name's hash is a multiple of K starts
	// a group. 1 when every package has its own layer; 0 when names cut no
	// groups (only large packages do).
	Spacing uint64
	// Large is the size from which a package has a layer of its own: the
	// threshold asked for, doubled as often as the large packages alone
	// needed more than the budget. 0 when every package has its own layer.
	Large int64
}

// Split groups pkgs, in link order, into at most max layers, with the
// packages of at least large bytes alone (large <= 0 means DefaultLarge).
func Split(pkgs []Package, max int, large int64) (*Plan, error) {
	if max < 1 {
		return nil, fmt.Errorf("a budget of %d layers leaves none for the packages", max)
	}
	if len(pkgs) <= max {
		p := &Plan{Spacing: 1, Groups: make([]Group, len(pkgs))}
		for i := range pkgs {
			p.Groups[i] = Group{i, i + 1}
		}
		return p, nil
	}
	if large <= 0 {
		large = DefaultLarge
	}
	if runs := breaks(pkgs); runs > max {
		return nil, fmt.Errorf("a budget of %d layers is less than the %d runs the packages must be cut into", max, runs)
	}
	hashes := make([]uint64, len(pkgs))
	for i, p := range pkgs {
		hashes[i] = NameHash(p.Name)
	}
	// The large packages alone (with the runs between them) must fit;
	// otherwise fewer packages count as large.
	for count(pkgs, hashes, noNames, large) > max {
		if large > math.MaxInt64/2 {
			large = math.MaxInt64
			break // nothing is large: one group
		}
		large *= 2
	}
	// The smallest spacing that fits: the most layers, the smallest groups.
	for k := 1; k <= noNames; k++ {
		if count(pkgs, hashes, k, large) <= max {
			p := &Plan{Large: large, Groups: groups(pkgs, hashes, k, large)}
			if k < noNames {
				p.Spacing = 1 << k
			}
			return p, nil
		}
	}
	panic("unreachable: no name boundaries fit once the large packages do")
}

// breaks counts the runs that Break cuts the packages into.
func breaks(pkgs []Package) int {
	n := 1
	for _, p := range pkgs[1:] {
		if p.Break {
			n++
		}
	}
	return n
}

// noNames is the spacing exponent at which names cut no groups: 2^64.
const noNames = 64

// NameHash is the hash of a package name that decides the group
// boundaries: stable across builds, platforms and envkit versions (change
// the salt to regroup on purpose).
func NameHash(name string) uint64 {
	s := sha256.Sum256([]byte("envkit layer group v1\x00" + name))
	return binary.BigEndian.Uint64(s[:8])
}

// starts reports whether a group starts before package i at spacing 2^k.
func starts(pkgs []Package, hashes []uint64, i, k int, large int64) bool {
	if i == 0 || pkgs[i].Break || pkgs[i].Size >= large || pkgs[i-1].Size >= large {
		return true
	}
	return k < noNames && bits.TrailingZeros64(hashes[i]) >= k
}

func count(pkgs []Package, hashes []uint64, k int, large int64) int {
	n := 0
	for i := range pkgs {
		if starts(pkgs, hashes, i, k, large) {
			n++
		}
	}
	return n
}

func groups(pkgs []Package, hashes []uint64, k int, large int64) []Group {
	var gs []Group
	for i := range pkgs {
		if starts(pkgs, hashes, i, k, large) {
			if len(gs) > 0 {
				gs[len(gs)-1].End = i
			}
			gs = append(gs, Group{Start: i})
		}
	}
	if len(gs) > 0 {
		gs[len(gs)-1].End = len(pkgs)
	}
	return gs
}
