package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/envkit/envkit/internal/httpget"
)

// SHA256 downloads a distribution file (at most MaxFileSize, with the
// client's credentials, retries and timeouts) and returns its sha256 in
// hex: for a file an index lists without one, or a direct URL given
// without a #sha256= fragment (pypi/resolve's Hasher).
func (c *Client) SHA256(ctx context.Context, f File) (string, error) {
	s, err := c.init()
	if err != nil {
		return "", err
	}
	tmp, done, err := c.scratch()
	if err != nil {
		return "", err
	}
	defer done()
	sum, err := s.fetcher.Download(ctx, f.URL, s.wheels, tmp, sha256.New)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum), nil
}

// scratchFile is where a distribution is downloaded to be read back.
type scratchFile interface {
	httpget.Sink
	io.ReaderAt
}

// scratch returns a place to download a distribution to: a temporary file
// under CacheDir (or the system's temporary directory), or memory with
// InMemory; done removes it.
func (c *Client) scratch() (scratchFile, func(), error) {
	if c.InMemory {
		return &httpget.Buffer{}, func() {}, nil
	}
	if c.CacheDir != "" {
		if err := os.MkdirAll(c.CacheDir, 0o755); err != nil {
			return nil, nil, err
		}
	}
	tmp, err := os.CreateTemp(c.CacheDir, ".download-*")
	if err != nil {
		return nil, nil, fmt.Errorf("a temporary file for a download: %w", err)
	}
	return tmp, func() { tmp.Close(); os.Remove(tmp.Name()) }, nil
}
