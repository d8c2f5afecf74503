// Package version implements conda package versions (CEP 33): parsing and
// ordering exactly as conda's VersionOrder does.
//
// A version is split into an epoch ("N!", default 0), a main part and an
// optional local part ("+..."). Main and local parts are split into segments
// at '.' and '_' ('-' counts as '_' when the string has no '_'), and each
// segment into runs of digits, runs of '*' and runs of other characters.
// Digit runs are numbers; "post" sorts after every number, "dev" before
// every other string; strings sort before numbers; a segment that starts
// with a letter gets a leading 0 so that "1.1a1" and "1.1.0a1" line up
// differently from "1.1.a1" exactly as in conda. Missing segments and
// components compare as 0, so "1.1" == "1.1.0". Comparison is
// case-insensitive.
//
// Parsed versions are compact (a source string plus one pointer) and Compare
// and StartsWith do not allocate.
package version

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version is a parsed conda version. It keeps the text it was parsed from:
// String returns that text, so "1.01" prints as written while comparing equal
// to "1.1". The zero Version (IsZero) sorts before every parsed version.
type Version struct {
	source string
	p      *parsed
}

// parsed is the comparison form of a version. Segments are stored flat: each
// segment is a header atom whose num is the count of component atoms that
// follow it. main holds the epoch segment first, then the main segments.
type parsed struct {
	norm  string // lower-cased, '-' turned into '_': conda's norm_version
	main  []atom
	local []atom
}

// atom is one component: a string when str != "", else a number; postNum
// stands for "post", which sorts after every number (conda uses +inf).
type atom struct {
	num uint64
	str string
}

const (
	postNum = math.MaxUint64
	// MaxNumber is the largest numeric component Parse accepts (conda's
	// integers are unbounded; CEP 33 limits them to 2^31-1).
	MaxNumber = math.MaxUint64 - 1
	devString = "DEV" // conda upper-cases "dev" so it sorts before '_' and letters
)

// ParseError reports an invalid version string.
type ParseError struct {
	Input string // the text given to Parse
	Msg   string // what is wrong
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid version %q: %s", e.Input, e.Msg)
}

// Parse parses a conda version string. Leading and trailing white space is
// ignored. It accepts exactly what conda's VersionOrder accepts, except that
// numeric components above MaxNumber are rejected.
func Parse(s string) (Version, error) {
	src := strings.TrimSpace(s)
	fail := func(format string, a ...any) (Version, error) {
		return Version{}, &ParseError{Input: s, Msg: fmt.Sprintf(format, a...)}
	}
	if src == "" {
		return fail("empty version string")
	}
	norm, err := normalize(src)
	if err != "" {
		return fail("%s", err)
	}

	rest := norm
	epoch := "0"
	if i := strings.IndexByte(norm, '!'); i >= 0 {
		if strings.IndexByte(norm[i+1:], '!') >= 0 {
			return fail("duplicated epoch separator '!'")
		}
		epoch, rest = norm[:i], norm[i+1:]
		if epoch == "" || !allDigits(epoch) {
			return fail("epoch %q must be an integer", epoch)
		}
	}
	main, local, hasLocal := rest, "", false
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		if strings.IndexByte(rest[i+1:], '+') >= 0 {
			return fail("duplicated local version separator '+'")
		}
		main, local, hasLocal = rest[:i], rest[i+1:], true
	}
	if main == "" {
		if hasLocal {
			return fail("missing version before local version separator '+'")
		}
		return fail("missing version after epoch")
	}

	var buf [32]atom // most versions fit: build here, then copy once
	atoms, msg := appendComponent(buf[:0], epoch)
	if msg != "" {
		return fail("%s", msg)
	}
	// A single trailing '_' (openssl-style "1.0.1_") belongs to the last
	// component instead of separating an empty one.
	body := main
	if main[len(main)-1] == '_' {
		body = main[:len(main)-1]
	}
	if atoms, msg = appendSegments(atoms, main, len(body)); msg != "" {
		return fail("%s", msg)
	}
	nMain := len(atoms)
	if hasLocal {
		if atoms, msg = appendSegments(atoms, local, len(local)); msg != "" {
			return fail("%s in local version", msg)
		}
	}
	flat := make([]atom, len(atoms))
	copy(flat, atoms)
	p := &parsed{norm: norm, main: flat[:nMain:nMain]}
	if hasLocal {
		p.local = flat[nMain:]
	}
	return Version{source: src, p: p}, nil
}

