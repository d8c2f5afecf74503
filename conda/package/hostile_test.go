package condapkg

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stem = "evil-1.0-0"

// extractBytes extracts an in-memory artifact into a fresh directory and
// checks that nothing is left there when it fails.
func extractBytes(t *testing.T, data []byte, name string, opts ...Option) (*Metadata, error) {
	t.Helper()
	dest := t.TempDir() // exists and is empty: Extract must empty it again on error
	m, err := Extract(context.Background(), bytes.NewReader(data), int64(len(data)), name, dest, opts...)
	if err != nil {
		if ents, _ := os.ReadDir(dest); len(ents) != 0 {
			t.Errorf("%d entries left in the destination after %v", len(ents), err)
		}
	}
	return m, err
}

func TestHostileConda(t *testing.T) {
	idx := indexJSON("evil", "1.0", "0")
	ok := file("bin/tool", "#!/bin/sh\necho hi\n")
	bomb := file("lib/bomb", strings.Repeat("\x00", 4<<20))
	for _, tc := range []struct {
		name     string
		info     []member
		pkg      []member
		opts     []Option
		sentinel error
		member   string // inside the pkg tarball unless it starts with "info" or "pkg-"
		msg      string
	}{
		{"dotdot", nil, []member{file("../escape", "x")}, nil,
			ErrUnsafePath, "../escape", `"../escape" leaves the package`},
		{"absolute", nil, []member{file("/etc/cron.d/evil", "x")}, nil,
			ErrUnsafePath, "/etc/cron.d/evil", "is absolute"},
		{"unclean", nil, []member{file("lib/../../escape", "x")}, nil,
			ErrUnsafePath, "lib/../../escape", "not a clean relative path"},
		{"symlink escape", nil, []member{symlink("lib/etc", "../../etc")}, nil,
			ErrUnsafePath, "lib/etc", `symlink to "../../etc" points outside the package`},
		{"absolute symlink", nil, []member{symlink("lib/passwd", "/etc/passwd")}, nil,
			ErrUnsafePath, "lib/passwd", `symlink to absolute path "/etc/passwd"`},
		{"write through symlink", nil, []member{dir("share"), symlink("lib", "share"), file("lib/evil", "x")}, nil,
			ErrUnsafePath, "lib/evil", "parent lib is not a directory in the archive"},
		{"symlink chain escape", nil, []member{symlink("a/up", ".."), symlink("a/b/l", "../up/..")}, nil,
			ErrUnsafePath, "a/b/l", `symlink to "../up/.." resolves outside the package through other symlinks`},
		{"hard link to outside", nil, []member{hardlink("lib/shadow", "../../etc/shadow")}, nil,
			ErrUnsafePath, "lib/shadow", "hard link target"},
		{"hard link to unknown", nil, []member{hardlink("lib/passwd", "etc/passwd")}, nil,
			ErrUnsafePath, "lib/passwd", `hard link to "etc/passwd", which is not a file extracted before it`},
		{"device", nil, []member{{name: "dev/mem", typ: tar.TypeChar}}, nil,
			ErrUnsupported, "dev/mem", "member type character device"},
		{"fifo", nil, []member{{name: "run/pipe", typ: tar.TypeFifo}}, nil,
			ErrUnsupported, "run/pipe", "FIFO"},
		{"duplicate", nil, []member{ok, ok}, nil,
			ErrFormat, "bin/tool", "member appears twice"},
		{"sha256 mismatch", []member{idx, file("info/paths.json", `{"paths":[{"_path":"bin/tool","sha256":"`+sha("#!/bin/sh\necho HI\n")+`","size_in_bytes":18}],"paths_version":1}`)},
			[]member{ok}, nil, ErrMismatch, "info/paths.json", `"bin/tool": sha256 ` + sha("#!/bin/sh\necho HI\n") + ", the payload file has " + sha(ok.body)},
		{"size mismatch", []member{idx, file("info/paths.json", `{"paths":[{"_path":"bin/tool","size_in_bytes":5}],"paths_version":1}`)},
			[]member{ok}, nil, ErrMismatch, "info/paths.json", `"bin/tool": size_in_bytes 5, the payload file has 18 bytes`},
		{"listed but missing", []member{idx, pathsJSON(ok, file("bin/other", ""))},
			[]member{ok}, nil, ErrMismatch, "info/paths.json", `hardlink "bin/other" is not in the payload`},
		{"unlisted", []member{idx, pathsJSON(ok)},
			[]member{ok, file("lib/extra", "x"), file("lib/more", "y")}, nil, ErrMismatch, "info/paths.json", `payload file "lib/extra" is not listed (and 1 more)`},
		{"softlink listed as file", []member{idx, file("info/paths.json", `{"paths":[{"_path":"bin/tool"}],"paths_version":1}`)},
			[]member{symlink("bin/tool", "other")}, nil, ErrMismatch, "info/paths.json", `"bin/tool" is a hardlink, the payload has a symlink`},
		{"payload in info tarball", []member{idx, pathsJSON(ok), ok}, nil, nil,
			ErrFormat, "info-" + stem + ".tar.zst: bin/tool", "the info tarball holds a member outside info/"},
		{"info in pkg tarball", nil, []member{file("info/index.json", "{}")}, nil,
			ErrFormat, "pkg-" + stem + ".tar.zst: info/index.json", "the pkg tarball holds a member under info/"},
		{"decompression bomb", []member{idx, pathsJSON(bomb)}, []member{bomb}, []Option{WithLimits(Limits{MaxUnpackedSize: 1 << 20})},
			ErrTooLarge, "lib/bomb", "more than 1048576 bytes decompressed"},
		{"huge metadata", []member{idx, pathsJSON(ok)}, []member{ok}, []Option{WithLimits(Limits{MaxMetadataSize: 64})},
			ErrTooLarge, "info-" + stem + ".tar.zst: info/index.json", "the limit for a metadata file is 64"},
		{"too many members", []member{idx, pathsJSON(ok)}, []member{ok}, []Option{WithLimits(Limits{MaxMembers: 2})},
			ErrTooLarge, "bin/tool", "more than 2 members"},
		{"no index.json", []member{pathsJSON(ok)}, []member{ok}, nil,
			ErrFormat, "info/index.json", "missing"},
		{"no paths.json", []member{idx}, []member{ok}, nil,
			ErrFormat, "info/paths.json", "missing, and no info/files either"},
		{"bad paths.json", []member{idx, file("info/paths.json", "{\n \"paths\": [\n  {\"_path\": 1}\n ]}")}, []member{ok}, nil,
			ErrFormat, "info/paths.json", "line 3, column 14"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := tc.info
			if info == nil {
				info = []member{idx, pathsJSON(tc.pkg...)}
			}
			data := condaBytes(t, stem, info, tc.pkg)
			_, err := extractBytes(t, data, stem+".conda", tc.opts...)
			member := tc.member
			if !strings.HasPrefix(member, "info") && !strings.HasPrefix(member, "pkg-") && tc.name != "symlink chain escape" {
				member = "pkg-" + stem + ".tar.zst: " + member
			}
			assertError(t, err, tc.sentinel, member, tc.msg)
		})
	}
}

