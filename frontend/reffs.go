package frontend

import (
	"bytes"
	"context"
	"errors"
	"github.com/envkit/envkit/spec"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"

	"github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// refFS is a read-only fs.FS over a solved gateway reference, rooted at
// root inside it. It lets the code that reads environment files and build
// contexts from disk (spec, hash) read them from BuildKit unchanged.
type refFS struct {
	ctx  context.Context
	ref  client.Reference
	root string
	// limit bounds a file read through the FS (0: none): the environment's
	// own files (conda file, lock, Dockerfile) are read whole into memory,
	// and a symlink's target is sized only by reading it.
	limit int64
}

var (
	_ fs.ReadDirFS  = (*refFS)(nil)
	_ fs.ReadFileFS = (*refFS)(nil)
	_ fs.ReadLinkFS = (*refFS)(nil)
)

func (f *refFS) full(name string, op string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return path.Join(f.root, name), nil
}

func (f *refFS) Lstat(name string) (fs.FileInfo, error) {
	p, err := f.full(name, "lstat")
	if err != nil {
		return nil, err
	}
	st, err := f.ref.StatFile(f.ctx, client.StatRequest{Path: p})
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
	}
	return statInfo{st}, nil
}

func (f *refFS) ReadLink(name string) (string, error) {
	fi, err := f.Lstat(name)
	if err != nil {
		return "", err
	}
	st := fi.(statInfo).st
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return st.Linkname, nil
}

func (f *refFS) ReadFile(name string) ([]byte, error) {
	p, err := f.full(name, "open")
	if err != nil {
		return nil, err
	}
	dt, err := readFile(f.ctx, f.ref, p, f.limit)
	if err != nil {
		var tl *spec.TooLargeError
		if errors.As(err, &tl) {
			return nil, &spec.TooLargeError{Name: name, Limit: tl.Limit}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return dt, nil
}

func (f *refFS) Open(name string) (fs.File, error) {
	fi, err := f.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return &refDir{fs: f, name: name, info: fi}, nil
	}
	dt, err := f.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &refFile{Reader: bytes.NewReader(dt), info: fi}, nil
}

func (f *refFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := f.full(name, "readdir")
	if err != nil {
		return nil, err
	}
	sts, err := f.ref.ReadDir(f.ctx, client.ReadDirRequest{Path: p})
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(sts))
	for _, st := range sts {
		out = append(out, fs.FileInfoToDirEntry(statInfo{st}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// statInfo adapts fsutil's Stat (whose Mode holds Go FileMode bits).
type statInfo struct{ st *fstypes.Stat }

func (s statInfo) Name() string       { return path.Base(s.st.Path) }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) Mode() fs.FileMode  { return fs.FileMode(s.st.Mode) }
func (s statInfo) ModTime() time.Time { return time.Unix(0, s.st.ModTime) }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return s.st }

type refFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *refFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *refFile) Close() error               { return nil }

type refDir struct {
	fs      *refFS
	name    string
	info    fs.FileInfo
	entries []fs.DirEntry
	read    bool
}

func (d *refDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *refDir) Read([]byte) (int, error)   { return 0, io.EOF }
func (d *refDir) Close() error               { return nil }
func (d *refDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		es, err := d.fs.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = es, true
	}
	if n <= 0 {
		es := d.entries
		d.entries = nil
		return es, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	es := d.entries[:n]
	d.entries = d.entries[n:]
	return es, nil
}

// readChunk bounds one gateway read: a gRPC message is limited in size
// (16 MiB by default), and conda-forge's repodata is hundreds of
// megabytes.
const readChunk = 4 << 20

// readFile reads a whole file of a reference, in chunks of readChunk, and
// fails with a *spec.TooLargeError past limit bytes (0: no limit). A file
// that fits one chunk costs one request; a larger one a stat more, to size
// the buffer.
func readFile(ctx context.Context, ref client.Reference, name string, limit int64) ([]byte, error) {
	var out []byte
	for {
		if limit > 0 && int64(len(out)) > limit {
			return nil, &spec.TooLargeError{Name: name, Limit: limit}
		}
		b, err := ref.ReadFile(ctx, client.ReadRequest{Filename: name, Range: &client.FileRange{Offset: len(out), Length: readChunk}})
		if err != nil {
			return nil, err
		}
		if out == nil && len(b) == readChunk {
			if st, err := ref.StatFile(ctx, client.StatRequest{Path: name}); err == nil {
				out = make([]byte, 0, max(st.Size, readChunk))
			}
		}
		out = append(out, b...)
		if len(b) < readChunk {
			if limit > 0 && int64(len(out)) > limit {
				return nil, &spec.TooLargeError{Name: name, Limit: limit}
			}
			return out, nil
		}
	}
}

// refStream reads a file of a reference in chunks of readChunk as it is
// read (a wheel being hashed), never whole.
type refStream struct {
	ctx  context.Context
	ref  client.Reference
	name string
	info fs.FileInfo
	off  int
	buf  []byte
	eof  bool
}

func (f *refStream) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *refStream) Close() error               { return nil }
func (f *refStream) Read(p []byte) (int, error) {
	if len(f.buf) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		b, err := f.ref.ReadFile(f.ctx, client.ReadRequest{Filename: f.name, Range: &client.FileRange{Offset: f.off, Length: readChunk}})
		if err != nil {
			return 0, err
		}
		f.off += len(b)
		f.buf, f.eof = b, len(b) < readChunk
		if len(b) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// refReaderAt reads ranges of a file of a reference (a wheel's zip
// directory and one member), each in requests of readChunk at most.
type refReaderAt struct {
	ctx  context.Context
	ref  client.Reference
	name string
}

func (r *refReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		want := min(len(p)-n, readChunk)
		b, err := r.ref.ReadFile(r.ctx, client.ReadRequest{Filename: r.name, Range: &client.FileRange{Offset: int(off) + n, Length: want}})
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b)
		if len(b) < want {
			return n, io.EOF
		}
	}
	return n, nil
}
