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
	x        *ixRec      // the index's record, nil for a locked record that Available does not have
	off      bool        // of a subdir that Problem.Subdirs leaves out: not a candidate
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
	satBy    int32   // a variable known to satisfy it (cache for decisions)
	ix       *ixSpec // the index's, nil for a spec the index does not have
}

// pool is one solve's lazy view of an Index. Nothing is done for a
// package name until the search needs it: a name's candidates are made
// from the index's records, filtered (locks, subdirs, channel priority)
// and ordered (and numbered as variables) when a requirement on the name
// is first encoded, and a record's dependencies are resolved when the
// record is first installed, as resolvo does. What does not depend on the
// problem (grouping, version ranks, parsing and matching specs) was done
// once, in the Index, so a solve costs work proportional to the part of
// the graph the search visits.
type pool struct {
	p      *Problem
	ix     *Index
	vars   []*cand          // index = variable; vars[0] is nil
	nd     []*nameData      // per name: Index.names, then the names it does not have (virtual packages, some locked records); made when first looked up
	extra  map[string]int32 // the names the index does not have -> nd, once there are many
	loaded []*nameData      // loaded names, in load order
	deps   []*dep           // per Index.specs entry: made when first needed
	// depSlab replaces deps for a small index: per Index.specs entry, set
	// (ix != nil) when first needed.
	depSlab []dep
	more    map[string]*dep // depends/constrains strings the index does not have (locked records')
	roots   []*dep          // one per Problem.Specs entry
	pins    []*dep          // one per Problem.Constraints entry
	// chanRank is the priority of each Index.chans entry (0 is the
	// highest): ChannelOrder's, then the other channels of the index in
	// order of first appearance, ranked from nListed on. nRanked ranks a
	// channel that is neither.
	chanRank         []int
	nListed, nRanked int
	// The last channel rankOf found in rank.
	lastRankURL string
	lastRank    int
	hasLastRank bool
	missing     []string // requested names without any candidate

	locked        map[string][]*record.RepoDataRecord
	pinnedChannel map[string]bool

	blocks
	scratch []int32
	sc      *scratch // where the blocks and tables came from, for a small index
}

// blocks are a solve's blocks for its small slices and values.
type blocks struct {
	depVals  block[dep]
	depPtrs  block[*dep]
	candPtrs block[*cand]
	cands    block[cand]
	vs       block[int32]
	names    block[nameData]
	refs     block[clauseRef] // run.clausesOf, for every run over the pool
}

func (b *blocks) reset() {
	b.depVals.reset()
	b.depPtrs.reset()
	b.candPtrs.reset()
	b.cands.reset()
	b.vs.reset()
	b.names.reset()
	b.refs.reset()
}

// scratch is the memory of a solve over a small index, sized for all of
// it (and extra records), reused by the next solve over the index once
// this one is over (pool.release).
type scratch struct {
	extra   int
	nd      []*nameData
	deps    []dep
	vars    []*cand
	loaded  []*nameData
	virtual []record.RepoDataRecord
	blocks  blocks
	ints    []int32 // pool.scratch
	// The search's (newRun), when it did not explain a conflict.
	sat      *sat
	added    []int32
	trueVars []int32
}

// scratch returns memory for a solve with up to extra records besides the
// index's (locked and virtual).
func (ix *Index) scratch(extra int) *scratch {
	if sc, _ := ix.scratches.Get().(*scratch); sc != nil && sc.extra >= extra {
		return sc
	}
	extra = max(extra, 8)
	n := len(ix.recs) + extra
	sc := &scratch{
		extra:   extra,
		nd:      make([]*nameData, len(ix.names), len(ix.names)+extra),
		deps:    make([]dep, len(ix.specs)),
		vars:    make([]*cand, 1, n+1),
		loaded:  make([]*nameData, 0, len(ix.names)+extra),
		virtual: make([]record.RepoDataRecord, extra),
	}
	sc.blocks.cands.preset(make([]cand, n))
	sc.blocks.candPtrs.preset(make([]*cand, 2*n))
	sc.blocks.depPtrs.preset(make([]*dep, ix.nDeps))
	sc.blocks.names.preset(make([]nameData, len(ix.names)+extra))
	return sc
}

