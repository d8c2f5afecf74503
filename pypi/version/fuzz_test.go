package version

import "testing"

// FuzzParse checks that Parse never panics, that the canonical form
// reparses to an equal version with the same canonical form, and that
// Compare is antisymmetric.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		va, err := Parse(a)
		if err != nil {
			return
		}
		again, err := Parse(va.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", va.String(), a, err)
		}
		if again.Compare(va) != 0 || again.String() != va.String() {
			t.Fatalf("reparse of %q differs", a)
		}
		vb, err := Parse(b)
		if err != nil {
			return
		}
		if c1, c2 := va.Compare(vb), vb.Compare(va); c1 != -c2 {
			t.Fatalf("Compare(%q, %q) = %d but reverse = %d", a, b, c1, c2)
		}
	})
}

// FuzzSpecifierSet checks that parsing never panics, that String reparses
// to the same set, and that Contains agrees with the reparsed set.
func FuzzSpecifierSet(f *testing.F) {
	f.Fuzz(func(t *testing.T, spec, ver string) {
		set, err := ParseSpecifierSet(spec)
		if err != nil {
			return
		}
		again, err := ParseSpecifierSet(set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("reparse of %q: %q, %v", set.String(), again.String(), err)
		}
		v, err := Parse(ver)
		if err != nil {
			return
		}
		if set.Contains(v, true) != again.Contains(v, true) {
			t.Fatalf("%q and its reparse disagree on %q", spec, ver)
		}
		if set.Contains(v, false) && !set.Contains(v, true) {
			t.Fatalf("%q: allowing pre-releases lost %q", spec, ver)
		}
	})
}
