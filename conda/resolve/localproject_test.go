package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/pypi/pyproject"
	"github.com/envkit/envkit/pypi/reqfile"
	pypiversion "github.com/envkit/envkit/pypi/version"
)

// A pip line that names a project directory is resolved from the metadata
// its pyproject.toml gives (its dependencies, extras included, from the
// index, conda first) and locked with its canonical archive's sha256 and a
// file: URL of the directory relative to the environment's directory;
// CheckLock takes the lock only while the directory has that sha256.
func TestResolveLocalProject(t *testing.T) {
	url, _ := servePipIndex(t)
	pp, err := pyproject.Parse([]byte("[project]\nname = \"My_Tool\"\nversion = \"2.1\"\nrequires-python = \">=3.8\"\ndependencies = [\"Werkzeug>=3\"]\n" +
		"[project.optional-dependencies]\nnum = [\"numpy<2\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	conda := fmt.Sprintf("dependencies:\n  - python=3.12\n  - pip:\n    - --index-url %s\n    - ./src/tool[num]\n", url)
	req, ef := pipRequest(t, pipChannel(t), strings.Replace(conda, "./src/tool[num]", "six", 1), new(atomic.Int64))
	req.Pip.File = parseProjects(t, ef, conda, "My_Tool")
	if q := req.Pip.File.Requirements[0]; !q.Project || q.Path != "src/tool" || q.String() != "My_Tool[num]" {
		t.Fatalf("requirement %s %+v", q, q)
	}
	// Without the directory at hand: refused at its line.
	_, err = Resolve(context.Background(), *req)
	var pe *PipError
	if !errors.As(err, &pe) || pe.Pos.Line != 5 || !strings.Contains(err.Error(), "src/tool: a project directory is not supported here") {
		t.Errorf("without LocalProjects: %v", err)
	}
	lp := LocalProject{URL: "file:src/tool", SHA256: strings.Repeat("ab", 32), Metadata: pp.Metadata()}
	req.Pip.LocalProjects = map[string]LocalProject{"src/tool": lp}
	l, err := Resolve(context.Background(), *req)
	if err != nil {
		t.Fatal(err)
	}
	pip := pipLocked(l, "linux-64")
	if p := pip["My_Tool"]; p == nil || p.URL != "file:src/tool" || p.SHA256 != lp.SHA256 || p.Version != "2.1" {
		t.Errorf("the project locked as %+v", p)
	}
	if p := pip["Werkzeug"]; p == nil || p.Version != "3.0.1" || !strings.HasPrefix(p.URL, url) {
		t.Errorf("Werkzeug locked as %+v", p)
	}
	if p := pip["numpy"]; p == nil || p.Version != "1.26.4" {
		t.Errorf("the extra's numpy locked as %+v", p)
	}
	if err := req.CheckLock(l, "linux-64"); err != nil {
		t.Errorf("check: %v", err)
	}
	// The directory changed: the lock is not for it.
	other := lp
	other.SHA256 = strings.Repeat("0", 64)
	req.Pip.LocalProjects["src/tool"] = other
	if err := req.CheckLock(l, "linux-64"); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Errorf("check with another directory: %v", err)
	}
	// A lock edited to name another archive of it.
	req.Pip.LocalProjects["src/tool"] = lp
	pip["My_Tool"].SHA256 = strings.Repeat("0", 64)
	if err := req.CheckLock(l, "linux-64"); err == nil || !strings.Contains(err.Error(), "the locked My_Tool is not this project directory") {
		t.Errorf("check of an edited lock: %v", err)
	}
	// A Requires-Python the environment's python does not meet.
	pp.RequiresPython, _ = parseSpecs(">=3.13")
	req.Pip.LocalProjects["src/tool"] = LocalProject{URL: "file:src/tool", SHA256: lp.SHA256, Metadata: pp.Metadata()}
	if _, err := Resolve(context.Background(), *req); err == nil || !strings.Contains(err.Error(), "3.13") {
		t.Errorf("requires-python: %v", err)
	}
}

// parseProjects reads conda's pip lines with project directories named
// by n.
func parseProjects(t *testing.T, ef *envfile.EnvFile, conda, n string) *reqfile.File {
	t.Helper()
	ef2, err := envfile.Parse(ef.File, []byte(conda))
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]reqfile.Line, len(ef2.Pip))
	for i, it := range ef2.Pip {
		lines[i] = reqfile.Line{Text: it.Value, Line: it.Line, Column: it.Column}
	}
	pf, err := reqfile.ParseLines(ef2.File, lines, reqfile.Options{Field: "dependencies.pip", Project: func(string) (string, error) { return n, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

func parseSpecs(s string) (pypiversion.SpecifierSet, error) { return pypiversion.ParseSpecifierSet(s) }
