package matchspec

import (
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

func rec(name, ver, build string, bn int64) *record.PackageRecord {
	return &record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: build, BuildNumber: bn, Subdir: "linux-64"}
}

// conda's test_match_spec_1 table against numpy-1.7.1-py27_0.
func TestMatchConda(t *testing.T) {
	r := rec("numpy", "1.7.1", "py27_0", 0)
	cases := []struct {
		spec string
		want bool
	}{
		{"numpy 1.7*", true}, {"numpy 1.7.1", true}, {"numpy 1.7", false}, {"numpy 1.5*", false},
		{"numpy >=1.5", true}, {"numpy >=1.5,<2", true}, {"numpy >=1.8,<1.9", false},
		{"numpy >1.5,<2,!=1.7.1", false}, {"numpy >1.8,<2|==1.7", false}, {"numpy >1.8,<2|>=1.7.1", true},
		{"numpy >=1.8|1.7*", true}, {"numpy ==1.7", false}, {"numpy >=1.5,>1.6", true},
		{"numpy ==1.7.1", true}, {"numpy ==1.7.1.0", true}, {"numpy==1.7.1.0.0", true},
		{"numpy >=1,*.7.*", true}, {"numpy *.7.*,>=1", true}, {"numpy >=1,*.8.*", false},
		{"numpy >=2,*.7.*", false}, {"numpy 1.6*|1.7*", true}, {"numpy 1.6*|1.8*", false},
		{"numpy 1.6.2|1.7*", true}, {"numpy 1.6.2|1.7.1", true}, {"numpy 1.6.2|1.7.0", false},
		{"numpy 1.7.1 py27_0", true}, {"numpy 1.7.1 py26_0", false}, {"numpy >1.7.1a", true},
		{"python", false},
		// more forms
		{"numpy=1.7", true}, {"numpy=1.7.1=py27_0", true}, {"numpy=1.7=py27_0", false},
		{"numpy==1.7.1=py27_0", true}, {"numpy=1.7.*=py27*", true}, {"numpy * py27*", true},
		{"numpy * py26*", false}, {"numpy[version='>=1.7,<2']", true}, {"numpy[build=py27_0]", true},
		{"numpy[build=^py2[0-9]_0$]", true}, {"numpy[build_number='>=1']", false}, {"numpy[build_number=0]", true},
		{"NumPy 1.7.1", true}, {"num*", true}, {"*", true}, {"numpy[subdir=linux-64]", true},
		{"numpy[subdir=osx-64]", false}, {"conda-forge/osx-64::numpy", false}, {"numpy ~=1.7", true},
		{"numpy!=1.7.1", false}, {"numpy (1.6|1.7.1),>1", true},
	}
	for _, c := range cases {
		m, err := ParseLenient(c.spec)
		if err != nil {
			t.Errorf("ParseLenient(%q): %v", c.spec, err)
			continue
		}
		if got := m.Match(r); got != c.want {
			t.Errorf("%q (%s).Match(numpy-1.7.1-py27_0) = %v, want %v", c.spec, m, got, c.want)
		}
	}
	// conda's other test_match_spec_1 cases
	for _, c := range []struct {
		spec string
		r    *record.PackageRecord
	}{
		{"numpy <1.0.1", rec("numpy", "1.0.1.vc11", "0", 0)},
		{"numpy <1.0.1", rec("numpy", "1.0.1a.vc11", "0", 0)},
		{"numpy >=1.0.1a", rec("numpy", "1.0.1z", "0", 0)},
		{"numpy >=1.0.1a py27*", rec("numpy", "1.0.1z", "py27_1", 1)},
		{"blas * openblas_0", rec("blas", "1.0", "openblas_0", 0)},
		{"openssl>=1.0.1_", rec("openssl", "1.0.1a", "0", 0)},
		{"numpy[build_number='<8']", rec("numpy", "1.0", "x", 7)},
	} {
		if !MustParse(c.spec).Match(c.r) {
			t.Errorf("%q does not match %s", c.spec, c.r)
		}
	}
}

