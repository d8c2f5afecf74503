package channel

import (
	"fmt"
	"runtime"
	"strings"
)

// Noarch is the subdir of platform-independent packages; every channel has it.
const Noarch = "noarch"

// KnownSubdirs are the platform subdirs conda knows (conda's KNOWN_SUBDIRS).
var KnownSubdirs = []string{
	Noarch,
	"emscripten-wasm32", "wasi-wasm32",
	"freebsd-64",
	"linux-32", "linux-64", "linux-aarch64", "linux-armv6l", "linux-armv7l",
	"linux-ppc64", "linux-ppc64le", "linux-riscv64", "linux-s390x",
	"osx-64", "osx-arm64",
	"win-32", "win-64", "win-arm64",
	"zos-z",
}

// IsKnownSubdir reports whether s is one of KnownSubdirs.
func IsKnownSubdir(s string) bool {
	for _, k := range KnownSubdirs {
		if k == s {
			return true
		}
	}
	return false
}

// Platform returns the subdir of the machine this program runs on, e.g.
// "linux-64"; "" when conda has no subdir for it.
func Platform() string {
	s, _ := fromGo(runtime.GOOS, runtime.GOARCH, "")
	return s
}

// FromOCIPlatform maps an OCI image platform ("linux/amd64",
// "linux/arm64/v8", "linux/arm/v7"; the os/arch[/variant] form BuildKit
// and docker use) to its conda subdir ("linux-64", "linux-aarch64",
// "linux-armv7l").
func FromOCIPlatform(platform string) (string, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(platform)), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("platform %q: want os/arch[/variant], e.g. linux/amd64", platform)
	}
	variant := ""
	if len(parts) == 3 {
		variant = parts[2]
	}
	s, ok := fromGo(parts[0], parts[1], variant)
	if !ok {
		return "", fmt.Errorf("platform %q: no conda subdir for it", platform)
	}
	return s, nil
}

// ToOCIPlatform is the inverse of FromOCIPlatform: "linux-aarch64" ->
// "linux/arm64". It fails for noarch and subdirs without an OCI platform.
func ToOCIPlatform(subdir string) (string, error) {
	for _, m := range goSubdirs {
		if m.subdir == subdir {
			p := m.os + "/" + m.arch
			if m.variant != "" {
				p += "/" + m.variant
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("subdir %q: no OCI platform for it", subdir)
}

// goSubdirs maps Go/OCI os, arch and variant to conda subdirs. The first
// entry of a subdir is its canonical OCI platform.
var goSubdirs = []struct{ os, arch, variant, subdir string }{
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

func fromGo(goos, arch, variant string) (string, bool) {
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
