package repodata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errNotFound marks a resource the channel does not serve (HTTP 404/410 or
// a missing file): an optional variant, or a subdir the channel lacks.
var errNotFound = errors.New("not found")

// cacheHeader is the first line of a cache entry; the body follows it.
type cacheHeader struct {
	URL          string    `json:"url"` // the URL the body was fetched from
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// fetcher reads channel files over HTTP(S) or from the file system, keeping
// HTTP responses in a disk cache revalidated with ETag / Last-Modified.
type fetcher struct {
	client *http.Client
	dir    string // cache directory; "" = no cache
}

// fileURL reports whether u is a file:// URL and returns its path.
func fileURL(u string) (string, bool, error) {
	if !strings.HasPrefix(u, "file:") {
		return "", false, nil
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", true, err
	}
	return filepath.FromSlash(p.Path), true, nil
}

// get returns the body at u, from the cache when the server says it has not
// changed (304). A 404 or missing file is errNotFound. decode, if not nil,
// transforms a freshly downloaded body before it is cached (decompression).
func (f *fetcher) get(ctx context.Context, u string, decode func([]byte) ([]byte, error)) ([]byte, error) {
	if path, ok, err := fileURL(u); ok {
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", u, errNotFound)
		}
		if err == nil && decode != nil {
			b, err = decode(b)
		}
		return b, err
	}
	var cached *cacheHeader
	var body []byte
	entry := f.entryPath(u)
	if entry != "" {
		cached, body = readEntry(entry, u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "envkit")
	if cached != nil {
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		return body, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, errNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	// ReadAll fails on a body shorter than its Content-Length, so a cut
	// download never reaches the cache.
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if decode != nil {
		if b, err = decode(b); err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
	}
	if entry != "" {
		h := cacheHeader{URL: u, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now().UTC()}
		if err := writeEntry(entry, &h, b); err != nil {
			return nil, fmt.Errorf("repodata cache: %w", err)
		}
	}
	return b, nil
}

// entryPath is where u's cache entry lives: a hash of the URL, so that any
// URL maps to a safe file name.
func (f *fetcher) entryPath(u string) string {
	if f.dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(u))
	return filepath.Join(f.dir, hex.EncodeToString(sum[:12])+".cache")
}

// readEntry returns a cache entry's header and body, or nil when it is
// missing, unreadable or for another URL.
func readEntry(path, u string) (*cacheHeader, []byte) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil
	}
	var h cacheHeader
	if json.Unmarshal(b[:i], &h) != nil || h.URL != u {
		return nil, nil
	}
	return &h, b[i+1:]
}

// writeEntry writes a cache entry atomically: to a temporary file in the
// same directory, synced, then renamed over the old entry. Readers (other
// goroutines or processes) see the old entry or the new one, never a mix.
func writeEntry(path string, h *cacheHeader, body []byte) error {
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return writeAtomic(path, append(hb, '\n'), body)
}

func writeAtomic(path string, parts ...[]byte) (err error) {
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

// getShard returns a content-addressed shard, from the cache when present
// (shards never change), checking its SHA-256 either way.
func (f *fetcher) getShard(ctx context.Context, u string, h Hash) ([]byte, error) {
	var path string
	if f.dir != "" {
		path = filepath.Join(f.dir, "shards", h.String()+".msgpack.zst")
		if b, err := os.ReadFile(path); err == nil && sha256.Sum256(b) == h {
			return b, nil
		}
	}
	var nocache fetcher = fetcher{client: f.client}
	b, err := nocache.get(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(b); sum != h {
		return nil, fmt.Errorf("shard %s: content has SHA-256 %x, want %s", u, sum, h)
	}
	if path != "" {
		if err := writeAtomic(path, b); err != nil {
			return nil, fmt.Errorf("repodata cache: %w", err)
		}
	}
	return b, nil
}
