package record

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/version"
)

func rec(t *testing.T, name, ver, build string) *PackageRecord {
	t.Helper()
	v, err := version.Parse(ver)
	if err != nil {
		t.Fatal(err)
	}
	return &PackageRecord{Name: name, Version: v, Build: build}
}

func TestValidFileName(t *testing.T) {
	a := rec(t, "a", "1.0", "0")
	for fn, want := range map[string]string{
		"a-1.0-0.conda":                   "",
		"a-1.0-0.tar.bz2":                 "",
		"../../../../etc/passwd":          "want <name>-<version>-<build>.conda or .tar.bz2",
		"../../../../etc/a-1.0-0.tar.bz2": `'/' is not allowed`,
		`..\..\a-1.0-0.conda`:             `'\\' is not allowed`,
		"a-1.0-0.tar.bz2?x=/evil":         "want <name>-<version>-<build>",
		"a-1.0-0.conda#frag":              "want <name>-<version>-<build>",
		"a-1.0-0.zip":                     "want <name>-<version>-<build>",
		"a-1.0-0%2f.conda":                `'%' is not allowed`,
		"a-1.0-0 .conda":                  `' ' is not allowed`,
		"b-1.0-0.conda":                   "does not match the record's name, version and build (a-1.0-0)",
		"a-9-0.conda":                     "does not match the record's name, version and build (a-1.0-0)",
		"a-1.0-1.conda":                   "does not match the record's name, version and build (a-1.0-0)",
		"a-1.0-0-0.conda":                 "does not match",
		".conda":                          "does not match",
	} {
		err := ValidFileName(fn, a)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", fn, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want it to say %q", fn, err, want)
		}
	}
	if err := ValidFileName("a..b-1.0-0.conda", rec(t, "a..b", "1.0", "0")); err == nil || !strings.Contains(err.Error(), `".." is not allowed`) {
		t.Errorf("a..b: %v", err)
	}
	// Epochs and local versions are plain.
	if err := ValidFileName("x-1!2.0+local-py_0.tar.bz2", rec(t, "x", "1!2.0+local", "py_0")); err != nil {
		t.Error(err)
	}
	// A record without a build matches no file name.
	if err := ValidFileName("a-1.0-.conda", rec(t, "a", "1.0", "")); err == nil {
		t.Error("a record without a build: no error")
	}
}

func TestValidDigests(t *testing.T) {
	sha := strings.Repeat("0123456789abcdef", 4)
	if ValidSHA256(sha) != nil || ValidSHA256(strings.ToUpper(sha)) != nil || ValidMD5(sha[:32]) != nil {
		t.Error("valid digests refused")
	}
	for _, s := range []string{"", "abc", sha[:63], sha + "0", sha[:63] + "g", sha[:32]} {
		if err := ValidSHA256(s); err == nil || !strings.Contains(err.Error(), "not 64 hex digits") {
			t.Errorf("sha256 %q: %v", s, err)
		}
	}
	for _, s := range []string{"", "abc", sha, sha[:31] + "z"} {
		if err := ValidMD5(s); err == nil || !strings.Contains(err.Error(), "not 32 hex digits") {
			t.Errorf("md5 %q: %v", s, err)
		}
	}
	if err := ValidSHA256(strings.Repeat("x", 1<<20)); err == nil || len(err.Error()) > 200 {
		t.Errorf("a long value is not clipped: %d bytes", len(err.Error()))
	}
}

func BenchmarkValidFileName(b *testing.B) {
	v, _ := version.Parse("1.26.4")
	r := &PackageRecord{Name: "numpy", Version: v, Build: "py312h8753938_0"}
	b.ReportAllocs()
	for b.Loop() {
		if ValidFileName("numpy-1.26.4-py312h8753938_0.conda", r) != nil {
			b.Fatal("invalid")
		}
	}
}
