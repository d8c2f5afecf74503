package httpget

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrNotFound marks a resource that is not served: HTTP 404 or 410, or a
// missing local file. It is never tried again.
var ErrNotFound = errors.New("not found")

// FileURL reports whether u is a file:// URL and returns its path.
func FileURL(u string) (string, bool, error) {
	if !strings.HasPrefix(u, "file:") {
		return "", false, nil
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", true, err
	}
	return filepath.FromSlash(p.Path), true, nil
}

// OpenLocal opens a local file for u: a regular file only (a FIFO or a
// device would block or never end) of at most l.Max bytes. A missing file
// is ErrNotFound.
func OpenLocal(path, u string, l Limit) (*os.File, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", u, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	// O_NONBLOCK: should the file be swapped for a FIFO after Stat, opening
	// it does not wait for a writer; the check below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > l.Max {
		f.Close()
		switch {
		case err != nil:
			return nil, err
		case !fi.Mode().IsRegular():
			return nil, notRegular(path, fi.Mode())
		}
		return nil, l.Err(u)
	}
	return f, nil
}

// ReadLocal reads a local file for u as OpenLocal opens it, at most l.Max
// bytes (a file grown since it was opened is read to the limit only).
func ReadLocal(path, u string, l Limit) ([]byte, error) {
	f, err := OpenLocal(path, u, l)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data, err := ReadBounded(f, fi.Size(), l, u)
	var le *LimitError
	if err != nil && !errors.As(err, &le) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return data, err
}

func notRegular(path string, m os.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory, not a file"
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO), not a regular file"
	case m&os.ModeDevice != 0:
		kind = "a device, not a regular file"
	case m&os.ModeSocket != 0:
		kind = "a socket, not a regular file"
	}
	return fmt.Errorf("%s: %s", path, kind)
}
