package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/resolve"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// Resolving pip requirements for CPython 3.12 on x86_64 Linux, with numpy
// installed by conda.
func ExampleResolve() {
	dir, err := os.MkdirTemp("", "index")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	whl := func(name, ver string, deps ...string) pypitest.File {
		return pypitest.File{Wheel: &pypitest.Wheel{Meta: pypitest.Meta{Name: name, Version: ver, RequiresDist: deps}}}
	}
	err = pypitest.WriteIndex(dir,
		pypitest.Project{Name: "pandas", Files: []pypitest.File{whl("pandas", "2.2.3", "numpy>=1.26", "tzdata"), whl("pandas", "3.0.0", "numpy>=2")}},
		pypitest.Project{Name: "tzdata", Files: []pypitest.File{whl("tzdata", "2024.2")}})
	if err != nil {
		panic(err)
	}
	env, compat, err := resolve.Target(tags.Target{Python: [2]int{3, 12}, OS: tags.Linux, Arch: "x86_64", Glibc: [2]int{2, 28}}, version.MustParse("3.12.7"))
	if err != nil {
		panic(err)
	}
	req := resolve.Request{
		Python: version.MustParse("3.12.7"), Env: env, Tags: compat,
		Index: &index.Client{Indexes: []string{dir}},
		Installed: map[string]resolve.Installed{
			"numpy": {Name: "numpy", Version: version.MustParse("1.26.4"), Origin: "numpy-1.26.4-py312h1234_0 (conda)"},
		},
		Requirements: []resolve.Requirement{{Requirement: requirement.MustParse("pandas"), Origin: "conda.yml:9"}},
	}
	res, err := resolve.Resolve(context.Background(), req)
	if err != nil {
		panic(err)
	}
	for _, p := range res.Packages {
		fmt.Println(p.Name, p.Version, p.File.Filename, p.Requested, p.Requires)
	}
	for _, i := range res.Satisfied {
		fmt.Println(i.Name, i.Version, "from", i.Origin)
	}

	req.Requirements = append(req.Requirements, resolve.Requirement{Requirement: requirement.MustParse("pandas>=3"), Origin: "conda.yml:10"})
	_, err = resolve.Resolve(context.Background(), req)
	var unsat *resolve.UnsatError
	if errors.As(err, &unsat) {
		fmt.Println(unsat)
	}
	// Output:
	// pandas 2.2.3 pandas-2.2.3-py3-none-any.whl true [numpy tzdata]
	// tzdata 2024.2 tzdata-2024.2-py3-none-any.whl false []
	// numpy 1.26.4 from numpy-1.26.4-py312h1234_0 (conda)
	// the pip requirements cannot be resolved:
	//   Because pandas==3.0.0 depends on numpy>=2, which is unavailable (numpy 1.26.4 is installed by numpy-1.26.4-py312h1234_0 (conda)) and the request requires pandas>=3 (conda.yml:10), the requirements cannot be installed together.
}
