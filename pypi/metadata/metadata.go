// Package metadata reads Python core metadata: a wheel's METADATA, an
// sdist's PKG-INFO and an index's .metadata file (core metadata 1.0 to 2.6,
// in the email-header format that Python's email.parser reads with the
// compat32 policy). It parses the fields a resolver needs (Name, Version,
// Requires-Dist, Requires-Python, Provides-Extra, Dynamic) and keeps every
// field as written. Errors name the source, line, column and field.
package metadata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
)

// Highest is the newest core metadata version this package knows. A file
// with a higher minor version is read with a warning; one with a higher
// major version is refused, as the specification requires.
const Highest = "2.6"

const highestMajor, highestMinor = 2, 6

// Field is one header as written: its name, its value (continuation lines
// joined with "\n", each keeping its leading white space) and the line it
// starts on (1-based).
type Field struct {
	Name  string
	Value string
	Line  int

	col int // 1-based column where Value starts
}

// Metadata is a parsed core metadata file.
type Metadata struct {
	// MetadataVersion is the Metadata-Version field, e.g. "2.1".
	MetadataVersion string
	// Name is the project name as written; NormalizedName its PEP 503 form.
	Name string
	// Version is the parsed Version field.
	Version version.Version
	// RequiresDist are the Requires-Dist fields, in order.
	RequiresDist []*requirement.Requirement
	// RequiresPython is the Requires-Python field; empty (matching every
	// version) when absent.
	RequiresPython version.SpecifierSet
	// ProvidesExtra are the Provides-Extra fields, normalised (PEP 685).
	ProvidesExtra []string
	// Dynamic are the fields named by Dynamic, in canonical case
	// ("Requires-Dist").
	Dynamic []string
	// Summary is the Summary field.
	Summary string
	// Description is the message body, or the Description field when there
	// is no body (with its "       |" continuation prefixes removed).
	Description string
	// Fields holds every header in order, including those above.
	Fields []Field
	// Warnings are problems that did not stop the parse: a newer minor
	// metadata version, an invalid Provides-Extra of old metadata (ignored).
	Warnings []error

	major, minor int
}

