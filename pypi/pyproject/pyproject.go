// Package pyproject reads a project's core metadata from the [project]
// table of its pyproject.toml (PEP 621, the PyPA "Declaring project
// metadata" specification), for the fields a resolution needs: name,
// version, dependencies, optional-dependencies and requires-python. A
// field listed in dynamic is known only by building the project; Static
// refuses a project whose name, version or dependencies are dynamic.
package pyproject

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
	"github.com/pelletier/go-toml/v2"
)

// Project is the [project] table of a pyproject.toml.
type Project struct {
	// Name is the project's name as written.
	Name string
	// Version is the parsed version; zero when dynamic.
	Version version.Version
	// Dependencies are the dependencies, in order.
	Dependencies []*requirement.Requirement
	// OptionalDependencies are the extras' dependencies, by the extra's
	// normalised name (PEP 685); Extras the extras in the file's order.
	OptionalDependencies map[string][]*requirement.Requirement
	Extras               []string
	// RequiresPython is requires-python; empty (any) when absent.
	RequiresPython version.SpecifierSet
	// Dynamic are the fields the build gives, as written ("version").
	Dynamic []string
}

// ErrNoProject is returned for a pyproject.toml without a [project]
// table (a project whose metadata lives in setup.py or setup.cfg).
var ErrNoProject = errors.New("pyproject.toml has no [project] table")

// raw is the TOML shape of the fields read; any other field is ignored.
type raw struct {
	Project *struct {
		Name                 *string             `toml:"name"`
		Version              *string             `toml:"version"`
		Dependencies         []string            `toml:"dependencies"`
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		RequiresPython       *string             `toml:"requires-python"`
		Dynamic              []string            `toml:"dynamic"`
	} `toml:"project"`
}

// Parse reads data, the content of a pyproject.toml. Errors name the
// field; a TOML error its line and column.
func Parse(data []byte) (*Project, error) {
	var r raw
	dec := toml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("line %d, column %d: %s", row, col, de.Error())
		}
		return nil, err
	}
	if r.Project == nil {
		return nil, ErrNoProject
	}
	rp := r.Project
	p := &Project{Dynamic: rp.Dynamic}
	for _, d := range rp.Dynamic {
		if d == "name" {
			return nil, errors.New("project.dynamic: the name cannot be dynamic (PEP 621)")
		}
	}
	if rp.Name == nil || *rp.Name == "" {
		return nil, errors.New("project.name: missing")
	}
	if !name.Valid(*rp.Name) {
		return nil, fmt.Errorf("project.name: %q is not a project name", *rp.Name)
	}
	p.Name = *rp.Name
	if rp.Version != nil {
		if p.IsDynamic("version") {
			return nil, errors.New("project.version: given and listed in project.dynamic")
		}
		v, err := version.Parse(*rp.Version)
		if err != nil {
			return nil, fmt.Errorf("project.version: %w", err)
		}
		p.Version = v
	}
	if rp.RequiresPython != nil {
		s, err := version.ParseSpecifierSet(*rp.RequiresPython)
		if err != nil {
			return nil, fmt.Errorf("project.requires-python: %w", err)
		}
		p.RequiresPython = s
	}
	for i, d := range rp.Dependencies {
		q, err := requirement.Parse(d)
		if err != nil {
			return nil, fmt.Errorf("project.dependencies[%d]: %q: %w", i, d, err)
		}
		p.Dependencies = append(p.Dependencies, q)
	}
	extras := make([]string, 0, len(rp.OptionalDependencies))
	for e := range rp.OptionalDependencies {
		extras = append(extras, e)
	}
	slices.Sort(extras)
	for _, e := range extras {
		if !name.Valid(e) {
			return nil, fmt.Errorf("project.optional-dependencies: %q is not an extra's name", e)
		}
		ne := name.Normalize(e)
		if p.OptionalDependencies == nil {
			p.OptionalDependencies = map[string][]*requirement.Requirement{}
		}
		if _, dup := p.OptionalDependencies[ne]; dup {
			return nil, fmt.Errorf("project.optional-dependencies: %q is given twice", ne)
		}
		p.OptionalDependencies[ne] = []*requirement.Requirement{}
		p.Extras = append(p.Extras, ne)
		for i, d := range rp.OptionalDependencies[e] {
			// The extra's marker joins the dependency's own.
			q, err := requirement.Parse(d)
			if err == nil {
				m := fmt.Sprintf("extra == %q", ne)
				if q.Marker != nil {
					m = "(" + q.Marker.String() + ") and " + m
				}
				c := *q
				c.Marker = nil
				q, err = requirement.Parse(c.String() + " ; " + m)
			}
			if err != nil {
				return nil, fmt.Errorf("project.optional-dependencies.%s[%d]: %q: %w", e, i, d, err)
			}
			p.OptionalDependencies[ne] = append(p.OptionalDependencies[ne], q)
		}
	}
	return p, nil
}

// IsDynamic reports whether field (as PEP 621 spells it) is listed in
// dynamic.
func (p *Project) IsDynamic(field string) bool {
	return slices.Contains(p.Dynamic, field)
}

// DynamicError is a project whose metadata envkit cannot know without
// building it.
type DynamicError struct {
	// Name is the project's name; Field the dynamic field.
	Name, Field string
}

func (e *DynamicError) Error() string {
	return fmt.Sprintf("%s declares its %s dynamically (project.dynamic); envkit cannot know them without building: build a wheel (python -m build --wheel) and name the wheel instead", e.Name, e.Field)
}

// Static checks that the fields a resolution needs are static: version,
// dependencies and optional-dependencies (the name always is), and that
// a version is given.
func (p *Project) Static() error {
	for _, f := range []string{"version", "dependencies", "optional-dependencies", "requires-python"} {
		if p.IsDynamic(f) {
			return &DynamicError{Name: p.Name, Field: f}
		}
	}
	if p.Version.IsZero() {
		return fmt.Errorf("%s: project.version: missing (and not dynamic)", p.Name)
	}
	return nil
}

// Metadata is p as core metadata (Metadata-Version 2.2, nothing
// dynamic): the optional dependencies as Requires-Dist with an extra
// marker. p must be Static.
func (p *Project) Metadata() *metadata.Metadata {
	m := &metadata.Metadata{
		MetadataVersion: "2.2",
		Name:            p.Name,
		Version:         p.Version,
		RequiresPython:  p.RequiresPython,
		ProvidesExtra:   slices.Clone(p.Extras),
	}
	m.RequiresDist = append(m.RequiresDist, p.Dependencies...)
	for _, e := range p.Extras {
		m.RequiresDist = append(m.RequiresDist, p.OptionalDependencies[e]...)
	}
	return m
}

// String names the project: name version.
func (p *Project) String() string {
	return strings.TrimSpace(p.Name + " " + p.Version.String())
}
