package tags

import (
	"errors"
	"strings"
	"testing"

	"github.com/envkit/envkit/pypi/name"
)

// FuzzParseWheelFilename checks that parsing never panics and that what it
// accepts is consistent: a normalised name, lower-case non-empty tag parts,
// and a filename rebuilt from the parts parses to the same wheel.
func FuzzParseWheelFilename(f *testing.F) {
	f.Fuzz(func(t *testing.T, fn string) {
		w, err := ParseWheelFilename(fn)
		if err != nil {
			if e := (*Error)(nil); !errors.As(err, &e) || e.Pos < 0 || e.Pos > len(fn) {
				t.Fatalf("%q: error %v has no position in the input", fn, err)
			}
			return
		}
		if name.Normalize(w.Name) != w.Name || len(w.Tags) == 0 {
			t.Fatalf("%q: name %q, %d tags", fn, w.Name, len(w.Tags))
		}
		for _, tg := range w.Tags {
			if tg.Interpreter == "" || tg.ABI == "" || tg.Platform == "" || strings.ToLower(tg.String()) != tg.String() {
				t.Fatalf("%q: bad tag %q", fn, tg)
			}
		}
		parts := strings.Split(strings.TrimSuffix(fn, ".whl"), "-")
		rebuilt := strings.ReplaceAll(w.Name, "-", "_") + "-" + w.Version.String() + "-" + strings.Join(parts[len(parts)-3:], "-") + ".whl"
		again, err := ParseWheelFilename(rebuilt)
		if err != nil || again.Name != w.Name || again.Version.Compare(w.Version) != 0 || len(again.Tags) != len(w.Tags) {
			t.Fatalf("%q rebuilt as %q: %+v, %v", fn, rebuilt, again, err)
		}
	})
}
