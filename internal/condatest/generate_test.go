package condatest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/resolve"
)

// The generated graph: N names, every one reachable from the specs, sizes
// spread as documented, a few tools, long dependency lists.
func TestGenerateShape(t *testing.T) {
	g, err := Generate(GenOptions{N: 600})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Names) != 600 || len(g.Installed) != 600 {
		t.Fatalf("%d names, %d installed", len(g.Names), len(g.Installed))
	}
	byName := map[string]Package{}
	var small, medium, deps, dependents int
	for _, p := range g.Packages {
		if g.Installed[p.Name] == p.Stem() {
			byName[p.Name] = p
		}
	}
	for _, name := range g.Names {
		p := byName[name]
		switch s := g.Sizes[name]; {
		case s < 1<<20+4096:
			small++
		case s < 10<<20+4096:
			medium++
		default:
			t.Errorf("%s: %d bytes without Big", name, s)
		}
		deps += len(p.Depends)
		if len(p.Depends) > 0 {
			dependents++
		}
	}
	if small < 540 || medium < 5 {
		t.Errorf("%d small and %d medium packages of 600: want most under 1 MiB and a few medium ones", small, medium)
	}
	if avg := float64(deps) / float64(dependents); avg < 6 {
		t.Errorf("%.1f dependencies per package that has any: want long lists", avg)
	}
	if len(g.Specs) < 20 || len(g.Specs) > 30 || len(g.Tools) != 6 {
		t.Errorf("%d specs, %d tools", len(g.Specs), len(g.Tools))
	}
	// Everything is reachable from the specs.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, d := range byName[name].Depends {
			walk(strings.Fields(d)[0])
		}
	}
	for _, s := range g.Specs {
		walk(s)
	}
	if len(seen) != 600 {
		t.Errorf("%d of 600 packages reachable from the specs", len(seen))
	}
	if len(g.Packages) <= 600 {
		t.Errorf("no older versions to choose from")
	}
	if _, err := Generate(GenOptions{N: 10, Bump: map[string]int{"numpy": 1}}); err == nil || !strings.Contains(err.Error(), "numpy") {
		t.Errorf("Bump of an unknown package: %v", err)
	}
}

