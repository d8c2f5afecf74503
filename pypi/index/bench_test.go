package index

import (
	"fmt"
	"testing"
)

// largePage is a project page of n files, as PyPI serves a large project:
// wheels for several Pythons and platforms per release, hashes,
// requires-python, metadata files with hashes, a few yanked files.
func largePage(n int) (htmlPage, jsonPage []byte) {
	plats := []string{"manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64", "macosx_11_0_arm64", "win_amd64", "musllinux_1_1_x86_64"}
	files := make([]testFile, 0, n)
	for i := 0; len(files) < n; i++ {
		v := fmt.Sprintf("%d.%d.%d", i/100, i/10%10, i%10)
		files = append(files, testFile{name: "bigproject-" + v + ".tar.gz", body: []byte(v), requiresPy: ">=3.8"})
		for py := 8; py <= 13 && len(files) < n; py++ {
			for _, p := range plats {
				if len(files) == n {
					break
				}
				name := fmt.Sprintf("bigproject-%s-cp3%d-cp3%d-%s.whl", v, py, py, p)
				f := testFile{name: name, body: []byte(name), requiresPy: ">=3.8", metadata: []byte(name), metaAttr: "hash"}
				if i%50 == 7 {
					f.yanked = ptr("broken build")
				}
				files = append(files, f)
			}
		}
	}
	s := &indexServer{}
	return s.htmlPage("bigproject", files), s.jsonPage("bigproject", files)
}

func BenchmarkParseHTML5000(b *testing.B) {
	page, _ := largePage(5000)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseHTML(page, "https://pypi.org/simple/bigproject/")
		if err != nil || len(p.Files) != 5000 {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON5000(b *testing.B) {
	_, page := largePage(5000)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseJSON(page, "https://pypi.org/simple/bigproject/")
		if err != nil || len(p.Files) != 5000 {
			b.Fatal(err)
		}
	}
}
