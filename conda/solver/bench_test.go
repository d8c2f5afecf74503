package solver

import (
	"context"
	"fmt"
	"github.com/envkit/envkit/internal/testdata"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/virtual"
)

// sudokuSpecs is mamba's sudoku request (libmamba test_problems_graph): the
// givens of a classic puzzle over sudoku.json, where package sudoku_C_R at
// version D puts digit D in a cell and depends on its peers being other
// digits. mamba expects it to be unsolvable (the repodata's box peers are
// not the real sudoku boxes), so it is a stress test for proving
// unsatisfiability and explaining it.
func sudokuSpecs(t testing.TB) []*MatchSpec {
	givens := []string{
		"0_0 == 5", "1_0 == 3", "4_0 == 7", "0_1 == 6", "3_1 == 1", "4_1 == 9", "5_1 == 5", "1_2 == 9",
		"2_2 == 8", "7_2 == 6", "0_3 == 8", "4_3 == 6", "8_3 == 3", "0_4 == 4", "3_4 == 8", "5_4 == 3",
		"8_4 == 1", "0_5 == 7", "4_5 == 2", "8_5 == 6", "1_6 == 6", "6_6 == 2", "7_6 == 8", "3_7 == 4",
		"4_7 == 1", "5_7 == 9", "8_7 == 5", "4_8 == 8", "7_8 == 7", "8_8 == 9",
	}
	var ss []string
	for _, g := range givens {
		ss = append(ss, "sudoku_"+g)
	}
	return specs(t, ss...)
}

func TestSudoku(t *testing.T) {
	recs := loadIndex(t, "https://conda.example/sudoku", "conda", "indexes", "sudoku.json")
	ue := mustUnsat(t, Problem{Specs: sudokuSpecs(t), Available: recs})
	text := ue.Error()
	wantContains(t, text, "the following packages are incompatible", "sudoku_")
	if n := strings.Count(text, "\n"); n > maxExplainLines+5 {
		t.Errorf("explanation has %d lines", n)
	}
	if len(ue.Specs) == 0 || len(ue.Packages) < 2 {
		t.Errorf("specs %v packages %v", ue.Specs, ue.Packages)
	}
	// The proof must hold whatever the input order.
	slices.Reverse(recs)
	mustUnsat(t, Problem{Specs: sudokuSpecs(t), Available: recs})
}

func TestCondaForgeNumpy(t *testing.T) {
	recs := loadIndex(t, "https://conda.anaconda.org/conda-forge", "conda", "indexes", "conda-forge-numpy-linux-64.json")
	got := mustSolve(t, Problem{Specs: specs(t, "numpy"), Available: recs, Virtual: linuxVirtual(t)})
	for _, name := range []string{"numpy", "python", "libopenblas", "python_abi"} {
		if find(got, name) == nil {
			t.Errorf("%s missing from %v", name, dists(got))
		}
	}
	if r := find(got, "python"); r.Version.String() != "3.12.1" {
		t.Errorf("python %s, want the newest (3.12.1)", r.Version)
	}
}

