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
func (pl *pool) sortByDependencies(cs []*cand) {
	for _, c := range cs {
		pl.parse(c)
		c.best = c.best[:0]
		for _, d := range c.deps {
			if v, ok := pl.bestOf(d); ok {
				c.best = append(c.best, depBest{d.spec.Name, v})
			}
		}
		// Sort by name, best version first, and keep one entry per name.
		slices.SortFunc(c.best, func(a, b depBest) int {
			if c := strings.Compare(a.name, b.name); c != 0 {
				return c
			}
			return cmp.Compare(b.v, a.v)
		})
		c.best = slices.CompactFunc(c.best, func(a, b depBest) bool { return a.name == b.name })
	}
	// The dependency names every record of the run has.
	shared := make([]string, 0, len(cs[0].best))
	for _, b := range cs[0].best {
		shared = append(shared, b.name)
	}
	for _, c := range cs[1:] {
		shared = slices.DeleteFunc(shared, func(n string) bool { _, ok := c.bestFor(n); return !ok })
	}
	// Keep only the shared names: then c.best[i] is the i-th shared name.
	for _, c := range cs {
		c.best = slices.DeleteFunc(c.best, func(b depBest) bool {
			_, ok := slices.BinarySearch(shared, b.name)
			return !ok
		})
	}
	slices.SortStableFunc(cs, func(a, b *cand) int {
		for i := range shared {
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

// depBest is the best version a record's dependency on name can reach, as
// the vrank of name's candidates.
type depBest struct {
	name string
	v    int32
}

func (c *cand) bestFor(name string) (int32, bool) {
	i, ok := slices.BinarySearchFunc(c.best, name, func(b depBest, n string) int { return strings.Compare(b.name, n) })
	if !ok {
		return 0, false
	}
	return c.best[i].v, true
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
