package solver

import (
	"cmp"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/record"
)

// cand is one candidate record: a SAT variable.
type cand struct {
	rec      *record.RepoDataRecord
	virtual  bool
	locked   bool
	tracked  bool // has track_features (or legacy features): deprioritised
	parsed   bool // deps, cons and badDep are set
	chanRank int
	vrank    int32       // the version's rank among the name's candidates: higher is newer, equal versions share it
	deps     []*dep      // parsed depends
	cons     []*dep      // parsed constrains
	badDep   *dep        // first unparsable depends entry: the record cannot be installed
	v        int32       // variable, assigned once the candidates of the name are ordered
	best     []depBest   // per dependency name: the best version it can reach (order.go)
	refs     []clauseRef // the clauses it brings when installed (solve.go)
}

// dep is one distinct depends/constrains string (or requested spec or pin),
// shared by every record that lists it.
type dep struct {
	src      string
	spec     *MatchSpec
	err      error
	resolved bool    // matches and others are set
	matches  []int32 // matching candidates' variables, in preference order
	others   []int32 // candidates of the same name that do not match (for constrains)
	bestDone bool
	best     int32 // vrank of the highest version among the matching records
	hasBest  bool
	satBy    int32 // a variable known to satisfy it (cache for decisions)
}

// pool is the solver's lazy view of the available records. Nothing is
// done for a package name until the search needs it: a name's records are
// grouped, filtered and ordered (and numbered as variables) when a
// requirement on the name is first encoded, and a record's depends are
// parsed when the record is first installed, as resolvo does. A conda-forge
// sized Available costs one pass to index names, plus work proportional to
// the part of the graph the search visits.
type pool struct {
	p      *Problem
	vars   []*cand          // index = variable; vars[0] is nil
	nameIx map[string]int32 // package name -> its entry in heads and nd
	heads  []int32          // per name: its last run in runs (+1), 0: none
	nd     []*nameData      // per name: made when first looked up
	loaded []*nameData      // loaded names, in load order
	deps   map[string]*dep
	roots  []*dep // one per Problem.Specs entry
	pins   []*dep // one per Problem.Constraints entry
	// rank is the channels' priority: ChannelOrder's, then the other
	// channels of Available in order of first appearance, found lazily
	// (Available[:chanScan] has been scanned).
	rank     map[string]int
	chanScan int
	lastCh   string
	// The last channel rankOf found in rank.
	lastRankURL string
	lastRank    int
	hasLastRank bool
	missing     []string // requested names without any candidate

	runs          []nameRun
	locked        map[string][]*record.RepoDataRecord
	pinnedChannel map[string]bool

	// Blocks for the pool's small slices and values.
	depVals  block[dep]
	depPtrs  block[*dep]
	candPtrs block[*cand]
	cands    block[cand]
	vs       block[int32]
	names    block[nameData]
	scratch  []int32
}

// nameData is what the pool knows of one package name.
type nameData struct {
	name   string
	head   int32   // its last run in runs (+1), 0: none
	rawSet bool    // raw and byVer are set
	raw    []*cand // filtered records, not yet ordered (ordered once loaded)
	byVer  []*cand // raw, highest version first (bestOf)
	isLoad bool    // cands is set and numbered
	cands  []*cand // preference order
}

func newPool(p *Problem) *pool {
	pl := &pool{
		p: p, deps: make(map[string]*dep, min(2*len(p.Available), smallProblem)),
		rank: make(map[string]int, len(p.ChannelOrder)+1), vars: make([]*cand, 1, min(len(p.Available), smallProblem)+len(p.Virtual)+1),
	}
	for i, c := range p.ChannelOrder {
		if _, ok := pl.rank[chKey(c)]; !ok {
			pl.rank[chKey(c)] = i
		}
	}
	pl.index()
	if len(p.Locked) > 0 {
		pl.locked = map[string][]*record.RepoDataRecord{}
		for _, r := range p.Locked {
			pl.locked[r.Name] = append(pl.locked[r.Name], r)
			pl.entry(r.Name)
		}
	}
	// A requested spec that names a channel chooses that channel for its
	// package, whatever the channel priority.
	for _, s := range p.Specs {
		if s.Channel != "" && s.Channel != "*" {
			if pl.pinnedChannel == nil {
				pl.pinnedChannel = map[string]bool{}
			}
			pl.pinnedChannel[s.Name] = true
		}
	}
	// Virtual packages are always present (one record per name).
	for _, v := range p.Virtual {
		if nd := pl.entry(v.Name); !nd.rawSet {
			r := &record.RepoDataRecord{PackageRecord: *v}
			pl.setRaw(nd, []*cand{{rec: r, virtual: true, parsed: true}})
			pl.load(v.Name)
		}
	}
	for _, s := range p.Specs {
		d := &dep{src: specText(s), spec: s}
		pl.roots = append(pl.roots, d)
		if len(pl.rawOf(s.Name)) == 0 {
			pl.missing = append(pl.missing, d.src)
		}
	}
	for _, s := range p.Constraints {
		pl.pins = append(pl.pins, &dep{src: specText(s), spec: s})
	}
	return pl
}

