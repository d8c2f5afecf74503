package repodata

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/klauspost/compress/zstd"
)

func readFixture(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func names(recs []*record.RepoDataRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.FileName)
	}
	return out
}

func TestParseCondaFormatRepo(t *testing.T) {
	data := readFixture(t, "conda", "channels", "conda-format-repo", "linux-64", "repodata.json")
	rd, err := Parse(data, "https://conda.example/chan", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	got := names(rd.Records())
	// zlib exists as .tar.bz2 and .conda: the .conda one wins.
	want := []string{"libgcc-ng-8.2.0-hdf63c60_1.tar.bz2", "zlib-1.2.11-h7b6447c_3.conda"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	z := rd.ByName("zlib")
	if len(z) != 1 {
		t.Fatalf("ByName(zlib) = %v", names(z))
	}
	r := z[0]
	if r.URL != "https://conda.example/chan/linux-64/zlib-1.2.11-h7b6447c_3.conda" || r.Channel != "https://conda.example/chan" ||
		r.SHA256 != "f33afff2144e1d6c4cf2e3e184937db8bf825b4537df74662aea5ee207b6a31b" || r.Size != 105917 ||
		r.Version.String() != "1.2.11" || r.BuildNumber != 3 || r.Timestamp != 1542814864621 ||
		!reflect.DeepEqual(r.Depends, []string{"libgcc-ng >=7.3.0"}) || r.Subdir != "linux-64" || r.LicenseFamily != "Other" {
		t.Errorf("zlib record = %+v", r)
	}
	if rd.Version != 1 || rd.Info.Subdir != "linux-64" || len(rd.Warnings()) != 0 {
		t.Errorf("Version=%d Info=%+v warnings=%v", rd.Version, rd.Info, rd.Warnings())
	}
	if rd.Has("nope") || rd.ByName("nope") != nil {
		t.Error("unknown name has records")
	}
}

func TestParseWin64KeepsUnshadowedTarBz2(t *testing.T) {
	data := readFixture(t, "conda", "channels", "conda-format-repo", "win-64", "repodata.json")
	rd, err := Parse(data, "file:///c", "")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Packages      map[string]json.RawMessage `json:"packages"`
		PackagesConda map[string]json.RawMessage `json:"packages.conda"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	want := 0
	for fn := range ref.Packages {
		if _, shadowed := ref.PackagesConda[strings.TrimSuffix(fn, ".tar.bz2")+".conda"]; !shadowed {
			want++
		}
	}
	want += len(ref.PackagesConda)
	if got := len(rd.Records()); got != want || rd.Subdir != "win-64" {
		t.Errorf("%d records in subdir %q, want %d in win-64", got, rd.Subdir, want)
	}
}

// TestBaseURL covers CEP 15: rattler's dummy channel says base_url
// "../linux-64" with repodata_version 2.
func TestBaseURL(t *testing.T) {
	data := readFixture(t, "conda", "channels", "rattler-dummy", "linux-64", "repodata.json")
	rd, err := Parse(data, "http://127.0.0.1:1/dummy", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	if rd.Version != 2 || rd.Info.BaseURL != "../linux-64" {
		t.Fatalf("Version=%d Info=%+v", rd.Version, rd.Info)
	}
	for _, r := range rd.Records() {
		if want := "http://127.0.0.1:1/dummy/linux-64/" + r.FileName; r.URL != want {
			t.Fatalf("URL = %q, want %q", r.URL, want)
		}
	}
	// The noarch-str channel puts info.subdir "noarch" in linux-64/repodata.json.
	data = readFixture(t, "conda", "channels", "rattler-dummy-noarch-str", "linux-64", "repodata.json")
	rd, err = Parse(data, "file:///x", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	bar := rd.ByName("bar")
	if len(bar) != 2 || bar[0].URL != "file:///x/linux-64/"+bar[0].FileName || bar[0].Noarch != record.NoarchNone {
		t.Errorf("bar = %+v", bar)
	}

	doc := func(version int, base string) []byte {
		return []byte(`{"info":{"subdir":"noarch","base_url":"` + base + `"},"repodata_version":` + string(rune('0'+version)) +
			`,"packages.conda":{"a-1-0.conda":{"name":"a","version":"1","build":"0","build_number":0,"depends":[]}}}`)
	}
	for _, tt := range []struct {
		version    int
		base, want string
	}{
		{2, "https://cdn.example/pkgs/", "https://cdn.example/pkgs/a-1-0.conda"},
		{2, "https://cdn.example/pkgs", "https://cdn.example/pkgs/a-1-0.conda"},
		{2, "/mirror/noarch", "https://h/mirror/noarch/a-1-0.conda"},
		{2, "./", "https://h/c/noarch/a-1-0.conda"},
		{1, "https://ignored.example/", "https://h/c/noarch/a-1-0.conda"}, // base_url needs repodata_version 2
	} {
		rd, err := Parse(doc(tt.version, tt.base), "https://h/c", "noarch")
		if err != nil {
			t.Fatal(err)
		}
		if recs := rd.Records(); len(recs) != 1 || recs[0].URL != tt.want {
			t.Errorf("v%d base_url %q: URL = %q, want %q", tt.version, tt.base, recs[0].URL, tt.want)
		}
	}
}

func TestParseZstd(t *testing.T) {
	data := readFixture(t, "conda", "channels", "conda-index1", "linux-64", "repodata.json")
	enc, _ := zstd.NewWriter(nil)
	z := enc.EncodeAll(data, nil)
	plain, err := Parse(data, "c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	comp, err := Parse(z, "c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	// 1149 records, 3 of them skipped: their file names are not their
	// name-version-build.
	if len(plain.Records()) != 1146 || !reflect.DeepEqual(plain.Records(), comp.Records()) {
		t.Errorf("zstd parse differs: %d vs %d records", len(plain.Records()), len(comp.Records()))
	}
	if _, err := Parse(z[:len(z)/2], "c", "linux-64"); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Errorf("truncated zstd: err = %v", err)
	}
}

func TestInvalidRecordsAreSkippedWithWarnings(t *testing.T) {
	doc := `{
  "info": {"subdir": "linux-64"},
  "packages": {
    "good-1.0-0.tar.bz2": {"name": "good", "version": "1.0", "build": "0", "build_number": 0, "depends": ["bad"]},
    "bad-1.0-0.tar.bz2": {"name": "bad", "version": "1.0", "build": "0", "build_number": "zero"},
    "bad-2.0-0.tar.bz2": {"name": "bad", "build": "0", "build_number": 0},
    "anon-1.0-0.tar.bz2": {"version": "1.0"},
    "weird-1.0-0.tar.bz2": ["not", "an", "object"],
    "bad-3.0-0.tar.bz2": {"name": "bad", "version": "3.0", "build": "0", "noarch": "rust"}
  }
}`
	rd, err := Parse([]byte(doc), "https://h/c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rd.Records()); !reflect.DeepEqual(got, []string{"good-1.0-0.tar.bz2"}) {
		t.Errorf("records = %v", got)
	}
	ws := rd.Warnings()
	want := map[string]string{
		`packages["anon-1.0-0.tar.bz2"]`:  "no package name",
		`packages["weird-1.0-0.tar.bz2"]`: "want a package record object",
		`packages["bad-1.0-0.tar.bz2"]`:   "build_number",
		`packages["bad-2.0-0.tar.bz2"]`:   "no version",
		`packages["bad-3.0-0.tar.bz2"]`:   "rust",
	}
	if len(ws) != len(want) {
		t.Fatalf("warnings = %v", ws)
	}
	for _, w := range ws {
		if !strings.Contains(w.Msg, want[w.Field]) || w.File != "https://h/c/linux-64/repodata.json" || w.Line < 4 {
			t.Errorf("warning %q (field %s, line %d): want it to mention %q", w.Error(), w.Field, w.Line, want[w.Field])
		}
	}
}

// TestRecordsThatSteerURLs: a file name that is not the record's own
// <name>-<version>-<build>.conda or .tar.bz2 (so could leave the channel's
// directory in a download URL or a lock), or a checksum that is not a hex
// digest, skips the record with a warning at its line.
func TestRecordsThatSteerURLs(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	doc := `{
  "packages": {
    "a-1.0-0.tar.bz2": {"name": "a", "version": "1.0", "build": "0", "sha256": "` + sha + `", "md5": "` + sha[:32] + `"},
    "../../../../etc/passwd": {"name": "a", "version": "2.0", "build": "0"},
    "../../../../etc/a-2.1-0.tar.bz2": {"name": "a", "version": "2.1", "build": "0"},
    "..\u002f..\u002fa-2.2-0.tar.bz2": {"name": "a", "version": "2.2", "build": "0"},
    "a-2.3-0.tar.bz2?x=/evil": {"name": "a", "version": "2.3", "build": "0"},
    "a-2.4-0.zip": {"name": "a", "version": "2.4", "build": "0"},
    "b-2.5-0.tar.bz2": {"name": "a", "version": "2.5", "build": "0"},
    "a-9-0.tar.bz2": {"name": "a", "version": "2.6", "build": "0"},
    "a-2.7-1.tar.bz2": {"name": "a", "version": "2.7", "build": "0"},
    "a-2.8-0.tar.bz2": {"name": "a", "version": "2.8", "build": "0", "sha256": "abc"},
    "a-2.9-0.tar.bz2": {"name": "a", "version": "2.9", "build": "0", "sha256": "` + sha[:63] + `g"},
    "a-3.0-0.tar.bz2": {"name": "a", "version": "3.0", "build": "0", "md5": "` + sha + `"}
  },
  "packages.conda": {
    "a-1.1-0.conda": {"name": "a", "version": "1.1", "build": "0", "sha256": "` + strings.ToUpper(sha) + `"},
    "a..-3.1-0.conda": {"name": "a..", "version": "3.1", "build": "0"}
  }
}`
	rd, err := Parse([]byte(doc), "https://h/c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.Records()
	if got := names(recs); !reflect.DeepEqual(got, []string{"a-1.0-0.tar.bz2", "a-1.1-0.conda"}) {
		t.Errorf("records = %v", got)
	}
	for _, r := range recs {
		if r.URL != "https://h/c/linux-64/"+r.FileName {
			t.Errorf("URL %q", r.URL)
		}
	}
	want := map[string]string{
		`packages["../../../../etc/passwd"]`:          "want <name>-<version>-<build>.conda or .tar.bz2",
		`packages["../../../../etc/a-2.1-0.tar.bz2"]`: `'/' is not allowed`,
		`packages["../../a-2.2-0.tar.bz2"]`:           `'/' is not allowed`,
		`packages["a-2.3-0.tar.bz2?x=/evil"]`:         "want <name>-<version>-<build>",
		`packages["a-2.4-0.zip"]`:                     "want <name>-<version>-<build>",
		`packages["b-2.5-0.tar.bz2"]`:                 "does not match the record's name, version and build (a-2.5-0)",
		`packages["a-9-0.tar.bz2"]`:                   "does not match the record's name, version and build (a-2.6-0)",
		`packages["a-2.7-1.tar.bz2"]`:                 "does not match the record's name, version and build (a-2.7-0)",
		`packages["a-2.8-0.tar.bz2"]`:                 `sha256 "abc" is not 64 hex digits`,
		`packages["a-2.9-0.tar.bz2"]`:                 "is not 64 hex digits",
		`packages["a-3.0-0.tar.bz2"]`:                 "is not 32 hex digits",
		`packages.conda["a..-3.1-0.conda"]`:           `".." is not allowed`,
	}
	ws := rd.Warnings()
	if len(ws) != len(want) {
		t.Errorf("%d warnings, want %d: %v", len(ws), len(want), ws)
	}
	lines := strings.Split(doc, "\n")
	for _, w := range ws {
		if !strings.Contains(w.Msg, want[w.Field]) || !strings.HasPrefix(w.Msg, "skipped invalid record: ") {
			t.Errorf("warning %q: want it to say %q", w.Error(), want[w.Field])
		}
		key := strings.ReplaceAll(strings.Split(w.Field, `"`)[1], "../../a", `..\u002f..\u002fa`)
		if w.File != "https://h/c/linux-64/repodata.json" || w.Line < 1 || w.Line > len(lines) ||
			!strings.Contains(lines[w.Line-1], `"`+key+`":`) {
			t.Errorf("warning %q: not at the record's line", w.Error())
		}
	}
}

func TestSyntaxErrorsArePositioned(t *testing.T) {
	for doc, want := range map[string]string{
		"{\n  \"packages\": {\n    \"a.conda\": {\"name\": \"a\",}\n  }\n}": ":3:",
		`{"packages": {"a.conda": {"name": "a"}}`:                           "end of JSON",
		`{"packages": []}`:          "packages: want an object",
		`{"info": "x"}`:             "info: want an object",
		`{"removed": [1]}`:          "removed: invalid value",
		`{"repodata_version": "2"}`: "want an integer",
		`{} {}`:                     "after the top-level object",
		`[]`:                        `want '{'`,
		"{\"a\": \"\x01\"}":         "control character",
		`{"a": tru}`:                "invalid literal",
		`{"a": 01}`:                 "want ',' or '}'",
		strings.Repeat("[", 600):    "", // any error, no stack overflow
	} {
		_, err := Parse([]byte(doc), "c", "noarch")
		var de *diag.Error
		if err == nil || !errors.As(err, &de) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40q) error = %v, want a diag.Error mentioning %q", doc, err, want)
		}
	}
}

