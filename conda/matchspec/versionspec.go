package matchspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/envkit/envkit/conda/version"
)

// op is the kind of a VersionSpec node.
type op uint8

const (
	opAny           op = iota // "*"
	opEq                      // "==1.2" or "1.2": equal in conda order
	opNe                      // "!=1.2"
	opLt                      // "<1.2"
	opLe                      // "<=1.2"
	opGt                      // ">1.2"
	opGe                      // ">=1.2"
	opStartsWith              // "1.2.*", "1.2*", "=1.2"
	opNotStartsWith           // "!=1.2.*"
	opCompatible              // "~=1.2.3": >=1.2.3 and 1.2.*
	opRegex                   // "^1\.2.*$" or a glob with an inner '*' ("1.*.3")
	opExactText               // a string with '@': compared as text
	opAnd                     // "a,b"
	opOr                      // "a|b"
)

// VersionSpec is a parsed conda version specifier (CEP 29): clauses joined
// by ',' (and, binds tighter) and '|' (or), with parentheses. Match does not
// allocate (except for regex clauses, which the regexp package serves).
type VersionSpec struct {
	op     op
	v      version.Version // operand of comparison and prefix clauses
	prefix version.Version // opCompatible: the prefix the version must start with
	re     *regexp.Regexp  // opRegex
	kids   []*VersionSpec  // opAnd, opOr
	text   string          // the clause as conda prints it
}

// AnyVersion is the specifier "*", which matches every version.
var AnyVersion = &VersionSpec{op: opAny, text: "*"}

