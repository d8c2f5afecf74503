package solver

import (
	"sync"
	"sync/atomic"

	"github.com/envkit/envkit/conda/matchspec"
)

// MatchSpec is the spec type of Problem: conda/matchspec's.
type MatchSpec = matchspec.MatchSpec

// maxCachedSpecs bounds specCache. A conda-forge linux-64 + noarch index
// has on the order of 10^5 distinct depends/constrains strings, so a
// process solving against it keeps them all; one that sees ever new
// strings (a long-running frontend over many channels) starts over when
// the bound is reached instead of growing without limit.
const maxCachedSpecs = 1 << 18

// specCache maps a depends/constrains string to its parse (a parsedSpec),
// for every solve in the process: solves over the same records parse
// nothing. Parsed specs are never modified after parsing (the solver only
// matches with them), so sharing them across solves and goroutines is safe.
var specCache struct {
	m sync.Map     // string -> parsedSpec
	n atomic.Int64 // entries stored since the last reset (approximate)
}

type parsedSpec struct {
	spec *MatchSpec
	err  error
}

// parseSpec parses a repodata depends/constrains entry (strict form),
// through specCache.
func parseSpec(s string) (*MatchSpec, error) {
	if v, ok := specCache.m.Load(s); ok {
		p := v.(parsedSpec)
		return p.spec, p.err
	}
	m, err := matchspec.Parse(s)
	if specCache.n.Add(1) > maxCachedSpecs {
		specCache.m.Clear()
		specCache.n.Store(1)
	}
	specCache.m.Store(s, parsedSpec{m, err})
	return m, err
}

// specText renders a requested spec for people: "numpy >=1.20 py3*" when
// name, version and build say it all, conda's canonical form otherwise.
func specText(m *MatchSpec) string {
	if m.Channel != "" || m.Subdir != "" || m.BuildNumber != nil || m.MD5 != "" || m.SHA256 != "" ||
		m.FileName != "" || m.URL != "" || m.License != "" || m.LicenseFamily != "" ||
		m.TrackFeatures != nil || m.Features != nil {
		return m.String()
	}
	s := m.Name
	v, exact := m.Version.Exact()
	switch {
	case exact && m.Build != "":
		return s + "==" + v.String() + "=" + m.Build
	case exact:
		return s + "==" + v.String()
	case m.Version != nil:
		s += " " + m.Version.String()
	case m.Build != "":
		s += " *"
	}
	if m.Build != "" {
		s += " " + m.Build
	}
	return s
}
