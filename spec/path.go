package spec

import (
	"path/filepath"
	"strings"
)

// IsLocal reports whether p, a path an environment file gives relative to
// its directory or build context (conda_file, build.path, a lock file),
// stays inside that directory: not absolute and not climbing above it with
// "..". "" and "." are the directory itself. '\' separates as well as '/'
// (files written on Windows). It is filepath.IsLocal on the slash form.
func IsLocal(p string) bool {
	p = strings.ReplaceAll(p, `\`, "/")
	return p == "" || filepath.IsLocal(filepath.FromSlash(p))
}
