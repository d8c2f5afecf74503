package resolve

import (
	"fmt"
	"strings"

	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// Target returns what a Request needs to know of a target CPython: its
// marker environment (as the interpreter would report it on that OS and
// machine: os_name, sys_platform, platform_system, platform_machine,
// python_version, python_full_version, implementation) and its compatible
// wheel tags. python is the full version (3.12.1); t.Python must be its
// major and minor. platform_release and platform_version are unknown
// before the image runs and left empty.
func Target(t tags.Target, python version.Version) (requirement.Environment, *tags.Compat, error) {
	rel := python.Release()
	if len(rel) < 2 || int(rel[0]) != t.Python[0] || int(rel[1]) != t.Python[1] {
		return requirement.Environment{}, nil, fmt.Errorf("resolve: target Python %s is not %d.%d", python, t.Python[0], t.Python[1])
	}
	compat, err := tags.NewCompat(t)
	if err != nil {
		return requirement.Environment{}, nil, err
	}
	env := requirement.Environment{
		PythonVersion:                fmt.Sprintf("%d.%d", rel[0], rel[1]),
		PythonFullVersion:            python.String(),
		PlatformPythonImplementation: "CPython",
		ImplementationName:           "cpython",
		ImplementationVersion:        python.String(),
		PlatformMachine:              t.Arch,
	}
	switch t.OS {
	case tags.Linux:
		env.OSName, env.SysPlatform, env.PlatformSystem = "posix", "linux", "Linux"
	case tags.MacOS:
		env.OSName, env.SysPlatform, env.PlatformSystem = "posix", "darwin", "Darwin"
	case tags.Windows:
		env.OSName, env.SysPlatform, env.PlatformSystem = "nt", "win32", "Windows"
		// platform.machine() on Windows: AMD64, ARM64, x86.
		if t.Arch != "x86" {
			env.PlatformMachine = strings.ToUpper(t.Arch)
		}
	}
	return env, compat, nil
}
