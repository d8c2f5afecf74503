// Package pypitest makes real Python distributions and simple indexes for
// tests: wheels (a zip with <name>-<version>.dist-info/{METADATA,WHEEL,
// RECORD}), sdists (.tar.gz with PKG-INFO), and a PEP 503 index directory
// (<dir>/<project>/index.html, files under <dir>/_files/) with hashes,
// data-requires-python, yanks and PEP 658 metadata files, served on
// 127.0.0.1 by Serve or read as a directory by index.Client.
package pypitest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/envkit/envkit/pypi/name"
)

// Epoch is the modification time of every member of the archives made
// here, so the same description gives the same bytes.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Meta is the core metadata of a distribution.
type Meta struct {
	Name    string // as the project spells it
	Version string
	// RequiresDist are Requires-Dist values, e.g. `b>=1; extra == "x"`.
	RequiresDist []string
	// RequiresPython is Requires-Python; "" for none.
	RequiresPython string
	// ProvidesExtra are Provides-Extra values.
	ProvidesExtra []string
	// MetadataVersion is Metadata-Version; "" means 2.1 for a wheel and
	// 2.2 for an sdist (whose dependencies are then trusted).
	MetadataVersion string
	// Dynamic are Dynamic fields (metadata 2.2), e.g. "Requires-Dist".
	Dynamic []string
	// Extra are more header lines, written as given ("Summary: x").
	Extra []string
}

// Extras sets the metadata's extras from a map of extra name to its
// requirements (packse's form): each requirement gets `extra == "<name>"`
// added to its marker, and each extra a Provides-Extra line. Extras are
// written sorted by name.
func (m *Meta) Extras(extras map[string][]string) {
	names := make([]string, 0, len(extras))
	for e := range extras {
		names = append(names, e)
	}
	sort.Strings(names)
	for _, e := range names {
		m.ProvidesExtra = append(m.ProvidesExtra, e)
		for _, r := range extras[e] {
			m.RequiresDist = append(m.RequiresDist, WithExtra(r, e))
		}
	}
}

// WithExtra adds `extra == "<e>"` to a requirement's marker.
func WithExtra(req, e string) string {
	if i := strings.IndexByte(req, ';'); i >= 0 {
		return fmt.Sprintf("%s; (%s) and extra == %q", strings.TrimSpace(req[:i]), strings.TrimSpace(req[i+1:]), e)
	}
	return fmt.Sprintf("%s; extra == %q", strings.TrimSpace(req), e)
}

// Bytes renders the metadata as an email-header file (METADATA, PKG-INFO,
// a PEP 658 .metadata file).
func (m Meta) Bytes(defaultVersion string) []byte {
	var b strings.Builder
	mv := m.MetadataVersion
	if mv == "" {
		mv = defaultVersion
	}
	fmt.Fprintf(&b, "Metadata-Version: %s\nName: %s\nVersion: %s\n", mv, m.Name, m.Version)
	for _, d := range m.Dynamic {
		fmt.Fprintf(&b, "Dynamic: %s\n", d)
	}
	if m.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", m.RequiresPython)
	}
	for _, e := range m.ProvidesExtra {
		fmt.Fprintf(&b, "Provides-Extra: %s\n", e)
	}
	for _, r := range m.RequiresDist {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	for _, x := range m.Extra {
		b.WriteString(x + "\n")
	}
	return []byte(b.String())
}

// FileSpec is one payload file of a distribution.
type FileSpec struct {
	Path    string // slash-separated, relative to the archive root
	Content string
	Mode    fs.FileMode // 0 means 0644
}

// Wheel describes a wheel file.
type Wheel struct {
	Meta
	// Tag is the compressed tag set, e.g. "py3-none-any" (the default) or
	// "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64".
	Tag string
	// Build is the optional build tag ("1").
	Build string
	// Platlib puts the files in platlib (Root-Is-Purelib: false).
	Platlib bool
	// EntryPoints is entry_points.txt, when not "".
	EntryPoints string
	// Files are more files (packages, modules, .data/...); none means a
	// module <name>/__init__.py holding the version.
	Files []FileSpec
}

// DistName is a name as distribution filenames spell it: normalised, with
// '_' for '-'.
func DistName(n string) string { return strings.ReplaceAll(name.Normalize(n), "-", "_") }

func (w Wheel) tag() string {
	if w.Tag == "" {
		return "py3-none-any"
	}
	return w.Tag
}

// Filename is the wheel's file name.
func (w Wheel) Filename() string {
	parts := []string{DistName(w.Name), w.Version}
	if w.Build != "" {
		parts = append(parts, w.Build)
	}
	return strings.Join(parts, "-") + "-" + w.tag() + ".whl"
}

