package tags

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Cases below are from pypa/packaging's tests/test_tags.py and
// tests/test_utils.py (commit 053c884615f2).

func tagStrings(ts []Tag) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return out
}

func TestParseTag(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"py3-none-any", []string{"py3-none-any"}},
		{"PY3-NONE-ANY", []string{"py3-none-any"}},
		{"py2.py3-none-any", []string{"py2-none-any", "py3-none-any"}},
		{"cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64", []string{"cp310-cp310-manylinux2014_x86_64", "cp310-cp310-manylinux_2_17_x86_64"}},
	} {
		got, err := ParseTag(c.in)
		if err != nil || !slices.Equal(tagStrings(got), c.want) {
			t.Errorf("ParseTag(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, s := range []string{"py3-none", "py3-none-any-x", "-none-any", "py3--any", "py3-none-", "py3.-none-any", "3py-none-any", "py3-none-any."} {
		var e *Error
		if _, err := ParseTag(s); !errors.As(err, &e) {
			t.Errorf("ParseTag(%q) = %v, want an *Error", s, err)
		}
	}
}

func TestParseWheelFilename(t *testing.T) {
	for _, c := range []struct {
		fn, name, version string
		build             Build
		tags              []string
	}{
		{"foo-1.0-py3-none-any.whl", "foo", "1.0", Build{}, []string{"py3-none-any"}},
		{"some_PACKAGE-1.0-py3-none-any.whl", "some-package", "1.0", Build{}, []string{"py3-none-any"}},
		{"foo-1.0-1000-py3-none-any.whl", "foo", "1.0", Build{true, 1000, ""}, []string{"py3-none-any"}},
		{"foo-1.0-1000abc-py3-none-any.whl", "foo", "1.0", Build{true, 1000, "abc"}, []string{"py3-none-any"}},
		{"pyvirtualcam-0.13.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "pyvirtualcam", "0.13.0", Build{},
			[]string{"cp310-cp310-manylinux2014_x86_64", "cp310-cp310-manylinux_2_17_x86_64"}},
		{"foo-2-py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "foo", "2", Build{},
			[]string{"py2-none-manylinux_2_17_x86_64", "py2-none-manylinux2014_x86_64", "py3-none-manylinux_2_17_x86_64", "py3-none-manylinux2014_x86_64"}},
		{"foo_bár-1.0-py3-none-any.whl", "foo-bár", "1.0", Build{}, []string{"py3-none-any"}},
		{"foo_bár-1.0-1000-py3-none-any.whl", "foo-bár", "1.0", Build{true, 1000, ""}, []string{"py3-none-any"}},
		{"foo-1.0-py3.py2-none-any.whl", "foo", "1.0", Build{}, []string{"py3-none-any", "py2-none-any"}},
	} {
		w, err := ParseWheelFilename(c.fn)
		if err != nil {
			t.Errorf("ParseWheelFilename(%q): %v", c.fn, err)
			continue
		}
		if w.Name != c.name || w.Version.String() != c.version || w.Build != c.build || !slices.Equal(tagStrings(w.Tags), c.tags) {
			t.Errorf("ParseWheelFilename(%q) = %+v", c.fn, w)
		}
	}
	for fn, pos := range map[string]int{
		"foo-1.0.whl": 0, "foo-1.0-py3-none-any.wheel": 25, "foo__bar-1.0-py3-none-any.whl": 3,
		"foo\n-1.0-py3-none-any.whl": 3, "foo#bar-1.0-py3-none-any.whl": 3, "-1.0-py3-none-any.whl": 0,
		"-1.0-200-py3-none-any.whl": 0, "foobar-1.x-py3-none-any.whl": 8, "foo-1.0-abc-py3-none-any.whl": 8,
		"foo-1.0-200-py3-none-any-junk.whl": 0, "foo-1.0--none-any.whl": 8, "foo-1.0-py3-none-.whl": 17,
		"foo-1.0-py3.-none-any.whl": 12, "playlyfe-0.1.1-2.7.6-none-any.whl": 15,
	} {
		_, err := ParseWheelFilename(fn)
		var e *Error
		if !errors.As(err, &e) || e.Pos != pos {
			t.Errorf("ParseWheelFilename(%q) = %v, want an error at byte %d", fn, err, pos)
		}
	}
	if (Build{}).Compare(Build{true, 0, ""}) >= 0 || (Build{true, 2, ""}).Compare(Build{true, 10, ""}) >= 0 || (Build{true, 1, "a"}).Compare(Build{true, 1, "b"}) >= 0 {
		t.Error("Build.Compare")
	}
}

func TestInterpreterTags(t *testing.T) {
	// packaging's cpython_tags((3, 11), ["cp311"], ["plat1", "plat2"])
	// (its case with a debug ABI first, less that ABI) then compatible_tags.
	var want []string
	for _, abi := range []string{"cp311", "abi3", "none"} {
		want = append(want, "cp311-"+abi+"-plat1", "cp311-"+abi+"-plat2")
	}
	for m := 10; m >= 2; m-- {
		want = append(want, fmt.Sprintf("cp3%d-abi3-plat1", m), fmt.Sprintf("cp3%d-abi3-plat2", m))
	}
	compat := []string{"py311-none-plat1", "py311-none-plat2", "py3-none-plat1", "py3-none-plat2"}
	for m := 10; m >= 0; m-- {
		compat = append(compat, fmt.Sprintf("py3%d-none-plat1", m), fmt.Sprintf("py3%d-none-plat2", m))
	}
	compat = append(compat, "cp311-none-any", "py311-none-any", "py3-none-any")
	for m := 10; m >= 0; m-- {
		compat = append(compat, fmt.Sprintf("py3%d-none-any", m))
	}
	want = append(want, compat...)
	if got := tagStrings(interpreterTags(3, 11, false, []string{"plat1", "plat2"})); !slices.Equal(got, want) {
		t.Errorf("3.11 tags:\n got %q\nwant %q", got, want)
	}
	// cpython_tags((3, 3), ["cp33m"], ...) then compatible_tags((3, 3), "cp33", ...)
	want33 := []string{"cp33-cp33m-plat1", "cp33-cp33m-plat2", "cp33-abi3-plat1", "cp33-abi3-plat2", "cp33-none-plat1", "cp33-none-plat2",
		"cp32-abi3-plat1", "cp32-abi3-plat2",
		"py33-none-plat1", "py33-none-plat2", "py3-none-plat1", "py3-none-plat2", "py32-none-plat1", "py32-none-plat2",
		"py31-none-plat1", "py31-none-plat2", "py30-none-plat1", "py30-none-plat2",
		"cp33-none-any", "py33-none-any", "py3-none-any", "py32-none-any", "py31-none-any", "py30-none-any"}
	if got := tagStrings(interpreterTags(3, 3, false, []string{"plat1", "plat2"})); !slices.Equal(got, want33) {
		t.Errorf("3.3 tags:\n got %q\nwant %q", got, want33)
	}
	// free-threaded: cp313t, abi3t instead of abi3
	ft := tagStrings(interpreterTags(3, 13, true, []string{"p"}))
	if !slices.Equal(ft[:4], []string{"cp313-cp313t-p", "cp313-abi3t-p", "cp313-none-p", "cp312-abi3t-p"}) || slices.Contains(ft, "cp313-abi3-p") {
		t.Errorf("free-threaded tags: %q", ft[:4])
	}
}

func TestManylinuxPlatforms(t *testing.T) {
	x := func(arch string, minors ...int) []string {
		var out []string
		for _, m := range minors {
			out = append(out, fmt.Sprintf("manylinux_2_%d_%s", m, arch))
			switch m {
			case 17:
				out = append(out, "manylinux2014_"+arch)
			case 12:
				out = append(out, "manylinux2010_"+arch)
			case 5:
				out = append(out, "manylinux1_"+arch)
			}
		}
		return out
	}
	down := func(from, to int) []int {
		var r []int
		for m := from; m >= to; m-- {
			r = append(r, m)
		}
		return r
	}
	for _, c := range []struct {
		target Target
		want   []string
	}{
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Glibc: [2]int{2, 12}}, append([]string{"linux_x86_64"}, x("x86_64", down(12, 5)...)...)},
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Glibc: [2]int{2, 17}}, append([]string{"linux_x86_64"}, x("x86_64", down(17, 5)...)...)},
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "aarch64", Glibc: [2]int{3, 2}},
			append([]string{"linux_aarch64", "manylinux_3_2_aarch64", "manylinux_3_1_aarch64", "manylinux_3_0_aarch64"}, x("aarch64", down(50, 17)...)...)},
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "aarch64", Glibc: [2]int{2, 28}}, append([]string{"linux_aarch64"}, x("aarch64", down(28, 17)...)...)},
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Musl: [2]int{1, 2}}, []string{"linux_x86_64", "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64"}},
		{Target{Python: [2]int{3, 12}, OS: Linux, Arch: "armv8l", Musl: [2]int{1, 1}}, []string{"linux_armv8l", "linux_armv7l", "musllinux_1_1_armv8l", "musllinux_1_0_armv8l", "musllinux_1_1_armv7l", "musllinux_1_0_armv7l"}},
		{Target{Python: [2]int{3, 12}, OS: MacOS, Arch: "x86_64", MacOS: [2]int{10, 5}}, []string{
			"macosx_10_5_x86_64", "macosx_10_5_intel", "macosx_10_5_fat64", "macosx_10_5_fat3", "macosx_10_5_universal2", "macosx_10_5_universal",
			"macosx_10_4_x86_64", "macosx_10_4_intel", "macosx_10_4_fat64", "macosx_10_4_fat3", "macosx_10_4_universal2", "macosx_10_4_universal"}},
		{Target{Python: [2]int{3, 12}, OS: Windows, Arch: "amd64"}, []string{"win_amd64"}},
		{Target{Python: [2]int{3, 12}, OS: Windows, Arch: "x86"}, []string{"win32"}},
	} {
		got, err := c.target.Platforms()
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%+v platforms:\n got %q, %v\nwant %q", c.target, got, err, c.want)
		}
	}
}

