package envfile

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
)

// FuzzParse checks that a conda environment file never panics the parser,
// that every refusal is a diag.List naming the file at a line it has, and
// that what parses keeps its items non-empty, trimmed and positioned. The
// seed corpus runs in every go test.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../examples/conda/conda.yml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"name: e\nchannels:\n  - conda-forge\n  - nodefaults\ndependencies:\n  - python=3.10\n  - numpy >=1.24\n  - pip\n  - pip:\n    - requests==2.31\n    - -r requirements.txt\nvariables:\n  A: 1\nplatforms: [linux-64, osx-arm64]\ncategory: main\n",
		"dependencies: [python]\n", "dependencies:\n", "dependencies: x\n", "channels: [a, a]\ndependencies: [python, python]\n",
		"dependencies:\n  - {pip: [a], conda: [b]}\n", "dependencies: [\"\"]\n", "name: a b\ndependencies: []\n",
		"platforms: [noarch]\ndependencies: []\n", "unknown: 1\ndependencies: []\n", "dependencies: &d [a, *d]\n",
		"dependencies: [a]\ndependencies: [b]\n", "dependencies: !!binary YQ==\n", "[", "", "---\n---\n", "\r\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
		ef, err := Parse("conda.yml", data)
		if err != nil {
			var l diag.List
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("not a diag.List: %T %v", err, err)
			}
			for _, e := range l {
				if e.File != "conda.yml" || e.Line < 0 || e.Line > lines || e.Column < 0 {
					t.Fatalf("bad position %q:%d:%d in %v", e.File, e.Line, e.Column, e)
				}
			}
			return
		}
		for _, items := range [][]Item{ef.Channels, ef.Dependencies, ef.Pip, ef.Platforms} {
			for _, it := range items {
				if it.Value == "" || it.Value != strings.TrimSpace(it.Value) || it.Line < 1 || it.Line > lines {
					t.Fatalf("item %q at line %d of %d", it.Value, it.Line, lines)
				}
			}
		}
	})
}
