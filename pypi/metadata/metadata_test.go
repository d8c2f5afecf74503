package metadata

import (
	"archive/zip"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
)

func TestParse(t *testing.T) {
	doc := "Metadata-Version: 2.4\r\n" +
		"Name: Beagle_Vote\r\n" +
		"Version: 1.0a2\r\n" +
		"Summary: A module for\r\n" +
		"  collecting votes\r\n" +
		"Requires-Python: >=3.8, <4\r\n" +
		"Requires-Dist: pkginfo\r\n" +
		"requires-dist: zope.interface (>3.5.0)\r\n" +
		"Requires-Dist: pywin32 >1.0; sys_platform == 'win32'\r\n" +
		"Requires-Dist: reportlab; extra == 'pdf'\r\n" +
		"Provides-Extra: pdf\r\n" +
		"Provides-Extra: pdf\r\n" +
		"Dynamic: license-file\r\n" +
		"Classifier: A :: B\r\n" +
		"Classifier: C :: D\r\n" +
		"\r\n" +
		"The body.\r\nSecond line.\r\n"
	m, err := Parse([]byte(doc), "METADATA")
	if err != nil {
		t.Fatal(err)
	}
	if m.MetadataVersion != "2.4" || m.Name != "Beagle_Vote" || m.NormalizedName() != "beagle-vote" {
		t.Errorf("got %q %q %q", m.MetadataVersion, m.Name, m.NormalizedName())
	}
	if m.Version.Compare(version.MustParse("1.0a2")) != 0 {
		t.Errorf("version %s", m.Version)
	}
	if m.Summary != "A module for collecting votes" {
		t.Errorf("summary %q", m.Summary)
	}
	var deps []string
	for _, r := range m.RequiresDist {
		deps = append(deps, r.String())
	}
	want := []string{"pkginfo", "zope.interface>3.5.0", `pywin32>1.0; sys_platform == "win32"`, `reportlab; extra == "pdf"`}
	if !slices.Equal(deps, want) {
		t.Errorf("Requires-Dist\n got %q\nwant %q", deps, want)
	}
	env := requirement.Environment{PythonVersion: "3.12", PythonFullVersion: "3.12.0", SysPlatform: "linux"}
	if m.RequiresDist[2].Applies(env) {
		t.Errorf("pywin32 applies on linux")
	}
	if !m.RequiresPython.Contains(version.MustParse("3.12"), false) || m.RequiresPython.Contains(version.MustParse("3.7"), false) {
		t.Errorf("Requires-Python %s", m.RequiresPython)
	}
	if !slices.Equal(m.ProvidesExtra, []string{"pdf"}) {
		t.Errorf("Provides-Extra %q", m.ProvidesExtra)
	}
	if !slices.Equal(m.Dynamic, []string{"License-File"}) || !m.IsDynamic("LICENSE-FILE") {
		t.Errorf("Dynamic %q", m.Dynamic)
	}
	if got := m.Values("classifier"); !slices.Equal(got, []string{"A :: B", "C :: D"}) {
		t.Errorf("Values(classifier) = %q", got)
	}
	if v, ok := m.Get("VERSION"); !ok || v != "1.0a2" {
		t.Errorf("Get(VERSION) = %q %v", v, ok)
	}
	if m.Description != "The body.\r\nSecond line.\r\n" {
		t.Errorf("body %q", m.Description)
	}
	if len(m.Warnings) != 0 {
		t.Errorf("warnings %v", m.Warnings)
	}
}

func TestDescriptionHeader(t *testing.T) {
	doc := "Metadata-Version: 1.2\nName: a\nVersion: 1\nDescription: This project\n        |For example:\n        |\n        |    >>> sum(1, 2)\n"
	m, err := Parse([]byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "This project\nFor example:\n\n    >>> sum(1, 2)"; m.Description != want {
		t.Errorf("got %q, want %q", m.Description, want)
	}
}

func TestTrusted(t *testing.T) {
	for _, c := range []struct {
		doc                         string
		dist, python, deps, summary bool
	}{
		{"Metadata-Version: 2.1\nName: a\nVersion: 1\n", false, false, false, false},
		{"Metadata-Version: 2.2\nName: a\nVersion: 1\n", true, true, true, true},
		{"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n", false, true, false, true},
		{"Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: requires-python\nDynamic: Summary\n", true, false, false, false},
		{"Metadata-Version: 2.10\nName: a\nVersion: 1\n", true, true, true, true}, // 2.10 > 2.2, not "2.1"
		{"Metadata-Version: 1.0\nName: a\nVersion: 1\n", false, false, false, false},
	} {
		m, err := Parse([]byte(c.doc), "PKG-INFO")
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		if got := m.Trusted("Requires-Dist"); got != c.dist {
			t.Errorf("%q: Trusted(Requires-Dist) = %v", c.doc, got)
		}
		if got := m.Trusted("Requires-Python"); got != c.python {
			t.Errorf("%q: Trusted(Requires-Python) = %v", c.doc, got)
		}
		if got := m.DependenciesTrusted(); got != c.deps {
			t.Errorf("%q: DependenciesTrusted = %v", c.doc, got)
		}
		if got := m.Trusted("summary"); got != c.summary {
			t.Errorf("%q: Trusted(summary) = %v", c.doc, got)
		}
	}
}

func TestProvidesExtra(t *testing.T) {
	// Before 2.3 extras are normalised; an invalid one is ignored with a warning.
	m, err := Parse([]byte("Metadata-Version: 2.1\nName: a\nVersion: 1\nProvides-Extra: Foo_Bar\nProvides-Extra: foo-bar\nProvides-Extra: -bad\n"), "M")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.ProvidesExtra, []string{"foo-bar"}) {
		t.Errorf("extras %q", m.ProvidesExtra)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0].Error(), "M:6:17: Provides-Extra: invalid extra \"-bad\" ignored") {
		t.Errorf("warnings %v", m.Warnings)
	}
	// From 2.3 on an extra must be written normalised.
	_, err = Parse([]byte("Metadata-Version: 2.3\nName: a\nVersion: 1\nProvides-Extra: Foo_Bar\n"), "M")
	if err == nil || err.Error() != `M:4:17: Provides-Extra: invalid extra "Foo_Bar": from metadata 2.3 on an extra is lower-case letters, digits and single '-' between them (foo-bar)` {
		t.Errorf("got %v", err)
	}
}

