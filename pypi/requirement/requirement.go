// Package requirement implements PEP 508 dependency specifiers ("name
// [extras] specifier ; marker" and "name [extras] @ url ; marker") and
// environment markers, with markers evaluated for a target Environment
// rather than the running interpreter. Errors name the column.
package requirement

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/version"
)

// Requirement is a parsed dependency specifier.
type Requirement struct {
	Name      string // as written
	Extras    []string
	Specifier version.SpecifierSet
	URL       string  // for "name @ url"; then Specifier is empty
	Marker    *Marker // nil when there is none
}

// Error reports an invalid requirement or marker; Pos is the byte offset
// in Input.
type Error struct {
	Input string
	Pos   int
	Msg   string
	what  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s %q: column %d: %s", e.what, e.Input, e.Pos+1, e.Msg)
}

type parser struct {
	s    string
	i    int
	what string
}

func (p *parser) errf(pos int, format string, a ...any) error {
	return &Error{Input: p.s, Pos: pos, Msg: fmt.Sprintf(format, a...), what: p.what}
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) end() bool { return p.i >= len(p.s) }

// ws skips spaces and tabs (PEP 508's wsp; a line break is an error).
func (p *parser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func isWordByte(b byte) bool {
	return b == '_' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// word consumes w when it stands at p.i as a whole word.
func (p *parser) word(w string) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && isWordByte(p.s[j]) {
		return false
	}
	if p.i > 0 && isWordByte(p.s[p.i-1]) {
		return false
	}
	p.i += len(w)
	return true
}

// identifier reads a name: letters, digits, '-', '_', '.', ending in a
// letter, digit or '_' (packaging's IDENTIFIER token); "" when none.
func (p *parser) identifier() string {
	j := p.i
	for j < len(p.s) && (isWordByte(p.s[j]) || p.s[j] == '-' || p.s[j] == '.') {
		j++
	}
	for j > p.i && (p.s[j-1] == '-' || p.s[j-1] == '.') {
		j--
	}
	if j == p.i || p.s[p.i] == '_' || p.s[p.i] == '-' || p.s[p.i] == '.' {
		return ""
	}
	id := p.s[p.i:j]
	p.i = j
	return id
}

// Parse parses a PEP 508 dependency specifier. Surrounding spaces and tabs
// are allowed; a line break is not.
func Parse(s string) (*Requirement, error) {
	p := &parser{s: s, what: "requirement"}
	p.ws()
	r := &Requirement{}
	start := p.i
	if r.Name = p.identifier(); r.Name == "" {
		return nil, p.errf(start, "expected a package name at the start of the dependency specifier")
	}
	if err := name.Validate(r.Name); err != nil {
		var ne *name.Error
		errors.As(err, &ne)
		return nil, p.errf(start+ne.Pos, "%s", ne.Msg)
	}
	p.ws()
	if err := p.extras(r); err != nil {
		return nil, err
	}
	p.ws()
	if p.peek() == '@' {
		p.i++
		p.ws()
		urlAt := p.i
		for p.i < len(p.s) && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
			p.i++
		}
		if r.URL = p.s[urlAt:p.i]; r.URL == "" {
			return nil, p.errf(urlAt, "expected a URL after @")
		}
		if k := strings.IndexAny(r.URL, "\r\n"); k >= 0 {
			return nil, p.errf(urlAt+k, "line break in URL")
		}
		p.ws()
		if p.end() {
			return r, nil
		}
		if p.s[p.i-1] != ' ' && p.s[p.i-1] != '\t' || p.peek() != ';' {
			return nil, p.errf(p.i, "expected a semicolon (after the URL and whitespace) or the end")
		}
	} else {
		specAt := p.i
		if err := p.specifiers(r); err != nil {
			return nil, err
		}
		p.ws()
		if p.end() {
			return r, nil
		}
		if p.peek() != ';' {
			if r.Specifier.Len() > 0 {
				return nil, p.errf(p.i, "expected a comma (within the version specifier), a semicolon (after it) or the end")
			}
			return nil, p.errf(specAt, "expected a version specifier, a semicolon (after the name) or the end")
		}
	}
	p.i++ // ';'
	m, err := p.marker()
	if err != nil {
		return nil, err
	}
	p.ws()
	if !p.end() {
		return nil, p.errf(p.i, "expected 'and', 'or' or the end of the dependency specifier")
	}
	r.Marker = &Marker{root: m}
	return r, nil
}

