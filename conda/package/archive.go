package condapkg

import (
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/envkit/envkit/conda/record"
	"github.com/klauspost/compress/zstd"
)

// Limits bound what one artifact may make us decompress or hold, against
// decompression bombs. A zero field takes its default.
type Limits struct {
	// MaxUnpackedSize caps the decompressed bytes of an artifact (tar
	// headers and contents of all its tarballs). Default 64 GiB: the
	// largest real packages (CUDA libraries) unpack to a few GiB.
	MaxUnpackedSize int64
	// MaxMetadataSize caps one info/ metadata file read into memory
	// (paths.json of a package with 100,000 files is about 20 MiB).
	// Default 256 MiB.
	MaxMetadataSize int64
	// MaxMembers caps the number of tar members. Default 4,000,000.
	MaxMembers int
}

// DefaultLimits are the limits used when none are given.
var DefaultLimits = Limits{
	MaxUnpackedSize: 64 << 30,
	MaxMetadataSize: 256 << 20,
	MaxMembers:      4_000_000,
}

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

// maxZstdWindow is the largest zstd window accepted: 128 MiB, what
// "zstd --ultra -22" and "--long" use. The window is decoder memory.
const maxZstdWindow = 1 << 27

// Option configures Read and Extract.
type Option func(*config)

type config struct {
	limits Limits
	sha256 string
}

// WithLimits sets the decompression limits.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// WithSHA256 makes Read and Extract check the whole artifact against a
// sha256 (lowercase or uppercase hex, as a lock file records it) before
// reading anything from it.
func WithSHA256(hex string) Option { return func(c *config) { c.sha256 = hex } }

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	c.limits = c.limits.withDefaults()
	return c
}

// ReadFile returns the metadata of the artifact at name; see Read.
func ReadFile(name string, opts ...Option) (*Metadata, error) {
	f, size, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, size, name, opts...)
}

// open opens the artifact at name and returns its size, for the *File
// forms of Read and Extract.
func open(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Read returns the metadata of an artifact of size bytes without extracting
// its payload. filename (a path or base name) names the artifact in errors;
// the format is recognised from the content, and a name ending in .conda or
// .tar.bz2 must agree with it. For .conda only the info tarball is
// decompressed; a .tar.bz2 is decompressed until its metadata files have
// been seen. Read does not check the payload against paths.json: Extract
// does.
func Read(r io.ReaderAt, size int64, filename string, opts ...Option) (*Metadata, error) {
	c := newConfig(opts)
	u := &unpacker{archive: filename, limits: c.limits}
	if err := u.run(context.Background(), r, size, c); err != nil {
		return nil, err
	}
	return u.meta, nil
}

// run verifies, sniffs and walks an artifact; u.root nil means read only.
func (u *unpacker) run(ctx context.Context, r io.ReaderAt, size int64, c config) error {
	u.ctx = ctx
	if c.sha256 != "" {
		if err := Verify(io.NewSectionReader(r, 0, size), c.sha256); err != nil {
			return u.errorf("", "%w", err)
		}
	}
	format, err := sniff(r, size, u.archive)
	if err != nil {
		return u.errorf("", "%w", err)
	}
	switch format {
	case record.ArchiveConda:
		err = u.conda(r, size)
	default:
		err = u.tarBz2(io.NewSectionReader(r, 0, size))
	}
	if err != nil {
		return err
	}
	return u.finish()
}

// sniff recognises the format from the first bytes and checks the name.
func sniff(r io.ReaderAt, size int64, filename string) (record.ArchiveType, error) {
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	var got record.ArchiveType
	switch {
	case n >= 4 && string(magic[:4]) == "PK\x03\x04":
		got = record.ArchiveConda
	case n >= 3 && string(magic[:3]) == "BZh":
		got = record.ArchiveTarBz2
	default:
		return record.ArchiveUnknown, fmt.Errorf("%w: neither a .conda (zip) nor a .tar.bz2 (bzip2) archive (%d bytes, starts with %q)", ErrFormat, size, magic[:n])
	}
	if want := record.ArchiveTypeOf(filename); want != record.ArchiveUnknown && want != got {
		return record.ArchiveUnknown, fmt.Errorf("%w: named %s but the content is a %s archive", ErrFormat, want, got)
	}
	return got, nil
}

// conda walks a .conda: metadata.json, then the info tarball, then (when
// extracting, or when a legacy package needs its symlinks) the pkg tarball.
func (u *unpacker) conda(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return u.errorf("", "%w: zip: %v", ErrFormat, err)
	}
	var meta, info, pkg *zip.File
	for _, f := range zr.File {
		var slot **zip.File
		switch {
		case f.Name == "metadata.json":
			slot = &meta
		case strings.HasPrefix(f.Name, "info-") && strings.HasSuffix(f.Name, ".tar.zst"):
			slot = &info
		case strings.HasPrefix(f.Name, "pkg-") && strings.HasSuffix(f.Name, ".tar.zst"):
			slot = &pkg
		default:
			continue // unknown extra members are ignored, as conda does
		}
		if *slot != nil {
			return u.errorf(f.Name, "%w: zip holds both %s and %s", ErrFormat, (*slot).Name, f.Name)
		}
		*slot = f
	}
	switch {
	case meta == nil:
		return u.errorf("", "%w: no metadata.json in the zip", ErrFormat)
	case info == nil:
		return u.errorf("", "%w: no info-*.tar.zst in the zip", ErrFormat)
	case pkg == nil:
		return u.errorf("", "%w: no pkg-*.tar.zst in the zip", ErrFormat)
	}
	if err := u.condaMetadata(meta); err != nil {
		return err
	}
	if err := u.zstdPart(info, partInfo); err != nil {
		return err
	}
	if u.x != nil || (u.info["info/paths.json"] == nil && u.info["info/files"] != nil) {
		return u.zstdPart(pkg, partPkg)
	}
	return nil
}

