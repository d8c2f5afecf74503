package requirement

import (
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/version"
)

// Environment is the target a marker is evaluated for: the values of PEP
// 508's marker variables. Extra is the extra being evaluated ("" for none);
// Extras and DependencyGroups are the set-valued variables of lock files.
type Environment struct {
	PythonVersion                string // "3.12"
	PythonFullVersion            string // "3.12.1"
	OSName                       string // "posix", "nt"
	SysPlatform                  string // "linux", "darwin", "win32"
	PlatformMachine              string // "x86_64", "aarch64", "arm64", "AMD64"
	PlatformSystem               string // "Linux", "Darwin", "Windows"
	PlatformRelease              string
	PlatformVersion              string
	PlatformPythonImplementation string // "CPython"
	ImplementationName           string // "cpython"
	ImplementationVersion        string // "3.12.1"
	Extra                        string
	Extras                       []string
	DependencyGroups             []string
}

// Marker variables.
const (
	varPythonVersion = iota
	varPythonFullVersion
	varOSName
	varSysPlatform
	varPlatformRelease
	varPlatformSystem
	varPlatformVersion
	varPlatformMachine
	varPlatformPythonImplementation
	varImplementationName
	varImplementationVersion
	varExtra
	varExtras
	varDependencyGroups
)

var varNames = []string{
	"python_version", "python_full_version", "os_name", "sys_platform", "platform_release",
	"platform_system", "platform_version", "platform_machine", "platform_python_implementation",
	"implementation_name", "implementation_version", "extra", "extras", "dependency_groups",
}

// legacy spellings packaging still accepts (PEP 345).
var varAliases = map[string]int{
	"os.name": varOSName, "sys.platform": varSysPlatform, "platform.version": varPlatformVersion,
	"platform.machine": varPlatformMachine, "platform.python_implementation": varPlatformPythonImplementation,
	"python_implementation": varPlatformPythonImplementation,
}

func lookupVar(s string) (int, bool) {
	if i := slices.Index(varNames, s); i >= 0 {
		return i, true
	}
	i, ok := varAliases[s]
	return i, ok
}

// isVersionVar reports whether v is a "Version" or "Version | String"
// field of the dependency specifiers specification.
func isVersionVar(v int) bool {
	switch v {
	case varPythonVersion, varPythonFullVersion, varImplementationVersion, varPlatformRelease, varPlatformVersion:
		return true
	}
	return false
}

func isSetVar(v int) bool { return v == varExtras || v == varDependencyGroups }

func (e *Environment) value(v int) string {
	switch v {
	case varPythonVersion:
		return e.PythonVersion
	case varPythonFullVersion:
		// platform.python_version() of an untagged build ends in '+'.
		if strings.HasSuffix(e.PythonFullVersion, "+") {
			return e.PythonFullVersion + "local"
		}
		return e.PythonFullVersion
	case varOSName:
		return e.OSName
	case varSysPlatform:
		return e.SysPlatform
	case varPlatformRelease:
		return e.PlatformRelease
	case varPlatformSystem:
		return e.PlatformSystem
	case varPlatformVersion:
		return e.PlatformVersion
	case varPlatformMachine:
		return e.PlatformMachine
	case varPlatformPythonImplementation:
		return e.PlatformPythonImplementation
	case varImplementationName:
		return e.ImplementationName
	case varImplementationVersion:
		return e.ImplementationVersion
	case varExtra:
		if e.Extra == "" {
			return ""
		}
		return name.Normalize(e.Extra)
	}
	return ""
}

// Marker is a parsed environment marker expression.
type Marker struct {
	root *expr
}

// expr is terms joined by "and"/"or" (and binds tighter); paren records a
// parenthesised group.
type expr struct {
	terms []term
	ors   []bool // ors[i]: the operator between terms[i] and terms[i+1] is "or"
	paren bool
}

// term is a comparison or a group.
type term struct {
	group *expr
	cmp   *comparison
}

// comparison is "lhs op rhs" with exactly one side a variable.
type comparison struct {
	variable int
	varLeft  bool   // the variable is on the left
	value    string // the quoted string
	op       string // "<", "<=", "==", "!=", ">=", ">", "~=", "===", "in", "not in"
	// spec is op and value as a version specifier when the variable is on
	// the left, a version field, and they form one.
	spec *version.Specifier
}