// smallProblem is the number of records up to which the pool and the SAT
// core are sized for all of them up front (larger ones grow as needed:
// a search visits a small part of a large Available).
const smallProblem = 64

// entry returns a name's entry, adding one if needed.
func (pl *pool) entry(name string) *nameData {
	if nd := pl.lookup(name); nd != nil {
		return nd
	}
	pl.nameIx[name] = int32(len(pl.nd))
	pl.heads = append(pl.heads, 0)
	nd := &nameData{name: name}
	pl.nd = append(pl.nd, nd)
	return nd
}

// lookup returns a name's entry, or nil if the pool has none.
func (pl *pool) lookup(name string) *nameData {
	i, ok := pl.nameIx[name]
	if !ok {
		return nil
	}
	if pl.nd[i] == nil {
		nd := append(pl.names.take(1), nameData{name: name, head: pl.heads[i]})
		pl.nd[i] = &nd[0]
	}
	return pl.nd[i]
}

// nameRun is a run of consecutive records of one name in Available:
// Available[start:end]. prev is the name's run before it (+1), 0 if none.
type nameRun struct{ start, end, prev int32 }

// index groups Available by name. Repodata lists a name's records
// together (files sort by name), so the map is touched once per run of a
// name, not per record, and a record's Name is all it reads.
func (pl *pool) index() {
	recs := pl.p.Available
	pl.nameIx = make(map[string]int32, len(recs)/6+len(pl.p.Virtual)+len(pl.p.Locked)+8)
	pl.heads = make([]int32, 0, len(recs)/6+8)
	pl.runs = make([]nameRun, 0, len(recs)/4+8)
	lastName, open := "", false
	for i, r := range recs {
		if open && r.Name == lastName {
			pl.runs[len(pl.runs)-1].end++
			continue
		}
		if open = !strings.HasPrefix(r.Name, "__"); !open {
			continue // virtual packages only come from Problem.Virtual
		}
		lastName = r.Name
		ix, ok := pl.nameIx[r.Name]
		if !ok {
			ix = int32(len(pl.heads))
			pl.nameIx[r.Name] = ix
			pl.heads = append(pl.heads, 0)
		}
		pl.runs = append(pl.runs, nameRun{int32(i), int32(i + 1), pl.heads[ix]})
		pl.heads[ix] = int32(len(pl.runs))
	}
	pl.nd = make([]*nameData, len(pl.heads))
}

// recordsOf returns a name's records in Available order. The result may
// share Available's backing array: it is only read.
func (pl *pool) recordsOf(nd *nameData) []*record.RepoDataRecord {
	if nd.head == 0 {
		return nil
	}
	if last := pl.runs[nd.head-1]; last.prev == 0 {
		return pl.p.Available[last.start:last.end:last.end]
	}
	n := 0
	for i := nd.head; i != 0; i = pl.runs[i-1].prev {
		n += int(pl.runs[i-1].end - pl.runs[i-1].start)
	}
	out := make([]*record.RepoDataRecord, n)
	for i := nd.head; i != 0; i = pl.runs[i-1].prev {
		run := pl.runs[i-1]
		n -= copy(out[n-int(run.end-run.start):n], pl.p.Available[run.start:run.end])
	}
	return out
}

// chKey is a channel URL as a ranking key.
func chKey(url string) string { return strings.TrimRight(url, "/") }

// rankOf is a channel's priority (0 is the highest).
func (pl *pool) rankOf(url string) int {
	if url == pl.lastRankURL && pl.hasLastRank { // a name's records share a channel
		return pl.lastRank
	}
	key := chKey(url)
	if r, ok := pl.rank[key]; ok {
		pl.lastRankURL, pl.lastRank, pl.hasLastRank = url, r, true
		return r
	}
	// Rank the channels of Available up to url's first record. Records
	// come in runs of one channel.
	recs := pl.p.Available
	for ; pl.chanScan < len(recs); pl.chanScan++ {
		if ch := recs[pl.chanScan].Channel; pl.chanScan == 0 || ch != pl.lastCh {
			pl.lastCh = ch
			if _, ok := pl.rank[chKey(ch)]; !ok {
				pl.rank[chKey(ch)] = len(pl.rank)
			}
			if r, ok := pl.rank[key]; ok {
				pl.chanScan++
				return r
			}
		}
	}
	return len(pl.rank) // a locked record's channel that Available does not have
}

