package matchspec

import (
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// FuzzParse checks that parsing never panics and that String is canonical:
// it reparses to a spec that prints the same and matches the same record.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"python >=3.8,<3.9.0a0", "conda-forge/linux-64::numpy==1.2=py_0", "numpy=1.2", "pip>=21",
		"foo (>=1,<2)|>3", "*[md5=abc]", "numpy[version='>=1,<2',build=py*]", "mkl@",
	} {
		f.Add(s)
	}
	r := &record.PackageRecord{Name: "numpy", Version: version.MustParse("1.2.3"), Build: "py_0", Subdir: "linux-64"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (*MatchSpec, error){Parse, ParseLenient} {
			m, err := parse(s)
			if err != nil {
				continue
			}
			out := m.String()
			again, err := ParseLenient(out)
			if err != nil {
				t.Fatalf("%q prints %q, which does not parse: %v", s, out, err)
			}
			if again.String() != out {
				t.Fatalf("%q prints %q, which prints %q", s, out, again.String())
			}
			if again.Match(r) != m.Match(r) {
				t.Fatalf("%q and its canonical form %q match differently", s, out)
			}
		}
	})
}
