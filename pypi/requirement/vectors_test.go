// Code generated from pypa/packaging's tests (commit 053c884615f2, tests/test_markers.py and
// tests/test_requirements.py): their cases as data; packaging is dual Apache-2.0/BSD-2-Clause licensed.

package requirement

var pkgVariables = []string{
	"extra",
	"implementation_name",
	"implementation_version",
	"os_name",
	"platform_machine",
	"platform_release",
	"platform_system",
	"platform_version",
	"python_full_version",
	"python_version",
	"platform_python_implementation",
	"sys_platform",
}

var pkgPep345Variables = []string{
	"os.name",
	"sys.platform",
	"platform.version",
	"platform.machine",
	"platform.python_implementation",
}

var pkgOperators = []string{
	"===",
	"==",
	">=",
	"<=",
	"!=",
	"~=",
	">",
	"<",
	"in",
	"not in",
}

var pkgValues = []string{
	"1.0",
	"5.6a0",
	"dog",
	"freebsd",
	"literally any string can go here",
	"things @#4 dsfd (((",
}

var pkgInvalidMarkers = []string{
	"this_isnt_a_real_variable >= '1.0'",
	"python_version",
	"(python_version)",
	"python_version >= 1.0 and (python_version)",
	"(python_version == \"2.7\" and os_name == \"linux\"",
	"(python_version == \"2.7\") with random text",
}

var pkgMarkerStr = [][2]string{
	{"python_version == '2.7'", "python_version == \"2.7\""},
	{"python_version == \"2.7\"", "python_version == \"2.7\""},
	{"'a\" == os_name or python_version >= \"0\" or \"b' == os_name", "'a\" == os_name or python_version >= \"0\" or \"b' == os_name"},
	{"python_version == \"2.7\" and os_name == \"linux\"", "python_version == \"2.7\" and os_name == \"linux\""},
	{"python_version == \"2.7\" or os_name == \"linux\"", "python_version == \"2.7\" or os_name == \"linux\""},
	{"python_version == \"2.7\" and os_name == \"linux\" or sys_platform == \"win32\"", "python_version == \"2.7\" and os_name == \"linux\" or sys_platform == \"win32\""},
	{"(python_version == \"2.7\")", "python_version == \"2.7\""},
	{"(python_version == \"2.7\" and sys_platform == \"win32\")", "python_version == \"2.7\" and sys_platform == \"win32\""},
	{"python_version == \"2.7\" and (sys_platform == \"win32\" or sys_platform == \"linux\")", "python_version == \"2.7\" and (sys_platform == \"win32\" or sys_platform == \"linux\")"},
}

type evalCase struct {
	marker string
	env    map[string]string
	want   bool
}

var pkgMarkerEval = []evalCase{
	{"os_name == 'foo'", map[string]string{"os_name": "foo"}, true},
	{"os_name == 'foo'", map[string]string{"os_name": "bar"}, false},
	{"'2.7' in python_version", map[string]string{"python_version": "2.7.5"}, true},
	{"'2.7' not in python_version", map[string]string{"python_version": "2.7"}, false},
	{"os_name == 'foo' and python_version ~= '2.7.0'", map[string]string{"os_name": "foo", "python_version": "2.7.6"}, true},
	{"python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar')", map[string]string{"os_name": "foo", "python_version": "2.7.4"}, true},
	{"python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar')", map[string]string{"os_name": "bar", "python_version": "2.7.4"}, true},
	{"python_version ~= '2.7.0' and (os_name == 'foo' or os_name == 'bar')", map[string]string{"os_name": "other", "python_version": "2.7.4"}, false},
	{"extra == 'security'", map[string]string{"extra": "quux"}, false},
	{"extra == 'security'", map[string]string{"extra": "security"}, true},
	{"extra == 'SECURITY'", map[string]string{"extra": "security"}, true},
	{"extra == 'security'", map[string]string{"extra": "SECURITY"}, true},
	{"extra == 'pep-685-norm'", map[string]string{"extra": "PEP_685...norm"}, true},
	{"extra == 'Different.punctuation..is...equal'", map[string]string{"extra": "different__punctuation_is_EQUAL"}, true},
	{"sys.platform == 'win32'", map[string]string{"sys_platform": "linux2"}, false},
	{"platform.version in 'Ubuntu'", map[string]string{"platform_version": "#39"}, false},
	{"platform.machine=='x86_64'", map[string]string{"platform_machine": "x86_64"}, true},
	{"platform.python_implementation=='Jython'", map[string]string{"platform_python_implementation": "CPython"}, false},
	{"python_version == '2.5' and platform.python_implementation!= 'Jython'", map[string]string{"python_version": "2.7"}, false},
	{"extra == \"v2\"", map[string]string{"extra": ""}, false},
	{"extra == \"v2\"", map[string]string{"extra": "v2"}, true},
	{"extra == \"v2\"", map[string]string{"extra": "v2a3"}, false},
	{"extra == \"v2a3\"", map[string]string{"extra": "v2"}, false},
	{"extra == \"v2a3\"", map[string]string{"extra": "v2a3"}, true},
}

