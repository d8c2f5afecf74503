package tags

import (
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/version"
)

// Wheel is a parsed wheel filename:
// {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl
type Wheel struct {
	Name    string // normalised (PEP 503)
	Version version.Version
	Build   Build
	Tags    []Tag // the compressed tag set, expanded
}

// Build is a wheel's optional build tag: a number, then any text.
type Build struct {
	Set    bool
	Number uint64
	Suffix string
}

// Compare orders build tags as pip does: none first, then by number, then
// by suffix.
func (b Build) Compare(o Build) int {
	switch {
	case !b.Set && !o.Set:
		return 0
	case !b.Set:
		return -1
	case !o.Set:
		return 1
	case b.Number != o.Number:
		if b.Number < o.Number {
			return -1
		}
		return 1
	}
	return strings.Compare(b.Suffix, o.Suffix)
}

// ParseWheelFilename parses a wheel filename (a base name, not a path).
func ParseWheelFilename(fn string) (Wheel, error) {
	fail := func(pos int, msg string) (Wheel, error) {
		return Wheel{}, &Error{Input: fn, Pos: pos, Msg: msg}
	}
	stem, ok := strings.CutSuffix(fn, ".whl")
	if !ok {
		return fail(max(0, len(fn)-1), "a wheel filename ends in .whl")
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 5 && len(parts) != 6 {
		return fail(0, "a wheel filename has 5 or 6 '-'-separated parts (name, version, optional build, python, abi, platform)")
	}
	var w Wheel
	nm := parts[0]
	if nm == "" {
		return fail(0, "empty project name")
	}
	if k := strings.Index(nm, "__"); k >= 0 {
		return fail(k, "'__' in an escaped project name")
	}
	for i, r := range nm {
		if !(r == '_' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return fail(i, "unexpected "+strconv.QuoteRune(r)+" in the project name")
		}
	}
	w.Name = name.Normalize(nm)
	off := len(nm) + 1
	v, err := version.Parse(parts[1])
	if err != nil {
		var pe *version.ParseError
		errors.As(err, &pe)
		return fail(off+pe.Pos, "version: "+pe.Msg)
	}
	w.Version = v
	off += len(parts[1]) + 1
	if len(parts) == 6 {
		b := parts[2]
		k := 0
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if k == 0 {
			return fail(off, "a build tag starts with a digit")
		}
		n, err := strconv.ParseUint(b[:k], 10, 64)
		if err != nil {
			return fail(off, "build number too large")
		}
		w.Build = Build{Set: true, Number: n, Suffix: b[k:]}
		off += len(b) + 1
	}
	tagStr := strings.Join(parts[len(parts)-3:], "-")
	if w.Tags, err = parseTag(fn, tagStr, off); err != nil {
		return Wheel{}, err
	}
	return w, nil
}
