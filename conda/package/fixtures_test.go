package condapkg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/testdata"
)

// fixtures returns every real package artifact of the shared test data
// that is a consistent package (the conda-format-repo zlib artifacts are
// not: see TestZlibFixturesDisagreeWithPathsJSON).
func fixtures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range [][]string{
		{"conda", "packages", "*.*"},
		{"conda", "packages", "*", "*.conda"},
		{"conda", "packages", "*", "*.tar.bz2"},
		{"conda", "channels", "conda-test-recipes", "*", "*.conda"},
	} {
		m, err := filepath.Glob(testdata.Path(t, pattern...))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 40 {
		t.Fatalf("found only %d fixture packages", len(out))
	}
	return out
}

func TestReadFixtures(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// The file name is the index's name-version-build (CEP 26).
			base := filepath.Base(f)
			if stem := strings.TrimSuffix(strings.TrimSuffix(base, ".conda"), ".tar.bz2"); m.Index.Dist() != stem {
				t.Errorf("index.json says %s, file is %s", m.Index.Dist(), base)
			}
			if m.PathsVersion != 1 {
				t.Errorf("paths_version %d", m.PathsVersion)
			}
			for _, p := range m.Paths {
				if p.PathType == "" || p.FileMode == "" {
					t.Errorf("%s: defaults not filled in: %+v", p.Path, p)
				}
			}
		})
	}
}

