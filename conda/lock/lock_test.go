package lock

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

func rec(name, ver, build, subdir string, depends ...string) *record.RepoDataRecord {
	fn := name + "-" + ver + "-" + build + ".conda"
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{
			Name: name, Version: version.MustParse(ver), Build: build, BuildNumber: 3, Subdir: subdir,
			Depends: depends, License: "MIT", Size: 1234, Timestamp: 1700000000000,
			MD5:    strings.Repeat("a", 32),
			SHA256: strings.Repeat(string("0123456789abcdef"[len(name)%16]), 64),
		},
		FileName: fn,
		URL:      "https://conda.anaconda.org/conda-forge/" + subdir + "/" + fn,
		Channel:  "https://conda.anaconda.org/conda-forge",
	}
}

func solution() []*record.RepoDataRecord {
	return []*record.RepoDataRecord{
		rec("zlib", "1.3.1", "hb9d3cd8_2", "linux-64", "libgcc >=13", "libzlib 1.3.1 hb9d3cd8_2"),
		rec("libzlib", "1.3.1", "hb9d3cd8_2", "linux-64", "libgcc >=13"),
		rec("libgcc", "14.2.0", "h77fa898_1", "linux-64", "_libgcc_mutex 0.1 conda_forge"),
		rec("_libgcc_mutex", "0.1", "conda_forge", "linux-64"),
		rec("tzdata", "2024b", "hc8b5060_0", "noarch"),
	}
}

func TestSetPlatformRecords(t *testing.T) {
	sol := solution()
	l := &Lock{Channels: []Channel{{URL: "conda-forge"}}}
	if err := l.SetPlatform("linux-64", "hash1", sol); err != nil {
		t.Fatal(err)
	}
	if l.Stale("linux-64", "hash1") || !l.Stale("linux-64", "hash2") || !l.Stale("osx-64", "hash1") {
		t.Error("Stale disagrees with the recorded content hash")
	}
	recs, err := l.Records("linux-64")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Name)
	}
	// Dependencies first; otherwise the lock's (name) order.
	if want := []string{"_libgcc_mutex", "libgcc", "libzlib", "tzdata", "zlib"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	for _, r := range recs {
		for _, s := range sol {
			if s.Name == r.Name && !reflect.DeepEqual(r, s) {
				t.Errorf("record changed:\n%+v\n%+v", r, s)
			}
		}
	}
	// Records are copies: editing them leaves the lock alone.
	recs[0].Depends = append(recs[0].Depends, "x")
	sol[0].Name = "changed"
	again, _ := l.Records("linux-64")
	if len(again[0].Depends) != 0 || l.Packages[len(l.Packages)-1].Name != "zlib" {
		t.Error("lock shares memory with its input or output")
	}

	// Re-locking a platform replaces it.
	if err := l.SetPlatform("linux-64", "hash2", solution()[3:]); err != nil {
		t.Fatal(err)
	}
	if recs, _ := l.Records("linux-64"); len(recs) != 2 || l.Stale("linux-64", "hash2") {
		t.Errorf("after re-lock: %d records", len(recs))
	}
}

