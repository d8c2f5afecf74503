// Package virtual computes the virtual packages (CEP 30: __unix, __linux,
// __glibc, __osx, __win, __archspec, __cuda) of a TARGET platform. envkit
// builds images, so the target is the image's platform (a conda subdir such
// as "linux-aarch64"), not the machine envkit runs on: nothing is detected,
// every value comes from the platform, a documented default, or an override.
//
// Overrides, strongest first: Options.Overrides (an explicit map), then the
// CONDA_OVERRIDE_* environment variables read through Options.Env (as conda
// reads them), then the Options fields, then the defaults. An empty override
// removes the package (CONDA_OVERRIDE_GLIBC="" means "no glibc"), except for
// __linux, which conda then reports as version 0.
package virtual

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// Defaults for a target whose values are not given.
const (
	// DefaultLinux is the __linux version: conda's value when the kernel
	// cannot be known (the image runs on whatever kernel its host has).
	DefaultLinux = "0"
	// DefaultGlibc is the __glibc version: the oldest glibc conda-forge
	// builds for (CentOS 7), so solutions run on any mainstream distribution.
	DefaultGlibc = "2.17"
	// DefaultOSX and DefaultOSXArm64 are the __osx versions: conda-forge's
	// deployment targets for osx-64 and osx-arm64.
	DefaultOSX      = "10.13"
	DefaultOSXArm64 = "11.0"
	// DefaultWin is the __win version.
	DefaultWin = "0"
)

// Options describe the target. Platform is required; the rest is optional.
type Options struct {
	// Platform is the target conda subdir: linux-64, linux-aarch64,
	// linux-ppc64le, linux-s390x, linux-armv7l, linux-32, osx-64, osx-arm64,
	// win-64, win-arm64, win-32, or noarch (no virtual packages).
	Platform string
	Linux    string // __linux version (default DefaultLinux)
	Glibc    string // __glibc version (default DefaultGlibc)
	OSX      string // __osx version (default DefaultOSX / DefaultOSXArm64)
	Win      string // __win version (default DefaultWin)
	Archspec string // __archspec build: the microarchitecture (default: the platform's, e.g. x86_64)
	Cuda     string // __cuda version; "" = no __cuda (only present when asked for)
	// Overrides maps a virtual package name ("__glibc" or "glibc") to its
	// version (for __archspec: its build); "" removes the package.
	Overrides map[string]string
	// Env looks up CONDA_OVERRIDE_* variables; nil ignores the environment
	// (the default: builds should not depend on ambient variables). Pass
	// os.LookupEnv, or LookupEnv, to behave like conda.
	Env func(string) (string, bool)
}

// LookupEnv is os.LookupEnv, for Options.Env.
var LookupEnv = os.LookupEnv

// ForPlatform returns the target's virtual packages (__unix or __win first,
// then the OS version, libc, __archspec and __cuda when present).
func ForPlatform(o Options) ([]*record.PackageRecord, error) {
	p := platform.Platform(o.Platform)
	if p == platform.Noarch {
		return nil, nil
	}
	goos, arch := p.OS(), p.Arch()
	if goos == "" {
		return nil, fmt.Errorf("virtual packages: platform %q: want <os>-<arch>, e.g. linux-64", o.Platform)
	}
	archspec, ok := archOf[arch]
	if !ok {
		return nil, fmt.Errorf("virtual packages: platform %q: unknown architecture %q", o.Platform, arch)
	}
	var specs []pkg
	switch goos {
	case "linux":
		specs = []pkg{
			{name: "__unix", version: "0"},
			{name: "__linux", value: or(o.Linux, DefaultLinux), env: "LINUX", emptyKeeps: "0"},
			{name: "__glibc", value: or(o.Glibc, DefaultGlibc), env: "GLIBC"},
		}
	case "osx":
		def := DefaultOSX
		if arch == "arm64" {
			def = DefaultOSXArm64
		}
		specs = []pkg{
			{name: "__unix", version: "0"},
			{name: "__osx", value: or(o.OSX, def), env: "OSX"},
		}
	case "win":
		specs = []pkg{{name: "__win", value: or(o.Win, DefaultWin), env: "WIN"}}
	default:
		return nil, fmt.Errorf("virtual packages: platform %q: unknown operating system %q", o.Platform, goos)
	}
	specs = append(specs,
		pkg{name: "__archspec", version: "1", value: or(o.Archspec, archspec), env: "ARCHSPEC", isBuild: true},
		pkg{name: "__cuda", value: o.Cuda, env: "CUDA"},
	)

	var out []*record.PackageRecord
	for _, p := range specs {
		r, err := p.resolve(o)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	for k := range o.Overrides {
		if !knownName(specs, k) {
			return nil, fmt.Errorf("virtual packages: override %q: not a virtual package of %s", k, o.Platform)
		}
	}
	return out, nil
}

// archOf maps a subdir's architecture to the __archspec build.
var archOf = map[string]string{
	"64": "x86_64", "32": "x86", "aarch64": "aarch64", "arm64": "arm64", "ppc64le": "ppc64le",
	"ppc64": "ppc64", "s390x": "s390x", "armv6l": "armv6l", "armv7l": "armv7l", "riscv64": "riscv64",
}

// pkg is one virtual package of the target and where its value comes from.
type pkg struct {
	name       string
	version    string // fixed version ("" = the value is the version)
	value      string // the version (or, with isBuild, the build) before overrides
	env        string // CONDA_OVERRIDE_<env>; "" = none
	emptyKeeps string // value used when an override is empty ("" = remove)
	isBuild    bool
}

func (p pkg) resolve(o Options) (*record.PackageRecord, error) {
	value, from := p.value, "options or default"
	if p.env != "" && o.Env != nil {
		if v, ok := o.Env("CONDA_OVERRIDE_" + p.env); ok {
			value, from = strings.TrimSpace(v), "CONDA_OVERRIDE_"+p.env
		}
	}
	if v, ok := override(o.Overrides, p.name); ok {
		value, from = strings.TrimSpace(v), "override "+p.name
	}
	if value == "" {
		if p.emptyKeeps == "" {
			if p.version != "" && p.value == "" {
				value = "0" // fixed packages such as __unix always exist
			} else {
				return nil, nil
			}
		} else {
			value = p.emptyKeeps
		}
	}
	if p.name == "__linux" {
		value = kernelVersion(value)
	}
	ver, build := value, "0"
	if p.version != "" {
		ver = p.version
		if p.isBuild {
			build = value
		}
	}
	v, err := version.Parse(ver)
	if err != nil {
		return nil, fmt.Errorf("virtual packages: %s (from %s): %w", p.name, from, err)
	}
	return &record.PackageRecord{Name: p.name, Version: v, Build: build, Subdir: o.Platform}, nil
}

// kernelVersion keeps the numeric head of a kernel release as conda does
// ("5.15.0-91-generic" -> "5.15.0"), or "0" when there is none.
func kernelVersion(s string) string {
	if m := kernelRe.FindString(s); m != "" {
		return m
	}
	return "0"
}

var kernelRe = regexp.MustCompile(`^\d+\.\d+(\.\d+)?(\.\d+)?`)

func override(m map[string]string, name string) (string, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	v, ok := m[strings.TrimPrefix(name, "__")]
	return v, ok
}

func knownName(ps []pkg, k string) bool {
	for _, p := range ps {
		if p.name == k || p.name == "__"+k {
			return true
		}
	}
	return false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
