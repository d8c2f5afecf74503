package platform

import (
	"runtime"
	"testing"
)

func TestOCIPlatform(t *testing.T) {
	for in, want := range map[string]Platform{
		"linux/amd64":    "linux-64",
		"linux/arm64":    "linux-aarch64",
		"linux/arm64/v8": "linux-aarch64",
		"linux/ppc64le":  "linux-ppc64le",
		"linux/s390x":    "linux-s390x",
		"linux/arm/v7":   "linux-armv7l",
		"linux/arm":      "linux-armv7l",
		"linux/arm/v6":   "linux-armv6l",
		"linux/386":      "linux-32",
		"linux/riscv64":  "linux-riscv64",
		"darwin/arm64":   "osx-arm64",
		"windows/amd64":  "win-64",
		"windows/arm64":  "win-arm64",
		"Linux/AMD64":    "linux-64",
	} {
		got, err := FromOCI(in)
		if err != nil || got != want {
			t.Errorf("FromOCI(%q) = %q, %v; want %q", in, got, err, want)
		}
		if !got.IsKnown() {
			t.Errorf("%q maps to unknown subdir %q", in, got)
		}
	}
	for _, bad := range []string{"linux", "linux/mips64", "plan9/amd64", "linux/amd64/v3/x", "/amd64"} {
		if s, err := FromOCI(bad); err == nil {
			t.Errorf("FromOCI(%q) = %q, want error", bad, s)
		}
	}
	for _, sub := range []string{"linux-64", "linux-aarch64", "linux-ppc64le", "linux-s390x", "linux-armv7l", "osx-arm64", "win-64"} {
		p, err := Platform(sub).OCI()
		if err != nil {
			t.Errorf("%q.OCI(): %v", sub, err)
			continue
		}
		if back, err := FromOCI(p); err != nil || back != Platform(sub) {
			t.Errorf("round trip %q -> %q -> %q, %v", sub, p, back, err)
		}
	}
	if _, err := Noarch.OCI(); err == nil {
		t.Error("noarch.OCI() should fail")
	}
}

func TestCurrent(t *testing.T) {
	want, err := FromOCI(runtime.GOOS + "/" + runtime.GOARCH)
	if err != nil {
		t.Skipf("no conda subdir for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if got := Current(); got != want {
		t.Errorf("Current() = %q, want %q", got, want)
	}
}

// TestCutSubdir covers what each former copy handled: channel's
// stripSubdir and matchspec's splitChannelSubdir ('/' only, trailing
// slashes) and lock's splitURL ('\' too, URLs).
func TestCutSubdir(t *testing.T) {
	for _, c := range []struct {
		in, dir string
		sub     Platform
		ok      bool
	}{
		{"conda-forge/linux-64", "conda-forge", "linux-64", true},
		{"conda-forge/noarch/", "conda-forge", "noarch", true},
		{"https://conda.anaconda.org/conda-forge/osx-arm64", "https://conda.anaconda.org/conda-forge", "osx-arm64", true},
		{`C:\chan\win-64`, `C:\chan`, "win-64", true},
		{"file:///srv/chan/zos-z", "file:///srv/chan", "zos-z", true},
		{"conda-forge", "conda-forge", "", false},
		{"conda-forge/", "conda-forge", "", false},
		{"linux-64", "linux-64", "", false},                       // no directory above
		{"a/linux-loongarch64", "a/linux-loongarch64", "", false}, // not a known subdir
		{"a/label/main", "a/label/main", "", false},
		{"", "", "", false},
	} {
		dir, sub, ok := CutSubdir(c.in)
		if dir != c.dir || sub != c.sub || ok != c.ok {
			t.Errorf("CutSubdir(%q) = %q, %q, %v; want %q, %q, %v", c.in, dir, sub, ok, c.dir, c.sub, c.ok)
		}
	}
}

func TestIsKnown(t *testing.T) {
	for _, k := range Known {
		if !IsKnown(string(k)) || !k.IsKnown() {
			t.Errorf("IsKnown(%q) = false", k)
		}
	}
	for _, bad := range []string{"", "linux", "Linux-64", "linux-64 ", "osx", "win-amd64", "linux-loongarch64"} {
		if IsKnown(bad) || Platform(bad).IsKnown() {
			t.Errorf("IsKnown(%q) = true", bad)
		}
	}
}

// TestOSArch covers the checks that were written as prefix tests and
// strings.Cut: link's "win-" and "osx-", virtual's <os>-<arch> split.
func TestOSArch(t *testing.T) {
	for _, c := range []struct {
		p          Platform
		os, arch   string
		win, macos bool
	}{
		{"linux-64", "linux", "64", false, false},
		{"linux-aarch64", "linux", "aarch64", false, false},
		{"osx-arm64", "osx", "arm64", false, true},
		{"osx-64", "osx", "64", false, true},
		{"win-64", "win", "64", true, false},
		{"win-arm64", "win", "arm64", true, false},
		{"emscripten-wasm32", "emscripten", "wasm32", false, false},
		{"noarch", "", "", false, false},
		{"linux-", "linux", "", false, false},
		{"windows", "", "", false, false},
		{"", "", "", false, false},
	} {
		if c.p.OS() != c.os || c.p.Arch() != c.arch || c.p.IsWindows() != c.win || c.p.IsOSX() != c.macos {
			t.Errorf("%q: OS %q Arch %q IsWindows %v IsOSX %v; want %q %q %v %v", c.p, c.p.OS(), c.p.Arch(), c.p.IsWindows(), c.p.IsOSX(), c.os, c.arch, c.win, c.macos)
		}
	}
}
