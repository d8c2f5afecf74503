// Package tags implements wheel compatibility tags (PEP 425, the PyPA
// "Platform compatibility tags" specification) and wheel filenames (PEP
// 427): parsing, with compressed tag sets expanded, and the ordered list of
// tags a TARGET interpreter accepts — a CPython version on an OS, an
// architecture and a libc given by the caller, not read from the host —
// in the priority order of pypa/packaging's sys_tags.
package tags

import (
	"fmt"
	"strings"
	"unicode"
)

// Tag is one (interpreter, abi, platform) triple, lower case.
type Tag struct {
	Interpreter string // "cp312", "py3"
	ABI         string // "cp312", "abi3", "none"
	Platform    string // "manylinux_2_17_x86_64", "any"
}

// String returns "interpreter-abi-platform".
func (t Tag) String() string { return t.Interpreter + "-" + t.ABI + "-" + t.Platform }

// Error reports an invalid tag or wheel filename; Pos is the byte offset in
// Input.
type Error struct {
	Input string
	Pos   int
	Msg   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %q: column %d: %s", e.Input, e.Pos+1, e.Msg)
}

// ParseTag parses a tag, expanding a compressed tag set ("py2.py3-none-any"
// is two tags) in the order written. Components are lower-cased.
func ParseTag(s string) ([]Tag, error) {
	tags, err := parseTag(s, s, 0)
	return tags, err
}

func parseTag(input, s string, off int) ([]Tag, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return nil, &Error{Input: input, Pos: off, Msg: fmt.Sprintf("a tag has three '-'-separated parts, not %d", len(parts))}
	}
	var sets [3][]string
	at := off
	for i, p := range parts {
		for _, c := range strings.Split(p, ".") {
			if c == "" {
				return nil, &Error{Input: input, Pos: at, Msg: "empty tag component"}
			}
			if i == 0 && !isIdentifier(c) {
				return nil, &Error{Input: input, Pos: at, Msg: fmt.Sprintf("interpreter tag %q is not an identifier", c)}
			}
			sets[i] = append(sets[i], strings.ToLower(c))
			at += len(c) + 1
		}
	}
	tags := make([]Tag, 0, len(sets[0])*len(sets[1])*len(sets[2]))
	for _, i := range sets[0] {
		for _, a := range sets[1] {
			for _, p := range sets[2] {
				tags = append(tags, Tag{i, a, p})
			}
		}
	}
	return tags, nil
}

// isIdentifier is Python's str.isidentifier for the ASCII and letter cases.
func isIdentifier(s string) bool {
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return s != ""
}
