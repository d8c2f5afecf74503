package integration

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/azuremltest"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/pypi/requirement"
	pypiversion "github.com/envkit/envkit/pypi/version"
)

// The environment of Azure ML's pydata example (azureml-examples: an
// environment file with image: and conda_file: conda-yamls/pydata.yml,
// python 3.8, pip 21.2.4 and 16 pinned pip lines) builds through the
// frontend with docker buildx build against a mirror of what it names
// (internal/azuremltest: 125 pip packages, platform wheels for cp38):
// each pip line's distribution is in site-packages at its pinned version,
// installed by envkit and requested, beside conda's python and pip, within
// the layer limit; envkit build of it twice builds once.
func TestAzureMLPydata(t *testing.T) {
	e := harness.Get(t)
	src := testdata.Path(t, "azureml", "azureml-examples-cli")
	envData, err := os.ReadFile(filepath.Join(src, "docker-image-plus-conda.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	condaData, err := os.ReadFile(filepath.Join(src, "conda-yamls", "pydata.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ef, err := envfile.Parse("pydata.yml", condaData)
	if err != nil {
		t.Fatal(err)
	}
	specs, lines, err := azuremltest.Lines(ef, nil)
	if err != nil || len(lines) != 16 {
		t.Fatalf("pydata.yml: %d pip lines, %v", len(lines), err)
	}
	m, err := azuremltest.Write(t.TempDir(), t.TempDir(), specs, lines)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(m.Channel)))
	t.Cleanup(srv.Close)
	conda, err := azuremltest.Rewrite(condaData, srv.URL, pypitest.Serve(t, m.Index))
	if err != nil {
		t.Fatal(err)
	}
	// The example's own environment file, on the test's base image.
	env := strings.Replace(string(envData), "image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04", "image: "+e.Base.Base, 1)
	if env == string(envData) {
		t.Fatal("docker-image-plus-conda.yaml has no image: line to replace")
	}
	p := newProject(t, "environment.yml", syntax(t, e)+env, map[string]string{"conda-yamls/pydata.yml": string(conda)})

	ctx := ctxFor(t)
	ref := e.Ref("it/azureml-pydata:1")
	start := time.Now()
	img := mustBuild(t, e, clients[1], p, ref) // docker buildx build
	built := time.Since(start).Round(time.Second)
	if n := len(img.Manifest.Layers); n > 100 {
		t.Errorf("%d layers, more than 100", n)
	}
	files, err := e.Reg.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		t.Helper()
		b, err := e.Reg.ReadImageFile(ctx, img, path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return string(b)
	}
	prefix := envllb.DefaultPrefix
	site := prefix + "/lib/python3.8/site-packages/"
	for _, l := range lines {
		r := requirement.MustParse(l)
		v := pinned(t, m, r)
		di := site + pypitest.DistName(r.Name) + "-" + v + ".dist-info/"
		if got := read(di + "INSTALLER"); got != "envkit\n" {
			t.Errorf("%s: INSTALLER %q", l, got)
		}
		if _, ok := files[di+"REQUESTED"]; !ok {
			t.Errorf("%s: no %sREQUESTED", l, di)
		}
		if _, ok := files[di+"RECORD"]; !ok {
			t.Errorf("%s: no %sRECORD", l, di)
		}
	}
	// The dependencies are installed, not requested.
	var requested, installed int
	for f := range files {
		if strings.HasPrefix(f, site) && strings.HasSuffix(f, ".dist-info/REQUESTED") {
			requested++
		}
		if strings.HasPrefix(f, site) && strings.HasSuffix(f, ".dist-info/INSTALLER") {
			installed++
		}
	}
	if requested != len(lines) || installed < 100 {
		t.Errorf("%d distributions requested, want the %d pip lines; %d installed", requested, len(lines), installed)
	}
	// The image's lock holds every pip package installed (all but conda's pip).
	l, err := lock.Read("conda-lock.yml", []byte(read(prefix+"/"+envllb.LockPath)))
	if err != nil {
		t.Fatal(err)
	}
	pip := 0
	for _, p := range l.Packages {
		if p.Manager == lock.Pip {
			pip++
		}
	}
	if pip != installed-1 {
		t.Errorf("the image's lock has %d pip packages, site-packages %d distributions besides conda's pip", pip, installed-1)
	}
	t.Logf("%d layers, %d distributions in site-packages, %d requested (docker buildx build: %v)", len(img.Manifest.Layers), installed, requested, built)
	// A platform wheel's extension module for cp38.
	if _, ok := files[site+"numpy/_core.cpython-38-x86_64-linux-gnu.so"]; !ok {
		t.Errorf("no numpy extension module for cp38")
	}
	// conda's packages: python 3.8 and pip 21.2.4 (conda first).
	for _, f := range []string{prefix + "/conda-meta/python-3.8.12-h0_0.json", prefix + "/conda-meta/pip-21.2.4-pyhd8ed1ab_0.json", prefix + "/bin/python3.8"} {
		if _, ok := files[f]; !ok {
			t.Errorf("no %s", f)
		}
	}
	if got := read(site + "pip-21.2.4.dist-info/INSTALLER"); got != "conda\n" {
		t.Errorf("pip's INSTALLER %q, want conda's", got)
	}

	// envkit build: once per hash.
	bin := envkitBinary(t)
	file := filepath.Join(p.dir, p.file)
	start = time.Now()
	first, _ := cliBuild(t, e, bin, file, e.Ref("it/azureml-pydata:a"))
	mid := time.Now()
	second, log := cliBuild(t, e, bin, file, e.Ref("it/azureml-pydata:b"))
	t.Logf("envkit build: %v, then %v", mid.Sub(start).Round(time.Millisecond), time.Since(mid).Round(time.Millisecond))
	if first.Reused || !second.Reused || second.Digest != first.Digest || !strings.Contains(log, "reusing") {
		t.Errorf("envkit build twice: %+v, then %+v\n%s", first, second, log)
	}
}

// pinned is the version of the mirror a pinned line locks: the mirror's
// version equal to the pin (numpy==1.22 is 1.22.0).
func pinned(t *testing.T, m *azuremltest.Mirror, r *requirement.Requirement) string {
	t.Helper()
	for _, v := range m.Projects[r.NormalizedName()] {
		if r.Specifier.Contains(pypiversion.MustParse(v), false) && r.Specifier.Len() == 1 && r.Specifier.Specifiers()[0].Op() == "==" {
			return v
		}
	}
	t.Fatalf("%s: no pinned version on the mirror", r)
	return ""
}

// A curated environment's template (azureml-assets' sklearn-1.5) built as
// it is: the frontend refuses each {{latest-pypi-version}} at its line of
// the conda file, saying what it is, before fetching anything.
func TestAzureMLTemplateThroughFrontend(t *testing.T) {
	e := harness.Get(t)
	conda, err := os.ReadFile(testdata.Path(t, "azureml", "azureml-assets-curated", "sklearn-1.5", "context", "conda_dependencies.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProject(t, "environment.yml", syntax(t, e)+"name: sklearn-copy\nimage: "+e.Base.Base+"\nconda_file: conda_dependencies.yaml\n",
		map[string]string{"conda_dependencies.yaml": string(conda)})
	out, err := clients[1].build(t, e, p, e.Ref("it/azureml-template:1"), nil)
	if err == nil {
		t.Fatalf("built a template\n%s", out)
	}
	for _, want := range []string{
		"{{latest-pypi-version}} is an Azure ML asset template placeholder",
		"scikit-learn-intelex==1.2.3",
		">>>   - scikit-learn-intelex=={{latest-pypi-version}}",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
