package lock

import (
	"bytes"
	"errors"
	"github.com/envkit/envkit/conda/record"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/testdata"
)

func readFixture(t testing.TB, elem ...string) (string, []byte) {
	t.Helper()
	path := testdata.Path(t, append([]string{"conda", "lockfiles"}, elem...)...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func fixtures(t *testing.T, dir, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testdata.Path(t, "conda", "lockfiles", dir), pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures %s/%s: %v", dir, pattern, err)
	}
	return files
}

func TestReadCondaLockGoodFixtures(t *testing.T) {
	files := append(fixtures(t, "conda-lock", "good_*.yaml"), testdata.Path(t, "conda", "lockfiles", "conda-lock", "conda-lock.yml"))
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := ReadCondaLock(path, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Platforms) == 0 || len(l.Channels) == 0 {
				t.Errorf("platforms %v, channels %v: want some", l.Platforms, l.Channels)
			}
			// A package whose file name is not its own name-version-build
			// is skipped (the overlap fixture has pkg_a at pkg-a-1.0-0.tar.bz2).
			if got, want := len(l.Packages)+len(l.Skipped), strings.Count(string(data), "manager:"); got != want {
				t.Errorf("%d packages and %d skipped, want %d", len(l.Packages), len(l.Skipped), want)
			}
			for _, s := range l.Skipped {
				if w := s.Warning; w.File != path || w.Line == 0 || !strings.HasSuffix(w.Field, ".url") ||
					!strings.Contains(w.Msg, "does not match the record's name, version and build") {
					t.Errorf("skipped %s: %v", s.Name, w)
				}
			}
			for _, p := range l.Packages {
				if p.Manager == Conda && (p.Record == nil || p.Record.Build == "" || p.Record.FileName == "" ||
					p.Record.Subdir == "" && strings.Contains(p.URL, "conda.anaconda.org")) {
					t.Errorf("%s: incomplete record %+v", p.Name, p.Record)
				}
			}
			assertCondaLockRoundTrip(t, l)
		})
	}
}

// assertCondaLockRoundTrip writes l, reads it back, and wants the same model.
func assertCondaLockRoundTrip(t *testing.T, l *Lock) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCondaLock(&buf, l); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCondaLock("written.yml", buf.Bytes())
	// constrains is a mamba extension that conda-lock v1 cannot hold;
	// skipped packages are not written.
	l = withoutConstrains(l)
	l.Skipped = nil
	if err != nil {
		t.Fatalf("reading what we wrote: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(l, back) {
		t.Errorf("round trip changed the lock:\nwant %s\ngot  %s", dump(l), dump(back))
	}
	var again bytes.Buffer
	if err := WriteCondaLock(&again, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("writing is not deterministic:\n%s\n---\n%s", buf.String(), again.String())
	}
}

func withoutConstrains(l *Lock) *Lock {
	c := *l
	c.Packages = nil
	for _, p := range l.Packages {
		if p.Record != nil && p.Record.Constrains != nil {
			q, r := *p, *p.Record
			r.Constrains = nil
			q.Record = &r
			p = &q
		}
		c.Packages = append(c.Packages, p)
	}
	return &c
}

func dump(l *Lock) string {
	var b strings.Builder
	b.WriteString(strings.Join(l.Platforms, ",") + " ")
	for _, p := range l.Packages {
		b.WriteString(p.Platform + "/" + p.Name + "=" + p.Version + "@" + p.URL + " ")
		if p.Record != nil {
			b.WriteString("[" + p.Record.Dist() + " " + p.Record.Subdir + " " + p.Record.Channel + " " + strings.Join(p.Record.Depends, ";") + "] ")
		}
	}
	return b.String()
}

