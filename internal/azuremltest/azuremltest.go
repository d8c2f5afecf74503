// Package azuremltest makes a local mirror of what a real Azure ML conda
// file names, for tests on machines that reach neither conda-forge nor
// PyPI: a conda channel (internal/condatest) with python, pip and the conda
// packages, and a simple index (internal/pypitest) with every project of
// the pip lines and their dependencies, at versions that satisfy the
// file's specs and at newer ones (so that an unpinned line resolves to the
// newest usable version), with platform wheels for compiled projects
// (cpXY manylinux for each python of the channel), pure wheels for the
// others and an sdist beside each. Dependencies follow the real projects'
// (pandas needs numpy, python-dateutil and pytz; mlflow a dozen more),
// written as lower bounds old enough for every file's pins. The newest
// version of every project wants Python 3.13, as a new release that drops
// old pythons does: the files' pythons skip it.
//
// Rewrite points a conda file (or an environment file's inline conda_file)
// at the mirror.
package azuremltest

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/reqfile"
	"github.com/envkit/envkit/pypi/requirement"
	pypiversion "github.com/envkit/envkit/pypi/version"
	"gopkg.in/yaml.v3"
)

// Placeholder is the template placeholder of Azure ML's curated
// environments (Azure/azureml-assets) that stands for the newest version
// on PyPI.
const Placeholder = "{{latest-pypi-version}}"