func TestNewerMinorWarns(t *testing.T) {
	m, err := Parse([]byte("Metadata-Version: 2.9\nName: a\nVersion: 1\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0].Error(), "2.9 is newer than 2.6") {
		t.Errorf("warnings %v", m.Warnings)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"Name: a\nVersion: 1\n", "M: Metadata-Version: missing (a required field)"},
		{"Metadata-Version: 2.1\nVersion: 1\n", "M: Name: missing (a required field)"},
		{"Metadata-Version: 2.1\nName: a\n", "M: Version: missing (a required field)"},
		{"Metadata-Version: 3.0\nName: a\nVersion: 1\n", "M:1:19: Metadata-Version: version 3.0 is newer than this reader understands (up to 2.6); a newer envkit may read it"},
		{"Metadata-Version: two\nName: a\nVersion: 1\n", `M:1:19: Metadata-Version: "two" is not a metadata version (MAJOR.MINOR, e.g. 2.1)`},
		{"Metadata-Version: 2.1\nName: a\nVersion: 1\nVersion: 2\n", "M:4:1: Version: given twice (first on line 3); it may appear once"},
		{"Metadata-Version: 2.1\nName: a b\nVersion: 1\n", `M:2:8: Name: invalid project name "a b": unexpected " " (letters, digits, '-', '_' and '.' only)`},
		{"Metadata-Version: 2.1\nName: a\nVersion: 1.0-foo-bar\n", `M:3:13: Version: invalid version "1.0-foo-bar"`},
		{"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: foo (>=1\n", `M:4:24: Requires-Dist: "foo (>=1": `},
		{"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: foo; os_name = 'x'\n", `M:4:`},
		{"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Python: >=3.7, =>3\n", `M:4:25: Requires-Python: ">=3.7, =>3": `},
		{"Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: version\n", "M:4:10: Dynamic: Version may not be dynamic"},
		{"Metadata-Version: 2.1\nName: a\nnot a header\n", `M:3:1: "not a header" is not a "Field: value" header (a blank line must separate the headers from the description)`},
		{" Metadata-Version: 2.1\n", "M:1: a continuation line (starting with white space) before any header"},
	} {
		_, err := Parse([]byte(c.doc), "M")
		var me *Error
		if err == nil || !errors.As(err, &me) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s...", c.doc, err, c.want)
		}
	}
}

// TestRealWheels reads the METADATA of pip, setuptools and wheel as Debian
// ships them.
func TestRealWheels(t *testing.T) {
	dir := testdata.Path(t, "pypi", "wheels")
	for _, c := range []struct {
		file, name, version, python string
		deps                        int
		extras                      []string
	}{
		{"pip-23.0.1-py3-none-any.whl", "pip", "23.0.1", ">=3.7", 0, nil},
		{"setuptools-66.1.1-py3-none-any.whl", "setuptools", "66.1.1", ">=3.7", 45, []string{"certs", "docs", "ssl", "testing", "testing-integration"}},
		{"wheel-0.38.4-py3-none-any.whl", "wheel", "0.38.4", ">=3.7", 1, []string{"test"}},
	} {
		zr, err := zip.OpenReader(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		src := c.name + "-" + c.version + ".dist-info/METADATA"
		rc, err := zr.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		zr.Close()
		m, err := Parse(data, src)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if m.Name != c.name || m.Version.String() != c.version || m.RequiresPython.String() != c.python ||
			len(m.RequiresDist) != c.deps || !slices.Equal(m.ProvidesExtra, c.extras) || m.MetadataVersion != "2.1" {
			t.Errorf("%s: got %s %s %s, %d deps, extras %q", c.file, m.Name, m.Version, m.RequiresPython, len(m.RequiresDist), m.ProvidesExtra)
		}
		if c.name == "setuptools" {
			env := requirement.Environment{PythonVersion: "3.12", PythonFullVersion: "3.12.0", PlatformPythonImplementation: "CPython", Extra: "testing"}
			n := 0
			for _, r := range m.RequiresDist {
				if r.Applies(env) {
					n++
				}
			}
			// 18 for extra testing, 3 more for CPython and testing; pytest-flake8 is for python < 3.12.
			if n != 21 {
				t.Errorf("setuptools[testing] on CPython 3.12: %d requirements apply, want 21", n)
			}
		}
		if !strings.Contains(m.Description, "pip") && c.name == "pip" {
			t.Errorf("pip: no description body")
		}
	}
}
