package wheel

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// Limits bound what one wheel may make us decompress or hold, against zip
// bombs. A zero field takes its default.
type Limits struct {
	// MaxUnpackedSize caps the sum of the members' uncompressed sizes.
	// Default 32 GiB: the largest real wheels (CUDA builds of torch)
	// unpack to a few GiB.
	MaxUnpackedSize int64
	// MaxMetadataSize caps one metadata file read into memory (WHEEL,
	// RECORD, entry_points.txt, METADATA). Default 64 MiB.
	MaxMetadataSize int64
	// MaxMembers caps the number of zip members. Default 1,000,000.
	MaxMembers int
}

// DefaultLimits are the limits used when none are given.
var DefaultLimits = Limits{MaxUnpackedSize: 32 << 30, MaxMetadataSize: 64 << 20, MaxMembers: 1_000_000}

func (l Limits) withDefaults() Limits {
	if l.MaxUnpackedSize <= 0 {
		l.MaxUnpackedSize = DefaultLimits.MaxUnpackedSize
	}
	if l.MaxMetadataSize <= 0 {
		l.MaxMetadataSize = DefaultLimits.MaxMetadataSize
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultLimits.MaxMembers
	}
	return l
}

// Wheel is a wheel whose structure and metadata have been checked by Read.
type Wheel struct {
	// Filename is the wheel's file name as given to Read, and File its
	// parsed form (normalised name, version, build tag, tags).
	Filename string
	File     tags.Wheel
	// Name is the project name as the .dist-info directory spells it;
	// Version the version it names (equal to File.Version).
	Name    string
	Version version.Version
	// DistInfo is the archive's "<name>-<version>.dist-info" directory.
	DistInfo string
	// Info is the parsed WHEEL file.
	Info *WheelInfo
	// Record is the parsed RECORD, in file order.
	Record []RecordEntry
	// EntryPoints are the console and GUI scripts of entry_points.txt.
	EntryPoints EntryPoints
	// Metadata is the core metadata file (*.dist-info/METADATA).
	Metadata []byte

	files  []*member // regular files, sorted by name
	byName map[string]*member
	limits Limits
}

// member is one regular file of the archive with its RECORD row.
type member struct {
	f      *zip.File
	name   string
	record *RecordEntry // nil for RECORD and its signatures
	exec   bool
}

// Read checks a wheel of size bytes and returns it: its file name
// (filename, a base name or path, must be a valid wheel file name), the
// zip's members (clean relative paths, regular files or directories, each
// once, stored or deflated, not encrypted, data not overlapping, sizes
// within limits), exactly one .dist-info directory of the file name's
// project and version, WHEEL, entry_points.txt, and RECORD, which must
// list every file but itself and its signatures with a hash, and nothing
// else, with the sizes the zip directory gives. The content hashes are
// checked as the files are decompressed: by Verify, or by Install as it
// writes them.
func Read(r io.ReaderAt, size int64, filename string, limits Limits) (*Wheel, error) {
	w := &Wheel{Filename: path.Base(filename), limits: limits.withDefaults()}
	if err := w.read(r, size); err != nil {
		return nil, w.wrap(err)
	}
	return w, nil
}

// wrap turns an error into an *Error for this wheel.
func (w *Wheel) wrap(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Wheel: w.Filename, Err: err}
}

