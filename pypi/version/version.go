// Package version implements Python package versions and version specifiers
// (PEP 440, the PyPA "Version specifiers" specification): parsing with
// packaging's normalisations, the canonical string, ordering exactly as
// pypa/packaging's Version, and SpecifierSet matching with packaging's
// pre-release rules.
//
// Legacy (non-PEP 440) versions are an error, as in packaging >= 22; only the
// "===" operator compares arbitrary strings.
//
// Compare does not allocate.
package version

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Pre-release kinds, in their order.
const (
	preNone  = 0
	preAlpha = 1
	preBeta  = 2
	preRC    = 3
)

// Version is a parsed PEP 440 version. The zero Version (IsZero) sorts
// before every parsed version.
type Version struct {
	p *parsed
}

type parsed struct {
	text    string // the input, trimmed of white space
	epoch   uint64
	release []uint64 // as written: "1.0" keeps its 0
	nrel    int      // len(release) without trailing zeros
	preKind uint8
	hasPost bool
	hasDev  bool
	pre     uint64
	post    uint64
	dev     uint64
	local   []localPart // nil: no local version
	relBuf  [4]uint64   // release's storage when it is short (one allocation per version)
}

// localPart is one dot-separated local segment: a number when str == "".
type localPart struct {
	num uint64
	str string
}

// MaxNumber is the largest numeric component Parse accepts (Python's are
// unbounded; a larger one is an error rather than a silent wrap).
const MaxNumber = math.MaxUint64

// ParseError reports an invalid version string; Pos is the byte offset in
// Input where the problem starts.
type ParseError struct {
	Input string
	Pos   int
	Msg   string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid version %q: column %d: %s", e.Input, e.Pos+1, e.Msg)
}

// Parse parses a PEP 440 version. Surrounding white space, a leading 'v',
// letter case, the alternative spellings of pre, post and dev releases
// (alpha, beta, c, pre, preview, rev, r, "-N" for a post release), and '-',
// '_' or '.' separators are accepted and normalised as packaging does.
func Parse(s string) (Version, error) {
	p, err := parse(s)
	if err != nil {
		return Version{}, err
	}
	return Version{p: p}, nil
}

// MustParse is Parse that panics on error, for constants and tests.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// scanner walks a version string case-insensitively.
type scanner struct {
	s string
	i int
}

func (c *scanner) peek() byte {
	if c.i < len(c.s) {
		return lower(c.s[c.i])
	}
	return 0
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isSep(b byte) bool   { return b == '.' || b == '-' || b == '_' }

// hasWord reports whether the text at i starts with w, ignoring case.
func (c *scanner) hasWord(i int, w string) bool {
	if len(c.s)-i < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if lower(c.s[i+k]) != w[k] {
			return false
		}
	}
	return true
}

// number reads a run of digits at c.i; ok is false when there is none.
func (c *scanner) number() (n uint64, ok bool, err string) {
	start := c.i
	for c.i < len(c.s) && isDigit(c.s[c.i]) {
		d := uint64(c.s[c.i] - '0')
		if n > (MaxNumber-d)/10 {
			return 0, true, "number too large"
		}
		n = n*10 + d
		c.i++
	}
	return n, c.i > start, ""
}

// label matches one of words (longest listed first) after an optional
// separator at c.i, returning the index of the word matched and advancing.
func (c *scanner) label(words []string) int {
	i := c.i
	if i < len(c.s) && isSep(c.s[i]) {
		i++
	}
	for k, w := range words {
		if c.hasWord(i, w) {
			c.i = i + len(w)
			return k
		}
	}
	return -1
}

// optNumber reads an optional separator and number after a label. A
// separator with nothing after it stays consumed, as packaging's pattern
// allows ("1.0.post." is "1.0.post0"); every later part's own separator is
// optional, so this never loses a match.
func (c *scanner) optNumber() (uint64, string) {
	if c.i < len(c.s) && isSep(c.s[c.i]) {
		c.i++
	}
	n, _, err := c.number()
	return n, err
}

var (
	preWords  = []string{"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"}
	preKinds  = []uint8{preAlpha, preAlpha, preBeta, preBeta, preRC, preRC, preRC, preRC}
	postWords = []string{"post", "rev", "r"}
	devWords  = []string{"dev"}
)

