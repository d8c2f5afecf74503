package resolve

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/envkit/envkit/pypi/requirement"
)

// maxExplainLines bounds an explanation (a large conflict would otherwise
// print thousands of lines), as the conda solver's does.
const maxExplainLines = 60

// explain renders the derivation of a failure as PubGrub's report does
// (pub's solver.md, "Error Reporting"): one sentence per derivation step,
// "Because X and Y, Z.", numbering the facts used more than once; then the
// candidates rejected, one per line.
func (s *solver) explain(failure *incompat) *UnsatError {
	r := &reporter{s: s, counts: map[*incompat]int{}, numbers: map[*incompat]int{}, used: map[int]bool{}}
	r.count(failure)
	var out []string
	if failure.kind != kDerived {
		out = append(out, fmt.Sprintf("  Because %s, %s.", s.incText(failure), s.failText()))
	} else {
		r.visit(failure, true)
		width := 0
		if len(r.used) > 0 {
			width = len(fmt.Sprint(len(r.numbers))) + 2
		}
		for _, l := range r.lines {
			switch {
			case r.used[l.n]:
				out = append(out, fmt.Sprintf("  %*s %s", width, fmt.Sprintf("(%d)", l.n), l.text))
			case l.text == "":
				out = append(out, "")
			default:
				out = append(out, fmt.Sprintf("  %s%s", strings.Repeat(" ", width+min(width, 1)), l.text))
			}
		}
	}
	var groups [][]string
	e := &UnsatError{}
	names := map[string]bool{}
	for inc := range r.counts {
		if inc.kind == kNoVersions && len(inc.rejects) > 1 {
			groups = append(groups, inc.rejects)
		}
		if inc.kind == kDep && len(inc.terms) > 0 && inc.terms[0].pkg == s.root {
			e.Requirements = append(e.Requirements, inc.req+origin(inc.origin))
		}
		if inc.kind != kDerived {
			for _, t := range inc.terms {
				if t.pkg != s.root {
					names[t.pkg.proj.norm] = true
				}
			}
			if inc.kind == kDep && inc.empty != "" {
				if rq, err := requirement.Parse(inc.req); err == nil {
					names[rq.NormalizedName()] = true
				}
			}
		}
	}
	sort.Strings(e.Requirements)
	e.Requirements = slices.Compact(e.Requirements)
	e.Packages = sortedKeys(names)
	sort.Slice(groups, func(i, j int) bool { return groups[i][0] < groups[j][0] })
	if len(groups) > 0 {
		out = append(out, "rejected candidates:")
		for _, g := range groups {
			for _, x := range g {
				out = append(out, "  "+x)
			}
		}
	}
	if len(out) > maxExplainLines {
		n := len(out) - maxExplainLines
		out = append(out[:maxExplainLines], fmt.Sprintf("... (%d more lines)", n))
	}
	e.text = "the pip requirements cannot be resolved:\n" + strings.Join(out, "\n")
	return e
}

type line struct {
	text string
	n    int
}

type reporter struct {
	s       *solver
	counts  map[*incompat]int
	numbers map[*incompat]int
	used    map[int]bool // numbers referred to
	lines   []line
}

func (r *reporter) count(inc *incompat) {
	r.counts[inc]++
	if inc.kind == kDerived && r.counts[inc] == 1 {
		r.count(inc.c1)
		r.count(inc.c2)
	}
}

func derived(inc *incompat) bool { return inc.kind == kDerived }

func (r *reporter) write(inc *incompat, text string, numbered bool) {
	if numbered {
		n := len(r.numbers) + 1
		r.numbers[inc] = n
		r.lines = append(r.lines, line{text, n})
		return
	}
	r.lines = append(r.lines, line{text, 0})
}

func (r *reporter) ref(inc *incompat) string {
	if n, ok := r.numbers[inc]; ok {
		r.used[n] = true
		return fmt.Sprintf("%s (%d)", r.s.incText(inc), n)
	}
	return r.s.incText(inc)
}