// TestHostileTarBz2 runs the member checks through the .tar.bz2 path.
func TestHostileTarBz2(t *testing.T) {
	idx := indexJSON("evil", "1.0", "0")
	for _, tc := range []struct {
		name     string
		members  []member
		sentinel error
		member   string
		msg      string
	}{
		{"dotdot", []member{idx, file("../../escape", "x")}, ErrUnsafePath, "../../escape", "leaves the package"},
		{"symlink escape", []member{idx, symlink("a/b", "../../x")}, ErrUnsafePath, "a/b", "points outside the package"},
		{"sha256 mismatch", []member{idx, file("info/paths.json", `{"paths":[{"_path":"x","sha256":"`+sha("y")+`"}],"paths_version":1}`), file("x", "x")},
			ErrMismatch, "info/paths.json", `"x": sha256`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bzip2Bytes(t, tarBytes(t, tc.members))
			_, err := extractBytes(t, data, stem+".tar.bz2")
			assertError(t, err, tc.sentinel, tc.member, tc.msg)
		})
	}
}

func TestHostileEnvelope(t *testing.T) {
	idx := indexJSON("evil", "1.0", "0")
	good := condaBytes(t, stem, []member{idx, pathsJSON()}, nil)
	info := zstdBytes(t, tarBytes(t, []member{idx, pathsJSON()}))
	pkg := zstdBytes(t, tarBytes(t, nil))
	corrupt := bytes.Clone(good)
	// flip a byte inside the info tarball's compressed data
	i := bytes.Index(corrupt, info) + len(info)/2
	corrupt[i] ^= 0xff
	for _, tc := range []struct {
		name, file string
		data       []byte
		sentinel   error
		member     string
		msg        string
	}{
		{"garbage", "x.conda", []byte("not an archive"), ErrFormat, "", `neither a .conda (zip) nor a .tar.bz2 (bzip2) archive (14 bytes, starts with "not "`},
		{"wrong extension", stem + ".tar.bz2", good, ErrFormat, "", "named .tar.bz2 but the content is a .conda archive"},
		{"truncated", stem + ".conda", good[:len(good)-30], ErrFormat, "", "zip:"},
		{"corrupt", stem + ".conda", corrupt, ErrFormat, "info-" + stem + ".tar.zst", ""},
		{"format version 3", stem + ".conda", zipBytes(t, []condaPart{{"metadata.json", []byte(`{"conda_pkg_format_version": 3}`)}, {"info-" + stem + ".tar.zst", info}, {"pkg-" + stem + ".tar.zst", pkg}}),
			ErrFormat, "metadata.json", "conda_pkg_format_version 3: want 2"},
		{"no metadata.json", stem + ".conda", zipBytes(t, []condaPart{{"info-" + stem + ".tar.zst", info}, {"pkg-" + stem + ".tar.zst", pkg}}),
			ErrFormat, "", "no metadata.json in the zip"},
		{"no pkg", stem + ".conda", zipBytes(t, []condaPart{{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)}, {"info-" + stem + ".tar.zst", info}}),
			ErrFormat, "", "no pkg-*.tar.zst in the zip"},
		{"two info tarballs", stem + ".conda", zipBytes(t, []condaPart{{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)}, {"info-a.tar.zst", info}, {"info-b.tar.zst", info}, {"pkg-a.tar.zst", pkg}}),
			ErrFormat, "info-b.tar.zst", "zip holds both info-a.tar.zst and info-b.tar.zst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data), int64(len(tc.data)), tc.file)
			assertError(t, err, tc.sentinel, tc.member, tc.msg)
			_, err = extractBytes(t, tc.data, tc.file)
			assertError(t, err, tc.sentinel, tc.member, tc.msg)
		})
	}
	if _, err := Read(bytes.NewReader(good), int64(len(good)), stem+".conda"); err != nil {
		t.Errorf("the unaltered archive: %v", err)
	}
}