// hiddenByPriority lists records that match d but that strict channel
// priority removed, for explanations.
func (pl *pool) hiddenByPriority(d *dep) []*record.RepoDataRecord {
	if pl.p.ChannelPriority != Strict || d.err != nil {
		return nil
	}
	cs := pl.rawOf(d.spec.Name)
	nd := pl.lookup(d.spec.Name)
	if nd == nil {
		return nil
	}
	var out []*record.RepoDataRecord
	for _, r := range pl.recordsOf(nd) {
		if len(cs) > 0 && pl.rankOf(r.Channel) != cs[0].chanRank && d.spec.MatchRecord(r) {
			out = append(out, r)
		}
	}
	return out
}

// rawOf returns the candidates of a name, filtered but not ordered.
func (pl *pool) rawOf(name string) []*cand {
	nd := pl.lookup(name)
	if nd == nil {
		return nil
	}
	return pl.raw(nd)
}

func (pl *pool) raw(nd *nameData) []*cand {
	if !nd.rawSet {
		pl.setRaw(nd, pl.candidates(pl.recordsOf(nd), pl.locked[nd.name], pl.pinnedChannel[nd.name]))
	}
	return nd.raw
}

// setRaw records a name's candidates, ordered by version for byVersion,
// and sets their vrank, so that ordering them later compares integers
// rather than versions.
func (pl *pool) setRaw(nd *nameData, cs []*cand) {
	nd.rawSet, nd.raw = true, cs
	byVer := append(pl.candPtrs.take(len(cs)), cs...)
	nd.byVer = byVer
	if len(cs) > manyCandidates {
		// Compare versions once per distinct version text: mirrored copies
		// and the builds of one version share it.
		rankOf := make(map[string]int32, len(cs))
		var distinct []*cand
		for _, c := range cs {
			if _, ok := rankOf[c.rec.Version.String()]; !ok {
				rankOf[c.rec.Version.String()] = 0
				distinct = append(distinct, c)
			}
		}
		rankByVersion(distinct)
		for _, c := range distinct {
			rankOf[c.rec.Version.String()] = c.vrank
		}
		for _, c := range cs {
			c.vrank = rankOf[c.rec.Version.String()]
		}
	} else {
		rankByVersion(byVer)
	}
	slices.SortStableFunc(byVer, func(a, b *cand) int { return cmp.Compare(b.vrank, a.vrank) })
}

// manyCandidates is the number of candidates of a name above which setRaw
// de-duplicates versions before sorting them.
const manyCandidates = 64

// rankByVersion sorts cs by version and sets their vrank: 1 for the
// lowest, equal versions sharing one.
func rankByVersion(cs []*cand) {
	slices.SortStableFunc(cs, func(a, b *cand) int { return a.rec.Version.Compare(b.rec.Version) })
	rank := int32(0)
	for i, c := range cs {
		if i == 0 || !c.rec.Version.Equal(cs[i-1].rec.Version) {
			rank++
		}
		c.vrank = rank
	}
}

// load returns the candidates of a name in preference order, numbering
// them as variables the first time.
func (pl *pool) load(name string) []*cand {
	nd := pl.lookup(name)
	if nd == nil {
		return nil
	}
	if nd.isLoad {
		return nd.cands
	}
	cs := pl.raw(nd)
	pl.sortCandidates(cs)
	for _, c := range cs {
		c.v = int32(len(pl.vars))
		pl.vars = append(pl.vars, c)
	}
	nd.isLoad, nd.cands = true, cs
	pl.loaded = append(pl.loaded, nd)
	return cs
}

// parse parses a record's depends and constrains, once.
func (pl *pool) parse(c *cand) {
	if c.parsed {
		return
	}
	c.parsed = true
	c.deps = pl.depPtrs.take(len(c.rec.Depends))
	for _, s := range c.rec.Depends {
		if d := pl.dep(s); d.err != nil {
			if c.badDep == nil {
				c.badDep = d
			}
		} else {
			c.deps = append(c.deps, d)
		}
	}
	for _, s := range c.rec.Constrains {
		if d := pl.dep(s); d.err == nil {
			c.cons = append(c.cons, d)
		}
	}
}

