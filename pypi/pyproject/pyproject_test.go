package pyproject

import (
	"errors"
	"strings"
	"testing"

	"github.com/envkit/envkit/pypi/requirement"
)

func TestParseStatic(t *testing.T) {
	p, err := Parse([]byte(`
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "My_Pkg"
version = "1.2.post1"
requires-python = ">=3.9"
dependencies = ["six>=1.16", "tomli; python_version < '3.11'"]

[project.optional-dependencies]
Fast = ["ujson", "orjson; sys_platform == 'linux'"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Static(); err != nil {
		t.Fatal(err)
	}
	m := p.Metadata()
	if m.Name != "My_Pkg" || m.Version.String() != "1.2.post1" || m.RequiresPython.String() != ">=3.9" {
		t.Fatalf("metadata %s %s %s", m.Name, m.Version, m.RequiresPython)
	}
	var got []string
	for _, r := range m.RequiresDist {
		got = append(got, r.String())
	}
	want := []string{`six>=1.16`, `tomli; python_version < "3.11"`, `ujson; extra == "fast"`, `orjson; sys_platform == "linux" and extra == "fast"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("requires-dist\n got %q\nwant %q", got, want)
	}
	if len(m.ProvidesExtra) != 1 || m.ProvidesExtra[0] != "fast" {
		t.Fatalf("extras %q", m.ProvidesExtra)
	}
	env := requirement.Environment{Extra: "fast", SysPlatform: "darwin"}
	if m.RequiresDist[3].Applies(env) || !m.RequiresDist[2].Applies(env) {
		t.Fatal("the extra's marker does not join the dependency's")
	}
}

func TestParseDynamic(t *testing.T) {
	for _, field := range []string{"version", "dependencies", "optional-dependencies"} {
		data := "[project]\nname = \"p\"\ndynamic = [\"" + field + "\"]\n"
		if field != "version" {
			data += "version = \"1\"\n"
		}
		p, err := Parse([]byte(data))
		if err != nil {
			t.Fatal(field, err)
		}
		err = p.Static()
		var de *DynamicError
		if !errors.As(err, &de) || de.Field != field || !strings.Contains(err.Error(), "build a wheel (python -m build --wheel)") {
			t.Fatalf("%s: %v", field, err)
		}
	}
	// A dynamic field the resolution does not need is fine.
	p, err := Parse([]byte("[project]\nname = \"p\"\nversion = \"1\"\ndynamic = [\"readme\", \"scripts\"]\n"))
	if err != nil || p.Static() != nil {
		t.Fatal(err, p.Static())
	}
}

func TestParseErrors(t *testing.T) {
	for data, want := range map[string]string{
		"[build-system]\nrequires = []\n":                                            "no [project] table",
		"[project]\nversion = \"1\"\n":                                               "project.name: missing",
		"[project]\nname = \"-x\"\nversion = \"1\"\n":                                "not a project name",
		"[project]\nname = \"p\"\nversion = \"one\"\n":                               "project.version",
		"[project]\nname = \"p\"\nversion = \"1\"\ndependencies = [\"six >>= 1\"]\n": "project.dependencies[0]",
		"[project]\nname = \"p\"\ndynamic = [\"name\"]\n":                            "name cannot be dynamic",
		"[project]\nname = \"p\"\nversion = \"1\"\ndynamic = [\"version\"]\n":        "given and listed",
		"[project\nname = 1\n":                                                       "line 1",
		"[project]\nname = \"p\"\n":                                                  "",
	} {
		p, err := Parse([]byte(data))
		if want == "" {
			if err != nil || p.Static() == nil || !strings.Contains(p.Static().Error(), "version: missing") {
				t.Fatalf("%q: %v", data, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", data, err, want)
		}
	}
}
