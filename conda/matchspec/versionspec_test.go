package matchspec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/version"
)

// conda's test_match (tests/models/test_version.py): specs against 1.7.1.
func TestVersionSpecMatchConda(t *testing.T) {
	cases := []struct {
		spec string
		want bool
	}{
		{"1.7.*", true}, {"1.7.1", true}, {"1.7.0", false}, {"1.7", false}, {"1.5.*", false},
		{">=1.5", true}, {"!=1.5", true}, {"!=1.7.1", false}, {"==1.7.1", true}, {"==1.7", false},
		{"==1.7.2", false}, {"==1.7.1.0", true}, {"1.7.*|1.8.*", true}, {">1.7,<1.8", true},
		{">1.7.1,<1.8", false}, {"^1.7.1$", true}, {`^1\.7\.1$`, true}, {`^1\.7\.[0-9]+$`, true},
		{`^1\.8.*$`, false}, {`^1\.[5-8]\.1$`, true}, {`^[^1].*$`, false},
		{`^[0-9+]+\.[0-9+]+\.[0-9]+$`, true}, {"^$", false}, {"^.*$", true}, {"1.7.*|^0.*$", true},
		{"1.6.*|^0.*$", false}, {"1.6.*|^0.*$|1.7.1", true}, {"^0.*$|1.7.1", true},
		{`1.6.*|^.*\.7\.1$|0.7.1`, true}, {"*", true}, {"1.*.1", true}, {"1.5.*|>1.7,<1.8", true},
		{"1.5.*|>1.7,<1.7.1", false},
		// ordering through specs
		{"1.7.1*", true}, {"1.7*", true}, {"=1.7", true}, {"=1.7.*", true}, {"!=1.7.*", false},
		{"~=1.7", true}, {"~=1.7.0", true}, {"~=1.6.0", false}, {">=1.7.1.*", true},
		{"(1.6|1.7.1),>1", true}, {"1.6|(1.7.1,>2)", false},
	}
	v := version.MustParse("1.7.1")
	for _, c := range cases {
		s, err := ParseVersionSpec(c.spec)
		if err != nil {
			t.Errorf("ParseVersionSpec(%q): %v", c.spec, err)
			continue
		}
		if got := s.Match(v); got != c.want {
			t.Errorf("%q.Match(1.7.1) = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestVersionSpecMatchTable(t *testing.T) {
	cases := []struct {
		spec, version string
		want          bool
	}{
		// conda test_ver_eval
		{"==1.7", "1.7.0", true}, {"<=1.7", "1.7.0", true}, {"<1.7", "1.7.0", false},
		{">=1.7", "1.7.0", true}, {">1.7", "1.7.0", false}, {">=1.7", "1.6.7", false},
		{">2013b", "2013a", false}, {">2013b", "2013k", true}, {">2013b", "3.0.0", false},
		{">1.0.0a", "1.0.0", true}, {">1.0.0*", "1.0.0", true}, {"1.0*", "1.0", true},
		{"1.0*", "1.0.0", true}, {"1.0.0*", "1.0", true}, {"1.0.0*", "1.0.1", false},
		{"2013a*", "2013a", true}, {"2013b*", "2013a", false}, {"2013a*", "2013ab", true},
		{"1.2.4*", "1.3.4", false}, {"1.2.3*", "1.2.3+4.5.6", true}, {"1.2.3+4*", "1.2.3+4.5.6", true},
		{"1.2.3+5*", "1.2.3+4.5.6", false}, {"1.2.4+5*", "1.2.3+4.5.6", false},
		// test_not_eq_star
		{"=3.3", "3.3.1", true}, {"=3.3", "3.3", true}, {"=3.3", "3.4", false},
		{"3.3.*", "3.3.1", true}, {"3.3.*", "3.3", true}, {"3.3.*", "3.4", false},
		{"=3.3.*", "3.3.1", true}, {"!=3.3.*", "3.3.1", false}, {"!=3.3.*", "3.4", true},
		{"!=3.3.*", "3.4.1", true}, {"!=3.3", "3.3.1", true}, {"!=3.3", "3.3.0.0", false},
		{"!=3.3.*", "3.3.0.0", false},
		// test_compound_versions
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "2.6.8", false},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "2.7.2", true},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.3", false},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.3.4", false},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.4", true},
		{">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", "3.4a", true},
		// test_compatible_release_versions
		{"~=1.10", "1.11.0", true}, {"~=1.10.0", "1.11.0", false}, {"~=3.3.2", "3.4.0", false},
		{"~=3.3.2", "3.3.1", false}, {"~=3.3.2", "3.3.2.0", true}, {"~=3.3.2", "3.3.3", true},
		{"~=3.3.2|==2.2", "2.2.0", true}, {"~=3.3.2|==2.2", "3.3.3", true}, {"~=3.3.2|==2.2", "2.2.1", false},
		// test_local_identifier: a version matches itself
		{"1.7.0.post123", "1.7.0.post123", true}, {"1.7.0.post123+gabcdef9", "1.7.0.post123+gabcdef9", true},
		// openssl and pre-releases
		{">=1.0.1_", "1.0.1a", true}, {"<1.0.1", "1.0.1a", true}, {">=3.8,<3.9.0a0", "3.9.0rc1", false},
		{">=3.8,<3.9.0a0", "3.8.18", true}, {"<3.9", "3.9.0a0", true},
	}
	for _, c := range cases {
		s, err := ParseVersionSpec(c.spec)
		if err != nil {
			t.Errorf("ParseVersionSpec(%q): %v", c.spec, err)
			continue
		}
		if got := s.Match(version.MustParse(c.version)); got != c.want {
			t.Errorf("%q.Match(%q) = %v, want %v", c.spec, c.version, got, c.want)
		}
	}
}