func (r *reporter) visit(inc *incompat, conclusion bool) {
	s := r.s
	numbered := conclusion || r.counts[inc] > 1
	conj := "And"
	if conclusion {
		conj = "So,"
	}
	text := s.incText(inc)
	if r.s.isFailure(inc) {
		text = s.failText()
	}
	c1, c2 := inc.c1, inc.c2
	switch {
	case derived(c1) && derived(c2):
		n1, ok1 := r.numbers[c1]
		n2, ok2 := r.numbers[c2]
		switch {
		case ok1 && ok2:
			_, _ = n1, n2
			r.write(inc, fmt.Sprintf("Because %s and %s, %s.", r.ref(c1), r.ref(c2), text), numbered)
		case ok1 || ok2:
			with, without := c1, c2
			if ok2 {
				with, without = c2, c1
			}
			r.visit(without, false)
			r.write(inc, fmt.Sprintf("%s because %s, %s.", conj, r.ref(with), text), numbered)
		default:
			single1, single2 := !derived(c1.c1) && !derived(c1.c2), !derived(c2.c1) && !derived(c2.c2)
			if single1 || single2 {
				first, second := c2, c1
				if single2 {
					first, second = c1, c2
				}
				r.visit(first, false)
				r.visit(second, false)
				r.write(inc, fmt.Sprintf("Thus, %s.", text), numbered)
			} else {
				r.visit(c1, true)
				r.lines = append(r.lines, line{})
				r.visit(c2, false)
				r.write(inc, fmt.Sprintf("%s because %s, %s.", conj, r.ref(c1), text), numbered)
			}
		}
	case derived(c1) || derived(c2):
		d, ext := c1, c2
		if !derived(c1) {
			d, ext = c2, c1
		}
		if _, ok := r.numbers[d]; ok {
			r.write(inc, fmt.Sprintf("Because %s and %s, %s.", s.incText(ext), r.ref(d), text), numbered)
		} else if r.collapsible(d) {
			dd, de := d.c1, d.c2
			if !derived(dd) {
				dd, de = d.c2, d.c1
			}
			r.visit(dd, false)
			r.write(inc, fmt.Sprintf("%s because %s, %s.", conj, and2(s.incText(de), s.incText(ext)), text), numbered)
		} else {
			r.visit(d, false)
			r.write(inc, fmt.Sprintf("%s because %s, %s.", conj, s.incText(ext), text), numbered)
		}
	default:
		r.write(inc, fmt.Sprintf("Because %s, %s.", and2(s.incText(c1), s.incText(c2)), text), numbered)
	}
}

// maxAlternatives bounds the alternatives one sentence lists.
const maxAlternatives = 6

// orList joins alternatives with "or", the first few of many.
func orList(items []string) string {
	if len(items) > maxAlternatives+1 {
		return strings.Join(items[:maxAlternatives], " or ") + fmt.Sprintf(" or %d others", len(items)-maxAlternatives)
	}
	return strings.Join(items, " or ")
}

// and2 joins two facts, once when they read the same.
func and2(a, b string) string {
	if a == b {
		return a
	}
	return a + " and " + b
}

func (r *reporter) collapsible(inc *incompat) bool {
	if r.counts[inc] > 1 {
		return false
	}
	d1, d2 := derived(inc.c1), derived(inc.c2)
	if d1 == d2 {
		return false
	}
	complex := inc.c1
	if d2 {
		complex = inc.c2
	}
	_, numbered := r.numbers[complex]
	return !numbered
}

func (s *solver) failText() string { return "the requirements cannot be installed together" }

// pkgName is a package as messages name it: "numpy", "a[extra]", or the
// request.
func (s *solver) pkgName(p *pkg) string {
	if p.base != nil {
		e := p.extraText
		if e == "" {
			e = p.extra
		}
		return p.base.proj.display + "[" + e + "]"
	}
	return p.proj.display
}

