package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/internal/azuremltest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	pypiversion "github.com/envkit/envkit/pypi/version"
	"github.com/envkit/envkit/spec"
)

// azuremlCase is a real Azure ML environment definition of the shared
// testdata: file is its environment or conda file, conda the conda file
// (or the environment file holding it inline), python the minor its conda
// part asks for.
type azuremlCase struct {
	name, file, conda, python string
	// files are more files of the definition's directory to copy, relative
	// to file's directory.
	files []string
	// template: a curated environment's template, with {{latest-pypi-version}}.
	template bool
}

var azuremlCases = []azuremlCase{
	{name: "pydata", file: "azureml-examples-cli/conda-yamls/pydata.yml", conda: "pydata.yml", python: "3.8"},
	{name: "image-plus-conda", file: "azureml-examples-cli/docker-image-plus-conda.yaml", conda: "conda-yamls/pydata.yml", python: "3.8",
		files: []string{"conda-yamls/pydata.yml"}},
	{name: "conda-inline", file: "azure-ai-ml-tests/environment_conda_inline.yml", conda: "environment_conda_inline.yml", python: "3.8"},
	{name: "sklearn-1.5", file: "azureml-assets-curated/sklearn-1.5/context/conda_dependencies.yaml", conda: "conda_dependencies.yaml", python: "3.10", template: true},
	{name: "examples/pip", file: "../../examples/pip/environment.yml", conda: "conda.yml", python: "3.10", files: []string{"conda.yml"}},
}

// copyCase copies the case's files into a temporary directory and returns
// the copy of its file.
func copyCase(t *testing.T, c azuremlCase) string {
	t.Helper()
	src := filepath.Join("..", "..", filepath.FromSlash(strings.TrimPrefix(c.file, "../../")))
	if !strings.HasPrefix(c.file, "../../") {
		src = testdata.Path(t, "azureml", filepath.FromSlash(c.file))
	}
	dir := t.TempDir()
	for _, f := range append([]string{filepath.Base(src)}, c.files...) {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(src), filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, string(data))
	}
	return filepath.Join(dir, filepath.Base(src))
}

// loadConda reads the conda part of an environment or conda file.
func loadConda(t *testing.T, file string) *envfile.EnvFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env, err := spec.Load(file, data, os.DirFS(filepath.Dir(file)))
	if err != nil || env.Conda == nil {
		t.Fatalf("%s: %v (conda %v)", file, err, env)
	}
	return env.Conda
}

