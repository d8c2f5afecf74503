package version

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPackagingOrder(t *testing.T) {
	vs := make([]Version, len(pkgVersions))
	for i, s := range pkgVersions {
		v, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		vs[i] = v
	}
	// pkgVersions is in packaging's order: every pair compares as its indices.
	for i := range vs {
		for j := range vs {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			// "1.0c1" and "1.0rc1" are not both in the list, so no ties.
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%q, %q) = %d, want %d", pkgVersions[i], pkgVersions[j], got, want)
			}
		}
	}
	shuffled := slices.Clone(vs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	slices.SortFunc(shuffled, Version.Compare)
	for i := range vs {
		if shuffled[i].String() != vs[i].String() {
			t.Fatalf("sorted[%d] = %s, want %s", i, shuffled[i], vs[i])
		}
	}
}

func TestInvalidVersions(t *testing.T) {
	extra := []string{"", "1.0.post1a", "1!", "!1", "1.0+", "1.0a1.a2", "1.0.dev1.post1", "1.0-", "99999999999999999999"}
	for _, s := range append(slices.Clone(pkgInvalidVersions), extra...) {
		v, err := Parse(s)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, %v; want a *ParseError", s, v, err)
			continue
		}
		if pe.Pos < 0 || pe.Pos > len(s) {
			t.Errorf("Parse(%q): position %d outside the input", s, pe.Pos)
		}
	}
}

func TestErrorPosition(t *testing.T) {
	for _, c := range []struct {
		in  string
		pos int
	}{
		{"1.0+a+", 5},
		{"1..0", 1},
		{"  1.0 a1", 5},
		{"french toast", 0},
		{"1.0+_foobar", 4},
	} {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Pos != c.pos {
			t.Errorf("Parse(%q): %v, want an error at byte %d", c.in, err, c.pos)
		}
	}
}

func TestNormalized(t *testing.T) {
	for _, c := range pkgNormalized {
		v, err := Parse(c[0])
		if err != nil {
			t.Errorf("Parse(%q): %v", c[0], err)
			continue
		}
		if v.String() != c[1] {
			t.Errorf("Parse(%q).String() = %q, want %q", c[0], v.String(), c[1])
		}
		again := MustParse(v.String())
		if again.Compare(v) != 0 || again.String() != v.String() {
			t.Errorf("reparse of %q differs", v.String())
		}
	}
	if !MustParse("1.0rc1").Equal(MustParse("1.0c1")) {
		t.Error("1.0rc1 != 1.0c1")
	}
	if MustParse("  v1.0 ").Text() != "v1.0" {
		t.Error("Text does not keep the written form")
	}
}

func TestParts(t *testing.T) {
	for _, c := range pkgPublic {
		if got := MustParse(c[0]).Public(); got != c[1] {
			t.Errorf("Public(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	for _, c := range pkgBaseVersion {
		if got := MustParse(c[0]).BaseVersion(); got != c[1] {
			t.Errorf("BaseVersion(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	for _, c := range pkgEpoch {
		if got := MustParse(c.v).Epoch(); got != uint64(c.n) {
			t.Errorf("Epoch(%q) = %d, want %d", c.v, got, c.n)
		}
	}
	for _, c := range pkgRelease {
		if got := MustParse(c.v).Release(); !slices.Equal(got, c.release) {
			t.Errorf("Release(%q) = %v, want %v", c.v, got, c.release)
		}
	}
	for _, c := range pkgLocal {
		v := MustParse(c.v)
		want, _ := c.n.(string)
		if v.Local() != want || v.HasLocal() != (c.n != nil) {
			t.Errorf("Local(%q) = %q, %v; want %v", c.v, v.Local(), v.HasLocal(), c.n)
		}
	}
	for _, c := range pkgPre {
		label, n, ok := MustParse(c.v).Pre()
		got := any(nil)
		if ok {
			got = fmt.Sprint([]any{label, int(n)})
		}
		want := any(nil)
		if c.n != nil {
			want = fmt.Sprint(c.n)
		}
		if got != want {
			t.Errorf("Pre(%q) = %v, want %v", c.v, got, want)
		}
	}
	opt := func(n uint64, ok bool) any {
		if !ok {
			return nil
		}
		return int(n)
	}
	for _, c := range pkgDev {
		if got := opt(MustParse(c.v).Dev()); got != c.n {
			t.Errorf("Dev(%q) = %v, want %v", c.v, got, c.n)
		}
	}
	for _, c := range pkgPost {
		if got := opt(MustParse(c.v).Post()); got != c.n {
			t.Errorf("Post(%q) = %v, want %v", c.v, got, c.n)
		}
	}
	for _, c := range pkgIsPrerelease {
		if got := MustParse(c.v).IsPrerelease(); got != c.want {
			t.Errorf("IsPrerelease(%q) = %v", c.v, got)
		}
	}
	for _, c := range pkgIsDevrelease {
		if got := MustParse(c.v).IsDevrelease(); got != c.want {
			t.Errorf("IsDevrelease(%q) = %v", c.v, got)
		}
	}
	for _, c := range pkgIsPostrelease {
		if got := MustParse(c.v).IsPostrelease(); got != c.want {
			t.Errorf("IsPostrelease(%q) = %v", c.v, got)
		}
	}
}

func TestZeroVersion(t *testing.T) {
	var z Version
	if !z.IsZero() || z.String() != "" || z.Compare(MustParse("0.dev0")) != -1 || z.Compare(Version{}) != 0 {
		t.Error("zero Version misbehaves")
	}
}

func TestJSON(t *testing.T) {
	b, err := MustParse("1.0-1").MarshalJSON()
	if err != nil || string(b) != `"1.0.post1"` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	var v Version
	if err := v.UnmarshalJSON([]byte(`"1.0.post1"`)); err != nil || v.String() != "1.0.post1" {
		t.Fatalf("UnmarshalJSON: %v %v", v, err)
	}
	if err := v.UnmarshalJSON([]byte(`"x"`)); err == nil {
		t.Fatal("UnmarshalJSON accepted an invalid version")
	}
}

// benchVersions is 100k versions in the shapes a PyPI index has.
var benchVersions = func() []string {
	r := rand.New(rand.NewPCG(7, 9))
	out := make([]string, 100_000)
	for i := range out {
		s := fmt.Sprintf("%d.%d.%d", r.IntN(30), r.IntN(40), r.IntN(20))
		switch r.IntN(10) {
		case 0:
			s += fmt.Sprintf("rc%d", r.IntN(3))
		case 1:
			s += fmt.Sprintf(".post%d", r.IntN(3))
		case 2:
			s += fmt.Sprintf(".dev%d", r.IntN(5))
		case 3:
			s += "+cu121"
		}
		out[i] = s
	}
	return out
}()

// BenchmarkParseSort parses and sorts 100k versions per iteration.
func BenchmarkParseSort(b *testing.B) {
	b.ReportAllocs()
	vs := make([]Version, len(benchVersions))
	for b.Loop() {
		for i, s := range benchVersions {
			v, err := Parse(s)
			if err != nil {
				b.Fatal(err)
			}
			vs[i] = v
		}
		slices.SortFunc(vs, Version.Compare)
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(benchVersions[i%len(benchVersions)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	vs := make([]Version, 1024)
	for i := range vs {
		vs[i] = MustParse(benchVersions[i])
	}
	b.ReportAllocs()
	sink := 0
	for i := 0; b.Loop(); i++ {
		sink += vs[i%len(vs)].Compare(vs[(i+3)%len(vs)])
	}
	_ = sink
}