func parse(input string) (*parsed, error) {
	s := strings.TrimSpace(input)
	off := strings.Index(input, s)
	if s == "" {
		off = 0
	}
	c := &scanner{s: s}
	fail := func(at int, msg string) (*parsed, error) {
		return nil, &ParseError{Input: input, Pos: off + at, Msg: msg}
	}
	if s == "" {
		return fail(0, "empty version")
	}
	p := &parsed{text: s}
	if c.peek() == 'v' {
		c.i++
	}
	var relBuf [8]uint64
	release := relBuf[:0]
	start := c.i
	n, ok, err := c.number()
	if err != "" {
		return fail(start, err)
	}
	if !ok {
		return fail(c.i, "expected a release number")
	}
	if c.peek() == '!' {
		p.epoch = n
		c.i++
		start = c.i
		if n, ok, err = c.number(); err != "" {
			return fail(start, err)
		} else if !ok {
			return fail(c.i, "expected a release number after the epoch")
		}
	}
	release = append(release, n)
	for c.i+1 < len(c.s) && c.s[c.i] == '.' && isDigit(c.s[c.i+1]) {
		c.i++
		start = c.i
		if n, _, err = c.number(); err != "" {
			return fail(start, err)
		}
		release = append(release, n)
	}
	if len(release) <= len(p.relBuf) {
		p.release = p.relBuf[:len(release):len(release)]
		copy(p.release, release)
	} else {
		p.release = append([]uint64(nil), release...)
	}
	p.nrel = len(release)
	for p.nrel > 0 && release[p.nrel-1] == 0 {
		p.nrel--
	}

	// pre release
	if k := c.label(preWords); k >= 0 {
		p.preKind = preKinds[k]
		at := c.i
		if p.pre, err = c.optNumber(); err != "" {
			return fail(at, err)
		}
	}
	// post release: "-N" or [sep] post|rev|r [sep] [N]
	if c.i+1 < len(c.s) && c.s[c.i] == '-' && isDigit(c.s[c.i+1]) {
		c.i++
		at := c.i
		if p.post, _, err = c.number(); err != "" {
			return fail(at, err)
		}
		p.hasPost = true
	} else if c.label(postWords) >= 0 {
		p.hasPost = true
		at := c.i
		if p.post, err = c.optNumber(); err != "" {
			return fail(at, err)
		}
	}
	// dev release
	if c.label(devWords) >= 0 {
		p.hasDev = true
		at := c.i
		if p.dev, err = c.optNumber(); err != "" {
			return fail(at, err)
		}
	}
	// local version
	if c.i < len(c.s) && c.s[c.i] == '+' {
		c.i++
		var buf [4]localPart
		parts := buf[:0]
		for {
			st := c.i
			allDigits := true
			for c.i < len(c.s) && isAlnum(c.s[c.i]) {
				if !isDigit(c.s[c.i]) {
					allDigits = false
				}
				c.i++
			}
			if c.i == st {
				return fail(c.i, "expected a letter or digit in the local version")
			}
			seg := c.s[st:c.i]
			if allDigits {
				sc := scanner{s: seg}
				v, _, err := sc.number()
				if err != "" {
					return fail(st, err)
				}
				parts = append(parts, localPart{num: v})
			} else {
				parts = append(parts, localPart{str: strings.ToLower(seg)})
			}
			if c.i < len(c.s) && isSep(c.s[c.i]) {
				c.i++
				continue
			}
			break
		}
		p.local = append([]localPart(nil), parts...)
	}
	if c.i != len(c.s) {
		return fail(c.i, fmt.Sprintf("unexpected %q", c.s[c.i:]))
	}
	return p, nil
}

func isAlnum(b byte) bool {
	return isDigit(b) || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

// String returns the canonical (normalised) form, e.g. "1.0a1.post2.dev3+ubuntu.1".
func (v Version) String() string {
	if v.p == nil {
		return ""
	}
	b := make([]byte, 0, 24)
	return string(v.appendPublic(b, true))
}

// Text returns the version as it was written (trimmed of white space); the
// "===" operator compares this text.
func (v Version) Text() string {
	if v.p == nil {
		return ""
	}
	return v.p.text
}

func (v Version) appendPublic(b []byte, withLocal bool) []byte {
	p := v.p
	if p.epoch != 0 {
		b = strconv.AppendUint(b, p.epoch, 10)
		b = append(b, '!')
	}
	for i, r := range p.release {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, r, 10)
	}
	switch p.preKind {
	case preAlpha:
		b = append(b, 'a')
	case preBeta:
		b = append(b, 'b')
	case preRC:
		b = append(b, "rc"...)
	}
	if p.preKind != preNone {
		b = strconv.AppendUint(b, p.pre, 10)
	}
	if p.hasPost {
		b = append(b, ".post"...)
		b = strconv.AppendUint(b, p.post, 10)
	}
	if p.hasDev {
		b = append(b, ".dev"...)
		b = strconv.AppendUint(b, p.dev, 10)
	}
	if withLocal && p.local != nil {
		b = append(b, '+')
		b = append(b, v.Local()...)
	}
	return b
}

// Public returns the canonical form without the local version.
func (v Version) Public() string {
	if v.p == nil {
		return ""
	}
	return string(v.appendPublic(nil, false))
}

// BaseVersion returns the epoch and release only ("1!1.0" for "1!1.0rc1+x").
func (v Version) BaseVersion() string {
	if v.p == nil {
		return ""
	}
	return Version{p: &parsed{epoch: v.p.epoch, release: v.p.release}}.String()
}

