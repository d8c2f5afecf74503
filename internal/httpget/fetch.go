package httpget

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the fields of a caller's settings left zero.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultHeaderTimeout  = 60 * time.Second
	DefaultIdleTimeout    = 60 * time.Second
	DefaultAttempts       = 3
	DefaultRetryBackoff   = 500 * time.Millisecond
)

// NewClient returns an HTTP client whose connections (TCP and TLS) time out
// after connect and whose requests wait at most header for the response
// headers; zero means the default. Proxy and TLS settings are
// http.DefaultTransport's.
func NewClient(connect, header time.Duration) *http.Client {
	connect = orDefault(connect, DefaultConnectTimeout)
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	t.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connect
	t.ResponseHeaderTimeout = orDefault(header, DefaultHeaderTimeout)
	return &http.Client{Transport: t}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Fetcher reads documents over HTTP(S) or from file:// URLs, keeping HTTP
// responses in a disk cache revalidated with ETag / Last-Modified. A
// Fetcher is safe for concurrent use and may be copied (to change CacheDir
// for some requests).
type Fetcher struct {
	// Client does the requests; nil means NewClient(0, 0).
	Client *http.Client
	// CacheDir holds the cache entries; "" means no cache.
	CacheDir string
	// CacheName names the cache in errors writing it: "repodata cache".
	CacheName string
	// Attempts is how many times a request failing transiently is tried;
	// 0 means 1.
	Attempts int
	// Backoff is the wait before the second try, doubled before each next.
	Backoff time.Duration
	// IdleTimeout bounds the wait for the next bytes of a body; 0 means
	// none. IdleField names the setting in the error: "Client.IdleTimeout".
	IdleTimeout time.Duration
	IdleField   string
	// Prepare, if set, completes each request (credentials).
	Prepare func(*http.Request)
	// StatusError, if set, makes the error of a GET of u whose status is
	// neither a success, nor absent (404, 410), nor transient; nil means
	// the default "GET <u>: <status>".
	StatusError func(u string, req *http.Request, resp *http.Response) error
}

// Response is a body read, with where it came from.
type Response struct {
	Body        []byte
	URL         string // after redirects, without user information
	ContentType string
}

// transientError is a failure worth another try.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Transient reports whether err is a failure another try may mend: a 5xx,
// 429 or 408 status, a timeout, a refused or reset connection, a body cut
// short or stalled.
func Transient(err error) bool {
	var te *transientError
	return errors.As(err, &te)
}

// TransientStatus reports whether an HTTP status is worth another try:
// 5xx, 429 (too many requests), 408 (request timeout).
func TransientStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// Permanent reports whether a transport error will not go away by trying
// again: an untrusted certificate, a host that does not exist, a scheme
// the client does not speak. Anything else (timeouts, refused and reset
// connections, and errors whose type was lost on the way, as through
// BuildKit) is worth another try.
func Permanent(err error) bool {
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

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return defaultClient
}

var defaultClient = NewClient(0, 0)

// Retry runs try again while it fails transiently, up to f.Attempts times,
// waiting f.Backoff, then twice that, and so on. The error of the last try
// says how many were made; a cancelled ctx ends the wait.
func (f *Fetcher) Retry(ctx context.Context, u string, try func() error) error {
	for attempt := 1; ; attempt++ {
		err := try()
		var te *transientError
		if err == nil || !errors.As(err, &te) {
			return err
		}
		if attempt >= max(f.Attempts, 1) {
			if attempt == 1 {
				return te.err
			}
			return fmt.Errorf("%w (gave up after %s)", te.err, attempts(attempt))
		}
		t := time.NewTimer(f.Backoff << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("GET %s: %w (after %s, the last: %w)", u, ctx.Err(), attempts(attempt), te.err)
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

// Get returns the body at u, at most l.Max bytes, from the cache when the
// server says it has not changed (304). accept, if not "", is sent as the
// Accept header and is part of the cache key. A 404, 410 or missing file
// is ErrNotFound, a body over the limit a *LimitError, any other failure
// over HTTP a *FetchError. decode, if not nil, transforms a body freshly read
// (decompression) before it is cached and returned.
func (f *Fetcher) Get(ctx context.Context, u, accept string, l Limit, decode func([]byte) ([]byte, error)) (*Response, error) {
	if path, ok, err := FileURL(u); ok {
		if err != nil {
			return nil, err
		}
		data, err := ReadLocal(path, u, l)
		if err == nil && decode != nil {
			data, err = decode(data)
		}
		if err != nil {
			return nil, err
		}
		return &Response{Body: data, URL: u}, nil
	}
	key := u
	if accept != "" {
		key += "\n" + accept
	}
	var cached *entryHeader
	var body []byte
	entry := entryPath(f.CacheDir, key)
	if entry != "" {
		cached, body = readEntry(entry, key)
	}
	var hr *http.Response
	var data []byte
	err := f.Retry(ctx, u, func() error {
		var err error
		hr, data, err = f.try(ctx, u, accept, cached, l) //nolint:bodyclose // try reads the body and closes it
		return err
	})
	if err != nil {
		return nil, fetchError(u, err)
	}
	if hr.StatusCode == http.StatusNotModified {
		return &Response{Body: body, URL: cached.URL, ContentType: cached.ContentType}, nil
	}
	if decode != nil {
		if data, err = decode(data); err != nil {
			return nil, err
		}
	}
	final := *hr.Request.URL // after redirects
	final.User = nil
	resp := &Response{Body: data, URL: final.String(), ContentType: hr.Header.Get("Content-Type")}
	if entry != "" {
		h := entryHeader{Key: key, URL: resp.URL, ContentType: resp.ContentType, ETag: hr.Header.Get("ETag"),
			LastModified: hr.Header.Get("Last-Modified"), Fetched: time.Now().UTC()}
		if err := writeEntry(entry, &h, data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.CacheName, err)
		}
	}
	return resp, nil
}

// FetchError is a URL that could not be fetched over HTTP: a status other
// than 200, 304, 404 and 410, or a transport failure (a refused
// connection, a timeout, a body cut short), after the tries transient
// failures get. Its text is Err's, which names the URL.
type FetchError struct {
	URL string
	Err error
}

func (e *FetchError) Error() string { return e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

// fetchError wraps a failed fetch of u in a FetchError, but for what is
// absent and what is over its limit.
func fetchError(u string, err error) error {
	var le *LimitError
	if err == nil || errors.Is(err, ErrNotFound) || errors.As(err, &le) {
		return err
	}
	return &FetchError{URL: u, Err: err}
}

// errIdle ends a body read that waited too long for its next bytes.
var errIdle = errors.New("idle read timeout")

// open does one GET of u and checks its status. It returns the response
// with its body unread (200, or 304 when cached is not nil) and the
// body's reader, which ends the request once it waits longer than
// f.IdleTimeout; or an error: ErrNotFound for 404/410, a transient error
// when another try may succeed. The caller closes the body, then calls
// done.
func (f *Fetcher) open(ctx context.Context, u, accept string, cached *entryHeader) (*http.Response, *body, error) {
	actx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	if err != nil {
		cancel(nil)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, with any password
		}
		return nil, nil, fmt.Errorf("GET %s: %w", Redact(u), err)
	}
	req.Header.Set("User-Agent", "envkit")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if f.Prepare != nil {
		f.Prepare(req)
	}
	if cached != nil {
		if cached.ETag != "" {
			req.Header.Set("If-None-Match", cached.ETag)
		}
		if cached.LastModified != "" {
			req.Header.Set("If-Modified-Since", cached.LastModified)
		}
	}
	resp, err := f.client().Do(req)
	if err != nil {
		cancel(nil)
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", u, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the method and URL
		}
		err = fmt.Errorf("GET %s: %w", u, err)
		if Permanent(err) {
			return nil, nil, err
		}
		return nil, nil, &transientError{err}
	}
	fail := func(err error) (*http.Response, *body, error) {
		resp.Body.Close()
		cancel(nil)
		return nil, nil, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK, code == http.StatusNotModified && cached != nil:
	case code == http.StatusNotFound || code == http.StatusGone:
		return fail(fmt.Errorf("GET %s: %s: %w", u, resp.Status, ErrNotFound))
	case TransientStatus(code):
		return fail(&transientError{fmt.Errorf("GET %s: %s", u, resp.Status)})
	default:
		if f.StatusError != nil {
			if err := f.StatusError(u, req, resp); err != nil {
				return fail(err)
			}
		}
		return fail(fmt.Errorf("GET %s: %s", u, resp.Status))
	}
	return resp, &body{f: f, ctx: ctx, actx: actx, cancel: cancel, u: u, r: resp.Body}, nil
}

// body reads a response body, ending the request when a read waits
// longer than f.IdleTimeout.
type body struct {
	f         *Fetcher
	ctx, actx context.Context
	cancel    context.CancelCauseFunc
	u         string
	r         io.Reader
}

func (b *body) Read(p []byte) (int, error) {
	if b.f.IdleTimeout <= 0 {
		return b.r.Read(p)
	}
	t := time.AfterFunc(b.f.IdleTimeout, func() { b.cancel(errIdle) })
	n, err := b.r.Read(p)
	t.Stop()
	return n, err
}

func (b *body) done() { b.cancel(nil) }

// fail turns a failed body read into the error to return: a LimitError as
// it is, the context's end, else a transient error (a body cut short or
// stalled is tried again).
func (b *body) fail(err error) error {
	var le *LimitError
	switch {
	case errors.As(err, &le):
		return err
	case b.ctx.Err() != nil:
		return fmt.Errorf("GET %s: %w", b.u, b.ctx.Err())
	case errors.Is(context.Cause(b.actx), errIdle):
		err = fmt.Errorf("no data for %s (idle read timeout, %s)", b.f.IdleTimeout, b.f.IdleField)
	}
	return &transientError{fmt.Errorf("GET %s: reading the body: %w", b.u, err)}
}

// try does one request and reads a 200's body, bounded by l.
func (f *Fetcher) try(ctx context.Context, u, accept string, cached *entryHeader, l Limit) (*http.Response, []byte, error) {
	resp, b, err := f.open(ctx, u, accept, cached)
	if err != nil {
		return nil, nil, err
	}
	defer b.done()
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return resp, nil, nil
	}
	// The read fails on a body shorter than its Content-Length, so a cut
	// download never reaches the cache; it is tried again.
	data, err := ReadBounded(b, resp.ContentLength, l, u)
	if err != nil {
		return nil, nil, b.fail(err)
	}
	return resp, data, nil
}

// Download writes the body at u to w (truncated before each try), at most
// l.Max bytes, and returns the digest of what it wrote under newHash. It
// is not cached. Its errors are Get's. A local file is streamed as a body is.
func (f *Fetcher) Download(ctx context.Context, u string, l Limit, w Sink, newHash func() hash.Hash) ([]byte, error) {
	if path, ok, err := FileURL(u); ok {
		if err != nil {
			return nil, err
		}
		src, err := OpenLocal(path, u, l)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		h := newHash()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(src, l.Max+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if n > l.Max { // grown since it was opened
			return nil, l.Err(u)
		}
		return h.Sum(nil), nil
	}
	var sum []byte
	var local error // writing w
	err := f.Retry(ctx, u, func() error {
		if err := w.Truncate(0); err != nil {
			local = err
			return err
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			local = err
			return err
		}
		resp, b, err := f.open(ctx, u, "", nil)
		if err != nil {
			return err
		}
		defer b.done()
		defer resp.Body.Close()
		if resp.ContentLength > l.Max {
			return l.Err(u)
		}
		h := newHash()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(b, l.Max+1))
		if err == nil && n > l.Max {
			return l.Err(u)
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return b.fail(err)
		}
		sum = h.Sum(nil)
		return nil
	})
	if err != nil && local == nil {
		err = fetchError(u, err)
	}
	return sum, err
}

// Redact returns u without its user information (user, password, token),
// for messages; from a string that is not a URL it removes anything between
// "://" and an "@" before the path.
func Redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		if p.User == nil {
			return u
		}
		p.User = nil
		return p.String()
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			return u[:i+3] + rest[at+1:]
		}
	}
	return u
}