func TestReadDetails(t *testing.T) {
	m, err := ReadFile(testdata.Path(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Paths) != 11 {
		t.Fatalf("%d paths, want 11", len(m.Paths))
	}
	want := PathEntry{Path: "bin/hello", PathType: PathSoftlink, FileMode: FileModeText,
		SHA256: "2f436a4e8e22416f6cf31ed0459a3b25e119c946d789017ceee24ccb8ebb8520", SizeInBytes: ptr(int64(26))}
	if !reflect.DeepEqual(m.Paths[0], want) {
		t.Errorf("paths[0] = %+v, want %+v", m.Paths[0], want)
	}
	if m.Link == nil || m.Link.Noarch.Type != record.NoarchGeneric || m.Link.PackageMetadataVersion != 1 {
		t.Errorf("link.json = %+v", m.Link)
	}
	if m.About == nil || !bytes.HasPrefix(bytes.TrimSpace(m.About.Raw), []byte("{")) {
		t.Errorf("about.json = %+v", m.About)
	}

	m, err = ReadFile(testdata.Path(t, "conda", "packages", "empty-0.1.0-h4616a5c_0.conda"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Index.Name != "empty" || m.Index.Version.String() != "0.1.0" || len(m.Paths) != 0 || m.Link != nil {
		t.Errorf("empty: %+v", m)
	}

	m, err = ReadFile(testdata.Path(t, "conda", "channels", "conda-test-recipes", "noarch", "sample_noarch_python-1.0-py_0.conda"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Index.Noarch != record.NoarchPython || m.Link == nil || m.Link.Noarch.Type != record.NoarchPython ||
		len(m.Paths) != 1 || m.Paths[0].Path != "site-packages/sample.py" {
		t.Errorf("sample_noarch_python: index %+v link %+v paths %+v", m.Index, m.Link, m.Paths)
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseLinkFixtures(t *testing.T) {
	dir := testdata.Path(t, "conda", "packages", "link-json")
	for name, want := range map[string][]EntryPoint{
		"jupyterlab-link.json": {
			{"jlpm", "jupyterlab.jlpmapp", "main"},
			{"jupyter-lab", "jupyterlab.labapp", "main"},
			{"jupyter-labextension", "jupyterlab.labextensions", "main"},
			{"jupyter-labhub", "jupyterlab.labhubapp", "main"},
		},
		"setuptools-link.json": nil,
		"tzdata-link.json":     nil,
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseLink(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(l.Noarch.EntryPoints, want) {
			t.Errorf("%s: entry points %v, want %v", name, l.Noarch.EntryPoints, want)
		}
		wantType := record.NoarchPython
		if name == "tzdata-link.json" {
			wantType = record.NoarchGeneric
		}
		if l.Noarch.Type != wantType || l.PackageMetadataVersion != 1 {
			t.Errorf("%s: %+v", name, l)
		}
	}
}

// TestExtractFixtures extracts every fixture and checks the tree on disk,
// independently of Extract's own check, against paths.json.
func TestExtractFixtures(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "pkg")
			m, err := ExtractFile(context.Background(), f, dest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dest, "info", "index.json")); err != nil {
				t.Error(err)
			}
			for _, p := range m.Paths {
				full := filepath.Join(dest, filepath.FromSlash(p.Path))
				fi, err := os.Lstat(full)
				if err != nil {
					t.Errorf("%s: %v", p.Path, err)
					continue
				}
				switch p.PathType {
				case PathSoftlink:
					if fi.Mode()&os.ModeSymlink == 0 {
						t.Errorf("%s: not a symlink", p.Path)
					}
				case PathDirectory:
					if !fi.IsDir() {
						t.Errorf("%s: not a directory", p.Path)
					}
				case PathHardlink:
					b, err := os.ReadFile(full)
					if err != nil {
						t.Fatal(err)
					}
					if sum := sha256.Sum256(b); p.SHA256 != "" && hex.EncodeToString(sum[:]) != p.SHA256 {
						t.Errorf("%s: content sha256 differs from paths.json", p.Path)
					}
				}
			}
		})
	}
}

func TestExtractKeepsModesAndLinks(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "pkg")
	if _, err := ExtractFile(context.Background(), testdata.Path(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"), dest); err != nil {
		t.Fatal(err)
	}
	tr := tree(t, dest)
	for p, want := range map[string]string{
		"bin/hello":         "symlink -> hello-1.0",
		"libexec/greetings": "symlink -> ../bin/hello",
		"lib/libdangle.lib": "symlink -> libdangle.lib.1", // dangling, but inside the package
		"bin/hello-1.0":     "file -rwxrwxr-x " + "2f436a4e8e22416f6cf31ed0459a3b25e119c946d789017ceee24ccb8ebb8520",
		"info/index.json":   "", // present; content checked elsewhere
	} {
		got, ok := tr[p]
		if !ok || (want != "" && got != want) {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	fi, err := os.Stat(filepath.Join(dest, "bin", "hello-1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if y, mo, d := fi.ModTime().UTC().Date(); y != 2022 || mo != 3 || d != 31 {
		t.Errorf("bin/hello-1.0 mtime %v, want the archive's 2022-03-31", fi.ModTime())
	}
}

// TestBothFormatsSameMetadata reads the zlib package of every subdir of
// conda-format-repo in both formats.
func TestBothFormatsSameMetadata(t *testing.T) {
	pairs, err := filepath.Glob(testdata.Path(t, "conda", "channels", "conda-format-repo", "*", "*.conda"))
	if err != nil || len(pairs) != 4 {
		t.Fatalf("want 4 .conda in conda-format-repo, got %v (%v)", pairs, err)
	}
	for _, c := range pairs {
		b := strings.TrimSuffix(c, ".conda") + ".tar.bz2"
		mc, err := ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		mb, err := ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		if mc.Index.Name != "zlib" || len(mc.Paths) == 0 {
			t.Errorf("%s: %+v", c, mc.Index)
		}
		if !reflect.DeepEqual(mc, mb) {
			t.Errorf("%s: metadata differs between formats:\n.conda   %+v\n.tar.bz2 %+v", filepath.Base(c), mc, mb)
		}
	}
}

// TestBothFormatsSameTree converts each real .tar.bz2 fixture to .conda
// (as conda-package-handling's transmute does) and checks that both
// extract to the same tree with the same metadata.
func TestBothFormatsSameTree(t *testing.T) {
	bz2s, _ := filepath.Glob(testdata.Path(t, "conda", "packages", "*.tar.bz2"))
	more, _ := filepath.Glob(testdata.Path(t, "conda", "packages", "*", "*.tar.bz2"))
	bz2s = append(bz2s, more...)
	if len(bz2s) < 5 {
		t.Fatalf("only %d .tar.bz2 fixtures", len(bz2s))
	}
	for _, f := range bz2s {
		t.Run(filepath.Base(f), func(t *testing.T) {
			conda := transmute(t, f)
			name := strings.TrimSuffix(filepath.Base(f), ".tar.bz2") + ".conda"
			d1, d2 := filepath.Join(t.TempDir(), "bz2"), filepath.Join(t.TempDir(), "conda")
			m1, err := ExtractFile(context.Background(), f, d1)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := Extract(context.Background(), bytes.NewReader(conda), int64(len(conda)), name, d2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m1, m2) {
				t.Errorf("metadata differs:\n%+v\n%+v", m1, m2)
			}
			t1, t2 := tree(t, d1), tree(t, d2)
			if !reflect.DeepEqual(t1, t2) {
				t.Errorf("trees differ:\n%v\n%v", t1, t2)
			}
			if len(t1) < len(m1.Paths) {
				t.Errorf("tree has %d entries for %d paths", len(t1), len(m1.Paths))
			}
		})
	}
}

// TestZlibFixturesDisagreeWithPathsJSON: conda's conda_format_repo test
// artifacts were altered after building: the .conda holds symlinks with
// empty targets, the .tar.bz2 empty regular files where paths.json lists
// softlinks. Extract must refuse both and leave nothing behind.
func TestZlibFixturesDisagreeWithPathsJSON(t *testing.T) {
	dir := testdata.Path(t, "conda", "channels", "conda-format-repo", "linux-64")
	for name, want := range map[string]struct {
		sentinel error
		member   string
		msg      string
	}{
		"zlib-1.2.11-h7b6447c_3.conda":   {ErrFormat, "pkg-zlib-1.2.11-h7b6447c_3.tar.zst: lib/libz.so.1", "symlink with an empty target"},
		"zlib-1.2.11-h7b6447c_3.tar.bz2": {ErrMismatch, "info/paths.json", `"lib/libz.so" is a softlink, the payload has a file`},
	} {
		dest := filepath.Join(t.TempDir(), "pkg")
		_, err := ExtractFile(context.Background(), filepath.Join(dir, name), dest)
		assertError(t, err, want.sentinel, want.member, want.msg)
		if _, serr := os.Stat(dest); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: destination left behind after the error (%v)", name, serr)
		}
	}
}

// assertError checks an *Error's sentinel, member and message.
func assertError(t *testing.T, err, sentinel error, member, msg string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *Error", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q does not wrap %q", err, sentinel)
	}
	if pe.Member != member {
		t.Errorf("error %q: member %q, want %q", err, pe.Member, member)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not say %q", err, msg)
	}
	if pe.Archive == "" {
		t.Errorf("error %q does not name the archive", err)
	}
}

func TestVerify(t *testing.T) {
	f := testdata.Path(t, "conda", "channels", "conda-format-repo", "linux-64", "zlib-1.2.11-h7b6447c_3.conda")
	const want = "f33afff2144e1d6c4cf2e3e184937db8bf825b4537df74662aea5ee207b6a31b" // repodata.json
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(bytes.NewReader(data), strings.ToUpper(want)); err != nil {
		t.Fatal(err)
	}
	h := NewHashingReader(bytes.NewReader(data[:100]))
	if _, err := h.Read(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := h.Verify(want); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "(100 bytes)") {
		t.Errorf("truncated artifact: %v", err)
	}
	if _, err := ReadFile(f, WithSHA256(want)); err != nil {
		t.Errorf("WithSHA256 of the right digest: %v", err)
	}
	_, err = ReadFile(f, WithSHA256(strings.Repeat("0", 64)))
	assertError(t, err, ErrChecksum, "", "want 0000")
	dest := filepath.Join(t.TempDir(), "x")
	_, err = ExtractFile(context.Background(), f, dest, WithSHA256("abc"))
	assertError(t, err, ErrFormat, "", `expected sha256 "abc" is not 64 hex digits`)
}

// TestReadDir reads back what Extract wrote and gets the same metadata,
// for a package with paths.json and a legacy one.
func TestReadDir(t *testing.T) {
	for _, f := range fixtures(t)[:6] {
		dest := filepath.Join(t.TempDir(), "pkg")
		m, err := ExtractFile(context.Background(), f, dest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadDir(dest)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: ReadDir %+v, Extract %+v", filepath.Base(f), got, m)
		}
	}
	info := []member{indexJSON("old", "1.0", "0"), file("info/files", "lib/a\nlib/b\n")}
	pkg := []member{file("lib/a", "x"), symlink("lib/b", "a")}
	data := condaBytes(t, "old-1.0-0", info, pkg)
	dest := filepath.Join(t.TempDir(), "old")
	if _, err := Extract(context.Background(), bytes.NewReader(data), int64(len(data)), "old-1.0-0.conda", dest); err != nil {
		t.Fatal(err)
	}
	m, err := ReadDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Paths) != 2 || m.Paths[0].PathType != PathHardlink || m.Paths[1].PathType != PathSoftlink {
		t.Errorf("legacy paths %+v", m.Paths)
	}
	if err := os.Remove(filepath.Join(dest, "info", "index.json")); err != nil {
		t.Fatal(err)
	}
	_, err = ReadDir(dest)
	assertError(t, err, ErrFormat, "info/index.json", "missing")
}