// normalize lower-cases s and checks its characters as conda does: only
// [*.+!_0-9a-z]; '-' is accepted and turned into '_' when s has no '_'.
// It returns s itself when nothing changes.
func normalize(s string) (string, string) {
	hasUpper, hasDash, hasUnderscore := false, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '+', c == '!', c == '*':
		case c == '_':
			hasUnderscore = true
		case c >= 'A' && c <= 'Z':
			hasUpper = true
		case c == '-':
			hasDash = true
		default:
			r := []rune(s[i:])[0]
			return "", fmt.Sprintf("invalid character %q at offset %d", r, i)
		}
	}
	if hasDash && hasUnderscore {
		return "", fmt.Sprintf("invalid character '-' at offset %d (a version may use '-' or '_', not both)", strings.IndexByte(s, '-'))
	}
	if !hasUpper && !hasDash {
		return s, ""
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b), ""
}

// appendSegments adds the segments of s, split at '.' and '_' within s[:end]; any
// rest of s after end stays part of the last segment.
func appendSegments(dst []atom, s string, end int) ([]atom, string) {
	start := 0
	var msg string
	for i := 0; i < end; i++ {
		if c := s[i]; c == '.' || c == '_' {
			if dst, msg = appendComponent(dst, s[start:i]); msg != "" {
				return dst, msg
			}
			start = i + 1
		}
	}
	return appendComponent(dst, s[start:])
}

// appendComponent adds one segment: its header atom, a fill 0 when it does not
// start with a digit, then its runs.
func appendComponent(dst []atom, c string) ([]atom, string) {
	if c == "" {
		return dst, "empty version component"
	}
	hdr := len(dst)
	dst = append(dst, atom{})
	if !isDigit(c[0]) {
		dst = append(dst, atom{})
	}
	for i := 0; i < len(c); {
		j := i + 1
		switch {
		case isDigit(c[i]):
			for j < len(c) && isDigit(c[j]) {
				j++
			}
			n, err := strconv.ParseUint(c[i:j], 10, 64)
			if err != nil || n > MaxNumber {
				return dst, fmt.Sprintf("number %s is too large (at most %d)", c[i:j], uint64(MaxNumber))
			}
			dst = append(dst, atom{num: n})
		case c[i] == '*':
			for j < len(c) && c[j] == '*' {
				j++
			}
			dst = append(dst, atom{str: c[i:j]})
		default:
			for j < len(c) && !isDigit(c[j]) && c[j] != '*' {
				j++
			}
			switch run := c[i:j]; run {
			case "post":
				dst = append(dst, atom{num: postNum})
			case "dev":
				dst = append(dst, atom{str: devString})
			default:
				dst = append(dst, atom{str: run})
			}
		}
		i = j
	}
	dst[hdr].num = uint64(len(dst) - hdr - 1)
	return dst, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// MustParse is Parse for literals in code and tests; it panics on error.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Compare returns -1, 0 or +1 as v sorts before, equal to or after o in
// conda order. It does not allocate.
func (v Version) Compare(o Version) int {
	if v.p == o.p {
		return 0
	}
	if v.p == nil {
		return -1
	}
	if o.p == nil {
		return 1
	}
	if c := compareSegs(v.p.main, o.p.main); c != 0 {
		return c
	}
	return compareSegs(v.p.local, o.p.local)
}

// Less reports whether v sorts before o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// Equal reports whether v and o are the same version in conda order
// ("1.1" equals "1.1.0" and "1.1.0+0").
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// nextSeg returns the segment at a[i:] (its components) and the index after it.
func nextSeg(a []atom, i int) ([]atom, int) {
	n := int(a[i].num)
	return a[i+1 : i+1+n], i + 1 + n
}

// compareSegs compares two flat segment lists, a missing segment or
// component counting as 0.
func compareSegs(a, b []atom) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var sa, sb []atom
		if i < len(a) {
			sa, i = nextSeg(a, i)
		}
		if j < len(b) {
			sb, j = nextSeg(b, j)
		}
		if c := compareSeg(sa, sb); c != 0 {
			return c
		}
	}
	return 0
}

