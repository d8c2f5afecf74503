// Package version implements conda package versions (CEP 33): parsing and
// ordering exactly as conda does.
//
// SCAFFOLD: the exported API below is the contract other packages build on;
// the parser and ordering are being implemented.
package version

import (
	"encoding/json"
	"strings"
)

// Version is a parsed conda version. It keeps the text it was parsed from:
// String returns that text, so "1.01" prints as written while comparing equal
// to "1.1".
type Version struct {
	source string
}

// Parse parses a conda version string.
func Parse(s string) (Version, error) {
	return Version{source: strings.TrimSpace(s)}, nil
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
// conda order.
func (v Version) Compare(o Version) int { return strings.Compare(v.source, o.source) }

// Equal reports whether v and o are the same version in conda order.
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// String returns the source text.
func (v Version) String() string { return v.source }

// IsZero reports whether v is the zero Version (never parsed).
func (v Version) IsZero() bool { return v.source == "" }

// MarshalJSON writes the source text.
func (v Version) MarshalJSON() ([]byte, error) { return json.Marshal(v.source) }

// UnmarshalJSON parses a JSON string.
func (v *Version) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := Parse(s)
	if err != nil {
		return err
	}
	*v = p
	return nil
}
