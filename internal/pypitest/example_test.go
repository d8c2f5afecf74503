package pypitest_test

import (
	"context"
	"fmt"
	"os"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
)

// An index with a wheel, a platform wheel and an sdist of one project,
// read back by envkit's index client.
func ExampleWriteIndex() {
	dir, err := os.MkdirTemp("", "index")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	m := pypitest.Meta{Name: "demo", Version: "1.0", RequiresDist: []string{"numpy>=1.22"}, RequiresPython: ">=3.9"}
	m.Extras(map[string][]string{"plot": {"matplotlib"}})
	err = pypitest.WriteIndex(dir, pypitest.Project{Name: "demo", Files: []pypitest.File{
		{Wheel: &pypitest.Wheel{Meta: m, EntryPoints: "[console_scripts]\ndemo = demo:main\n"}},
		{Wheel: &pypitest.Wheel{Meta: m, Tag: "cp312-cp312-manylinux_2_17_x86_64", Platlib: true}, Yanked: true},
		{Sdist: &pypitest.Sdist{Meta: m}, Metadata: pypitest.MetadataNone},
	}})
	if err != nil {
		panic(err)
	}
	c := &index.Client{Indexes: []string{dir}} // or pypitest.Serve(t, dir) for HTTP
	p, err := c.Project(context.Background(), "demo")
	if err != nil {
		panic(err)
	}
	for _, f := range p.Files() {
		md, err := c.Metadata(context.Background(), f)
		if err != nil {
			panic(err)
		}
		fmt.Println(f.Filename, f.RequiresPython, f.Yanked, f.CoreMetadata, md.RequiresDist)
	}
	// Output:
	// demo-1.0-py3-none-any.whl >=3.9 false true [numpy>=1.22 matplotlib; extra == "plot"]
	// demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl >=3.9 true true [numpy>=1.22 matplotlib; extra == "plot"]
	// demo-1.0.tar.gz >=3.9 false false [numpy>=1.22 matplotlib; extra == "plot"]
}
