package repodata

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/envkit/envkit/internal/httpget"
)

// errNotFound marks a resource the channel does not serve (HTTP 404/410 or
// a missing file): an optional variant, or a subdir the channel lacks.
var errNotFound = httpget.ErrNotFound

// FetchError is a channel file that could not be fetched over HTTP: a
// status other than 200, 304, 404 and 410, or a transport failure (a
// refused connection, a timeout), after the tries transient failures get.
// Its text is Err's, which names the URL.
type FetchError = httpget.FetchError

// fetcher reads channel files over HTTP(S) or from the file system, keeping
// HTTP responses in a disk cache revalidated with ETag / Last-Modified.
// Transient failures are retried (see Gateway.Attempts).
type fetcher struct {
	http   httpget.Fetcher
	limits limits
}

// get returns the body at u, from the cache when the server says it has not
// changed (304). A 404 or missing file is errNotFound. decode, if not nil,
// transforms a freshly downloaded body before it is cached (decompression).
// The body, as downloaded and as decoded, is bounded by b.
func (f *fetcher) get(ctx context.Context, u string, b httpget.Limit, decode func([]byte) ([]byte, error)) ([]byte, error) {
	resp, err := f.http.Get(ctx, u, "", b, decode)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// getShard returns a content-addressed shard, from the cache when present
// (shards never change), checking its SHA-256 either way.
func (f *fetcher) getShard(ctx context.Context, u string, h Hash, b httpget.Limit) ([]byte, error) {
	var path string
	if f.http.CacheDir != "" {
		path = filepath.Join(f.http.CacheDir, "shards", h.String()+".msgpack.zst")
		if b, err := os.ReadFile(path); err == nil && sha256.Sum256(b) == h {
			return b, nil
		}
	}
	nocache := f.http
	nocache.CacheDir = "" // kept by its digest below, not by its URL
	resp, err := nocache.Get(ctx, u, "", b, nil)
	if err != nil {
		return nil, err
	}
	data := resp.Body
	if sum := sha256.Sum256(data); sum != h {
		return nil, fmt.Errorf("shard %s: content has SHA-256 %x, want %s", u, sum, h)
	}
	if path != "" {
		if err := httpget.WriteAtomic(path, data); err != nil {
			return nil, fmt.Errorf("repodata cache: %w", err)
		}
	}
	return data, nil
}