// Match reports whether v satisfies the specifier.
func (s *VersionSpec) Match(v version.Version) bool {
	switch s.op {
	case opAny:
		return true
	case opEq:
		return v.Compare(s.v) == 0
	case opNe:
		return v.Compare(s.v) != 0
	case opLt:
		return v.Compare(s.v) < 0
	case opLe:
		return v.Compare(s.v) <= 0
	case opGt:
		return v.Compare(s.v) > 0
	case opGe:
		return v.Compare(s.v) >= 0
	case opStartsWith:
		return v.StartsWith(s.v)
	case opNotStartsWith:
		return !v.StartsWith(s.v)
	case opCompatible:
		return v.Compare(s.v) >= 0 && v.StartsWith(s.prefix)
	case opRegex:
		return s.re.MatchString(v.String())
	case opExactText:
		return v.String() == s.text
	case opAnd:
		for _, k := range s.kids {
			if !k.Match(v) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range s.kids {
			if k.Match(v) {
				return true
			}
		}
		return false
	}
	return false
}

// String returns the specifier in conda's form: clauses as written (a
// trailing "*" becomes ".*"), joined by ',' and '|' with parentheses only
// where an '|' group sits inside a ',' group.
func (s *VersionSpec) String() string {
	if s == nil {
		return "*"
	}
	return s.text
}

// IsExact reports whether the specifier is a single exact version ("==1.2"
// or "1.2"), as conda's is_exact.
func (s *VersionSpec) IsExact() bool { return s != nil && s.op == opEq }

// IsAny reports whether the specifier is "*".
func (s *VersionSpec) IsAny() bool { return s == nil || s.op == opAny }

// Exact returns the version of an exact specifier ("==1.2").
func (s *VersionSpec) Exact() (version.Version, bool) {
	if s == nil || s.op != opEq {
		return version.Version{}, false
	}
	return s.v, true
}

// VersionSpecError reports an invalid version specifier.
type VersionSpecError struct {
	Spec string // the whole specifier
	Msg  string
}

func (e *VersionSpecError) Error() string {
	return fmt.Sprintf("invalid version spec %s: %s", quoteClipped(e.Spec), clipText(e.Msg, 4*maxQuoted))
}

// ParseVersionSpec parses a version specifier such as ">=1.2,<2|3.*".
func ParseVersionSpec(s string) (*VersionSpec, error) {
	spec := strings.TrimSpace(s)
	fail := func(format string, a ...any) (*VersionSpec, error) {
		return nil, &VersionSpecError{Spec: s, Msg: fmt.Sprintf(format, a...)}
	}
	if spec == "" {
		return fail("empty version spec")
	}
	if !strings.ContainsAny(spec, "()|,^$") {
		return parseClause(s, spec)
	}
	t, err := treeify(spec)
	if err != nil {
		return fail("%v", err)
	}
	return build(s, t)
}

// node is the expression tree of a specifier before its clauses are parsed.
type node struct {
	op   op // opAnd, opOr, or 0 for a clause
	text string
	kids []*node
}

// treeify turns a specifier into an expression tree as conda does: tokens
// are regexes (^...$), '(' ')' '|' ',' and clauses; ',' binds tighter
// than '|'; nested groups of the same operator are flattened.
func treeify(spec string) (*node, error) {
	var out []*node
	var stack []byte
	apply := func(stop string) error {
		for len(stack) > 0 && strings.IndexByte(stop, stack[len(stack)-1]) < 0 {
			if len(out) < 2 {
				return fmt.Errorf("operator %q is missing an operand", stack[len(stack)-1])
			}
			o := opAnd
			if stack[len(stack)-1] == '|' {
				o = opOr
			}
			stack = stack[:len(stack)-1]
			l, r := out[len(out)-2], out[len(out)-1]
			out = out[:len(out)-2]
			// A left operand of the same operator is extended in place (it
			// is referred to only from out): a run of n alternatives is
			// built in O(n), not by copying the ones before each.
			n := l
			if l.op != o {
				n = &node{op: o, kids: []*node{l}}
			}
			if r.op == o {
				n.kids = append(n.kids, r.kids...)
			} else {
				n.kids = append(n.kids, r)
			}
			out = append(out, n)
		}
		return nil
	}
	src := "(" + spec + ")"
	for i := 0; i < len(src); {
		// Skip leading white space of a token.
		j := i
		for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
			j++
		}
		switch {
		case j < len(src) && src[j] == '^':
			end := strings.IndexByte(src[j:], '$')
			if end < 0 {
				return nil, fmt.Errorf("regex %q must end with '$'", src[j:len(src)-1])
			}
			out = append(out, &node{text: src[j : j+end+1]})
			i = j + end + 1
			continue
		case j < len(src) && strings.IndexByte("()|,", src[j]) >= 0:
			switch c := src[j]; c {
			case '|':
				if err := apply("("); err != nil {
					return nil, err
				}
				stack = append(stack, '|')
			case ',':
				if err := apply("|("); err != nil {
					return nil, err
				}
				stack = append(stack, ',')
			case '(':
				stack = append(stack, '(')
			case ')':
				if err := apply("("); err != nil {
					return nil, err
				}
				if len(stack) == 0 || stack[len(stack)-1] != '(' {
					return nil, fmt.Errorf("unbalanced ')'")
				}
				stack = stack[:len(stack)-1]
			}
			i = j + 1
			continue
		}
		end := i
		for end < len(src) && strings.IndexByte("()|,", src[end]) < 0 {
			end++
		}
		out = append(out, &node{text: strings.TrimSpace(src[i:end])})
		i = end
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unbalanced '('")
	}
	if len(out) != 1 {
		return nil, fmt.Errorf("cannot combine %d expressions without an operator", len(out))
	}
	return out[0], nil
}

// build parses the clauses of a tree and joins their text.
func build(whole string, n *node) (*VersionSpec, error) {
	if n.op == 0 {
		if n.text == "" {
			return nil, &VersionSpecError{Spec: whole, Msg: "empty version clause"}
		}
		return parseClause(whole, n.text)
	}
	s := &VersionSpec{op: n.op, kids: make([]*VersionSpec, len(n.kids))}
	parts := make([]string, len(n.kids))
	for i, k := range n.kids {
		c, err := build(whole, k)
		if err != nil {
			return nil, err
		}
		s.kids[i] = c
		parts[i] = c.text
		if n.op == opAnd && c.op == opOr {
			parts[i] = "(" + c.text + ")"
		}
	}
	sep := ","
	if n.op == opOr {
		sep = "|"
	}
	s.text = strings.Join(parts, sep)
	return s, nil
}

