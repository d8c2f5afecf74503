package matchspec

import (
	"regexp"
	"strings"
)

func isRegex(p string) bool { return len(p) >= 2 && p[0] == '^' && p[len(p)-1] == '$' }

// matchString reports whether s matches pattern p (regex, glob or exact);
// re is p compiled when p is a regex (nil compiles it on the fly).
func matchString(p string, re *regexp.Regexp, s string) bool {
	switch {
	case p == "*":
		return true
	case isRegex(p):
		if re == nil {
			var err error
			if re, err = regexp.Compile(p); err != nil {
				return false
			}
		}
		return re.MatchString(s)
	case strings.IndexByte(p, '*') >= 0:
		return globMatch(p, s)
	}
	return p == s
}

// globMatch matches s against a pattern where '*' stands for any run of
// characters; it does not allocate.
func globMatch(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
