package record

import (
	"fmt"
	"strings"
)

// ValidFileName checks what a record puts into download URLs and locks:
// fn must be a plain <name>-<version>-<build>.conda or .tar.bz2 of r's
// own name, version and build, of letters, digits and . _ - + ! only and
// without "..", so that nothing in it can leave a channel's subdir. It is
// the one file-name rule of repodata and lock readers; it does not
// allocate unless fn is invalid.
func ValidFileName(fn string, r *PackageRecord) error {
	stem, t := CutArchiveExt(fn)
	if t == ArchiveUnknown {
		return fmt.Errorf("file name %q: want <name>-<version>-<build>.conda or .tar.bz2", fn)
	}
	for i := 0; i < len(fn); i++ {
		if c := fn[i]; !fileNameByte(c) {
			return fmt.Errorf("file name %q: %q is not allowed in a package file name", fn, c)
		}
	}
	if strings.Contains(fn, "..") {
		return fmt.Errorf("file name %q: \"..\" is not allowed in a package file name", fn)
	}
	if v := r.Version.String(); !isDist(stem, r.Name, v, r.Build) {
		return fmt.Errorf("file name %q does not match the record's name, version and build (%s-%s-%s)", fn, r.Name, v, r.Build)
	}
	return nil
}

func fileNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+' || c == '!'
}

// isDist reports whether s is name-version-build, without allocating.
func isDist(s, name, version, build string) bool {
	return name != "" && version != "" && build != "" &&
		len(s) == len(name)+len(version)+len(build)+2 &&
		s[:len(name)] == name && s[len(name)] == '-' &&
		s[len(name)+1:len(name)+1+len(version)] == version && s[len(name)+1+len(version)] == '-' &&
		s[len(s)-len(build):] == build
}

// ValidSHA256 checks that s is a sha256 digest: 64 hexadecimal digits
// (either case). Callers that keep it should lowercase it.
func ValidSHA256(s string) error {
	if !isHex(s, 64) {
		return fmt.Errorf("sha256 %q is not 64 hex digits", clip(s))
	}
	return nil
}

// ValidMD5 checks that s is an md5 digest: 32 hexadecimal digits (either
// case).
func ValidMD5(s string) error {
	if !isHex(s, 32) {
		return fmt.Errorf("md5 %q is not 32 hex digits", clip(s))
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// clip shortens a long invalid value for a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
