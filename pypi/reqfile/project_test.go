package reqfile

import (
	"errors"
	"strings"
	"testing"
)

func TestParseLinesProjectDirectory(t *testing.T) {
	var asked []string
	o := Options{Project: func(p string) (string, error) {
		asked = append(asked, p)
		if p == "env/broken" {
			return "", errors.New("no pyproject.toml or setup.py")
		}
		return "My_Pkg", nil
	}}
	_, err := ParseLines("env/conda.yml", lines("./mypkg", "src/other[fast, Slow] ; python_version >= '3.8'", "./dist/x-1.0.tar.gz"), o)
	if err == nil || !strings.Contains(err.Error(), "env/conda.yml:12:5: ./dist/x-1.0.tar.gz: only a wheel or a project directory is read from a path (not an sdist)") {
		t.Fatalf("an sdist by path: %v", err)
	}
	f, err := ParseLines("env/conda.yml", lines("./mypkg", "src/other[fast, Slow] ; python_version >= '3.8'"), o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(asked, ",") != "env/mypkg,env/src/other,env/mypkg,env/src/other" {
		t.Fatalf("asked %q", asked)
	}
	a, b := f.Requirements[0], f.Requirements[1]
	if !a.Project || a.Path != "env/mypkg" || a.String() != "My_Pkg" || a.URL != "" {
		t.Fatalf("./mypkg: %+v %s", a, a)
	}
	if !b.Project || b.Path != "env/src/other" || b.String() != `My_Pkg[Slow,fast]; python_version >= "3.8"` {
		t.Fatalf("src/other: %s", b)
	}
	_, err = ParseLines("env/conda.yml", lines("six", "./broken"), o)
	if err == nil || !strings.Contains(err.Error(), "env/conda.yml:11:5") || !strings.Contains(err.Error(), "./broken: no pyproject.toml or setup.py") {
		t.Fatalf("a broken project: %v", err)
	}
	// Without Options.Project a directory is refused as before.
	_, err = ParseLines("env/conda.yml", lines("./mypkg"), Options{})
	if err == nil || !strings.Contains(err.Error(), "only a wheel is read from a path") {
		t.Fatalf("without Project: %v", err)
	}
}
