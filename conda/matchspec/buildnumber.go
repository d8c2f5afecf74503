package matchspec

import (
	"fmt"
	"strconv"
	"strings"
)

// BuildNumberSpec matches a build number: exact ("3"), a comparison
// (">=3", "<5", "!=2", "==3"), or "*".
type BuildNumberSpec struct {
	op op // opAny, opEq, opNe, opLt, opLe, opGt, opGe
	n  int64
}

// ParseBuildNumberSpec parses a build number specifier.
func ParseBuildNumberSpec(s string) (*BuildNumberSpec, error) {
	t := strings.TrimSpace(s)
	if t == "*" {
		return &BuildNumberSpec{op: opAny}, nil
	}
	o, rest := opEq, t
	for _, r := range relOps {
		if strings.HasPrefix(t, r.tok) {
			o, rest = r.op, t[len(r.tok):]
			break
		}
	}
	switch o {
	case opStartsWith: // conda's "=N" on a build number is equality
		o = opEq
	case opCompatible:
		return nil, fmt.Errorf("invalid build number spec %q: '~=' does not apply to build numbers", s)
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || rest == "" || rest[0] == '+' || rest[0] == '-' {
		return nil, fmt.Errorf("invalid build number spec %q: want a non-negative integer, optionally after ==, !=, <, <=, > or >=", s)
	}
	return &BuildNumberSpec{op: o, n: n}, nil
}

// Match reports whether build number n satisfies the spec.
func (b *BuildNumberSpec) Match(n int64) bool {
	switch b.op {
	case opAny:
		return true
	case opEq:
		return n == b.n
	case opNe:
		return n != b.n
	case opLt:
		return n < b.n
	case opLe:
		return n <= b.n
	case opGt:
		return n > b.n
	case opGe:
		return n >= b.n
	}
	return false
}

// String returns the spec: "3", ">=3", "*".
func (b *BuildNumberSpec) String() string {
	num := strconv.FormatInt(b.n, 10)
	switch b.op {
	case opAny:
		return "*"
	case opNe:
		return "!=" + num
	case opLt:
		return "<" + num
	case opLe:
		return "<=" + num
	case opGt:
		return ">" + num
	case opGe:
		return ">=" + num
	}
	return num
}
