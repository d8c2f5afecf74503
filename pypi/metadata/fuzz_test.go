package metadata

import (
	"errors"
	"strings"
	"testing"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
)

// FuzzParse checks that Parse never panics, that an error is an *Error
// whose line lies within the input, and that what it accepts is
// consistent: a valid name, each Requires-Dist printing to a requirement
// that parses back to an equivalent one, normalised extras. The seed
// corpus is in testdata/fuzz/FuzzParse and runs with every go test.
func FuzzParse(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b[c] (>=1) ; extra == 'x'\nProvides-Extra: x\n\nbody"))
	f.Add([]byte("Metadata-Version: 2.4\r\nName: a\r\nVersion: 1\r\nDynamic: Requires-Dist\r\nDescription: x\r\n       |y\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, "F")
		if err != nil {
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if lines := strings.Count(string(data), "\n") + 1; me.Line > lines {
				t.Fatalf("error on line %d of %d: %v", me.Line, lines, err)
			}
			return
		}
		if !name.Valid(m.Name) {
			t.Fatalf("accepted name %q", m.Name)
		}
		for _, r := range m.RequiresDist {
			back, err := requirement.Parse(r.String())
			if err != nil || !back.Equivalent(r) {
				t.Fatalf("Requires-Dist %q does not round-trip: %v", r.String(), err)
			}
		}
		for _, e := range m.ProvidesExtra {
			if name.Normalize(e) != e {
				t.Fatalf("extra %q not normalised", e)
			}
		}
		if m.Trusted("Requires-Dist") && m.IsDynamic("Requires-Dist") {
			t.Fatalf("a dynamic field is trusted")
		}
	})
}
