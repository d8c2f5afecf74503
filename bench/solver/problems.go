package main

import (
	"bytes"
	"fmt"
	"github.com/envkit/envkit/internal/testdata"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/conda/virtual"
)

// problem is one benchmark case: the same solver.Problem goes to both
// solvers.
type problem struct {
	Name string
	// Want is the expected solution (conda's test suite), if known.
	Want []string
	// load makes Problem and ParseMS.
	load func() error

	Problem solver.Problem
	// ParseMS is how long conda/repodata took to parse and decode the
	// records (not part of a solve).
	ParseMS float64
}

// index4Requests are conda/solver's BenchmarkIndex4 requests.
var index4Requests = [][]string{
	{"numpy", "pandas", "python 3.6*"},
	{"conda-build"},
	{"dask", "distributed", "bokeh"},
	{"ipython-notebook", "sqlalchemy", "python 2.7*"},
}

// listProblems lists every problem over the shared fixtures under dir
// (shared/testdata); mirrors is how many copies of index4 the large
// problems have. A problem's files are read by its load, once for all the
// problems that share them.
func listProblems(dir string, mirrors int) []*problem {
	conda := filepath.Join(dir, "conda")
	fs := files{}
	var out []*problem
	add := func(name string, want []string, specs []string, recs func() ([]*record.RepoDataRecord, float64, error), setup func(*solver.Problem) error) {
		p := &problem{Name: name, Want: want}
		p.load = func() error {
			ss, err := parseSpecs(specs)
			if err != nil {
				return err
			}
			avail, ms, err := recs()
			if err != nil {
				return err
			}
			p.Problem, p.ParseMS = solver.Problem{Specs: ss, Available: avail}, ms
			if setup != nil {
				return setup(&p.Problem)
			}
			return nil
		}
		out = append(out, p)
	}

	index4 := fs.loader(filepath.Join(conda, "indexes", "index4.json"), "https://conda.example/index4")
	for _, req := range index4Requests {
		add("index4 "+strings.Join(req, ","), nil, req, index4, nil)
	}

	cases, err := testdata.ReadSolverCases(filepath.Join(conda, "solver-cases.json"))
	if err != nil {
		out = append(out, &problem{Name: "index1 cases", load: func() error { return err }})
	}
	for _, c := range cases {
		name := c.Source[strings.LastIndex(c.Source, "::")+2:]
		index1 := fs.loader(filepath.Join(conda, c.Channel, c.Platform, "repodata.json"), index1URL)
		add("index1 "+name, c.Expected, c.Specs, func() ([]*record.RepoDataRecord, float64, error) {
			recs, ms, err := index1()
			return append(slices.Clip(recs), caseExtras[name]...), ms, err
		}, nil)
	}

	add("conda-forge numpy", nil, []string{"numpy"},
		fs.loader(filepath.Join(conda, "indexes", "conda-forge-numpy-linux-64.json"), "https://conda.anaconda.org/conda-forge"),
		func(p *solver.Problem) (err error) {
			p.Virtual, err = virtual.ForPlatform(virtual.Options{Platform: "linux-64"})
			return err
		})

	// conda/solver's BenchmarkLargeAvailable: index4 on many mirrors, every
	// mirror's records candidates with flexible priority, only the first
	// mirror's with strict priority.
	var large []*record.RepoDataRecord
	var order []string
	mirrored := func() ([]*record.RepoDataRecord, float64, error) {
		base, ms, err := index4()
		if err != nil || large != nil {
			return large, ms * float64(mirrors), err
		}
		for m := range mirrors {
			ch := fmt.Sprintf("https://mirror%d.example/main", m)
			order = append(order, ch)
			for _, r := range base {
				c := *r
				c.Channel = ch
				large = append(large, &c)
			}
		}
		return large, ms * float64(mirrors), nil
	}
	for _, prio := range []solver.Priority{solver.Strict, solver.Flexible} {
		for _, req := range [][]string{index4Requests[0], index4Requests[2]} {
			add(fmt.Sprintf("index4x%d %s %s", mirrors, prio, strings.Join(req, ",")), nil, req, mirrored,
				func(p *solver.Problem) error {
					p.ChannelOrder, p.ChannelPriority = order, prio
					return nil
				})
		}
	}

	// The same size with every copy but the first under other package names
	// (numpy-m3 depends on python-m3): a large repodata of which a request
	// reaches a small part, as a conda-forge request does, without the
	// mirrors' identical candidates.
	var renamed []*record.RepoDataRecord
	renamedRecs := func() ([]*record.RepoDataRecord, float64, error) {
		base, ms, err := index4()
		if err != nil || renamed != nil {
			return renamed, ms * float64(mirrors), err
		}
		for m := range mirrors {
			for _, r := range base {
				if m == 0 {
					renamed = append(renamed, r)
					continue
				}
				c := *r
				suffix := fmt.Sprintf("-m%d", m)
				c.Name += suffix
				c.FileName = strings.Replace(c.FileName, r.Name, c.Name, 1)
				c.Depends, c.Constrains = renameSpecs(r.Depends, suffix), renameSpecs(r.Constrains, suffix)
				renamed = append(renamed, &c)
			}
		}
		return renamed, ms * float64(mirrors), nil
	}
	for _, req := range [][]string{index4Requests[0], index4Requests[2]} {
		add(fmt.Sprintf("index4x%d renamed %s", mirrors, strings.Join(req, ",")), nil, req, renamedRecs, nil)
	}

	// mamba's sudoku: unsatisfiable, a stress test for proving it.
	var givens []string
	for _, g := range sudokuGivens {
		givens = append(givens, "sudoku_"+g)
	}
	add("sudoku (unsat)", nil, givens, fs.loader(filepath.Join(conda, "indexes", "sudoku.json"), "https://conda.example/sudoku"), nil)
	return out
}

