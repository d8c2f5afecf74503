package wheel

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors wrapped by *Error, for errors.Is.
var (
	// ErrFormat: the archive or a metadata file is malformed.
	ErrFormat = errors.New("malformed")
	// ErrUnsafePath: a member, RECORD or entry-point path would leave its
	// directory or the prefix, or would replace the environment's python.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrMismatch: the archive disagrees with its RECORD.
	ErrMismatch = errors.New("archive disagrees with RECORD")
	// ErrTooLarge: a limit of Limits was exceeded.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupported: something a wheel may not hold (a symbolic link, a
	// device, an encrypted member, an unknown compression method, a
	// Wheel-Version this installer does not know).
	ErrUnsupported = errors.New("unsupported")
	// ErrChecksum: the wheel's sha256 is not the expected one.
	ErrChecksum = errors.New("checksum mismatch")
)

// Error is a failure to read or install one wheel.
type Error struct {
	// Wheel is the wheel's file name.
	Wheel string
	// Member locates the problem inside the wheel: a member path, or a
	// metadata file ("pip-23.0.1.dist-info/RECORD"). Empty when the
	// problem is the archive as a whole.
	Member string
	// Line is the 1-based line of Member the problem is on, or 0.
	Line int
	// Err is what is wrong; it wraps one of the sentinel errors.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Wheel)
	if e.Member != "" {
		b.WriteString(": ")
		b.WriteString(e.Member)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
