package reqfile

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/pypi/index"
)

// files is an Open over a map, recording what was opened.
type files struct {
	m      map[string]string
	opened []string
}

func (f *files) open(p string) ([]byte, error) {
	f.opened = append(f.opened, p)
	s, ok := f.m[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func lines(texts ...string) []Line {
	out := make([]Line, len(texts))
	for i, t := range texts {
		out[i] = Line{Text: t, Line: 10 + i, Column: 5}
	}
	return out
}

func reqTexts(rs []Requirement) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func TestParseLinesOptionsAndRequirements(t *testing.T) {
	f, err := ParseLines("env/conda.yml", lines(
		"numpy==1.26.4",
		"inference-schema[numpy-support]>=1.5",
		"--extra-index-url=https://user:tok@extra.example/simple",
		"--extra-index-url https://second.example/simple",
		"-i https://main.example/simple",
		"--pre",
		"--only-binary=:all:",
		"--no-binary pyyaml,Ruamel.Yaml",
		`requests ; python_version >= "3.8"`,
		"torch @ https://download.example/torch-2.3.0-cp312-cp312-linux_x86_64.whl",
		"https://files.example/pkgs/Foo_Bar-1.0-py3-none-any.whl",
		"./wheels/baz-2.0-py3-none-any.whl",
		"six==1.16.0 --hash=sha256:8ABB2F1D86890A2DFB989F9A77CFCFD3E47C2A354B01111771326F8AA26E0254 --hash sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926",
	), Options{Field: "dependencies.pip"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"numpy==1.26.4",
		"inference-schema[numpy-support]>=1.5",
		`requests; python_version >= "3.8"`,
		"torch @ https://download.example/torch-2.3.0-cp312-cp312-linux_x86_64.whl",
		"foo-bar @ https://files.example/pkgs/Foo_Bar-1.0-py3-none-any.whl",
		"baz",
		"six==1.16.0",
	}
	if got := reqTexts(f.Requirements); !slices.Equal(got, want) {
		t.Errorf("requirements:\n got %q\nwant %q", got, want)
	}
	if got := f.Indexes(); !slices.Equal(got, []string{"https://main.example/simple", "https://user:tok@extra.example/simple", "https://second.example/simple"}) {
		t.Errorf("indexes %q", got)
	}
	if f.IndexURL.Pos != (Pos{"env/conda.yml", 14, 5}) {
		t.Errorf("index-url at %+v", f.IndexURL.Pos)
	}
	if !f.Pre {
		t.Error("--pre not read")
	}
	// :all: in --only-binary, then names in --no-binary move out of it
	// only as names: pip keeps :all: in only-binary and adds the names to
	// no-binary.
	if !f.OnlyBinary.All || !f.NoBinary.Has("ruamel-yaml") || !f.NoBinary.Has("PyYAML") || f.NoBinary.All {
		t.Errorf("format control: only %+v no %+v", f.OnlyBinary, f.NoBinary)
	}
	if r := f.Requirements[5]; r.Path != "env/wheels/baz-2.0-py3-none-any.whl" || r.URL != "" {
		t.Errorf("path wheel: %+v", r)
	}
	six := f.Requirements[6]
	if !slices.Equal(six.Hashes, []string{"sha256:8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254", "sha256:1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926"}) {
		t.Errorf("hashes %q", six.Hashes)
	}
	if six.Pos != (Pos{"env/conda.yml", 22, 5}) || six.Text != "six==1.16.0" || six.Pos.String() != "env/conda.yml:22" {
		t.Errorf("six at %+v text %q", six.Pos, six.Text)
	}
}

func TestFormatControlAsPip(t *testing.T) {
	for _, c := range []struct {
		lines    []string
		only, no string // "all", or sorted names
	}{
		{[]string{"--no-binary=a,b", "--only-binary=b"}, "b", "a"},
		{[]string{"--no-binary=a", "--only-binary=:all:"}, "all", ""},
		{[]string{"--only-binary=:all:", "--only-binary=:none:"}, "", ""},
		{[]string{"--only-binary=:all:,:none:,x"}, "x", ""},
		{[]string{"--no-binary=:all:", "--only-binary=Foo.Bar"}, "foo-bar", "all"},
	} {
		f, err := ParseLines("c.yml", lines(c.lines...), Options{})
		if err != nil {
			t.Fatal(err)
		}
		show := func(s Selector) string {
			if s.All {
				return "all"
			}
			names := make([]string, 0, len(s.Names))
			for n := range s.Names {
				names = append(names, n)
			}
			slices.Sort(names)
			return strings.Join(names, ",")
		}
		if show(f.OnlyBinary) != c.only || show(f.NoBinary) != c.no {
			t.Errorf("%q: only %q no %q, want %q %q", c.lines, show(f.OnlyBinary), show(f.NoBinary), c.only, c.no)
		}
	}
}

func TestIncludes(t *testing.T) {
	fsys := &files{m: map[string]string{
		"env/requirements.txt": "# base\nflask>=2 \\\n  ; python_version >= '3.8'  # web\n\n-r sub/more.txt\n-c constraints.txt\n",
		"env/sub/more.txt":     "click\n--extra-index-url https://x.example/simple\n",
		"env/constraints.txt":  "click<9\n-r sub/c2.txt\n",
		"env/sub/c2.txt":       "markupsafe==2.1.5\n",
	}}
	f, err := ParseLines("env/conda.yml", lines("pandas", "-r requirements.txt", "--requirement=sub/more.txt"), Options{Open: fsys.open})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reqTexts(f.Requirements), []string{"pandas", `flask>=2; python_version >= "3.8"`, "click", "click"}; !slices.Equal(got, want) {
		t.Errorf("requirements %q, want %q", got, want)
	}
	if got, want := reqTexts(f.Constraints), []string{"click<9", "markupsafe==2.1.5"}; !slices.Equal(got, want) {
		t.Errorf("constraints %q, want %q", got, want)
	}
	if p := f.Requirements[1].Pos; p != (Pos{"env/requirements.txt", 2, 1}) {
		t.Errorf("flask at %+v", p)
	}
	if p := f.Constraints[1].Pos; p != (Pos{"env/sub/c2.txt", 1, 1}) {
		t.Errorf("markupsafe at %+v", p)
	}
	if !slices.Equal(f.Files, []string{"env/requirements.txt", "env/sub/more.txt", "env/constraints.txt", "env/sub/c2.txt", "env/sub/more.txt"}) {
		t.Errorf("files %q", f.Files)
	}
	if len(f.ExtraIndexURLs) != 2 || f.ExtraIndexURLs[0].Pos != (Pos{"env/sub/more.txt", 2, 1}) {
		t.Errorf("extra indexes %+v", f.ExtraIndexURLs)
	}
}

// errAt parses and returns the only error, which must be at line:column.
func errAt(t *testing.T, f func() (*File, error), line, col int, contains string) *diag.Error {
	t.Helper()
	_, err := f()
	var l diag.List
	if !errors.As(err, &l) || len(l) != 1 {
		t.Fatalf("want one positioned error containing %q, got %v", contains, err)
	}
	e := l[0]
	if e.Line != line || e.Column != col || !strings.Contains(e.Msg, contains) {
		t.Errorf("got %v (line %d column %d), want %d:%d containing %q", e, e.Line, e.Column, line, col, contains)
	}
	return e
}

func TestRefusals(t *testing.T) {
	one := func(s string) func() (*File, error) {
		return func() (*File, error) {
			return ParseLines("conda.yml", []Line{{Text: s, Line: 7, Column: 9}}, Options{Field: "dependencies.pip"})
		}
	}
	errAt(t, one("-e ./src"), 7, 9, "editable")
	errAt(t, one("--editable=git+https://github.com/x/y"), 7, 9, "editable")
	errAt(t, one("git+https://github.com/x/y@main#egg=y"), 7, 9, "VCS")
	errAt(t, one("y @ git+https://github.com/x/y@main"), 7, 13, "VCS")
	errAt(t, one("-f https://example/wheels"), 7, 9, "--find-links")
	errAt(t, one("--find-links=./wheels"), 7, 9, "--find-links")
	errAt(t, one("--no-index"), 7, 9, "--no-index")
	e := errAt(t, one("--extra-index-ur https://x"), 7, 9, "unknown option --extra-index-ur")
	if e.Hint != "did you mean --extra-index-url?" || e.Field != "dependencies.pip" {
		t.Errorf("hint %q field %q", e.Hint, e.Field)
	}
	errAt(t, one("numpy>=1.2,<"), 7, 9+12, "")
	errAt(t, one("numpy --index-url https://x"), 7, 15, "not an option of a requirement line")
	errAt(t, one("numpy --hash=md5:abc"), 7, 15, "sha256")
	errAt(t, one("numpy --hash=sha256:abc"), 7, 15, "64 hex digits")
	errAt(t, one("--hash=sha256:abc"), 7, 9, "on the line of the requirement")
	errAt(t, one("numpy --config-settings=x=y"), 7, 15, "build options")
	errAt(t, one("--index-url"), 7, 9, "needs a value")
	errAt(t, one("--pre=yes"), 7, 9, "takes no value")
	errAt(t, one("./src/project"), 7, 9, "only a wheel")
	errAt(t, one("https://x.example/foo-1.0.tar.gz"), 7, 9, "read only for a wheel")
	errAt(t, one("--extra-index-url ${TOKEN_URL}"), 7, 27, "environment variable ${TOKEN_URL}")
	errAt(t, one("-r reqs.txt"), 7, 12, "not supported here")
	// Azure ML's curated environments are templates (azureml-assets):
	// the placeholder is named, at its column, with what to write.
	e = errAt(t, one("azureml-core=={{latest-pypi-version}}"), 7, 23, "{{latest-pypi-version}} is an Azure ML asset template placeholder")
	if e.Hint != "write a version instead, e.g. azureml-core==1.2.3, or leave the version out: azureml-core" {
		t.Errorf("hint %q", e.Hint)
	}
	e = errAt(t, one("scikit-learn-intelex >= {{ latest-pypi-version }}  # newest"), 7, 33, "substitutes it when it builds the asset")
	if !strings.HasSuffix(e.Hint, "out: scikit-learn-intelex") {
		t.Errorf("hint %q", e.Hint)
	}
	e = errAt(t, one("{{asset.name}}"), 7, 9, "{{asset.name}} is an Azure ML asset template placeholder")
	if e.Hint != "substitute it before building" {
		t.Errorf("hint %q", e.Hint)
	}
	e = errAt(t, one("-i ftp://user:secret@host/simple"), 7, 12, "scheme ftp")
	if strings.Contains(e.Error(), "secret") {
		t.Errorf("credentials printed: %v", e)
	}
}

func TestWarnings(t *testing.T) {
	f, err := ParseLines("conda.yml", lines("--trusted-host example.com", "--prefer-binary", "--require-hashes", "numpy"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 3 || f.Warnings[0].Line != 10 || !strings.Contains(f.Warnings[1].Msg, "--prefer-binary is ignored") {
		t.Errorf("warnings %v", f.Warnings)
	}
}

func TestIncludeBounds(t *testing.T) {
	fsys := &files{m: map[string]string{
		"a.txt":     "-r b/b.txt\n",
		"b/b.txt":   "numpy\n-r ../a.txt\n",
		"deep.txt":  "-r deep2.txt\n",
		"deep2.txt": "-r deep.txt\n",
	}}
	_, err := ParseLines("conda.yml", lines("-r a.txt"), Options{Open: fsys.open})
	if err == nil || !strings.Contains(err.Error(), "a.txt includes itself (conda.yml -> a.txt -> b/b.txt -> a.txt)") {
		t.Errorf("cycle: %v", err)
	}
	// Depth: a chain of distinct files.
	chain := &files{m: map[string]string{}}
	for i := range 20 {
		chain.m[fmt.Sprintf("r%d.txt", i)] = fmt.Sprintf("-r r%d.txt\n", i+1)
	}
	_, err = ParseLines("conda.yml", lines("-r r0.txt"), Options{Open: chain.open, MaxDepth: 5})
	if err == nil || !strings.Contains(err.Error(), "nest deeper than 5") || len(chain.opened) != 5 {
		t.Errorf("depth: %v after %d files", err, len(chain.opened))
	}
	// A diamond read again and again is bounded by MaxFiles.
	wide := &files{m: map[string]string{}}
	for i := range 10 {
		wide.m[fmt.Sprintf("w%d.txt", i)] = fmt.Sprintf("-r w%d.txt\n-r w%d.txt\n", i+1, i+1)
	}
	wide.m["w10.txt"] = "six\n"
	_, err = ParseLines("conda.yml", lines("-r w0.txt"), Options{Open: wide.open, MaxFiles: 50})
	if err == nil || !strings.Contains(err.Error(), "more than 50 files") || len(wide.opened) > 50 {
		t.Errorf("files: %v after %d", err, len(wide.opened))
	}
	for _, ref := range []string{"/etc/passwd", "https://x/r.txt", `..\x.txt`} {
		_, err := ParseLines("conda.yml", lines("-r "+ref), Options{Open: fsys.open})
		if err == nil {
			t.Errorf("-r %s accepted", ref)
		}
	}
	_, err = ParseLines("conda.yml", lines("-r missing.txt"), Options{Open: fsys.open})
	if err == nil || !strings.Contains(err.Error(), "conda.yml:10:8") {
		t.Errorf("missing: %v", err)
	}
}

func TestParseFileContinuationsAndComments(t *testing.T) {
	data := "numpy \\\n  >=1.2 # a comment\n\\\n# only a comment \\\nscipy\n  pandas==2.*\r\n"
	f, err := Parse("requirements.txt", []byte(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reqTexts(f.Requirements), []string{"numpy>=1.2", "scipy", "pandas==2.*"}; !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	if p := f.Requirements[2].Pos; p != (Pos{"requirements.txt", 6, 3}) {
		t.Errorf("pandas at %+v", p)
	}
	// A column on a continued line is on that line.
	errAt(t, func() (*File, error) { return Parse("r.txt", []byte("numpy \\\n  >=1.2 \\\n   --bad\n"), Options{}) }, 3, 4, "--bad")
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"--extra-index-url=https://user:tok@host/simple":   "--extra-index-url=https://host/simple",
		"-i https://tok@host/simple":                       "-i https://host/simple",
		"pkg @ https://u:p@files/pkg-1.0-py3-none-any.whl": "pkg @ https://files/pkg-1.0-py3-none-any.whl",
		"numpy==1.0":                      "numpy==1.0",
		"--index-url https://host/simple": "--index-url https://host/simple",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if index.Redact("https://a:b@h/") != "https://h/" {
		t.Error("index.Redact changed")
	}
}