// Error is a problem in a metadata file. Line and Column are 1-based;
// Column is 0 when the whole line is meant.
type Error struct {
	Source string // the file, e.g. "pip-23.0.1.dist-info/METADATA"; may be ""
	Line   int
	Column int
	Field  string // the header, e.g. "Requires-Dist"; "" for the format
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Column > 0 {
			b.WriteString(strconv.Itoa(e.Column))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// single are the fields that may appear once; a repeat is an error.
var single = []string{"Metadata-Version", "Name", "Version", "Requires-Python", "Summary", "Description"}

// canonical field names, for Dynamic and lookups.
var known = []string{
	"Metadata-Version", "Name", "Version", "Dynamic", "Platform", "Supported-Platform", "Summary",
	"Description", "Description-Content-Type", "Keywords", "Home-page", "Download-URL", "Author",
	"Author-email", "Maintainer", "Maintainer-email", "License", "License-Expression", "License-File",
	"Classifier", "Requires-Dist", "Requires-Python", "Requires-External", "Project-URL",
	"Provides-Extra", "Import-Name", "Import-Namespace", "Provides-Dist", "Obsoletes-Dist",
	"Requires", "Provides", "Obsoletes",
}

// Canonical returns the specification's spelling of a field name
// ("requires-dist" -> "Requires-Dist"), or s when the field is unknown.
func Canonical(s string) string {
	for _, k := range known {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	return s
}

// Parse parses a core metadata file. source names it in errors ("" for
// none). Metadata-Version, Name and Version are required.
func Parse(data []byte, source string) (*Metadata, error) {
	fields, body, err := split(string(data), source)
	if err != nil {
		return nil, err
	}
	m := &Metadata{Fields: fields}
	p := parser{m: m, source: source}
	if err := p.fields(); err != nil {
		return nil, err
	}
	if body != "" {
		m.Description = body
	}
	return m, nil
}

// split reads the headers (up to the first empty line) and the body.
func split(s, source string) ([]Field, string, error) {
	s = strings.TrimPrefix(s, "\ufeff")
	var fields []Field
	line := 0
	for len(s) > 0 {
		var l string
		l, s, _ = strings.Cut(s, "\n")
		line++
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			return fields, s, nil
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(fields) == 0 {
				return nil, "", &Error{Source: source, Line: line, Msg: "a continuation line (starting with white space) before any header"}
			}
			f := &fields[len(fields)-1]
			f.Value += "\n" + l
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, "", &Error{Source: source, Line: line, Column: 1,
				Msg: fmt.Sprintf("%q is not a \"Field: value\" header (a blank line must separate the headers from the description)", clip(l))}
		}
		tv := strings.TrimLeft(v, " \t")
		fields = append(fields, Field{Name: k, Value: tv, Line: line, col: len(l) - len(tv) + 1})
	}
	return fields, "", nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

type parser struct {
	m      *Metadata
	source string
}

func (p *parser) errf(f *Field, col int, format string, a ...any) *Error {
	return &Error{Source: p.source, Line: f.Line, Column: col, Field: Canonical(f.Name), Msg: fmt.Sprintf(format, a...)}
}

// valueColumn is the 1-based column where f's value starts on its line.
func valueColumn(f *Field) int { return f.col }

// oneLine unfolds a header value: line breaks and the white space after
// them become one space (RFC 822 unfolding), and the ends are trimmed.
func oneLine(v string) string {
	if !strings.Contains(v, "\n") {
		return strings.TrimSpace(v)
	}
	parts := strings.Split(v, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.TrimSpace(strings.Join(parts, " "))
}

func (p *parser) fields() error {
	m := p.m
	seen := make(map[string]*Field)
	var mv, nm, ver *Field
	for i := range m.Fields {
		f := &m.Fields[i]
		c := Canonical(f.Name)
		for _, s := range single {
			if c == s {
				if prev := seen[c]; prev != nil {
					return p.errf(f, 1, "given twice (first on line %d); it may appear once", prev.Line)
				}
				seen[c] = f
			}
		}
		switch c {
		case "Metadata-Version":
			mv = f
		case "Name":
			nm = f
		case "Version":
			ver = f
		}
	}
	if mv == nil {
		return &Error{Source: p.source, Field: "Metadata-Version", Msg: "missing (a required field)"}
	}
	if err := p.metadataVersion(mv); err != nil {
		return err
	}
	if nm == nil {
		return &Error{Source: p.source, Field: "Name", Msg: "missing (a required field)"}
	}
	m.Name = oneLine(nm.Value)
	if err := name.Validate(m.Name); err != nil {
		var ne *name.Error
		if errors.As(err, &ne) {
			return p.errf(nm, valueColumn(nm)+ne.Pos, "invalid project name %q: %s", m.Name, ne.Msg)
		}
		return p.errf(nm, valueColumn(nm), "%v", err)
	}
	if ver == nil {
		return &Error{Source: p.source, Field: "Version", Msg: "missing (a required field)"}
	}
	v, err := version.Parse(oneLine(ver.Value))
	if err != nil {
		col := valueColumn(ver)
		msg := err.Error()
		var pe *version.ParseError
		if errors.As(err, &pe) {
			col += pe.Pos
			msg = fmt.Sprintf("invalid version %q: %s", pe.Input, pe.Msg)
		}
		return p.errf(ver, col, "%s", msg)
	}
	m.Version = v
	for i := range m.Fields {
		f := &m.Fields[i]
		var err error
		switch Canonical(f.Name) {
		case "Requires-Dist":
			err = p.requiresDist(f)
		case "Requires-Python":
			err = p.requiresPython(f)
		case "Provides-Extra":
			err = p.providesExtra(f)
		case "Dynamic":
			err = p.dynamic(f)
		case "Summary":
			m.Summary = oneLine(f.Value)
		case "Description":
			m.Description = unfoldDescription(f.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) metadataVersion(f *Field) error {
	v := oneLine(f.Value)
	maj, min, ok := strings.Cut(v, ".")
	a, errA := strconv.Atoi(maj)
	b, errB := strconv.Atoi(min)
	if !ok || errA != nil || errB != nil || a < 0 || b < 0 || maj == "" || min == "" || strings.ContainsAny(v, "+- ") {
		return p.errf(f, valueColumn(f), "%q is not a metadata version (MAJOR.MINOR, e.g. 2.1)", v)
	}
	if a > highestMajor {
		return p.errf(f, valueColumn(f), "version %s is newer than this reader understands (up to %s); a newer envkit may read it", v, Highest)
	}
	if a == highestMajor && b > highestMinor {
		p.m.Warnings = append(p.m.Warnings, p.errf(f, valueColumn(f), "version %s is newer than %s; reading it as %s", v, Highest, Highest))
	}
	p.m.MetadataVersion, p.m.major, p.m.minor = v, a, b
	return nil
}

func (p *parser) requiresDist(f *Field) error {
	v := oneLine(f.Value)
	r, err := requirement.Parse(v)
	if err != nil {
		var re *requirement.Error
		if errors.As(err, &re) {
			return p.errf(f, valueColumn(f)+re.Pos, "%q: %s", v, re.Msg)
		}
		return p.errf(f, valueColumn(f), "%v", err)
	}
	p.m.RequiresDist = append(p.m.RequiresDist, r)
	return nil
}

func (p *parser) requiresPython(f *Field) error {
	v := oneLine(f.Value)
	s, err := version.ParseSpecifierSet(v)
	if err != nil {
		var se *version.SpecifierError
		if errors.As(err, &se) {
			// se.Input is the failing clause of v.
			return p.errf(f, valueColumn(f)+max(strings.Index(v, se.Input), 0)+se.Pos, "%q: %s", v, se.Msg)
		}
		return p.errf(f, valueColumn(f), "%q: %v", v, err)
	}
	p.m.RequiresPython = s
	return nil
}

// atLeast reports whether the metadata version is at least maj.min.
func (m *Metadata) atLeast(maj, min int) bool {
	return m.major > maj || (m.major == maj && m.minor >= min)
}

func validExtra(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}

func (p *parser) providesExtra(f *Field) error {
	v := oneLine(f.Value)
	if p.m.atLeast(2, 3) {
		// PEP 685: from 2.3 on an extra is written normalised.
		if !validExtra(v) {
			return p.errf(f, valueColumn(f), "invalid extra %q: from metadata 2.3 on an extra is lower-case letters, digits and single '-' between them (%s)", v, name.Normalize(v))
		}
	} else if err := name.Validate(v); err != nil {
		// The specification: warn and ignore, to avoid ambiguity.
		p.m.Warnings = append(p.m.Warnings, p.errf(f, valueColumn(f), "invalid extra %q ignored: %v", v, err))
		return nil
	}
	n := name.Normalize(v)
	for _, e := range p.m.ProvidesExtra {
		if e == n {
			return nil
		}
	}
	p.m.ProvidesExtra = append(p.m.ProvidesExtra, n)
	return nil
}

func (p *parser) dynamic(f *Field) error {
	v := Canonical(oneLine(f.Value))
	switch v {
	case "Name", "Version", "Metadata-Version":
		return p.errf(f, valueColumn(f), "%s may not be dynamic", v)
	case "":
		return p.errf(f, valueColumn(f), "empty; it names another field")
	}
	if !p.m.IsDynamic(v) {
		p.m.Dynamic = append(p.m.Dynamic, v)
	}
	return nil
}

// unfoldDescription removes the "       |" prefixes that the Description
// header uses to keep empty and indented lines.
func unfoldDescription(v string) string {
	lines := strings.Split(v, "\n")
	for i := 1; i < len(lines); i++ {
		l := strings.TrimLeft(lines[i], " \t")
		if strings.HasPrefix(l, "|") {
			lines[i] = l[1:]
		} else {
			lines[i] = l
		}
	}
	return strings.Join(lines, "\n")
}

// Get returns the value of the first field named key (any case), unfolded
// to one line, and whether there is one.
func (m *Metadata) Get(key string) (string, bool) {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, key) {
			return oneLine(f.Value), true
		}
	}
	return "", false
}

// Values returns the values of every field named key (any case), unfolded.
func (m *Metadata) Values(key string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, key) {
			out = append(out, oneLine(f.Value))
		}
	}
	return out
}

// NormalizedName returns the PEP 503 form of Name.
func (m *Metadata) NormalizedName() string { return name.Normalize(m.Name) }

// IsDynamic reports whether Dynamic names field (any case).
func (m *Metadata) IsDynamic(field string) bool {
	for _, d := range m.Dynamic {
		if strings.EqualFold(d, field) {
			return true
		}
	}
	return false
}

// Trusted reports whether field, read from an sdist's PKG-INFO, is what
// every wheel built from that sdist will carry, so that a resolver may use
// it without building: the metadata version is 2.2 or later (PEP 643) and
// field is not Dynamic. A field absent from such a PKG-INFO and not
// Dynamic is trusted too: the wheels will not have it either.
//
// In a wheel's METADATA every field is what it is; Trusted is only for
// sdists.
func (m *Metadata) Trusted(field string) bool {
	return m.atLeast(2, 2) && !m.IsDynamic(field)
}

// DependenciesTrusted reports whether an sdist's PKG-INFO gives its
// dependencies for sure: Requires-Dist, Requires-Python and Provides-Extra
// are all Trusted. Otherwise the sdist must be built (or its wheel's
// metadata read) to know them.
func (m *Metadata) DependenciesTrusted() bool {
	return m.Trusted("Requires-Dist") && m.Trusted("Requires-Python") && m.Trusted("Provides-Extra")
}
