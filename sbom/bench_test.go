package sbom

import (
	"fmt"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
)

// BenchmarkSPDXLarge makes the document of a 2,000-package environment
// (each package depending on the ten before it), as a build with
// --sbom=true does once per platform.
func BenchmarkSPDXLarge(b *testing.B) {
	recs := make([]*record.RepoDataRecord, 2000)
	for i := range recs {
		var deps []string
		for j := max(0, i-10); j < i; j++ {
			deps = append(deps, fmt.Sprintf("pkg%04d >=1", j))
		}
		recs[i] = rec(fmt.Sprintf("pkg%04d", i), "1.0", "h0_0", "linux-64", "MIT OR Apache-2.0", deps...)
	}
	l := &lock.Lock{}
	if err := l.SetPlatform("linux-64", "h", recs); err != nil {
		b.Fatal(err)
	}
	env := Environment{Name: "large", Platform: "linux/amd64", Base: Image{Ref: baseRef, Digest: baseDgst}, Lock: l}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		d, err := New(env)
		if err != nil {
			b.Fatal(err)
		}
		out, err := d.SPDX()
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "bytes/doc")
}
