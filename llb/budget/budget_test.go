package budget

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pkg is a package of a generated environment: a name, a version and a
// size; its identity is name and version.
type pkg struct {
	name    string
	version int
	size    int64
}

func (p pkg) id() string { return p.name + "=" + strconv.Itoa(p.version) }

func packages(ps []pkg) []Package {
	out := make([]Package, len(ps))
	for i, p := range ps {
		out[i] = Package{Name: p.name, Size: p.size}
	}
	return out
}

// environment returns n packages with a realistic spread of sizes: a few
// large (50-200 MB), most under 1 MB.
func environment(r *rand.Rand, n int) []pkg {
	ps := make([]pkg, n)
	for i := range ps {
		ps[i] = pkg{name: fmt.Sprintf("pkg-%d-%x", i, r.Uint32()), version: 1, size: smallSize(r)}
		if r.IntN(100) < 2 {
			ps[i].size = 50<<20 + r.Int64N(150<<20)
		}
	}
	return ps
}

func smallSize(r *rand.Rand) int64 { return 1<<10 + r.Int64N(1<<20) }

func split(t *testing.T, ps []pkg, max int) *Plan {
	t.Helper()
	p, err := Split(packages(ps), max, DefaultLarge)
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, ps, max, p)
	return p
}

// checkPlan checks the invariants of every plan: the groups cover the
// packages in order, none is empty, they fit the budget, and each package
// of at least p.Large bytes is alone.
func checkPlan(t *testing.T, ps []pkg, max int, p *Plan) {
	t.Helper()
	if len(p.Groups) > max {
		t.Fatalf("%d packages, budget %d: %d groups", len(ps), max, len(p.Groups))
	}
	next := 0
	for _, g := range p.Groups {
		if g.Start != next || g.End <= g.Start {
			t.Fatalf("groups %v do not cover the packages in order", p.Groups)
		}
		next = g.End
		for i := g.Start; i < g.End; i++ {
			if p.Large > 0 && ps[i].size >= p.Large && g.Len() != 1 {
				t.Fatalf("large package %d (%d bytes, threshold %d) shares group %v", i, ps[i].size, p.Large, g)
			}
		}
	}
	if next != len(ps) {
		t.Fatalf("groups %v end at %d of %d packages", p.Groups, next, len(ps))
	}
}

// contents lists each group's packages by identity.
func contents(ps []pkg, p *Plan) []string {
	out := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		var b strings.Builder
		for _, q := range ps[g.Start:g.End] {
			b.WriteString(q.id() + " ")
		}
		out[i] = b.String()
	}
	return out
}

// changed counts the groups of b that are not groups of a: the layers a
// build of b makes that a build of a did not.
func changed(a, b []string) int {
	n := 0
	for _, g := range b {
		if !slices.Contains(a, g) {
			n++
		}
	}
	return n
}

func TestSplitFits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 60, 99, 100, 101, 200, 600, 1000, 2000, 5000} {
		ps := environment(r, n)
		for _, max := range []int{1, 2, 7, 20, 50, 96, 100} {
			p := split(t, ps, max)
			if n <= max && len(p.Groups) != n {
				t.Errorf("%d packages fit %d layers, but got %d groups", n, max, len(p.Groups))
			}
			if n > max && p.Large < DefaultLarge {
				t.Errorf("threshold %d below the one asked for", p.Large)
			}
		}
	}
}

// Packages that fit have a layer each; those that do not fill most of the
// budget (the smallest spacing that fits), not one layer.
func TestSplitUsesBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ps := environment(r, 600)
	p := split(t, ps, 96)
	if len(p.Groups) < 96/4 {
		t.Errorf("600 packages in %d of 96 layers (spacing %d)", len(p.Groups), p.Spacing)
	}
	if p.Spacing < 2 {
		t.Errorf("spacing %d", p.Spacing)
	}
}

// A new version of one package (of the same size class) changes exactly
// one group: its own.
func TestSplitVersionBump(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 101 + r.IntN(2000)
		max := 10 + r.IntN(90)
		ps := environment(r, n)
		before := split(t, ps, max)
		i := r.IntN(n)
		ps2 := slices.Clone(ps)
		ps2[i].version++
		if ps2[i].size < DefaultLarge {
			ps2[i].size = smallSize(r)
		} else {
			ps2[i].size += 1 << 20
		}
		after := split(t, ps2, max)
		if after.Spacing != before.Spacing || after.Large != before.Large {
			t.Fatalf("a version bump changed the plan's parameters: %+v -> %+v", before, after)
		}
		if c := changed(contents(ps, before), contents(ps2, after)); c != 1 {
			t.Fatalf("n=%d max=%d: bumping package %d changed %d groups", n, max, i, c)
		}
	}
}

