package solver

import (
	"fmt"
	"slices"
	"strings"
)

// UnsatError reports that the requested specs cannot be installed together.
// Error() is a readable explanation: a tree from the requested specs through
// the records that could satisfy them and what those require, down to the
// incompatible packages.
type UnsatError struct {
	// Specs are the requested specs involved in the conflict.
	Specs []string
	// Packages are the names of the packages involved (virtual ones included).
	Packages []string
	// Missing are requested specs that no available record provides.
	Missing []string
	text    string
}

func (e *UnsatError) Error() string { return e.text }

func explainMissing(missing []string) string {
	var b strings.Builder
	b.WriteString("cannot solve the request: no candidates were found for ")
	const shown = 50 // a request of 100k unknown names is not one 1.8 MB line
	for i, m := range missing[:min(len(missing), shown)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", m)
	}
	if len(missing) > shown {
		fmt.Fprintf(&b, " and %d more", len(missing)-shown)
	}
	return b.String()
}

// explainer renders the unsatisfiable core of a run.
type explainer struct {
	r       *run
	reqs    map[int32][]int32 // var -> core requires clauses of that var
	cons    map[int32][]int32 // var -> core constrains clauses where it is the constraining side
	pins    map[int32][]int32 // var -> core pin clauses
	shown   map[*dep]bool
	demands map[string][]demand // package name -> the specs on it shown, with who asks
	names   map[string]bool
	b       strings.Builder
	lines   int
	omitted int
}

// maxExplainLines bounds an explanation: a large core (a sudoku) would
// otherwise print thousands of lines.
const maxExplainLines = 60

func (e *explainer) linef(format string, args ...any) {
	if e.lines >= maxExplainLines {
		e.omitted++
		return
	}
	e.lines++
	fmt.Fprintf(&e.b, format, args...)
}

