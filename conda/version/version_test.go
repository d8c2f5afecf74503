package version

import (
	"bufio"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
)

// repr formats segments as conda's Python repr of VersionOrder.version.
func repr(segs [][]Component) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		cs := make([]string, len(s))
		for k, c := range s {
			cs[k] = c.String()
		}
		parts[i] = "[" + strings.Join(cs, ", ") + "]"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TestParsedVersions checks every real conda-forge version against conda's
// own parse of it (rattler's parsed_versions.txt).
func TestParsedVersions(t *testing.T) {
	f, err := os.Open(testdata.Path(t, "conda", "versions", "parsed_versions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, line := 0, 0
	var all []Version
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		src, want, ok := strings.Cut(text, "=")
		if !ok {
			t.Fatalf("line %d: no '=' in %q", line, text)
		}
		v, err := Parse(src)
		if err != nil {
			t.Errorf("line %d: Parse(%q): %v", line, src, err)
			continue
		}
		if got := repr(v.Segments()); got != want {
			t.Errorf("line %d: Parse(%q) = %s, conda has %s", line, src, got, want)
		}
		if v.String() != src {
			t.Errorf("line %d: String() = %q, want %q", line, v.String(), src)
		}
		all = append(all, v)
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 28000 {
		t.Fatalf("only %d versions read", n)
	}
	// Sorting the whole set must give a consistent total order.
	slices.SortFunc(all, Version.Compare)
	for i := 1; i < len(all); i++ {
		if all[i-1].Compare(all[i]) > 0 || all[i].Compare(all[i-1]) < 0 {
			t.Fatalf("inconsistent order at %q, %q", all[i-1], all[i])
		}
	}
}

func TestParseSegments(t *testing.T) {
	// conda's test_version_order table and CEP 33's examples: main and local.
	cases := []struct{ in, main, local string }{
		{"0.4", "[[0], [0], [4]]", "[]"},
		{"0.4.1a.vc11", "[[0], [0], [4], [1, 'a'], [0, 'vc', 11]]", "[]"},
		{"0.5*", "[[0], [0], [5, '*']]", "[]"},
		{"0.5C1", "[[0], [0], [5, 'c', 1]]", "[]"},
		{"0.5-5", "[[0], [0], [5], [5]]", "[]"},
		{"1.1dev1", "[[0], [1], [1, 'DEV', 1]]", "[]"},
		{"1.1_", "[[0], [1], [1, '_']]", "[]"},
		{"1.1.post1", "[[0], [1], [1], [0, inf, 1]]", "[]"},
		{"2.2be5ta29", "[[0], [2], [2, 'be', 5, 'ta', 29]]", "[]"},
		{"14.3.1.post26.g9d75ca2", "[[0], [14], [3], [1], [0, inf, 26], [0, 'g', 9, 'd', 75, 'ca', 2]]", "[]"},
		{"1996.07.12", "[[0], [1996], [7], [12]]", "[]"},
		{"1!0.4.1", "[[1], [0], [4], [1]]", "[]"},
		{"1.2g.beta15.rc", "[[0], [1], [2, 'g'], [0, 'beta', 15], [0, 'rc']]", "[]"},
		{"1!2.15.1_ALPHA", "[[1], [2], [15], [1], [0, 'alpha']]", "[]"},
		{"1!2.15.1alpha_", "[[1], [2], [15], [1, 'alpha_']]", "[]"},
		{"1!2.15.1_alpha+1.2.3h123", "[[1], [2], [15], [1], [0, 'alpha']]", "[[1], [2], [3, 'h', 123]]"},
		{"1.2+a_b", "[[0], [1], [2]]", "[[0, 'a'], [0, 'b']]"},
		{"1.2_+3", "[[0], [1], [2, '_']]", "[[3]]"},
		{"_", "[[0], [0, '_']]", "[]"},
		{"1__", "[[0], [1], [0, '_']]", "[]"},
		{"1.*", "[[0], [1], [0, '*']]", "[]"},
		{"007!1", "[[7], [1]]", "[]"},
		{"  1.0  ", "[[0], [1], [0]]", "[]"},
		{"18446744073709551614", "[[0], [18446744073709551614]]", "[]"},
	}
	for _, c := range cases {
		v, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got := repr(v.Segments()); got != c.main {
			t.Errorf("Parse(%q) main = %s, want %s", c.in, got, c.main)
		}
		if got := repr(v.LocalSegments()); got != c.local {
			t.Errorf("Parse(%q) local = %s, want %s", c.in, got, c.local)
		}
		if v.HasLocal() != (c.local != "[]") {
			t.Errorf("Parse(%q).HasLocal() = %v", c.in, v.HasLocal())
		}
	}
	if got := MustParse("0.5-5").Normalized(); got != "0.5_5" {
		t.Errorf("Normalized = %q", got)
	}
	if got := MustParse("3!1.0").Epoch(); got != 3 {
		t.Errorf("Epoch = %d", got)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"", "empty version string"},
		{"  ", "empty version string"},
		{"3.5&1", "invalid character '&' at offset 3"},
		{"1.0é", "invalid character 'é'"},
		{"5.5++", "duplicated local version separator"},
		{"5.5..mw", "empty version component"},
		{"1.", "empty version component"},
		{".1", "empty version component"},
		{"1._2", "empty version component"},
		{"!", "epoch"},
		{"a!1.0", "epoch \"a\" must be an integer"},
		{"a!b!1.0", "duplicated epoch separator"},
		{"1!", "missing version after epoch"},
		{"1.2+", "empty version component in local version"},
		{"+1.2", "missing version before local version separator"},
		{"1-2_3", "not both"},
		{"1 2", "invalid character ' '"},
		{"18446744073709551615", "too large"},
		{"1.99999999999999999999999", "too large"},
	}
	for _, c := range cases {
		_, err := Parse(c.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%q) error %q does not mention %q", c.in, err, c.msg)
		}
		if pe := (*ParseError)(nil); !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error is %T", c.in, err)
		}
	}
}

