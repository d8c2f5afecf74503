package lock

import (
	"fmt"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
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

// isHex reports whether s is n lowercase hexadecimal digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkHashes validates md5 and sha256 digests ("" = absent).
func checkHashes(md5, sha256 string) (field, msg string) {
	if md5 != "" && !isHex(md5, 32) {
		return "md5", fmt.Sprintf("%q is not an md5 digest (32 lowercase hex digits)", md5)
	}
	if sha256 != "" && !isHex(sha256, 64) {
		return "sha256", fmt.Sprintf("%q is not a sha256 digest (64 lowercase hex digits)", sha256)
	}
	return "", ""
}