// parseConda reads a conda file (or an environment file with the conda
// part inline), falling back to conda/envfile's reading, without spec's of
// the pip lines: a curated template's placeholders, which spec refuses, are
// substituted only once the mirror is written.
func parseConda(t *testing.T, file string) *envfile.EnvFile {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if env, err := spec.Load(file, data, os.DirFS(filepath.Dir(file))); err == nil && env.Conda != nil {
		return env.Conda // an environment file with its conda part inline
	}
	ef, err := envfile.Parse(file, data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ef
}

// azuremlMirror writes the mirror of a conda file (azuremltest), serves
// its index, and rewrites the file (a copy) to use it: its channels are
// the mirror's channel, its pip lines start with --index-url.
func azuremlMirror(t *testing.T, condaFile string, open func(string) ([]byte, error)) *azuremltest.Mirror {
	t.Helper()
	ef := parseConda(t, condaFile)
	specs, lines, err := azuremltest.Lines(ef, open)
	if err != nil {
		t.Fatal(err)
	}
	m, err := azuremltest.Write(t.TempDir(), t.TempDir(), specs, lines)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(condaFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := azuremltest.Rewrite(data, m.Channel, pypitest.Serve(t, m.Index))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(condaFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

var hashRE = regexp.MustCompile(`^envkit_[0-9a-f]{32}\n$`)

// Every real Azure ML definition of the shared testdata is valid, and its
// hash is stable and ignores comments: the same after a comment after
// every line and one before every pip line, another once a pip line
// changes.
func TestAzureMLValidateAndHash(t *testing.T) {
	for _, f := range []string{
		"azureml-examples-cli/conda-yamls/pydata.yml",
		"azureml-examples-cli/docker-image-plus-conda.yaml",
		"azureml-examples-cli/docker-context.yml",
		"azureml-examples-cli/docker-image.yml",
		"azure-ai-ml-tests/environment_conda_inline.yml",
		"azureml-sdkv1/azureml_environment.json",
	} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			path := testdata.Path(t, "azureml", filepath.FromSlash(f))
			if code, out, errs := runCLI(t, "validate", path); code != exitOK || !strings.Contains(out, ": valid ") {
				t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
			}
			code, h1, errs := runCLI(t, "hash", path)
			if _, h2, _ := runCLI(t, "hash", path); code != exitOK || !hashRE.MatchString(h1) || h1 != h2 {
				t.Fatalf("hash: exit %d %q %q\n%s", code, h1, h2, errs)
			}
		})
	}
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "environment.yml"))
	if err != nil || len(examples) < 4 {
		t.Fatalf("examples: %q %v", examples, err)
	}
	for _, path := range examples {
		t.Run(path, func(t *testing.T) {
			if code, out, errs := runCLI(t, "validate", path); code != exitOK || errs != "" || !strings.Contains(out, ": valid ") {
				t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
			}
			code, h1, errs := runCLI(t, "hash", path)
			if _, h2, _ := runCLI(t, "hash", path); code != exitOK || !hashRE.MatchString(h1) || h1 != h2 {
				t.Fatalf("hash: exit %d %q %q\n%s", code, h1, h2, errs)
			}
		})
	}
	for _, c := range azuremlCases {
		t.Run(c.name+"/comments", func(t *testing.T) {
			file := copyCase(t, c)
			conda := filepath.Join(filepath.Dir(file), filepath.FromSlash(c.conda))
			if c.template {
				// What azureml-assets builds: the placeholders substituted.
				substitute(t, conda, func(s string) string {
					return strings.ReplaceAll(s, azuremltest.Placeholder, "1.60.0")
				})
			}
			_, h1, errs := runCLI(t, "hash", file)
			if !hashRE.MatchString(h1) {
				t.Fatalf("hash %q\n%s", h1, errs)
			}
			if code, out, errs := runCLI(t, "validate", file); code != exitOK {
				t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
			}
			item := regexp.MustCompile(`(?m)^(\s*- )([A-Za-z][^\n#]*?)(\s*#.*)?$`)
			pip := regexp.MustCompile(`(?m)^(\s*)- pip:\n`)
			substitute(t, conda, func(s string) string {
				s = pip.ReplaceAllString(s, "$0$1  # the pip part\n")
				return "# a comment before everything\n" + item.ReplaceAllString(s, "$1$2   # commented$3")
			})
			if _, h2, _ := runCLI(t, "hash", file); h2 != h1 {
				t.Errorf("comments changed the hash: %q, then %q", h1, h2)
			}
			// Another project on the first pip line: another hash.
			_, lines, err := azuremltest.Lines(loadConda(t, file), nil)
			if err != nil || len(lines) == 0 {
				t.Fatalf("pip lines %q: %v", lines, err)
			}
			first := requirement.MustParse(lines[0]).Name
			substitute(t, conda, func(s string) string { return strings.Replace(s, "- "+first, "- "+first+"-two", 1) })
			if _, h3, _ := runCLI(t, "hash", file); h3 == h1 || !hashRE.MatchString(h3) {
				t.Errorf("a changed pip line kept the hash %q (%q)", h1, h3)
			}
		})
	}
}