// requires are the dependencies of the projects the Azure ML files name,
// after the real projects' Requires-Dist (a selection), as lower bounds.
var requires = map[string][]string{
	"pandas":          {"numpy>=1.17.3", "python-dateutil>=2.7.3", "pytz>=2017.3"},
	"python-dateutil": {"six>=1.5"},
	"scipy":           {"numpy>=1.16.5"},
	"scikit-learn":    {"numpy>=1.13.3", "scipy>=0.19.1", "joblib>=0.11", "threadpoolctl>=2.0.0"},
	"matplotlib":      {"numpy>=1.16", "cycler>=0.10", "kiwisolver>=1.0.1", "pillow>=6.2.0", "pyparsing>=2.2.1", "python-dateutil>=2.7", "packaging>=20.0"},
	"xgboost":         {"numpy", "scipy"},
	"lightgbm":        {"numpy", "scipy", "scikit-learn!=0.22.0", "wheel"},
	"mlflow": {"alembic", "click>=7.0", "cloudpickle", "databricks-cli>=0.8.7", "entrypoints", "gitpython>=2.1.0", "pyyaml>=5.1",
		"protobuf>=3.7.0", "pytz", "requests>=2.17.3", "packaging", "importlib-metadata!=4.7.0,>=3.7.0", "sqlparse>=0.3.1",
		"docker>=4.0.0", "Flask", `gunicorn; platform_system != "Windows"`, "numpy", "pandas", "prometheus-flask-exporter",
		"querystring-parser", "sqlalchemy", `waitress; platform_system == "Windows"`},
	"mlflow-skinny":                 {"click>=7.0", "cloudpickle", "entrypoints", "gitpython>=2.1.0", "pyyaml>=5.1", "protobuf>=3.7.0", "pytz", "requests>=2.17.3", "packaging", "sqlparse>=0.3.1"},
	"azureml-mlflow":                {"mlflow-skinny", "azure-storage-blob>=12.5.0", "msrest>=0.6.18", "azure-core", "jsonpickle", "cryptography", "python-dateutil>=2.7.3"},
	"azureml-core":                  {"azure-core", "msrest>=0.5.1", "adal>=1.2.0", "azure-mgmt-storage>=16.0.0", "jsonpickle", "pyopenssl", "requests[socks]>=2.19.1", "urllib3>=1.23", "backports.tempfile", "pathspec", "ruamel.yaml>=0.15.35", "docker", "humanfriendly>=4.7", "paramiko>=2.0.8", "jmespath", "contextlib2", "pytz", "python-dateutil>=2.7.3", "packaging>=20.0", "cryptography!=1.9,!=2.0.*,!=2.1.*,!=2.2.*"},
	"azureml-defaults":              {"azureml-core", "azureml-inference-server-http", "azureml-dataset-runtime[fuse]"},
	"azureml-dataset-runtime":       {"azureml-dataprep>=4.0", "pyarrow>=0.17.0", "numpy!=1.19.3", `fusepy>=3.0.1; extra == "fuse"`},
	"azureml-dataprep":              {"azureml-dataprep-rslex", "cloudpickle>=1.1.0", "azure-identity>=1.7.0", "jsonschema", "pyyaml>=5.1.0"},
	"azureml-inference-server-http": {"flask>=1.0", "gunicorn>=20.0", "inference-schema", "opencensus-ext-azure", "psutil", "pydantic"},
	"azureml-telemetry":             {"applicationinsights", "azureml-core"},
	"scikit-learn-intelex":          {"daal4py", "scikit-learn>=0.22"},
	"daal4py":                       {"daal", "numpy>=1.19"},
	"adlfs":                         {"azure-core>=1.7.0", "azure-datalake-store>=0.0.46", "azure-identity", "azure-storage-blob>=12.5.0", "fsspec>=2021.07.0", "aiohttp"},
	"aiohttp":                       {"attrs>=17.3.0", "multidict>=4.5", "yarl>=1.0", "frozenlist>=1.1.1", "aiosignal>=1.1.2"},
	"yarl":                          {"multidict>=4.0", "idna>=2.0"},
	"requests":                      {"urllib3>=1.21.1", "idna>=2.5", "charset-normalizer>=2.0.0", "certifi>=2017.4.17", `PySocks>=1.5.6,!=1.5.7; extra == "socks"`},
	"flask":                         {"Werkzeug>=2.0", "Jinja2>=3.0", "itsdangerous>=2.0", "click>=7.1.2"},
	"jinja2":                        {"MarkupSafe>=2.0"},
	"werkzeug":                      {"MarkupSafe>=2.1.1"},
	"alembic":                       {"SQLAlchemy>=1.3.0", "Mako"},
	"mako":                          {"MarkupSafe>=0.9.2"},
	"gitpython":                     {"gitdb>=4.0.1"},
	"gitdb":                         {"smmap>=3.0.1"},
	"docker":                        {"requests>=2.14.2", "urllib3>=1.26.0", "websocket-client>=0.32.0"},
	"databricks-cli":                {"click>=7.0", "requests>=2.17.3", "tabulate>=0.7.7", "six>=1.10.0"},
	"importlib-metadata":            {"zipp>=0.5"},
	"azure-core":                    {"requests>=2.18.4", "six>=1.11.0", "typing-extensions>=4.0.1"},
	"azure-storage-blob":            {"azure-core>=1.10.0", "cryptography>=2.1.4", "msrest>=0.6.21"},
	"azure-identity":                {"azure-core>=1.11.0", "cryptography>=2.5", "msal>=1.12.0", "msal-extensions>=0.3.0"},
	"azure-datalake-store":          {"cffi", "adal>=0.4.2", "requests>=2.20.0"},
	"msal":                          {"requests>=2.0.0", "PyJWT[crypto]>=1.0.0", "cryptography>=0.6"},
	"msal-extensions":               {"msal>=0.4.1", "portalocker>=1.0"},
	"msrest":                        {"requests>=2.16", "requests-oauthlib>=0.5.0", "isodate>=0.6.0", "certifi>=2017.4.17", "azure-core>=1.24.0"},
	"requests-oauthlib":             {"oauthlib>=3.0.0", "requests>=2.0.0"},
	"adal":                          {"PyJWT>=1.0.0", "requests>=2.0.0", "python-dateutil>=2.1.0", "cryptography>=1.1.0"},
	"pyjwt":                         {`cryptography>=3.3.1; extra == "crypto"`},
	"cryptography":                  {"cffi>=1.12"},
	"cffi":                          {"pycparser"},
	"pyopenssl":                     {"cryptography>=38.0.0"},
	"paramiko":                      {"bcrypt>=3.1.3", "cryptography>=2.5", "pynacl>=1.0.1"},
	"bcrypt":                        {"cffi>=1.1"},
	"pynacl":                        {"cffi>=1.4.1"},
	"humanfriendly":                 nil,
	"jupyter":                       {"notebook", "qtconsole", "jupyter-console", "nbconvert", "ipykernel", "ipywidgets"},
	"notebook":                      {"jinja2", "tornado>=6.1", "pyzmq>=17", "traitlets>=4.2.1", "jupyter-core>=4.6.1", "jupyter-client>=5.3.4", "nbformat", "nbconvert>=5", "ipykernel", "terminado>=0.8.3", "prometheus-client"},
	"qtconsole":                     {"traitlets", "jupyter-core", "jupyter-client>=4.1", "pygments", "ipykernel>=4.1", "qtpy>=2.0.1", "pyzmq>=17.1"},
	"jupyter-console":               {"jupyter-client>=7.0.0", "ipython", "ipykernel", "prompt-toolkit>=3.0.30", "pygments"},
	"nbconvert":                     {"jinja2>=3.0", "mistune>=2.0.3", "nbformat>=5.1", "pygments>=2.4.1", "traitlets>=5.0", "bleach", "defusedxml", "pandocfilters>=1.4.1", "tinycss2"},
	"ipykernel":                     {"ipython>=7.23.1", "traitlets>=4.1.0", "jupyter-client", "tornado>=4.2", "matplotlib-inline>=0.1.0", "debugpy>=1.0.0"},
	"ipython":                       {"jedi>=0.16", "decorator", "pickleshare", "traitlets>=5", "prompt-toolkit>=2.0.0,!=3.0.0,!=3.0.1", "pygments", "backcall", "matplotlib-inline", `pexpect>4.3; sys_platform != "win32"`},
	"ipywidgets":                    {"ipykernel>=4.5.1", "traitlets>=4.3.1", "widgetsnbextension", "jupyterlab-widgets", "ipython>=6.1.0"},
	"jupyter-client":                {"jupyter-core>=4.6.0", "pyzmq>=13", "python-dateutil>=2.1", "tornado>=4.1", "traitlets"},
	"jupyter-core":                  {"traitlets", "platformdirs>=2.5"},
	"nbformat":                      {"fastjsonschema", "jsonschema>=2.6", "jupyter-core", "traitlets>=5.1"},
	"nbclient":                      {"jupyter-client>=6.1.5", "nbformat>=5.0", "traitlets>=5.3"},
	"jsonschema":                    {"attrs>=17.4.0", "pyrsistent>=0.14.0"},
	"jedi":                          {"parso>=0.8.0"},
	"prompt-toolkit":                {"wcwidth"},
	"pexpect":                       {"ptyprocess>=0.5"},
	"terminado":                     {"ptyprocess", "tornado>=6.1.0"},
	"bleach":                        {"six>=1.9.0", "webencodings"},
	"tinycss2":                      {"webencodings>=0.4"},
	"papermill":                     {"click", "pyyaml", "nbformat>=5.1.2", "nbclient>=0.2.0", "tqdm>=4.32.2", "requests", "entrypoints", "tenacity", "ansiwrap"},
	"ansiwrap":                      {"textwrap3>=0.9.2"},
	"nbgitpuller":                   {"notebook>=5.5.0", "jupyter-server>=1.10.1", "tornado"},
	"jupyter-server":                {"jinja2", "tornado>=6.1.0", "pyzmq>=17", "traitlets>=5.1", "jupyter-core>=4.7.0", "jupyter-client>=6.1.1", "nbformat", "nbconvert", "anyio>=3.1.0", "terminado", "prometheus-client"},
	"sphinx-gallery":                {"sphinx>=1.8.3"},
	"sphinx":                        {"Jinja2>=3.0", "Pygments>=2.12", "docutils>=0.18", "babel>=2.9", "alabaster>=0.7", "imagesize>=1.3", "requests>=2.25.0", "packaging>=21.0"},
	"babel":                         {"pytz>=2015.7"},
	"tensorboard":                   {"absl-py>=0.4", "grpcio>=1.24.3", "markdown>=2.6.8", "numpy>=1.12.0", "protobuf>=3.19.6", "setuptools>=41.0.0", "tensorboard-data-server>=0.7.0", "werkzeug>=1.0.1"},
	"torch-tb-profiler":             {"pandas>=1.0.0", "tensorboard!=2.1.0,>=1.15"},
	"starlette":                     {"anyio>=3.4.0"},
	"anyio":                         {"idna>=2.8", "sniffio>=1.1"},
	"pydantic":                      {"typing-extensions>=4.2.0"},
	"inference-schema":              {"python-dateutil>=2.5.3", "pytz>=2017.2", "wrapt>=1.11.1", `numpy>=1.13.0; extra == "numpy-support"`},
	"opencensus-ext-azure":          {"azure-core>=1.12.0", "azure-identity>=1.5.0", "opencensus>=0.11.0", "psutil>=5.6.3", "requests>=2.19.0"},
	"opencensus":                    {"opencensus-context>=0.1.3", "google-api-core>=1.0.0"},
	"google-api-core":               {"googleapis-common-protos>=1.56.2", "protobuf>=3.19.5", "requests>=2.18.0"},
	"googleapis-common-protos":      {"protobuf>=3.19.5"},
	"pyarrow":                       {"numpy>=1.16.6"},
	"prometheus-flask-exporter":     {"prometheus-client", "flask"},
	"jsonpickle":                    nil,
	"tqdm":                          nil,
}