// MustParse is Parse that panics on error.
func MustParse(s string) *Requirement {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

func (p *parser) extras(r *Requirement) error {
	if p.peek() != '[' {
		return nil
	}
	open := p.i
	p.i++
	p.ws()
	if p.peek() != ']' {
		for {
			at := p.i
			e := p.identifier()
			if e == "" {
				if len(r.Extras) > 0 {
					return p.errf(at, "expected an extra name after the comma")
				}
				return p.errf(at, "expected an extra name or ']'")
			}
			if err := name.Validate(e); err != nil {
				var ne *name.Error
				errors.As(err, &ne)
				return p.errf(at+ne.Pos, "extra %s", ne.Msg)
			}
			if !slices.Contains(r.Extras, e) {
				r.Extras = append(r.Extras, e)
			}
			p.ws()
			if p.peek() != ',' {
				if at := p.i; p.identifier() != "" {
					return p.errf(at, "expected a comma between extra names")
				}
				break
			}
			p.i++
			p.ws()
		}
	}
	if p.peek() != ']' {
		return p.errf(p.i, "expected ']' to close the '[' at column %d", open+1)
	}
	p.i++
	return nil
}

func isVersionByte(b byte) bool {
	return isWordByte(b) || b == '.' || b == '-' || b == '!' || b == '+' || b == '*'
}

// specifiers reads "spec, spec" with or without parentheses.
func (p *parser) specifiers(r *Requirement) error {
	paren := p.peek() == '('
	open := p.i
	if paren {
		p.i++
		p.ws()
	}
	var items []string
	for {
		at := p.i
		op := ""
		for _, o := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
			if strings.HasPrefix(p.s[p.i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			break // packaging allows a trailing comma
		}
		p.i += len(op)
		p.ws()
		if op == "===" {
			for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n;),", rune(p.s[p.i])) {
				p.i++
			}
		} else {
			for p.i < len(p.s) && isVersionByte(p.s[p.i]) {
				p.i++
			}
		}
		item := p.s[at:p.i]
		if _, err := version.ParseSpecifier(item); err != nil {
			var se *version.SpecifierError
			errors.As(err, &se)
			return p.errf(at+se.Pos, "%s", se.Msg)
		}
		items = append(items, item)
		p.ws()
		if p.peek() != ',' {
			break
		}
		p.i++
		p.ws()
	}
	if paren {
		p.ws()
		if p.peek() != ')' {
			return p.errf(p.i, "expected ')' to close the '(' at column %d", open+1)
		}
		p.i++
	}
	set, err := version.ParseSpecifierSet(strings.Join(items, ","))
	if err != nil { // each item parsed above
		return p.errf(open, "%v", err)
	}
	r.Specifier = set
	return nil
}

// NormalizedName returns the PEP 503 form of the name.
func (r *Requirement) NormalizedName() string { return name.Normalize(r.Name) }

// HasExtra reports whether the requirement asks for extra e (compared
// normalised).
func (r *Requirement) HasExtra(e string) bool {
	return slices.ContainsFunc(r.Extras, func(x string) bool { return name.Equal(x, e) })
}

// Applies reports whether the requirement's marker holds for env (true
// without a marker).
func (r *Requirement) Applies(env Environment) bool {
	return r.Marker == nil || r.Marker.Evaluate(env)
}

// String returns the requirement in packaging's form:
// name[extras]specifier, " @ url", "; marker"; extras sorted.
func (r *Requirement) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	if len(r.Extras) > 0 {
		ex := slices.Clone(r.Extras)
		slices.Sort(ex)
		b.WriteString("[" + strings.Join(ex, ",") + "]")
	}
	b.WriteString(r.Specifier.String())
	if r.URL != "" {
		b.WriteString(" @ " + r.URL)
		if r.Marker != nil {
			b.WriteByte(' ')
		}
	}
	if r.Marker != nil {
		b.WriteString("; " + r.Marker.String())
	}
	return b.String()
}

// Equivalent reports whether r and o say the same thing: names and extras
// compared normalised, the same specifiers (versions compared as versions),
// URL and marker.
func (r *Requirement) Equivalent(o *Requirement) bool {
	if !name.Equal(r.Name, o.Name) || r.URL != o.URL || len(r.Extras) != len(o.Extras) {
		return false
	}
	for _, e := range r.Extras {
		if !o.HasExtra(e) {
			return false
		}
	}
	a, b := r.Specifier.Specifiers(), o.Specifier.Specifiers()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Op() != b[i].Op() || a[i].IsWildcard() != b[i].IsWildcard() {
			return false
		}
		if a[i].Op() == version.Arbitrary {
			if a[i].VersionText() != b[i].VersionText() {
				return false
			}
		} else if a[i].Version().Compare(b[i].Version()) != 0 {
			return false
		}
	}
	return (r.Marker == nil) == (o.Marker == nil) && (r.Marker == nil || r.Marker.String() == o.Marker.String())
}
