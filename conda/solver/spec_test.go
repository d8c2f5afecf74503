package solver

import (
	"sync"
	"testing"
)

func TestParseSpecCached(t *testing.T) {
	a, err := parseSpec("python >=3.8,<3.9.0a0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseSpec("python >=3.8,<3.9.0a0")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("the second parse of the same string is not the cached spec")
	}
	if a.Name != "python" || a.Version.String() != ">=3.8,<3.9.0a0" {
		t.Errorf("parsed %s", a)
	}
	// A bad string keeps failing, with the parser's error.
	for range 2 {
		if m, err := parseSpec("python >=>3"); err == nil {
			t.Errorf("parsed a bad spec as %s", m)
		}
	}
}

// TestParseSpecConcurrent parses the same strings from several goroutines
// (run with -race): every goroutine gets an equal parse.
func TestParseSpecConcurrent(t *testing.T) {
	srcs := []string{"numpy >=1.20", "libgcc-ng >=12", "blas * openblas", "zlib 1.2.13.*"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, s := range srcs {
				m, err := parseSpec(s)
				if err != nil || m.String() == "" {
					t.Errorf("%q: %v %v", s, m, err)
				}
			}
		})
	}
	wg.Wait()
}