// Adding or removing a package changes the groups beside it only: at most
// two new groups for a small package added, one for one removed, as long
// as the plan's spacing and threshold stay (they change only when the
// number of groups crosses the budget: rarely).
func TestSplitAddRemove(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const trials = 400
	moved := 0
	for trial := 0; trial < trials; trial++ {
		n := 101 + r.IntN(3000)
		max := 20 + r.IntN(80)
		ps := environment(r, n)
		before := split(t, ps, max)
		i := r.IntN(n + 1)
		added := slices.Insert(slices.Clone(ps), i, pkg{name: fmt.Sprintf("new-%d", trial), version: 1, size: smallSize(r)})
		afterAdd := split(t, added, max)
		j := r.IntN(n)
		removed := slices.Delete(slices.Clone(ps), j, j+1)
		afterRemove := split(t, removed, max)
		for _, c := range []struct {
			what  string
			ps    []pkg
			p     *Plan
			limit int
		}{{"adding", added, afterAdd, 2}, {"removing", removed, afterRemove, 1}} {
			if c.p.Spacing != before.Spacing || c.p.Large != before.Large {
				moved++
				continue
			}
			if got := changed(contents(ps, before), contents(c.ps, c.p)); got > c.limit {
				t.Fatalf("n=%d max=%d: %s a package changed %d groups, want at most %d", n, max, c.what, got, c.limit)
			}
		}
	}
	t.Logf("the spacing or threshold moved in %d of %d changes", moved, 2*trials)
	if moved > 2*trials/10 {
		t.Errorf("the spacing or threshold moved in %d of %d changes", moved, 2*trials)
	}
}

// A large package added keeps a layer of its own and splits the group it
// lands in: at most three new groups, one of them itself.
func TestSplitAddLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 100; trial++ {
		n := 500 + r.IntN(1000)
		ps := environment(r, n)
		before := split(t, ps, 96)
		i := r.IntN(n + 1)
		big := pkg{name: "big", version: 1, size: 100 << 20}
		added := slices.Insert(slices.Clone(ps), i, big)
		after := split(t, added, 96)
		if after.Spacing != before.Spacing || after.Large != before.Large {
			continue
		}
		if got := changed(contents(ps, before), contents(added, after)); got > 3 {
			t.Fatalf("adding a large package changed %d groups", got)
		}
		if !slices.Contains(contents(added, after), big.id()+" ") {
			t.Fatalf("the large package is not alone: %v", contents(added, after))
		}
	}
}

// When the large packages alone do not fit, the threshold rises until
// they do; a budget of one layer puts everything in it.
func TestSplitManyLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	ps := environment(r, 300)
	for i := range ps {
		ps[i].size = 60 << 20 // all large
		if i%30 == 0 {
			ps[i].size = 500 << 20 // ten larger still
		}
	}
	p := split(t, ps, 40)
	if p.Large != 2*DefaultLarge {
		t.Errorf("threshold %d: 300 large packages cannot each have one of 40 layers, the 10 largest can", p.Large)
	}
	if p := split(t, ps, 1); len(p.Groups) != 1 {
		t.Errorf("budget 1: %d groups", len(p.Groups))
	}
}

func TestSplitBadBudget(t *testing.T) {
	if _, err := Split(nil, 0, 0); err == nil {
		t.Error("a budget of 0 layers: no error")
	}
}

// The boundaries are the names' own: the same names give the same groups
// whatever their versions, and a package's name hash does not change
// between releases of envkit (changing it regroups every environment).
func TestNameHashStable(t *testing.T) {
	if got, want := NameHash("numpy"), NameHash("numpy"); got != want {
		t.Fatal("not deterministic")
	}
	if got := fmt.Sprintf("%016x", NameHash("numpy")); got != "5bdfd7e427c4b732" {
		t.Errorf("NameHash(numpy) = %s", got)
	}
}

func BenchmarkSplit5000(b *testing.B) {
	ps := packages(environment(rand.New(rand.NewPCG(1, 1)), 5000))
	for b.Loop() {
		if _, err := Split(ps, 96, DefaultLarge); err != nil {
			b.Fatal(err)
		}
	}
}

// Wheels after conda packages (Break on the first wheel) never share a
// group with a conda package; the conda packages' groups are those they
// get alone, as long as the spacing stays; a budget that cannot hold the
// two kinds apart is an error, not one layer.
func TestSplitBreak(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 100; trial++ {
		conda := environment(r, 50+r.IntN(600))
		wheels := environment(r, 1+r.IntN(100))
		pkgs := packages(append(slices.Clone(conda), wheels...))
		pkgs[len(conda)].Break = true
		max := 2 + r.IntN(98)
		p, err := Split(pkgs, max, DefaultLarge)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, append(slices.Clone(conda), wheels...), max, p)
		cut := false
		for _, g := range p.Groups {
			if g.Start < len(conda) && g.End > len(conda) {
				t.Fatalf("trial %d: group %v holds conda packages and wheels (%d conda packages)", trial, g, len(conda))
			}
			if g.Start == len(conda) {
				cut = true
			}
		}
		if !cut {
			t.Fatalf("trial %d: no group starts at the first wheel", trial)
		}
	}
	pkgs := []Package{{Name: "python"}, {Name: "numpy"}, {Name: "requests", Break: true}}
	if _, err := Split(pkgs, 1, 0); err == nil || !strings.Contains(err.Error(), "less than the 2 runs") {
		t.Errorf("budget 1 for two kinds: %v", err)
	}
	if p, err := Split(pkgs, 2, 0); err != nil || !reflect.DeepEqual(p.Groups, []Group{{0, 2}, {2, 3}}) {
		t.Errorf("budget 2: %+v, %v", p, err)
	}
}