// ParseMarker parses a marker expression (the part after ';').
func ParseMarker(s string) (*Marker, error) {
	p := &parser{s: s, what: "marker"}
	root, err := p.marker()
	if err != nil {
		return nil, err
	}
	p.ws()
	if !p.end() {
		return nil, p.errf(p.i, "expected 'and', 'or' or the end of the marker")
	}
	return &Marker{root: root}, nil
}

func (p *parser) marker() (*expr, error) {
	e := &expr{}
	for {
		t, err := p.atom()
		if err != nil {
			return nil, err
		}
		e.terms = append(e.terms, t)
		switch {
		case p.word("and"):
			e.ors = append(e.ors, false)
		case p.word("or"):
			e.ors = append(e.ors, true)
		default:
			return e, nil
		}
	}
}

func (p *parser) atom() (term, error) {
	p.ws()
	if p.peek() == '(' {
		open := p.i
		p.i++
		p.ws()
		g, err := p.marker()
		if err != nil {
			return term{}, err
		}
		p.ws()
		if p.peek() != ')' {
			return term{}, p.errf(p.i, "expected ')' to close the '(' at column %d", open+1)
		}
		p.i++
		p.ws()
		g.paren = true
		return term{group: g}, nil
	}
	c, err := p.comparison()
	if err != nil {
		return term{}, err
	}
	p.ws()
	return term{cmp: c}, nil
}

// operand is a variable or a quoted string.
type operand struct {
	variable int // -1 for a string
	value    string
	pos      int
}

func (p *parser) operand() (operand, error) {
	start := p.i
	switch q := p.peek(); {
	case q == '\'' || q == '"':
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return operand{}, p.errf(start, "unterminated quoted string")
		}
		v := p.s[p.i+1 : p.i+1+end]
		if k := strings.IndexAny(v, "\\\n\r"); k >= 0 {
			return operand{}, p.errf(p.i+1+k, "invalid quoted string: %q is not allowed", v[k:k+1])
		}
		p.i += end + 2
		return operand{variable: -1, value: v, pos: start}, nil
	default:
		j := p.i
		for j < len(p.s) && (isWordByte(p.s[j]) || p.s[j] == '.') {
			j++
		}
		if v, ok := lookupVar(p.s[p.i:j]); ok && j > p.i {
			p.i = j
			return operand{variable: v, pos: start}, nil
		}
		return operand{}, p.errf(start, "expected a marker variable or quoted string")
	}
}

var markerOps = []string{"===", "==", "~=", "!=", "<=", ">=", "<", ">"}