func TestExtractDestination(t *testing.T) {
	data := condaBytes(t, stem, []member{indexJSON("evil", "1.0", "0"), pathsJSON(file("a", "b"))}, []member{file("a", "b")})
	dest := t.TempDir()
	if err := os.WriteFile(filepath.Join(dest, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Extract(context.Background(), bytes.NewReader(data), int64(len(data)), stem+".conda", dest)
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("non-empty destination: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "keep")); err != nil {
		t.Errorf("the existing file was touched: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest = filepath.Join(t.TempDir(), "new")
	if _, err := Extract(ctx, bytes.NewReader(data), int64(len(data)), stem+".conda", dest); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created destination left behind: %v", err)
	}
}

// TestLegacyPackage: a package with info/files, has_prefix and no_link
// instead of paths.json, in both formats.
func TestLegacyPackage(t *testing.T) {
	info := []member{
		indexJSON("old", "1.0", "0"),
		file("info/files", "bin/tool\nlib/libold.so\nlib/libold.so.1\nshare/data\n"),
		file("info/has_prefix", "/opt/anaconda1anaconda2anaconda3 text bin/tool\n\"/build/pl ace\" binary \"lib/libold.so.1\"\n"),
		file("info/no_link", "share/data\n"),
	}
	pkg := []member{file("bin/tool", "#!/opt/anaconda1anaconda2anaconda3/bin/python\n"), file("lib/libold.so.1", "ELF"),
		symlink("lib/libold.so", "libold.so.1"), file("share/data", "d")}
	want := []PathEntry{
		{Path: "bin/tool", PathType: PathHardlink, FileMode: FileModeText, PrefixPlaceholder: "/opt/anaconda1anaconda2anaconda3"},
		{Path: "lib/libold.so", PathType: PathSoftlink, FileMode: FileModeText},
		{Path: "lib/libold.so.1", PathType: PathHardlink, FileMode: FileModeBinary, PrefixPlaceholder: "/build/pl ace"},
		{Path: "share/data", PathType: PathHardlink, FileMode: FileModeText, NoLink: true},
	}
	conda := condaBytes(t, "old-1.0-0", info, pkg)
	check := func(what string, m *Metadata, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if m.PathsVersion != 0 || len(m.Paths) != len(want) {
			t.Fatalf("%s: %+v", what, m.Paths)
		}
		for i := range want {
			if m.Paths[i] != want[i] {
				t.Errorf("%s: paths[%d] = %+v, want %+v", what, i, m.Paths[i], want[i])
			}
		}
	}
	m, err := Read(bytes.NewReader(conda), int64(len(conda)), "old-1.0-0.conda")
	check("read .conda", m, err)
	m, err = extractBytes(t, conda, "old-1.0-0.conda")
	check("extract .conda", m, err)
	bz2 := bzip2Bytes(t, tarBytes(t, append(info, pkg...)))
	m, err = Read(bytes.NewReader(bz2), int64(len(bz2)), "old-1.0-0.tar.bz2")
	check("read .tar.bz2", m, err)
	m, err = extractBytes(t, bz2, "old-1.0-0.tar.bz2")
	check("extract .tar.bz2", m, err)
}

// TestHardLinkMember: a tar hard link becomes a hard link on disk and is
// checked with its target's content.
func TestHardLinkMember(t *testing.T) {
	a := file("lib/a", "shared content")
	b := file("lib/b", "shared content") // for pathsJSON only
	data := condaBytes(t, stem, []member{indexJSON("evil", "1.0", "0"), pathsJSON(a, b)}, []member{a, hardlink("lib/b", "lib/a")})
	dest := filepath.Join(t.TempDir(), "pkg")
	if _, err := Extract(context.Background(), bytes.NewReader(data), int64(len(data)), stem+".conda", dest); err != nil {
		t.Fatal(err)
	}
	fa, _ := os.Stat(filepath.Join(dest, "lib", "a"))
	fb, err := os.Stat(filepath.Join(dest, "lib", "b"))
	if err != nil || !os.SameFile(fa, fb) {
		t.Errorf("lib/b is not a hard link of lib/a (%v)", err)
	}
}
