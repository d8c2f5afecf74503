package stack

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseLoaderList(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f32)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f33)\n"
	got, err := parseLoaderList([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := parseLoaderList([]byte("\tlibmissing.so.1 => not found\n")); err == nil {
		t.Error("a missing library is not an error")
	}
}

// A dynamically linked executable brings its interpreter and libraries; a
// static one is alone; the tag follows the content.
func TestFrontendFiles(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	if checkStaticELF(sh) == nil {
		t.Skipf("%s is static", sh)
	}
	files, err := frontendFiles(sh)
	if err != nil {
		t.Fatal(err)
	}
	if files[FrontendPath] != sh || len(files) < 3 {
		t.Errorf("files of %s: %v", sh, files)
	}
	for dst, src := range files {
		if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() || !filepath.IsAbs(dst) {
			t.Errorf("%s <- %s: %v", dst, src, err)
		}
	}
	tag1, err := filesTag(files)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(other, []byte("other"), 0o755); err != nil {
		t.Fatal(err)
	}
	files[FrontendPath] = other
	if tag2, err := filesTag(files); err != nil || tag2 == tag1 || len(tag1) != len("bin-")+64 {
		t.Errorf("tags %s %s %v", tag1, tag2, err)
	}
}