// candidates applies de-duplication, locking and channel priority to the
// records of one name.
func (pl *pool) candidates(recs, locked []*record.RepoDataRecord, pinnedChannel bool) []*cand {
	// The same artifact as .conda and .tar.bz2: keep the .conda.
	type key struct{ ch, sub, ver, build string }
	var seen map[key]int // only for many records: few are compared pairwise
	if len(recs)+len(locked) > 16 {
		seen = make(map[key]int, len(recs))
	}
	slab := pl.cands.take(len(recs) + len(locked))
	out := pl.candPtrs.take(len(recs) + len(locked))
	find := func(r *record.RepoDataRecord) (int, bool) {
		if seen != nil {
			i, ok := seen[key{r.Channel, r.Subdir, r.Version.String(), r.Build}]
			return i, ok
		}
		for i, c := range out {
			if c.rec.Build == r.Build && c.rec.Channel == r.Channel && c.rec.Subdir == r.Subdir && c.rec.Version.String() == r.Version.String() {
				return i, true
			}
		}
		return 0, false
	}
	add := func(r *record.RepoDataRecord, isLocked bool) {
		if i, ok := find(r); ok {
			if isLocked {
				out[i].locked = true
			} else if strings.HasSuffix(r.FileName, ".conda") && !strings.HasSuffix(out[i].rec.FileName, ".conda") {
				out[i].rec = r
			}
			return
		}
		if seen != nil {
			seen[key{r.Channel, r.Subdir, r.Version.String(), r.Build}] = len(out)
		}
		slab = append(slab, cand{
			rec:      r,
			locked:   isLocked,
			tracked:  len(r.TrackFeatures) > 0 || strings.TrimSpace(r.Features) != "",
			chanRank: pl.rankOf(r.Channel),
		})
		out = append(out, &slab[len(slab)-1])
	}
	for _, r := range recs {
		add(r, false)
	}
	for _, r := range locked {
		if i, ok := pl.findLocked(out, r); ok {
			out[i].locked = true
			continue
		}
		add(r, true)
	}
	if pl.p.ChannelPriority == Strict && !pinnedChannel && len(out) > 0 {
		best := out[0].chanRank
		for _, c := range out {
			best = min(best, c.chanRank)
		}
		out = slices.DeleteFunc(out, func(c *cand) bool { return c.chanRank != best })
	}
	return out
}

// findLocked finds a candidate that is the locked record: same version and
// build (and channel, when the lock names one).
func (pl *pool) findLocked(cs []*cand, r *record.RepoDataRecord) (int, bool) {
	for i, c := range cs {
		if c.rec.Build == r.Build && c.rec.Version.Equal(r.Version) && (r.Channel == "" || c.rec.Channel == r.Channel) {
			return i, true
		}
	}
	return 0, false
}

// dep parses a depends/constrains string once per solve.
func (pl *pool) dep(s string) *dep {
	if d, ok := pl.deps[s]; ok {
		return d
	}
	d := &append(pl.depVals.take(1), dep{src: s})[0]
	d.spec, d.err = parseSpec(s)
	pl.deps[s] = d
	return d
}

// bestOf returns the vrank of the highest version among the records a
// dependency matches (used to order candidates by their dependencies).
func (pl *pool) bestOf(d *dep) (int32, bool) {
	if !d.bestDone {
		d.bestDone = true
		var byVer []*cand
		if nd := pl.lookup(d.spec.Name); nd != nil {
			pl.raw(nd)
			byVer = nd.byVer
		}
		for _, c := range byVer {
			if pl.matches(d, c) {
				d.best, d.hasBest = c.vrank, true
				break
			}
		}
	}
	return d.best, d.hasBest
}

func (pl *pool) matches(d *dep, c *cand) bool {
	if c.virtual {
		return d.spec.Match(&c.rec.PackageRecord)
	}
	return d.spec.MatchRecord(c.rec)
}

// resolve loads a dependency's name and sets d.matches (in preference
// order) and d.others (the records of the name that do not match, which a
// constrains excludes).
func (pl *pool) resolve(d *dep) {
	if d.resolved || d.err != nil {
		return
	}
	d.resolved = true
	// Matches from the front of scratch, others from the back.
	cs := pl.load(d.spec.Name)
	buf := slices.Grow(pl.scratch[:0], len(cs))[:len(cs)]
	m, o := 0, len(cs)
	for _, c := range cs {
		if pl.matches(d, c) {
			buf[m] = c.v
			m++
		} else {
			o--
			buf[o] = c.v
		}
	}
	pl.scratch = buf
	if m > 0 {
		d.matches = append(pl.vs.take(m), buf[:m]...)
	}
	if o < len(cs) {
		d.others = pl.vs.take(len(cs) - o)
		for i := len(cs) - 1; i >= o; i-- {
			d.others = append(d.others, buf[i])
		}
	}
}
