package solver

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/envkit/envkit/conda/record"
)

// Index is a set of available records prepared for solving: grouped by
// package name, each name's records de-duplicated (the same artifact as
// .conda and .tar.bz2: the .conda is kept) and ranked by version, every
// depends and constrains string parsed once, the channels listed in order
// of first appearance. It is what libsolv does when it loads a repository,
// outside its solve.
//
// Build one per loaded repodata (NewIndex) and solve over it as many times
// as needed (Index.Solve): for several requests, platforms or channel
// priorities. An Index is never modified once built, so solves over it may
// run concurrently. The records must not be modified while it is in use.
type Index struct {
	recs   []*record.RepoDataRecord
	nameIx map[string]int32 // package name -> names
	names  []ixName
	runs   []nameRun        // runs of one name in recs
	specs  []ixSpec         // distinct depends/constrains strings
	specIx map[string]int32 // string -> specs
	chans  []string         // channel keys (chKey), in order of first appearance
	nDeps  int              // parsable depends and constrains entries of all records
	// scratches holds the memory of finished solves for the next ones
	// (small indexes only): the one part of an Index that solves change,
	// each taking a scratch for itself.
	scratches sync.Pool
}

// ixName is one package name of an Index.
type ixName struct {
	name  string
	head  int32   // its last run in runs (+1)
	recs  []ixRec // its records, de-duplicated, in the records' order
	byVer []int32 // recs' indices, highest version first (equal versions in recs' order)
}

// ixRec is one record of an Index: what a candidate starts from.
type ixRec struct {
	rec     *record.RepoDataRecord
	pos     int32 // its place in its name's recs
	order   int32 // its name's place among the index's names in alphabetical order
	vrank   int32 // rank of its version among its name's records: higher is newer, equal versions share it
	chanID  int32 // its channel in Index.chans
	tracked bool  // has track_features (or legacy features)
	badDep  int32 // its first unparsable depends entry (in specs), -1 if none
	deps    []int32
	cons    []int32 // parsable constrains entries
}

// ixSpec is a parsed depends/constrains string.
type ixSpec struct {
	src   string
	spec  *MatchSpec
	err   error
	name  int32    // its package's entry in names, -1 if the index has none
	match []uint64 // which of that name's records it matches (bit i: recs[i])
}

// NewIndex indexes records for solving. Records whose name starts with
// "__" are left out: virtual packages come from Problem.Virtual.
func NewIndex(recs []*record.RepoDataRecord) (*Index, error) {
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("solver: Available[%d] is nil", i)
		}
	}
	ix := &Index{recs: recs}
	ix.group()
	chanIx := ix.channels()
	ix.specIx = make(map[string]int32, len(ix.names))
	var ids block[int32]
	for i := range ix.names {
		xn := &ix.names[i]
		xn.recs = ix.dedup(ix.recordsOf(xn.head), chanIx)
		xn.byVer = rankVersions(xn.recs)
		for j := range xn.recs {
			x := &xn.recs[j]
			x.pos, x.badDep = int32(j), -1
			x.deps = ids.take(len(x.rec.Depends))
			for _, s := range x.rec.Depends {
				if id := ix.spec(s); ix.specs[id].err != nil {
					if x.badDep < 0 {
						x.badDep = id
					}
				} else {
					x.deps = append(x.deps, id)
				}
			}
			ix.nDeps += len(x.deps)
			if len(x.rec.Constrains) > 0 {
				x.cons = ids.take(len(x.rec.Constrains))
				for _, s := range x.rec.Constrains {
					if id := ix.spec(s); ix.specs[id].err == nil {
						x.cons = append(x.cons, id)
					}
				}
				ix.nDeps += len(x.cons)
			}
		}
	}
	ix.matchSpecs()
	ix.orderNames()
	return ix, nil
}

// matchSpecs matches every parsed spec against the records of its
// package name, as libsolv's whatprovides index does when it loads.
func (ix *Index) matchSpecs() {
	var words block[uint64]
	for i := range ix.specs {
		x := &ix.specs[i]
		x.name = -1
		if x.err != nil {
			continue
		}
		n, ok := ix.nameIx[x.spec.Name]
		if !ok {
			continue
		}
		x.name = n
		recs := ix.names[n].recs
		x.match = words.take((len(recs) + 63) / 64)[:(len(recs)+63)/64]
		for j := range recs {
			if x.spec.MatchRecord(recs[j].rec) {
				x.match[j/64] |= 1 << (j % 64)
			}
		}
	}
}

// orderNames sets the records' order, to sort solutions by name.
func (ix *Index) orderNames() {
	byName := make([]int32, len(ix.names))
	for i := range byName {
		byName[i] = int32(i)
	}
	slices.SortFunc(byName, func(a, b int32) int { return strings.Compare(ix.names[a].name, ix.names[b].name) })
	for k, i := range byName {
		for j := range ix.names[i].recs {
			ix.names[i].recs[j].order = int32(k)
		}
	}
}

// Len is the number of records the index was built from.
func (ix *Index) Len() int { return len(ix.recs) }