func TestSetPlatformRejects(t *testing.T) {
	l := &Lock{}
	noURL := rec("a", "1", "0", "linux-64")
	noURL.URL = ""
	for _, c := range []struct {
		platform string
		sol      []*record.RepoDataRecord
		want     string
	}{
		{"noarch", nil, "invalid target platform"},
		{"linux-64", []*record.RepoDataRecord{noURL}, "lacks a name, version, build or url"},
		{"linux-64", []*record.RepoDataRecord{rec("a", "1", "0", "linux-64"), rec("a", "2", "0", "linux-64")}, "package a is in the solution twice"},
	} {
		if err := l.SetPlatform(c.platform, "h", c.sol); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}

// A solution written as conda-lock and as explicit, then read back, gives
// the installer the same name/version/build/url/hashes/depends.
func TestSolutionThroughFiles(t *testing.T) {
	l := &Lock{Channels: []Channel{{URL: "conda-forge", UsedEnvVars: []string{}}}, Sources: []string{"environment.yml"}}
	if err := l.SetPlatform("linux-64", "h64", solution()); err != nil {
		t.Fatal(err)
	}
	if err := l.SetPlatform("osx-arm64", "harm", solution()[4:]); err != nil {
		t.Fatal(err)
	}
	want, err := l.Records("linux-64")
	if err != nil {
		t.Fatal(err)
	}
	var cl bytes.Buffer
	if err := WriteCondaLock(&cl, l); err != nil {
		t.Fatal(err)
	}
	fromCL, err := ReadCondaLock("conda-lock.yml", cl.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, cl.String())
	}
	if !reflect.DeepEqual(fromCL.Platforms, []string{"linux-64", "osx-arm64"}) || fromCL.Stale("osx-arm64", "harm") {
		t.Errorf("platforms %v, hashes %v", fromCL.Platforms, fromCL.ContentHash)
	}
	var ex bytes.Buffer
	if err := WriteExplicit(&ex, l, "linux-64"); err != nil {
		t.Fatal(err)
	}
	fromEx, err := ReadExplicit("linux-64.txt", ex.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for name, back := range map[string]*Lock{"conda-lock": fromCL, "explicit": fromEx} {
		got, err := back.Records("linux-64")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			if g.Name != w.Name || !g.Version.Equal(w.Version) || g.Build != w.Build || g.URL != w.URL ||
				g.FileName != w.FileName || g.Subdir != w.Subdir || g.Channel != w.Channel || g.SHA256 != w.SHA256 {
				t.Errorf("%s: record %d = %+v, want %+v", name, i, g, w)
			}
			if name == "conda-lock" && (g.MD5 != w.MD5 || !reflect.DeepEqual(g.Depends, dependsList(dependencyMap(w.Depends)))) {
				t.Errorf("%s: %s md5 %q depends %q, want %q %q", name, g.Name, g.MD5, g.Depends, w.MD5, w.Depends)
			}
		}
	}
}

func TestDependencyMap(t *testing.T) {
	m := dependencyMap([]string{"python >=3.9,<3.10.0a0 *_cpython", "__unix", "numpy[version='>=1.20']", "libzlib >=1.2", "libzlib <2"})
	want := map[string]string{"python": ">=3.9,<3.10.0a0 *_cpython", "__unix": "", "numpy": "[version='>=1.20']", "libzlib": ">=1.2,<2"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("map %q, want %q", m, want)
	}
	if got, want := dependsList(m), []string{"__unix", "libzlib >=1.2,<2", "numpy[version='>=1.20']", "python >=3.9,<3.10.0a0 *_cpython"}; !reflect.DeepEqual(got, want) {
		t.Errorf("list %q, want %q", got, want)
	}
}

func TestSplitURL(t *testing.T) {
	for _, c := range []struct{ url, channel, subdir, fn string }{
		{"https://conda.anaconda.org/conda-forge/linux-64/a-1-0.conda", "https://conda.anaconda.org/conda-forge", "linux-64", "a-1-0.conda"},
		{"https://repo.anaconda.com/pkgs/main/noarch/a-1-0.tar.bz2", "https://repo.anaconda.com/pkgs/main", "noarch", "a-1-0.tar.bz2"},
		{"https://example.com/pkg-a-1.0-0.tar.bz2", "https://example.com", "", "pkg-a-1.0-0.tar.bz2"},
		{`C:\pkgs\win-64\a-1-0.conda`, `C:\pkgs`, "win-64", "a-1-0.conda"},
		{"a-1-0.conda", "", "", "a-1-0.conda"},
	} {
		ch, sd, fn := splitURL(c.url)
		if ch != c.channel || sd != c.subdir || fn != c.fn {
			t.Errorf("splitURL(%q) = %q %q %q", c.url, ch, sd, fn)
		}
	}
}
