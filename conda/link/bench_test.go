package link

import (
	"context"
	condapkg "github.com/envkit/envkit/conda/package"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// BenchmarkLinkBinaryPlaceholder links a synthetic 16 MiB shared library
// with its placeholder in 64 strings (rpaths, data paths), as large
// conda-forge libraries have: the source is mapped and only the patched
// strings are allocated.
func BenchmarkLinkBinaryPlaceholder(b *testing.B) {
	const ph = "/home/conda/feedstock_root/build_artifacts/libbig_1700000000000/_h_env_placehold_placehold_placehold_placehold"
	lib := make([]byte, 16<<20)
	for i := range lib {
		lib[i] = byte(i*7 + 1)
	}
	for k := range 64 {
		off := k * (len(lib) / 64)
		s := ph + "/lib/python3.11\x00"
		copy(lib[off:], s)
	}
	dir := pkg{
		paths: []condapkg.PathEntry{{Path: "lib/libbig.so", PrefixPlaceholder: ph, FileMode: condapkg.FileModeBinary}},
		files: map[string]string{"lib/libbig.so": string(lib)},
	}.write(b)
	root := b.TempDir()
	b.SetBytes(int64(len(lib)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := Link(context.Background(), dir, envPrefix, Options{Dest: filepath.Join(root, strconv.Itoa(i))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinkManyFiles links a synthetic noarch: python package shaped
// like a large pure-Python library: 2,000 files of 4 KiB in 100
// directories, plus 10 entry points. It measures the per-file cost.
func BenchmarkLinkManyFiles(b *testing.B) {
	p := pkg{index: map[string]any{"noarch": "python", "subdir": "noarch"}, files: map[string]string{}}
	content := strings.Repeat("x = 1\n", 4096/6)
	for d := range 100 {
		for f := range 20 {
			name := "site-packages/lib" + strconv.Itoa(d) + "/mod" + strconv.Itoa(f) + ".py"
			p.paths = append(p.paths, condapkg.PathEntry{Path: name})
			p.files[name] = content
		}
	}
	var eps []string
	for i := range 10 {
		eps = append(eps, `"tool`+strconv.Itoa(i)+` = lib0.mod0:main"`)
	}
	p.link = `{"noarch":{"type":"python","entry_points":[` + strings.Join(eps, ",") + `]}}`
	dir := p.write(b)
	md, err := readMetadata(dir)
	if err != nil {
		b.Fatal(err)
	}
	py := &Python{Version: "3.12", SitePackages: "lib/python3.12/site-packages"}
	root := b.TempDir()
	b.SetBytes(int64(len(p.paths) * len(content)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := Link(context.Background(), dir, envPrefix, Options{Dest: filepath.Join(root, strconv.Itoa(i)), Metadata: md, Python: py}); err != nil {
			b.Fatal(err)
		}
	}
}