func TestVersionSpecString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"1.7.1*", "1.7.1.*"}, {"1.7.1.*", "1.7.1.*"}, {"1.7.1*,1.8.1*", "1.7.1.*,1.8.1.*"},
		{"( (1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", "1.5|(1.6|1.7),1.8,1.9|2.0|2.1"},
		{"1.2.3,4.5.6|<=7.8.9", "1.2.3,4.5.6|<=7.8.9"}, {"(1.2.3|4.5.6),<=7.8.9", "(1.2.3|4.5.6),<=7.8.9"},
		{">=1.8,(<2|>=1.7.1)", ">=1.8,(<2|>=1.7.1)"}, {"(>=3.8,<3.10)|(>=3.11,<3.13)", ">=3.8,<3.10|>=3.11,<3.13"},
		{"*", "*"}, {" 1.2 ", "1.2"},
	}
	for _, c := range cases {
		s, err := ParseVersionSpec(c.in)
		if err != nil {
			t.Errorf("ParseVersionSpec(%q): %v", c.in, err)
			continue
		}
		if got := s.String(); got != c.want {
			t.Errorf("ParseVersionSpec(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := ParseVersionSpec(s.String())
		if err != nil || again.String() != s.String() {
			t.Errorf("reparse of %q: %v, %v", s.String(), again, err)
		}
	}
}

func TestVersionSpecErrors(t *testing.T) {
	for _, spec := range []string{
		"(1.5", "1.5)", "1.5||1.6", "^1.5", "1.5$", "~", "^", "1.2+", "+1.2", "+1.2+", "++", "c +, 0/|0 *",
		")|(", "==", "=", ">=", "<=", "><2.4.5", "!!2.4.5", "!", "~=3.3.2.*", "===3.3.2", "~=1", "",
		"1.2,", "()", "1..2", ">=1.2 ,", "1.2|(", ">= 1.7", "1.*'", "1.2 3",
	} {
		if s, err := ParseVersionSpec(spec); err == nil {
			t.Errorf("ParseVersionSpec(%q) = %q, want an error", spec, s)
		} else if !strings.Contains(err.Error(), "invalid version spec") {
			t.Errorf("ParseVersionSpec(%q) error %q is not a VersionSpecError", spec, err)
		}
	}
}

func TestVersionSpecMatchDoesNotAllocate(t *testing.T) {
	s, err := ParseVersionSpec(">=1.21,<2.0a0|1.19.*,!=1.19.3")
	if err != nil {
		t.Fatal(err)
	}
	vs := []version.Version{version.MustParse("1.26.4"), version.MustParse("1.19.3"), version.MustParse("2.0")}
	n := testing.AllocsPerRun(100, func() {
		for _, v := range vs {
			s.Match(v)
		}
	})
	if n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func BenchmarkVersionSpecMatch(b *testing.B) {
	s, err := ParseVersionSpec(">=3.8,<3.9.0a0|3.10.*")
	if err != nil {
		b.Fatal(err)
	}
	vs := []version.Version{version.MustParse("3.8.18"), version.MustParse("3.10.2"), version.MustParse("3.11.0"), version.MustParse("2.7.18")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Match(vs[i%len(vs)])
	}
}

// BenchmarkParseAlternatives parses specs of n '|' alternatives and of n
// ',' clauses: the time per alternative stays flat as n grows (it grew with
// n when each alternative copied the ones before it).
func BenchmarkParseAlternatives(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 50_000} {
		for _, sep := range []string{"|", ","} {
			alts := make([]string, n)
			for i := range alts {
				alts[i] = fmt.Sprintf("1.%d", i)
			}
			s := "numpy " + strings.Join(alts, sep)
			b.Run(fmt.Sprintf("sep=%s/n=%d", sep, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := ParseLenient(s); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/alternative")
			})
		}
	}
}