var pkgEqualRequirements = [][2]string{
	{"packaging>20.1", "packaging>20.1"},
	{"requests[security, tests]>=2.8.1,==2.8.*;python_version<\"2.7\"", "requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\""},
	{"importlib-metadata; python_version<\"3.8\"", "importlib-metadata; python_version<'3.8'"},
	{"appdirs>=1.4.4,<2; os_name==\"posix\" and extra==\"testing\"", "appdirs>=1.4.4,<2; os_name == 'posix' and extra == 'testing'"},
}

var pkgEquivalentRequirements = [][2]string{
	{"scikit-learn==1.0.1", "scikit_learn==1.0.1"},
	{"foo==1.0.0", "foo==1.0.0.0"},
	{"foo>=1.0", "foo>=1.0.0"},
	{"foo[a]==1.0.0; python_version>=\"3.8\"", "foo[a]==1.0.0.0; python_version>=\"3.8\""},
	{"urllib3[secure]", "urllib3[SECURE]"},
	{"fishtank[all-blue]", "fishtank[all_blue]"},
	{"fishtank[all-blue]", "fishtank[all---blue]"},
	{"fishtank[crazy-bunches]", "fishtank[cRazy_BUnches]"},
}

var pkgDifferentRequirements = [][2]string{
	{"package_one", "package_two"},
	{"packaging>20.1", "packaging>=20.1"},
	{"packaging>20.1", "packaging>21.1"},
	{"packaging>20.1", "package>20.1"},
	{"requests[security,tests]>=2.8.1,==2.8.*;python_version<\"2.7\"", "requests [security,tests] >= 2.8.1 ; python_version < \"2.7\""},
	{"importlib-metadata; python_version<\"3.8\"", "importlib-metadata; python_version<'3.7'"},
	{"appdirs>=1.4.4,<2; os_name==\"posix\" and extra==\"testing\"", "appdirs>=1.4.4,<2; os_name == 'posix' and extra == 'docs'"},
}

var pkgReqNames = []string{
	"package",
	"pAcKaGe",
	"Package",
	"foo-bar.quux_bAz",
	"installer",
	"android12",
}

var pkgReqExtras = [][]string{
	{},
	{"a"},
	{"a", "b"},
	{"B", "CDEF123", "a"},
}

type urlSpec struct {
	url  any // nil or string
	spec string
}

var pkgReqURLSpecs = []urlSpec{
	{nil, ""},
	{"https://example.com/packagename.zip", ""},
	{"ssh://user:pass%20word@example.com/packagename.zip", ""},
	{"https://example.com/name;v=1.1/?query=foo&bar=baz#blah", ""},
	{"git+ssh://git.example.com/MyProject", ""},
	{"git+ssh://git@github.com:pypa/packaging.git", ""},
	{"git+https://git.example.com/MyProject.git@master", ""},
	{"git+https://git.example.com/MyProject.git@v1.0", ""},
	{"git+https://git.example.com/MyProject.git@refs/pull/123/head", ""},
	{"gopher:/foo/com", ""},
	{nil, "==={ws}arbitrarystring"},
	{nil, "({ws}==={ws}arbitrarystring{ws})"},
	{nil, "=={ws}1.0"},
	{nil, "({ws}=={ws}1.0{ws})"},
	{nil, "=={ws}1.0-alpha"},
	{nil, "<={ws}1!3.0.0.rc2"},
	{nil, ">{ws}2.2{ws},{ws}<{ws}3"},
	{nil, "(>{ws}2.2{ws},{ws}<{ws}3)"},
}

var pkgReqMarkers = []any{
	nil,
	"python_version{ws}>={ws}'3.3'",
	"({ws}python_version{ws}>={ws}\"3.4\"{ws}){ws}and extra{ws}=={ws}\"oursql\"",
	"sys_platform{ws}!={ws}'linux' and(os_name{ws}=={ws}'linux' or python_version{ws}>={ws}'3.3'{ws}){ws}",
}

var pkgReqWhitespace = []string{
	"",
	" ",
	"\t",
}
