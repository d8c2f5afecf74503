package wheel

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/testdata"
)

// envPrefix is where environments live in envkit's images.
const envPrefix = "/azureml-envs/envkit"

var py312 = Python{Version: "3.12"}

const site = "lib/python3.12/site-packages"

// zfile is one member of a test zip.
type zfile struct {
	name   string
	body   string
	mode   fs.FileMode // 0644 when 0
	stored bool        // zip.Store instead of zip.Deflate
}

func file(name, body string) zfile { return zfile{name: name, body: body} }

// zipBytes writes members in the order given (duplicates and hostile
// names included).
func zipBytes(t testing.TB, files []zfile) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		if f.stored {
			h.Method = zip.Store
		}
		h.Modified = time.Date(2023, 2, 19, 14, 19, 0, 0, time.UTC)
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hashOf is a file's RECORD hash.
func hashOf(body string) string {
	s := sha256.Sum256([]byte(body))
	return recordHash(s[:])
}

// spec describes a generated wheel; build fills in what is left out.
type spec struct {
	name, version string // dist-info spelling; "demo", "1.0" by default
	tag           string // "py3-none-any" by default
	wheel         string // WHEEL; purelib by default
	entryPoints   string
	files         []zfile // payload, in archive order
	// record, when set, replaces the computed RECORD.
	record *string
	// edit changes the computed RECORD's rows (path -> "hash,size";
	// "" removes the row).
	edit map[string]*string
	// extraRows are appended to the computed RECORD.
	extraRows []string
	// as, when set, is the file name instead of the computed one.
	as string
}

func (s spec) stem() string {
	n, v := s.name, s.version
	if n == "" {
		n = "demo"
	}
	if v == "" {
		v = "1.0"
	}
	return n + "-" + v
}

// filename is the wheel's file name.
func (s spec) filename() string {
	tag := s.tag
	if tag == "" {
		tag = "py3-none-any"
	}
	return s.stem() + "-" + tag + ".whl"
}

// members returns the archive's members: payload, WHEEL, METADATA,
// entry_points.txt and RECORD, as bdist_wheel orders them.
func (s spec) members() []zfile {
	di := s.stem() + ".dist-info/"
	files := append([]zfile(nil), s.files...)
	wheel := s.wheel
	if wheel == "" {
		wheel = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n"
	}
	name, _, _ := strings.Cut(s.stem(), "-")
	files = append(files, file(di+"WHEEL", wheel), file(di+"METADATA", "Metadata-Version: 2.1\nName: "+name+"\nVersion: 1.0\n\n"))
	if s.entryPoints != "" {
		files = append(files, file(di+"entry_points.txt", s.entryPoints))
	}
	rec := ""
	if s.record != nil {
		rec = *s.record
	} else {
		for _, f := range files {
			if strings.HasSuffix(f.name, "/") {
				continue
			}
			row := fmt.Sprintf("%s,%s", hashOf(f.body), fmt.Sprint(len(f.body)))
			if e, ok := s.edit[f.name]; ok {
				if *e == "" {
					continue
				}
				row = *e
			}
			rec += csvField(f.name) + "," + row + "\n"
		}
		rec += strings.Join(s.extraRows, "")
		rec += di + "RECORD,,\n"
	}
	return append(files, file(di+"RECORD", rec))
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func ptr(s string) *string { return &s }

// write writes the wheel into a temporary directory and returns its path.
func (s spec) write(t testing.TB) string {
	t.Helper()
	return writeWheel(t, s.filename(), zipBytes(t, s.members()))
}

func writeWheel(t testing.TB, filename string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), filename)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// realWheel is the path of a shared real wheel.
func realWheel(t testing.TB, name string) string {
	t.Helper()
	return testdata.Path(t, "pypi", "wheels", name)
}

var realWheels = []string{"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl", "wheel-0.38.4-py3-none-any.whl"}

// patchCentral rewrites a 32-bit field of the central directory entry of
// member name: off 20 is the compressed size, 24 the uncompressed size,
// 42 the local header's offset.
func patchCentral(t testing.TB, data []byte, name string, off int, v uint32) []byte {
	t.Helper()
	out := bytes.Clone(data)
	sig := []byte{'P', 'K', 1, 2}
	for i := bytes.Index(out, sig); i >= 0; {
		n := int(binary.LittleEndian.Uint16(out[i+28:]))
		if string(out[i+46:i+46+n]) == name {
			binary.LittleEndian.PutUint32(out[i+off:], v)
			return out
		}
		j := bytes.Index(out[i+4:], sig)
		if j < 0 {
			break
		}
		i += 4 + j
	}
	t.Fatalf("no central directory entry for %s", name)
	return nil
}

// centralField reads a 32-bit field of a central directory entry.
func centralField(t testing.TB, data []byte, name string, off int) uint32 {
	t.Helper()
	sig := []byte{'P', 'K', 1, 2}
	for i := 0; ; {
		j := bytes.Index(data[i:], sig)
		if j < 0 {
			t.Fatalf("no central directory entry for %s", name)
		}
		i += j
		n := int(binary.LittleEndian.Uint16(data[i+28:]))
		if string(data[i+46:i+46+n]) == name {
			return binary.LittleEndian.Uint32(data[i+off:])
		}
		i += 4
	}
}

// treeEntry is what a file system tree holds at one path, for comparing
// installs byte for byte.
type treeEntry struct {
	mode  fs.FileMode
	mtime time.Time
	data  string
}

// tree walks root.
func tree(t testing.TB, root string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		e := treeEntry{mode: fi.Mode(), mtime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.data = string(b)
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// regularFiles lists the regular files under root, sorted.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	for p, e := range tree(t, root) {
		if e.mode.IsRegular() || e.mode&fs.ModeSymlink != 0 {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// assertError checks err's type, sentinel, member, line and message.
func assertError(t *testing.T, err error, sentinel error, member string, line int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %v does not wrap %v", err, sentinel)
	}
	if we.Member != member {
		t.Errorf("member %q, want %q (%v)", we.Member, member, err)
	}
	if line >= 0 && we.Line != line {
		t.Errorf("line %d, want %d (%v)", we.Line, line, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func sha256Hex(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// renamed gives the wheel another file name.
func (s spec) renamed(filename string) spec { s.as = filename; return s }

// patchFlags sets the general-purpose flags of a member in both headers.
func patchFlags(t testing.TB, data []byte, name string, flags uint16) []byte {
	t.Helper()
	out := patchCentral16(t, data, name, 8, flags)
	off := centralField(t, data, name, 42)
	binary.LittleEndian.PutUint16(out[off+6:], flags)
	return out
}

// patchMethod sets the compression method of a member in both headers.
func patchMethod(t testing.TB, data []byte, name string, method uint16) []byte {
	t.Helper()
	out := patchCentral16(t, data, name, 10, method)
	off := centralField(t, data, name, 42)
	binary.LittleEndian.PutUint16(out[off+8:], method)
	return out
}

func patchCentral16(t testing.TB, data []byte, name string, off int, v uint16) []byte {
	t.Helper()
	cur := centralField(t, data, name, off&^3)
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, cur)
	binary.LittleEndian.PutUint16(b[off&3:], v)
	return patchCentral(t, data, name, off&^3, binary.LittleEndian.Uint32(b))
}