// group finds the runs of one name in recs. Repodata lists a name's
// records together (files sort by name), so the map is touched once per
// run, not per record.
func (ix *Index) group() {
	recs := ix.recs
	ix.nameIx = make(map[string]int32, len(recs)/6+8)
	ix.runs = make([]nameRun, 0, len(recs)/4+8)
	lastName, open := "", false
	for i, r := range recs {
		if open && r.Name == lastName {
			ix.runs[len(ix.runs)-1].end++
			continue
		}
		if open = !strings.HasPrefix(r.Name, "__"); !open {
			continue
		}
		lastName = r.Name
		n, ok := ix.nameIx[r.Name]
		if !ok {
			n = int32(len(ix.names))
			ix.nameIx[r.Name] = n
			ix.names = append(ix.names, ixName{name: r.Name})
		}
		ix.runs = append(ix.runs, nameRun{int32(i), int32(i + 1), ix.names[n].head})
		ix.names[n].head = int32(len(ix.runs))
	}
}

// channels lists the channels of recs in order of first appearance and
// returns their positions in that list.
func (ix *Index) channels() map[string]int32 {
	m := map[string]int32{}
	last := ""
	for i, r := range ix.recs {
		if i > 0 && r.Channel == last {
			continue
		}
		last = r.Channel
		if _, ok := m[r.Channel]; !ok {
			k := chKey(r.Channel)
			id := slices.Index(ix.chans, k)
			if id < 0 {
				id = len(ix.chans)
				ix.chans = append(ix.chans, k)
			}
			m[r.Channel] = int32(id)
		}
	}
	return m
}

// recordsOf returns a name's records in the records' order, from its last
// run (head, +1). The result may share the records' backing array: it is
// only read.
func (ix *Index) recordsOf(head int32) []*record.RepoDataRecord {
	if head == 0 {
		return nil
	}
	if last := ix.runs[head-1]; last.prev == 0 {
		return ix.recs[last.start:last.end:last.end]
	}
	n := 0
	for i := head; i != 0; i = ix.runs[i-1].prev {
		n += int(ix.runs[i-1].end - ix.runs[i-1].start)
	}
	out := make([]*record.RepoDataRecord, n)
	for i := head; i != 0; i = ix.runs[i-1].prev {
		run := ix.runs[i-1]
		n -= copy(out[n-int(run.end-run.start):n], ix.recs[run.start:run.end])
	}
	return out
}

// dedup keeps one record per artifact (channel, subdir, version, build):
// the first one's place, the .conda file when there is one.
func (ix *Index) dedup(recs []*record.RepoDataRecord, chanIx map[string]int32) []ixRec {
	var seen map[artifact]int // only for many records: few are compared pairwise
	if len(recs) > 16 {
		seen = make(map[artifact]int, len(recs))
	}
	out := make([]ixRec, 0, len(recs))
	for _, r := range recs {
		i, ok := 0, false
		if seen != nil {
			i, ok = seen[artifactOf(r)]
		} else {
			i, ok = findArtifact(len(out), func(i int) *record.RepoDataRecord { return out[i].rec }, r)
		}
		if ok {
			if strings.HasSuffix(r.FileName, ".conda") && !strings.HasSuffix(out[i].rec.FileName, ".conda") {
				out[i].rec = r
			}
			continue
		}
		if seen != nil {
			seen[artifactOf(r)] = len(out)
		}
		out = append(out, ixRec{rec: r, chanID: chanIx[r.Channel], tracked: isTracked(r)})
	}
	return out
}

// artifact identifies a package file up to its format.
type artifact struct{ ch, sub, ver, build string }

func artifactOf(r *record.RepoDataRecord) artifact {
	return artifact{r.Channel, r.Subdir, r.Version.String(), r.Build}
}

// findArtifact finds among n records (at(i)) one that is the same artifact
// as r.
func findArtifact(n int, at func(int) *record.RepoDataRecord, r *record.RepoDataRecord) (int, bool) {
	for i := range n {
		if c := at(i); c.Build == r.Build && c.Channel == r.Channel && c.Subdir == r.Subdir && c.Version.String() == r.Version.String() {
			return i, true
		}
	}
	return 0, false
}

// isTracked tells whether a record has track_features (or legacy
// features), which deprioritise it.
func isTracked(r *record.RepoDataRecord) bool {
	return len(r.TrackFeatures) > 0 || strings.TrimSpace(r.Features) != ""
}

// rankVersions sets the records' vrank and returns their indices from the
// highest version down.
func rankVersions(xs []ixRec) []int32 {
	cs := make([]*cand, len(xs))
	slab := make([]cand, len(xs))
	for i := range xs {
		slab[i] = cand{rec: xs[i].rec}
		cs[i] = &slab[i]
	}
	setVersionRanks(cs)
	byVer := make([]int32, len(xs))
	for i := range xs {
		xs[i].vrank = slab[i].vrank
		byVer[i] = int32(i)
	}
	slices.SortStableFunc(byVer, func(a, b int32) int { return cmp.Compare(xs[b].vrank, xs[a].vrank) })
	return byVer
}

// spec returns a depends/constrains string's entry in specs, parsing it
// the first time.
func (ix *Index) spec(s string) int32 {
	if id, ok := ix.specIx[s]; ok {
		return id
	}
	m, err := parseSpec(s)
	id := int32(len(ix.specs))
	ix.specs = append(ix.specs, ixSpec{src: s, spec: m, err: err})
	ix.specIx[s] = id
	return id
}