// compiled are the projects whose wheels are platform wheels (CPython
// extension modules).
var compiled = map[string]bool{
	"numpy": true, "pandas": true, "scipy": true, "scikit-learn": true, "xgboost": true, "lightgbm": true, "matplotlib": true,
	"kiwisolver": true, "pillow": true, "psutil": true, "cryptography": true, "cffi": true, "markupsafe": true, "pyyaml": true,
	"tornado": true, "pyarrow": true, "sqlalchemy": true, "debugpy": true, "pyzmq": true, "protobuf": true, "grpcio": true,
	"scikit-learn-intelex": true, "daal4py": true, "multidict": true, "yarl": true, "frozenlist": true, "bcrypt": true,
	"pynacl": true, "pyrsistent": true, "wrapt": true, "charset-normalizer": true, "azureml-dataprep-rslex": true,
	"ruamel-yaml-clib": true, "tensorboard-data-server": true, "py-spy": true,
}

// Mirror is the channel and index written for a conda file.
type Mirror struct {
	// Channel and Index are the directories of the conda channel
	// (linux-64, noarch) and of the simple index (pypitest.WriteIndex).
	Channel, Index string
	// Pythons are the python minors the channel carries ("3.8"), each
	// with a platform wheel of every compiled project.
	Pythons []string
	// Conda are the conda packages' versions by name; Projects the
	// index's projects' versions by normalised name, ascending.
	Conda, Projects map[string][]string
	// future is the version of each project that wants Python 3.13.
	future map[string]string
}