// Sorted tables; "==" at the start of an entry means equal to the previous.
var orderTables = map[string][]string{
	"cep33": {
		"0.4", "==0.4.0", "0.4.1.rc", "==0.4.1.RC", "0.4.1+local", "0.4.1+0.local", "0.4.1", "==0.4.1+0",
		"0.4.1+1.local", "0.5a1", "0.5b3", "0.5C1", "0.5", "0.9.6", "0.960923", "1.0", "1.1dev1", "1.1a1",
		"1.1.0dev1", "==1.1.dev1", "1.1.a1", "1.1.0rc1", "1.1.0.0", "==1.1.0", "==1.1", "1.1.post1",
		"==1.1.0post1", "1.1post1", "1996.07.12", "1!0.4.1", "1!3.1.1.6", "2!0.4.1",
	},
	"conda test_version_order": {
		"0.4", "==0.4.0", "0.4.1a.vc11", "0.4.1.rc", "0.4.1.vc11", "0.4.1", "0.5*", "0.5a1", "0.5b3",
		"0.5C1", "0.5z", "0.5za", "0.5", "0.5_5", "==0.5-5", "0.9.6", "0.960923", "1.0", "1.0.4a3", "1.0.4b1",
		"1.0.4", "1.1dev1", "1.1_", "1.1a1", "1.1.dev1", "1.1.a1", "1.1", "1.1.post1", "1.1.1dev1",
		"1.1.1rc1", "1.1.1", "1.1.1post1", "1.1post1", "2g6", "2.0b1pr0", "2.2be.ta29", "2.2be5ta29",
		"2.2beta29", "2.2.0.1", "3.1.1.6", "3.2.p.r0", "3.2.pr0", "3.2.pr.1", "5.5.kw", "11g", "14.3.1",
		"14.3.1.post26.g9d75ca2", "1996.07.12", "1!0.4.1", "1!3.1.1.6", "2!0.4.1",
	},
	"openssl": {
		"1.0.1dev", "1.0.1_", "1.0.1a", "1.0.1b", "1.0.1c", "1.0.1d", "1.0.1r", "1.0.1rc", "1.0.1rc1",
		"1.0.1rc2", "1.0.1s", "1.0.1", "1.0.1post.a", "1.0.1post.b", "1.0.1post.z", "1.0.1post.za", "1.0.2",
	},
	"pep440": {
		"1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456",
		"1.0b2.post345", "1.0c1.dev456", "1.0c1", "1.0c3", "1.0rc2", "1.0.dev456", "1.0", "1.0.post456.dev34",
		"1.0.post456", "1.1.dev1", "1.2.r32+123456", "1.2.rev33+123456", "1.2+abc", "1.2+abc123def",
		"1.2+abc123", "1.2+123abc", "1.2+123abc456", "1.2+1234.abc", "1.2+123456",
		"1!1.0a1", "1!1.0a2.dev456", "1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456", "1!1.0b2",
		"1!1.0b2.post345.dev456", "1!1.0b2.post345", "1!1.0c1.dev456", "1!1.0c1", "1!1.0c3", "1!1.0rc2",
		"1!1.0.dev456", "1!1.0", "1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1", "1!1.2.r32+123456",
		"1!1.2.rev33+123456", "1!1.2+abc", "1!1.2+abc123def", "1!1.2+abc123", "1!1.2+123abc",
		"1!1.2+123abc456", "1!1.2+1234.abc", "1!1.2+123456",
	},
	"hexrd":   {"0.3.0.dev", "0.3.3"},
	"strings": {"1.0.*", "1.0.DEV", "1.0._", "1.0.a", "1.0", "1.0.post"},
}

