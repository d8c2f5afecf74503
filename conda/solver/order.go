package solver

import (
	"cmp"
	"slices"
	"strings"
)

// sortCandidates puts one name's candidates in preference order, as rattler
// (resolvo backend) and conda do:
//
//  1. locked records (the previous solution) first;
//  2. records without track_features (or legacy features) before those with;
//  3. with flexible channel priority, the higher-priority channel;
//  4. highest version, then highest build number;
//  5. among records still tied, the one whose dependencies (those every tied
//     record has, by name in alphabetical order) can resolve to the highest
//     versions, e.g. numpy built for the newest python;
//  6. newest timestamp;
//  7. for determinism: .conda before .tar.bz2, channel, subdir, file name.
func (pl *pool) sortCandidates(cs []*cand) {
	slices.SortStableFunc(cs, pl.compareSimple)
	for start := 0; start < len(cs); {
		end := start + 1
		for end < len(cs) && pl.compareSimple(cs[start], cs[end]) == 0 {
			end++
		}
		if end-start > 1 {
			pl.sortByDependencies(cs[start:end])
		}
		start = end
	}
}

func (pl *pool) compareSimple(a, b *cand) int {
	if a.locked != b.locked {
		if a.locked {
			return -1
		}
		return 1
	}
	if a.tracked != b.tracked {
		if b.tracked {
			return -1
		}
		return 1
	}
	if pl.p.ChannelPriority == Flexible {
		if c := cmp.Compare(a.chanRank, b.chanRank); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(b.vrank, a.vrank); c != 0 {
		return c
	}
	return cmp.Compare(b.rec.BuildNumber, a.rec.BuildNumber)
}

// sortByDependencies orders records tied on compareSimple by the best
// versions their shared dependencies can reach, then by timestamp and the
// deterministic tie-breakers.
//
// A dependency name decides between two records only if both depend on it
// through at least one spec that some candidate matches. A name on which
// every record has the very same specs gives them all the same best
// version, so it cannot decide: only the names on which the records'
// specs differ are looked at (bestOf), which spares most of them (the
// builds of one version differ in a few dependencies, mirrored copies in
// none).
func (pl *pool) sortByDependencies(cs []*cand) {
	// Each record's dependencies by name, then by spec text.
	byName := make([][]nameDep, len(cs))
	for i, c := range cs {
		pl.parse(c)
		nds := make([]nameDep, 0, len(c.deps))
		for _, d := range c.deps {
			nds = append(nds, nameDep{d.spec.Name, d})
		}
		slices.SortFunc(nds, func(a, b nameDep) int {
			return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.d.src, b.d.src))
		})
		byName[i] = slices.CompactFunc(nds, func(a, b nameDep) bool { return a.d == b.d })
		c.best = c.best[:0]
	}
	// For each name of the first record's, in alphabetical order: the
	// records' entries for it, when every record has some.
	of := make([][]nameDep, len(cs))
	keys := 0
	for start := 0; start < len(byName[0]); {
		name := byName[0][start].name
		end := start + 1
		for end < len(byName[0]) && byName[0][end].name == name {
			end++
		}
		of[0] = byName[0][start:end]
		start = end
		inAll, same := true, true
		for i := 1; i < len(cs) && inAll; i++ {
			of[i] = depsNamed(byName[i], name)
			inAll = len(of[i]) > 0
			same = same && slices.EqualFunc(of[i], of[0], func(a, b nameDep) bool { return a.d == b.d })
		}
		if !inAll || same {
			continue
		}
		shared := true
		for i, c := range cs {
			best, ok := int32(0), false
			for _, nd := range of[i] {
				if v, has := pl.bestOf(nd.d); has && (!ok || v > best) {
					best, ok = v, true
				}
			}
			if !ok {
				shared = false
			}
			c.best = append(c.best[:keys], depBest{name, best})
		}
		if shared {
			keys++
		}
	}
	slices.SortStableFunc(cs, func(a, b *cand) int {
		for i := range keys {
			if c := cmp.Compare(b.best[i].v, a.best[i].v); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(b.rec.Timestamp, a.rec.Timestamp); c != 0 {
			return c
		}
		ac, bc := strings.HasSuffix(a.rec.FileName, ".conda"), strings.HasSuffix(b.rec.FileName, ".conda")
		if ac != bc {
			if ac {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(a.chanRank, b.chanRank),
			cmp.Compare(a.rec.Subdir, b.rec.Subdir),
			cmp.Compare(a.rec.FileName, b.rec.FileName),
			cmp.Compare(a.rec.Build, b.rec.Build),
		)
	})
}

// nameDep is a dependency with its package name.
type nameDep struct {
	name string
	d    *dep
}

// depsNamed returns the entries of nds (sorted by name) for name.
func depsNamed(nds []nameDep, name string) []nameDep {
	i, _ := slices.BinarySearchFunc(nds, name, func(nd nameDep, n string) int { return strings.Compare(nd.name, n) })
	j := i
	for j < len(nds) && nds[j].name == name {
		j++
	}
	return nds[i:j]
}

// depBest is the best version a record's dependency on name can reach, as
// the vrank of name's candidates.
type depBest struct {
	name string
	v    int32
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sortInt32(xs []int32) { slices.Sort(xs) }
