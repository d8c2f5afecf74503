package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	Name    string
	Problem solver.Problem
	// ParseMS is how long conda/repodata took to parse and decode the
	// records (shared by problems over the same file; not part of a solve).
	ParseMS float64
	// Want is the expected solution (conda's test suite), if known.
	Want []string
}

// index4Requests are conda/solver's BenchmarkIndex4 requests.
var index4Requests = [][]string{
	{"numpy", "pandas", "python 3.6*"},
	{"conda-build"},
	{"dask", "distributed", "bokeh"},
	{"ipython-notebook", "sqlalchemy", "python 2.7*"},
}

// loadProblems builds every problem from the shared fixtures under dir
// (shared/testdata); mirrors is how many copies of index4 the large problem
// has.
func loadProblems(dir string, mirrors int) ([]problem, error) {
	var out []problem
	conda := filepath.Join(dir, "conda")

	index4, ms4, err := loadFile(filepath.Join(conda, "indexes", "index4.json"), "https://conda.example/index4")
	if err != nil {
		return nil, err
	}
	for _, req := range index4Requests {
		ss, err := parseSpecs(req)
		if err != nil {
			return nil, err
		}
		out = append(out, problem{Name: "index4 " + strings.Join(req, ","), ParseMS: ms4,
			Problem: solver.Problem{Specs: ss, Available: index4}})
	}

	cases, err := loadCases(filepath.Join(conda, "solver-cases.json"))
	if err != nil {
		return nil, err
	}
	for _, c := range cases {
		recs, ms, err := loadFile(filepath.Join(conda, c.Channel, c.Platform, "repodata.json"), index1URL)
		if err != nil {
			return nil, err
		}
		ss, err := parseSpecs(c.Specs)
		if err != nil {
			return nil, err
		}
		name := c.Source[strings.LastIndex(c.Source, "::")+2:]
		out = append(out, problem{Name: "index1 " + name, ParseMS: ms, Want: c.Expected,
			Problem: solver.Problem{Specs: ss, Available: append(recs, caseExtras[name]...)}})
	}

	numpy, ms, err := loadFile(filepath.Join(conda, "indexes", "conda-forge-numpy-linux-64.json"), "https://conda.anaconda.org/conda-forge")
	if err != nil {
		return nil, err
	}
	vs, err := virtual.ForPlatform(virtual.Options{Platform: "linux-64"})
	if err != nil {
		return nil, err
	}
	out = append(out, problem{Name: "conda-forge numpy", ParseMS: ms,
		Problem: solver.Problem{Specs: []*matchspec.MatchSpec{matchspec.MustParse("numpy")}, Available: numpy, Virtual: vs}})

	// conda/solver's BenchmarkLargeAvailable: index4 on many mirrors,
	// flexible priority so that every mirror's records stay candidates.
	var large []*record.RepoDataRecord
	var order []string
	for m := range mirrors {
		ch := fmt.Sprintf("https://mirror%d.example/main", m)
		order = append(order, ch)
		for _, r := range index4 {
			c := *r
			c.Channel = ch
			large = append(large, &c)
		}
	}
	for _, prio := range []solver.Priority{solver.Strict, solver.Flexible} {
		for _, req := range [][]string{index4Requests[0], index4Requests[2]} {
			ss, err := parseSpecs(req)
			if err != nil {
				return nil, err
			}
			out = append(out, problem{Name: fmt.Sprintf("index4x%d %s %s", mirrors, strings.ToLower(prio.String()), strings.Join(req, ",")),
				ParseMS: ms4 * float64(mirrors),
				Problem: solver.Problem{Specs: ss, Available: large, ChannelOrder: order, ChannelPriority: prio}})
		}
	}

	// mamba's sudoku: unsatisfiable, a stress test for proving it.
	sudoku, ms, err := loadFile(filepath.Join(conda, "indexes", "sudoku.json"), "https://conda.example/sudoku")
	if err != nil {
		return nil, err
	}
	var givens []string
	for _, g := range sudokuGivens {
		givens = append(givens, "sudoku_"+g)
	}
	ss, err := parseSpecs(givens)
	if err != nil {
		return nil, err
	}
	out = append(out, problem{Name: "sudoku (unsat)", ParseMS: ms, Problem: solver.Problem{Specs: ss, Available: sudoku}})
	return out, nil
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
	if w := rd.Warnings(); len(w) > 0 {
		return nil, 0, fmt.Errorf("%s: %d records skipped, first: %v", path, len(w), w[0])
	}
	return recs, ms, nil
}

const index1URL = "https://conda.example/index1"

type solverCase struct {
	Source   string   `json:"source"`
	Channel  string   `json:"channel"`
	Platform string   `json:"platform"`
	Specs    []string `json:"specs"`
	Expected []string `json:"expected"`
}

func loadCases(path string) ([]solverCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []solverCase
	if err := json.Unmarshal(data, &cases); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cases, nil
}

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
