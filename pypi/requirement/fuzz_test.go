package requirement

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that String reparses to the
// same String and an equivalent requirement, and that the marker evaluates
// the same after the round trip.
func FuzzParse(f *testing.F) {
	env := Environment{PythonVersion: "3.12", PythonFullVersion: "3.12.1", OSName: "posix", SysPlatform: "linux",
		PlatformMachine: "x86_64", PlatformSystem: "Linux", ImplementationName: "cpython", Extra: "test"}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if e := (*Error)(nil); !errors.As(err, &e) || e.Pos < 0 || e.Pos > len(s) {
				t.Fatalf("Parse(%q): %v has no position in the input", s, err)
			}
			return
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", r.String(), s, err)
		}
		if again.String() != r.String() || !again.Equivalent(r) {
			t.Fatalf("reparse of %q differs: %q", r.String(), again.String())
		}
		if a, b := r.Applies(env), again.Applies(env); a != b {
			t.Fatalf("%q evaluates %v but its reparse %v", s, a, b)
		}
	})
}

// FuzzMarker checks ParseMarker the same way.
func FuzzMarker(f *testing.F) {
	env := Environment{PythonVersion: "3.9", SysPlatform: "win32", OSName: "nt", Extra: "a"}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		again, err := ParseMarker(m.String())
		if err != nil || again.String() != m.String() {
			t.Fatalf("reparse of %q (from %q): %v", m.String(), s, err)
		}
		if a, b := m.Evaluate(env), again.Evaluate(env); a != b {
			t.Fatalf("%q evaluates %v but its reparse %v", s, a, b)
		}
	})
}
