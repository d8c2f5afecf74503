package spec

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDockerSteps parses environments of n docker_steps lines, as a
// block and as a list: the time per line stays flat as n grows (it grew
// with n when the text was built by repeated concatenation).
func BenchmarkDockerSteps(b *testing.B) {
	for _, n := range []int{1_000, 8_000, 64_000} {
		var block, list strings.Builder
		block.WriteString("image: busybox\ndocker_steps: |\n")
		list.WriteString("image: busybox\ndocker_steps:\n")
		for i := range n {
			fmt.Fprintf(&block, "  RUN echo %d\n", i)
			fmt.Fprintf(&list, "  - RUN echo %d\n", i)
		}
		for name, src := range map[string]string{"block": block.String(), "list": list.String()} {
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := Parse("env.yml", []byte(src)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/line")
			})
		}
	}
}
