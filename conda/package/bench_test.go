package condapkg

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
)

// zlibRebuilt returns the largest fixture package, zlib-1.2.11 for win-64
// (conda-format-repo), rebuilt as a consistent package in both formats:
// its real files, its info/ files, and a paths.json regenerated without the
// softlink entries whose payload upstream's test data replaced by empty
// files. It also returns the bytes of the payload files.
func zlibRebuilt(b *testing.B) (conda, tarBz2 []byte, unpacked int64) {
	b.Helper()
	f, err := os.Open(testdata.Path(b, "conda", "channels", "conda-format-repo", "win-64", "zlib-1.2.11-h62dcd97_3.tar.bz2"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m, err := ReadFile(f.Name())
	if err != nil {
		b.Fatal(err)
	}
	broken := map[string]bool{}
	for _, p := range m.Paths {
		if p.PathType == PathSoftlink {
			broken[p.Path] = true
		}
	}
	var info, pkg []member
	tr := tar.NewReader(bzip2.NewReader(f))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			b.Fatal(err)
		}
		mem := member{name: h.Name, typ: h.Typeflag, body: string(body), link: h.Linkname, mode: h.Mode}
		switch {
		case h.Name == "info/paths.json" || broken[h.Name]:
		case len(h.Name) > 5 && h.Name[:5] == "info/":
			info = append(info, mem)
		default:
			pkg = append(pkg, mem)
			unpacked += h.Size
		}
	}
	info = append(info, pathsJSON(pkg...))
	stem := m.Index.Dist()
	return condaBytes(b, stem, info, pkg), bzip2Bytes(b, tarBytes(b, append(info, pkg...))), unpacked
}

// BenchmarkExtract extracts the rebuilt zlib package; throughput is of the
// payload bytes written.
func BenchmarkExtract(b *testing.B) {
	conda, tarBz2, unpacked := zlibRebuilt(b)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"conda", conda}, {"tar.bz2", tarBz2}} {
		b.Run(tc.name, func(b *testing.B) {
			name := "zlib-1.2.11-h62dcd97_3." + tc.name
			tmp := b.TempDir()
			b.SetBytes(unpacked)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dest := filepath.Join(tmp, strconv.Itoa(i))
				i++
				if _, err := Extract(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)), name, dest); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dest)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRead reads the metadata of the real zlib fixtures: the .conda
// decompresses only its info tarball, the .tar.bz2 its whole stream up to
// the last metadata file.
func BenchmarkRead(b *testing.B) {
	dir := testdata.Path(b, "conda", "channels", "conda-format-repo", "win-64")
	for _, name := range []string{"zlib-1.2.11-h62dcd97_3.conda", "zlib-1.2.11-h62dcd97_3.tar.bz2"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Ext(name)[1:], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Read(bytes.NewReader(data), int64(len(data)), name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
