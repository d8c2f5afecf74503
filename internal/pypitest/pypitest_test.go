package pypitest

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/wheel"
)

func testProjects() []Project {
	a1 := Meta{Name: "Alpha.Pkg", Version: "1.0", RequiresDist: []string{"beta>=2"}, RequiresPython: ">=3.8"}
	a1.Extras(map[string][]string{"fast": {"gamma; sys_platform == 'linux'"}})
	return []Project{
		{Name: "Alpha.Pkg", Files: []File{
			{Wheel: &Wheel{Meta: a1, EntryPoints: "[console_scripts]\nalpha = alpha_pkg:main\n"}},
			{Wheel: &Wheel{Meta: a1, Tag: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64", Platlib: true}, Metadata: MetadataLegacy},
			{Sdist: &Sdist{Meta: a1}, Metadata: MetadataNone},
		}},
		{Name: "beta", Files: []File{
			{Wheel: &Wheel{Meta: Meta{Name: "beta", Version: "2.0"}}, Yanked: true, YankedReason: "broken", Metadata: MetadataNone},
			{Wheel: &Wheel{Meta: Meta{Name: "beta", Version: "2.1", RequiresPython: ">=3.13"}}, RequiresPython: "-", Metadata: MetadataNoHash, NoHash: true},
		}},
	}
}

// TestIndex reads a written index with envkit's own index client, as a
// directory and served over HTTP: pages, hashes, yanks, requires-python,
// metadata files in each form and metadata read from the files.
func TestIndex(t *testing.T) {
	dir := t.TempDir()
	if err := WriteIndex(dir, testProjects()...); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []string{dir, Serve(t, dir)} {
		c := &index.Client{Indexes: []string{ix}}
		ctx := context.Background()
		p, err := c.Project(ctx, "alpha-pkg")
		if err != nil {
			t.Fatal(err)
		}
		files := p.Files()
		var names []string
		for _, f := range files {
			names = append(names, f.Filename)
		}
		want := "alpha_pkg-1.0-py3-none-any.whl alpha_pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl alpha_pkg-1.0.tar.gz"
		if got := strings.Join(names, " "); got != want {
			t.Fatalf("%s: files %s, want %s", ix, got, want)
		}
		for i, f := range files {
			if len(f.SHA256()) != 64 || f.RequiresPython != ">=3.8" || f.Yanked || f.CoreMetadata != (i < 2) {
				t.Errorf("%s: %+v", ix, f)
			}
			m, err := c.Metadata(ctx, f)
			if err != nil {
				t.Fatalf("%s: %s: %v", ix, f.Filename, err)
			}
			if m.Name != "Alpha.Pkg" || m.Version.String() != "1.0" || len(m.RequiresDist) != 2 ||
				m.RequiresDist[1].String() != `gamma; sys_platform == "linux" and extra == "fast"` || strings.Join(m.ProvidesExtra, ",") != "fast" {
				t.Errorf("%s: %s: metadata %+v", ix, f.Filename, m)
			}
		}
		p, err = c.Project(ctx, "beta")
		if err != nil {
			t.Fatal(err)
		}
		files = p.Files()
		if len(files) != 2 || !files[0].Yanked || files[0].YankedReason != "broken" || files[0].CoreMetadata ||
			files[1].Yanked || files[1].RequiresPython != "" || files[1].SHA256() != "" || !files[1].CoreMetadata {
			t.Fatalf("%s: beta files %+v", ix, files)
		}
		for _, f := range files {
			if m, err := c.Metadata(ctx, f); err != nil || m.Name != "beta" {
				t.Errorf("%s: %s: %v %v", ix, f.Filename, m, err)
			}
		}
		var nf *index.NotFoundError
		if _, err := c.Project(ctx, "gamma"); !errors.As(err, &nf) {
			t.Errorf("%s: gamma: %v", ix, err)
		}
	}
}

// TestWheelValid checks that a generated wheel passes the installer's own
// checks (RECORD, WHEEL, dist-info) and keeps its bytes from run to run.
func TestWheelValid(t *testing.T) {
	w := testProjects()[0].Files[1].Wheel
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := w.Bytes()
	if !bytes.Equal(data, again) {
		t.Error("the same wheel gave different bytes")
	}
	whl, err := wheel.Read(bytes.NewReader(data), int64(len(data)), w.Filename(), wheel.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := whl.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if whl.Info.RootIsPurelib || whl.Name != "alpha_pkg" || len(whl.File.Tags) != 2 {
		t.Errorf("wheel %+v info %+v", whl, whl.Info)
	}
}

// TestPackse reads every packse scenario and writes its index.
func TestPackse(t *testing.T) {
	paths, err := filepath.Glob(testdata.Path(t, "pypi", "packse", "*", "*.toml"))
	if err != nil || len(paths) < 30 {
		t.Fatalf("packse scenarios: %d, %v", len(paths), err)
	}
	for _, p := range paths {
		s := Packse(t, p)
		if s.Name == "" || len(s.Requires) == 0 || s.Python != "3.12" {
			t.Errorf("%s: %+v", p, s)
		}
	}
	s := Packse(t, testdata.Path(t, "pypi", "packse", "wheels", "specific-tag-and-default.toml"))
	c := &index.Client{Indexes: []string{s.Dir}}
	p, err := c.Project(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Files() {
		names = append(names, f.Filename+" "+f.RequiresPython)
	}
	want := "a-1.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl >=3.12,a-1.0.0-py3-none-any.whl >=3.12,a-1.0.0.tar.gz >=3.12"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("files %s, want %s", got, want)
	}
	s = Packse(t, testdata.Path(t, "pypi", "packse", "extras", "all-extras-required.toml"))
	if !s.Satisfiable || len(s.Packages) != 3 || s.Packages["c"] != "1.0.0" || s.Requires[0] != "a[all]" {
		t.Errorf("scenario %+v", s)
	}
}