// explain builds the UnsatError of a run that ended in a level-0 conflict.
func (r *run) explain() *UnsatError {
	core := r.s.core(r.confl)
	e := &explainer{
		r: r, reqs: map[int32][]int32{}, cons: map[int32][]int32{}, pins: map[int32][]int32{},
		shown: map[*dep]bool{}, demands: map[string][]demand{}, names: map[string]bool{},
	}
	var roots []int32
	for _, id := range core {
		cl := r.s.clauses[id]
		switch cl.kind {
		case kindRoot:
			roots = append(roots, id)
		case kindRequires:
			e.reqs[cl.a] = append(e.reqs[cl.a], id)
		case kindConstrains:
			e.cons[cl.a] = append(e.cons[cl.a], id)
		case kindPin:
			e.pins[cl.a] = append(e.pins[cl.a], id)
		}
	}
	err := &UnsatError{}
	e.linef("cannot solve the request: the following packages are incompatible\n")
	for i, id := range roots {
		d := r.pl.roots[r.s.clauses[id].a]
		err.Specs = append(err.Specs, d.src)
		e.requirement(d, "", i == len(roots)-1, "requested")
	}
	if len(roots) == 0 {
		// The conflict does not involve a request (e.g. a pin that excludes
		// a virtual package of the target): show the records of the core.
		var vs []int32
		for _, id := range core {
			if v := r.s.clauses[id].a; !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		e.candidates(vs, "", true)
	}
	e.conflicts()
	if e.omitted > 0 {
		fmt.Fprintf(&e.b, "... (%d more lines)\n", e.omitted)
	}
	err.Packages = sortedKeys(e.names)
	err.text = strings.TrimRight(e.b.String(), "\n")
	return err
}

func branch(last bool) (head, tail string) {
	if last {
		return "└─ ", "   "
	}
	return "├─ ", "│  "
}

// requirement prints a spec (requested, or required by who) and its options.
func (e *explainer) requirement(d *dep, indent string, last bool, who string) {
	head, tail := branch(last)
	if d.err != nil {
		e.linef("%s%s%s, which cannot be parsed: %v\n", indent, head, d.src, d.err)
		return
	}
	e.names[d.spec.Name] = true
	e.demand(d.spec.Name, d.src, who)
	switch {
	case len(d.matches) == 0:
		if hidden := e.r.pl.hiddenByPriority(d); len(hidden) > 0 {
			e.linef("%s%s%s, for which no candidates were found in the highest-priority channel of %s (%s is in %s; strict channel priority excludes it)\n",
				indent, head, d.src, d.spec.Name, hidden[0].Dist(), hidden[0].Channel)
		} else {
			e.linef("%s%s%s, for which no candidates were found\n", indent, head, d.src)
		}
	case e.shown[d]:
		e.linef("%s%s%s, with the options shown above\n", indent, head, d.src)
	default:
		e.shown[d] = true
		e.linef("%s%s%s can be installed with any of the following options:\n", indent, head, d.src)
		e.candidates(d.matches, indent+tail, true)
	}
}

// candidates prints records grouped by what (in the core) rules them out.
func (e *explainer) candidates(vs []int32, indent string, last bool) {
	type group struct {
		sig string
		vs  []int32
	}
	var groups []*group
	bySig := map[string]*group{}
	for _, v := range vs {
		sig := e.signature(v)
		g := bySig[sig]
		if g == nil {
			g = &group{sig: sig}
			bySig[sig] = g
			groups = append(groups, g)
		}
		g.vs = append(g.vs, v)
	}
	labels := make([]string, len(groups))
	for gi, g := range groups {
		labels[gi] = e.versions(g.vs)
	}
	plain := slices.Clone(labels)
	for gi, g := range groups {
		// Builds of one version that fail for different reasons: name them.
		if slices.Contains(plain[:gi], plain[gi]) || slices.Contains(plain[gi+1:], plain[gi]) {
			labels[gi] = plain[gi] + " " + e.builds(g.vs)
		}
	}
	for gi, g := range groups {
		gl := gi == len(groups)-1 && last
		head, tail := branch(gl)
		c := e.r.pl.vars[g.vs[0]]
		e.names[c.rec.Name] = true
		label := labels[gi]
		var children []func(last bool)
		for _, id := range e.reqs[g.vs[0]] {
			cl := e.r.s.clauses[id]
			if cl.b < 0 {
				bad := c.badDep
				children = append(children, func(l bool) { e.requirement(bad, indent+tail, l, label) })
				continue
			}
			d := c.deps[cl.b]
			children = append(children, func(l bool) { e.requirement(d, indent+tail, l, "required by "+label) })
		}
		seenCons := map[int32]bool{}
		for _, id := range e.cons[g.vs[0]] {
			cl := e.r.s.clauses[id]
			if seenCons[cl.c] {
				continue
			}
			seenCons[cl.c] = true
			d := c.cons[cl.c]
			var excluded []int32
			for _, id2 := range e.cons[g.vs[0]] {
				if e.r.s.clauses[id2].c == cl.c {
					excluded = append(excluded, e.r.s.clauses[id2].b)
				}
			}
			children = append(children, func(l bool) {
				h, _ := branch(l)
				e.names[d.spec.Name] = true
				e.linef("%s%sconstrains %s, which excludes %s\n", indent+tail, h, d.src, e.versions(excluded))
			})
		}
		for _, id := range e.pins[g.vs[0]] {
			label += ", excluded by the constraint " + e.r.pl.pins[e.r.s.clauses[id].c].src
		}
		switch {
		case len(children) == 0:
			e.linef("%s%s%s\n", indent, head, label)
		case len(e.reqs[g.vs[0]]) == 0:
			e.linef("%s%s%s\n", indent, head, label) // only constrains follow
		default:
			e.linef("%s%s%s would require\n", indent, head, label)
		}
		for i, ch := range children {
			ch(i == len(children)-1)
		}
	}
}

// signature identifies what the core says about a record, to group records
// that fail for the same reasons.
func (e *explainer) signature(v int32) string {
	var parts []string
	c := e.r.pl.vars[v]
	for _, id := range e.reqs[v] {
		if b := e.r.s.clauses[id].b; b >= 0 {
			parts = append(parts, "r:"+c.deps[b].src)
		} else {
			parts = append(parts, "bad")
		}
	}
	for _, id := range e.cons[v] {
		parts = append(parts, "c:"+c.cons[e.r.s.clauses[id].c].src)
	}
	for _, id := range e.pins[v] {
		parts = append(parts, fmt.Sprint("p:", e.r.s.clauses[id].c))
	}
	if c.virtual {
		parts = append(parts, "virtual")
	}
	slices.Sort(parts)
	return c.rec.Name + "\x00" + strings.Join(slices.Compact(parts), "\x00")
}

// versions renders records of one name as "name 1.2 | 1.1 | 1.0".
func (e *explainer) versions(vs []int32) string {
	const maxShown = 6
	var b strings.Builder
	seen := map[string]bool{}
	n := 0
	for _, v := range vs {
		c := e.r.pl.vars[v]
		if n == 0 {
			b.WriteString(c.rec.Name)
		}
		ver := c.rec.Version.String()
		if seen[ver] {
			continue
		}
		seen[ver] = true
		if n < maxShown {
			if n == 0 {
				b.WriteString(" ")
			} else {
				b.WriteString(" | ")
			}
			b.WriteString(ver)
		}
		n++
	}
	if n > maxShown {
		fmt.Fprintf(&b, " (and %d more)", n-maxShown)
	}
	if len(vs) > 0 && e.r.pl.vars[vs[0]].virtual {
		b.WriteString(" (virtual package of the target)")
	}
	return b.String()
}

// demand is one spec on a package and who asks for it.
type demand struct {
	spec string
	who  []string
}

// builds lists the build strings of records, "py27_0 | py26_0".
func (e *explainer) builds(vs []int32) string {
	const maxShown = 3
	var bs []string
	for _, v := range vs {
		if b := e.r.pl.vars[v].rec.Build; !slices.Contains(bs, b) {
			bs = append(bs, b)
		}
	}
	if len(bs) > maxShown {
		return fmt.Sprintf("%s (and %d more builds)", strings.Join(bs[:maxShown], " | "), len(bs)-maxShown)
	}
	return strings.Join(bs, " | ")
}

func (e *explainer) demand(name, spec, who string) {
	ds := e.demands[name]
	for i := range ds {
		if ds[i].spec == spec {
			if !slices.Contains(ds[i].who, who) {
				ds[i].who = append(ds[i].who, who)
			}
			return
		}
	}
	e.demands[name] = append(ds, demand{spec: spec, who: []string{who}})
}

// conflicts names the packages asked for with different specs: only one
// record of a name can be installed, so this is where the branches above
// collide.
func (e *explainer) conflicts() {
	for _, name := range sortedKeys(e.demands) {
		ds := e.demands[name]
		if len(ds) < 2 {
			continue
		}
		var parts []string
		for _, d := range ds {
			parts = append(parts, fmt.Sprintf("%s (%s)", d.spec, strings.Join(d.who, "; ")))
		}
		e.linef("only one %s can be installed, but it is required as %s\n", name, strings.Join(parts, " and as "))
	}
}
