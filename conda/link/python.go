package link

import (
	"fmt"
	"path"
	"strings"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
)

// Python describes the Python interpreter of the environment, which places
// the files of noarch: python packages (CEP 17, CEP 20).
type Python struct {
	// Version is the interpreter's major.minor version, e.g. "3.11".
	Version string
	// SitePackages is the site-packages directory relative to the prefix,
	// e.g. "lib/python3.11/site-packages", or what the python record's
	// python_site_packages_path says (CEP 20, e.g. free-threaded builds'
	// "lib/python3.13t/site-packages").
	SitePackages string
}

// PythonFromRecord returns the Python of an environment from its python
// package record: the version's first two components and the record's
// python_site_packages_path when it has one.
func PythonFromRecord(r *record.PackageRecord) (*Python, error) {
	v := r.Version.String()
	major, rest, ok := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	if !ok || !allDigits(major) || !allDigits(minor) {
		return nil, fmt.Errorf("python record %s: version %q has no major.minor", r.Dist(), v)
	}
	p := &Python{Version: major + "." + minor, SitePackages: r.PythonSitePackagesPath}
	if p.SitePackages == "" {
		p.SitePackages = "lib/python" + p.Version + "/site-packages"
	} else if err := condapkg.CheckPath(p.SitePackages); err != nil {
		return nil, fmt.Errorf("python record %s: python_site_packages_path: %w", r.Dist(), err)
	}
	return p, nil
}

// Executable is the interpreter's path relative to the prefix.
func (p *Python) Executable() string { return "bin/python" + p.Version }

// targetPath maps a path of a noarch: python package to its place in the
// prefix: site-packages/ goes to the interpreter's site-packages and
// python-scripts/ to bin/; everything else stays where it is.
func (p *Python) targetPath(rel string) string {
	if rest, ok := strings.CutPrefix(rel, "site-packages/"); ok {
		return path.Join(p.SitePackages, rest)
	}
	if rest, ok := strings.CutPrefix(rel, "python-scripts/"); ok {
		return path.Join("bin", rest)
	}
	return rel
}

// entryPointScript returns the bin/ script of a noarch: python entry point
// for the interpreter at python (an absolute path in the final image), in
// the format conda writes:
// a shebang, then an import of the function's first name and a call.
// A shebang the kernel cannot run (see fixShebang) becomes a /bin/sh
// trampoline to the same interpreter.
func entryPointScript(ep condapkg.EntryPoint, python string, maxShebang int) string {
	shebang := "#!" + python
	if maxShebang > 0 {
		if fixed, ok := fixShebang(shebang, path.Dir(path.Dir(python)), maxShebang); ok {
			shebang = fixed
		}
	}
	importName, _, _ := strings.Cut(ep.Function, ".")
	return shebang + "\n" +
		"# -*- coding: utf-8 -*-\n" +
		"import re\n" +
		"import sys\n" +
		"\n" +
		"from " + ep.Module + " import " + importName + "\n" +
		"\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(" + ep.Function + "())\n"
}
