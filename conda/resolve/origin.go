package resolve

import (
	"strings"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
)

// Origin is why a solved package is in an environment: the requested spec
// that brought it in, and through which dependencies.
type Origin struct {
	// Spec is the index in Request.Specs of the spec that brought the
	// package in.
	Spec int
	// Path holds the package names from that spec's package to this one:
	// Path[0] is the spec's package, the last the package itself (one name
	// when the package was requested directly).
	Path []string
}

// Origins returns the origin of each record of one solved platform, by
// package name: a breadth-first walk from the specs, in their order, along
// the records' depends, so that every path is a shortest one and, among
// those, the one from the earliest spec. A record no spec reaches (none,
// for a solution of those specs) is absent; a spec that does not parse is
// skipped (Resolve refuses it first).
func Origins(specs []string, recs []*record.RepoDataRecord) map[string]Origin {
	byName := make(map[string]*record.RepoDataRecord, len(recs))
	for _, r := range recs {
		byName[strings.ToLower(r.Name)] = r
	}
	out := make(map[string]Origin, len(recs))
	var queue []string
	for i, s := range specs {
		m, err := parseSpec(s)
		if err != nil {
			continue
		}
		name := strings.ToLower(m.Name)
		if _, ok := out[name]; ok || byName[name] == nil {
			continue
		}
		out[name] = Origin{Spec: i, Path: []string{name}}
		queue = append(queue, name)
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		from := out[name]
		for _, d := range byName[name].Depends {
			dep, _ := matchspec.CutName(d)
			dep = strings.ToLower(dep)
			if _, ok := out[dep]; ok || byName[dep] == nil {
				continue
			}
			out[dep] = Origin{Spec: from.Spec, Path: append(from.Path[:len(from.Path):len(from.Path)], dep)}
			queue = append(queue, dep)
		}
	}
	return out
}
