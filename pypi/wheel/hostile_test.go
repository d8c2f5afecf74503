package wheel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// installBytes installs an in-memory wheel into a fresh layer and checks
// that a failed install leaves no file behind.
func installBytes(t *testing.T, filename string, data []byte, opts Options) error {
	t.Helper()
	opts.Prefix, opts.Python = envPrefix, py312
	opts.Dest = t.TempDir()
	_, err := Install(context.Background(), writeWheel(t, filename, data), opts)
	if err != nil {
		if left := regularFiles(t, opts.Dest); len(left) != 0 {
			t.Errorf("%d files left after %v: %v", len(left), err, left)
		}
	}
	return err
}

func TestHostileWheels(t *testing.T) {
	const di = "demo-1.0.dist-info/"
	const rec = di + "RECORD"
	ok := file("demo/__init__.py", "print('hi')\n")
	okRow := hashOf(ok.body) + ",12"
	bomb := file("demo/bomb.bin", strings.Repeat("\x00", 4<<20))
	// RECORD rows follow s.members(): payload, WHEEL, METADATA, then extraRows.
	for _, tc := range []struct {
		name     string
		s        spec
		opts     Options
		sentinel error
		member   string
		line     int // -1: not checked
		msg      string
	}{
		{"dotdot", spec{files: []zfile{file("../escape.py", "x")}}, Options{},
			ErrUnsafePath, "../escape.py", 0, `"../escape.py" leaves the archive`},
		{"dotdot inside", spec{files: []zfile{file("demo/../../escape.py", "x")}}, Options{},
			ErrUnsafePath, "demo/../../escape.py", 0, `"demo/../../escape.py" is not a clean relative path`},
		{"absolute", spec{files: []zfile{file("/etc/cron.d/evil", "x")}}, Options{},
			ErrUnsafePath, "/etc/cron.d/evil", 0, `"/etc/cron.d/evil" is absolute`},
		{"backslash", spec{files: []zfile{file(`demo\..\..\evil.py`, "x")}}, Options{},
			ErrUnsafePath, `demo\..\..\evil.py`, 0, "contains a backslash"},
		{"symlink member", spec{files: []zfile{{name: "demo/passwd", body: "/etc/passwd", mode: os.ModeSymlink | 0o777}}}, Options{},
			ErrUnsupported, "demo/passwd", 0, "a symbolic link (wheels hold regular files only)"},
		{"device member", spec{files: []zfile{{name: "demo/mem", mode: os.ModeDevice | 0o644}}}, Options{},
			ErrUnsupported, "demo/mem", 0, "wheels hold regular files only"},
		{"duplicate member", spec{files: []zfile{ok, ok}}, Options{},
			ErrFormat, "demo/__init__.py", 0, "member appears twice"},
		{"file and directory", spec{files: []zfile{file("demo", "x"), ok}}, Options{},
			ErrFormat, "demo/__init__.py", 0, "demo is also a file"},
		{"wrong hash", spec{files: []zfile{ok}, edit: map[string]*string{ok.name: ptr(hashOf("print('HI')\n") + ",12")}}, Options{},
			ErrMismatch, rec, 1, "demo/__init__.py: hash " + hashOf("print('HI')\n") + ", the wheel's file has " + hashOf(ok.body)},
		{"wrong size", spec{files: []zfile{ok}, edit: map[string]*string{ok.name: ptr(hashOf(ok.body) + ",13")}}, Options{},
			ErrMismatch, rec, 1, "demo/__init__.py: size 13, the wheel's file has 12 bytes"},
		{"no hash", spec{files: []zfile{ok}, edit: map[string]*string{ok.name: ptr(",12")}}, Options{},
			ErrMismatch, rec, 1, "demo/__init__.py has no hash"},
		{"md5 hash", spec{files: []zfile{ok}, edit: map[string]*string{ok.name: ptr("md5=abc,12")}}, Options{},
			ErrFormat, rec, 1, `algorithm "md5": want sha256, sha384 or sha512`},
		{"missing file", spec{files: []zfile{ok}, extraRows: []string{"demo/gone.py," + okRow + "\n"}}, Options{},
			ErrMismatch, rec, 4, "demo/gone.py is listed but not in the wheel"},
		{"extra file", spec{files: []zfile{ok, file("demo/sneaky.py", "import os\n"), file("demo/z.py", "")},
			edit: map[string]*string{"demo/sneaky.py": ptr(""), "demo/z.py": ptr("")}}, Options{},
			ErrMismatch, rec, 0, "demo/sneaky.py is in the wheel but not listed (and 1 more)"},
		{"listed twice", spec{files: []zfile{ok}, extraRows: []string{ok.name + "," + okRow + "\n"}}, Options{},
			ErrFormat, rec, 4, "demo/__init__.py: listed twice (first on line 1)"},
		{"bad csv", spec{files: []zfile{ok}, extraRows: []string{"\"demo/x.py,a,1\n"}}, Options{},
			ErrFormat, rec, 4, "extraneous or missing"},
		{"escaping RECORD row", spec{files: []zfile{ok}, extraRows: []string{"../../../bin/python3," + okRow + "\n"}}, Options{},
			ErrMismatch, rec, 4, "../../../bin/python3 is listed but not in the wheel"},
		{"no RECORD", spec{files: []zfile{ok}, record: ptr("")}, Options{},
			ErrMismatch, rec, 0, "demo-1.0.dist-info/METADATA is in the wheel but not listed (and 2 more)"},
		{"decompression bomb", spec{files: []zfile{bomb}}, Options{Limits: Limits{MaxUnpackedSize: 1 << 20}},
			ErrTooLarge, "demo/bomb.bin", 0, "more than 1048576 bytes uncompressed"},
		{"huge RECORD", spec{files: []zfile{ok}}, Options{Limits: Limits{MaxMetadataSize: 64}},
			ErrTooLarge, di + "WHEEL", 0, "the limit for a metadata file is 64"},
		{"too many members", spec{files: []zfile{ok}}, Options{Limits: Limits{MaxMembers: 3}},
			ErrTooLarge, "", 0, "4 members, the limit is 3"},
		{"wheel version 2", spec{files: []zfile{ok}, wheel: "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n"}, Options{},
			ErrUnsupported, di + "WHEEL", 1, "Wheel-Version 2.0: only major version 1 is supported"},
		{"no wheel version", spec{files: []zfile{ok}, wheel: "Generator: x\nRoot-Is-Purelib: true\n"}, Options{},
			ErrFormat, di + "WHEEL", 0, "no Wheel-Version field"},
		{"bad WHEEL line", spec{files: []zfile{ok}, wheel: "Wheel-Version: 1.0\nRoot Is Purelib true\n"}, Options{},
			ErrFormat, di + "WHEEL", 2, `want "Key: value"`},
		{"two dist-infos", spec{files: []zfile{ok, file("other-1.0.dist-info/METADATA", "")}}, Options{},
			ErrFormat, "", 0, "2 .dist-info directories (demo-1.0.dist-info, other-1.0.dist-info); want one"},
		{"dist-info of another project", spec{files: []zfile{ok}}.renamed("evil-1.0-py3-none-any.whl"), Options{},
			ErrFormat, di, 0, "project demo, but the file name says evil"},
		{"dist-info of another version", spec{files: []zfile{ok}}.renamed("demo-1.1-py3-none-any.whl"), Options{},
			ErrFormat, di, 0, "version 1.0, but the file name says 1.1"},
		{"bad file name", spec{files: []zfile{ok}}.renamed("demo-1.0.whl"), Options{},
			ErrFormat, "", 0, "file name: invalid"},
		{"unknown data scheme", spec{files: []zfile{file("demo-1.0.data/etc/x", "")}}, Options{},
			ErrFormat, "demo-1.0.data/etc/x", 0, `unknown scheme "etc" in demo-1.0.data/`},
		{"directory in scripts", spec{files: []zfile{file("demo-1.0.data/scripts/sub/x", "")}}, Options{},
			ErrFormat, "demo-1.0.data/scripts/sub/x", 0, "a directory in demo-1.0.data/scripts"},
		{"script replacing python", spec{files: []zfile{file("demo-1.0.data/scripts/python3", "#!/bin/sh\n")}}, Options{},
			ErrUnsafePath, "demo-1.0.data/scripts/python3", 0, "would replace the environment's interpreter bin/python3"},
		{"data replacing python", spec{files: []zfile{file("demo-1.0.data/data/bin/python3.12", "")}}, Options{},
			ErrUnsafePath, "demo-1.0.data/data/bin/python3.12", 0, "would replace the environment's interpreter bin/python3.12"},
		{"entry point named python", spec{files: []zfile{ok}, entryPoints: "[console_scripts]\npython = demo:main\n"}, Options{},
			ErrUnsafePath, di + "entry_points.txt", 0, "entry point python: would replace the environment's interpreter bin/python"},
		{"entry point path", spec{files: []zfile{ok}, entryPoints: "[gui_scripts]\n../../etc/x = demo:main\n"}, Options{},
			ErrUnsafePath, di + "entry_points.txt", 2, `[gui_scripts] "../../etc/x": '/' in a script name`},
		{"entry point code injection", spec{files: []zfile{ok}, entryPoints: "[console_scripts]\nx = os:system('id')\n"}, Options{},
			ErrFormat, di + "entry_points.txt", 2, `function "system('id')" is not a dotted Python name`},
		{"entry point without function", spec{files: []zfile{ok}, entryPoints: "[console_scripts]\nx = demo\n"}, Options{},
			ErrFormat, di + "entry_points.txt", 2, "want module:function"},
		{"two files at one place", spec{files: []zfile{file("demo.py", ""), file("demo-1.0.data/purelib/demo.py", "")}}, Options{},
			ErrFormat, "demo.py", 0, "demo-1.0.data/purelib/demo.py and demo.py both install " + site + "/demo.py"},
		{"entry point over a data script", spec{files: []zfile{ok, file("demo-1.0.data/data/bin/tool", "")}, entryPoints: "[console_scripts]\ntool = demo:main\n"}, Options{},
			ErrFormat, di + "entry_points.txt", 0, "demo-1.0.data/data/bin/tool and entry point tool both install bin/tool"},
		{"RECORD from .data", spec{files: []zfile{file("demo-1.0.data/purelib/demo-1.0.dist-info/RECORD", "")}}, Options{},
			ErrFormat, "demo-1.0.data/purelib/demo-1.0.dist-info/RECORD", 0, "would replace the installed RECORD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := tc.s.filename()
			if tc.s.as != "" {
				fn = tc.s.as
			}
			err := installBytes(t, fn, zipBytes(t, tc.s.members()), tc.opts)
			assertError(t, err, tc.sentinel, tc.member, tc.line, tc.msg)
		})
	}
}

