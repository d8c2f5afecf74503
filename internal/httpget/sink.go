package httpget

import (
	"errors"
	"io"
)

// Sink is what Download writes to, from its start again on each try: an
// *os.File, or a Buffer in memory.
type Sink interface {
	io.Writer
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
}

// Buffer is a Sink in memory that reads back (io.ReaderAt), for a process
// with no writable temporary directory, such as envkit's frontend in a
// BuildKit gateway container. Download bounds what it holds.
type Buffer struct {
	b   []byte
	off int64
}

var errNegative = errors.New("httpget.Buffer: negative position")

// Write writes p at the current position.
func (m *Buffer) Write(p []byte) (int, error) {
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	n := copy(m.b[m.off:], p)
	m.off += int64(n)
	return n, nil
}

// Truncate changes the size to n (a larger size adds zero bytes).
func (m *Buffer) Truncate(n int64) error {
	if n < 0 {
		return errNegative
	}
	if n <= int64(len(m.b)) {
		m.b = m.b[:n]
	} else {
		m.b = append(m.b, make([]byte, n-int64(len(m.b)))...)
	}
	return nil
}

// Seek sets the position for the next Write, as os.File's does.
func (m *Buffer) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += m.off
	case io.SeekEnd:
		offset += int64(len(m.b))
	}
	if offset < 0 {
		return 0, errNegative
	}
	m.off = offset
	return offset, nil
}

// ReadAt reads len(p) bytes from off.
func (m *Buffer) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errNegative
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Len is the size of what the Buffer holds.
func (m *Buffer) Len() int64 { return int64(len(m.b)) }
