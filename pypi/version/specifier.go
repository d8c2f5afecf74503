package version

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Op is a specifier's comparison operator.
type Op string

// The operators of PEP 440.
const (
	Compatible   Op = "~="
	Equal        Op = "=="
	NotEqual     Op = "!="
	LessEqual    Op = "<="
	GreaterEqual Op = ">="
	Less         Op = "<"
	Greater      Op = ">"
	Arbitrary    Op = "==="
)

// operators in the order they must be tried (longest first).
var operators = []Op{Arbitrary, Compatible, Equal, NotEqual, LessEqual, GreaterEqual, Less, Greater}

// Specifier is one version clause such as ">=1.2", "==1.4.*" or "~=2.2.post3".
type Specifier struct {
	op       Op
	text     string  // the version as written (with ".*" for a wildcard)
	v        Version // the version (without ".*"); zero for ===
	wildcard bool
	hasLocal bool
	lo, hi   *parsed // bounds: wildcard [lo, hi), ~= upper hi, < bound lo
}

// SpecifierError reports an invalid specifier; Pos is the byte offset in
// Input where the problem starts.
type SpecifierError struct {
	Input string
	Pos   int
	Msg   string
}

func (e *SpecifierError) Error() string {
	return fmt.Sprintf("invalid version specifier %q: column %d: %s", e.Input, e.Pos+1, e.Msg)
}

// ParseSpecifier parses one specifier. White space around the operator and
// the version is allowed.
func ParseSpecifier(s string) (Specifier, error) {
	sp, err := parseSpecifier(s, s, 0)
	return sp, err
}

// MustParseSpecifier is ParseSpecifier that panics on error.
func MustParseSpecifier(s string) Specifier {
	sp, err := ParseSpecifier(s)
	if err != nil {
		panic(err)
	}
	return sp
}