// release gives the pool's scratch back to its index once the solve is
// over (nothing it returns points into it), with the memory of r, its
// search, when r did not explain a conflict. The tables of pointers are
// cleared: their nil entries mean "not made yet".
func (pl *pool) release(r *run) {
	sc := pl.sc
	if sc == nil {
		return
	}
	pl.sc = nil
	clear(sc.nd[:cap(sc.nd)])
	clear(sc.deps)
	sc.loaded = pl.loaded[:0]
	sc.ints = pl.scratch
	sc.blocks = pl.blocks
	if r != nil && !r.s.track {
		sc.sat, sc.added, sc.trueVars = r.s, r.added, r.trueVars
	}
	sc.blocks.reset()
	pl.ix.scratches.Put(sc)
}

// nameData is what the pool knows of one package name.
type nameData struct {
	name   string
	ix     *ixName // the index's, nil for a name the index does not have
	rawSet bool    // raw and byVer are set
	raw    []*cand // filtered records, not yet ordered (ordered once loaded)
	byVer  []*cand // raw, highest version first (bestOf)
	isLoad bool    // cands is set and numbered
	cands  []*cand // preference order
}

func newPool(ix *Index, p *Problem) *pool {
	pl := &pool{p: p, ix: ix}
	extra := len(p.Locked) + len(p.Virtual)
	if len(ix.recs) <= smallIndex {
		// A solve over a small index loads most of it: its memory for all
		// of it comes at once, from an earlier solve's when there is one.
		sc := ix.scratch(extra)
		pl.sc = sc
		pl.nd, pl.depSlab, pl.vars, pl.loaded = sc.nd[:len(ix.names)], sc.deps, sc.vars[:1], sc.loaded[:0]
		pl.blocks, pl.scratch = sc.blocks, sc.ints
	} else {
		pl.nd = make([]*nameData, len(ix.names), len(ix.names)+len(p.Virtual))
		pl.deps = make([]*dep, len(ix.specs))
		pl.vars = make([]*cand, 1, min(len(ix.recs), smallProblem)+len(p.Virtual)+1)
	}
	pl.rankChannels()
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
	for i, v := range p.Virtual {
		if nd := pl.entry(v.Name); !nd.rawSet {
			var r *record.RepoDataRecord
			if pl.sc != nil && i < len(pl.sc.virtual) {
				r = &pl.sc.virtual[i]
				*r = record.RepoDataRecord{PackageRecord: *v}
			} else {
				r = &record.RepoDataRecord{PackageRecord: *v}
			}
			c := &append(pl.cands.take(1), cand{rec: r, virtual: true, parsed: true})[0]
			pl.setRaw(nd, append(pl.candPtrs.take(1), c))
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
	if n := len(pl.nd) - len(pl.ix.names); n >= maxScannedExtra {
		if pl.extra == nil {
			pl.extra = make(map[string]int32, 2*n)
			for i := len(pl.ix.names); i < len(pl.nd); i++ {
				pl.extra[pl.nd[i].name] = int32(i)
			}
		}
		pl.extra[name] = int32(len(pl.nd))
	}
	nd := &append(pl.names.take(1), nameData{name: name})[0]
	pl.nd = append(pl.nd, nd)
	return nd
}

// maxScannedExtra is the number of names the index does not have that
// lookup finds by scanning rather than through a map.
const maxScannedExtra = 16

// smallIndex is the number of records up to which a solve allocates
// for all of the index up front.
const smallIndex = 256

// lookup returns a name's entry, or nil if the pool has none.
func (pl *pool) lookup(name string) *nameData {
	if i, ok := pl.ix.nameIx[name]; ok {
		return pl.nameAt(i)
	}
	if pl.extra != nil {
		if i, ok := pl.extra[name]; ok {
			return pl.nd[i]
		}
		return nil
	}
	for _, nd := range pl.nd[len(pl.ix.names):] {
		if nd.name == name {
			return nd
		}
	}
	return nil
}

// nameAt returns the entry of Index.names[i].
func (pl *pool) nameAt(i int32) *nameData {
	if pl.nd[i] == nil {
		xn := &pl.ix.names[i]
		pl.nd[i] = &append(pl.names.take(1), nameData{name: xn.name, ix: xn})[0]
	}
	return pl.nd[i]
}

// nameRun is a run of consecutive records of one name in Available:
// Available[start:end]. prev is the name's run before it (+1), 0 if none.
type nameRun struct{ start, end, prev int32 }

// recordsOf returns a name's records in Available order. The result may
// share Available's backing array: it is only read.
func (pl *pool) recordsOf(nd *nameData) []*record.RepoDataRecord {
	if nd.ix == nil {
		return nil
	}
	return pl.ix.recordsOf(nd.ix.head)
}

// chKey is a channel URL as a ranking key.
func chKey(url string) string { return strings.TrimRight(url, "/") }

// rankOf is a channel's priority (0 is the highest).
func (pl *pool) rankOf(url string) int {
	if url == pl.lastRankURL && pl.hasLastRank { // a name's records share a channel
		return pl.lastRank
	}
	key := chKey(url)
	r := listedRank(pl.p.ChannelOrder, key)
	if r < 0 {
		if i := slices.Index(pl.ix.chans, key); i >= 0 {
			r = pl.chanRank[i]
		} else {
			r = pl.nRanked // a locked record's channel that Available does not have
		}
	}
	pl.lastRankURL, pl.lastRank, pl.hasLastRank = url, r, true
	return r
}

// rankChannels sets chanRank, nListed and nRanked.
func (pl *pool) rankChannels() {
	order := pl.p.ChannelOrder
	for i, c := range order {
		if listedRank(order[:i], chKey(c)) < 0 {
			pl.nListed++
		}
	}
	pl.nRanked = pl.nListed
	pl.chanRank = make([]int, len(pl.ix.chans))
	for i, k := range pl.ix.chans {
		r := listedRank(order, k)
		if r < 0 {
			r = pl.nRanked
			pl.nRanked++
		}
		pl.chanRank[i] = r
	}
}

// listedRank is the position of a channel (key) in ChannelOrder, -1 if it
// is not there.
func listedRank(order []string, key string) int {
	for i, c := range order {
		if chKey(c) == key {
			return i
		}
	}
	return -1
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
		if len(cs) > 0 && pl.subdirOK(r.Subdir) && pl.rankOf(r.Channel) != cs[0].chanRank && d.spec.MatchRecord(r) {
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
		pl.candidates(nd)
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
	setVersionRanks(byVer)
	slices.SortStableFunc(byVer, func(a, b *cand) int { return cmp.Compare(b.vrank, a.vrank) })
}

// setVersionRanks sets the vrank of cs (in any order), which it may
// reorder.
func setVersionRanks(cs []*cand) {
	if len(cs) <= manyCandidates {
		rankByVersion(cs)
		return
	}
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

// nameOf returns the entry of a dependency's package name, or nil.
func (pl *pool) nameOf(d *dep) *nameData {
	if d.ix != nil && d.ix.name >= 0 {
		return pl.nameAt(d.ix.name)
	}
	return pl.lookup(d.spec.Name)
}

// load returns the candidates of a name in preference order, numbering
// them as variables the first time.
func (pl *pool) load(name string) []*cand {
	return pl.loadName(pl.lookup(name))
}

func (pl *pool) loadName(nd *nameData) []*cand {
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
	if x := c.x; x != nil {
		c.deps = pl.depPtrs.take(len(x.deps))
		for _, id := range x.deps {
			c.deps = append(c.deps, pl.depAt(id))
		}
		if len(x.cons) > 0 {
			c.cons = pl.depPtrs.take(len(x.cons))
			for _, id := range x.cons {
				c.cons = append(c.cons, pl.depAt(id))
			}
		}
		if x.badDep >= 0 {
			c.badDep = pl.depAt(x.badDep)
		}
		return
	}
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

// candidates sets a name's candidates: its records in the index (already
// de-duplicated and ranked), the locked records, filtered by channel
// priority.
func (pl *pool) candidates(nd *nameData) {
	var xs []ixRec
	var byVer []int32
	if nd.ix != nil {
		xs, byVer = nd.ix.recs, nd.ix.byVer
	}
	locked := pl.locked[nd.name]
	slab := pl.cands.take(len(xs) + len(locked))
	out := pl.candPtrs.take(len(xs) + len(locked))
	for i := range xs {
		x := &xs[i]
		off := !pl.subdirOK(x.rec.Subdir)
		slab = append(slab, cand{rec: x.rec, tracked: x.tracked, chanRank: pl.chanRank[x.chanID], vrank: x.vrank, x: x, off: off})
		if !off {
			out = append(out, &slab[i])
		}
	}
	extra := false // a locked record the index does not have: rank versions again
	for _, r := range locked {
		if i, ok := pl.findLocked(out, r); ok {
			out[i].locked = true
			continue
		}
		if i, ok := findArtifact(len(out), func(i int) *record.RepoDataRecord { return out[i].rec }, r); ok {
			out[i].locked = true
			continue
		}
		slab = append(slab, cand{rec: r, locked: true, tracked: isTracked(r), chanRank: pl.rankOf(r.Channel)})
		out = append(out, &slab[len(slab)-1])
		extra = true
	}
	best, filter := 0, false
	if pl.p.ChannelPriority == Strict && !pl.pinnedChannel[nd.name] && len(out) > 0 {
		best, filter = out[0].chanRank, true
		for _, c := range out {
			best = min(best, c.chanRank)
		}
		out = slices.DeleteFunc(out, func(c *cand) bool { return c.chanRank != best })
	}
	if extra {
		pl.setRaw(nd, out)
		return
	}
	nd.rawSet, nd.raw = true, out
	nd.byVer = pl.candPtrs.take(len(out))
	for _, i := range byVer {
		if c := &slab[i]; !c.off && (!filter || c.chanRank == best) {
			nd.byVer = append(nd.byVer, c)
		}
	}
}

// subdirOK tells whether Problem.Subdirs admits a subdir.
func (pl *pool) subdirOK(subdir string) bool {
	return pl.p.Subdirs == nil || slices.Contains(pl.p.Subdirs, subdir)
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

// dep returns a depends/constrains string's dep, one per string and solve.
func (pl *pool) dep(s string) *dep {
	if id, ok := pl.ix.specIx[s]; ok {
		return pl.depAt(id)
	}
	if d, ok := pl.more[s]; ok {
		return d
	}
	d := &append(pl.depVals.take(1), dep{src: s})[0]
	d.spec, d.err = parseSpec(s)
	if pl.more == nil {
		pl.more = map[string]*dep{}
	}
	pl.more[s] = d
	return d
}

// depAt returns the dep of Index.specs[id].
func (pl *pool) depAt(id int32) *dep {
	if pl.depSlab != nil {
		d := &pl.depSlab[id]
		if d.ix == nil {
			x := &pl.ix.specs[id]
			d.src, d.spec, d.err, d.ix = x.src, x.spec, x.err, x
		}
		return d
	}
	if pl.deps[id] == nil {
		x := &pl.ix.specs[id]
		pl.deps[id] = &append(pl.depVals.take(1), dep{src: x.src, spec: x.spec, err: x.err, ix: x})[0]
	}
	return pl.deps[id]
}

// bestOf returns the vrank of the highest version among the records a
// dependency matches (used to order candidates by their dependencies).
func (pl *pool) bestOf(d *dep) (int32, bool) {
	if !d.bestDone {
		d.bestDone = true
		var byVer []*cand
		if nd := pl.nameOf(d); nd != nil {
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
	if d.ix != nil && c.x != nil { // c is of d's package
		return d.ix.match[c.x.pos/64]&(1<<(c.x.pos%64)) != 0
	}
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
	cs := pl.loadName(pl.nameOf(d))
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