// compareSeg compares the components of two segments, padding with 0.
func compareSeg(a, b []atom) int {
	n := max(len(a), len(b))
	for k := 0; k < n; k++ {
		var x, y atom
		if k < len(a) {
			x = a[k]
		}
		if k < len(b) {
			y = b[k]
		}
		if c := compareAtom(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// compareAtom orders components: strings before numbers, strings by bytes
// ("*" < "DEV" < "_..." < letters), numbers numerically with post last.
func compareAtom(x, y atom) int {
	xs, ys := x.str != "", y.str != ""
	switch {
	case xs && ys:
		return strings.Compare(x.str, y.str)
	case xs:
		return -1
	case ys:
		return 1
	}
	return cmp.Compare(x.num, y.num)
}

// StartsWith reports whether v matches prefix the way conda's
// VersionOrder.startswith does, which is what "1.2.*" and "=1.2" test:
// all segments of prefix but the last are equal (padding with 0), and in the
// last segment all components but the last are equal and the last one is
// equal (a number) or a string prefix (a string: "1.2.0rc1" starts with
// "1.2.0r"). When prefix has a local part, v's main part must equal prefix's
// and the test applies to the local parts. It does not allocate.
func (v Version) StartsWith(prefix Version) bool {
	if prefix.p == nil {
		return true
	}
	if v.p == nil {
		return false
	}
	t1, t2 := v.p.main, prefix.p.main
	if len(prefix.p.local) > 0 {
		if compareSegs(v.p.main, prefix.p.main) != 0 {
			return false
		}
		t1, t2 = v.p.local, prefix.p.local
	}
	i, j := 0, 0
	var v1, v2 []atom
	for {
		v1 = nil
		if i < len(t1) {
			v1, i = nextSeg(t1, i)
		}
		v2, j = nextSeg(t2, j)
		if j == len(t2) {
			break // v2 is prefix's last segment
		}
		if compareSeg(v1, v2) != 0 {
			return false
		}
	}
	last := len(v2) - 1
	if compareSeg(v1[:min(last, len(v1))], v2[:last]) != 0 {
		return false
	}
	var c1 atom
	if len(v1) > last {
		c1 = v1[last]
	}
	c2 := v2[last]
	if c2.str != "" {
		return c1.str != "" && strings.HasPrefix(c1.str, c2.str)
	}
	return c1.str == "" && c1.num == c2.num
}

// String returns the source text (trimmed of surrounding white space).
func (v Version) String() string { return v.source }

// Normalized returns conda's normalised text of v: lower case, '-' turned
// into '_'. Equal text means equal versions, but not the reverse ("1.0" and
// "1" are equal versions).
func (v Version) Normalized() string {
	if v.p == nil {
		return ""
	}
	return v.p.norm
}

// IsZero reports whether v is the zero Version (never parsed).
func (v Version) IsZero() bool { return v.p == nil }

// HasLocal reports whether v has a local part ("+...").
func (v Version) HasLocal() bool { return v.p != nil && v.p.local != nil }

// Epoch returns the epoch number (0 when not given).
func (v Version) Epoch() uint64 {
	if v.p == nil {
		return 0
	}
	seg, _ := nextSeg(v.p.main, 0)
	return seg[0].num
}

// Component is one element of a version segment: a number, "post" (sorts
// after every number) or a string.
type Component struct{ a atom }

// IsNumber reports whether c is a number (not post, not a string).
func (c Component) IsNumber() bool { return c.a.str == "" && c.a.num != postNum }

// IsPost reports whether c is the special "post" component.
func (c Component) IsPost() bool { return c.a.str == "" && c.a.num == postNum }

// Number returns the value of a numeric component.
func (c Component) Number() uint64 { return c.a.num }

// Text returns a string component in lower case; "dev" is returned as
// "DEV", as conda stores it to sort it first.
func (c Component) Text() string { return c.a.str }

// String formats c as conda's Python repr does: 12, inf, 'beta'.
func (c Component) String() string {
	switch {
	case c.a.str != "":
		return "'" + c.a.str + "'"
	case c.a.num == postNum:
		return "inf"
	}
	return strconv.FormatUint(c.a.num, 10)
}

// Segments returns the main part as conda's VersionOrder.version: the epoch
// segment first, then one slice per segment.
func (v Version) Segments() [][]Component {
	if v.p == nil {
		return nil
	}
	return segmentsOf(v.p.main)
}

// LocalSegments returns the local part's segments (nil when there is none).
func (v Version) LocalSegments() [][]Component {
	if v.p == nil {
		return nil
	}
	return segmentsOf(v.p.local)
}

func segmentsOf(a []atom) [][]Component {
	var out [][]Component
	for i := 0; i < len(a); {
		var seg []atom
		seg, i = nextSeg(a, i)
		cs := make([]Component, len(seg))
		for k, x := range seg {
			cs[k] = Component{x}
		}
		out = append(out, cs)
	}
	return out
}

// MarshalText returns the source text.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.source), nil }

// UnmarshalText parses text as a version.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// MarshalJSON writes the source text as a JSON string.
func (v Version) MarshalJSON() ([]byte, error) { return json.Marshal(v.source) }

// UnmarshalJSON parses a JSON string; null leaves v unchanged.
func (v *Version) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("version must be a JSON string: %w", err)
	}
	return v.UnmarshalText([]byte(s))
}
