package condapkg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Verify reads r to its end and checks its sha256 against want (hex, any
// case). A mismatch wraps ErrChecksum.
func Verify(r io.Reader, want string) error {
	h := NewHashingReader(r)
	if _, err := io.Copy(io.Discard, h); err != nil {
		return err
	}
	return h.Verify(want)
}

// HashingReader computes the sha256 and size of what is read through it,
// so a download can be checked while it is written to disk.
type HashingReader struct {
	r    io.Reader
	h    hash.Hash
	size int64
}

// NewHashingReader returns a HashingReader reading from r.
func NewHashingReader(r io.Reader) *HashingReader {
	return &HashingReader{r: r, h: sha256.New()}
}

func (h *HashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.size += int64(n)
	return n, err
}

// Size returns the number of bytes read so far.
func (h *HashingReader) Size() int64 { return h.size }

// SHA256 returns the lowercase hex sha256 of the bytes read so far.
func (h *HashingReader) SHA256() string { return hex.EncodeToString(h.h.Sum(nil)) }

// Verify checks the bytes read so far against want (hex, any case).
func (h *HashingReader) Verify(want string) error {
	if !isHexDigest(want) {
		return fmt.Errorf("%w: expected sha256 %q is not 64 hex digits", ErrFormat, want)
	}
	if got := h.SHA256(); got != strings.ToLower(want) {
		return fmt.Errorf("%w: sha256 %s (%d bytes), want %s", ErrChecksum, got, h.size, strings.ToLower(want))
	}
	return nil
}