func TestOrdering(t *testing.T) {
	for name, table := range orderTables {
		var vs []Version
		var rank []int
		r := 0
		for i, s := range table {
			eq := strings.HasPrefix(s, "==")
			if !eq && i > 0 {
				r++
			}
			vs = append(vs, MustParse(strings.TrimPrefix(s, "==")))
			rank = append(rank, r)
		}
		for i := range vs {
			for j := range vs {
				want := 0
				switch {
				case rank[i] < rank[j]:
					want = -1
				case rank[i] > rank[j]:
					want = 1
				}
				if got := vs[i].Compare(vs[j]); got != want {
					t.Errorf("%s: Compare(%q, %q) = %d, want %d", name, vs[i], vs[j], got, want)
				}
				if vs[i].Equal(vs[j]) != (want == 0) || vs[i].Less(vs[j]) != (want < 0) {
					t.Errorf("%s: Equal/Less(%q, %q) disagree with Compare", name, vs[i], vs[j])
				}
			}
		}
		shuffled := slices.Clone(vs)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		slices.SortStableFunc(shuffled, Version.Compare)
		for i := range shuffled {
			if shuffled[i].Compare(vs[i]) != 0 {
				t.Errorf("%s: sorted[%d] = %q, want %q", name, i, shuffled[i], vs[i])
			}
		}
	}
}

func TestZero(t *testing.T) {
	var z Version
	if !z.IsZero() || z.String() != "" || z.Compare(Version{}) != 0 || z.Compare(MustParse("0")) != -1 ||
		MustParse("0").Compare(z) != 1 {
		t.Error("zero Version must sort first and equal itself")
	}
	if MustParse("0").IsZero() {
		t.Error("parsed 0 is not the zero Version")
	}
}

func TestStartsWith(t *testing.T) {
	cases := []struct {
		v, prefix string
		want      bool
	}{
		// conda test_version_order
		{"0.4.1", "0", true},
		{"0.4.1", "0.4", true},
		{"0.4.1p1", "0.4", true},
		{"0.4.1p1", "0.4.1p", true},
		{"0.4.1p1", "0.4.1q1", false},
		{"0.4", "0.4.1", false},
		{"0.4.1+1.3", "0.4.1", true},
		{"0.4.1+1.3", "0.4.1+1", true},
		{"0.4.1", "0.4.1+1.3", false},
		{"0.4.1+1", "0.4.1+1.3", false},
		// padding and strings
		{"1.0", "1.0.0", true},
		{"1", "1.0", true},
		{"1.0.1", "1.0.0", false},
		{"2013ab", "2013a", true},
		{"2013a", "2013b", false},
		{"1.2.3+4.5.6", "1.2.3+4", true},
		{"1.2.3+4.5.6", "1.2.3+5", false},
		{"1!1.2", "1.2", false},
		{"1.2dev", "1.2de", false}, // "dev" is stored as "DEV"
		{"3.3.0.0", "3.3", true},
		{"3.10", "3.1", false},
	}
	for _, c := range cases {
		if got := MustParse(c.v).StartsWith(MustParse(c.prefix)); got != c.want {
			t.Errorf("%q.StartsWith(%q) = %v, want %v", c.v, c.prefix, got, c.want)
		}
	}
}

func TestJSON(t *testing.T) {
	var rec struct {
		V Version `json:"v"`
	}
	if err := json.Unmarshal([]byte(`{"v":"1.01.0-RC"}`), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.V.String() != "1.01.0-RC" || !rec.V.Equal(MustParse("1.1.0_rc")) {
		t.Errorf("got %q", rec.V)
	}
	out, err := json.Marshal(rec)
	if err != nil || string(out) != `{"v":"1.01.0-RC"}` {
		t.Errorf("Marshal = %s, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"v":"1..0"}`), &rec); err == nil || !strings.Contains(err.Error(), "empty version component") {
		t.Errorf("bad version error = %v", err)
	}
	if err := json.Unmarshal([]byte(`{"v":1}`), &rec); err == nil {
		t.Error("a JSON number must be rejected")
	}
}

func TestCompareDoesNotAllocate(t *testing.T) {
	a, b := MustParse("1.2.3rc1+4.5"), MustParse("1.2.3rc1+4.6")
	p := MustParse("1.2")
	n := testing.AllocsPerRun(100, func() {
		_ = a.Compare(b)
		_ = a.StartsWith(p)
	})
	if n != 0 {
		t.Errorf("Compare/StartsWith allocate %v times", n)
	}
}

var benchVersions = []string{"1.2.3", "1.2.3.post1", "2!1.0", "3.11.4", "1.26.4", "2024.1.1", "1.0.1_", "0.4.1+1.local", "1.1.0rc1", "12.8.93"}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(benchVersions[i%len(benchVersions)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	vs := make([]Version, len(benchVersions))
	for i, s := range benchVersions {
		vs[i] = MustParse(s)
	}
	b.ReportAllocs()
	sink := 0
	for i := 0; b.Loop(); i++ {
		sink += vs[i%len(vs)].Compare(vs[(i+3)%len(vs)])
	}
	_ = sink
}

// BenchmarkCompareClose compares versions equal but for their last segment,
// the solver's usual case (candidates of one package).
func BenchmarkCompareClose(b *testing.B) {
	x, y := MustParse("1.26.4"), MustParse("1.26.5")
	b.ReportAllocs()
	for b.Loop() {
		if x.Compare(y) >= 0 {
			b.Fatal("order")
		}
	}
}