// relOps are the relation operators, longest first.
var relOps = []struct {
	tok string
	op  op
}{
	{"==", opEq}, {"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"~=", opCompatible},
	{"<", opLt}, {">", opGt}, {"=", opStartsWith},
}

// parseClause parses one clause: "*", a regex, an operator and a version,
// a version with globs, or a bare version.
func parseClause(whole, c string) (*VersionSpec, error) {
	fail := func(format string, a ...any) (*VersionSpec, error) {
		msg := fmt.Sprintf(format, a...)
		if c != strings.TrimSpace(whole) {
			msg = fmt.Sprintf("clause %q: %s", c, msg)
		}
		return nil, &VersionSpecError{Spec: whole, Msg: msg}
	}
	parseVersion := func(v string) (version.Version, error) {
		ver, err := version.Parse(v)
		if err != nil {
			if pe := (*version.ParseError)(nil); errors.As(err, &pe) {
				return ver, fmt.Errorf("version %q: %s", v, pe.Msg)
			}
		}
		return ver, err
	}
	switch {
	case c[0] == '^' || c[len(c)-1] == '$':
		if c[0] != '^' || c[len(c)-1] != '$' {
			return fail("regex must start with '^' and end with '$'")
		}
		re, err := regexp.Compile(c)
		if err != nil {
			return fail("invalid regex: %v", err)
		}
		return &VersionSpec{op: opRegex, re: re, text: c}, nil

	case strings.ContainsAny(c, "'\"[] \t"):
		i := strings.IndexAny(c, "'\"[] \t")
		return fail("invalid character %q", c[i])

	case strings.IndexByte("=<>!~", c[0]) >= 0:
		var o op
		var rest string
		found := false
		for _, r := range relOps {
			if strings.HasPrefix(c, r.tok) {
				o, rest, found = r.op, c[len(r.tok):], true
				break
			}
		}
		if !found || rest == "" || strings.IndexByte("=<>!~", rest[0]) >= 0 || strings.ContainsAny(rest, " \t") {
			return fail("invalid operator or missing version (want ==, !=, <, <=, >, >=, ~= or = then a version)")
		}
		if strings.HasSuffix(rest, ".*") {
			switch o {
			case opCompatible:
				return fail("'~=' cannot be combined with '.*'")
			case opNe:
				o = opNotStartsWith
			case opEq, opLt, opLe, opGt:
				// conda ignores the deprecated, superfluous ".*" here.
			}
			rest = rest[:len(rest)-2]
		}
		v, err := parseVersion(rest)
		if err != nil {
			return fail("%v", err)
		}
		s := &VersionSpec{op: o, v: v, text: c}
		if o == opCompatible {
			norm := v.Normalized()
			dot := strings.LastIndexByte(norm, '.')
			if dot < 0 {
				return fail("'~=' needs a version with at least two components")
			}
			if s.prefix, err = parseVersion(norm[:dot]); err != nil {
				return fail("%v", err)
			}
		}
		return s, nil

	case c == "*":
		return AnyVersion, nil

	case strings.Contains(strings.TrimRight(c, "*"), "*"):
		// A glob with an inner '*': conda turns it into a regex on the text.
		rx := strings.NewReplacer(".", `\.`, "+", `\+`, "*", ".*").Replace(c)
		re, err := regexp.Compile("^(?:" + rx + ")$")
		if err != nil {
			return fail("invalid glob: %v", err)
		}
		return &VersionSpec{op: opRegex, re: re, text: c}, nil

	case c[len(c)-1] == '*':
		lit := strings.TrimRight(strings.TrimRight(c, "*"), ".")
		v, err := parseVersion(lit)
		if err != nil {
			return fail("%v", err)
		}
		return &VersionSpec{op: opStartsWith, v: v, text: lit + ".*"}, nil

	case strings.IndexByte(c, '@') >= 0:
		return &VersionSpec{op: opExactText, text: c}, nil
	}
	v, err := parseVersion(c)
	if err != nil {
		return fail("%v", err)
	}
	return &VersionSpec{op: opEq, v: v, text: c}, nil
}