func (w *Wheel) errorf(member string, line int, sentinel error, format string, args ...any) error {
	return &Error{Wheel: w.Filename, Member: member, Line: line, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// metaError places an error of a metadata parser at member.
func (w *Wheel) metaError(member string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &Error{Wheel: w.Filename, Member: member, Line: le.line, Err: le.err}
	}
	return &Error{Wheel: w.Filename, Member: member, Err: err}
}

func (w *Wheel) read(r io.ReaderAt, size int64) error {
	fn, err := tags.ParseWheelFilename(w.Filename)
	if err != nil {
		return fmt.Errorf("%w: file name: %w", ErrFormat, err)
	}
	w.File = fn
	zr, err := zip.NewReader(r, size)
	if err != nil {
		if errors.Is(err, zip.ErrInsecurePath) {
			err = fmt.Errorf("%w: %w", ErrUnsafePath, err)
		} else {
			err = fmt.Errorf("%w: zip: %w", ErrFormat, err)
		}
		return err
	}
	if err := w.members(zr, size); err != nil {
		return err
	}
	if err := w.findDistInfo(); err != nil {
		return err
	}
	return w.readMetadata()
}

// members checks every zip member and collects the regular files.
func (w *Wheel) members(zr *zip.Reader, size int64) error {
	if len(zr.File) > w.limits.MaxMembers {
		return fmt.Errorf("%w: %d members, the limit is %d", ErrTooLarge, len(zr.File), w.limits.MaxMembers)
	}
	w.byName = make(map[string]*member, len(zr.File))
	dirs := map[string]bool{}
	var total uint64
	type span struct {
		off, n uint64
		name   string
	}
	spans := make([]span, 0, len(zr.File))
	for _, f := range zr.File {
		name := f.Name
		isDir := strings.HasSuffix(name, "/")
		clean := strings.TrimSuffix(name, "/")
		if err := checkPath(clean); err != nil {
			return w.errorf(name, 0, ErrUnsafePath, "%v", err)
		}
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			return w.errorf(name, 0, ErrUnsupported, "a symbolic link (wheels hold regular files only)")
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
			return w.errorf(name, 0, ErrUnsupported, "member of mode %s (wheels hold regular files only)", mode)
		case mode.IsDir() && !isDir:
			return w.errorf(name, 0, ErrFormat, "a directory whose name does not end in '/'")
		case f.Flags&0x1 != 0:
			return w.errorf(name, 0, ErrUnsupported, "encrypted member")
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return w.errorf(name, 0, ErrUnsupported, "compression method %d (want stored or deflated)", f.Method)
		}
		if isDir {
			if f.UncompressedSize64 != 0 {
				return w.errorf(name, 0, ErrFormat, "a directory with %d bytes of content", f.UncompressedSize64)
			}
			dirs[clean] = true
			continue
		}
		if _, dup := w.byName[clean]; dup {
			return w.errorf(name, 0, ErrFormat, "member appears twice")
		}
		total += f.UncompressedSize64
		if total > uint64(w.limits.MaxUnpackedSize) {
			return w.errorf(name, 0, ErrTooLarge, "more than %d bytes uncompressed", w.limits.MaxUnpackedSize)
		}
		off, err := f.DataOffset()
		if err != nil {
			return w.errorf(name, 0, ErrFormat, "local header: %v", err)
		}
		if off < 0 || uint64(off) > uint64(size) || f.CompressedSize64 > uint64(size)-uint64(off) {
			return w.errorf(name, 0, ErrFormat, "compressed data beyond the end of the archive")
		}
		spans = append(spans, span{uint64(off), f.CompressedSize64, name})
		m := &member{f: f, name: clean}
		if mode.IsRegular() && mode.Perm()&0o111 != 0 {
			m.exec = true
		}
		w.byName[clean] = m
		w.files = append(w.files, m)
	}
	// Members whose compressed data overlap make a small archive expand
	// many times over (the "non-recursive zip bomb"); zip tools never
	// write them.
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	for i := 1; i < len(spans); i++ {
		if p := spans[i-1]; p.off+p.n > spans[i].off {
			return w.errorf(spans[i].name, 0, ErrFormat, "compressed data overlaps that of %s", p.name)
		}
	}
	// A file may not also be a directory (a file "a" and a member "a/b").
	for name := range w.byName {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if _, clash := w.byName[d]; clash {
				return w.errorf(name, 0, ErrFormat, "%s is also a file", d)
			}
		}
	}
	for d := range dirs {
		if _, clash := w.byName[d]; clash {
			return w.errorf(d+"/", 0, ErrFormat, "also a file")
		}
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].name < w.files[j].name })
	return nil
}

