package repodata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
// Transient failures are retried (see Gateway.Attempts).
type fetcher struct {
	client   *http.Client
	dir      string        // cache directory; "" = no cache
	attempts int           // tries per request, >= 1
	backoff  time.Duration // wait before the second try; doubled for each next
	idle     time.Duration // longest wait for the next bytes of a body
	limits   limits
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
// The body, as downloaded and as decoded, is bounded by b.
func (f *fetcher) get(ctx context.Context, u string, b bound, decode func([]byte) ([]byte, error)) ([]byte, error) {
	if path, ok, err := fileURL(u); ok {
		if err != nil {
			return nil, err
		}
		data, err := readLocal(path, u, b)
		if err == nil && decode != nil {
			data, err = decode(data)
		}
		return data, err
	}
	var cached *cacheHeader
	var body []byte
	entry := f.entryPath(u)
	if entry != "" {
		cached, body = readEntry(entry, u)
	}
	for attempt := 1; ; attempt++ {
		resp, data, err := f.try(ctx, u, cached, b) //nolint:bodyclose // try reads the body and closes it
		if err == nil {
			if resp.StatusCode == http.StatusNotModified {
				return body, nil
			}
			if decode != nil {
				if data, err = decode(data); err != nil {
					return nil, err
				}
			}
			if entry != "" {
				h := cacheHeader{URL: u, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now().UTC()}
				if err := writeEntry(entry, &h, data); err != nil {
					return nil, fmt.Errorf("repodata cache: %w", err)
				}
			}
			return data, nil
		}
		var te *transientError
		if !errors.As(err, &te) {
			var le *LimitError
			if errors.Is(err, errNotFound) || errors.As(err, &le) {
				return nil, err
			}
			return nil, &FetchError{URL: u, Err: err}
		}
		if attempt >= f.attempts {
			if attempt == 1 {
				return nil, &FetchError{URL: u, Err: te.err}
			}
			return nil, &FetchError{URL: u, Err: fmt.Errorf("%w (gave up after %s)", te.err, attempts(attempt))}
		}
		t := time.NewTimer(f.backoff << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, &FetchError{URL: u, Err: fmt.Errorf("GET %s: %w (after %s, the last: %w)", u, ctx.Err(), attempts(attempt), te.err)}
		case <-t.C:
		}
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// FetchError is a channel file that could not be fetched over HTTP: a
// status other than 200, 304, 404 and 410, or a transport failure (a
// refused connection, a timeout), after the tries transient failures get.
// Its text is Err's, which names the URL.
type FetchError struct {
	URL string // the file
	Err error
}

func (e *FetchError) Error() string { return e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

// transientError is a failure worth another try: 5xx, 429, a timeout, a
// refused or reset connection, a body cut short.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// errIdle ends a body read that waited too long for its next bytes.
var errIdle = errors.New("idle read timeout")

// try does one request. It returns the response with its body read (for a
// 200) or not (304), or an error: errNotFound for 404/410, a
// *transientError when another try may succeed.
func (f *fetcher) try(ctx context.Context, u string, cached *cacheHeader, b bound) (*http.Response, []byte, error) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
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
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", u, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the method and URL
		}
		err = fmt.Errorf("GET %s: %w", u, err)
		if permanent(err) {
			return nil, nil, err
		}
		return nil, nil, &transientError{err}
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && cached != nil:
		return resp, nil, nil
	case code == http.StatusNotFound || code == http.StatusGone:
		return nil, nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, errNotFound)
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return nil, nil, &transientError{fmt.Errorf("GET %s: %s", u, resp.Status)}
	case code != http.StatusOK:
		return nil, nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	// The read fails on a body shorter than its Content-Length, so a cut
	// download never reaches the cache; it is tried again.
	data, err := readBounded(&idleReader{r: resp.Body, d: f.idle, cancel: cancel}, resp.ContentLength, b, u)
	if err != nil {
		var le *LimitError
		switch {
		case errors.As(err, &le):
			return nil, nil, err
		case ctx.Err() != nil:
			return nil, nil, fmt.Errorf("GET %s: %w", u, ctx.Err())
		case errors.Is(context.Cause(actx), errIdle):
			err = fmt.Errorf("no data for %s (idle read timeout, Gateway.IdleTimeout)", f.idle)
		}
		return nil, nil, &transientError{fmt.Errorf("GET %s: reading the body: %w", u, err)}
	}
	return resp, data, nil
}

// idleReader cancels its request when a Read waits longer than d.
type idleReader struct {
	r      io.Reader
	d      time.Duration
	cancel context.CancelCauseFunc
}

func (r *idleReader) Read(p []byte) (int, error) {
	if r.d <= 0 {
		return r.r.Read(p)
	}
	t := time.AfterFunc(r.d, func() { r.cancel(errIdle) })
	n, err := r.r.Read(p)
	t.Stop()
	return n, err
}

// permanent reports whether a transport error will not go away by trying
// again: an untrusted certificate, a host that does not exist, a scheme
// the client does not speak. Anything else (timeouts, refused and reset
// connections, and errors whose type was lost on the way, as through
// BuildKit) is worth another try.
func permanent(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var dns *net.DNSError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return true
	case errors.As(err, &dns):
		return dns.IsNotFound
	}
	return strings.Contains(err.Error(), "unsupported protocol scheme")
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
func (f *fetcher) getShard(ctx context.Context, u string, h Hash, b bound) ([]byte, error) {
	var path string
	if f.dir != "" {
		path = filepath.Join(f.dir, "shards", h.String()+".msgpack.zst")
		if b, err := os.ReadFile(path); err == nil && sha256.Sum256(b) == h {
			return b, nil
		}
	}
	nocache := *f
	nocache.dir = ""
	data, err := nocache.get(ctx, u, b, nil)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); sum != h {
		return nil, fmt.Errorf("shard %s: content has SHA-256 %x, want %s", u, sum, h)
	}
	if path != "" {
		if err := writeAtomic(path, data); err != nil {
			return nil, fmt.Errorf("repodata cache: %w", err)
		}
	}
	return data, nil
}