func TestMacPlatforms(t *testing.T) {
	if n := len(macPlatforms([2]int{10, 17}, "x86_64")); n != 14*6 {
		t.Errorf("10.17 x86_64: %d platforms, want %d", n, 14*6)
	}
	if len(macPlatforms([2]int{10, 0}, "x86_64")) != 0 {
		t.Error("10.0 x86_64 has platforms")
	}
	for _, v := range [][2]int{{11, 0}, {11, 3}, {12, 0}, {12, 3}} {
		p := macPlatforms(v, "x86_64")
		if slices.Contains(p, "macosx_11_0_arm64") || !slices.Contains(p, "macosx_11_0_x86_64") || slices.Contains(p, "macosx_11_3_x86_64") ||
			!slices.Contains(p, "macosx_11_0_universal") || !slices.Contains(p, "macosx_11_0_universal2") {
			t.Errorf("macOS %v x86_64: %q", v, p)
		}
	}
	arm := macPlatforms([2]int{14, 0}, "arm64")
	if arm[0] != "macosx_14_0_arm64" || slices.Contains(arm, "macosx_10_16_arm64") || !slices.Contains(arm, "macosx_10_16_universal2") {
		t.Errorf("macOS 14 arm64: %q", arm)
	}
}

func TestTargetErrors(t *testing.T) {
	for _, tg := range []Target{
		{Python: [2]int{3, 12}, OS: "plan9", Arch: "x86_64"},
		{Python: [2]int{3, 12}, OS: Linux},
		{Python: [2]int{3, 12}, OS: MacOS, Arch: "arm64"},
		{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Glibc: [2]int{2, 17}, Musl: [2]int{1, 2}},
		{OS: Linux, Arch: "x86_64"},
	} {
		if _, err := tg.Tags(); err == nil {
			t.Errorf("%+v: no error", tg)
		}
	}
}