// Write writes the mirror of a conda file's dependencies (conda match
// specs as written) and pip requirements (PEP 508, Placeholder allowed
// after ==: the project is then unpinned) into channelDir and indexDir.
func Write(channelDir, indexDir string, condaSpecs, pipLines []string) (*Mirror, error) {
	m := &Mirror{Channel: channelDir, Index: indexDir, Conda: map[string][]string{}, Projects: map[string][]string{}, future: map[string]string{}}
	// Literal versions each project's specs name, for its versions.
	literals := map[string][]string{}
	spelled := map[string]string{}
	var condaNames []string
	pythonMinors := []string{}
	for _, s := range condaSpecs {
		ms, err := matchspec.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("azuremltest: conda spec %q: %w", s, err)
		}
		var lits []string
		if ms.Version != nil {
			lits = versionLiterals(ms.Version.String())
		}
		switch ms.Name {
		case "python":
			for _, l := range lits {
				if p := strings.Split(l, "."); len(p) >= 2 {
					pythonMinors = append(pythonMinors, p[0]+"."+p[1])
				}
			}
		default:
			condaNames = append(condaNames, ms.Name)
			literals[ms.Name] = append(literals[ms.Name], lits...)
		}
	}
	if !slices.Contains(pythonMinors, "3.12") {
		pythonMinors = append(pythonMinors, "3.12")
	}
	slices.SortFunc(pythonMinors, compareVersions)
	m.Pythons = slices.Compact(pythonMinors)

	// The projects: the pip lines, then their dependencies (and the conda
	// packages' own), transitively.
	var queue []string
	seen := map[string]bool{}
	add := func(r *requirement.Requirement) {
		n := name.Normalize(r.Name)
		if _, ok := spelled[n]; !ok {
			spelled[n] = r.Name
		}
		for _, sp := range r.Specifier.Specifiers() {
			literals[n] = append(literals[n], versionLiterals(sp.VersionText())...)
		}
		if !seen[n] {
			seen[n] = true
			queue = append(queue, n)
		}
	}
	for _, l := range pipLines {
		l = strings.ReplaceAll(l, "=="+Placeholder, "")
		r, err := requirement.Parse(l)
		if err != nil {
			return nil, fmt.Errorf("azuremltest: pip line %q: %w", l, err)
		}
		add(r)
	}
	for _, n := range condaNames {
		if n != "pip" {
			add(&requirement.Requirement{Name: n})
		}
	}
	for i := 0; i < len(queue); i++ {
		for _, d := range requires[queue[i]] {
			add(requirement.MustParse(d))
		}
	}

	// The conda packages: python for each minor, pip, and the packages
	// the conda part names with their dependencies.
	var pkgs []condatest.Package
	for _, minor := range m.Pythons {
		for _, micro := range []string{"1", "12"} {
			v := minor + "." + micro
			m.Conda["python"] = append(m.Conda["python"], v)
			pkgs = append(pkgs, condatest.Package{Name: "python", Version: v, Build: "h0_0",
				Files: []condatest.File{{Path: "bin/python" + minor, Content: "#!/bin/sh\necho fake python " + v + "\n", Mode: 0o755}}})
		}
	}
	condaSet := map[string]bool{}
	var condaQueue []string
	for _, n := range condaNames {
		if !condaSet[n] {
			condaSet[n] = true
			condaQueue = append(condaQueue, n)
		}
	}
	for i := 0; i < len(condaQueue); i++ {
		for _, d := range requires[condaQueue[i]] {
			r := requirement.MustParse(d)
			if n := name.Normalize(r.Name); r.Marker == nil && !condaSet[n] {
				condaSet[n] = true
				condaQueue = append(condaQueue, n)
			}
		}
	}
	for _, n := range condaQueue {
		lits := literals[n]
		if n == "pip" && len(lits) == 0 {
			lits = []string{"23.0"}
		}
		for _, v := range candidates(lits) {
			m.Conda[n] = append(m.Conda[n], v)
			pkgs = append(pkgs, m.condaPackages(n, v)...)
		}
	}
	if err := condatest.WriteChannel(channelDir, pkgs...); err != nil {
		return nil, err
	}

	// The index: each project at its candidate versions and one for
	// Python 3.13 only.
	var projects []pypitest.Project
	slices.Sort(queue)
	for _, n := range queue {
		p := pypitest.Project{Name: spelled[n]}
		vs := candidates(literals[n])
		future := strconv.Itoa(int(major(vs[len(vs)-1]))+1) + ".0.0"
		m.future[n] = future
		for _, v := range append(vs, future) {
			rp := ">=3.7"
			if v == future {
				rp = ">=3.13"
			}
			p.Files = append(p.Files, m.distributions(n, spelled[n], v, rp)...)
		}
		m.Projects[n] = append(vs, future)
		projects = append(projects, p)
	}
	if err := pypitest.WriteIndex(indexDir, projects...); err != nil {
		return nil, err
	}
	return m, nil
}

