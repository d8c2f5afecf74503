package condatest

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpythonFixture is part of the cache key of CPython's packages: bump it
// whenever the same installation should give other packages.
const cpythonFixture = "2"

// Python is a real CPython from a pyenv installation on this machine, made
// into relocatable conda packages the way conda-build makes conda-forge's:
//
//   - python-X.Y.Z-h<hash>_0.conda holds the installation in conda's layout
//     (bin/pythonX.Y with its python3 and python links, lib/libpythonX.Y.so*,
//     lib/pythonX.Y with lib-dynload and an empty site-packages, include/),
//     without the test suites (test/, tests/ in the standard library),
//     idlelib, tkinter, turtledemo, ensurepip's bundled wheels,
//     __pycache__, the static libpython and man pages; its
//     ELF files are stripped of debug information (when strip is on the
//     PATH) and their absolute RPATH is made relative with patchelf
//     (`--set-rpath '$ORIGIN/../lib'` on the executable, '$ORIGIN/../..' on
//     the extension modules, as conda-build does); the text files that
//     still hold the installation's path (sysconfigdata, the Makefile,
//     pkg-config files, pythonX.Y-config, scripts' shebangs) hold
//     Placeholder instead, replaced when linked. Binary files that hold it
//     (libpython's compiled-in PREFIX, a fallback python never uses: it
//     finds its prefix from its executable's place) get no placeholder:
//     conda-build's binary replacement needs its long, unique build prefix,
//     and a pyenv path ends in the version, whose string the linker merged
//     into the path's tail (replacing the path empties sys.version);
//   - hostlibs-1.0-h<hash>_0.conda, which python depends on, holds the C
//     libraries its extension modules link that are not the GNU C library's
//     (OpenSSL, SQLite, zlib, libffi, xz, bzip2, libuuid), copied from this
//     machine into lib/ (with RPATH '$ORIGIN' when they need one another,
//     libssl libcrypto), as conda-forge ships them in
//     packages of their own (openssl, libsqlite, libzlib, ...).
//
// The GNU C library is not packaged, as conda-forge never packages it (its
// packages ask for the system's through the __glibc virtual package): System
// lists the files a target system must provide, the ELF interpreter and the
// libraries of glibc (and libgcc_s, which glibc loads for thread
// cancellation), at the paths this machine's loader has them, for a test's
// base image. Extension modules that need libraries of neither kind
// (terminals: _curses, readline; _tkinter, nis, _crypt, dbm) are left out,
// with the C modules of CPython's own test suite.
type Python struct {
	Version string // e.g. "3.12.1"
	Root    string // the pyenv installation it was made from
	// Packages are python and hostlibs as Archive packages (the cached
	// files), ready for WriteChannel.
	Packages []Package
	// System maps each file the target system must provide (an absolute
	// path in the image) to the file on this machine that holds it.
	System map[string]string
	// Left lists the extension modules left out because this machine
	// lacks a library they need, each with the libraries.
	Left []string
	// Cached reports whether the packages came from the cache; Took is
	// how long making or finding them took.
	Cached bool
	Took   time.Duration
}

// CPython returns the packages of the newest pyenv CPython of version
// ("3.12" or "3.12.1") under $PYENV_ROOT (default ~/.pyenv), making them on
// first use and caching them under $ENVKIT_CACHE/condatest/cpython (default
// ~/.cache/envkit) by the installation's path, its interpreter's and
// libpython's modification times and this fixture's version, so that test
// binaries make them once. It skips tb when no such installation exists and
// fails it when the packages cannot be made.
func CPython(tb testing.TB, version string) *Python {
	tb.Helper()
	began := time.Now()
	root, full, err := findPyenv(version)
	if err != nil {
		tb.Skipf("condatest.CPython: %v", err)
	}
	key, err := cpythonKey(root, full)
	if err != nil {
		tb.Fatalf("condatest.CPython: %v", err)
	}
	dir := filepath.Join(cacheRoot(), "condatest", "cpython", full+"-"+key[:16])
	py, err := readCachedPython(dir)
	if err != nil {
		if py, err = makeCPython(root, full, dir); err != nil {
			tb.Fatalf("condatest.CPython %s: %v", root, err)
		}
	} else {
		py.Cached = true
	}
	py.Took = time.Since(began)
	return py
}