// parseSpecifier parses s, which starts at byte off of input.
func parseSpecifier(input, s string, off int) (Specifier, error) {
	fail := func(at int, format string, a ...any) (Specifier, error) {
		return Specifier{}, &SpecifierError{Input: input, Pos: off + at, Msg: fmt.Sprintf(format, a...)}
	}
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	var op Op
	for _, o := range operators {
		if strings.HasPrefix(s[i:], string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return fail(i, "expected an operator (one of ~=, ==, !=, <=, >=, <, >, ===)")
	}
	i += len(op)
	rest := strings.TrimRightFunc(s[i:], unicode.IsSpace)
	lead := len(rest) - len(strings.TrimLeftFunc(rest, unicode.IsSpace))
	vs := rest[lead:]
	vAt := i + lead
	if vs == "" {
		return fail(vAt, "expected a version after %q", op)
	}
	sp := Specifier{op: op, text: vs}
	if op == Arbitrary {
		if k := strings.IndexFunc(vs, func(r rune) bool { return unicode.IsSpace(r) || r == ';' || r == ')' }); k >= 0 {
			return fail(vAt+k, "unexpected %q in an arbitrary version", vs[k:])
		}
		return sp, nil
	}
	verr := func(err error) (Specifier, error) {
		var pe *ParseError
		if !errors.As(err, &pe) {
			return Specifier{}, err
		}
		return fail(vAt+pe.Pos, "%s", pe.Msg)
	}
	if base, ok := strings.CutSuffix(vs, ".*"); ok {
		if op != Equal && op != NotEqual {
			return fail(vAt+len(base), ".* suffix can only be used with == or != operators")
		}
		p, err := parse(base)
		if err != nil {
			return verr(err)
		}
		if p.preKind != preNone || p.hasPost || p.hasDev || p.local != nil {
			return fail(vAt+len(base), ".* suffix cannot be used with pre-release, post-release, dev or local versions")
		}
		sp.v, sp.wildcard = Version{p: p}, true
		sp.lo = &parsed{epoch: p.epoch, release: p.release, nrel: p.nrel, hasDev: true}
		sp.hi = nextPrefixDev0(p.epoch, p.release)
		return sp, nil
	}
	p, err := parse(vs)
	if err != nil {
		return verr(err)
	}
	sp.v = Version{p: p}
	if p.local != nil {
		if op != Equal && op != NotEqual {
			return fail(vAt+strings.IndexByte(vs, '+'), "local version label can only be used with == or != operators")
		}
		sp.hasLocal = true
	}
	switch op {
	case Compatible:
		if len(p.release) < 2 {
			return fail(vAt, "~= needs a release of at least two numbers, as in ~=%s.0", vs)
		}
		sp.hi = nextPrefixDev0(p.epoch, p.release[:len(p.release)-1])
	case Less:
		if !sp.v.IsPrerelease() {
			b := *p
			b.hasDev, b.dev, b.local = true, 0, nil
			sp.lo = &b
		} else {
			sp.lo = p
		}
	}
	return sp, nil
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// nextPrefixDev0 is the first version after the prefix release: 1.2 -> 1.3.dev0.
func nextPrefixDev0(epoch uint64, release []uint64) *parsed {
	r := append([]uint64(nil), release...)
	r[len(r)-1]++
	n := len(r)
	for n > 0 && r[n-1] == 0 { // only when the increment wrapped
		n--
	}
	return &parsed{epoch: epoch, release: r, nrel: n, hasDev: true}
}

// Op returns the operator.
func (s Specifier) Op() Op { return s.op }

// Version returns the specifier's version (without a trailing ".*"); zero for "===".
func (s Specifier) Version() Version { return s.v }

// VersionText returns the version as written, with ".*" for a wildcard.
func (s Specifier) VersionText() string { return s.text }

// IsWildcard reports whether the specifier is "==V.*" or "!=V.*".
func (s Specifier) IsWildcard() bool { return s.wildcard }

// String returns the operator followed by the version as written, as
// packaging prints a Specifier.
func (s Specifier) String() string { return string(s.op) + s.text }

// NamesPrerelease reports whether the specifier names a pre-release, which
// lets pre-releases match (packaging's Specifier.prereleases): every
// operator but "!=" and the wildcards, with a pre-release or dev version.
func (s Specifier) NamesPrerelease() bool {
	switch {
	case s.op == NotEqual, s.wildcard:
		return false
	case s.op == Arbitrary:
		v, err := Parse(s.text)
		return err == nil && v.IsPrerelease()
	}
	return s.v.IsPrerelease()
}

// Matches reports whether v satisfies the specifier's comparison, without
// any pre-release policy (packaging's contains with prereleases=True).
func (s Specifier) Matches(v Version) bool {
	if v.p == nil {
		return false
	}
	p, q := v.p, s.v.p
	switch s.op {
	case Arbitrary:
		return strings.EqualFold(v.p.text, s.text)
	case Equal, NotEqual:
		var eq bool
		switch {
		case s.wildcard:
			eq = Version{p: p}.Compare(Version{p: s.lo}) >= 0 && comparePublic(p, s.hi) < 0
		case s.hasLocal:
			eq = v.Compare(s.v) == 0
		default:
			eq = comparePublic(p, q) == 0
		}
		return eq == (s.op == Equal)
	case LessEqual:
		return comparePublic(p, q) <= 0
	case GreaterEqual:
		return v.Compare(s.v) >= 0
	case Less:
		return comparePublic(p, s.lo) < 0
	case Greater:
		if q.hasDev || q.hasPost {
			return comparePublic(p, q) > 0
		}
		if v.Compare(s.v) <= 0 {
			return false
		}
		// >V excludes V's post releases (and V+local) unless V is one.
		family := compareRelease(p, q) == 0 && p.preKind == q.preKind && p.pre == q.pre && (!p.hasDev || p.hasPost)
		return !family
	case Compatible:
		return v.Compare(s.v) >= 0 && comparePublic(p, s.hi) < 0
	}
	return false
}

// SpecifierSet is a comma-separated list of specifiers, all of which must
// match. The empty set matches every version.
type SpecifierSet struct {
	specs []Specifier
}

// ParseSpecifierSet parses "spec, spec, ...". Empty items are skipped, as
// packaging does, so "" is the empty set.
func ParseSpecifierSet(s string) (SpecifierSet, error) {
	var set SpecifierSet
	off := 0
	for {
		item, rest, more := strings.Cut(s[off:], ",")
		if strings.TrimSpace(item) != "" {
			sp, err := parseSpecifier(s, item, off)
			if err != nil {
				return SpecifierSet{}, err
			}
			set.specs = append(set.specs, sp)
		}
		if !more {
			break
		}
		off = len(s) - len(rest)
	}
	return set, nil
}

// MustParseSpecifierSet is ParseSpecifierSet that panics on error.
func MustParseSpecifierSet(s string) SpecifierSet {
	set, err := ParseSpecifierSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

// Specifiers returns the set's specifiers in the order written. The slice is
// shared: do not modify it.
func (s SpecifierSet) Specifiers() []Specifier { return s.specs }

// Len returns the number of specifiers.
func (s SpecifierSet) Len() int { return len(s.specs) }

// String joins the specifiers with ",".
func (s SpecifierSet) String() string {
	parts := make([]string, len(s.specs))
	for i, sp := range s.specs {
		parts[i] = sp.String()
	}
	return strings.Join(parts, ",")
}

// NamesPrerelease reports whether any specifier names a pre-release.
func (s SpecifierSet) NamesPrerelease() bool {
	for _, sp := range s.specs {
		if sp.NamesPrerelease() {
			return true
		}
	}
	return false
}

// Matches reports whether every specifier matches v, with no pre-release
// policy.
func (s SpecifierSet) Matches(v Version) bool {
	for i := range s.specs {
		if !s.specs[i].Matches(v) {
			return false
		}
	}
	return v.p != nil
}

// Contains reports whether v satisfies the set, as packaging's
// SpecifierSet.contains(v, prereleases=...): a pre-release or dev release
// matches only when prereleases is true. A resolver that follows pip passes
// prereleases = (--pre) || s.NamesPrerelease(); PEP 440's "a pre-release
// when nothing else fits" needs the other candidates: see Filter.
func (s SpecifierSet) Contains(v Version, prereleases bool) bool {
	if v.IsPrerelease() && !prereleases {
		return false
	}
	return s.Matches(v)
}

// Prereleases is Filter's pre-release policy.
type Prereleases uint8

const (
	// PrereleasesDefault is PEP 440's rule (packaging's prereleases=None):
	// pre-releases are kept when the set names one, or when no final
	// release matches.
	PrereleasesDefault Prereleases = iota
	// PrereleasesAllow keeps every matching pre-release (pip's --pre).
	PrereleasesAllow
	// PrereleasesExclude drops every pre-release.
	PrereleasesExclude
)

// Filter returns the versions of vs that the set contains under the given
// pre-release policy, in their order, as packaging's SpecifierSet.filter.
func (s SpecifierSet) Filter(vs []Version, policy Prereleases) []Version {
	if policy == PrereleasesDefault && s.NamesPrerelease() {
		policy = PrereleasesAllow
	}
	var out, pres []Version
	for _, v := range vs {
		if !s.Matches(v) {
			continue
		}
		if v.IsPrerelease() && policy != PrereleasesAllow {
			if policy == PrereleasesDefault {
				pres = append(pres, v)
			}
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 && policy == PrereleasesDefault {
		return pres
	}
	return out
}

// MatchesText is Matches for a version given as text, which need not be a
// PEP 440 version: such text matches only a set made of "===" clauses that
// all name it (ignoring case), as in packaging. A valid version's "==="
// clauses compare the text as written.
func (s SpecifierSet) MatchesText(text string) bool {
	if v, err := Parse(text); err == nil {
		return s.Matches(v)
	}
	if len(s.specs) == 0 {
		return false
	}
	for _, sp := range s.specs {
		if sp.op != Arbitrary || !strings.EqualFold(strings.TrimSpace(text), sp.text) {
			return false
		}
	}
	return true
}