func substitute(t *testing.T, file string, f func(string) string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(f(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A curated environment's template is refused where it names
// {{latest-pypi-version}}: each line at the placeholder's column, saying
// what it is and what to write.
func TestAzureMLTemplatePlaceholder(t *testing.T) {
	file := testdata.Path(t, "azureml", "azureml-assets-curated", "sklearn-1.5", "context", "conda_dependencies.yaml")
	code, _, errs := runCLI(t, "lock", "-f", file, "--platform", "linux-64", "--format", "json")
	if code != exitFailure {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	for _, want := range []string{
		"conda_dependencies.yaml:12:27: dependencies.pip: {{latest-pypi-version}} is an Azure ML asset template placeholder",
		"azureml-assets substitutes it when it builds the asset (write a version instead, e.g. scikit-learn-intelex==1.2.3, or leave the version out: scikit-learn-intelex)",
		"conda_dependencies.yaml:17:24: dependencies.pip: {{latest-pypi-version}}",
		"    12 |   - scikit-learn-intelex=={{latest-pypi-version}}\n       |                           ^",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("no %q in\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "is an Azure ML asset template placeholder"); n != 6 {
		t.Errorf("%d placeholders reported, want the 6 lines\n%s", n, errs)
	}
	// validate and hash read the pip lines as lock does (spec), so they
	// refuse the template too, at the same places.
	for _, cmd := range []string{"validate", "hash"} {
		code, _, errs := runCLI(t, cmd, file)
		if code == exitOK || !strings.Contains(errs, "conda_dependencies.yaml:12:27: dependencies.pip: {{latest-pypi-version}} is an Azure ML asset template placeholder") {
			t.Errorf("envkit %s: exit %d\n%s", cmd, code, errs)
		}
	}
}

// Each real Azure ML conda file locks against its mirror (azuremltest):
// every pip line is satisfied by a pip entry of the lock, or by a conda
// package (conda first: numpy, pandas and scipy of sklearn-1.5's conda
// part are not installed again), a pinned line exactly, an unpinned line
// by the newest version its python can use; every pip entry is a wheel
// (an sdist stands beside each) for the file's python and linux-64.
func TestAzureMLLock(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	cases := append(azuremlCases, azuremlCase{name: "requirements.txt", python: "3.8"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var file, conda string
			var open func(string) ([]byte, error)
			if c.name == "requirements.txt" {
				// The docker context's requirements.txt, through -r.
				data, err := os.ReadFile(testdata.Path(t, "azureml", "azureml-examples-cli", "docker-contexts", "python-and-pip", "requirements.txt"))
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				writeFile(t, dir, "requirements.txt", string(data))
				file = writeFile(t, dir, "conda.yml", "channels: [conda-forge]\ndependencies:\n  - python=3.8\n  - pip\n  - pip:\n    - -r requirements.txt\n")
				conda = file
				open = func(p string) ([]byte, error) { return os.ReadFile(p) }
			} else {
				file = copyCase(t, c)
				conda = filepath.Join(filepath.Dir(file), filepath.FromSlash(c.conda))
			}
			m := azuremlMirror(t, conda, open)
			if c.template {
				substitute(t, conda, func(s string) string { return m.Substitute(s, c.python) })
			}
			code, out, errs := runCLI(t, "lock", "-f", file, "--platform", "linux-64", "--format", "json")
			if code != exitOK {
				t.Fatalf("exit %d\n%s", code, errs)
			}
			var entries []lockJSON
			if err := json.Unmarshal([]byte(out), &entries); err != nil {
				t.Fatal(err)
			}
			conda1, pip := map[string]string{}, map[string]lockJSON{}
			for _, e := range entries {
				switch e.Manager {
				case "pip":
					pip[name.Normalize(e.Name)] = e
					if !strings.HasSuffix(e.URL, ".whl") || len(e.SHA256) != 64 {
						t.Errorf("pip entry %+v: want a wheel with its sha256", e)
					}
					if cp := "-cp" + strings.ReplaceAll(c.python, ".", ""); strings.Contains(e.URL, "-cp") && !strings.Contains(e.URL, cp+"-manylinux") && !strings.Contains(e.URL, cp+"-cp") {
						t.Errorf("pip entry %s: not a wheel for python %s", e.URL, c.python)
					}
				default:
					conda1[e.Name] = e.Version
				}
			}
			if !strings.HasPrefix(conda1["python"], c.python+".") {
				t.Errorf("conda python %q, want %s", conda1["python"], c.python)
			}
			// The pip lines as the rewritten file (and its -r file) has them.
			_, lines, err := azuremltest.Lines(parseConda(t, conda), open)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) == 0 {
				t.Fatal("no pip lines")
			}
			for _, l := range lines {
				r := requirement.MustParse(l)
				n := name.Normalize(r.Name)
				got, installed := pip[n].Version, "pip"
				if cv, ok := conda1[n]; ok {
					if _, dup := pip[n]; dup {
						t.Errorf("%s: installed by conda (%s) and pip (%s)", l, cv, got)
					}
					got, installed = cv, "conda"
				}
				if got == "" {
					t.Errorf("%s: in neither the conda nor the pip part of the lock", l)
					continue
				}
				v := pypiversion.MustParse(got)
				if !r.Specifier.Contains(v, false) {
					t.Errorf("%s: locked %s %s does not satisfy it", l, installed, got)
				}
				if installed == "conda" {
					continue
				}
				pinned := ""
				for _, sp := range r.Specifier.Specifiers() {
					if sp.Op() == pypiversion.Op("==") {
						pinned = sp.VersionText()
					}
				}
				switch {
				case pinned != "" && pypiversion.MustParse(pinned).Compare(v) != 0:
					t.Errorf("%s: locked %s, want exactly %s", l, got, pinned)
				case r.Specifier.Len() == 0 && got != m.Newest(n, c.python):
					t.Errorf("%s: locked %s, want the newest for python %s, %s", l, got, c.python, m.Newest(n, c.python))
				}
			}
			if c.name == "sklearn-1.5" {
				for _, n := range []string{"numpy", "pandas", "scipy"} {
					if _, ok := pip[n]; ok || conda1[n] == "" {
						t.Errorf("%s: conda's (%q) should satisfy the pip lines that need it, pip has %+v", n, conda1[n], pip[n])
					}
				}
			}
			t.Logf("%d conda and %d pip packages", len(conda1), len(pip))
		})
	}
}