// checkPath accepts a clean relative '/'-separated path.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case p[0] == '/':
		return fmt.Errorf("%q is absolute", p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%q contains a backslash or NUL", p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%q leaves the archive", p)
	case path.Clean(p) != p || p == ".":
		return fmt.Errorf("%q is not a clean relative path", p)
	}
	if first, _, _ := strings.Cut(p, "/"); len(first) == 2 && first[1] == ':' {
		return fmt.Errorf("%q starts with a drive letter", p)
	}
	return nil
}

// findDistInfo finds the one top-level .dist-info directory and checks
// that it names the file name's project and version.
func (w *Wheel) findDistInfo() error {
	found := map[string]bool{}
	for _, m := range w.files {
		top, _, ok := strings.Cut(m.name, "/")
		if ok && strings.HasSuffix(top, ".dist-info") {
			found[top] = true
		}
	}
	switch len(found) {
	case 0:
		return fmt.Errorf("%w: no .dist-info directory", ErrFormat)
	case 1:
	default:
		var all []string
		for d := range found {
			all = append(all, d)
		}
		sort.Strings(all)
		return fmt.Errorf("%w: %d .dist-info directories (%s); want one", ErrFormat, len(all), strings.Join(all, ", "))
	}
	for d := range found {
		w.DistInfo = d
	}
	stem := strings.TrimSuffix(w.DistInfo, ".dist-info")
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 {
		return w.errorf(w.DistInfo+"/", 0, ErrFormat, "want <name>-<version>.dist-info")
	}
	w.Name = stem[:i]
	if name.Normalize(w.Name) != w.File.Name {
		return w.errorf(w.DistInfo+"/", 0, ErrFormat, "project %s, but the file name says %s", w.Name, w.File.Name)
	}
	v, err := version.Parse(stem[i+1:])
	if err != nil {
		return w.errorf(w.DistInfo+"/", 0, ErrFormat, "version %q: %v", stem[i+1:], err)
	}
	if !v.Equal(w.File.Version) {
		return w.errorf(w.DistInfo+"/", 0, ErrFormat, "version %s, but the file name says %s", v, w.File.Version)
	}
	w.Version = v
	return nil
}

// readFile reads a small member (metadata) whole, within the limit.
func (w *Wheel) readFile(m *member) ([]byte, error) {
	if m.f.UncompressedSize64 > uint64(w.limits.MaxMetadataSize) {
		return nil, w.errorf(m.name, 0, ErrTooLarge, "%d bytes, the limit for a metadata file is %d", m.f.UncompressedSize64, w.limits.MaxMetadataSize)
	}
	rc, err := m.f.Open()
	if err != nil {
		return nil, w.errorf(m.name, 0, ErrFormat, "%v", err)
	}
	defer rc.Close()
	data := make([]byte, m.f.UncompressedSize64)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, w.errorf(m.name, 0, ErrFormat, "%v", err)
	}
	// Reading to the end makes archive/zip check the size and CRC-32.
	if n, err := io.Copy(io.Discard, rc); err != nil || n != 0 {
		return nil, w.errorf(m.name, 0, ErrFormat, "content does not match the zip directory (%v)", err)
	}
	return data, nil
}

// readMetadata reads WHEEL, RECORD, entry_points.txt and METADATA and
// checks the archive's files against RECORD.
func (w *Wheel) readMetadata() error {
	get := func(base string, required bool) ([]byte, string, error) {
		p := w.DistInfo + "/" + base
		m := w.byName[p]
		if m == nil {
			if required {
				return nil, p, w.errorf(p, 0, ErrFormat, "missing")
			}
			return nil, p, nil
		}
		data, err := w.readFile(m)
		return data, p, err
	}
	data, p, err := get("WHEEL", true)
	if err != nil {
		return err
	}
	if w.Info, err = ParseWheelInfo(data); err != nil {
		return w.metaError(p, err)
	}
	if w.Metadata, _, err = get("METADATA", true); err != nil {
		return err
	}
	if data, p, err = get("entry_points.txt", false); err != nil {
		return err
	}
	if data != nil {
		if w.EntryPoints, err = ParseEntryPoints(data); err != nil {
			return w.metaError(p, err)
		}
	}
	if data, p, err = get("RECORD", true); err != nil {
		return err
	}
	if w.Record, err = ParseRecord(data); err != nil {
		return w.metaError(p, err)
	}
	return w.checkRecord(p)
}

