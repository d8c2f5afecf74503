// Package name implements Python project and extra names: validity (the
// core metadata "Name" rule, PEP 508's identifier) and PEP 503
// normalisation, which PEP 685 also applies to extras.
package name

import (
	"fmt"
	"strings"
)

// Error reports an invalid name; Pos is the byte offset of the first
// offending character.
type Error struct {
	Name string
	Pos  int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid name %q: column %d: %s", e.Name, e.Pos+1, e.Msg)
}

func isAlnum(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
}

func isPunct(b byte) bool { return b == '-' || b == '_' || b == '.' }

// Validate checks that s is a valid project or extra name: ASCII letters
// and digits, with '-', '_' and '.' allowed between them.
func Validate(s string) error {
	if s == "" {
		return &Error{Name: s, Msg: "empty name"}
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case isAlnum(b):
		case isPunct(b) && i == 0:
			return &Error{Name: s, Pos: i, Msg: "a name must start with a letter or digit"}
		case isPunct(b) && i == len(s)-1:
			return &Error{Name: s, Pos: i, Msg: "a name must end with a letter or digit"}
		case isPunct(b):
		default:
			return &Error{Name: s, Pos: i, Msg: fmt.Sprintf("unexpected %q (letters, digits, '-', '_' and '.' only)", s[i:i+1])}
		}
	}
	return nil
}

// Valid reports whether Validate accepts s.
func Valid(s string) bool { return Validate(s) == nil }

// Normalize returns the PEP 503 form of s: lower case, each run of '-',
// '_' and '.' replaced by one '-' ("Foo.__Bar" -> "foo-bar"). It does not
// validate s. A name that is already normal is returned without allocating.
func Normalize(s string) string {
	if IsNormalized(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	run := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isPunct(c) {
			if !run {
				b.WriteByte('-')
			}
			run = true
			continue
		}
		run = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// IsNormalized reports whether s is a valid name in its normal form:
// lower-case letters and digits in runs joined by single '-'.
func IsNormalized(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'):
		case c == '-' && i > 0 && i < len(s)-1 && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// Equal reports whether a and b name the same project (or extra).
func Equal(a, b string) bool {
	if len(a) == len(b) && strings.EqualFold(a, b) && !strings.ContainsAny(a, "-_.") {
		return true
	}
	return Normalize(a) == Normalize(b)
}
