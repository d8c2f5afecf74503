package envfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/testdata"
)

func TestParse(t *testing.T) {
	ef, err := Parse("environment.yml", []byte(`name: demo
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.10
  - numpy >=1.24
  - pip
  - pip:
    - requests==2.31
    - -e ./local
variables:
  OMP_NUM_THREADS: 1
platforms: [linux-64, linux-aarch64]
category: main
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Values(ef.Channels); strings.Join(got, ",") != "conda-forge,nodefaults" {
		t.Errorf("channels %v", got)
	}
	if got := Values(ef.Dependencies); strings.Join(got, ",") != "python=3.10,numpy >=1.24,pip" {
		t.Errorf("dependencies %v", got)
	}
	if got := Values(ef.Pip); len(got) != 2 || got[1] != "-e ./local" {
		t.Errorf("pip %v", got)
	}
	if ef.Dependencies[1].Line != 7 || ef.Pip[0].Line != 10 {
		t.Errorf("positions %+v %+v", ef.Dependencies[1], ef.Pip[0])
	}
	if len(ef.Variables) != 1 || ef.Variables[0].Value != "1" {
		t.Errorf("variables %v", ef.Variables)
	}
	if ef.Category != "main" || len(ef.Platforms) != 2 {
		t.Errorf("extensions %q %v", ef.Category, ef.Platforms)
	}
}

func TestErrors(t *testing.T) {
	cases := map[string]struct {
		yaml, field string
		line        int
	}{
		"no dependencies":   {"name: x\nchannels: [a]\n", "dependencies", 1},
		"unknown section":   {"dependencies:\n  - conda: [x]\n", "dependencies[0].conda", 2},
		"bad item":          {"dependencies:\n  - [x]\n", "dependencies[0]", 2},
		"pip not a list":    {"dependencies:\n  - pip: requests\n", "dependencies[0].pip", 2},
		"noarch platform":   {"dependencies: [a]\nplatforms: [noarch]\n", "platforms", 2},
		"bad name":          {"name: my env\ndependencies: [a]\n", "name", 1},
		"channels a string": {"channels: conda-forge\ndependencies: [a]\n", "channels", 1},
	}
	for name, c := range cases {
		_, err := Parse("e.yml", []byte(c.yaml))
		var list diag.List
		if !errors.As(err, &list) {
			t.Errorf("%s: want diag.List, got %v", name, err)
			continue
		}
		if list[0].Field != c.field || list[0].Line != c.line {
			t.Errorf("%s: got %v, want field %s line %d", name, err, c.field, c.line)
		}
	}
	ef, err := Parse("e.yml", []byte("dependencies: [a]\nchanels: [x]\n"))
	if err != nil || len(ef.Warnings) != 1 || !strings.Contains(ef.Warnings[0].Hint, "did you mean channels") {
		t.Errorf("unknown key warning: %v %v", err, ef.Warnings)
	}
}

// The conda files of the Azure ML fixtures parse.
func TestFixtures(t *testing.T) {
	for _, p := range []string{
		testdata.Path(t, "azureml", "azureml-examples-cli", "conda-yamls", "pydata.yml"),
		testdata.Path(t, "azureml", "azureml-assets-curated", "sklearn-1.5", "context", "conda_dependencies.yaml"),
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ef, err := Parse(filepath.Base(p), data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(ef.Dependencies) == 0 || len(ef.Pip) == 0 {
			t.Errorf("%s: %d deps, %d pip", p, len(ef.Dependencies), len(ef.Pip))
		}
	}
}