// Local returns the normalised local version ("" when there is none).
func (v Version) Local() string {
	if v.p == nil || v.p.local == nil {
		return ""
	}
	var b []byte
	for i, l := range v.p.local {
		if i > 0 {
			b = append(b, '.')
		}
		if l.str != "" {
			b = append(b, l.str...)
		} else {
			b = strconv.AppendUint(b, l.num, 10)
		}
	}
	return string(b)
}

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v.p == nil }

// Epoch returns the epoch (0 when not written).
func (v Version) Epoch() uint64 {
	if v.p == nil {
		return 0
	}
	return v.p.epoch
}

// Release returns the release numbers as written ("1.0" gives [1 0]). The
// slice is shared: do not modify it.
func (v Version) Release() []uint64 {
	if v.p == nil {
		return nil
	}
	return v.p.release
}

// Pre returns the pre-release label ("a", "b" or "rc") and number; ok is
// false when v is not an a/b/rc pre-release.
func (v Version) Pre() (label string, n uint64, ok bool) {
	if v.p == nil || v.p.preKind == preNone {
		return "", 0, false
	}
	return [...]string{"", "a", "b", "rc"}[v.p.preKind], v.p.pre, true
}

// Post returns the post-release number; ok is false without one.
func (v Version) Post() (uint64, bool) {
	if v.p == nil {
		return 0, false
	}
	return v.p.post, v.p.hasPost
}

// Dev returns the dev-release number; ok is false without one.
func (v Version) Dev() (uint64, bool) {
	if v.p == nil {
		return 0, false
	}
	return v.p.dev, v.p.hasDev
}

// HasLocal reports whether v has a local version label.
func (v Version) HasLocal() bool { return v.p != nil && v.p.local != nil }

// IsPrerelease reports whether v is a pre-release or a dev release.
func (v Version) IsPrerelease() bool {
	return v.p != nil && (v.p.preKind != preNone || v.p.hasDev)
}

// IsDevrelease reports whether v has a dev part.
func (v Version) IsDevrelease() bool { return v.p != nil && v.p.hasDev }

// IsPostrelease reports whether v has a post part.
func (v Version) IsPostrelease() bool { return v.p != nil && v.p.hasPost }

// Compare orders versions as packaging does: epoch, release (trailing zeros
// ignored), then dev-only < a < b < rc < final, no post < post, dev < no dev,
// and no local < local (local segments: strings before numbers, then by
// value, then shorter first). It returns -1, 0 or +1.
func (v Version) Compare(o Version) int {
	if c := comparePublic(v.p, o.p); c != 0 {
		return c
	}
	if v.p == nil {
		return 0
	}
	return compareLocal(v.p.local, o.p.local)
}

// Less reports whether v sorts before o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// Equal reports whether v and o compare equal ("1.0" equals "1.0.0").
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// compareRelease compares epoch and trimmed release.
func compareRelease(a, b *parsed) int {
	if c := cmpU(a.epoch, b.epoch); c != 0 {
		return c
	}
	n := min(a.nrel, b.nrel)
	for i := 0; i < n; i++ {
		if c := cmpU(a.release[i], b.release[i]); c != 0 {
			return c
		}
	}
	return cmpU(uint64(a.nrel), uint64(b.nrel)) // a longer trimmed release has a non-zero tail
}

// preRank is packaging's pre_rank: dev-only -1, a 0, b 1, rc 2, final 3
// (shifted by one to stay unsigned).
func preRank(p *parsed) uint64 {
	if p.preKind == preNone {
		if !p.hasPost && p.hasDev {
			return 0
		}
		return 4
	}
	return uint64(p.preKind)
}

func comparePublic(a, b *parsed) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if c := compareRelease(a, b); c != 0 {
		return c
	}
	return compareSuffix(a, b)
}

// compareSuffix compares the pre, post and dev parts.
func compareSuffix(a, b *parsed) int {
	if c := cmpU(preRank(a), preRank(b)); c != 0 {
		return c
	}
	if c := cmpU(a.pre, b.pre); c != 0 {
		return c
	}
	if c := cmpBool(a.hasPost, b.hasPost); c != 0 {
		return c
	}
	if c := cmpU(a.post, b.post); c != 0 {
		return c
	}
	if c := cmpBool(!a.hasDev, !b.hasDev); c != 0 {
		return c
	}
	return cmpU(a.dev, b.dev)
}

func compareLocal(a, b []localPart) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x.str != "" && y.str != "":
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		case x.str != "":
			return -1
		case y.str != "":
			return 1
		default:
			if c := cmpU(x.num, y.num); c != 0 {
				return c
			}
		}
	}
	return cmpU(uint64(len(a)), uint64(len(b)))
}

// MarshalText returns the canonical form.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses a version.
func (v *Version) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// MarshalJSON returns the canonical form as a JSON string.
func (v Version) MarshalJSON() ([]byte, error) { return json.Marshal(v.String()) }

// UnmarshalJSON parses a JSON string.
func (v *Version) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return v.UnmarshalText([]byte(s))
}
