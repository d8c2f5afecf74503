package link

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkLink links the largest fixture package (zlib 1.2.11 for
// linux-64: shared and static library, headers, a pkg-config file with a
// text placeholder) into a fresh directory per iteration.
func BenchmarkLink(b *testing.B) {
	pkgDir := extractRaw(b, "conda", "channels", "conda-format-repo", "linux-64", "zlib-1.2.11-h7b6447c_3.tar.bz2")
	root := b.TempDir()
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: filepath.Join(root, "probe")})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(res.Bytes)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		dest := filepath.Join(root, strconv.Itoa(i))
		if _, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	os.RemoveAll(root)
}
