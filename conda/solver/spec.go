package solver

import "github.com/envkit/envkit/conda/matchspec"

// MatchSpec is the spec type of Problem: conda/matchspec's.
type MatchSpec = matchspec.MatchSpec

// parseSpec parses a repodata depends/constrains entry (strict form).
var parseSpec = matchspec.Parse

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
