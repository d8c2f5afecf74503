package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
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
	if c.CacheDir != "" {
		if err := os.MkdirAll(c.CacheDir, 0o755); err != nil {
			return "", err
		}
	}
	tmp, err := os.CreateTemp(c.CacheDir, ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	sum, err := s.fetcher.Download(ctx, f.URL, s.wheels, tmp, sha256.New)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sum), nil
}