// TestWheelRank ranks real wheel names for a linux-64 CPython 3.12 target
// with glibc 2.28 (conda's __glibc).
func TestWheelRank(t *testing.T) {
	c, err := NewCompat(Target{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Glibc: [2]int{2, 28}})
	if err != nil {
		t.Fatal(err)
	}
	order := []string{
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"numpy-2.1.0-cp312-cp312-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
		"cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl",
		"cryptography-43.0.0-cp37-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"pydantic_core-2.0-py3-none-manylinux_2_17_x86_64.whl",
		"six-1.16.0-py2.py3-none-any.whl",
	}
	last := -1
	for _, fn := range order {
		w, err := ParseWheelFilename(fn)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := c.WheelRank(w)
		if !ok || r <= last {
			t.Errorf("%s: rank %d, %v (previous %d)", fn, r, ok, last)
		}
		last = r
	}
	for _, fn := range []string{
		"numpy-2.1.0-cp312-cp312-manylinux_2_34_x86_64.whl", // newer glibc
		"numpy-2.1.0-cp311-cp311-manylinux2014_x86_64.whl",  // other CPython
		"numpy-2.1.0-cp312-cp312-musllinux_1_2_x86_64.whl",  // musl
		"numpy-2.1.0-cp312-cp312-manylinux2014_aarch64.whl", // other arch
		"numpy-2.1.0-cp312-cp312-win_amd64.whl",
		"foo-1.0-cp313-abi3-manylinux2014_x86_64.whl", // abi3 from a newer CPython
		"foo-1.0-py2-none-any.whl",
	} {
		w := must(ParseWheelFilename(fn))
		if r, ok := c.WheelRank(w); ok {
			t.Errorf("%s accepted (rank %d)", fn, r)
		}
	}
	tags := c.Tags()
	if tags[0].String() != "cp312-cp312-linux_x86_64" || tags[1].String() != "cp312-cp312-manylinux_2_28_x86_64" || tags[len(tags)-1].String() != "py30-none-any" {
		t.Errorf("first tags %v, last %v", tags[:2], tags[len(tags)-1])
	}
	if !strings.HasPrefix(tags[len(tags)-15].String(), "cp312-none-any") {
		t.Errorf("cp312-none-any is not before the py*-none-any tags: %v", tags[len(tags)-15:])
	}
}

func must(w Wheel, err error) Wheel {
	if err != nil {
		panic(err)
	}
	return w
}

func BenchmarkWheelRank(b *testing.B) {
	c, err := NewCompat(Target{Python: [2]int{3, 12}, OS: Linux, Arch: "x86_64", Glibc: [2]int{2, 28}})
	if err != nil {
		b.Fatal(err)
	}
	names := []string{
		"numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"numpy-2.1.0-cp311-cp311-macosx_14_0_arm64.whl",
		"six-1.16.0-py2.py3-none-any.whl",
		"cryptography-43.0.0-cp39-abi3-manylinux_2_28_x86_64.whl",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w, err := ParseWheelFilename(names[i%len(names)])
		if err != nil {
			b.Fatal(err)
		}
		c.WheelRank(w)
	}
}
