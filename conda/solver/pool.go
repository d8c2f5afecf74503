package solver

import (
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// cand is one candidate record: a SAT variable.
type cand struct {
	rec      *record.RepoDataRecord
	virtual  bool
	locked   bool
	tracked  bool // has track_features (or legacy features): deprioritised
	chanRank int
	deps     []*dep    // parsed depends
	cons     []*dep    // parsed constrains
	badDep   *dep      // first unparsable depends entry: the record cannot be installed
	v        int32     // variable, assigned once the candidates are ordered
	best     []depBest // per dependency name: the best version it can reach (order.go)
}

// dep is one distinct depends/constrains string, shared by every record
// that lists it.
type dep struct {
	src     string
	spec    *MatchSpec
	err     error
	cands   []*cand // matching candidates, before they are ordered
	matches []int32 // matching candidates' variables, in preference order
	others  []int32 // candidates of the same name that do not match (for constrains)
	best    version.Version
	hasBest bool
	satBy   int32 // a variable known to satisfy it (cache for decisions)
}

// pool holds the encoded problem: candidates reachable from the specs.
type pool struct {
	p       *Problem
	vars    []*cand            // index = variable; vars[0] is nil
	byName  map[string][]*cand // preference order once sorted
	names   []string           // in discovery order
	deps    map[string]*dep
	roots   []*dep // one per Problem.Specs entry
	pins    []*dep // one per Problem.Constraints entry
	rank    map[string]int
	missing []string // requested names without any candidate
}

func buildPool(p *Problem) *pool {
	pl := &pool{p: p, byName: map[string][]*cand{}, deps: map[string]*dep{}, rank: map[string]int{}, vars: []*cand{nil}}
	for i, c := range p.ChannelOrder {
		if _, ok := pl.rank[c]; !ok {
			pl.rank[c] = i
		}
	}
	// Index the records by name: head[name] is the last record of the name
	// (plus one), next[i] the one before record i (plus one), so that
	// grouping allocates nothing per record.
	head := make(map[string]int32, len(p.Available)/8)
	next := make([]int32, len(p.Available))
	lastCh := ""
	for i, r := range p.Available {
		if strings.HasPrefix(r.Name, "__") {
			continue // virtual packages only come from Problem.Virtual
		}
		if i == 0 || r.Channel != lastCh { // records come in runs of one channel
			if _, ok := pl.rank[r.Channel]; !ok {
				pl.rank[r.Channel] = len(pl.rank)
			}
			lastCh = r.Channel
		}
		next[i] = head[r.Name]
		head[r.Name] = int32(i + 1)
	}
	all := func(name string) []*record.RepoDataRecord {
		var out []*record.RepoDataRecord
		for i := head[name]; i != 0; i = next[i-1] {
			out = append(out, p.Available[i-1])
		}
		slices.Reverse(out)
		return out
	}
	locked := map[string][]*record.RepoDataRecord{}
	for _, r := range p.Locked {
		locked[r.Name] = append(locked[r.Name], r)
	}
	// A requested spec that names a channel chooses that channel for its
	// package, whatever the channel priority.
	pinnedChannel := map[string]bool{}
	for _, s := range p.Specs {
		if s.Channel != "" && s.Channel != "*" {
			pinnedChannel[s.Name] = true
		}
	}

	// Virtual packages are always present.
	for _, v := range p.Virtual {
		if len(pl.byName[v.Name]) > 0 {
			continue // one record per virtual package name
		}
		r := &record.RepoDataRecord{PackageRecord: *v}
		pl.byName[v.Name] = []*cand{{rec: r, virtual: true}}
		pl.names = append(pl.names, v.Name)
	}

	// Discover the reachable names breadth first from the requests.
	queue := []string{}
	visit := func(name string) {
		if _, ok := pl.byName[name]; ok || strings.HasPrefix(name, "__") {
			return
		}
		cs := pl.candidates(name, all(name), locked[name], pinnedChannel[name])
		pl.byName[name] = cs
		pl.names = append(pl.names, name)
		queue = append(queue, name)
	}
	for _, s := range p.Specs {
		pl.roots = append(pl.roots, &dep{src: specText(s), spec: s})
		visit(s.Name)
		if len(pl.byName[s.Name]) == 0 {
			pl.missing = append(pl.missing, specText(s))
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		for _, c := range pl.byName[name] {
			for _, d := range c.rec.Depends {
				dp := pl.dep(d)
				if dp.err != nil {
					if c.badDep == nil {
						c.badDep = dp
					}
					continue
				}
				c.deps = append(c.deps, dp)
				visit(dp.spec.Name)
			}
			for _, d := range c.rec.Constrains {
				if dp := pl.dep(d); dp.err == nil {
					c.cons = append(c.cons, dp)
				}
			}
		}
	}
	for _, s := range p.Constraints {
		pl.pins = append(pl.pins, &dep{src: specText(s), spec: s})
	}

	// Order every name's candidates, then number them in that order, so that
	// a lower variable is always the preferred one within a name.
	for _, d := range pl.deps {
		pl.collect(d)
	}
	for _, d := range pl.roots {
		pl.collect(d)
	}
	for _, d := range pl.pins {
		pl.collect(d)
	}
	for _, name := range pl.names {
		pl.sortCandidates(pl.byName[name])
		for _, c := range pl.byName[name] {
			c.v = int32(len(pl.vars))
			pl.vars = append(pl.vars, c)
		}
	}
	for _, d := range pl.deps {
		pl.number(d)
	}
	for _, d := range pl.roots {
		pl.number(d)
	}
	for _, d := range pl.pins {
		pl.number(d)
	}
	return pl
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
			chanRank: pl.rank[r.Channel],
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

// collect finds the records a dependency matches, once, and the highest
// version among them (used to order candidates by their dependencies).
func (pl *pool) collect(d *dep) {
	if d.err != nil {
		return
	}
	for _, c := range pl.byName[d.spec.Name] {
		if pl.matches(d, c) {
			d.cands = append(d.cands, c)
			if !d.hasBest || c.rec.Version.Compare(d.best) > 0 {
				d.best, d.hasBest = c.rec.Version, true
			}
		}
	}
}

func (pl *pool) matches(d *dep, c *cand) bool {
	if c.virtual {
		return d.spec.Match(&c.rec.PackageRecord)
	}
	return d.spec.MatchRecord(c.rec)
}

// number turns the matched records into variables in preference order,
// and lists the other records of the name (which constrains exclude).
func (pl *pool) number(d *dep) {
	if d.err != nil {
		return
	}
	d.matches = make([]int32, len(d.cands))
	for i, c := range d.cands {
		d.matches[i] = c.v
	}
	slices.Sort(d.matches)
	all := pl.byName[d.spec.Name]
	if len(all) == len(d.matches) {
		return
	}
	d.others = make([]int32, 0, len(all)-len(d.matches))
	i := 0
	for _, c := range all { // all is in variable order, like d.matches
		if i < len(d.matches) && d.matches[i] == c.v {
			i++
			continue
		}
		d.others = append(d.others, c.v)
	}
}
