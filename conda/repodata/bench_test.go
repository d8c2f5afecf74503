package repodata

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

// synthetic builds a conda-forge-like linux-64 repodata.json with n records
// spread over n/8 package names, half as .conda and half as .tar.bz2 (no
// shadowing), each with realistic depends, constrains, hashes and sizes.
func synthetic(n int) []byte {
	var b strings.Builder
	b.Grow(n * 900)
	b.WriteString(`{"info":{"subdir":"linux-64"},"packages":{`)
	section := func(conda bool) {
		first := true
		for i := 0; i < n; i++ {
			if (i%2 == 0) != conda {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			name := fmt.Sprintf("pkg-%05d", i/8)
			ver := fmt.Sprintf("%d.%d.%d", i%8, i%13, i%3)
			build := fmt.Sprintf("py3%dh%07x_%d", 9+i%4, i*2654435761%0xfffffff, i%3)
			ext := ".tar.bz2"
			if conda {
				ext = ".conda"
			}
			fmt.Fprintf(&b, `
    "%s-%s-%s%s": {
      "build": "%s",
      "build_number": %d,
      "constrains": [
        "%s-doc >=%s"
      ],
      "depends": [
        "libgcc-ng >=12",
        "libstdcxx-ng >=12",
        "python >=3.%d,<3.%d.0a0",
        "python_abi 3.%d.* *_cp3%d",
        "numpy >=1.21.6,<2.0a0",
        "pkg-%05d >=1.0",
        "libzlib >=1.2.13,<2.0.0a0"
      ],
      "license": "BSD-3-Clause",
      "license_family": "BSD",
      "md5": "%032x",
      "name": "%s",
      "sha256": "%064x",
      "size": %d,
      "subdir": "linux-64",
      "timestamp": %d,
      "version": "%s"
    }`, name, ver, build, ext, build, i%3, name, ver, 9+i%4, 10+i%4, 9+i%4, 9+i%4, (i/8+1)%(n/8),
				i*7919, name, i*104729, 10000+i*37%5000000, 1600000000000+int64(i)*1000, ver)
		}
	}
	section(false)
	b.WriteString(`},"packages.conda":{`)
	section(true)
	b.WriteString(`},"removed":[],"repodata_version":1}`)
	return []byte(b.String())
}

var synth = sync.OnceValue(func() []byte { return synthetic(100_000) })

func BenchmarkParse100k(b *testing.B) {
	data := synth()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := Parse(data, "https://conda.anaconda.org/conda-forge", "linux-64")
		if err != nil || rd.Len() != 100_000 {
			b.Fatal(err, rd.Len())
		}
	}
}

func BenchmarkParseRecords100k(b *testing.B) {
	data := synth()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := Parse(data, "https://conda.anaconda.org/conda-forge", "linux-64")
		if err != nil {
			b.Fatal(err)
		}
		if n := len(rd.Records()); n != 100_000 {
			b.Fatal(n)
		}
	}
}

// BenchmarkParseQuery100k parses and decodes the records of 20 names, as a
// query for a small environment would.
func BenchmarkParseQuery100k(b *testing.B) {
	data := synth()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := Parse(data, "https://conda.anaconda.org/conda-forge", "linux-64")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for i := 0; i < 20; i++ {
			n += len(rd.ByName(fmt.Sprintf("pkg-%05d", i*577)))
		}
		if n != 160 {
			b.Fatal(n)
		}
	}
}

// BenchmarkEncodingJSON100k is the baseline: encoding/json into maps of
// PackageRecord.
func BenchmarkEncodingJSON100k(b *testing.B) {
	data := synth()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var doc struct {
			Packages      map[string]record.PackageRecord `json:"packages"`
			PackagesConda map[string]record.PackageRecord `json:"packages.conda"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRecordsNumpy(b *testing.B) {
	data := readFixture(b, "conda", "indexes", "conda-forge-numpy-linux-64.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := Parse(data, "https://conda.anaconda.org/conda-forge", "linux-64")
		if err != nil {
			b.Fatal(err)
		}
		if len(rd.Records()) == 0 {
			b.Fatal("no records")
		}
	}
}
