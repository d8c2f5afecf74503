package httpget

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// entryHeader is the first line of a cache entry; the body follows it.
type entryHeader struct {
	Key          string    `json:"key"` // the URL, and the Accept header when one was sent
	URL          string    `json:"url"` // the final URL, after redirects
	ContentType  string    `json:"content_type,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// entryPath is where key's cache entry lives in dir: a hash of the key, so
// that any URL maps to a safe file name.
func entryPath(dir, key string) string {
	if dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".cache")
}

// readEntry returns a cache entry's header and body, or nil when it is
// missing, unreadable or for another key.
func readEntry(path, key string) (*entryHeader, []byte) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil
	}
	var h entryHeader
	if json.Unmarshal(b[:i], &h) != nil || h.Key != key {
		return nil, nil
	}
	return &h, b[i+1:]
}

// writeEntry writes a cache entry atomically.
func writeEntry(path string, h *entryHeader, body []byte) error {
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return WriteAtomic(path, append(hb, '\n'), body)
}

// WriteAtomic writes parts to path through a temporary file in the same
// directory, synced, then renamed over path: readers (other goroutines or
// processes) see the old file or the new one, never a mix.
func WriteAtomic(path string, parts ...[]byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	for _, p := range parts {
		if _, err = tmp.Write(p); err != nil {
			return err
		}
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