// unhashed are the dist-info files RECORD lists without a hash.
func (w *Wheel) unhashed(p string) bool {
	return p == w.DistInfo+"/RECORD" || p == w.DistInfo+"/RECORD.jws" || p == w.DistInfo+"/RECORD.p7s"
}

// checkRecord matches RECORD's rows with the archive's files.
func (w *Wheel) checkRecord(recordPath string) error {
	for i := range w.Record {
		e := &w.Record[i]
		m := w.byName[e.Path]
		if m == nil {
			return w.errorf(recordPath, e.Line, ErrMismatch, "%s is listed but not in the wheel", e.Path)
		}
		if w.unhashed(e.Path) {
			continue
		}
		if e.Hash == "" {
			return w.errorf(recordPath, e.Line, ErrMismatch, "%s has no hash", e.Path)
		}
		if e.Size >= 0 && uint64(e.Size) != m.f.UncompressedSize64 {
			return w.errorf(recordPath, e.Line, ErrMismatch, "%s: size %d, the wheel's file has %d bytes", e.Path, e.Size, m.f.UncompressedSize64)
		}
		m.record = e
	}
	var unlisted []string
	for _, m := range w.files {
		if m.record == nil && !w.unhashed(m.name) {
			unlisted = append(unlisted, m.name)
		}
	}
	if len(unlisted) > 0 {
		more := ""
		if len(unlisted) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(unlisted)-1)
		}
		return w.errorf(recordPath, 0, ErrMismatch, "%s is in the wheel but not listed%s", unlisted[0], more)
	}
	return nil
}

// verifyingReader hashes what it reads and, at the end, checks the digest
// and size against the member's RECORD row.
type verifyingReader struct {
	w   *Wheel
	m   *member
	rc  io.ReadCloser
	h   hash.Hash
	sum []byte
	n   int64
}

func (w *Wheel) open(m *member) (*verifyingReader, error) {
	rc, err := m.f.Open()
	if err != nil {
		return nil, w.errorf(m.name, 0, ErrFormat, "%v", err)
	}
	v := &verifyingReader{w: w, m: m, rc: rc}
	if m.record != nil {
		newHash, sum, _ := parseHash(m.record.Hash) // checked by ParseRecord
		v.h, v.sum = newHash(), sum
	}
	return v, nil
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	if n > 0 && v.h != nil {
		v.h.Write(p[:n])
	}
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		if cerr := v.check(); cerr != nil {
			return n, cerr
		}
	} else if err != nil {
		err = v.w.errorf(v.m.name, 0, ErrFormat, "%v", err)
	}
	return n, err
}

func (v *verifyingReader) check() error {
	if v.h == nil {
		return nil
	}
	if got := v.h.Sum(nil); string(got) != string(v.sum) {
		e := v.m.record
		algo, _, _ := strings.Cut(e.Hash, "=")
		return v.w.errorf(v.w.DistInfo+"/RECORD", e.Line, ErrMismatch, "%s: hash %s, the wheel's file has %s=%s",
			e.Path, e.Hash, algo, strings.TrimRight(b64(got), "="))
	}
	return nil
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// Verify decompresses every file and checks it against RECORD.
func (w *Wheel) Verify(ctx context.Context) error {
	buf := make([]byte, 64<<10)
	for _, m := range w.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := w.open(m)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{v}, buf)
		v.Close()
		if err != nil {
			return w.wrap(err)
		}
	}
	return nil
}

// Files returns the archive's regular files, sorted.
func (w *Wheel) Files() []string {
	out := make([]string, len(w.files))
	for i, m := range w.files {
		out[i] = m.name
	}
	return out
}
