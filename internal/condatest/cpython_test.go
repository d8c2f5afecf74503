package condatest

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
)

// The pyenv CPython made into packages is relocatable: linked by envkit's
// linker into another prefix, it runs from there with its standard library,
// its extension modules and their libraries (hostlibs) found relative to
// itself, and no file of the environment names the installation it came
// from.
func TestCPython(t *testing.T) {
	if testing.Short() {
		t.Skip("makes packages from a pyenv CPython with patchelf: skipped with -short")
	}
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	for _, v := range []string{"3.11", "3.12", "3.13"} {
		t.Run(v, func(t *testing.T) { testCPython(t, v) })
	}
}

func testCPython(t *testing.T, version string) {
	mm := "python" + version
	py := CPython(t, version)
	if py.Cached || len(py.Packages) != 2 {
		t.Fatalf("first call: cached %v, %d packages", py.Cached, len(py.Packages))
	}
	t.Logf("CPython %s from %s: made in %v", py.Version, py.Root, py.Took)
	again := CPython(t, version)
	if !again.Cached || !slices.Equal(archives(again), archives(py)) {
		t.Errorf("second call: cached %v, %v, want the first call's %v", again.Cached, archives(again), archives(py))
	}
	t.Logf("cached: %v", again.Took)

	// The system files are the loader and glibc, where this machine has them.
	interp := ""
	for img, host := range py.System {
		if strings.HasPrefix(filepath.Base(img), "ld-linux") {
			interp = img
		}
		if _, err := os.Stat(host); err != nil {
			t.Errorf("System[%s] = %s: %v", img, host, err)
		}
	}
	if interp == "" || !slices.ContainsFunc(sortedKeys(py.System), func(p string) bool { return filepath.Base(p) == "libc.so.6" }) {
		t.Errorf("System lacks the loader or libc: %v", sortedKeys(py.System))
	}

	mds := map[string]*condapkg.Metadata{}
	for _, p := range py.Packages {
		md, err := condapkg.ReadFile(p.Archive)
		if err != nil {
			t.Fatal(err)
		}
		mds[md.Index.Name] = md
	}
	pyMD, libsMD := mds["python"], mds["hostlibs"]
	if pyMD == nil || libsMD == nil {
		t.Fatalf("packages %v: want python and hostlibs", sortedKeys(mds))
	}
	if pyMD.Index.Version.String() != py.Version || len(pyMD.Index.Depends) != 1 || !strings.HasPrefix(pyMD.Index.Depends[0], "hostlibs ") {
		t.Errorf("python index: version %s, depends %v", pyMD.Index.Version, pyMD.Index.Depends)
	}
	entries := map[string]condapkg.PathEntry{}
	for _, e := range pyMD.Paths {
		entries[e.Path] = e
		for _, left := range []string{"/test/", "/idlelib/", "/tkinter/", "/__pycache__/", "/tests/", "ensurepip/_bundled/", "libpython" + version + ".a", "_testcapi"} {
			if strings.Contains(e.Path, left) {
				t.Errorf("%s is in the package", e.Path)
			}
		}
	}
	for path, want := range map[string]condapkg.PathType{
		"bin/" + mm: condapkg.PathHardlink, "bin/python3": condapkg.PathSoftlink, "bin/python": condapkg.PathSoftlink,
		"lib/lib" + mm + ".so": condapkg.PathSoftlink, "include/" + mm + "/Python.h": condapkg.PathHardlink,
		"lib/" + mm + "/site-packages/README.txt": condapkg.PathHardlink, "lib/" + mm + "/os.py": condapkg.PathHardlink,
	} {
		if e, ok := entries[path]; !ok || e.PathType != want {
			t.Errorf("%s: %+v, want a %s", path, e, want)
		}
	}
	for path, mode := range map[string]condapkg.FileMode{
		"lib/" + mm + "/_sysconfigdata__linux_x86_64-linux-gnu.py": condapkg.FileModeText,
		"bin/" + mm + "-config": condapkg.FileModeText,
	} {
		if e := entries[path]; e.PrefixPlaceholder != Placeholder || e.FileMode != mode {
			t.Errorf("%s: placeholder %q, mode %s, want a %s placeholder", path, e.PrefixPlaceholder, e.FileMode, mode)
		}
	}
	if e := entries["lib/lib"+mm+".so.1.0"]; e.PrefixPlaceholder != "" {
		t.Errorf("libpython has the placeholder %q: replacing it would empty sys.version", e.PrefixPlaceholder)
	}

	prefix, err := os.MkdirTemp("", "py")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(prefix) })
	for _, p := range py.Packages {
		pkgDir := t.TempDir()
		md, err := condapkg.ExtractFile(context.Background(), p.Archive, pkgDir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := link.Link(context.Background(), pkgDir, prefix, link.Options{Dest: prefix, Metadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(prefix, "bin", "python3"), "-c", `
import sys, sysconfig, platform, ssl, hashlib, json, sqlite3, zlib, ctypes, lzma, bz2, uuid
print(sys.prefix)
print(sysconfig.get_config_var("prefix"), sys.version.split()[0], platform.python_implementation())
print(hashlib.sha256(zlib.decompress(zlib.compress(b"abc"))).hexdigest())
print(open("/proc/self/maps").read())
`)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()} // no PYTHON*, no LD_*
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 from %s: %v\n%s", prefix, err, stderr(err))
	}
	lines := strings.SplitN(string(out), "\n", 4)
	if len(lines) < 4 || lines[0] != prefix || lines[1] != prefix+" "+py.Version+" CPython" || lines[2] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("python3 printed %q, want sys.prefix, sysconfig's prefix %s, the version %s, CPython and sha256(abc)", lines[:min(3, len(lines))], prefix, py.Version)
	}
	maps := lines[3]
	for _, lib := range []string{"/lib/lib" + mm + ".so.1.0", "/lib/libssl.so.3", "/lib/libsqlite3.so.0", "/lib/" + mm + "/lib-dynload/_ssl."} {
		if !strings.Contains(maps, prefix+lib) {
			t.Errorf("python did not load %s from its prefix:\n%s", lib, maps)
		}
	}
	if strings.Contains(maps, py.Root) {
		t.Errorf("python loaded files of %s:\n%s", py.Root, maps)
	}
	// No linked text file names the installation (binary ones may: see
	// Python).
	err = filepath.WalkDir(prefix, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bytes.Contains(data, []byte(py.Root)) && bytes.IndexByte(data, 0) < 0 {
			t.Errorf("%s holds %s", p, py.Root)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A version pyenv lacks skips with a message that names what is missing.
func TestCPythonMissing(t *testing.T) {
	t.Setenv("PYENV_ROOT", t.TempDir())
	_, _, err := findPyenv("3.99")
	if err == nil || !strings.Contains(err.Error(), "no CPython 3.99 under pyenv") || !strings.Contains(err.Error(), "pyenv install 3.99") {
		t.Errorf("findPyenv: %v", err)
	}
}

func archives(py *Python) []string {
	var a []string
	for _, p := range py.Packages {
		a = append(a, p.Archive)
	}
	return a
}

func stderr(err error) []byte {
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

// BenchmarkCPython measures making the packages of pyenv's CPython 3.12
// (cold: stripped, patched, compressed) and finding them in the cache, and
// reports their size.
func BenchmarkCPython(b *testing.B) {
	cache := b.TempDir()
	b.Setenv("ENVKIT_CACHE", cache)
	size := func(py *Python) float64 {
		var n int64
		for _, p := range py.Packages {
			if fi, err := os.Stat(p.Archive); err == nil {
				n += fi.Size()
			}
		}
		return float64(n) / (1 << 20)
	}
	b.Run("cold", func(b *testing.B) {
		var py *Python
		for b.Loop() {
			if err := os.RemoveAll(filepath.Join(cache, "condatest")); err != nil {
				b.Fatal(err)
			}
			if py = CPython(b, "3.12"); py.Cached {
				b.Fatal("cached after the cache was removed")
			}
		}
		b.ReportMetric(size(py), "MiB")
	})
	b.Run("cached", func(b *testing.B) {
		CPython(b, "3.12")
		for b.Loop() {
			if !CPython(b, "3.12").Cached {
				b.Fatal("not cached")
			}
		}
	})
}