func (p *parser) comparison() (*comparison, error) {
	lhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.ws()
	opAt := p.i
	var op string
	switch {
	case p.word("in"):
		op = "in"
	case p.word("not"):
		p.i = opAt + 3
		if p.peek() != ' ' && p.peek() != '\t' {
			return nil, p.errf(p.i, "expected whitespace after 'not'")
		}
		p.ws()
		if !p.word("in") {
			return nil, p.errf(p.i, "expected 'in' after 'not'")
		}
		op = "not in"
	default:
		for _, o := range markerOps {
			if strings.HasPrefix(p.s[p.i:], o) {
				op = o
				p.i += len(o)
				break
			}
		}
		if op == "" {
			return nil, p.errf(opAt, "expected a marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
		}
	}
	p.ws()
	rhs, err := p.operand()
	if err != nil {
		return nil, err
	}
	switch {
	case lhs.variable >= 0 && rhs.variable >= 0:
		return nil, p.errf(rhs.pos, "a marker compares a variable with a quoted string, not with another variable")
	case lhs.variable < 0 && rhs.variable < 0:
		return nil, p.errf(lhs.pos, "a marker compares a variable with a quoted string, not two strings")
	case lhs.variable >= 0 && isSetVar(lhs.variable):
		return nil, p.errf(lhs.pos, "%s is a set: use it as '\"name\" in %s'", varNames[lhs.variable], varNames[lhs.variable])
	case rhs.variable >= 0 && isSetVar(rhs.variable) && op != "in" && op != "not in":
		return nil, p.errf(opAt, "%s is a set: only 'in' and 'not in' apply", varNames[rhs.variable])
	}
	c := &comparison{op: op}
	if lhs.variable >= 0 {
		c.variable, c.varLeft, c.value = lhs.variable, true, rhs.value
	} else {
		c.variable, c.value = rhs.variable, lhs.value
	}
	if c.varLeft && isVersionVar(c.variable) && c.op != "in" && c.op != "not in" && c.op != "===" {
		if sp, err := version.ParseSpecifier(c.op + c.value); err == nil {
			c.spec = &sp
		}
	}
	// PEP 685: extra names compare normalised.
	if c.variable == varExtra || isSetVar(c.variable) {
		c.value = name.Normalize(c.value)
	}
	return c, nil
}

// Evaluate evaluates the marker for env, as the dependency specifiers
// specification (as amended in January 2026) and packaging define it:
//
//   - Version fields (python_version, python_full_version,
//     implementation_version) and Version | String fields (platform_release,
//     platform_version) compare as versions when the operator and literal
//     form a valid specifier and the field's value is a valid version
//     ("===" compares the text, ignoring case); otherwise they compare as
//     strings. packaging instead makes the comparison false when the
//     field's value is not a version.
//   - String comparisons: ==, !=, in, not in as Python strings ("in" is
//     substring containment); <= and >= mean ==; < and > are false; ~= and
//     === mean == (the specification lets installers read them so, where
//     packaging raises UndefinedComparison).
//   - extra compares normalised names, never as versions; extras and
//     dependency_groups are sets, tested with in / not in.
func (m *Marker) Evaluate(env Environment) bool {
	return m.root.eval(&env)
}

func (e *expr) eval(env *Environment) bool {
	// any over "or"-separated groups of all over "and"-joined terms
	result, group := false, true
	for i, t := range e.terms {
		var v bool
		if t.group != nil {
			v = t.group.eval(env)
		} else {
			v = t.cmp.eval(env)
		}
		group = group && v
		if i == len(e.terms)-1 || e.ors[i] {
			result = result || group
			group = true
		}
	}
	return result
}

func (c *comparison) eval(env *Environment) bool {
	if isSetVar(c.variable) {
		set := env.Extras
		if c.variable == varDependencyGroups {
			set = env.DependencyGroups
		}
		in := slices.ContainsFunc(set, func(s string) bool { return name.Normalize(s) == c.value })
		return in == (c.op == "in")
	}
	lhs, rhs := env.value(c.variable), c.value
	if !c.varLeft {
		lhs, rhs = rhs, lhs
	}
	if isVersionVar(c.variable) && c.op != "in" && c.op != "not in" {
		if c.op == "===" {
			return strings.EqualFold(lhs, rhs)
		}
		sp := c.spec
		if !c.varLeft {
			if p, err := version.ParseSpecifier(c.op + rhs); err == nil {
				sp = &p
			}
		}
		if sp != nil {
			if v, err := version.Parse(lhs); err == nil {
				return sp.Matches(v)
			}
		}
	}
	switch c.op {
	case "in":
		return strings.Contains(rhs, lhs)
	case "not in":
		return !strings.Contains(rhs, lhs)
	case "!=":
		return lhs != rhs
	case "<", ">":
		return false
	}
	return lhs == rhs // ==, <=, >=, ~=, ===
}

// String returns the marker in packaging's canonical form: single spaces,
// double quotes (single when the value holds '"'), no redundant parentheses.
func (m *Marker) String() string {
	var b strings.Builder
	m.root.write(&b, true)
	return b.String()
}

func (e *expr) write(b *strings.Builder, top bool) {
	if len(e.terms) == 1 && e.terms[0].group != nil {
		e.terms[0].group.write(b, top)
		return
	}
	if !top && len(e.terms) > 1 {
		b.WriteByte('(')
	}
	for i, t := range e.terms {
		if i > 0 {
			if e.ors[i-1] {
				b.WriteString(" or ")
			} else {
				b.WriteString(" and ")
			}
		}
		if t.group != nil {
			t.group.write(b, false)
		} else {
			t.cmp.write(b)
		}
	}
	if !top && len(e.terms) > 1 {
		b.WriteByte(')')
	}
}

func (c *comparison) write(b *strings.Builder) {
	q := byte('"')
	if strings.IndexByte(c.value, '"') >= 0 {
		q = '\''
	}
	lit := string(q) + c.value + string(q)
	if c.varLeft {
		fmt.Fprintf(b, "%s %s %s", varNames[c.variable], c.op, lit)
	} else {
		fmt.Fprintf(b, "%s %s %s", lit, c.op, varNames[c.variable])
	}
}

// MustParseMarker is ParseMarker that panics on error.
func MustParseMarker(s string) *Marker {
	m, err := ParseMarker(s)
	if err != nil {
		panic(err)
	}
	return m
}