func TestReadCondaLockOnePackage(t *testing.T) {
	path, data := readFixture(t, "conda-lock", "good_one_package-lock.yaml")
	l, err := ReadCondaLock(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Platforms, []string{"linux-64", "osx-64", "win-64"}; !reflect.DeepEqual(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
	if got := l.ContentHash["win-64"]; got != "310b23581083bfb983927c40d3bdc86162192d7b26ffd7bffc385f627c155697" {
		t.Errorf("content hash win-64 = %q", got)
	}
	if len(l.Packages) != 1 {
		t.Fatalf("%d packages, want 1", len(l.Packages))
	}
	p := l.Packages[0]
	r := p.Record
	if p.Name != "libzlib" || p.Version != "1.2.11" || p.Platform != "win-64" || p.Category != "main" || p.Optional {
		t.Errorf("package %+v", p)
	}
	if r.Build != "h8ffe710_1013" || r.Subdir != "win-64" || r.Channel != "https://conda.anaconda.org/conda-forge" ||
		r.FileName != "libzlib-1.2.11-h8ffe710_1013.tar.bz2" || r.MD5 != "b28dd2488b4e5f892c67071acc1d0a8c" ||
		r.SHA256 != "5b7e002932c0138d78d251caae0c571d13f857ff90e7ce21d58d67073381250e" {
		t.Errorf("record %+v", r)
	}
	if want := []string{"vc >=14.1,<15.0a0", "vs2015_runtime >=14.16.27012"}; !reflect.DeepEqual(r.Depends, want) {
		t.Errorf("depends %q, want %q", r.Depends, want)
	}
	if want := []string{"zlib ==1.2.11 *_1013"}; !reflect.DeepEqual(r.Constrains, want) {
		t.Errorf("constrains %q, want %q", r.Constrains, want)
	}
}

func TestReadCondaLockPipAndOldChannels(t *testing.T) {
	path, data := readFixture(t, "conda-lock", "conda-lock.yml")
	l, err := ReadCondaLock(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Channels) != 1 || l.Channels[0].URL != "conda-forge" {
		t.Errorf("channels %+v, want [conda-forge]", l.Channels)
	}
	var pip []*Package
	for _, p := range l.Packages {
		if p.Manager == Pip {
			pip = append(pip, p)
		}
	}
	if len(pip) != 9 {
		t.Fatalf("%d pip packages, want 9", len(pip))
	}
	for _, p := range pip {
		if p.Record != nil || p.SHA256 == "" {
			t.Errorf("pip %s: record %v, sha256 %q", p.Name, p.Record, p.SHA256)
		}
	}
	// pip packages sort after every conda package.
	if last := l.Packages[len(l.Packages)-1]; last.Manager != Pip {
		t.Errorf("last package is %s %s, want a pip package", last.Manager, last.Name)
	}
}

func TestReadCondaLockCategories(t *testing.T) {
	path, data := readFixture(t, "conda-lock", "good_overlap_categories-lock.yaml")
	// The fixture's URLs name pkg_a and pkg_b pkg-a and pkg-b: such
	// packages are skipped (TestReadCondaLockGoodFixtures); here their
	// file names are made their own.
	data = []byte(strings.NewReplacer("/pkg-a-", "/pkg_a-", "/pkg-b-", "/pkg_b-").Replace(string(data)))
	l, err := ReadCondaLock(path, data)
	if err != nil {
		t.Fatal(err)
	}
	conda := map[string]map[string]bool{} // category -> conda names
	for _, p := range l.Packages {
		if !p.Optional {
			t.Errorf("%s: want optional", p.Name)
		}
		if p.Manager == Conda {
			if conda[p.Category] == nil {
				conda[p.Category] = map[string]bool{}
			}
			conda[p.Category][p.Name] = true
		}
	}
	union := map[string]bool{}
	for _, c := range []string{"foo", "bar"} {
		for n := range conda[c] {
			union[n] = true
		}
	}
	if len(conda["foo"]) == 0 || len(conda["bar"]) == 0 || len(union) >= len(conda["foo"])+len(conda["bar"]) {
		t.Fatalf("fixture changed: want overlapping conda packages in foo and bar, have %v", conda)
	}
	platform := l.Platforms[0]
	if recs, err := l.Records(platform); err != nil || len(recs) != 0 {
		t.Errorf("Records without categories = %d, %v; want none (all optional)", len(recs), err)
	}
	bar, err := l.Records(platform, "bar")
	if err != nil {
		t.Fatal(err)
	}
	both, err := l.Records(platform, "foo", "bar")
	if err != nil {
		t.Fatal(err)
	}
	if len(bar) != len(conda["bar"]) || len(both) != len(union) {
		t.Errorf("bar: %d records, foo+bar: %d records; want %d and %d", len(bar), len(both), len(conda["bar"]), len(union))
	}
	names := map[string]bool{}
	for _, r := range both {
		if names[r.Name] {
			t.Errorf("%s returned twice", r.Name)
		}
		names[r.Name] = true
	}
}

func TestReadCondaLockBad(t *testing.T) {
	cases := []struct {
		file string
		want []string // each must appear in one error, as "line: field: msg"
	}{
		{"bad_version-lock.yaml", []string{":1:10: version: unsupported conda-lock version -1", ":1:1: metadata: required field is missing"}},
		{"bad_package-lock.yaml", []string{
			":1:1: metadata: required field is missing",
			":4:5: package[0].hash: required field is missing",
			":4:5: package[0].manager: required field is missing",
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path, data := readFixture(t, "conda-lock", c.file)
			_, err := ReadCondaLock(path, data)
			assertErrors(t, err, path, c.want)
		})
	}
}

func assertErrors(t *testing.T, err error, file string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var de *diag.Error
	if !errors.As(err, &de) || de.File != file {
		t.Errorf("error %v does not name the file %s", err, file)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), file+w) {
			t.Errorf("error lacks %q:\n%v", file+w, err)
		}
	}
}

