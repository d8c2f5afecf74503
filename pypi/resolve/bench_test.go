package resolve

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
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

// TestGenerated resolves generated indexes (in memory; BenchmarkResolve
// and the packse scenarios read files) and checks each resolution:
// every requirement of every chosen package (for the target, with its
// extras) is met by the chosen versions, and each root project is there.
func TestGenerated(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for seed := range uint64(seeds) {
		g := pypitest.Generate(pypitest.GenOptions{Projects: 150, Versions: 15, Roots: 10, Seed: seed + 1})
		ix, err := pypitest.NewMemIndex(g.Projects...)
		if err != nil {
			t.Fatal(err)
		}
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

// latencyIndex answers each request after a fixed delay, as a remote
// index would.
type latencyIndex struct {
	Index
	delay time.Duration
}

func (l latencyIndex) Project(ctx context.Context, name string) (*index.Project, error) {
	time.Sleep(l.delay)
	return l.Index.Project(ctx, name)
}

func (l latencyIndex) Metadata(ctx context.Context, f index.File) (*metadata.Metadata, error) {
	time.Sleep(l.delay)
	return l.Index.Metadata(ctx, f)
}

// BenchmarkResolveLatency resolves the generated 200 x 20 index with 10 ms
// per request (a remote index): what reading pages and metadata ahead and
// in parallel saves.
func BenchmarkResolveLatency(b *testing.B) {
	g := pypitest.Generate(pypitest.GenOptions{})
	mem, err := pypitest.NewMemIndex(g.Projects...)
	if err != nil {
		b.Fatal(err)
	}
	ix := latencyIndex{Index: mem, delay: 10 * time.Millisecond}
	for b.Loop() {
		if _, err := Resolve(context.Background(), request(b, ix, g.Requires...)); err != nil {
			b.Fatal(err)
		}
	}
}