// TestHostileZip covers what archive/zip's writer cannot make directly:
// overlapping members, sizes that lie, encryption, unknown methods.
func TestHostileZip(t *testing.T) {
	s := spec{files: []zfile{file("demo/a.py", strings.Repeat("a = 1\n", 100)), file("demo/b.py", strings.Repeat("b = 2\n", 100))}}
	good := zipBytes(t, s.members())
	fn := s.filename()
	for _, tc := range []struct {
		name     string
		data     []byte
		sentinel error
		member   string
		msg      string
	}{
		// b's directory entry points at a's data: a non-recursive zip
		// bomb reuses one compressed stream for many members this way.
		{"overlapping members", patchCentral(t, good, "demo/b.py", 42, centralField(t, good, "demo/a.py", 42)),
			ErrFormat, "demo/b.py", "compressed data overlaps that of demo/a.py"},
		{"lying uncompressed size", patchCentral(t, good, "demo/a.py", 24, 10),
			ErrMismatch, "demo-1.0.dist-info/RECORD", "demo/a.py: size 600, the wheel's file has 10 bytes"},
		{"encrypted", patchFlags(t, good, "demo/a.py", 1), ErrUnsupported, "demo/a.py", "encrypted member"},
		{"compression method", patchMethod(t, good, "demo/a.py", 14), ErrUnsupported, "demo/a.py", "compression method 14"},
		{"truncated", good[:len(good)/2], ErrFormat, "", "zip: "},
		{"not a zip", []byte("<html>404</html>"), ErrFormat, "", "zip: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := installBytes(t, fn, tc.data, Options{})
			assertError(t, err, tc.sentinel, tc.member, -1, tc.msg)
		})
	}
	// A size that lies, with RECORD giving none: the decompressor finds
	// more data than the directory promised.
	s.edit = map[string]*string{"demo/a.py": ptr(hashOf(s.files[0].body) + ",")}
	data := patchCentral(t, zipBytes(t, s.members()), "demo/a.py", 24, 10)
	err := installBytes(t, fn, data, Options{})
	assertError(t, err, ErrFormat, "demo/a.py", 0, "zip: not a valid zip file")
}

// TestSymlinkInLayer: a symlink already in the layer where a directory is
// needed is not written through.
func TestSymlinkInLayer(t *testing.T) {
	dest := t.TempDir()
	outside := t.TempDir()
	lib := filepath.Join(dest, envPrefix, "lib")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, lib); err != nil {
		t.Fatal(err)
	}
	p := spec{files: []zfile{file("demo.py", "")}}.write(t)
	_, err := Install(context.Background(), p, Options{Prefix: envPrefix, Dest: dest, Python: py312})
	if err == nil || !strings.Contains(err.Error(), "lib: is a symlink; refusing to write through it") {
		t.Errorf("got %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("%d entries written outside the layer", len(ents))
	}
}