// renameSpecs appends suffix to the package name of each spec.
func renameSpecs(specs []string, suffix string) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		name, rest, _ := strings.Cut(s, " ")
		out[i] = strings.TrimSpace(name + suffix + " " + rest)
	}
	return out
}

// files reads each fixture file once.
type files map[string]func() ([]*record.RepoDataRecord, float64, error)

func (fs files) loader(path, channel string) func() ([]*record.RepoDataRecord, float64, error) {
	if f, ok := fs[path]; ok {
		return f
	}
	var recs []*record.RepoDataRecord
	var ms float64
	var err error
	done := false
	f := func() ([]*record.RepoDataRecord, float64, error) {
		if !done {
			recs, ms, err = loadFile(path, channel)
			done = true
		}
		return recs, ms, err
	}
	fs[path] = f
	return f
}

// sudokuGivens are mamba's sudoku request (libmamba test_problems_graph), as
// conda/solver's BenchmarkSudoku has them: package sudoku_C_R at version D
// puts digit D in a cell. mamba expects it to be unsolvable.
var sudokuGivens = []string{
	"0_0 == 5", "1_0 == 3", "4_0 == 7", "0_1 == 6", "3_1 == 1", "4_1 == 9", "5_1 == 5", "1_2 == 9",
	"2_2 == 8", "7_2 == 6", "0_3 == 8", "4_3 == 6", "8_3 == 3", "0_4 == 4", "3_4 == 8", "5_4 == 3",
	"8_4 == 1", "0_5 == 7", "4_5 == 2", "8_5 == 6", "1_6 == 6", "6_6 == 2", "7_6 == 8", "3_7 == 4",
	"4_7 == 1", "5_7 == 9", "8_7 == 5", "4_8 == 8", "7_8 == 7", "8_8 == 9",
}

// loadFile parses a repodata.json, or a flat {filename: record} index (as
// conda's test indexes are), with conda/repodata and decodes every record.
func loadFile(path, channel string) ([]*record.RepoDataRecord, float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if !bytes.Contains(data[:min(len(data), 4096)], []byte(`"packages`)) {
		data = append(append([]byte(`{"packages":`), data...), '}')
	}
	start := time.Now()
	rd, err := repodata.Parse(data, channel, "linux-64")
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	recs := rd.Records()
	ms := msSince(start)
	// conda's test indexes hold a few junk records whose file name is not
	// their name-version-build (e.g. name "_dummy_anaconda_impl-1.0-0.tar.bz2"):
	// repodata skips them for both solvers alike. Any other skip is an error.
	for _, w := range rd.Warnings() {
		if !strings.Contains(w.Msg, "does not match the record's name, version and build") {
			return nil, 0, fmt.Errorf("%s: record skipped: %w", path, w)
		}
	}
	return recs, ms, nil
}

const index1URL = "https://conda.example/index1"

// caseExtras are the records conda's test adds to the index before solving
// (as conda/solver's TestSolverCases does).
var caseExtras = map[string][]*record.RepoDataRecord{
	"test_nonexistent_deps": {
		extra("mypackage", "1.0", "nose", "python 3.3*", "notarealpackage 2.0*"),
		extra("mypackage", "1.1", "nose", "python 3.3*"),
		extra("anotherpackage", "1.0", "nose", "mypackage 1.1"),
		extra("anotherpackage", "2.0", "nose", "mypackage"),
	},
}

func extra(name, ver string, deps ...string) *record.RepoDataRecord {
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: "0", Depends: deps, Subdir: "linux-64"},
		FileName:      name + "-" + ver + "-0.tar.bz2", Channel: index1URL,
	}
}

func parseSpecs(ss []string) ([]*matchspec.MatchSpec, error) {
	var out []*matchspec.MatchSpec
	for _, s := range ss {
		m, err := matchspec.ParseLenient(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }
