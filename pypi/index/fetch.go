package index

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
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errNotFound marks a resource the index does not serve (HTTP 404/410 or a
// missing file): a project an index lacks, a metadata file not served.
var errNotFound = errors.New("not found")

// fetcher reads index files over HTTP(S) or from the file system, keeping
// HTTP responses in a disk cache revalidated with ETag / Last-Modified.
// Transient failures are retried.
type fetcher struct {
	client   *http.Client
	dir      string        // cache directory; "" = no cache
	attempts int           // tries per request, >= 1
	backoff  time.Duration // wait before the second try; doubled for each next
	idle     time.Duration // longest wait for the next bytes of a body
	auth     []credential
}

// credential is the user information of one index URL.
type credential struct {
	host, path string // the index's host and base path
	user       *url.Userinfo
}

// credentialFor returns the credentials to send to u: those of the index
// on u's host whose base path is the longest prefix of u's path, else the
// first given for that host (files served beside the index), else nil.
func (f *fetcher) credentialFor(u *url.URL) *url.Userinfo {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	var best *credential
	for i := range f.auth {
		c := &f.auth[i]
		switch {
		case c.host != u.Host:
		case best == nil:
			best = c
		case strings.HasPrefix(u.Path, c.path) && (!strings.HasPrefix(u.Path, best.path) || len(c.path) > len(best.path)):
			best = c
		}
	}
	if best == nil {
		return nil
	}
	return best.user
}

// response is a body read, with where it came from after redirects (no
// credentials) and its content type.
type response struct {
	body        []byte
	url         string
	contentType string
}

// cacheHeader is the first line of a cache entry; the body follows it.
type cacheHeader struct {
	Key          string    `json:"key"` // URL and Accept
	URL          string    `json:"url"` // final URL, after redirects
	ContentType  string    `json:"content_type,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// localPath reports whether u is a file:// URL and returns its path.
func localPath(u string) (string, bool) {
	if !strings.HasPrefix(u, "file:") {
		return "", false
	}
	p, err := url.Parse(u)
	if err != nil {
		return "", false
	}
	return filepath.FromSlash(p.Path), true
}

// get returns the body at u, from the cache when the server says it has not
// changed (304). A 404 or missing file is errNotFound. The body is bounded
// by b.
func (f *fetcher) get(ctx context.Context, u, accept string, b bound) (*response, error) {
	if path, ok := localPath(u); ok {
		data, err := readLocal(path, u, b)
		if err != nil {
			return nil, err
		}
		return &response{body: data, url: u}, nil
	}
	key := u + "\n" + accept
	var cached *cacheHeader
	var body []byte
	entry := f.entryPath(key)
	if entry != "" {
		cached, body = readEntry(entry, key)
	}
	var resp *response
	err := f.retry(ctx, u, func() error {
		hr, data, err := f.try(ctx, u, accept, cached, b)
		if err != nil {
			return err
		}
		if hr.StatusCode == http.StatusNotModified {
			resp = &response{body: body, url: cached.URL, contentType: cached.ContentType}
			return nil
		}
		ru := *hr.Request.URL // after redirects
		ru.User = nil
		final := ru.String()
		resp = &response{body: data, url: final, contentType: hr.Header.Get("Content-Type")}
		if entry != "" {
			h := cacheHeader{Key: key, URL: resp.url, ContentType: resp.contentType, ETag: hr.Header.Get("ETag"),
				LastModified: hr.Header.Get("Last-Modified"), Fetched: time.Now().UTC()}
			if err := writeEntry(entry, &h, data); err != nil {
				return fmt.Errorf("index cache: %w", err)
			}
		}
		return nil
	})
	return resp, err
}

// retry runs one try after another while it fails transiently, up to
// f.attempts, with exponential backoff.
func (f *fetcher) retry(ctx context.Context, u string, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		var te *transientError
		if err == nil || !errors.As(err, &te) {
			return err
		}
		if attempt >= f.attempts {
			if attempt == 1 {
				return te.err
			}
			return fmt.Errorf("%w (gave up after %d attempts)", te.err, attempt)
		}
		t := time.NewTimer(f.backoff << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("GET %s: %w (after %d attempts, the last: %v)", u, ctx.Err(), attempt, te.err)
		case <-t.C:
		}
	}
}

// transientError is a failure worth another try: 5xx, 429, a timeout, a
// refused or reset connection, a body cut short.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// errIdle ends a body read that waited too long for its next bytes.
var errIdle = errors.New("idle read timeout")

// request does one GET of u and checks its status. It returns the
// response with its body unread (200, or 304 when cached is not nil), or
// an error: errNotFound for 404/410, a *transientError when another try
// may succeed. The caller closes the body and calls cancel.
func (f *fetcher) request(ctx context.Context, u, accept string, cached *cacheHeader) (*http.Response, context.CancelCauseFunc, context.Context, error) {
	actx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		cancel(nil)
		return nil, nil, nil, fmt.Errorf("GET %s: %v", Redact(u), err)
	}
	req.Header.Set("User-Agent", "envkit")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	ui := f.credentialFor(req.URL)
	if ui != nil {
		pw, _ := ui.Password()
		req.SetBasicAuth(ui.Username(), pw)
	}
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
		cancel(nil)
		if ctx.Err() != nil {
			return nil, nil, nil, fmt.Errorf("GET %s: %w", u, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the method and URL
		}
		err = fmt.Errorf("GET %s: %w", u, err)
		if permanent(err) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, &transientError{err}
	}
	fail := func(err error) (*http.Response, context.CancelCauseFunc, context.Context, error) {
		resp.Body.Close()
		cancel(nil)
		return nil, nil, nil, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified && cached != nil:
	case code == http.StatusOK:
	case code == http.StatusNotFound || code == http.StatusGone:
		return fail(fmt.Errorf("GET %s: %s: %w", u, resp.Status, errNotFound))
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		hint := "the index wants credentials: put them in the index URL (https://user:token@host/...)"
		if ui != nil {
			hint = "the credentials given in the index URL were refused"
		}
		return fail(fmt.Errorf("GET %s: %s (%s)", u, resp.Status, hint))
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return fail(&transientError{fmt.Errorf("GET %s: %s", u, resp.Status)})
	default:
		return fail(fmt.Errorf("GET %s: %s", u, resp.Status))
	}
	return resp, cancel, actx, nil
}

// bodyError turns a failed body read into the error to return.
func (f *fetcher) bodyError(ctx, actx context.Context, u string, err error) error {
	var le *LimitError
	switch {
	case errors.As(err, &le):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("GET %s: %w", u, ctx.Err())
	case context.Cause(actx) == errIdle:
		err = fmt.Errorf("no data for %s (idle read timeout, Client.IdleTimeout)", f.idle)
	}
	return &transientError{fmt.Errorf("GET %s: reading the body: %w", u, err)}
}

// try does one request and reads a 200's body, bounded by b.
func (f *fetcher) try(ctx context.Context, u, accept string, cached *cacheHeader, b bound) (*http.Response, []byte, error) {
	resp, cancel, actx, err := f.request(ctx, u, accept, cached)
	if err != nil {
		return nil, nil, err
	}
	defer cancel(nil)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return resp, nil, nil
	}
	// The read fails on a body shorter than its Content-Length, so a cut
	// download never reaches the cache; it is tried again.
	data, err := readBounded(&idleReader{r: resp.Body, d: f.idle, cancel: cancel}, resp.ContentLength, b, u)
	if err != nil {
		return nil, nil, f.bodyError(ctx, actx, u, err)
	}
	return resp, data, nil
}

// download writes the body at u to w (truncated before each try), at most
// b.max bytes, and returns the digest of what it wrote under newHash.
func (f *fetcher) download(ctx context.Context, u string, b bound, w *os.File, newHash func() hash.Hash) ([]byte, error) {
	if path, ok := localPath(u); ok {
		// Streamed, as over HTTP: a local wheel may be gigabytes.
		src, err := openLocal(path, u, b)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		h := newHash()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(src, b.max+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if n > b.max { // grown since it was opened
			return nil, b.errorFor(u)
		}
		return h.Sum(nil), nil
	}
	var sum []byte
	err := f.retry(ctx, u, func() error {
		if err := w.Truncate(0); err != nil {
			return err
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			return err
		}
		resp, cancel, actx, err := f.request(ctx, u, "", nil)
		if err != nil {
			return err
		}
		defer cancel(nil)
		defer resp.Body.Close()
		if resp.ContentLength > b.max {
			return b.errorFor(u)
		}
		h := newHash()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(&idleReader{r: resp.Body, d: f.idle, cancel: cancel}, b.max+1))
		if err == nil && n > b.max {
			return b.errorFor(u)
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return f.bodyError(ctx, actx, u, err)
		}
		sum = h.Sum(nil)
		return nil
	})
	return sum, err
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
// the client does not speak.
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

// entryPath is where key's cache entry lives: a hash of the key, so that
// any URL maps to a safe file name.
func (f *fetcher) entryPath(key string) string {
	if f.dir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(f.dir, hex.EncodeToString(sum[:12])+".cache")
}

// readEntry returns a cache entry's header and body, or nil when it is
// missing, unreadable or for another key.
func readEntry(path, key string) (*cacheHeader, []byte) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil
	}
	var h cacheHeader
	if json.Unmarshal(b[:i], &h) != nil || h.Key != key {
		return nil, nil
	}
	return &h, b[i+1:]
}

// writeEntry writes a cache entry atomically.
func writeEntry(path string, h *cacheHeader, body []byte) error {
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return writeAtomic(path, append(hb, '\n'), body)
}

// writeAtomic writes to a temporary file in the same directory, synced,
// then renamed: readers see the old file or the new one, never a mix.
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
