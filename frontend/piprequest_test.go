package frontend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/spec"

	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/pypitest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The conda file's pip lines are part of the frontend's request: resolved
// after the conda solve for its python, from the index, into the wheels
// the platform installs (REQUESTED for the line's package, not for its
// dependency); a line conda does not satisfy is refused at its line.
func TestCondaResolvePip(t *testing.T) {
	url, _ := serveChannel(t,
		condatest.Package{Name: "python", Version: "3.12.0", Build: "h0_0"},
		condatest.Package{Name: "numpy", Version: "1.26.4", Build: "py312_0", Depends: []string{"python >=3.12,<3.13.0a0"}})
	dir := t.TempDir()
	if err := pypitest.WriteIndex(dir,
		pypitest.Project{Name: "Flask", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "Flask", Version: "3.0.0", RequiresDist: []string{"itsdangerous"}}}}}},
		pypitest.Project{Name: "itsdangerous", Files: []pypitest.File{{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: "itsdangerous", Version: "2.1.2"}}}}},
	); err != nil {
		t.Fatal(err)
	}
	idx := pypitest.Serve(t, dir)
	head := "channels: [" + url + "]\ndependencies:\n  - python=3.12\n  - numpy\n  - pip:\n    - --index-url " + idx + "\n"
	one := func(conda string) *diag.Error {
		t.Helper()
		_, err := condaFor(t, conda).resolve(context.Background(), []ocispecs.Platform{amd64}, amd64)
		var l diag.List
		if !errors.As(err, &l) || len(l) != 1 {
			t.Fatalf("want one positioned error, got %v", err)
		}
		return l[0]
	}
	condas, err := condaFor(t, head+"    - flask\n").resolve(context.Background(), []ocispecs.Platform{amd64}, amd64)
	if err != nil {
		t.Fatal(err)
	}
	var wheels []string
	for _, w := range condas[0].Wheels {
		wheels = append(wheels, fmt.Sprintf("%s %v %s", w.Filename, w.Requested, w.URL))
	}
	if want := []string{"flask-3.0.0-py3-none-any.whl true " + idx + "_files/flask-3.0.0-py3-none-any.whl",
		"itsdangerous-2.1.2-py3-none-any.whl false " + idx + "_files/itsdangerous-2.1.2-py3-none-any.whl"}; !slices.Equal(wheels, want) {
		t.Errorf("wheels %q, want %q", wheels, want)
	}
	e := one(head + "    - numpy>=2\n")
	if e.Line != 7 || !strings.Contains(e.Msg, "numpy 1.26.4 installed by numpy-1.26.4-py312_0 (conda, conda.yml:4)") {
		t.Errorf("conflict: %v", e)
	}
	// Through BuildKit, an index's user information is dropped (the host's
	// secret envkit-auth-<host> carries credentials), and the host noted
	// for a refusal to say so.
	cs := condaFor(t, strings.Replace(head, "--index-url http://", "--index-url http://u:s3cret@", 1)+"    - flask\n")
	cs.transport = &buildkitTransport{ctx: context.Background()}
	pip, err := cs.pipRequest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err = pip.Index(pip.File.Indexes()); err != nil {
		t.Errorf("credentials: %v", err)
	}
	if !cs.transport.inURL["127.0.0.1"] {
		t.Errorf("the index's host is not noted: %v", cs.transport.inURL)
	}
	if got := redactIndexes([]string{"http://u:s3cret@127.0.0.1:1/simple", "https://pypi.org/simple"}); got[0] != "http://127.0.0.1:1/simple" || got[1] != "https://pypi.org/simple" {
		t.Errorf("redactIndexes = %v", got)
	}
	// A -r file's requirements are resolved as spec read it with the
	// environment; its errors are at its own lines.
	cs = condaForFiles(t, fstest.MapFS{
		"conda.yml":             {Data: []byte(head + "    - -r reqs/requirements.txt\n")},
		"reqs/requirements.txt": {Data: []byte("# web\nflask\nnumpy>=2\n")},
	})
	_, err = cs.resolve(context.Background(), []ocispecs.Platform{amd64}, amd64)
	var l diag.List
	if !errors.As(err, &l) || len(l) != 1 || l[0].File != "reqs/requirements.txt" || l[0].Line != 3 || !strings.Contains(l[0].Msg, "numpy 1.26.4 installed by numpy-1.26.4-py312_0") {
		t.Errorf("-r: %v", err)
	}
}

// condaForFiles is condaFor with the environment's directory holding files.
func condaForFiles(t *testing.T, files fstest.MapFS) *condaSolver {
	t.Helper()
	env, err := spec.Load("environment.yml", []byte("name: e\nimage: reg/base:1\nconda_file: conda.yml\n"), files)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{opts: &options{Filename: "environment.yml", HelperImage: "reg/envkit/frontend:1"}}
	return &condaSolver{b: b, env: env, gateway: &repodata.Gateway{}}
}
