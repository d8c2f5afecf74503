package solver

// STOPGAP until conda/matchspec lands (see spec.go): a deliberately small
// match spec with the contract's names. It reads the forms found in repodata
// depends/constrains and simple requests ("name", "name 1.2*", "name >=1,<2",
// "name 1.2 build*", "name=1.2=build", "name==1.2", "channel::name").

import (
	"fmt"
	"strings"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// MatchSpec selects package records by name, version and build.
type MatchSpec struct {
	Name    string
	Channel string
	Subdir  string
	Version *VersionSpec
	Build   string
	MD5     string
	SHA256  string
	source  string
}

// VersionSpec is a version constraint: an OR of ANDs of comparisons.
type VersionSpec struct {
	any    [][]versionTerm
	source string
}

type versionTerm struct {
	op  string // "==", "!=", ">=", "<=", ">", "<", "=" (starts with)
	ver version.Version
}

// ParseMatchSpec parses a match spec (stopgap for matchspec.Parse).
func ParseMatchSpec(s string) (*MatchSpec, error) { return parseStopgap(s) }

func parseStopgap(s string) (*MatchSpec, error) {
	src := strings.TrimSpace(s)
	m := &MatchSpec{source: src}
	rest := src
	if i := strings.Index(rest, "["); i >= 0 {
		rest = strings.TrimSpace(rest[:i]) // bracket keys are ignored by the stopgap
	}
	if i := strings.LastIndex(rest, "::"); i >= 0 {
		m.Channel, rest = rest[:i], rest[i+2:]
		if j := strings.Index(m.Channel, "/"); j >= 0 && !strings.Contains(m.Channel, ":") {
			m.Channel, m.Subdir = m.Channel[:j], m.Channel[j+1:]
		}
	}
	// name ends at the first space or operator character.
	end := strings.IndexAny(rest, " =<>!~")
	if end < 0 {
		end = len(rest)
	}
	m.Name = strings.ToLower(rest[:end])
	if m.Name == "" {
		return nil, fmt.Errorf("match spec %q: missing package name", s)
	}
	rest = strings.TrimSpace(rest[end:])
	// "name >= 2": glue operators to their versions.
	for _, op := range []string{">=", "<=", "==", "!=", "~=", ">", "<"} {
		rest = strings.ReplaceAll(rest, op+" ", op)
	}
	var ver, build string
	switch {
	case rest == "":
	case strings.HasPrefix(rest, "=") && !strings.Contains(rest, " "):
		// name=1.2=build, name==1.2=build
		exact := strings.HasPrefix(rest, "==")
		parts := strings.SplitN(strings.TrimLeft(rest, "="), "=", 2)
		ver = parts[0]
		if exact {
			ver = "==" + ver
		} else if !strings.HasSuffix(ver, "*") {
			ver += "*"
		}
		if len(parts) == 2 {
			build = parts[1]
		}
	default:
		f := strings.Fields(rest)
		if len(f) > 2 {
			// "name >=1.0, <2 build": rejoin version pieces split by spaces
			f = []string{strings.Join(f[:len(f)-1], ""), f[len(f)-1]}
		}
		ver = f[0]
		if len(f) == 2 {
			build = f[1]
		}
	}
	if ver != "" && ver != "*" {
		vs, err := parseVersionSpec(ver)
		if err != nil {
			return nil, fmt.Errorf("match spec %q: %w", s, err)
		}
		m.Version = vs
	}
	if build != "*" {
		m.Build = build
	}
	return m, nil
}

func parseVersionSpec(s string) (*VersionSpec, error) {
	vs := &VersionSpec{source: s}
	for _, alt := range strings.Split(s, "|") {
		var all []versionTerm
		for _, t := range strings.Split(alt, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				return nil, fmt.Errorf("empty version constraint in %q", s)
			}
			op := ""
			for _, o := range []string{"==", "!=", ">=", "<=", "~=", ">", "<", "="} {
				if strings.HasPrefix(t, o) {
					op, t = o, strings.TrimSpace(t[len(o):])
					break
				}
			}
			star := strings.HasSuffix(t, "*")
			t = strings.TrimSuffix(strings.TrimSuffix(t, "*"), ".")
			switch {
			case t == "" && star:
				continue // "*" matches everything
			case op == "" && star, op == "=":
				op = "="
			case op == "":
				op = "=="
			case op == "~=":
				op = ">="
			}
			v, err := version.Parse(t)
			if err != nil {
				return nil, err
			}
			all = append(all, versionTerm{op: op, ver: v})
		}
		vs.any = append(vs.any, all)
	}
	return vs, nil
}

// Match reports whether version v satisfies the constraint.
func (vs *VersionSpec) Match(v version.Version) bool {
	for _, all := range vs.any {
		ok := true
		for _, t := range all {
			if !t.match(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (t versionTerm) match(v version.Version) bool {
	c := v.Compare(t.ver)
	switch t.op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	}
	return v.StartsWith(t.ver) // "=": starts with, component-wise
}

func (vs *VersionSpec) String() string { return vs.source }

// Match reports whether r satisfies the name, version and build of m.
func (m *MatchSpec) Match(r *record.PackageRecord) bool {
	if m.Name != "*" && m.Name != r.Name {
		return false
	}
	if m.Version != nil && !m.Version.Match(r.Version) {
		return false
	}
	if m.Build != "" && !globMatch(m.Build, r.Build) {
		return false
	}
	return true
}

func (m *MatchSpec) String() string { return m.source }

// globMatch matches s against a pattern whose only wildcard is '*'.
func globMatch(pat, s string) bool {
	if !strings.Contains(pat, "*") {
		return pat == s
	}
	parts := strings.Split(pat, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