func TestReadCondaLockInvalidFields(t *testing.T) {
	base := `version: 1
metadata:
  content_hash: {linux-64: abc}
  channels: [{url: conda-forge, used_env_vars: []}]
  platforms: [linux-64]
  sources: [environment.yml]
package:
- name: zlib
  version: 1.2.13
  manager: conda
  platform: linux-64
  url: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.2.13-hd590300_5.conda
  hash: {md5: 68c34ec6149623be41a1933ab996a209}
  optional: false
`
	if _, err := ReadCondaLock("ok.yml", []byte(base)); err != nil {
		t.Fatalf("base case: %v", err)
	}
	cases := []struct{ old, new, want string }{
		{"manager: conda", "manager: npm", ":10:12: package[0].manager: must be conda or pip"},
		{"platform: linux-64\n  url", "platform: osx-64\n  url", `:11:13: package[0].platform: "osx-64" is not one of metadata.platforms`},
		{"optional: false", "optional: maybe", ":14:13: package[0].optional: must be true or false"},
		{"  optional: false", "  optional: false\n  colour: red", ":15:3: package[0].colour: unknown key"},
		{"  optional: false", "  optional: false\n- name: zlib\n  version: 1.2.13\n  manager: conda\n  platform: linux-64\n  url: https://x/linux-64/zlib-1.2.13-0.conda\n  hash: {}\n  optional: false",
			":15:3: package[1]: conda package zlib is listed twice"},
		{"version: 1\n", "version: 2\n", ":1:10: version: unsupported conda-lock version 2"},
		{"sources: [environment.yml]", "sources: environment.yml", ":6:12: metadata.sources: must be a list"},
		{"name: zlib", "name: [zlib]", ":8:9: package[0].name: must be a string, not a list"},
		{"package:", "package: [\n", ":"},
	}
	for _, c := range cases {
		src := strings.Replace(base, c.old, c.new, 1)
		if src == base {
			t.Fatalf("case %q does not apply", c.old)
		}
		_, err := ReadCondaLock("x.yml", []byte(src))
		assertErrors(t, err, "x.yml", []string{c.want})
	}
}

// What linking needs and the layer budget groups by survive a conda-lock
// file: a noarch: python package stays one, and sizes are kept, so that
// installing from a lock gives the layers a solve gives; and licences, for
// the image's bill of materials.
func TestCondaLockKeepsNoarchSizeAndLicense(t *testing.T) {
	sol := solution()
	py := rec("pyhello", "0.1", "py_0", "noarch")
	py.Noarch, py.Size, py.License = record.NoarchPython, 52<<20, "BSD-3-Clause"
	sol = append(sol, py)
	l := &Lock{Channels: []Channel{{URL: "conda-forge"}}}
	if err := l.SetPlatform("linux-64", "h", sol); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCondaLock(&buf, l); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCondaLock("conda-lock.yml", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := back.Records("linux-64")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Name == "pyhello" {
			found = true
			if r.Noarch != record.NoarchPython || r.Size != 52<<20 || r.License != "BSD-3-Clause" {
				t.Errorf("pyhello read back as noarch %q, size %d, license %q\n%s", r.Noarch, r.Size, r.License, buf.String())
			}
		} else if r.Size != 1234 || r.Noarch != "" || r.License != "MIT" {
			t.Errorf("%s read back as noarch %q, size %d, license %q", r.Name, r.Noarch, r.Size, r.License)
		}
	}
	if !found {
		t.Fatalf("pyhello not read back:\n%s", buf.String())
	}
	if _, err := ReadCondaLock("bad.yml", bytes.Replace(buf.Bytes(), []byte("noarch: python"), []byte("noarch: java"), 1)); err == nil {
		t.Error("noarch: java accepted")
	}
}
