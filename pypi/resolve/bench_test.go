package resolve

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
)

// BenchmarkResolve resolves the root requirements of a generated index of
// 200 projects x 20 versions (a directory read by index.Client, PEP 658
// metadata files), from scratch each time.
func BenchmarkResolve(b *testing.B) {
	g := pypitest.Generate(pypitest.GenOptions{})
	dir := b.TempDir()
	if err := pypitest.WriteIndex(dir, g.Projects...); err != nil {
		b.Fatal(err)
	}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		req := request(b, &index.Client{Indexes: []string{dir}}, g.Requires...)
		res, err := Resolve(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		n = len(res.Packages)
	}
	b.ReportMetric(float64(n), "packages")
}

// TestGenerated resolves generated indexes and checks each resolution:
// every requirement of every chosen package (for the target, with its
// extras) is met by the chosen versions, and each root project is there.
func TestGenerated(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		g := pypitest.Generate(pypitest.GenOptions{Projects: 60, Versions: 10, Roots: 8, Seed: seed})
		dir := t.TempDir()
		if err := pypitest.WriteIndex(dir, g.Projects...); err != nil {
			t.Fatal(err)
		}
		ix := &index.Client{Indexes: []string{dir}}
		req := request(t, ix, g.Requires...)
		res, err := Resolve(context.Background(), req)
		if err != nil {
			var ue *UnsatError
			if errors.As(err, &ue) {
				t.Logf("seed %d: unsatisfiable:\n%s", seed, ue)
				continue
			}
			t.Fatalf("seed %d: %v", seed, err)
		}
		chosen := map[string]Package{}
		for _, p := range res.Packages {
			chosen[p.Name] = p
		}
		for _, r := range req.Requirements {
			if _, ok := chosen[r.Name]; !ok {
				t.Errorf("seed %d: root %s missing", seed, r.Name)
			}
		}
		for _, p := range res.Packages {
			m, err := ix.Metadata(context.Background(), p.File)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range m.RequiresDist {
				if !r.Applies(req.Env) {
					continue
				}
				q, ok := chosen[r.Name]
				if !ok || !r.Specifier.Matches(q.Version) {
					t.Errorf("seed %d: %s %s requires %s, got %+v", seed, p.Name, p.Version, r, q.Version)
				}
			}
		}
	}
}

// BenchmarkResolveMem resolves generated indexes held in memory
// (pypitest.MemIndex): the resolver alone, without file reads, at two
// sizes.
func BenchmarkResolveMem(b *testing.B) {
	for _, o := range []pypitest.GenOptions{{Projects: 200, Versions: 20}, {Projects: 1000, Versions: 50, Roots: 40}} {
		g := pypitest.Generate(o)
		ix, err := pypitest.NewMemIndex(g.Projects...)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx%d", o.Projects, o.Versions), func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				res, err := Resolve(context.Background(), request(b, ix, g.Requires...))
				if err != nil {
					b.Fatal(err)
				}
				n = len(res.Packages)
			}
			b.ReportMetric(float64(n), "packages")
		})
	}
}
