// Package rootfs is a read-only fs.FS over one directory that nothing read
// through it can leave: paths and symlinks are resolved inside the directory
// (os.Root), and only regular files and directories are opened. A FIFO, a
// device or a socket is refused without being opened for reading, so reading
// an environment's files never blocks on a pipe or streams a device.
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrNotRegular is the error for a file that is neither a regular file nor
// a directory. Errors wrap it in a *fs.PathError.
var ErrNotRegular = errors.New("not a regular file")

// FS is a directory opened as a root. It implements fs.StatFS,
// fs.ReadDirFS, fs.ReadLinkFS and fs.SubFS.
type FS struct {
	root *os.Root
}

var (
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
	_ fs.SubFS      = (*FS)(nil)
)

// Open opens dir as the root of an FS.
func Open(dir string) (*FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: r}, nil
}

// Close releases the directory.
func (f *FS) Close() error { return f.root.Close() }

// Name is the directory's path as given to Open.
func (f *FS) Name() string { return f.root.Name() }

// Open opens a regular file or a directory. It looks before it opens
// (stat), and opens without blocking and checks again what it opened, so a
// file swapped for a FIFO in between is refused as well.
func (f *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	st, err := f.root.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := regularOrDir("open", name, st); err != nil {
		return nil, err
	}
	file, err := f.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err = file.Stat()
	if err == nil {
		err = regularOrDir("open", name, st)
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

func regularOrDir(op, name string, st fs.FileInfo) error {
	if st.Mode().IsRegular() || st.IsDir() {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w: %s", ErrNotRegular, Describe(st.Mode()))}
}

// Describe names the kind of file a mode is, for error messages.
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "an irregular file"
}

// Stat follows symlinks inside the root.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	return f.root.Stat(name)
}

// Lstat does not follow a final symlink.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	return f.root.Lstat(name)
}

// ReadLink returns a symlink's target as written; it does not follow it.
func (f *FS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return f.root.Readlink(name)
}

// ReadDir lists a directory inside the root.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return fs.ReadDir(f.root.FS(), name)
}

// Sub opens the directory dir inside the root as a root of its own: a dir
// that is a symlink is followed only while it stays inside.
func (f *FS) Sub(dir string) (fs.FS, error) {
	if !fs.ValidPath(dir) {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: fs.ErrInvalid}
	}
	if dir == "." {
		return f, nil
	}
	r, err := f.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: r}, nil
}
