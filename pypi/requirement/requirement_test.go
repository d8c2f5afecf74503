package requirement

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// envFrom builds an Environment from packaging's dict form.
func envFrom(t *testing.T, m map[string]string) Environment {
	var e Environment
	for k, v := range m {
		switch k {
		case "python_version":
			e.PythonVersion = v
		case "python_full_version":
			e.PythonFullVersion = v
		case "os_name":
			e.OSName = v
		case "sys_platform":
			e.SysPlatform = v
		case "platform_machine":
			e.PlatformMachine = v
		case "platform_system":
			e.PlatformSystem = v
		case "platform_release":
			e.PlatformRelease = v
		case "platform_version":
			e.PlatformVersion = v
		case "platform_python_implementation":
			e.PlatformPythonImplementation = v
		case "implementation_name":
			e.ImplementationName = v
		case "implementation_version":
			e.ImplementationVersion = v
		case "extra":
			e.Extra = v
		default:
			t.Fatalf("unknown environment key %q", k)
		}
	}
	return e
}

func TestMarkerParsesValid(t *testing.T) {
	for _, vars := range [][]string{pkgVariables, pkgPep345Variables} {
		for _, v := range vars {
			for _, op := range pkgOperators {
				for _, val := range pkgValues {
					for _, s := range []string{fmt.Sprintf("%s %s '%s'", v, op, val), fmt.Sprintf("'%s' %s %s", val, op, v)} {
						if _, err := ParseMarker(s); err != nil {
							t.Errorf("ParseMarker(%q): %v", s, err)
						}
					}
				}
			}
		}
	}
}

func TestMarkerParsesInvalid(t *testing.T) {
	extra := []string{"python_version >= \"3\"\n", "python_version >= \"3\"\r\n", `os_name == "C:\"`, `os_name == "\x"`, `'a' == 'b'`, `python_version == python_full_version`, `extras == "a"`, `"a" < extras`}
	for _, s := range append(slices.Clone(pkgInvalidMarkers), extra...) {
		_, err := ParseMarker(s)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("ParseMarker(%q) = %v, want an *Error", s, err)
		} else if e.Pos < 0 || e.Pos > len(s) {
			t.Errorf("ParseMarker(%q): position %d outside the input", s, e.Pos)
		}
	}
	for _, ws := range []string{" ", "\t", " \t"} {
		m, err := ParseMarker(`python_version >= "3"` + ws)
		if err != nil || m.String() != `python_version >= "3"` {
			t.Errorf("trailing %q: %v %v", ws, m, err)
		}
	}
}

func TestMarkerString(t *testing.T) {
	for _, c := range pkgMarkerStr {
		m, err := ParseMarker(c[0])
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", c[0], err)
			continue
		}
		if m.String() != c[1] {
			t.Errorf("String(%q) = %q, want %q", c[0], m.String(), c[1])
		}
		if again, err := ParseMarker(m.String()); err != nil || again.String() != m.String() {
			t.Errorf("reparse of %q: %v", m.String(), err)
		}
	}
	m := MustParseMarker(`python_version < "3.10" and ((sys_platform == "linux" or sys_platform == "darwin"))`)
	if want := `python_version < "3.10" and (sys_platform == "linux" or sys_platform == "darwin")`; m.String() != want {
		t.Errorf("String = %q, want %q", m.String(), want)
	}
	if got := MustParseMarker(`extra == "Foo_Bar"`).String(); got != `extra == "foo-bar"` {
		t.Errorf("extra not normalised: %q", got)
	}
}

func TestMarkerEvaluate(t *testing.T) {
	for _, c := range pkgMarkerEval {
		m, err := ParseMarker(c.marker)
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", c.marker, err)
			continue
		}
		if got := m.Evaluate(envFrom(t, c.env)); got != c.want {
			t.Errorf("%q with %v = %v, want %v", c.marker, c.env, got, c.want)
		}
	}
}

