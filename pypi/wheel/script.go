package wheel

import (
	"regexp"
	"strings"
)

// maxShebang is the longest shebang line (with its newline) Linux runs.
const maxShebang = 127

// shebang returns the first line(s) of a script run by the interpreter at
// python (an absolute path in the final image), as pip's distlib writes
// them: "#!python" when the kernel can run that, else a /bin/sh
// trampoline that is also a Python string literal.
func shebang(python string) string {
	if len("#!"+python+"\n") <= maxShebang && !strings.ContainsAny(python, " \t") {
		return "#!" + python
	}
	return "#!/bin/sh\n'''exec' \"" + python + "\" \"$0\" \"$@\"\n' '''"
}

// entryPointScript is the bin/ launcher of an entry point, the one pip
// (distlib) generates on POSIX for console and GUI scripts alike.
func entryPointScript(ep EntryPoint, python string) []byte {
	importName, _, _ := strings.Cut(ep.Function, ".")
	return []byte(shebang(python) + "\n" +
		"# -*- coding: utf-8 -*-\n" +
		"import re\n" +
		"import sys\n" +
		"from " + ep.Module + " import " + importName + "\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(" + ep.Function + "())\n")
}

var (
	versionedPip         = regexp.MustCompile(`^pip(\d+(\.\d+)?)?$`)
	versionedEasyInstall = regexp.MustCompile(`^easy_install(-\d+\.\d+)?$`)
)

// pipScripts applies pip's special case for its own launchers and
// setuptools' easy_install: the wheel's versioned names were made for the
// Python that built it, so "pip" becomes pip, pipX and pipX.Y of the
// target's version (and easy_install, easy_install-X.Y), and the wheel's
// other versioned names are dropped.
func pipScripts(eps EntryPoints, pyVersion string) EntryPoints {
	major, _, _ := strings.Cut(pyVersion, ".")
	var pip, easy *EntryPoint
	for i := range eps {
		ep := &eps[i]
		if ep.GUI {
			continue
		}
		switch ep.Name {
		case "pip":
			pip = ep
		case "easy_install":
			easy = ep
		}
	}
	if pip == nil && easy == nil {
		return eps
	}
	out := make(EntryPoints, 0, len(eps)+3)
	for _, ep := range eps {
		switch {
		case ep.GUI:
		case pip != nil && versionedPip.MatchString(ep.Name):
			continue
		case easy != nil && versionedEasyInstall.MatchString(ep.Name):
			continue
		}
		out = append(out, ep)
	}
	add := func(base EntryPoint, names ...string) {
		for _, n := range names {
			ep := base
			ep.Name = n
			out = append(out, ep)
		}
	}
	if pip != nil {
		add(*pip, "pip", "pip"+major, "pip"+pyVersion)
	}
	if easy != nil {
		add(*easy, "easy_install", "easy_install-"+pyVersion)
	}
	return out
}

// reservedScript matches the interpreter's own names in bin/, which no
// wheel may replace: python, python3, python3.12, python3.13t, pythonw...
var reservedScript = regexp.MustCompile(`^pythonw?(\d+(\.\d+t?)?)?$`)
