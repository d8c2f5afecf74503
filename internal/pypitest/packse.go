package pypitest

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/envkit/envkit/pypi/name"
	"github.com/pelletier/go-toml/v2"
)

// DefaultPackseRequiresPython is a packse version's requires_python when
// it gives none, and DefaultPacksePython the environment's python.
const (
	DefaultPackseRequiresPython = ">=3.12"
	DefaultPacksePython         = "3.12"
)

// Scenario is a packse resolver scenario (astral-sh/packse scenarios/*.toml).
type Scenario struct {
	Name        string
	Description string
	// Path is the scenario file; Dir the index directory WriteIndex or
	// Packse wrote ("" before).
	Path, Dir string
	// Requires are the root requirements, as written.
	Requires []string
	// Python is the environment's python ("3.12" by default).
	Python string
	// Resolver options.
	NoBinary, NoBuild    []string
	PythonPlatform       string
	Universal            bool
	RequiredEnvironments []string
	Prereleases          string
	// Expected result: Satisfiable, and the packages (normalised name to
	// version) when the scenario lists them (Packages nil otherwise).
	Satisfiable bool
	Packages    map[string]string
	Explanation string
	// Projects are the scenario's packages as index projects.
	Projects []Project
}

type packseFile struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	Root        struct {
		Requires []string `toml:"requires"`
	} `toml:"root"`
	Environment struct {
		Python string `toml:"python"`
	} `toml:"environment"`
	Expected struct {
		Satisfiable bool              `toml:"satisfiable"`
		Packages    map[string]string `toml:"packages"`
		Explanation string            `toml:"explanation"`
	} `toml:"expected"`
	ResolverOptions struct {
		NoBinary             []string `toml:"no_binary"`
		NoBuild              []string `toml:"no_build"`
		PythonPlatform       string   `toml:"python_platform"`
		Universal            bool     `toml:"universal"`
		RequiredEnvironments []string `toml:"required_environments"`
		Prereleases          string   `toml:"prereleases"`
		Python               string   `toml:"python"`
	} `toml:"resolver_options"`
	Packages map[string]struct {
		Versions map[string]packseVersion `toml:"versions"`
	} `toml:"packages"`
}

type packseVersion struct {
	Requires       []string            `toml:"requires"`
	RequiresPython *string             `toml:"requires_python"`
	Extras         map[string][]string `toml:"extras"`
	WheelTags      []string            `toml:"wheel_tags"`
	Sdist          *bool               `toml:"sdist"`
	Wheel          *bool               `toml:"wheel"`
	Yanked         bool                `toml:"yanked"`
}

// ReadPackse reads a packse scenario: its root requirements, options and
// expectation, and its packages as projects (each version with a
// py3-none-any wheel, or one per wheel_tags entry, unless wheel = false;
// an sdist unless sdist = false; requires_python >=3.12 unless given;
// extras as Provides-Extra and `extra == ` markers; yanked files).
func ReadPackse(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f packseFile
	if err := toml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Scenario{
		Name: f.Name, Description: f.Description, Path: path,
		Requires: f.Root.Requires, Python: DefaultPacksePython,
		NoBinary: f.ResolverOptions.NoBinary, NoBuild: f.ResolverOptions.NoBuild,
		PythonPlatform: f.ResolverOptions.PythonPlatform, Universal: f.ResolverOptions.Universal,
		RequiredEnvironments: f.ResolverOptions.RequiredEnvironments, Prereleases: f.ResolverOptions.Prereleases,
		Satisfiable: f.Expected.Satisfiable, Explanation: f.Expected.Explanation,
	}
	if v := f.Environment.Python; v != "" {
		s.Python = v
	}
	if v := f.ResolverOptions.Python; v != "" {
		s.Python = v
	}
	if f.Expected.Packages != nil {
		s.Packages = map[string]string{}
		for n, v := range f.Expected.Packages {
			s.Packages[name.Normalize(n)] = v
		}
	}
	pnames := make([]string, 0, len(f.Packages))
	for n := range f.Packages {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	for _, pn := range pnames {
		if err := name.Validate(pn); err != nil {
			return nil, fmt.Errorf("%s: packages.%s: %w", path, pn, err)
		}
		p := Project{Name: pn}
		vs := f.Packages[pn].Versions
		vnames := make([]string, 0, len(vs))
		for v := range vs {
			vnames = append(vnames, v)
		}
		sort.Strings(vnames)
		for _, vn := range vnames {
			pv := vs[vn]
			m := Meta{Name: pn, Version: vn, RequiresDist: append([]string(nil), pv.Requires...), RequiresPython: DefaultPackseRequiresPython}
			if pv.RequiresPython != nil {
				m.RequiresPython = *pv.RequiresPython
			}
			m.Extras(pv.Extras)
			if pv.Wheel == nil || *pv.Wheel {
				wtags := pv.WheelTags
				if len(wtags) == 0 {
					wtags = []string{"py3-none-any"}
				}
				for _, tag := range wtags {
					p.Files = append(p.Files, File{Wheel: &Wheel{Meta: m, Tag: tag}, Yanked: pv.Yanked})
				}
			}
			if pv.Sdist == nil || *pv.Sdist {
				p.Files = append(p.Files, File{Sdist: &Sdist{Meta: m}, Yanked: pv.Yanked})
			}
		}
		s.Projects = append(s.Projects, p)
	}
	return s, nil
}

// WriteIndex writes the scenario's index into dir and sets s.Dir.
func (s *Scenario) WriteIndex(dir string) error {
	if err := WriteIndex(dir, s.Projects...); err != nil {
		return fmt.Errorf("%s: %w", s.Path, err)
	}
	s.Dir = dir
	return nil
}

// Packse reads a packse scenario and writes its index into a temporary
// directory of the test (s.Dir); Serve(t, s.Dir) serves it.
func Packse(t testing.TB, path string) *Scenario {
	t.Helper()
	s, err := ReadPackse(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteIndex(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return s
}