func TestEmptyAndMinimalDocuments(t *testing.T) {
	for _, doc := range []string{"", "  \n", "{}", `{"packages": null, "packages.conda": {}, "removed": null}`} {
		rd, err := Parse([]byte(doc), "c", "noarch")
		if err != nil || rd.Len() != 0 || len(rd.Records()) != 0 || rd.Version != 1 {
			t.Errorf("Parse(%q) = %v, %v", doc, rd, err)
		}
	}
	rd, err := Parse(readFixture(t, "conda", "channels", "rattler-empty", "noarch", "repodata.json"), "c", "noarch")
	if err != nil || rd.Len() != 0 || rd.Info.Subdir != "noarch" {
		t.Errorf("rattler-empty: %v, %v", rd, err)
	}
}

func TestRemovedAndDuplicates(t *testing.T) {
	doc := `{"packages": {"a-1-0.tar.bz2": {"name":"a","version":"1","build":"0","size":1},
	                   "a-2-0.tar.bz2": {"name":"a","version":"2","build":"0"}},
	         "packages.conda": {"a-1-0.conda": {"name":"a","version":"1","build":"0","size":2},
	                            "a-3-0.conda": {"name":"a","version":"3","build":"0","size":3},
	                            "a-3-0.conda": {"name":"a","version":"3","build":"0","size":4}},
	         "removed": ["a-0-0.tar.bz2"]}`
	rd, err := Parse([]byte(doc), "c", "noarch")
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.ByName("a")
	got := names(recs)
	if want := []string{"a-2-0.tar.bz2", "a-1-0.conda", "a-3-0.conda"}; !reflect.DeepEqual(got, want) {
		t.Errorf("records = %v, want %v (file order, .conda over .tar.bz2, last duplicate wins)", got, want)
	}
	if recs[2].Size != 4 {
		t.Errorf("duplicate key: size %d, want the last (4)", recs[2].Size)
	}
	if !reflect.DeepEqual(rd.Removed, []string{"a-0-0.tar.bz2"}) {
		t.Errorf("Removed = %v", rd.Removed)
	}
}