// condaPackages are the conda packages of project n at version v: one
// per python minor for a compiled project, one noarch python package
// otherwise; each installs its module and dist-info (INSTALLER conda).
func (m *Mirror) condaPackages(n, v string) []condatest.Package {
	var deps []string
	for _, d := range requires[n] {
		r := requirement.MustParse(d)
		if r.Marker != nil {
			continue
		}
		spec := name.Normalize(r.Name)
		if s := r.Specifier.String(); s != "" {
			spec += " " + s
		}
		deps = append(deps, spec)
	}
	mod := pypitest.DistName(n)
	files := func(sp string) []condatest.File {
		di := sp + mod + "-" + v + ".dist-info/"
		return []condatest.File{
			{Path: sp + mod + "/__init__.py", Content: fmt.Sprintf("__version__ = %q\n", v)},
			{Path: di + "METADATA", Content: fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", n, v)},
			{Path: di + "INSTALLER", Content: "conda\n"},
		}
	}
	if n == "pip" || !compiled[n] {
		return []condatest.Package{{Name: n, Version: v, Build: "pyhd8ed1ab_0", Subdir: "noarch", Noarch: "python",
			Depends: append([]string{"python >=3.7"}, deps...), Files: files("site-packages/")}}
	}
	var out []condatest.Package
	for _, minor := range m.Pythons {
		next := nextMinor(minor)
		out = append(out, condatest.Package{Name: n, Version: v, Build: "py" + strings.ReplaceAll(minor, ".", "") + "h0_0",
			Depends: append([]string{fmt.Sprintf("python >=%s,<%s.0a0", minor, next)}, deps...),
			Files:   files("lib/python" + minor + "/site-packages/")})
	}
	return out
}

// distributions are the index files of project n (spelled as written) at
// version v: a platform wheel per python minor (cp313 for the version
// that wants 3.13) or a pure wheel, and an sdist.
func (m *Mirror) distributions(n, spelled, v, requiresPython string) []pypitest.File {
	meta := pypitest.Meta{Name: spelled, Version: v, RequiresDist: requires[n], RequiresPython: requiresPython}
	for _, d := range requires[n] {
		if _, e, ok := strings.Cut(d, `extra == "`); ok {
			e = strings.TrimSuffix(e, `"`)
			if !slices.Contains(meta.ProvidesExtra, e) {
				meta.ProvidesExtra = append(meta.ProvidesExtra, e)
			}
		}
	}
	var out []pypitest.File
	if compiled[n] {
		minors := m.Pythons
		if requiresPython == ">=3.13" {
			minors = []string{"3.13"}
		}
		mod := pypitest.DistName(n)
		for _, minor := range minors {
			cp := "cp" + strings.ReplaceAll(minor, ".", "")
			w := pypitest.Wheel{Meta: meta, Tag: cp + "-" + cp + "-manylinux_2_17_x86_64.manylinux2014_x86_64", Platlib: true,
				Files: []pypitest.FileSpec{
					{Path: mod + "/__init__.py", Content: fmt.Sprintf("__version__ = %q\n", v)},
					{Path: mod + "/_core." + "cpython-" + strings.TrimPrefix(cp, "cp") + "-x86_64-linux-gnu.so", Content: "\x7fELF " + n + " " + v + " " + cp + "\n"},
				}}
			out = append(out, pypitest.File{Wheel: &w})
		}
	} else {
		out = append(out, pypitest.File{Wheel: &pypitest.Wheel{Meta: meta}})
	}
	return append(out, pypitest.File{Sdist: &pypitest.Sdist{Meta: meta}})
}

// Newest is the newest version of project (any spelling) the index has
// for a python of minor python ("3.8"): every one but the one that wants
// 3.13, for pythons before it.
func (m *Mirror) Newest(project, python string) string {
	n := name.Normalize(project)
	vs := m.Projects[n]
	if len(vs) == 0 {
		return ""
	}
	if compareVersions(python, "3.13") < 0 {
		return vs[len(vs)-2]
	}
	return vs[len(vs)-1]
}

// Substitute replaces each "<project>==" + Placeholder in text with the
// project's newest version for python, as azureml-assets does with PyPI's
// when it builds a curated environment.
func (m *Mirror) Substitute(text, python string) string {
	re := regexp.MustCompile(`([A-Za-z0-9][A-Za-z0-9._-]*)==` + regexp.QuoteMeta(Placeholder))
	return re.ReplaceAllStringFunc(text, func(s string) string {
		p := strings.TrimSuffix(s, "=="+Placeholder)
		return p + "==" + m.Newest(p, python)
	})
}

var literalRE = regexp.MustCompile(`\d+(\.\d+)*`)

// versionLiterals are the release numbers a version spec names.
func versionLiterals(spec string) []string { return literalRE.FindAllString(spec, -1) }

// candidates are the versions to publish for the literals a project's
// specs name: each literal padded to three parts, the next micro, minor
// and major, and an older minor (1.0.0, 1.1.0 and 2.0.0 when there is no
// literal), sorted and without duplicates.
func candidates(lits []string) []string {
	set := map[string]bool{}
	for _, l := range lits {
		r := release(l)
		for len(r) < 3 {
			r = append(r, 0)
		}
		a, b, c := r[0], r[1], r[2]
		set[fmt.Sprintf("%d.%d.%d", a, b, c)] = true
		set[fmt.Sprintf("%d.%d.%d", a, b, c+1)] = true
		set[fmt.Sprintf("%d.%d.0", a, b+1)] = true
		set[fmt.Sprintf("%d.0.0", a+1)] = true
		switch {
		case b > 0:
			set[fmt.Sprintf("%d.%d.0", a, b-1)] = true
		case a > 0:
			set[fmt.Sprintf("%d.0.0", a-1)] = true
		}
	}
	if len(set) == 0 {
		set = map[string]bool{"1.0.0": true, "1.1.0": true, "2.0.0": true}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.SortFunc(out, compareVersions)
	return out
}

func release(v string) []uint64 {
	var out []uint64
	for _, p := range strings.Split(v, ".") {
		n, _ := strconv.ParseUint(p, 10, 64)
		out = append(out, n)
	}
	return out
}

func major(v string) uint64 { return release(v)[0] }

func compareVersions(a, b string) int {
	return pypiversion.MustParse(a).Compare(pypiversion.MustParse(b))
}

func nextMinor(minor string) string {
	r := release(minor)
	return fmt.Sprintf("%d.%d", r[0], r[1]+1)
}

// Lines returns what a conda file asks for, for Write: its conda specs,
// and its pip lines' requirements (those of -r files read through open
// included; nil refuses them), each "<project>==" + Placeholder read as
// the project unpinned.
func Lines(ef *envfile.EnvFile, open func(string) ([]byte, error)) (condaSpecs, pipLines []string, err error) {
	condaSpecs = envfile.Values(ef.Dependencies)
	lines := make([]reqfile.Line, len(ef.Pip))
	for i, it := range ef.Pip {
		lines[i] = reqfile.Line{Text: strings.ReplaceAll(it.Value, "=="+Placeholder, ""), Line: it.Line, Column: it.Column}
	}
	if open != nil {
		inner := open
		open = func(p string) ([]byte, error) {
			b, err := inner(p)
			return []byte(strings.ReplaceAll(string(b), "=="+Placeholder, "")), err
		}
	}
	f, err := reqfile.ParseLines(ef.File, lines, reqfile.Options{Open: open})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range f.Requirements {
		pipLines = append(pipLines, r.Requirement.String())
	}
	return condaSpecs, pipLines, nil
}

// Rewrite points a conda file, or an environment file's inline conda_file,
// at a mirror: its channels become channel alone, and its pip: list
// starts with "--index-url index". Comments and the rest stay.
func Rewrite(data []byte, channel, index string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("azuremltest: not a YAML mapping")
	}
	conda := doc.Content[0]
	if v := mapValue(conda, "conda_file"); v != nil && v.Kind == yaml.MappingNode {
		conda = v
	}
	ch := mapValue(conda, "channels")
	if ch == nil || ch.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("azuremltest: no channels list")
	}
	ch.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: channel}}
	deps := mapValue(conda, "dependencies")
	found := false
	if deps != nil {
		for _, it := range deps.Content {
			if pip := mapValue(it, "pip"); pip != nil && pip.Kind == yaml.SequenceNode {
				pip.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "--index-url " + index}}, pip.Content...)
				found = true
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("azuremltest: no pip: list under dependencies")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