func TestMarkerEvaluateTarget(t *testing.T) {
	linux := Environment{
		PythonVersion: "3.12", PythonFullVersion: "3.12.1", OSName: "posix", SysPlatform: "linux",
		PlatformMachine: "aarch64", PlatformSystem: "Linux", PlatformRelease: "5.15.0-91-generic",
		PlatformPythonImplementation: "CPython", ImplementationName: "cpython", ImplementationVersion: "3.12.1",
	}
	for _, c := range []struct {
		marker string
		extra  string
		want   bool
	}{
		{`python_version >= "3.8"`, "", true},
		{`python_version < "3.9"`, "", false},
		{`python_version > "3.12"`, "", false},   // version rules: 3.12 is not > 3.12
		{`python_version >= "3.12.0"`, "", true}, // 3.12 == 3.12.0
		{`python_version < "3.13"`, "", true},    // strings would say "3.12" < "3.13" too
		{`python_full_version >= "3.12.0rc1"`, "", true},
		{`python_version == "3.1*"`, "", false},     // not a specifier: string comparison
		{`python_version in "3.11 3.12"`, "", true}, // substring
		{`python_version not in "3.8 3.9"`, "", true},
		{`sys_platform == "win32" or platform_machine == "aarch64"`, "", true},
		{`sys_platform == "linux" and (platform_machine == "x86_64" or platform_machine == "AMD64")`, "", false},
		{`platform_release >= "5"`, "", false}, // not a version: a string, and >= means == for strings
		{`platform_release == "5.15.0-91-generic"`, "", true},
		{`platform_machine < "x86_64"`, "", false}, // < and > are false for strings
		{`"linux" in sys_platform`, "", true},
		{`platform_python_implementation == "CPython" and implementation_name == "cpython"`, "", true},
		{`implementation_version >= "3.12"`, "", true},
		{`extra == "test"`, "", false},
		{`extra == "test"`, "Test", true},
		{`extra == "all-extras"`, "all_extras", true},
		{`os_name == "nt"`, "", false},
		{`python_version >= "3" and python_version < "4" or os_name == "nt"`, "", true},
		{`os_name == "nt" and python_version >= "3" or os_name == "posix"`, "", true},
	} {
		env := linux
		env.Extra = c.extra
		if got := MustParseMarker(c.marker).Evaluate(env); got != c.want {
			t.Errorf("%q (extra %q) = %v, want %v", c.marker, c.extra, got, c.want)
		}
	}
	env := linux
	env.Extras = []string{"Foo_Bar"}
	if !MustParseMarker(`"foo.bar" in extras and "x" not in dependency_groups`).Evaluate(env) {
		t.Error("set markers")
	}
}

func TestRequirementEqual(t *testing.T) {
	for _, c := range append(slices.Clone(pkgEqualRequirements), pkgEquivalentRequirements...) {
		a, b := MustParse(c[0]), MustParse(c[1])
		if !a.Equivalent(b) {
			t.Errorf("%q and %q differ: %q vs %q", c[0], c[1], a, b)
		}
	}
	for _, c := range pkgDifferentRequirements {
		a, b := MustParse(c[0]), MustParse(c[1])
		if a.Equivalent(b) {
			t.Errorf("%q and %q compare equal", c[0], c[1])
		}
	}
}