// cacheRoot is $ENVKIT_CACHE, else ~/.cache/envkit (internal/stack's
// CacheDir, which this package does not import).
func cacheRoot() string {
	if d := os.Getenv("ENVKIT_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = "/tmp"
	}
	return filepath.Join(home, ".cache", "envkit")
}

var pyenvVersion = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

// findPyenv returns the pyenv installation of version and its full
// version: the newest X.Y.Z for "X.Y".
func findPyenv(version string) (root, full string, err error) {
	pyenv := os.Getenv("PYENV_ROOT")
	if pyenv == "" {
		home, _ := os.UserHomeDir()
		pyenv = filepath.Join(home, ".pyenv")
	}
	entries, _ := os.ReadDir(filepath.Join(pyenv, "versions"))
	var best []int
	for _, e := range entries {
		m := pyenvVersion.FindStringSubmatch(e.Name())
		if m == nil || (e.Name() != version && !strings.HasPrefix(e.Name(), version+".")) {
			continue
		}
		v := []int{atoi(m[1]), atoi(m[2]), atoi(m[3])}
		exe := filepath.Join(pyenv, "versions", e.Name(), "bin", "python"+m[1]+"."+m[2])
		if _, err := os.Stat(exe); err != nil {
			continue
		}
		if best == nil || slices.Compare(v, best) > 0 {
			best, full = v, e.Name()
		}
	}
	if best == nil {
		return "", "", fmt.Errorf("no CPython %s under pyenv: %s has no %s* with bin/python%s (install one with `pyenv install %s`, or point PYENV_ROOT at a pyenv that has one)",
			version, filepath.Join(pyenv, "versions"), version, majorMinor(version), version)
	}
	return filepath.Join(pyenv, "versions", full), full, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// majorMinor is "3.12" of "3.12" and "3.12.1".
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// cpythonKey hashes what the cached packages depend on: the fixture's
// version, the installation's path and its interpreter's and libpython's
// modification times.
func cpythonKey(root, full string) (string, error) {
	mm := majorMinor(full)
	h := sha256.New()
	fmt.Fprintf(h, "fixture %s\nroot %s\n", cpythonFixture, root)
	for _, p := range []string{"bin/python" + mm, "lib/libpython" + mm + ".so.1.0"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(p, "lib/") {
			continue // a static build has no libpython
		} else if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachedPython is python.json in a cache directory: what CPython returns,
// with the archives relative to the directory.
type cachedPython struct {
	Version  string            `json:"version"`
	Root     string            `json:"root"`
	Archives []string          `json:"archives"`
	System   map[string]string `json:"system"`
	Left     []string          `json:"left"`
}

func readCachedPython(dir string) (*Python, error) {
	data, err := os.ReadFile(filepath.Join(dir, "python.json"))
	if err != nil {
		return nil, err
	}
	var c cachedPython
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	py := &Python{Version: c.Version, Root: c.Root, System: c.System, Left: c.Left}
	for _, a := range c.Archives {
		p := filepath.Join(dir, a)
		if _, err := os.Stat(p); err != nil {
			return nil, err
		}
		py.Packages = append(py.Packages, Package{Archive: p})
	}
	for _, src := range c.System {
		if _, err := os.Stat(src); err != nil {
			return nil, err // the machine changed under the cache
		}
	}
	return py, nil
}

// dropModules are the extension modules python leaves out: those of
// CPython's own test suite, and those that need libraries neither hostlibs
// nor glibc has.
var dropModules = regexp.MustCompile(`^(_test.*|_ctypes_test|xxlimited.*|xxsubtype|_xxtestfuzz|_tkinter|_curses|_curses_panel|readline|nis|_crypt|_dbm|_gdbm)$`)

// glibcSonames are the libraries the target system provides (see
// Python.System): the GNU C library's and libgcc_s.
var glibcSonames = []string{"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
	"libresolv.so.2", "libanl.so.1", "libnss_files.so.2", "libnss_dns.so.2", "libgcc_s.so.1"}

// subdirs maps GOARCH to conda's linux subdirs.
var subdirs = map[string]string{"amd64": "linux-64", "arm64": "linux-aarch64", "ppc64le": "linux-ppc64le", "s390x": "linux-s390x"}

// makeCPython makes the packages of the installation root into dir (a
// temporary directory beside it, renamed into place once complete).
func makeCPython(root, full, dir string) (*Python, error) {
	subdir, ok := subdirs[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("no conda subdir for GOARCH %s", runtime.GOARCH)
	}
	patchelf, err := exec.LookPath("patchelf")
	if err != nil {
		return nil, fmt.Errorf("patchelf is not on the PATH (scripts/install-deps.sh installs Debian's): %w", err)
	}
	strip, _ := exec.LookPath("strip") // optional: only makes the package smaller
	m := &pythonMaker{root: root, mm: majorMinor(full), patchelf: patchelf, strip: strip, system: map[string]string{}, libs: map[string]string{}}
	if m.work, err = os.MkdirTemp("", "condatest-cpython-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(m.work)
	if err := m.walk(); err != nil {
		return nil, err
	}
	libsPkg, err := m.hostlibs(subdir)
	if err != nil {
		return nil, err
	}
	pyPkg := Package{Name: "python", Version: full, Build: "h" + filesHash(m.files)[:8] + "_0", Subdir: subdir,
		Depends: []string{"hostlibs " + libsPkg.Version + " " + libsPkg.Build}, Files: m.files}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := WriteChannel(tmp, pyPkg, libsPkg); err != nil {
		return nil, err
	}
	c := cachedPython{Version: full, Root: root, System: m.system, Left: m.left}
	for _, p := range []Package{pyPkg, libsPkg} {
		c.Archives = append(c.Archives, filepath.Join(subdir, p.Stem()+".conda"))
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "python.json"), data, 0o644); err != nil {
		return nil, err
	}
	// Another test binary may have made the same packages meanwhile: its
	// directory is as good as this one.
	if err := os.Rename(tmp, dir); err != nil {
		if py, rerr := readCachedPython(dir); rerr == nil {
			return py, nil
		}
		return nil, err
	}
	return readCachedPython(dir)
}

type pythonMaker struct {
	root, mm        string
	patchelf, strip string
	work            string // scratch copies of ELF files
	interp          string // the executable's ELF interpreter
	files           []File
	// system and libs map the libraries the ELF files load, by where this
	// machine's loader finds them: system files (image path -> host file)
	// and hostlibs' (soname -> host file).
	system, libs map[string]string
	left         []string
}

// keep reports whether the installation's file rel (slash-separated) goes
// into the python package.
func (m *pythonMaker) keep(rel string, dir bool) bool {
	stdlib := "lib/python" + m.mm
	base := path.Base(rel)
	switch {
	case dir && (base == "__pycache__" || strings.HasPrefix(rel, stdlib+"/") && (base == "test" || base == "tests" || base == "idle_test")),
		rel == "share", strings.HasPrefix(rel, "bin/idle"), strings.HasSuffix(rel, "-gdb.py"),
		rel == stdlib+"/test", rel == stdlib+"/idlelib", rel == stdlib+"/tkinter", rel == stdlib+"/turtledemo",
		rel == stdlib+"/ensurepip/_bundled",
		strings.HasPrefix(rel, stdlib+"/config-") && strings.HasSuffix(rel, ".a"):
		return false
	case strings.HasPrefix(rel, stdlib+"/site-packages/"):
		// Only CPython's own README: whatever else is there was installed
		// into this installation afterwards.
		return rel == stdlib+"/site-packages/README.txt"
	case path.Dir(rel) == stdlib+"/lib-dynload":
		name, _, _ := strings.Cut(base, ".")
		return !dropModules.MatchString(name)
	}
	return true
}

// walk collects the python package's files.
func (m *pythonMaker) walk() error {
	exe := filepath.Join(m.root, "bin", "python"+m.mm)
	f, err := elf.Open(exe)
	if err != nil {
		return err
	}
	m.interp = interpreter(f)
	f.Close()
	if m.interp == "" {
		return fmt.Errorf("%s has no ELF interpreter (a static build): the fixture needs a shared build", exe)
	}
	var links []File
	err = filepath.WalkDir(m.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(m.root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if !m.keep(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if filepath.IsAbs(target) {
				r, err := filepath.Rel(filepath.Dir(p), target)
				if err != nil || !strings.HasPrefix(target, m.root+"/") {
					return fmt.Errorf("%s: symlink to %s, outside the installation", p, target)
				}
				target = r
			}
			links = append(links, File{Path: rel, Symlink: filepath.ToSlash(target)})
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file, symlink or directory", p)
		}
		file, keep, err := m.file(p, rel)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if keep {
			m.files = append(m.files, file)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Links to files left out (bin/idle3 -> idle3.12) are left out too.
	kept := map[string]bool{}
	for _, f := range m.files {
		kept[f.Path] = true
	}
	for range links { // links to links: until nothing changes
		for _, l := range links {
			if !kept[l.Path] && kept[path.Join(path.Dir(l.Path), l.Symlink)] {
				kept[l.Path] = true
				m.files = append(m.files, l)
			}
		}
	}
	return nil
}

// file reads one regular file of the installation, making an ELF file
// relocatable; keep is false for an extension module whose libraries are
// missing.
func (m *pythonMaker) file(p, rel string) (f File, keep bool, err error) {
	fi, err := os.Stat(p)
	if err != nil {
		return f, false, err
	}
	f = File{Path: rel, Mode: int64(fi.Mode().Perm())}
	data, err := os.ReadFile(p)
	if err != nil {
		return f, false, err
	}
	if bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		if data, keep, err = m.elf(p, rel); err != nil || !keep {
			return f, keep, err
		}
	}
	f.Content = string(data)
	if !strings.Contains(f.Content, m.root) || bytes.IndexByte(data, 0) >= 0 {
		return f, true, nil // binary files keep the path: see Python
	}
	f.Prefix, f.Content = true, strings.ReplaceAll(f.Content, m.root, Placeholder)
	return f, true, nil
}

// elf resolves the libraries of the shared object or executable p with
// this machine's loader (sorting them into system and hostlibs files), and
// returns its content stripped of debug information and with a relative
// RPATH to lib/.
func (m *pythonMaker) elf(p, rel string) ([]byte, bool, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, false, err
	}
	dynamic := f.Type == elf.ET_DYN || f.Type == elf.ET_EXEC
	rpath, _ := f.DynString(elf.DT_RUNPATH)
	if old, _ := f.DynString(elf.DT_RPATH); len(old) > 0 {
		rpath = append(rpath, old...)
	}
	f.Close()
	if !dynamic {
		data, err := os.ReadFile(p) // an object file (config-X.Y/python.o)
		return data, true, err
	}
	libs, missing, err := m.resolve(p)
	if err != nil {
		return nil, false, err
	}
	if len(missing) > 0 {
		m.left = append(m.left, rel+": needs "+strings.Join(missing, ", ")+", which this machine lacks")
		return nil, false, nil
	}
	m.sort(libs)
	tmp := filepath.Join(m.work, strings.ReplaceAll(rel, "/", "_"))
	if err := copyFile(p, tmp); err != nil {
		return nil, false, err
	}
	if m.strip != "" {
		if out, err := exec.Command(m.strip, "--strip-debug", tmp).CombinedOutput(); err != nil {
			return nil, false, fmt.Errorf("strip --strip-debug: %w: %s", err, out)
		}
	}
	if len(rpath) > 0 {
		to, _ := filepath.Rel(path.Dir(rel), "lib")
		rpath := "$ORIGIN"
		if to != "." {
			rpath += "/" + filepath.ToSlash(to)
		}
		if err := m.setRpath(tmp, rpath); err != nil {
			return nil, false, err
		}
	}
	data, err := os.ReadFile(tmp)
	return data, true, err
}

func (m *pythonMaker) setRpath(file, rpath string) error {
	if out, err := exec.Command(m.patchelf, "--set-rpath", rpath, file).CombinedOutput(); err != nil {
		return fmt.Errorf("patchelf --set-rpath %s: %w: %s", rpath, err, out)
	}
	return nil
}

// hostLib is a library as the loader finds it: at the path it lists, whose
// real file (symlinks resolved) holds it.
type hostLib struct{ listed, real string }

// resolve lists the libraries the loader loads for p (its NEEDED closure)
// by soname, and the sonames it does not find.
func (m *pythonMaker) resolve(p string) (map[string]hostLib, []string, error) {
	cmd := exec.Command(m.interp, "--list", p)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "LD_") })
	out, err := cmd.Output()
	if err != nil && !bytes.Contains(out, []byte("not found")) {
		return nil, nil, fmt.Errorf("%s --list: %w", m.interp, err)
	}
	libs := map[string]hostLib{}
	var missing []string
	for _, line := range strings.Split(string(out), "\n") {
		name, rhs, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if !ok {
			continue // the vDSO, the interpreter itself
		}
		listed, _, _ := strings.Cut(rhs, " (")
		if listed == "not found" {
			missing = append(missing, name)
			continue
		}
		real, err := filepath.EvalSymlinks(listed)
		if err != nil {
			return nil, nil, err
		}
		libs[name] = hostLib{listed, real}
	}
	return libs, missing, nil
}

// sort puts each of libs into system (glibc's) or hostlibs (the rest that
// is not the installation's own).
func (m *pythonMaker) sort(libs map[string]hostLib) {
	for soname, l := range libs {
		switch {
		case slices.Contains(glibcSonames, soname):
			m.system[l.listed] = l.real
		case !strings.HasPrefix(l.real, m.root+"/"):
			m.libs[soname] = l.real
		}
	}
}

// hostlibs makes the package of the libraries the ELF files load that are
// neither glibc's nor the installation's (the loader lists each one's
// closure, so their own libraries are among them), and completes system
// with the interpreter and the rest of glibc, from where the loader found
// libc.
func (m *pythonMaker) hostlibs(subdir string) (Package, error) {
	var files []File
	for _, soname := range sortedKeys(m.libs) {
		host := m.libs[soname]
		libs, missing, err := m.resolve(host)
		if err != nil {
			return Package{}, err
		}
		if len(missing) > 0 {
			return Package{}, fmt.Errorf("%s needs %s, which this machine lacks", host, strings.Join(missing, ", "))
		}
		m.sort(libs)
		tmp := filepath.Join(m.work, "hostlib-"+soname)
		if err := copyFile(host, tmp); err != nil {
			return Package{}, err
		}
		if slices.ContainsFunc(sortedKeys(libs), func(s string) bool { return !slices.Contains(glibcSonames, s) }) {
			if err := m.setRpath(tmp, "$ORIGIN"); err != nil {
				return Package{}, err
			}
		}
		data, err := os.ReadFile(tmp)
		if err != nil {
			return Package{}, err
		}
		files = append(files, File{Path: "lib/" + soname, Content: string(data), Mode: 0o755})
	}
	if len(files) != len(m.libs) {
		return Package{}, fmt.Errorf("the libraries' closure grew while it was packaged (%d of %d)", len(files), len(m.libs))
	}
	var libc string
	for img := range m.system {
		if path.Base(img) == "libc.so.6" {
			libc = path.Dir(img)
		}
	}
	if libc == "" {
		return Package{}, fmt.Errorf("the loader found no libc.so.6 for %s", m.root)
	}
	for _, soname := range glibcSonames {
		listed := path.Join(libc, soname)
		if real, err := filepath.EvalSymlinks(listed); err == nil {
			m.system[listed] = real
		}
	}
	real, err := filepath.EvalSymlinks(m.interp)
	if err != nil {
		return Package{}, err
	}
	m.system[m.interp] = real
	return Package{Name: "hostlibs", Version: "1.0", Build: "h" + filesHash(files)[:8] + "_0", Subdir: subdir, Files: files}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// filesHash hashes files' paths, modes, link targets and contents: the
// same installation gives the same build string on every machine.
func filesHash(files []File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, f := range sorted {
		c := sha256.Sum256([]byte(f.Content))
		fmt.Fprintf(h, "%s %o %s %x\n", f.Path, f.Mode, f.Symlink, c)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// interpreter is f's PT_INTERP, "" for a static executable.
func interpreter(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err == nil {
				return string(bytes.TrimRight(b, "\x00"))
			}
		}
	}
	return ""
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
