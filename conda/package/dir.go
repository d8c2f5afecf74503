package condapkg

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ReadDir returns the metadata of an extracted package directory (the
// layout Extract writes, conda's package cache entries), for a linker that
// works from such a directory. It reads the same info/ files as Read, under
// an os.Root, with DefaultLimits.MaxMetadataSize per file; for a package
// without paths.json, softlinks are recognised with Lstat. It does not
// check the payload.
func ReadDir(dir string) (*Metadata, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	files := map[string][]byte{}
	for name := range metadataFiles {
		data, err := readLimited(root, name, DefaultLimits.MaxMetadataSize)
		switch {
		case err == nil:
			files[name] = data
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, &Error{Archive: dir, Member: name, Err: err}
		}
	}
	isSoftlink := func(p string) bool {
		fi, err := root.Lstat(p)
		return err == nil && fi.Mode()&fs.ModeSymlink != 0
	}
	m, member, err := buildMetadata(files, isSoftlink)
	if err != nil {
		return nil, &Error{Archive: dir, Member: member, Err: err}
	}
	return m, nil
}

// readLimited reads a regular file under root, refusing one larger than max.
func readLimited(root *os.Root, name string, max int64) ([]byte, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file (%v)", ErrFormat, fi.Mode().Type())
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit for a metadata file is %d", ErrTooLarge, fi.Size(), max)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+1))
}
