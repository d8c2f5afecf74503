package version

import "testing"

// FuzzParse checks that Parse never panics, that String round-trips, and
// that Compare is antisymmetric and consistent with a reparse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3", "1!2.0+local.1", "1.0.1_", "1.1.0rc1", "0.4.1.post2.dev3", "1-2", "v1.0a*"} {
		f.Add(s, "1.2")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, err := Parse(a)
		if err != nil {
			return
		}
		again, err := Parse(va.String())
		if err != nil {
			t.Fatalf("reparse of %q: %v", va.String(), err)
		}
		if again.Compare(va) != 0 || again.String() != va.String() {
			t.Fatalf("reparse of %q differs", a)
		}
		norm, err := Parse(va.Normalized())
		if err != nil || norm.Compare(va) != 0 {
			t.Fatalf("normalized %q of %q does not compare equal: %v", va.Normalized(), a, err)
		}
		if va.Compare(va) != 0 || !va.StartsWith(va) {
			t.Fatalf("%q not equal to / prefix of itself", a)
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