// fixtureDocuments returns every repodata document in the shared fixtures,
// flat indexes ({fn: record}) wrapped as "packages".
func fixtureDocuments(t testing.TB) map[string][]byte {
	docs := map[string][]byte{}
	chans, _ := filepath.Glob(testdata.Path(t, "conda", "channels", "*", "*", "*repodata*.json"))
	for _, f := range chans {
		docs[f], _ = os.ReadFile(f)
	}
	idx, _ := filepath.Glob(testdata.Path(t, "conda", "indexes", "*.json"))
	for _, f := range idx {
		b, _ := os.ReadFile(f)
		if !bytes.Contains(b[:200], []byte(`"packages"`)) {
			b = append(append([]byte(`{"packages":`), b...), '}')
		}
		docs[f] = b
	}
	if len(docs) < 20 {
		t.Fatalf("only %d fixture documents found", len(docs))
	}
	return docs
}

// TestFastDecoderMatchesEncodingJSON decodes every record of every fixture
// with the fast decoder and with encoding/json (PackageRecord.UnmarshalJSON)
// and compares.
func TestFastDecoderMatchesEncodingJSON(t *testing.T) {
	total := 0
	for file, data := range fixtureDocuments(t) {
		var ref struct {
			Packages      map[string]record.PackageRecord `json:"packages"`
			PackagesConda map[string]record.PackageRecord `json:"packages.conda"`
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		rd, err := Parse(data, "c", "s")
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		recs := rd.Records()
		// Some fixtures (from conda's and rattler's tests) have records
		// whose file name is not their name-version-build: those are
		// skipped, and nothing else is.
		for _, w := range rd.Warnings() {
			if !strings.Contains(w.Msg, "does not match the record's name, version and build") {
				t.Errorf("%s: warning %v", file, w)
			}
		}
		for _, r := range recs {
			want, ok := ref.PackagesConda[r.FileName]
			if !ok {
				want = ref.Packages[r.FileName]
			}
			if want.Subdir == "" {
				want.Subdir = r.Subdir
			}
			if !reflect.DeepEqual(r.PackageRecord, want) {
				t.Errorf("%s: %s:\n got %+v\nwant %+v", file, r.FileName, r.PackageRecord, want)
			}
			total++
		}
	}
	t.Logf("%d records compared", total)
}

func TestConcurrentDecoding(t *testing.T) {
	data := readFixture(t, "conda", "channels", "rattler-pytorch", "linux-64", "repodata.json")
	rd, err := Parse(data, "c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Parse(data, "c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Records()
	done := make(chan []*record.RepoDataRecord)
	for i := 0; i < 4; i++ {
		go func() {
			for _, n := range rd.Names() {
				rd.ByName(n)
			}
			done <- rd.Records()
		}()
	}
	for i := 0; i < 4; i++ {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Fatalf("concurrent decode: %d records, want %d", len(got), len(want))
		}
	}
	if len(want) != rd.Len() || len(want) < 2048 {
		t.Errorf("%d records of %d", len(want), rd.Len())
	}
}
