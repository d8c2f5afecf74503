package tags

import (
	"fmt"
	"strconv"
)

// OS is a target operating system.
type OS string

// The operating systems a Target can name.
const (
	Linux   OS = "linux"
	MacOS   OS = "macos"
	Windows OS = "windows"
)

// Target describes the interpreter and platform wheels are chosen for.
type Target struct {
	// Python is the CPython version (major, minor), e.g. {3, 12}.
	Python [2]int
	// FreeThreaded selects a free-threaded ("t", --disable-gil) build.
	FreeThreaded bool
	OS           OS
	// Arch is the machine as platform tags spell it: Linux "x86_64",
	// "aarch64", "i686", "armv7l", "ppc64le", "s390x"...; macOS "x86_64" or
	// "arm64"; Windows "amd64", "arm64" or "x86".
	Arch string
	// Glibc is the target's glibc (major, minor), e.g. {2, 28}; zero when
	// the target does not use glibc.
	Glibc [2]int
	// Musl is the target's musl (major, minor), e.g. {1, 2}; zero when it
	// does not use musl.
	Musl [2]int
	// MacOS is the oldest macOS version (major, minor) the target runs, e.g.
	// {11, 0}; used when OS is MacOS.
	MacOS [2]int
}

func (t Target) validate() error {
	switch {
	case t.Python[0] < 2 || t.Python[1] < 0:
		return fmt.Errorf("tags: target Python %d.%d is not a CPython version", t.Python[0], t.Python[1])
	case t.Arch == "":
		return fmt.Errorf("tags: target has no architecture")
	}
	switch t.OS {
	case Linux:
		if t.Glibc != [2]int{} && t.Musl != [2]int{} {
			return fmt.Errorf("tags: a Linux target has glibc or musl, not both")
		}
	case MacOS:
		if t.MacOS[0] < 10 {
			return fmt.Errorf("tags: a macOS target needs its macOS version (10.x or later)")
		}
	case Windows:
	default:
		return fmt.Errorf("tags: unknown target OS %q (linux, macos or windows)", t.OS)
	}
	return nil
}

// Platforms returns the target's platform tags, best first, as packaging's
// platform_tags would on that machine.
func (t Target) Platforms() ([]string, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	switch t.OS {
	case MacOS:
		return macPlatforms(t.MacOS, t.Arch), nil
	case Windows:
		switch t.Arch {
		case "x86", "win32", "i686":
			return []string{"win32"}, nil
		}
		return []string{"win_" + t.Arch}, nil
	}
	archs := []string{t.Arch}
	if t.Arch == "armv8l" {
		archs = append(archs, "armv7l")
	}
	var out []string
	for _, a := range archs {
		out = append(out, "linux_"+a)
	}
	if t.Glibc != [2]int{} {
		out = append(out, manylinuxPlatforms(t.Glibc, archs)...)
	}
	if t.Musl != [2]int{} {
		for _, a := range archs {
			for minor := t.Musl[1]; minor >= 0; minor-- {
				out = append(out, fmt.Sprintf("musllinux_%d_%d_%s", t.Musl[0], minor, a))
			}
		}
	}
	return out, nil
}

// lastGlibcMinor is the newest minor assumed for an older glibc major
// (packaging's _LAST_GLIBC_MINOR).
const lastGlibcMinor = 50

var legacyManylinux = map[[2]int]string{{2, 17}: "manylinux2014", {2, 12}: "manylinux2010", {2, 5}: "manylinux1"}

func manylinuxPlatforms(glibc [2]int, archs []string) []string {
	tooOld := [2]int{2, 16}
	for _, a := range archs {
		if a == "x86_64" || a == "i686" {
			tooOld = [2]int{2, 4}
		}
	}
	maxes := [][2]int{glibc}
	for major := glibc[0] - 1; major > 1; major-- {
		maxes = append(maxes, [2]int{major, lastGlibcMinor})
	}
	var out []string
	for _, a := range archs {
		for _, m := range maxes {
			minMinor := -1
			if m[0] == tooOld[0] {
				minMinor = tooOld[1]
			}
			for minor := m[1]; minor > minMinor; minor-- {
				out = append(out, fmt.Sprintf("manylinux_%d_%d_%s", m[0], minor, a))
				if legacy, ok := legacyManylinux[[2]int{m[0], minor}]; ok {
					out = append(out, legacy+"_"+a)
				}
			}
		}
	}
	return out
}