// DistInfo is the wheel's .dist-info directory.
func (w Wheel) DistInfo() string { return DistName(w.Name) + "-" + w.Version + ".dist-info" }

// MetadataBytes is the wheel's METADATA (also its PEP 658 metadata file).
func (w Wheel) MetadataBytes() []byte { return w.Meta.Bytes("2.1") }

// Bytes builds the wheel: its files, then the dist-info's METADATA, WHEEL,
// entry_points.txt and RECORD (with each file's sha256 and size).
func (w Wheel) Bytes() ([]byte, error) {
	if w.Name == "" || w.Version == "" {
		return nil, fmt.Errorf("pypitest: a wheel needs a name and a version")
	}
	files := w.Files
	if len(files) == 0 {
		mod := DistName(w.Name)
		files = []FileSpec{{Path: mod + "/__init__.py", Content: fmt.Sprintf("__version__ = %q\n", w.Version)}}
	}
	di := w.DistInfo()
	purelib := "true"
	if w.Platlib {
		purelib = "false"
	}
	var wheelFile strings.Builder
	fmt.Fprintf(&wheelFile, "Wheel-Version: 1.0\nGenerator: envkit-pypitest\nRoot-Is-Purelib: %s\n", purelib)
	if w.Build != "" {
		fmt.Fprintf(&wheelFile, "Build: %s\n", w.Build)
	}
	t := strings.Split(w.tag(), "-")
	if len(t) != 3 {
		return nil, fmt.Errorf("pypitest: wheel tag %q is not python-abi-platform", w.tag())
	}
	for _, py := range strings.Split(t[0], ".") {
		for _, abi := range strings.Split(t[1], ".") {
			for _, plat := range strings.Split(t[2], ".") {
				fmt.Fprintf(&wheelFile, "Tag: %s-%s-%s\n", py, abi, plat)
			}
		}
	}
	files = append(files[:len(files):len(files)],
		FileSpec{Path: di + "/METADATA", Content: string(w.MetadataBytes())},
		FileSpec{Path: di + "/WHEEL", Content: wheelFile.String()})
	if w.EntryPoints != "" {
		files = append(files, FileSpec{Path: di + "/entry_points.txt", Content: w.EntryPoints})
	}
	var record strings.Builder
	for _, f := range files {
		sum := sha256.Sum256([]byte(f.Content))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.Path, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.Content))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", di)
	files = append(files, FileSpec{Path: di + "/RECORD", Content: record.String()})

	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: Epoch}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write([]byte(f.Content)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Sdist describes a source distribution (.tar.gz).
type Sdist struct {
	Meta
	// Files are more files under <name>-<version>/; none means a
	// pyproject.toml (setuptools) and a module <name>/__init__.py.
	Files []FileSpec
}

// Filename is the sdist's file name (PEP 625).
func (s Sdist) Filename() string { return DistName(s.Name) + "-" + s.Version + ".tar.gz" }

// MetadataBytes is the sdist's PKG-INFO (metadata 2.2 by default).
func (s Sdist) MetadataBytes() []byte { return s.Meta.Bytes("2.2") }

// Bytes builds the sdist: <name>-<version>/PKG-INFO and its files.
func (s Sdist) Bytes() ([]byte, error) {
	if s.Name == "" || s.Version == "" {
		return nil, fmt.Errorf("pypitest: an sdist needs a name and a version")
	}
	root := DistName(s.Name) + "-" + s.Version
	files := s.Files
	if len(files) == 0 {
		mod := DistName(s.Name)
		var deps strings.Builder
		for _, r := range s.RequiresDist {
			if !strings.Contains(r, "extra") {
				fmt.Fprintf(&deps, "%q, ", r)
			}
		}
		files = []FileSpec{
			{Path: "pyproject.toml", Content: fmt.Sprintf("[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = %q\nversion = %q\ndependencies = [%s]\n", s.Name, s.Version, strings.TrimSuffix(deps.String(), ", "))},
			{Path: mod + "/__init__.py", Content: fmt.Sprintf("__version__ = %q\n", s.Version)},
		}
	}
	files = append([]FileSpec{{Path: "PKG-INFO", Content: string(s.MetadataBytes())}}, files...)
	var b bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	gz.ModTime = Epoch
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	for _, f := range files {
		p := path.Join(root, f.Path)
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: Epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		mode := int64(f.Mode)
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(root, f.Path), Mode: mode, Size: int64(len(f.Content)), ModTime: Epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(f.Content)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
