package spec

import (
	"fmt"
	"io"
	"io/fs"

	"github.com/envkit/envkit/internal/rootfs"
)

// DefaultMaxFileSize bounds the environment and conda files envkit reads:
// real ones are a few KiB; the bound keeps a hostile file (or /dev/zero)
// from taking the machine's memory.
const DefaultMaxFileSize = 4 << 20

// TooLargeError is the error for a file larger than the limit.
type TooLargeError struct {
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the limit of %s (raise it with the max-file-size option)", e.Name, FormatSize(e.Limit))
}

// NotRegularError is the error for a file that is not a regular file (a
// FIFO, a device, a socket, a directory).
type NotRegularError struct {
	Name string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Name, rootfs.Describe(e.Mode))
}

// ReadFile reads name from fsys, at most limit bytes (0: DefaultMaxFileSize).
// It looks first: a name that is not a regular file is refused before it is
// opened (opening a FIFO for reading blocks; a device never ends), and so is
// a file larger than limit. The content read is checked against limit again
// while reading, for a file that grows or was swapped. Errors never carry
// the file's content.
func ReadFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, err
	}
	// A file system whose Stat does not follow symlinks (the frontend's,
	// over a BuildKit reference, which resolves them inside the reference
	// when it reads) shows a symlink here: it is read, bounded, as the FS
	// resolves it. Anything else must be a regular file.
	link := st.Mode()&fs.ModeSymlink != 0
	if !st.Mode().IsRegular() && !link {
		return nil, &NotRegularError{Name: name, Mode: st.Mode()}
	}
	if st.Size() > limit && !link {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() && st.Mode()&fs.ModeSymlink == 0 {
		return nil, &NotRegularError{Name: name, Mode: st.Mode()}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Name: name, Limit: limit}
	}
	return data, nil
}

// FormatSize prints a byte count the way limits are written (4 MiB).
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
