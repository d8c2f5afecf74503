package version

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSpecifierMatches(t *testing.T) {
	for _, c := range pkgSpecifierCases {
		sp, err := ParseSpecifier(c.spec)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", c.spec, err)
			continue
		}
		if got := sp.Matches(MustParse(c.v)); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.spec, c.v, got, c.want)
		}
		set := MustParseSpecifierSet(c.spec)
		if got := set.Contains(MustParse(c.v), true); got != c.want {
			t.Errorf("set %q contains %q = %v, want %v", c.spec, c.v, got, c.want)
		}
	}
}

func TestSpecifierValidity(t *testing.T) {
	for _, s := range pkgValidSpecifiers {
		if _, err := ParseSpecifier(s); err != nil {
			t.Errorf("ParseSpecifier(%q): %v", s, err)
		}
	}
	for _, v := range pkgNormalizedSpecVersions {
		ops := []string{"~=", "==", "!=", "<=", ">=", "<", ">"}
		if strings.Contains(v, "+") {
			ops = []string{"==", "!="}
		}
		for _, op := range ops {
			if _, err := ParseSpecifier(op + v); err != nil {
				t.Errorf("ParseSpecifier(%q): %v", op+v, err)
			}
		}
	}
	for _, s := range append(slices.Clone(pkgInvalidSpecifiers), "", "==1.0;", "===a b", "~=1!2") {
		_, err := ParseSpecifier(s)
		var se *SpecifierError
		if !errors.As(err, &se) {
			t.Errorf("ParseSpecifier(%q) = %v, want a *SpecifierError", s, err)
		}
	}
	for _, c := range pkgSpecStr {
		if got := MustParseSpecifier(c[0]).String(); got != c[1] {
			t.Errorf("String(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func TestSpecifierErrorPosition(t *testing.T) {
	for _, c := range []struct {
		in  string
		pos int
	}{
		{">=1.0, <=2.0+local", 12},
		{">=1.0,, =>2", 8},
		{"==1.0.post1.*", 11},
		{">= 1.0.*", 6},
		{"~= 1.x", 4},
	} {
		_, err := ParseSpecifierSet(c.in)
		var se *SpecifierError
		if !errors.As(err, &se) || se.Pos != c.pos {
			t.Errorf("ParseSpecifierSet(%q): %v, want an error at byte %d", c.in, err, c.pos)
		}
	}
}

func TestNamesPrerelease(t *testing.T) {
	for _, c := range pkgSpecPrereleaseDetection {
		if got := MustParseSpecifier(c.spec).NamesPrerelease(); got != c.want {
			t.Errorf("NamesPrerelease(%q) = %v, want %v", c.spec, got, c.want)
		}
	}
	if !MustParseSpecifierSet(">=1.0, <2.0b1").NamesPrerelease() || MustParseSpecifierSet(">=1.0,!=2.0b1").NamesPrerelease() {
		t.Error("SpecifierSet.NamesPrerelease")
	}
}

// TestContainsPrereleases maps packaging's (spec prereleases, contains
// prereleases) pair onto Contains: an explicit argument wins over the
// specifier's setting; with neither, packaging (>= 26) accepts a single
// pre-release, which is Matches.
func TestContainsPrereleases(t *testing.T) {
	for _, c := range pkgSpecPrereleases {
		set, v := MustParseSpecifierSet(c.spec), MustParse(c.v)
		pre := c.containsPre
		if pre == nil {
			pre = c.specPre
		}
		var got bool
		if pre == nil {
			got = set.Matches(v)
		} else {
			got = set.Contains(v, pre.(bool))
		}
		if got != c.want {
			t.Errorf("%q contains %q (spec %v, call %v) = %v, want %v", c.spec, c.v, c.specPre, c.containsPre, got, c.want)
		}
	}
}

// TestFilter runs packaging's filter cases whose inputs are all PEP 440
// versions and whose specifier has no prereleases override.
func TestFilter(t *testing.T) {
	n := 0
	for _, c := range pkgSpecFilter {
		if c.specPre != nil {
			continue
		}
		var in []Version
		ok := true
		for _, s := range c.in {
			v, err := Parse(s)
			if err != nil {
				ok = false
				break
			}
			in = append(in, v)
		}
		if !ok {
			continue
		}
		n++
		policy := PrereleasesDefault
		if c.prereleases == true {
			policy = PrereleasesAllow
		} else if c.prereleases == false {
			policy = PrereleasesExclude
		}
		var got []string
		for _, v := range MustParseSpecifierSet(c.spec).Filter(in, policy) {
			got = append(got, v.Text())
		}
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%q filter %q (%v) = %q, want %q", c.spec, c.in, c.prereleases, got, c.want)
		}
	}
	if n < 10 {
		t.Fatalf("only %d filter cases ran", n)
	}
}

// TestMatchesText runs packaging's filter cases that include text that is
// not a PEP 440 version, whatever the pre-release settings: only "===" can
// match such text, and "===" ignores pre-release policy.
func TestMatchesText(t *testing.T) {
	n := 0
	for _, c := range pkgSpecFilter {
		invalid := false
		for _, s := range c.in {
			if _, err := Parse(s); err != nil {
				invalid = true
			}
		}
		if !invalid {
			continue
		}
		n++
		set := MustParseSpecifierSet(c.spec)
		var got []string
		for _, s := range c.in {
			if set.MatchesText(s) {
				got = append(got, s)
			}
		}
		// packaging drops matching pre-releases only by policy; these cases
		// have none among their matches.
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%q on %q = %q, want %q", c.spec, c.in, got, c.want)
		}
	}
	if n < 15 {
		t.Fatalf("only %d cases ran", n)
	}
}

func TestSpecifierSet(t *testing.T) {
	set := MustParseSpecifierSet(" >=1.0 , !=1.5.*,, <2 ")
	if set.Len() != 3 || set.String() != ">=1.0,!=1.5.*,<2" {
		t.Fatalf("parsed %q (%d)", set.String(), set.Len())
	}
	for v, want := range map[string]bool{"1.0": true, "1.5.1": false, "1.4.99": true, "2.0": false, "2.0rc1": false, "1.6rc1": false, "0.9": false} {
		if got := set.Contains(MustParse(v), false); got != want {
			t.Errorf("%s contains %s = %v, want %v", set, v, got, want)
		}
	}
	if !MustParseSpecifierSet("").Contains(MustParse("1.0"), false) || MustParseSpecifierSet("").Contains(MustParse("1.0a1"), false) {
		t.Error("empty set")
	}
	if !MustParseSpecifierSet("===1.0").Matches(MustParse("1.0")) || MustParseSpecifierSet("===1.0").Matches(MustParse("1.0.0")) {
		t.Error("=== compares the written text")
	}
}

func BenchmarkSpecifierSetContains(b *testing.B) {
	set := MustParseSpecifierSet(">=1.2,!=1.5.*,<3,~=1.4")
	vs := make([]Version, 1024)
	for i := range vs {
		vs[i] = MustParse(benchVersions[i])
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if set.Contains(vs[i%len(vs)], false) {
			n++
		}
	}
	_ = n
}
