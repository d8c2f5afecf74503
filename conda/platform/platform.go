// Package platform is the conda platform, or subdir: "linux-64",
// "osx-arm64", "noarch" (rattler_conda_types' Platform). It is the one
// place that knows which subdirs exist and how they map to the
// os/arch[/variant] platforms of OCI images.
package platform

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// Platform is a conda subdir: "linux-64", "noarch".
type Platform string

// Noarch is the subdir of platform-independent packages; every channel has it.
const Noarch Platform = "noarch"

// Known are the platform subdirs conda knows (conda's KNOWN_SUBDIRS).
var Known = []Platform{
	Noarch,
	"emscripten-wasm32", "wasi-wasm32",
	"freebsd-64",
	"linux-32", "linux-64", "linux-aarch64", "linux-armv6l", "linux-armv7l",
	"linux-ppc64", "linux-ppc64le", "linux-riscv64", "linux-s390x",
	"osx-64", "osx-arm64",
	"win-32", "win-64", "win-arm64",
	"zos-z",
}

// IsKnown reports whether s is one of Known.
func IsKnown(s string) bool { return slices.Contains(Known, Platform(s)) }

// IsKnown reports whether p is one of Known.
func (p Platform) IsKnown() bool { return IsKnown(string(p)) }

// OS returns the operating system part of p as conda writes it: "linux"
// for "linux-64", "osx", "win", "freebsd", ...; "" for noarch (and for
// anything without a '-').
func (p Platform) OS() string {
	os, _, ok := strings.Cut(string(p), "-")
	if !ok {
		return ""
	}
	return os
}

// Arch returns the architecture part of p: "64" for "linux-64",
// "aarch64", "arm64"; "" for noarch (and for anything without a '-').
func (p Platform) Arch() string {
	_, arch, _ := strings.Cut(string(p), "-")
	return arch
}

// IsWindows reports whether p is a Windows platform (win-*).
func (p Platform) IsWindows() bool { return p.OS() == "win" }

// IsOSX reports whether p is a macOS platform (osx-*).
func (p Platform) IsOSX() bool { return p.OS() == "osx" }

// String returns the subdir.
func (p Platform) String() string { return string(p) }

// CutSubdir splits a path or URL whose last component is a known subdir
// into the directory above it and the subdir: "conda-forge/linux-64" ->
// ("conda-forge", "linux-64", true). Both '/' and '\' separate, and
// trailing separators are ignored. ok is false (and dir the path without
// trailing separators) when there is no directory above or the last
// component is not a known subdir: "linux-64" alone is not cut.
func CutSubdir(path string) (dir string, p Platform, ok bool) {
	t := strings.TrimRight(path, `/\`)
	if i := strings.LastIndexAny(t, `/\`); i >= 0 && IsKnown(t[i+1:]) {
		return t[:i], Platform(t[i+1:]), true
	}
	return t, "", false
}

// Current returns the platform of the machine this program runs on, e.g.
// "linux-64"; "" when conda has no subdir for it.
func Current() Platform {
	p, _ := fromGo(runtime.GOOS, runtime.GOARCH, "")
	return p
}

// FromOCI maps an OCI image platform ("linux/amd64", "linux/arm64/v8",
// "linux/arm/v7"; the os/arch[/variant] form BuildKit and docker use, as
// containerd's platforms.Format writes it) to its conda subdir
// ("linux-64", "linux-aarch64", "linux-armv7l").
func FromOCI(platform string) (Platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(platform)), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/amd64", platform)
	}
	variant := ""
	if len(parts) == 3 {
		variant = parts[2]
	}
	p, ok := fromGo(parts[0], parts[1], variant)
	if !ok {
		return "", fmt.Errorf("platform %q: no conda subdir for it", platform)
	}
	return p, nil
}

// OCI is the inverse of FromOCI: "linux-aarch64" -> "linux/arm64". It
// fails for noarch and subdirs without an OCI platform.
func (p Platform) OCI() (string, error) {
	for _, m := range goSubdirs {
		if m.subdir == p {
			s := m.os + "/" + m.arch
			if m.variant != "" {
				s += "/" + m.variant
			}
			return s, nil
		}
	}
	return "", fmt.Errorf("subdir %q: no OCI platform for it", string(p))
}

// goSubdirs maps Go/OCI os, arch and variant to conda subdirs. The first
// entry of a subdir is its canonical OCI platform.
var goSubdirs = []struct {
	os, arch, variant string
	subdir            Platform
}{
	{"linux", "amd64", "", "linux-64"},
	{"linux", "arm64", "", "linux-aarch64"},
	{"linux", "ppc64le", "", "linux-ppc64le"},
	{"linux", "ppc64", "", "linux-ppc64"},
	{"linux", "s390x", "", "linux-s390x"},
	{"linux", "riscv64", "", "linux-riscv64"},
	{"linux", "386", "", "linux-32"},
	{"linux", "arm", "v7", "linux-armv7l"},
	{"linux", "arm", "v6", "linux-armv6l"},
	{"darwin", "amd64", "", "osx-64"},
	{"darwin", "arm64", "", "osx-arm64"},
	{"windows", "amd64", "", "win-64"},
	{"windows", "arm64", "", "win-arm64"},
	{"windows", "386", "", "win-32"},
	{"freebsd", "amd64", "", "freebsd-64"},
	{"wasip1", "wasm", "", "wasi-wasm32"},
	{"js", "wasm", "", "emscripten-wasm32"},
}

func fromGo(goos, arch, variant string) (Platform, bool) {
	switch {
	case arch == "x86_64":
		arch = "amd64"
	case arch == "aarch64":
		arch = "arm64"
	case arch == "arm64" && variant == "v8":
		variant = "" // arm64/v8 is plain arm64
	case arch == "arm" && variant == "":
		variant = "v7" // as containerd normalises linux/arm
	}
	if goos == "macos" {
		goos = "darwin"
	}
	for _, m := range goSubdirs {
		if m.os == goos && m.arch == arch && m.variant == variant {
			return m.subdir, true
		}
	}
	return "", false
}
