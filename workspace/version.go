package workspace

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

var integerRE = regexp.MustCompile(`^[0-9]+$`)

// NextVersion is the version create gives when none is given: the next
// integer after the highest integer version among existing (archived ones
// included: a version number is never reused), "1" for the first. Versions
// that are not integers ("1.0", "2024-01") are not counted.
func NextVersion(existing []string) string {
	max := new(big.Int)
	for _, v := range existing {
		if !integerRE.MatchString(v) {
			continue
		}
		n, _ := new(big.Int).SetString(v, 10)
		if n.Cmp(max) > 0 {
			max = n
		}
	}
	return max.Add(max, big.NewInt(1)).String()
}

// compareVersions orders two versions of one name: integers numerically
// and before other versions, which compare as text.
func compareVersions(a, b string) int {
	ai, bi := integerRE.MatchString(a), integerRE.MatchString(b)
	switch {
	case ai && bi:
		x, _ := new(big.Int).SetString(a, 10)
		y, _ := new(big.Int).SetString(b, 10)
		if c := x.Cmp(y); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case ai:
		return -1
	case bi:
		return 1
	}
	return strings.Compare(a, b)
}

// sortRecords orders records by name, then creation time, then version:
// the order list prints and the order @latest picks from (the last one).
func sortRecords(rs []Record) {
	slices.SortStableFunc(rs, func(a, b Record) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), a.Created.Compare(b.Created), compareVersions(a.Version, b.Version))
	})
}

// latest returns the newest version that is not archived: the one created
// last, and among versions created at the same instant the highest.
func latest(rs []Record) (Record, bool) {
	var best Record
	found := false
	for _, r := range rs {
		if r.Archived {
			continue
		}
		if !found || cmp.Or(r.Created.Compare(best.Created), compareVersions(r.Version, best.Version)) > 0 {
			best, found = r, true
		}
	}
	return best, found
}

// tagFor is the registry tag of NAME:VERSION in the environments
// repository. Tags allow [A-Za-z0-9_.-] and 128 characters while names and
// versions allow more (and a version may contain ':'), so the tag is a
// readable part (name and version with other characters as '_', cut short)
// and 24 hex digits of sha256(name NUL version), which makes it unique.
func tagFor(name, version string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + version))
	return tagPrefix(name) + slug(version, 32) + "-" + hex.EncodeToString(sum[:12])
}

// tagPrefix starts the tags of every version of name (and maybe of other
// names with the same readable part, which the records tell apart).
func tagPrefix(name string) string { return slug(name, 64) + "." }

func slug(s string, max int) string {
	b := []byte(s)
	if len(b) > max {
		b = b[:max]
	}
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && (b[0] == '.' || b[0] == '-') {
		b[0] = '_'
	}
	return string(b)
}
