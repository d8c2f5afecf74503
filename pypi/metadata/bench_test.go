package metadata

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParse parses a METADATA of the size of a large real one: 100
// Requires-Dist with markers, 40 classifiers and a 20 KB description.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Metadata-Version: 2.1\nName: big-project\nVersion: 1.2.3\nRequires-Python: >=3.8\n")
	for i := range 40 {
		fmt.Fprintf(&sb, "Classifier: Programming Language :: Python :: 3.%d\n", i)
	}
	for i := range 10 {
		fmt.Fprintf(&sb, "Provides-Extra: extra%d\n", i)
	}
	for i := range 100 {
		fmt.Fprintf(&sb, "Requires-Dist: dep-%d (>=1.%d,<2) ; python_version >= \"3.8\" and extra == 'extra%d'\n", i, i, i%10)
	}
	sb.WriteString("\n")
	for sb.Len() < 30000 {
		sb.WriteString("A line of the project's long description, as READMEs are.\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, ""); err != nil {
			b.Fatal(err)
		}
	}
}
