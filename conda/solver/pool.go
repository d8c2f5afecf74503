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
	p            *Problem
	vars         []*cand            // index = variable; vars[0] is nil
	byName       map[string][]*cand // loaded names: preference order, numbered
	raw          map[string][]*cand // filtered records of a name, not yet ordered
	versionOrder map[string][]*cand // raw, highest version first (bestOf), set with raw
	names        []string           // loaded names, in load order
	deps         map[string]*dep
	roots        []*dep // one per Problem.Specs entry
	pins         []*dep // one per Problem.Constraints entry
	rank         map[string]int
	missing      []string // requested names without any candidate

	head          map[string]int32 // name -> its last run in runs (+1)
	runs          []nameRun
	locked        map[string][]*record.RepoDataRecord
	pinnedChannel map[string]bool
}

func newPool(p *Problem) *pool {
	pl := &pool{
		p: p, byName: map[string][]*cand{}, raw: map[string][]*cand{}, versionOrder: map[string][]*cand{}, deps: map[string]*dep{},
		rank: map[string]int{}, vars: []*cand{nil},
		locked: map[string][]*record.RepoDataRecord{}, pinnedChannel: map[string]bool{},
	}
	for i, c := range p.ChannelOrder {
		if _, ok := pl.rank[chKey(c)]; !ok {
			pl.rank[chKey(c)] = i
		}
	}
	pl.index()
	for _, r := range p.Locked {
		pl.locked[r.Name] = append(pl.locked[r.Name], r)
	}
	// A requested spec that names a channel chooses that channel for its
	// package, whatever the channel priority.
	for _, s := range p.Specs {
		if s.Channel != "" && s.Channel != "*" {
			pl.pinnedChannel[s.Name] = true
		}
	}
	// Virtual packages are always present (one record per name).
	for _, v := range p.Virtual {
		if _, ok := pl.raw[v.Name]; !ok {
			r := &record.RepoDataRecord{PackageRecord: *v}
			pl.setRaw(v.Name, []*cand{{rec: r, virtual: true, parsed: true}})
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

// nameRun is a run of consecutive records of one name in Available:
// Available[start:end]. prev is the name's run before it (+1), 0 if none.
type nameRun struct{ start, end, prev int32 }

// index groups Available by name and ranks the channels not in
// ChannelOrder. Repodata lists a name's records together (files sort by
// name), so the map is touched once per run of a name, not per record.
func (pl *pool) index() {
	recs := pl.p.Available
	pl.head = make(map[string]int32, len(recs)/8)
	pl.runs = make([]nameRun, 0, len(recs)/4)
	lastCh, lastName, open := "", "", false
	for i, r := range recs {
		if i == 0 || r.Channel != lastCh { // records come in runs of one channel
			if _, ok := pl.rank[chKey(r.Channel)]; !ok {
				pl.rank[chKey(r.Channel)] = len(pl.rank)
			}
			lastCh = r.Channel
		}
		if open && r.Name == lastName {
			pl.runs[len(pl.runs)-1].end++
			continue
		}
		if open = !strings.HasPrefix(r.Name, "__"); !open {
			continue // virtual packages only come from Problem.Virtual
		}
		lastName = r.Name
		pl.runs = append(pl.runs, nameRun{int32(i), int32(i + 1), pl.head[r.Name]})
		pl.head[r.Name] = int32(len(pl.runs))
	}
}

// recordsOf returns a name's records in Available order.
func (pl *pool) recordsOf(name string) []*record.RepoDataRecord {
	if strings.HasPrefix(name, "__") {
		return nil
	}
	n := 0
	for i := pl.head[name]; i != 0; i = pl.runs[i-1].prev {
		n += int(pl.runs[i-1].end - pl.runs[i-1].start)
	}
	out := make([]*record.RepoDataRecord, n)
	for i := pl.head[name]; i != 0; i = pl.runs[i-1].prev {
		run := pl.runs[i-1]
		n -= copy(out[n-int(run.end-run.start):n], pl.p.Available[run.start:run.end])
	}
	return out
}

// chKey is a channel URL as a ranking key.
func chKey(url string) string { return strings.TrimRight(url, "/") }

// rankOf is a channel's priority (0 is the highest).
func (pl *pool) rankOf(url string) int {
	if r, ok := pl.rank[chKey(url)]; ok {
		return r
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
	var out []*record.RepoDataRecord
	for _, r := range pl.recordsOf(d.spec.Name) {
		if len(cs) > 0 && pl.rankOf(r.Channel) != cs[0].chanRank && d.spec.MatchRecord(r) {
			out = append(out, r)
		}
	}
	return out
}

// rawOf returns the candidates of a name, filtered but not ordered.
func (pl *pool) rawOf(name string) []*cand {
	if cs, ok := pl.raw[name]; ok {
		return cs
	}
	cs := pl.candidates(name, pl.recordsOf(name), pl.locked[name], pl.pinnedChannel[name])
	pl.setRaw(name, cs)
	return cs
}

// setRaw records a name's candidates, ordered by version for byVersion,
// and sets their vrank, so that ordering them later compares integers
// rather than versions.
func (pl *pool) setRaw(name string, cs []*cand) {
	pl.raw[name] = cs
	byVer := slices.Clone(cs)
	pl.versionOrder[name] = byVer
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
	if cs, ok := pl.byName[name]; ok {
		return cs
	}
	cs := pl.rawOf(name)
	pl.sortCandidates(cs)
	for _, c := range cs {
		c.v = int32(len(pl.vars))
		pl.vars = append(pl.vars, c)
	}
	pl.byName[name] = cs
	pl.names = append(pl.names, name)
	return cs
}

// parse parses a record's depends and constrains, once.
func (pl *pool) parse(c *cand) {
	if c.parsed {
		return
	}
	c.parsed = true
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
func (pl *pool) candidates(name string, recs, locked []*record.RepoDataRecord, pinnedChannel bool) []*cand {
	// The same artifact as .conda and .tar.bz2: keep the .conda.
	type key struct{ ch, sub, ver, build string }
	seen := make(map[key]int, len(recs))
	var out []*cand
	add := func(r *record.RepoDataRecord, isLocked bool) {
		k := key{r.Channel, r.Subdir, r.Version.String(), r.Build}
		if i, ok := seen[k]; ok {
			if isLocked {
				out[i].locked = true
			} else if strings.HasSuffix(r.FileName, ".conda") && !strings.HasSuffix(out[i].rec.FileName, ".conda") {
				out[i].rec = r
			}
			return
		}
		seen[k] = len(out)
		out = append(out, &cand{
			rec:      r,
			locked:   isLocked,
			tracked:  len(r.TrackFeatures) > 0 || strings.TrimSpace(r.Features) != "",
			chanRank: pl.rankOf(r.Channel),
		})
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
	d := &dep{src: s}
	d.spec, d.err = parseSpec(s)
	pl.deps[s] = d
	return d
}

// bestOf returns the vrank of the highest version among the records a
// dependency matches (used to order candidates by their dependencies).
func (pl *pool) bestOf(d *dep) (int32, bool) {
	if !d.bestDone {
		d.bestDone = true
		pl.rawOf(d.spec.Name)
		for _, c := range pl.versionOrder[d.spec.Name] {
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
	for _, c := range pl.load(d.spec.Name) {
		if pl.matches(d, c) {
			d.matches = append(d.matches, c.v)
		} else {
			d.others = append(d.others, c.v)
		}
	}
}