func macBinaryFormats(v [2]int, arch string) []string {
	less := func(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }
	formats := []string{arch}
	switch arch {
	case "x86_64":
		if less(v, [2]int{10, 4}) {
			return nil
		}
		formats = append(formats, "intel", "fat64", "fat3")
	case "i386":
		if less(v, [2]int{10, 4}) {
			return nil
		}
		formats = append(formats, "intel", "fat3", "fat")
	case "ppc64":
		if less([2]int{10, 5}, v) || less(v, [2]int{10, 4}) {
			return nil
		}
		formats = append(formats, "fat64")
	case "ppc":
		if less([2]int{10, 6}, v) {
			return nil
		}
		formats = append(formats, "fat3", "fat")
	}
	if arch == "arm64" || arch == "x86_64" {
		formats = append(formats, "universal2")
	}
	switch arch {
	case "x86_64", "i386", "ppc64", "ppc", "intel":
		formats = append(formats, "universal")
	}
	return formats
}

func macPlatforms(v [2]int, arch string) []string {
	var out []string
	emit := func(major, minor int, formats []string) {
		for _, f := range formats {
			out = append(out, fmt.Sprintf("macosx_%d_%d_%s", major, minor, f))
		}
	}
	if v[0] == 10 {
		for minor := v[1]; minor >= 0; minor-- {
			emit(10, minor, macBinaryFormats([2]int{10, minor}, arch))
		}
	}
	if v[0] >= 11 {
		for major := v[0]; major > 10; major-- {
			emit(major, 0, macBinaryFormats([2]int{major, 0}, arch))
		}
		for minor := 16; minor > 3; minor-- {
			if arch == "x86_64" {
				emit(10, minor, macBinaryFormats([2]int{10, minor}, arch))
			} else {
				emit(10, minor, []string{"universal2"})
			}
		}
	}
	return out
}

func nodot(major, minor int) string { return strconv.Itoa(major) + strconv.Itoa(minor) }

// Tags returns every tag the target accepts, best first, in the order of
// packaging's sys_tags for that CPython: cpXY-cpXY-*, cpXY-abi3-*,
// cpXY-none-*, cpXW-abi3-* for each older minor W, then pyXY/pyX/older
// pyXW-none-*, cpXY-none-any and py*-none-any.
func (t Target) Tags() ([]Tag, error) {
	plats, err := t.Platforms()
	if err != nil {
		return nil, err
	}
	return interpreterTags(t.Python[0], t.Python[1], t.FreeThreaded, plats), nil
}

// interpreterTags is packaging's cpython_tags followed by compatible_tags
// for a release (non-debug) CPython build.
func interpreterTags(major, minor int, freeThreaded bool, plats []string) []Tag {
	interp := "cp" + nodot(major, minor)
	abi := interp
	if freeThreaded {
		abi += "t"
	} else if major == 3 && minor < 8 {
		abi += "m"
	}
	stable := "abi3"
	if freeThreaded {
		stable = "abi3t"
	}
	useStable := major > 3 || major == 3 && minor >= 2
	var out []Tag
	for _, p := range plats {
		out = append(out, Tag{interp, abi, p})
	}
	if useStable {
		for _, p := range plats {
			out = append(out, Tag{interp, stable, p})
		}
	}
	for _, p := range plats {
		out = append(out, Tag{interp, "none", p})
	}
	if useStable {
		for m := minor - 1; m > 1; m-- {
			for _, p := range plats {
				out = append(out, Tag{"cp" + nodot(major, m), stable, p})
			}
		}
	}
	pys := []string{"py" + nodot(major, minor), "py" + strconv.Itoa(major)}
	for m := minor - 1; m >= 0; m-- {
		pys = append(pys, "py"+nodot(major, m))
	}
	for _, py := range pys {
		for _, p := range plats {
			out = append(out, Tag{py, "none", p})
		}
	}
	out = append(out, Tag{interp, "none", "any"})
	for _, py := range pys {
		out = append(out, Tag{py, "none", "any"})
	}
	return out
}

// Compat ranks tags for one target: rank 0 is the best tag.
type Compat struct {
	tags []Tag
	rank map[Tag]int
}

// NewCompat computes the target's tags once for ranking many wheels.
func NewCompat(t Target) (*Compat, error) {
	tags, err := t.Tags()
	if err != nil {
		return nil, err
	}
	c := &Compat{tags: tags, rank: make(map[Tag]int, len(tags))}
	for i, tag := range tags {
		if _, dup := c.rank[tag]; !dup {
			c.rank[tag] = i
		}
	}
	return c, nil
}

// Tags returns the target's tags, best first. The slice is shared.
func (c *Compat) Tags() []Tag { return c.tags }

// Rank returns the rank of the best of tags (lower is better); ok is false
// when none is compatible.
func (c *Compat) Rank(tags []Tag) (rank int, ok bool) {
	rank = len(c.tags)
	for _, t := range tags {
		if r, found := c.rank[t]; found && r < rank {
			rank, ok = r, true
		}
	}
	return rank, ok
}

// WheelRank is Rank of a wheel's tags.
func (c *Compat) WheelRank(w Wheel) (int, bool) { return c.Rank(w.Tags) }
