package resolve

import (
	"context"
	"github.com/envkit/envkit/internal/testdata"
	"testing"

	"github.com/envkit/envkit/conda/repodata"
)

// BenchmarkResolve locks conda's test_iopro_mkl case from the conda-index1
// channel as a local directory: "cold" with a new gateway each time (repodata
// read and parsed), "warm" with one gateway (parsed repodata kept in memory:
// the solve and the lock).
func BenchmarkResolve(b *testing.B) {
	var c testdata.SolverCase
	for _, sc := range testdata.SolverCases(b) {
		if sc.Source == "conda/conda conda/testing/solver_helpers.py::test_iopro_mkl" {
			c = sc
		}
	}
	if c.Specs == nil {
		b.Fatal("test_iopro_mkl not found")
	}
	dir := channelDir(b, "conda-index1")
	run := func(b *testing.B, g func() *repodata.Gateway) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Resolve(context.Background(), Request{
				Specs: c.Specs, Channels: []string{dir}, Platforms: []string{c.Platform}, Gateway: g(),
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cold", func(b *testing.B) { run(b, func() *repodata.Gateway { return &repodata.Gateway{} }) })
	warm := &repodata.Gateway{}
	b.Run("warm", func(b *testing.B) { run(b, func() *repodata.Gateway { return warm }) })
}

// BenchmarkCheckLock checks the lock of test_iopro_mkl against its request
// (every rule; no network): the cost CheckLock adds to reusing a lock.
func BenchmarkCheckLock(b *testing.B) {
	var c testdata.SolverCase
	for _, sc := range testdata.SolverCases(b) {
		if sc.Source == "conda/conda conda/testing/solver_helpers.py::test_iopro_mkl" {
			c = sc
		}
	}
	req := Request{Specs: c.Specs, Channels: []string{channelDir(b, "conda-index1")}, Platforms: []string{c.Platform}}
	l, err := Resolve(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := req.CheckLock(l, c.Platform); err != nil {
			b.Fatal(err)
		}
	}
}