func TestParseFields(t *testing.T) {
	cases := []struct {
		in                                    string
		name, channel, subdir, version, build string
	}{
		{"conda-forge::numpy", "numpy", "conda-forge", "", "", ""},
		{"conda-forge/linux-64::numpy>=1.0", "numpy", "conda-forge", "linux-64", ">=1.0", ""},
		{"https://conda.anaconda.org/conda-forge::numpy", "numpy", "https://conda.anaconda.org/conda-forge", "", "", ""},
		{"http://localhost:8000/chan/noarch::pkg 1.0", "pkg", "http://localhost:8000/chan", "noarch", "1.0", ""},
		{"ns:numpy", "numpy", "", "", "", ""},
		{"pytorch::torch", "torch", "pytorch", "", "", ""},
		{"python=3.8", "python", "", "", "3.8.*", ""},
		{"python =3.8", "python", "", "", "3.8.*", ""},
		{"python 3.8", "python", "", "", "3.8", ""},
		{"python==3.8", "python", "", "", "3.8", ""},
		{"python=3.8=h123_0", "python", "", "", "3.8", "h123_0"},
		{"python==3.8=h123_0", "python", "", "", "3.8", "h123_0"},
		{"python 3.8 h123_0", "python", "", "", "3.8", "h123_0"},
		{"pkg=1.8.*=*", "pkg", "", "", "1.8.*", "*"},
		{"pkg =1.8.* *", "pkg", "", "", "1.8.*", "*"},
		{"pip>=21", "pip", "", "", ">=21", ""},
		{"numpy >=1.0 , < 2.0 py34_0", "numpy", "", "", ">=1.0,<2.0", "py34_0"},
		{"numpy >=1.0 , < 2.0 =py34_0", "numpy", "", "", ">=1.0,<2.0", "py34_0"},
		{"numpy >1.8,<2|==1.7", "numpy", "", "", ">1.8,<2|==1.7", ""},
		{"foo (>=1,<2)|>3", "foo", "", "", ">=1,<2|>3", ""},
		{"* >=3,(<4|<5)", "*", "", "", ">=3,(<4|<5)", ""},
		{"numpy[version=1.7]", "numpy", "", "", "1.7", ""},
		{"numpy[version='=1.7']", "numpy", "", "", "1.7.*", ""},
		{"numpy[channel=conda-forge/osx-arm64, build='py*']", "numpy", "conda-forge", "osx-arm64", "", "py*"},
		{"numpy  # a comment", "numpy", "", "", "", ""},
		{"numpy=", "numpy", "", "", "", ""},
		{"__glibc >=2.17", "__glibc", "", "", ">=2.17", ""},
		{"numpy == 1.2", "numpy", "", "", "1.2", ""},
	}
	for _, c := range cases {
		m, err := ParseLenient(c.in)
		if err != nil {
			t.Errorf("ParseLenient(%q): %v", c.in, err)
			continue
		}
		ver := ""
		if m.Version != nil {
			ver = m.Version.String()
		}
		if m.Name != c.name || m.Channel != c.channel || m.Subdir != c.subdir || ver != c.version || m.Build != c.build {
			t.Errorf("ParseLenient(%q) = name %q channel %q subdir %q version %q build %q; want %q %q %q %q %q",
				c.in, m.Name, m.Channel, m.Subdir, ver, m.Build, c.name, c.channel, c.subdir, c.version, c.build)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"foo 1.0 py27_0", "foo==1.0=py27_0"},
		{"foo=1.0=py27_0", "foo==1.0=py27_0"},
		{"conda-forge::foo[version=1.0.*]", "conda-forge::foo=1.0"},
		{"conda-forge/linux-64::foo>=1.0", "conda-forge/linux-64::foo[version='>=1.0']"},
		{"*/linux-64::foo>=1.0", "foo[subdir=linux-64,version='>=1.0']"},
		{"python", "python"},
		{"python=2.6", "python=2.6"},
		{"python=2.6*", "python=2.6"},
		{"ipython=0.13.2", "ipython=0.13.2"},
		{"ipython==0.13.0", "ipython==0.13.0"},
		{"foo=1.3.0=3", "foo==1.3.0=3"},
		{"foo>=1.3", "foo[version='>=1.3']"},
		{"zope.int>=1.3,<3.0", "zope.int[version='>=1.3,<3.0']"},
		{"numpy >=1.9", "numpy[version='>=1.9']"},
		{"conda-forge::python", "conda-forge::python"},
		{"https://conda.anaconda.org/conda-forge::python 3.11", "conda-forge::python==3.11"},
		{"numpy=2", "numpy=2"},
		{"awscli==2.15.37", "awscli==2.15.37"},
		{"awscli==2.15.37=wghq", "awscli==2.15.37=wghq"},
		{"name[build=*py27*]", "name[build=*py27*]"},
		{"numpy !=1.2", "numpy!=1.2"},
		{"numpy !=1.2 py_0", "numpy[version='!=1.2',build=py_0]"},
		{"numpy ~=1.2", "numpy~=1.2"},
		{"numpy 1.2 py*", "numpy==1.2[build=py*]"},
		{"numpy=1.2 py_0", "numpy==1.2=py_0"},
		{"numpy >=1 py_0", "numpy[version='>=1',build=py_0]"},
		{"*[md5=0123456789abcdef0123456789abcdef]", "*[md5=0123456789abcdef0123456789abcdef]"},
		{"numpy[build_number='>=3',license='BSD 3-Clause']", "numpy[build_number='>=3',license='bsd 3-clause']"},
		{"mkl@", "*[track_features=mkl]"},
		{"*[features='b a']", "*[features='a b']"},
		{"foo[url=https://x/y/foo-1-0.conda,fn=foo-1-0.conda]", "foo[url=https://x/y/foo-1-0.conda]"},
		{"numpy *", "numpy"},
	}
	for _, c := range cases {
		m, err := ParseLenient(c.in)
		if err != nil {
			t.Errorf("ParseLenient(%q): %v", c.in, err)
			continue
		}
		got := m.String()
		if got != c.want {
			t.Errorf("ParseLenient(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := ParseLenient(got)
		if err != nil {
			t.Errorf("reparse of %q: %v", got, err)
		} else if again.String() != got {
			t.Errorf("reparse of %q prints %q", got, again.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	lenientAndStrict := []struct{ in, msg string }{
		{"", "empty match spec"},
		{"'package'", "invalid character"},
		{"pack@ge", "invalid character"},
		{"pkg..name", "separators"},
		{"pkg--name", "separators"},
		{".pkg", "must start"},
		{"-pkg", "must start"},
		{"numpy[version=1.2", "missing ']'"},
		{"numpy[version=1.2] extra", "missing ']'"},
		{"numpy[version]", "expected key=value"},
		{"numpy[foo=bar]", "unknown key \"foo\""},
		{"numpy[version='1.2]", "unterminated quote"},
		{"numpy[version=]", "empty value"},
		{"numpy[build_number=x]", "build number"},
		{"numpy >=", "invalid operator"},
		{"numpy ==", "invalid operator"},
		{"numpy 1..2", "empty version component"},
		{"numpy ~=1.2.*", "'~='"},
		{">=1.2", "no package name"},
		{"numpy[version=1][build=2]", "multiple bracket"},
	}
	for _, c := range lenientAndStrict {
		for _, p := range []func(string) (*MatchSpec, error){Parse, ParseLenient} {
			_, err := p(c.in)
			if err == nil {
				t.Errorf("%q parsed, want an error about %q", c.in, c.msg)
				continue
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "invalid match spec") {
				t.Errorf("%q: error %q does not mention %q", c.in, err, c.msg)
			}
		}
	}
	strictOnly := []struct{ in, msg string }{
		{"numpy 1.2[version=1.3]", "both positionally"},
		{"numpy 1.2 py_0[build=py_1]", "both positionally"},
		{"numpy[version=1.2,version=1.3]", "more than once"},
		{"num*py", "globs"},
		{"numpy=", "without a version"},
	}
	for _, c := range strictOnly {
		if _, err := ParseLenient(c.in); err != nil {
			t.Errorf("ParseLenient(%q): %v", c.in, err)
		}
		if _, err := Parse(c.in); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Parse(%q) error = %v, want one about %q", c.in, err, c.msg)
		}
	}
	// Lenient parsing lets brackets win, as conda does.
	if m := MustParse("numpy 1.2[version=1.3]"); !m.Match(rec("numpy", "1.3", "0", 0)) {
		t.Error("bracket version must override the positional one")
	}
}

func TestStrictRepodataSpecs(t *testing.T) {
	for _, s := range []string{
		"python >=3.8,<3.9.0a0", "libgcc-ng >=12", "blas * openblas", "python_abi 3.11.* *_cp311",
		"numpy >=1.21.6,<2.0a0", "__glibc >=2.17,<3.0.a0", "pyqt 5.6.*|5.9.*", "openssl >=1.1.1a,<1.1.2a",
		"libblas 3.9.0 16_linux64_openblas", "mkl >=2019.4,<2021.0a0", "python 2.7*", "_openmp_mutex >=4.5",
		"python >=2.7,!=3.0.*,!=3.1.*", "zlib", "vc >=14.1,<15.0a0", "ucrt >=10.0.20348.0",
	} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
}

func TestMatchRecord(t *testing.T) {
	r := &record.RepoDataRecord{
		PackageRecord: *rec("zlib", "1.2.11", "h7b6447c_3", 3),
		FileName:      "zlib-1.2.11-h7b6447c_3.conda",
		URL:           "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.2.11-h7b6447c_3.conda",
		Channel:       "https://conda.anaconda.org/conda-forge",
	}
	r.TrackFeatures = record.StringList{"feat"}
	r.MD5 = "ABCDEF"
	cases := []struct {
		spec string
		want bool
	}{
		{"conda-forge::zlib", true}, {"bioconda::zlib", false}, {"https://conda.anaconda.org/conda-forge::zlib", true},
		{"conda-forge/linux-64::zlib", true}, {"conda-forge/noarch::zlib", false}, {"defaults::zlib", false},
		{"zlib[channel='conda-*']", true}, {"zlib[channel='bio*']", false},
		{"zlib[fn=zlib-1.2.11-h7b6447c_3.conda]", true}, {"zlib[fn=zlib-1.2.11-h7b6447c_3.tar.bz2]", false},
		{"zlib[url='https://conda.anaconda.org/conda-forge/*']", true},
		{"*[md5=abcdef]", true}, {"*[md5=abcd00]", false},
		{"zlib[track_features=feat]", true}, {"zlib[track_features='feat other']", false}, {"feat@", true},
		{"zlib[build_number='>=3']", true}, {"zlib[build_number='>3']", false},
	}
	for _, c := range cases {
		m, err := ParseLenient(c.spec)
		if err != nil {
			t.Errorf("ParseLenient(%q): %v", c.spec, err)
			continue
		}
		if got := m.MatchRecord(r); got != c.want {
			t.Errorf("%q.MatchRecord(zlib) = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestLicenseMatch(t *testing.T) {
	r := rec("numpy", "1.0", "0", 0)
	r.License, r.LicenseFamily = "GPL-3.0-or-later v3+", "LGPL"
	for _, s := range []string{
		"*[license_family='LGPL']", "*[license_family='lgpl']", "*[license_family='*GP*']",
		"*[license_family='*gpl*']", "*[license='*gpl*']", "*[license='*v3+']",
	} {
		if !MustParse(s).Match(r) {
			t.Errorf("%q does not match", s)
		}
	}
	if MustParse("*[license=mit]").Match(r) {
		t.Error("license=mit matches a GPL record")
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"py*", "py311h", true}, {"*_0", "py_0", true}, {"*cp311*", "h1_cp311_x", true}, {"a*b*c", "abxbc", true},
		{"a*b*c", "abxbd", false}, {"abc", "abc", true}, {"", "", true}, {"*", "", true}, {"a*", "b", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	specs := []string{"python >=3.8,<3.9.0a0", "numpy", "conda-forge::numpy=1.26", "blas * openblas", "libgcc-ng >=12"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(specs[i%len(specs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	m, err := Parse("python >=3.8,<3.12 *_cpython")
	if err != nil {
		b.Fatal(err)
	}
	rs := []*record.PackageRecord{rec("python", "3.11.4", "h1_0_cpython", 0), rec("python", "3.12.0", "h1_0_cpython", 0), rec("python", "3.9.1", "h1_pypy", 0)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Match(rs[i%len(rs)])
	}
}

// TestCutName covers what the two former copies handled: repodata's
// DependencyName (channel prefix, ',' and '*', then lowercased by the
// caller) and lock's depName (PEP 508 markers and URLs, the rest kept for
// conda-lock's dependency map).
func TestCutName(t *testing.T) {
	for _, c := range []struct{ in, name, rest string }{
		{"python >=3.8", "python", ">=3.8"},
		{"python", "python", ""},
		{"pip>=21", "pip", ">=21"},
		{"numpy=1.2", "numpy", "=1.2"},
		{"conda-forge::numpy[version='>=1']", "numpy", "[version='>=1']"},
		{"conda-forge/linux-64::libgcc-ng 12", "libgcc-ng", "12"},
		{"  openssl   1.0.1*  ", "openssl", "1.0.1*"},
		{"Foo_Bar 1", "Foo_Bar", "1"},
		{"__glibc >=2.17", "__glibc", ">=2.17"},
		{"python >=3.9,<3.10.0a0 *_cpython", "python", ">=3.9,<3.10.0a0 *_cpython"},
		{"libzlib,>=1.2", "libzlib", ",>=1.2"},
		{"zlib*", "zlib", "*"},
		{"pkg; python_version<'3.8'", "pkg", "; python_version<'3.8'"},
		{"pkg @ file:///x", "pkg", "@ file:///x"},
		{"pkg@https://x/pkg.whl", "pkg", "@https://x/pkg.whl"},
		{"requests (>=2)", "requests", "(>=2)"},
		{"six!=1.0", "six", "!=1.0"},
		{"attrs~=21.1", "attrs", "~=21.1"},
		{"x\t1", "x", "1"},
		{"", "", ""},
	} {
		name, rest := CutName(c.in)
		if name != c.name || rest != c.rest {
			t.Errorf("CutName(%q) = %q, %q; want %q, %q", c.in, name, rest, c.name, c.rest)
		}
		// CutName is a fast path of Parse: where Parse takes a conda spec,
		// both name the same package.
		if m, err := Parse(c.in); err == nil && m.Name != "" && !strings.ContainsAny(m.Name, "*") && m.Name != strings.ToLower(name) {
			t.Errorf("CutName(%q) = %q, Parse names %q", c.in, name, m.Name)
		}
	}
}

// BenchmarkCutName takes the specs of BenchmarkParse: the ratio of the two
// is why depends walks (repodata's gateway, lock) use CutName.
func BenchmarkCutName(b *testing.B) {
	specs := []string{"python >=3.8,<3.9.0a0", "numpy", "conda-forge::numpy=1.26", "blas * openblas", "libgcc-ng >=12"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if name, _ := CutName(specs[i%len(specs)]); name == "" {
			b.Fatal("no name")
		}
	}
}

// Bad specs that people write are refused with what is wrong, and a long
// spec is quoted clipped in the message.
func TestParseRefuses(t *testing.T) {
	for s, want := range map[string]string{
		"numpy>=":        `invalid operator or missing version`,
		"numpy 1.2 3 4":  `build "3 4": invalid character ' '`,
		"numpy 1.2 a\tb": `build "a\tb": invalid character '\t'`,
	} {
		_, err := ParseLenient(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", s, err, want)
		}
	}
	long := "numpy " + strings.Repeat("1.0|", 100_000) + ">="
	_, err := ParseLenient(long)
	if err == nil {
		t.Fatal("long bad spec parsed")
	}
	if len(err.Error()) > 1000 || !strings.Contains(err.Error(), "more bytes)") {
		t.Errorf("message of %d bytes: %.300s", len(err.Error()), err)
	}
}