// condaMetadata checks metadata.json's conda_pkg_format_version.
func (u *unpacker) condaMetadata(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return u.errorf(f.Name, "%w: %v", ErrFormat, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return u.errorf(f.Name, "%w: %v", ErrFormat, err)
	}
	var m struct {
		Version *int `json:"conda_pkg_format_version"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return u.errorf(f.Name, "%w", jsonError(data, err))
	}
	if m.Version == nil || *m.Version != 2 {
		v := "missing"
		if m.Version != nil {
			v = fmt.Sprint(*m.Version)
		}
		return u.errorf(f.Name, "%w: conda_pkg_format_version %s: want 2", ErrFormat, v)
	}
	return nil
}

// zstdPart walks one zstd tarball of a .conda.
func (u *unpacker) zstdPart(f *zip.File, part partKind) error {
	u.part = f.Name
	defer func() { u.part = "" }()
	rc, err := f.Open()
	if err != nil {
		return u.errorf("", "%w: %v", ErrFormat, err)
	}
	defer rc.Close()
	dec, err := getZstd(rc)
	if err != nil {
		return u.errorf("", "%w: zstd: %v", ErrFormat, err)
	}
	defer putZstd(dec)
	return u.tarball(dec, part, true)
}

// tarBz2 walks a .tar.bz2.
func (u *unpacker) tarBz2(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	return u.tarball(bzip2.NewReader(br), partAll, false)
}

var zstdPool sync.Pool

// getZstd returns a synchronous (single-goroutine) decoder reading from r,
// reused across archives: a decoder's buffers are the bulk of its cost.
func getZstd(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := zstdPool.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err != nil {
			return nil, err
		}
		return d, nil
	}
	return zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(maxZstdWindow),
		zstd.WithDecoderMaxMemory(maxZstdWindow*2))
}

func putZstd(d *zstd.Decoder) {
	if d.Reset(nil) == nil {
		zstdPool.Put(d)
	}
}

// errorf returns an *Error for member (prefixed with the current inner
// tarball of a .conda).
func (u *unpacker) errorf(member, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if u.part != "" {
		if member == "" {
			member = u.part
		} else {
			member = u.part + ": " + member
		}
	}
	return &Error{Archive: u.archive, Member: member, Err: err}
}