// termText renders a positive set of p's versions: "a==1.0", "a>=2.0,<=2.4
// or a==3.0", or "a" for every version.
func (s *solver) termText(p *pkg, st set) string {
	if p == s.root {
		return "the request"
	}
	n := p.n()
	vs := p.proj.versions
	nm := s.pkgName(p)
	var runs []string
	all := true
	for i := 0; i < n; {
		if !st.has(i) {
			all = false
			i++
			continue
		}
		j := i
		for j+1 < n && st.has(j+1) {
			j++
		}
		switch {
		case i == j:
			runs = append(runs, fmt.Sprintf("%s==%s", nm, vs[i]))
		case i == 0 && j == n-1:
		case i == 0:
			runs = append(runs, fmt.Sprintf("%s<=%s", nm, vs[j]))
		case j == n-1:
			runs = append(runs, fmt.Sprintf("%s>=%s", nm, vs[i]))
		default:
			runs = append(runs, fmt.Sprintf("%s>=%s,<=%s", nm, vs[i], vs[j]))
		}
		i = j + 1
	}
	if all {
		return nm
	}
	if len(runs) == 0 {
		return "no version of " + nm
	}
	return strings.Join(runs, " or ")
}

// positive renders a term as the versions it allows (a negative term by
// its complement's complement: the versions it rules in when selected).
func (s *solver) positiveText(t term) string {
	return s.termText(t.pkg, t.set)
}

// versionText renders a single-version term with its version even when
// the project has no other.
func (s *solver) versionText(t term) string {
	if vs := t.set.versions(); len(vs) == 1 && t.set.positive() && t.pkg != s.root {
		return fmt.Sprintf("%s==%s", s.pkgName(t.pkg), t.pkg.proj.versions[vs[0]])
	}
	return s.positiveText(t)
}

// required renders a negative term's inverse: what must be selected.
func (s *solver) requiredText(t term) string {
	return s.termText(t.pkg, t.set.not())
}

func (s *solver) incText(inc *incompat) string {
	switch inc.kind {
	case kRoot:
		return "the request is resolved"
	case kDep:
		self := inc.terms[0]
		who := s.versionText(self) + " depends on"
		if n := self.pkg.n(); n > 1 && self.set.count() == n {
			who = "every version of " + s.pkgName(self.pkg) + " depends on"
		}
		if self.pkg == s.root {
			who = "the request requires"
		}
		t := fmt.Sprintf("%s %s%s", who, inc.req, origin(inc.origin))
		if inc.empty != "" {
			t += ", which is unavailable (" + inc.empty + ")"
		}
		return t
	case kNoVersions:
		t := inc.terms[0]
		if len(inc.rejects) == 1 {
			return fmt.Sprintf("no version of %s is usable (%s)", s.positiveText(t), inc.rejects[0])
		}
		return fmt.Sprintf("no version of %s is usable (see below)", s.positiveText(t))
	case kUnavailable:
		return fmt.Sprintf("%s %s", s.versionText(inc.terms[0]), inc.reason)
	case kConstraint:
		return fmt.Sprintf("%s excludes %s", inc.reason, s.positiveText(inc.terms[0]))
	}
	var pos, neg []term
	for _, t := range inc.terms {
		if t.set.positive() {
			pos = append(pos, t)
		} else {
			neg = append(neg, t)
		}
	}
	if s.isFailure(inc) {
		return s.failText()
	}
	texts := func(ts []term, f func(term) string) []string {
		var out []string
		for _, t := range ts {
			out = append(out, f(t))
		}
		return out
	}
	// The request as the first positive term reads "the request requires".
	switch {
	case len(pos) == 0 && len(neg) == 1:
		return s.requiredText(neg[0]) + " is required"
	case len(pos) == 0:
		return "one of " + orList(texts(neg, s.requiredText)) + " is required"
	case len(neg) == 0 && len(pos) == 1:
		if pos[0].set.count() == pos[0].pkg.n() {
			return "no version of " + s.pkgName(pos[0].pkg) + " can be installed"
		}
		return s.positiveText(pos[0]) + " cannot be installed"
	case len(neg) == 0:
		if pos[0].pkg == s.root {
			return "the request forbids " + joinWords(texts(pos[1:], s.positiveText))
		}
		return joinWords(texts(pos, s.positiveText)) + " cannot be installed together"
	}
	subject := joinWords(texts(pos, s.positiveText))
	if len(pos) == 1 && pos[0].pkg == s.root {
		return "the request requires " + orList(texts(neg, s.requiredText))
	}
	if len(pos) > 1 {
		return "together, " + subject + " require " + orList(texts(neg, s.requiredText))
	}
	return subject + " requires " + orList(texts(neg, s.requiredText))
}
