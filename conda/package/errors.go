package condapkg

import (
	"errors"
	"strings"
)

// Sentinel errors wrapped by *Error, for errors.Is.
var (
	// ErrFormat: the archive or a metadata file is malformed.
	ErrFormat = errors.New("malformed")
	// ErrUnsafePath: a member path or link target would leave the package.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrMismatch: the payload disagrees with info/paths.json.
	ErrMismatch = errors.New("payload disagrees with info/paths.json")
	// ErrTooLarge: a limit of Limits was exceeded.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupported: a member type a conda package may not hold (device,
	// FIFO, sparse file).
	ErrUnsupported = errors.New("unsupported")
	// ErrChecksum: the artifact's sha256 is not the expected one.
	ErrChecksum = errors.New("checksum mismatch")
)

// Error is a failure to read or extract one archive.
type Error struct {
	// Archive is the artifact's file name (or path, for Open).
	Archive string
	// Member locates the problem inside the archive: a member path
	// ("info/paths.json", "lib/libz.so"), prefixed with the inner tarball for
	// .conda ("pkg-zlib-1.2.11-h7b6447c_3.tar.zst: lib/libz.so"). Empty when
	// the problem is the archive as a whole.
	Member string
	// Err is what is wrong; it wraps one of the sentinel errors.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Archive)
	if e.Member != "" {
		b.WriteString(": ")
		b.WriteString(e.Member)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