// TestRequirementValid is packaging's test_basic_valid_requirement_parsing:
// every name x extras x (url | specifier) x marker x whitespace.
func TestRequirementValid(t *testing.T) {
	n := 0
	for _, nm := range pkgReqNames {
		for _, extras := range pkgReqExtras {
			for _, us := range pkgReqURLSpecs {
				for _, mk := range pkgReqMarkers {
					for _, ws := range pkgReqWhitespace {
						parts := []string{nm}
						if len(extras) > 0 {
							parts = append(parts, "["+strings.Join(extras, ws+","+ws)+"]")
						}
						spec := strings.ReplaceAll(us.spec, "{ws}", ws)
						if spec != "" {
							parts = append(parts, spec)
						}
						url, _ := us.url.(string)
						if url != "" {
							parts = append(parts, "@ "+url)
						}
						marker, _ := mk.(string)
						marker = strings.ReplaceAll(marker, "{ws}", ws)
						if marker != "" {
							if url != "" {
								parts = append(parts, " ;")
							} else {
								parts = append(parts, ";")
							}
							parts = append(parts, marker)
						}
						s := strings.Join(parts, ws)
						r, err := Parse(s)
						n++
						if err != nil {
							t.Errorf("Parse(%q): %v", s, err)
							continue
						}
						if r.Name != nm || !slices.Equal(sorted(r.Extras), extras) || r.URL != url {
							t.Errorf("Parse(%q) = %q %q %q", s, r.Name, r.Extras, r.URL)
						}
						wantSpec := strings.NewReplacer("{ws}", "", "(", "", ")", "").Replace(us.spec)
						if r.Specifier.String() != wantSpec {
							t.Errorf("Parse(%q).Specifier = %q, want %q", s, r.Specifier, wantSpec)
						}
						if (r.Marker != nil) != (marker != "") {
							t.Errorf("Parse(%q).Marker = %v", s, r.Marker)
						}
						if again, err := Parse(r.String()); err != nil || again.String() != r.String() {
							t.Errorf("reparse of %q: %v", r.String(), err)
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d requirements", n)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	if s == nil {
		return []string{}
	}
	return s
}

func TestRequirementParts(t *testing.T) {
	r := MustParse(`Inference_Schema[numpy-support] >= 1.3, <2 ; python_version >= "3.8" and extra == 'Dev'`)
	if r.NormalizedName() != "inference-schema" || !r.HasExtra("NUMPY_support") || r.Specifier.String() != ">=1.3,<2" {
		t.Errorf("parsed %q", r)
	}
	if r.String() != `Inference_Schema[numpy-support]>=1.3,<2; python_version >= "3.8" and extra == "dev"` {
		t.Errorf("String = %q", r)
	}
	if !r.Applies(Environment{PythonVersion: "3.12", Extra: "dev"}) || r.Applies(Environment{PythonVersion: "3.7", Extra: "dev"}) {
		t.Error("Applies")
	}
	if r := MustParse("name[]"); len(r.Extras) != 0 {
		t.Error("name[]")
	}
	if r := MustParse("name()"); r.Specifier.Len() != 0 {
		t.Error("name()")
	}
	if r := MustParse("name>=1, ; os_name == 'nt'"); r.Specifier.String() != ">=1" || r.Marker == nil {
		t.Error("a trailing comma, as packaging allows")
	}
	u := MustParse("pkg @ https://example.com/pkg-1.0-py3-none-any.whl ; sys_platform == 'linux'")
	if u.URL != "https://example.com/pkg-1.0-py3-none-any.whl" || u.Marker == nil ||
		u.String() != `pkg @ https://example.com/pkg-1.0-py3-none-any.whl ; sys_platform == "linux"` {
		t.Errorf("URL requirement: %q", u)
	}
}

// TestRequirementErrors checks packaging's failure cases; the column is
// where the offending text starts.
func TestRequirementErrors(t *testing.T) {
	for _, c := range []struct {
		in  string
		pos int
	}{
		{"", 0},
		{"==0.0", 0},
		{"name[bar baz]", 9},
		{"name[bar, baz,]", 14},
		{"name (>= 1.0", 12},
		{"black (>=20.*) ; extra == 'format'", 11},
		{"name == 1.2.3.post4.*", 19},
		{"name==1.2.3.post4.*", 17},
		{"name >= 1.0+local.version.label", 11},
		{"name ~= 1.0+local.version.label", 11},
		{"name[bar, baz >= 1.0", 14},
		{"name[bar, baz", 13},
		{"name @ https://example.com/; extra == 'example'", 29},
		{"name; (extra == 'example'", 25},
		{"name @ ", 7},
		{"name; invalid_name", 6},
		{"name; '3.7' <= invalid_name", 15},
		{`name; os_name == "C:\"`, 20},
		{`name; os_name == "\x"`, 18},
		{"name; '3.7' notin python_version", 12},
		{"name; '3.6'inpython_version", 11},
		{"name; '3.7' not python_version", 16},
		{"name; '3.7' ~ python_version", 12},
		{"name==1.0.org1", 9},
		{"name==", 6},
		{"name 1.0", 5},
		{"name >= 1.0 #", 12},
		{"name >= 1.0 <= 2.0", 12},
		{"demo===x,y", 9},
		{"name>=1\n", 7},
		{"name>=1\r\n", 7},
		{"foo-", 3},
		{"_foo", 0},
		{"foo[_x]", 4},
		{"foo>=1,,<2", 7},
	} {
		_, err := Parse(c.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", c.in, err)
			continue
		}
		if e.Pos != c.pos {
			t.Errorf("Parse(%q): %v: at byte %d, want %d", c.in, err, e.Pos, c.pos)
		}
	}
}

func BenchmarkParseRequirement(b *testing.B) {
	reqs := []string{
		"requests>=2.8.1,==2.8.*",
		`importlib-metadata; python_version < "3.8"`,
		`inference-schema[numpy-support]==1.5.1`,
		`pywin32>=300; sys_platform == "win32" and platform_python_implementation == "CPython"`,
		"torch @ https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp312-cp312-linux_x86_64.whl",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(reqs[i%len(reqs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	m := MustParseMarker(`python_version >= "3.8" and (sys_platform == "linux" or sys_platform == "darwin") and extra == "test"`)
	env := Environment{PythonVersion: "3.12", SysPlatform: "linux", Extra: "test"}
	b.ReportAllocs()
	for b.Loop() {
		if !m.Evaluate(env) {
			b.Fatal("false")
		}
	}
}
