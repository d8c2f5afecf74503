package wheel

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// install installs a generated wheel and returns the prefix directory.
func install(t *testing.T, s spec, opts Options) (string, *Result) {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = envPrefix
	}
	if opts.Python.Version == "" {
		opts.Python = py312
	}
	opts.Dest = t.TempDir()
	res, err := Install(context.Background(), s.write(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(opts.Dest, opts.Prefix), res
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, dir, rel string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestDataSchemes(t *testing.T) {
	s := spec{
		name: "Demo_Pkg", version: "2.0",
		files: []zfile{
			file("demo_pkg/__init__.py", "x = 1\n"),
			file("Demo_Pkg-2.0.data/purelib/demo_pure.py", "pure\n"),
			file("Demo_Pkg-2.0.data/platlib/demo_plat/_ext.so", "\x7fELF plat"),
			file("Demo_Pkg-2.0.data/headers/demo.h", "#define DEMO 1\n"),
			file("Demo_Pkg-2.0.data/data/share/demo/data.txt", "data\n"),
			file("Demo_Pkg-2.0.data/data/etc/demo.conf", "conf\n"),
			file("Demo_Pkg-2.0.data/scripts/demo-tool", "#!python\nprint('hi')\n"),
			file("Demo_Pkg-2.0.data/scripts/demo-gui", "#!pythonw -u\r\nprint('gui')\n"),
			file("Demo_Pkg-2.0.data/scripts/demo-sh", "#!/bin/sh\necho sh\n"),
			file("Demo_Pkg-2.0.data/scripts/demo-bin", "\x7fELF binary"),
			file("Demo_Pkg-2.0.data/scripts/py", "#!py"), // shorter than "#!python"
		},
	}
	dir, res := install(t, s, Options{})
	py := "#!" + envPrefix + "/bin/python3.12\n"
	for rel, want := range map[string]string{
		site + "/demo_pkg/__init__.py":             "x = 1\n",
		site + "/demo_pure.py":                     "pure\n",
		site + "/demo_plat/_ext.so":                "\x7fELF plat",
		"include/python3.12/demo-pkg/demo.h":       "#define DEMO 1\n",
		"share/demo/data.txt":                      "data\n",
		"etc/demo.conf":                            "conf\n",
		"bin/demo-tool":                            py + "print('hi')\n",
		"bin/demo-gui":                             py + "print('gui')\n",
		"bin/demo-sh":                              "#!/bin/sh\necho sh\n",
		"bin/demo-bin":                             "\x7fELF binary",
		"bin/py":                                   "#!py",
		site + "/Demo_Pkg-2.0.dist-info/WHEEL":     s.members()[len(s.files)].body,
		site + "/Demo_Pkg-2.0.dist-info/INSTALLER": "envkit\n",
	} {
		if got := readFile(t, dir, rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	for _, rel := range []string{"bin/demo-tool", "bin/demo-gui", "bin/demo-sh", "bin/demo-bin", "bin/py"} {
		if m := mode(t, dir, rel); m != 0o755 {
			t.Errorf("%s: mode %s, want -rwxr-xr-x", rel, m)
		}
	}
	if m := mode(t, dir, "etc/demo.conf"); m != 0o644 {
		t.Errorf("etc/demo.conf: mode %s", m)
	}
	if _, err := os.Stat(filepath.Join(dir, site, "Demo_Pkg-2.0.data")); !os.IsNotExist(err) {
		t.Errorf("the .data directory was installed as is (%v)", err)
	}
	var scripts []string
	for _, sc := range res.Scripts {
		if sc.Kind != DataScript {
			t.Errorf("script %+v", sc)
		}
		scripts = append(scripts, sc.Name)
	}
	if want := []string{"demo-bin", "demo-gui", "demo-sh", "demo-tool", "py"}; !slices.Equal(scripts, want) {
		t.Errorf("scripts %v, want %v", scripts, want)
	}
	// RECORD has the installed paths, with the rewritten scripts' hashes.
	rec := checkInstalledRecord(t, dir, "Demo_Pkg-2.0.dist-info")
	if !slices.Equal(slices.Sorted(slices.Values(rec)), res.Files) {
		t.Errorf("RECORD lists\n%v\nResult.Files\n%v", rec, res.Files)
	}
	raw := readFile(t, dir, site+"/Demo_Pkg-2.0.dist-info/RECORD")
	for _, row := range []string{"../../../bin/demo-tool,", "../../../include/python3.12/demo-pkg/demo.h,", "../../../share/demo/data.txt,", "demo_pure.py,", "demo_plat/_ext.so,", "Demo_Pkg-2.0.dist-info/RECORD,,\r\n"} {
		if !strings.Contains(raw, "\n"+row) && !strings.HasPrefix(raw, row) {
			t.Errorf("RECORD has no row %q:\n%s", row, raw)
		}
	}
	if strings.Contains(raw, ".data/") {
		t.Errorf("RECORD still names .data paths:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(dir, site, "Demo_Pkg-2.0.dist-info", "REQUESTED")); !os.IsNotExist(err) {
		t.Errorf("REQUESTED written without Requested (%v)", err)
	}
}

func TestEntryPoints(t *testing.T) {
	s := spec{
		files: []zfile{file("demo/__init__.py", "")},
		entryPoints: "# comment\n[console_scripts]\ndemo = demo.cli:main\n  demo-x=demo.cli:App.run [extra1, extra2]  \n; another comment\n\n" +
			"[gui_scripts]\ndemo-gui = demo.gui : start\n\n[demo.plugins]\nanything = goes here:at all\n",
	}
	s.files = append(s.files,
		// A .data script with an entry point's name loses to the launcher,
		// as in pip.
		file("demo-1.0.data/scripts/demo", "#!python\nold\n"),
		file("demo-1.0.data/scripts/demo-gui.exe", "MZ"))
	dir, res := install(t, s, Options{})
	want := []Script{
		{"demo", "bin/demo", ConsoleScript},
		{"demo-gui", "bin/demo-gui", GUIScript},
		{"demo-x", "bin/demo-x", ConsoleScript},
	}
	if !slices.Equal(res.Scripts, want) {
		t.Errorf("scripts %+v, want %+v", res.Scripts, want)
	}
	py := "#!" + envPrefix + "/bin/python3.12\n"
	if got := readFile(t, dir, "bin/demo-x"); got != py+"# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom demo.cli import App\n"+
		"if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(App.run())\n" {
		t.Errorf("bin/demo-x:\n%s", got)
	}
	if got := readFile(t, dir, "bin/demo-gui"); !strings.Contains(got, "from demo.gui import start\n") || !strings.HasPrefix(got, py) {
		t.Errorf("bin/demo-gui:\n%s", got)
	}
	if got := readFile(t, dir, "bin/demo"); strings.Contains(got, "old") {
		t.Error("the .data script replaced the entry point's launcher")
	}
	if _, err := os.Stat(filepath.Join(dir, "bin/demo-gui.exe")); !os.IsNotExist(err) {
		t.Errorf("demo-gui.exe installed beside the gui launcher (%v)", err)
	}
	checkInstalledRecord(t, dir, "demo-1.0.dist-info")
}

// TestLongPrefix: a shebang longer than Linux runs becomes pip's /bin/sh
// trampoline, for entry points and #!python scripts alike.
func TestLongPrefix(t *testing.T) {
	prefix := "/opt/" + strings.Repeat("very-long-directory/", 6) + "env"
	s := spec{entryPoints: "[console_scripts]\ndemo = demo:main\n", files: []zfile{file("demo.py", "def main(): pass\n"), file("demo-1.0.data/scripts/s", "#!python\nprint(1)\n")}}
	dir, _ := install(t, s, Options{Prefix: prefix})
	tramp := "#!/bin/sh\n'''exec' \"" + prefix + "/bin/python3.12\" \"$0\" \"$@\"\n' '''\n"
	for _, rel := range []string{"bin/demo", "bin/s"} {
		if got := readFile(t, dir, rel); !strings.HasPrefix(got, tramp) {
			t.Errorf("%s:\n%s", rel, got)
		}
	}
}

// TestPlatformWheel: a platlib wheel (Root-Is-Purelib: false) with a
// platform tag goes to the same site-packages, executable bits kept.
func TestPlatformWheel(t *testing.T) {
	s := spec{
		name: "fastthing", version: "0.3.1", tag: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
		wheel: "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp312-cp312-manylinux_2_17_x86_64\nTag: cp312-cp312-manylinux2014_x86_64\n\n",
		files: []zfile{
			file("fastthing/__init__.py", "from ._core import f\n"),
			{name: "fastthing/_core.cpython-312-x86_64-linux-gnu.so", body: "\x7fELF core", mode: 0o755},
			{name: "fastthing.libs/libgomp-a34b3233.so.1.0.0", body: "\x7fELF gomp", mode: 0o775, stored: true},
		},
	}
	dir, _ := install(t, s, Options{})
	if m := mode(t, dir, site+"/fastthing/_core.cpython-312-x86_64-linux-gnu.so"); m != 0o755 {
		t.Errorf("extension mode %s", m)
	}
	if m := mode(t, dir, site+"/fastthing.libs/libgomp-a34b3233.so.1.0.0"); m != 0o755 {
		t.Errorf("vendored library mode %s", m)
	}
	if m := mode(t, dir, site+"/fastthing/__init__.py"); m != 0o644 {
		t.Errorf("module mode %s", m)
	}
	if _, err := Read(bytesReader(zipBytes(t, s.members())), 0, s.filename(), Limits{}); err == nil {
		t.Fatal("Read of a size-0 view succeeded")
	}
	data := zipBytes(t, s.members())
	w, err := Read(bytesReader(data), int64(len(data)), s.filename(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Info.RootIsPurelib || !slices.Equal(w.Info.Tags, []string{"cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-manylinux2014_x86_64"}) ||
		len(w.File.Tags) != 2 || w.File.Tags[1].Platform != "manylinux2014_x86_64" {
		t.Errorf("read %+v, file name tags %v", w.Info, w.File.Tags)
	}
}

func TestDirectURL(t *testing.T) {
	s := spec{files: []zfile{file("demo.py", "")}}
	const sum = "D9F5BA91B3866F3845930531E0870436E2DD6E919787F627C0F1C16B97219A5F"
	for _, tc := range []struct {
		name string
		d    DirectURL
		want string
	}{
		{"archive with the wheel's sha256", DirectURL{URL: "https://user:secret@files.example/demo-1.0-py3-none-any.whl", Archive: &ArchiveInfo{}},
			`{"url":"https://files.example/demo-1.0-py3-none-any.whl","archive_info":{"hash":"sha256=` + strings.ToLower(sum) + `","hashes":{"sha256":"` + strings.ToLower(sum) + `"}}}`},
		{"env credentials kept", DirectURL{URL: "https://${USER}:${TOKEN}@files.example/d.whl", Archive: &ArchiveInfo{Hashes: map[string]string{"sha256": "ab"}}},
			`{"url":"https://${USER}:${TOKEN}@files.example/d.whl","archive_info":{"hashes":{"sha256":"ab"}}}`},
		{"vcs", DirectURL{URL: "ssh://git@github.com/o/demo.git", VCS: &VCSInfo{VCS: "git", CommitID: "0123abc", RequestedRevision: "v1"}},
			`{"url":"ssh://git@github.com/o/demo.git","vcs_info":{"vcs":"git","requested_revision":"v1","commit_id":"0123abc"}}`},
		{"dir", DirectURL{URL: "file:///src/demo", Dir: &DirInfo{}}, `{"url":"file:///src/demo","dir_info":{}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.write(t)
			opts := Options{Prefix: envPrefix, Dest: t.TempDir(), Python: py312, DirectURL: &tc.d}
			if tc.d.Archive != nil && tc.d.Archive.Hashes == nil {
				b, _ := os.ReadFile(p)
				opts.SHA256 = sha256Hex(b)
			}
			if _, err := Install(context.Background(), p, opts); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(opts.Dest, envPrefix)
			got := readFile(t, dir, path.Join(site, "demo-1.0.dist-info/direct_url.json"))
			if tc.d.Archive != nil && tc.d.Archive.Hashes == nil {
				b, _ := os.ReadFile(p)
				tc.want = strings.ReplaceAll(tc.want, strings.ToLower(sum), sha256Hex(b))
			}
			if got != tc.want {
				t.Errorf("direct_url.json\n%s\nwant\n%s", got, tc.want)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(got), &v); err != nil {
				t.Error(err)
			}
			checkInstalledRecord(t, dir, "demo-1.0.dist-info")
		})
	}
	_, err := Install(context.Background(), s.write(t), Options{Prefix: envPrefix, Dest: t.TempDir(), Python: py312,
		DirectURL: &DirectURL{URL: "https://x/y.whl", Archive: &ArchiveInfo{}, Dir: &DirInfo{}}})
	if err == nil || !strings.Contains(err.Error(), "exactly one of archive_info, dir_info and vcs_info") {
		t.Errorf("two kinds of direct URL: %v", err)
	}
}

// TestReproducible installs the same wheel at different times into
// different layers: the trees are identical, and ModTime is honoured.
func TestReproducible(t *testing.T) {
	p := realWheel(t, "wheel-0.38.4-py3-none-any.whl")
	var trees []map[string]treeEntry
	for range 2 {
		dest := t.TempDir()
		if _, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: dest, Python: py312, Requested: true}); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tree(t, dest))
		time.Sleep(10 * time.Millisecond)
	}
	for k, a := range trees[0] {
		if k == "." {
			continue // the layer's root is the caller's
		}
		if b, ok := trees[1][k]; !ok || a != b {
			t.Errorf("%s differs between two installs: %+v, %+v", k, a, b)
		}
	}
	if len(trees[0]) != len(trees[1]) {
		t.Errorf("%d and %d entries", len(trees[0]), len(trees[1]))
	}
	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	dest := t.TempDir()
	if _, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: dest, Python: py312, ModTime: when}); err != nil {
		t.Fatal(err)
	}
	for k, e := range tree(t, dest) {
		if k != "." && !e.mtime.Equal(when) {
			t.Errorf("%s: mtime %s, want %s", k, e.mtime, when)
		}
	}
}

// TestReinstall installs into a layer that already holds the package: the
// files are replaced, not written through.
func TestReinstall(t *testing.T) {
	p := realWheel(t, "wheel-0.38.4-py3-none-any.whl")
	dest := t.TempDir()
	opts := Options{Prefix: envPrefix, Dest: dest, Python: py312}
	if _, err := Install(context.Background(), p, opts); err != nil {
		t.Fatal(err)
	}
	before := tree(t, dest)
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dest, envPrefix, "bin", "wheel")
	os.Remove(script)
	if err := os.Link(outside, script); err != nil {
		t.Fatal(err)
	}
	if _, err := Install(context.Background(), p, opts); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("a hard link in the layer was written through: %q", b)
	}
	after := tree(t, dest)
	for k, a := range before {
		if after[k] != a {
			t.Errorf("%s changed on reinstall", k)
		}
	}
}

func TestOptions(t *testing.T) {
	p := spec{files: []zfile{file("demo.py", "")}}.write(t)
	for _, tc := range []struct {
		opts Options
		msg  string
	}{
		{Options{Prefix: "relative/env", Python: py312}, `prefix "relative/env": not an absolute path`},
		{Options{Prefix: "/env/../x", Python: py312}, "not a clean path"},
		{Options{Prefix: "/", Python: py312}, "not a clean path below /"},
		{Options{Prefix: "/my env", Python: py312}, "white space"},
		{Options{Prefix: envPrefix, Python: Python{Version: "3"}}, `python version "3": want MAJOR.MINOR`},
		{Options{Prefix: envPrefix, Python: Python{Version: "3.12", SitePackages: "../lib"}}, "python site-packages"},
		{Options{Prefix: envPrefix, Python: Python{Version: "3.12", Executable: "/usr/bin/python3"}}, "python executable"},
	} {
		tc.opts.Dest = t.TempDir()
		if _, err := Install(context.Background(), p, tc.opts); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.msg)
		}
	}
	// A custom layout: free-threaded python's site-packages.
	dir, res := install(t, spec{files: []zfile{file("demo.py", "")}, entryPoints: "[console_scripts]\nd = demo:main\n"},
		Options{Python: Python{Version: "3.13", SitePackages: "lib/python3.13t/site-packages", Executable: "bin/python3.13t"}})
	if res.DistInfo != "lib/python3.13t/site-packages/demo-1.0.dist-info" {
		t.Errorf("DistInfo %s", res.DistInfo)
	}
	if got := readFile(t, dir, "bin/d"); !strings.HasPrefix(got, "#!"+envPrefix+"/bin/python3.13t\n") {
		t.Errorf("bin/d:\n%s", got)
	}
}

func TestSHA256(t *testing.T) {
	p := spec{files: []zfile{file("demo.py", "")}}.write(t)
	b, _ := os.ReadFile(p)
	good := sha256Hex(b)
	if _, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: t.TempDir(), Python: py312, SHA256: strings.ToUpper(good)}); err != nil {
		t.Fatal(err)
	}
	bad := strings.Repeat("0", 64)
	_, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: t.TempDir(), Python: py312, SHA256: bad})
	assertError(t, err, ErrChecksum, "", 0, "sha256 "+good+", want "+bad)
}

// TestOtherDataDir: like pip, any top-level *.data directory holds
// scheme directories, whatever its spelling of the name.
func TestOtherDataDir(t *testing.T) {
	dir, _ := install(t, spec{files: []zfile{file("Demo-1.0.data/scripts/x", "#!python\n"), file("demo.data/data/share/x", "x")}}, Options{})
	if got := readFile(t, dir, "bin/x"); got != "#!"+envPrefix+"/bin/python3.12\n" {
		t.Errorf("bin/x = %q", got)
	}
	readFile(t, dir, "share/x")
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := t.TempDir()
	_, err := Install(ctx, realWheel(t, "wheel-0.38.4-py3-none-any.whl"), Options{Prefix: envPrefix, Dest: dest, Python: py312})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if left := regularFiles(t, dest); len(left) != 0 {
		t.Errorf("%d files left", len(left))
	}
}

// TestInPlace installs with no Dest: into the prefix itself, whose parents
// are left alone.
func TestInPlace(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.ToSlash(filepath.Join(parent, "env"))
	res, err := Install(context.Background(), realWheel(t, "wheel-0.38.4-py3-none-any.whl"), Options{Prefix: prefix, Python: py312})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, prefix, "bin/wheel"); !strings.HasPrefix(got, "#!"+prefix+"/bin/python3.12\n") {
		t.Errorf("bin/wheel:\n%s", got)
	}
	if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the prefix's parent changed: %v %v", fi.Mode(), err)
	}
	// The wheel's files but RECORD, bin/wheel, INSTALLER and RECORD.
	if want := len(zipContents(t, realWheel(t, "wheel-0.38.4-py3-none-any.whl"))) - 1 + 3; len(res.Files) != want {
		t.Errorf("%d files, want %d", len(res.Files), want)
	}
}