// linuxVirtual is what conda/virtual gives a linux-64 image by default.
func linuxVirtual(t testing.TB) []*record.PackageRecord {
	vs, err := virtual.ForPlatform(virtual.Options{Platform: "linux-64"})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

var index4Requests = [][]string{
	{"numpy", "pandas", "python 3.6*"},
	{"conda-build"},
	{"dask", "distributed", "bokeh"},
	{"ipython-notebook", "sqlalchemy", "python 2.7*"},
}

func TestIndex4(t *testing.T) {
	recs := loadIndex(t, "https://conda.example/index4", "conda", "indexes", "index4.json")
	for _, req := range index4Requests {
		got := mustSolve(t, Problem{Specs: specs(t, req...), Available: recs})
		for _, s := range req {
			name := strings.Fields(s)[0]
			if find(got, name) == nil {
				t.Errorf("%v: %s not installed: %v", req, name, dists(got))
			}
		}
	}
}

// benchSolve times solves of p over an Index of p.Available built
// beforehand, as a caller that loads repodata once solves over it
// (BenchmarkNewIndex times the index).
func benchSolve(b *testing.B, p Problem) {
	ix := mustIndex(b, p.Available)
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := ix.Solve(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func mustIndex(b *testing.B, recs []*record.RepoDataRecord) *Index {
	ix, err := NewIndex(recs)
	if err != nil {
		b.Fatal(err)
	}
	return ix
}

// BenchmarkNewIndex times building the Index that the other benchmarks
// solve over, for each of their record sets.
func BenchmarkNewIndex(b *testing.B) {
	sets := []struct {
		name string
		recs func() []*record.RepoDataRecord
	}{
		{"index1", func() []*record.RepoDataRecord { return loadChannel(b, index1URL, "conda", "channels", "conda-index1") }},
		{"index4", func() []*record.RepoDataRecord {
			return loadIndex(b, "https://conda.example/index4", "conda", "indexes", "index4.json")
		}},
		{"conda-forge-numpy", func() []*record.RepoDataRecord {
			return loadIndex(b, "https://conda.anaconda.org/conda-forge", "conda", "indexes", "conda-forge-numpy-linux-64.json")
		}},
		{"sudoku", func() []*record.RepoDataRecord {
			return loadIndex(b, "https://conda.example/sudoku", "conda", "indexes", "sudoku.json")
		}},
		{"large-renamed", func() []*record.RepoDataRecord { return largeRenamed(b) }},
	}
	for _, set := range sets {
		b.Run(set.name, func(b *testing.B) {
			recs := set.recs()
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				mustIndex(b, recs)
			}
			reportCPU(b, cpu)
		})
	}
}

// cpuTime is the process's CPU time (user and system, every thread: the
// garbage collector's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per solve since start: on a machine shared
// with other work it moves less than the wall time per solve (ns/op).
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkSolverCases(b *testing.B) {
	recs := loadChannel(b, index1URL, "conda", "channels", "conda-index1")
	for _, c := range testdata.SolverCases(b) {
		b.Run(c.Source[strings.LastIndex(c.Source, "::")+2:], func(b *testing.B) {
			benchSolve(b, Problem{Specs: specs(b, c.Specs...), Available: append(recs, caseExtras[c.Source]...)})
		})
	}
}

func BenchmarkIndex4(b *testing.B) {
	recs := loadIndex(b, "https://conda.example/index4", "conda", "indexes", "index4.json")
	for _, req := range index4Requests {
		b.Run(strings.Join(req, ","), func(b *testing.B) {
			benchSolve(b, Problem{Specs: specs(b, req...), Available: recs})
		})
	}
}

// BenchmarkSudoku proves the sudoku request unsatisfiable and explains it.
func BenchmarkSudoku(b *testing.B) {
	recs := loadIndex(b, "https://conda.example/sudoku", "conda", "indexes", "sudoku.json")
	p := Problem{Specs: sudokuSpecs(b)}
	ix := mustIndex(b, recs)
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := ix.Solve(context.Background(), p); err == nil {
			b.Fatal("sudoku solved; mamba expects it unsolvable")
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkCondaForgeNumpy(b *testing.B) {
	recs := loadIndex(b, "https://conda.anaconda.org/conda-forge", "conda", "indexes", "conda-forge-numpy-linux-64.json")
	benchSolve(b, Problem{Specs: specs(b, "numpy"), Available: recs, Virtual: linuxVirtual(b)})
}

// BenchmarkLargeAvailable measures a conda-forge sized input: index4
// served by 20 mirrors (112,860 records), flexible priority so that every
// mirror's records stay candidates.
func BenchmarkLargeAvailable(b *testing.B) {
	base := loadIndex(b, "", "conda", "indexes", "index4.json")
	var recs []*record.RepoDataRecord
	var order []string
	for m := 0; m < 20; m++ {
		ch := fmt.Sprintf("https://mirror%d.example/main", m)
		order = append(order, ch)
		for _, r := range base {
			c := *r
			c.Channel = ch
			recs = append(recs, &c)
		}
	}
	b.Logf("%d records", len(recs))
	benchSolve(b, Problem{Specs: specs(b, "dask", "distributed", "bokeh"), Available: recs, ChannelOrder: order, ChannelPriority: Flexible})
}

// BenchmarkLargeRenamed is as large (index4 x 20, 112,860 records) but
// every copy after the first is under other package names (numpy-m3
// depends on python-m3): a large repodata of which a request reaches a
// small part, as a conda-forge request does (bench/solver's "renamed"
// problems, with the same two requests).
func BenchmarkLargeRenamed(b *testing.B) {
	recs := largeRenamed(b)
	for _, req := range [][]string{index4Requests[0], index4Requests[2]} {
		b.Run(strings.Join(req, ","), func(b *testing.B) {
			benchSolve(b, Problem{Specs: specs(b, req...), Available: recs})
		})
	}
}

// largeRenamed is index4 and 19 renamed copies of it.
func largeRenamed(b *testing.B) []*record.RepoDataRecord {
	base := loadIndex(b, "https://conda.example/index4", "conda", "indexes", "index4.json")
	rename := func(ss []string, suffix string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			name, rest, _ := strings.Cut(s, " ")
			out[i] = strings.TrimSpace(name + suffix + " " + rest)
		}
		return out
	}
	recs := slices.Clone(base)
	for m := 1; m < 20; m++ {
		suffix := fmt.Sprintf("-m%d", m)
		for _, r := range base {
			c := *r
			c.Name += suffix
			c.FileName = strings.Replace(c.FileName, r.Name, c.Name, 1)
			c.Depends, c.Constrains = rename(r.Depends, suffix), rename(r.Constrains, suffix)
			recs = append(recs, &c)
		}
	}
	return recs
}
