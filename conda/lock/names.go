package lock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/diag"
)

// dependencyMap turns depends ("python >=3.9,<3.10.0a0", "__unix") into
// name -> rest ("python": ">=3.9,<3.10.0a0", "__unix": ""), the form of
// conda-lock. A name listed twice has its constraints joined with ",".
// The map is never nil.
func dependencyMap(depends []string) map[string]string {
	m := make(map[string]string, len(depends))
	for _, d := range depends {
		name, rest := matchspec.CutName(d)
		if prev, ok := m[name]; ok && prev != "" && rest != "" && prev != rest {
			rest = prev + "," + rest
		} else if ok && rest == "" {
			rest = prev
		}
		m[name] = rest
	}
	return m
}

// dependsList is the inverse of dependencyMap, sorted by name.
func dependsList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for name, rest := range m {
		switch {
		case rest == "":
			out = append(out, name)
		case strings.HasPrefix(rest, "["):
			out = append(out, name+rest)
		default:
			out = append(out, name+" "+rest)
		}
	}
	slices.Sort(out)
	return out
}

// splitFilename splits a conda artifact's file name into name, version
// and build ("zlib-1.2.11-h7b6447c_3.conda").
func splitFilename(fn string) (name, ver, build string, err error) {
	stem, typ := record.CutArchiveExt(fn)
	if typ == record.ArchiveUnknown {
		return "", "", "", fmt.Errorf("%q is not a conda package file (want .conda or .tar.bz2)", fn)
	}
	b := strings.LastIndexByte(stem, '-')
	if b <= 0 {
		return "", "", "", fmt.Errorf("%q: want name-version-build%s", fn, fn[len(stem):])
	}
	v := strings.LastIndexByte(stem[:b], '-')
	if v <= 0 || v+1 == b || b+1 == len(stem) {
		return "", "", "", fmt.Errorf("%q: want name-version-build%s", fn, fn[len(stem):])
	}
	return stem[:v], stem[v+1 : b], stem[b+1:], nil
}

// splitURL splits a package URL (or path) into the channel, the subdir
// and the file name: ".../conda-forge/linux-64/zlib-1.2.11-0.conda" ->
// (".../conda-forge", "linux-64", "zlib-1.2.11-0.conda"). The subdir is ""
// when the directory holding the file does not look like one.
func splitURL(u string) (channel, subdir, fn string) {
	i := strings.LastIndexAny(u, `/\`)
	if i < 0 {
		return "", "", u
	}
	dir, fn := u[:i], u[i+1:]
	if ch, sd, ok := platform.CutSubdir(dir); ok {
		return ch, string(sd), fn
	}
	return dir, "", fn
}

// nameOfURL returns the package name a URL's file name tells (a
// fragment is ignored), or "".
func nameOfURL(u string) string {
	u, _, _ = strings.Cut(u, "#")
	_, _, fn := splitURL(u)
	name, _, _, _ := splitFilename(fn)
	return name
}

// recordFromURL builds the record a package URL tells: name, version and
// build from the file name, subdir and channel from the directories.
func recordFromURL(u string) (*record.RepoDataRecord, error) {
	channel, subdir, fn := splitURL(u)
	name, ver, build, err := splitFilename(fn)
	if err != nil {
		return nil, err
	}
	v, err := version.Parse(ver)
	if err != nil {
		return nil, fmt.Errorf("%q: version %q: %w", fn, ver, err)
	}
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: name, Version: v, Build: build, Subdir: subdir, Depends: []string{}},
		FileName:      fn,
		URL:           u,
		Channel:       channel,
	}, nil
}

// checkDigests checks md5 and sha256 digests ("" = absent) and returns
// them lowercased; on error it also names the field at fault.
func checkDigests(md5, sha256 string) (string, string, string, error) {
	if md5 != "" {
		if err := record.ValidMD5(md5); err != nil {
			return "", "", "md5", err
		}
	}
	if sha256 != "" {
		if err := record.ValidSHA256(sha256); err != nil {
			return "", "", "sha256", err
		}
	}
	return strings.ToLower(md5), strings.ToLower(sha256), "", nil
}

// skipWarning is the warning of a package left out of a lock.
func skipWarning(file string, line int, field, name string, err error) *diag.Error {
	msg := "skipped package: " + err.Error()
	if name != "" {
		msg = "skipped package " + name + ": " + err.Error()
	}
	return &diag.Error{File: file, Line: line, Field: field, Msg: msg,
		Hint: "the lock file was edited or damaged; lock again with envkit lock"}
}
