package sbom

import (
	_ "embed"
	"strings"
	"sync"
)

// licenses.txt lists the SPDX License List's license and exception
// identifiers, current and deprecated.
//
//go:embed licenses.txt
var licenseList string

var (
	listOnce   sync.Once
	licenseIDs map[string]string // lowercase -> canonical
	exceptions map[string]string
)

func loadLicenseList() {
	licenseIDs, exceptions = map[string]string{}, map[string]string{}
	m := licenseIDs
	for _, line := range strings.Split(licenseList, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "# exceptions":
			m = exceptions
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			m[strings.ToLower(line)] = line
		}
	}
}

// License normalises a package's declared licence to an SPDX license
// expression: identifiers of the SPDX License List (matched without case,
// written as the list writes them), LicenseRef- and DocumentRef-
// references, "+", WITH an exception of the list, AND, OR and parentheses.
// ok is false when s is not such an expression (conda's "BSD", "GPL",
// "Public Domain", free text).
func License(s string) (expr string, ok bool) {
	listOnce.Do(loadLicenseList)
	toks := tokenize(s)
	if len(toks) == 0 {
		return "", false
	}
	p := &licenseParser{toks: toks}
	if !p.expr() || p.i != len(toks) {
		return "", false
	}
	return p.out.String(), true
}

// tokenize splits s into parentheses and words.
func tokenize(s string) []string {
	var toks []string
	start := -1
	flush := func(i int) {
		if start >= 0 {
			toks = append(toks, s[start:i])
			start = -1
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(' || c == ')':
			flush(i)
			toks = append(toks, s[i:i+1])
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush(i)
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(s))
	return toks
}

// licenseParser checks the SPDX expression grammar (SPDX 2.3 annex D)
// and writes the expression back with canonical identifiers.
type licenseParser struct {
	toks []string
	i    int
	out  strings.Builder
}

// emit writes a token, spaced from the one before except after "(" and
// before ")".
func (p *licenseParser) emit(t string) {
	if s := p.out.String(); s != "" && !strings.HasSuffix(s, "(") && t != ")" {
		p.out.WriteByte(' ')
	}
	p.out.WriteString(t)
}

func (p *licenseParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

// expr = and-expr { OR and-expr }
func (p *licenseParser) expr() bool {
	if !p.and() {
		return false
	}
	for p.peek() == "OR" || p.peek() == "or" {
		p.i++
		p.emit("OR")
		if !p.and() {
			return false
		}
	}
	return true
}

// and-expr = with-expr { AND with-expr }
func (p *licenseParser) and() bool {
	if !p.with() {
		return false
	}
	for p.peek() == "AND" || p.peek() == "and" {
		p.i++
		p.emit("AND")
		if !p.with() {
			return false
		}
	}
	return true
}

// with-expr = atom [ WITH exception ]
func (p *licenseParser) with() bool {
	if !p.atom() {
		return false
	}
	if w := p.peek(); w == "WITH" || w == "with" {
		p.i++
		e, ok := exceptions[strings.ToLower(p.peek())]
		if !ok {
			return false
		}
		p.i++
		p.emit("WITH")
		p.emit(e)
	}
	return true
}

// atom = "(" expr ")" | license-id ["+"] | license-ref
func (p *licenseParser) atom() bool {
	t := p.peek()
	if t == "(" {
		p.i++
		p.emit("(")
		if !p.expr() || p.peek() != ")" {
			return false
		}
		p.i++
		p.emit(")")
		return true
	}
	if t == "" || t == ")" {
		return false
	}
	p.i++
	if ref, ok := licenseRef(t); ok {
		p.emit(ref)
		return true
	}
	id, plus := strings.CutSuffix(t, "+")
	c, ok := licenseIDs[strings.ToLower(id)]
	if !ok {
		return false
	}
	if plus {
		c += "+"
	}
	p.emit(c)
	return true
}

// licenseRef accepts [DocumentRef-X:]LicenseRef-Y with idstrings of
// letters, digits, "." and "-".
func licenseRef(t string) (string, bool) {
	rest := t
	if strings.HasPrefix(rest, "DocumentRef-") {
		doc, lic, ok := strings.Cut(rest, ":")
		if !ok || !idString(strings.TrimPrefix(doc, "DocumentRef-")) {
			return "", false
		}
		rest = lic
	}
	if !strings.HasPrefix(rest, "LicenseRef-") || !idString(strings.TrimPrefix(rest, "LicenseRef-")) {
		return "", false
	}
	return t, true
}

// idString reports whether s is a non-empty run of letters, digits, "."
// and "-" (SPDX's idstring).
func idString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// idPart turns s into an idstring: runs of other characters become "-".
func idPart(s string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' {
			b.WriteByte(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