// envkit's resolver installs exactly the generated environment from the
// written channel, and its records are as large as conda-forge's.
func TestGenerateSolves(t *testing.T) {
	g, err := Generate(GenOptions{N: 300, Seed: "solve"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteChannel(dir, g.Packages...); err != nil {
		t.Fatal(err)
	}
	l, err := resolve.Resolve(context.Background(), resolve.Request{Specs: g.Specs, Channels: []string{dir}, Platforms: []string{"linux-64"}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := l.Records("linux-64")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var recBytes int
	for _, r := range recs {
		got[r.Name] = r.Dist()
		b, _ := json.Marshal(r)
		recBytes += len(b)
	}
	if len(got) != len(g.Installed) {
		t.Errorf("solved %d packages, want %d", len(got), len(g.Installed))
	}
	for name, stem := range g.Installed {
		if got[name] != stem {
			t.Errorf("%s: solved %q, want %q", name, got[name], stem)
		}
	}
	if avg := recBytes / len(recs); avg < 500 {
		t.Errorf("records average %d bytes of JSON: want conda-forge-like records (500+)", avg)
	}
	t.Logf("%d records, %d bytes of JSON (%d each)", len(recs), recBytes, recBytes/len(recs))
}

// The same options give the same bytes; a bumped package changes its own
// file and the repodata, nothing else.
func TestGenerateDeterministic(t *testing.T) {
	write := func(opts GenOptions) map[string]string {
		g, err := Generate(opts)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := WriteChannel(dir, g.Packages...); err != nil {
			t.Fatal(err)
		}
		return hashTree(t, dir)
	}
	a, b := write(GenOptions{N: 80}), write(GenOptions{N: 80})
	if len(a) < 80 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("two runs differ:\n%v\n%v", a, b)
	}
	g, _ := Generate(GenOptions{N: 80})
	bumped := g.Names[10]
	c := write(GenOptions{N: 80, Bump: map[string]int{bumped: 1}})
	var gone, added []string
	for f, h := range a {
		if c[f] != h {
			gone = append(gone, f)
		}
	}
	for f := range c {
		if _, ok := a[f]; !ok {
			added = append(added, f)
		}
	}
	if len(gone) != 2 || len(added) != 1 || !strings.HasPrefix(added[0], "linux-64/"+bumped+"-1.") || !strings.Contains(strings.Join(gone, " "), "repodata.json") {
		t.Errorf("bumping %s: changed or removed %v, added %v", bumped, gone, added)
	}
	if d := write(GenOptions{N: 80, Seed: "other"}); d["linux-64/repodata.json"] == a["linux-64/repodata.json"] {
		t.Error("another seed gives the same channel")
	}
}

// Tools carry a text and a binary prefix placeholder; Big packages are
// 50–200 MiB of incompressible data.
func TestGenerateToolsAndBig(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 50–200 MiB package")
	}
	g, err := Generate(GenOptions{N: 40, Big: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	began := time.Now()
	if err := WriteChannel(dir, g.Packages...); err != nil {
		t.Fatal(err)
	}
	t.Logf("40 packages, %d MiB of payload, written in %v", g.TotalSize()>>20, time.Since(began).Round(time.Millisecond))
	var bigs int
	for _, name := range g.Names {
		s := g.Sizes[name]
		if s < 50<<20 {
			continue
		}
		bigs++
		if s > 200<<20+4096 {
			t.Errorf("%s: %d bytes", name, s)
		}
		fi, err := os.Stat(filepath.Join(dir, "linux-64", g.Installed[name]+".conda"))
		if err != nil || fi.Size() < s {
			t.Errorf("%s: %d bytes of payload in a %v-byte archive (%v): want incompressible data", name, s, fi.Size(), err)
		}
	}
	if bigs != 1 {
		t.Errorf("%d big packages, want 1", bigs)
	}
	if by := g.BySize(); g.Sizes[by[0]] < 50<<20 || g.Sizes[by[1]] >= 50<<20 || g.Sizes[by[20]] < g.Sizes[by[21]] {
		t.Errorf("BySize: %v", by)
	}
	tool := g.Tools[0]
	md, err := condapkg.ReadFile(filepath.Join(dir, "linux-64", g.Installed[tool]+".conda"))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]string{}
	for _, p := range md.Paths {
		if p.PrefixPlaceholder == Placeholder {
			modes[p.Path] = string(p.FileMode)
		}
	}
	if modes["bin/"+tool] != "text" || modes["lib/"+tool+"/prefix.bin"] != "binary" {
		t.Errorf("%s: placeholders %v", tool, modes)
	}
	if got := g.ToolOutput(tool, "/env"); !strings.Contains(got, "binary prefix: /env/lib/"+tool+"\n") {
		t.Errorf("ToolOutput: %q", got)
	}
}

// hashTree maps every file under dir to its sha256.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == cacheDir {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h[:8])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkGenerate writes generated channels:
//
//	go test -run '^$' -bench Generate ./internal/condatest
func BenchmarkGenerate(b *testing.B) {
	for _, o := range []GenOptions{{N: 600}, {N: 2000}, {N: 1000, Big: 3}} {
		b.Run(fmt.Sprintf("N=%d/Big=%d", o.N, o.Big), func(b *testing.B) {
			g, err := Generate(o)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(g.TotalSize())
			b.ReportMetric(float64(g.TotalSize())/(1<<20), "MiB")
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				if _, err := Generate(o); err != nil {
					b.Fatal(err)
				}
				if err := WriteChannel(dir, g.Packages...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Compressible payloads compress with gzip about as a shared library does,
// the default ones not at all; both are the same bytes on every run.
func TestGenerateCompressible(t *testing.T) {
	ratio := func(compressible bool) float64 {
		g, err := Generate(GenOptions{N: 30, Seed: "c", Compressible: compressible})
		if err != nil {
			t.Fatal(err)
		}
		var raw, packed int64
		for _, p := range g.Packages {
			for _, f := range p.Files {
				if f.Random == 0 {
					continue
				}
				if f.Compressible != compressible {
					t.Fatalf("%s %s: Compressible %v", p.Stem(), f.Path, f.Compressible)
				}
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				if _, err := io.Copy(zw, p.random(f)); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				raw += f.Random
				packed += int64(buf.Len())
			}
		}
		return float64(raw) / float64(packed)
	}
	if r := ratio(true); r < 2 || r > 3.2 {
		t.Errorf("compressible payloads: gzip ratio %.2f, want 2–3.2", r)
	}
	if r := ratio(false); r > 1.01 {
		t.Errorf("random payloads: gzip ratio %.2f, want about 1", r)
	}
	f := File{Path: "lib/x.bin", Random: 100_000, Compressible: true}
	a, _ := io.ReadAll(Package{Name: "x", Version: "1", Build: "0"}.random(f))
	b, _ := io.ReadAll(Package{Name: "x", Version: "1", Build: "0"}.random(f))
	if len(a) != 100_000 || !bytes.Equal(a, b) {
		t.Errorf("compressible data: %d bytes, the same twice: %v", len(a), bytes.Equal(a, b))
	}
}
