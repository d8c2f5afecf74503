package index

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/envkit/envkit/internal/httpget"
	"github.com/envkit/envkit/pypi/name"
)

// PyPI is the default index, pip's --index-url default.
const PyPI = "https://pypi.org/simple/"

// Default timeouts and retries of a Client whose fields are zero.
const (
	DefaultConnectTimeout = httpget.DefaultConnectTimeout // 30s
	DefaultHeaderTimeout  = httpget.DefaultHeaderTimeout  // 60s
	DefaultIdleTimeout    = httpget.DefaultIdleTimeout    // 60s
	DefaultAttempts       = httpget.DefaultAttempts       // 3
	DefaultRetryBackoff   = httpget.DefaultRetryBackoff   // 500ms
)

// Client reads project pages and core metadata from one or more indexes.
// HTTP responses are kept in a disk cache and revalidated with ETag /
// Last-Modified; every read is bounded by size (MaxPageSize,
// MaxMetadataSize, MaxFileSize) and time (ConnectTimeout, HeaderTimeout,
// IdleTimeout); transient failures (5xx, 429, timeouts, refused or reset
// connections, bodies cut short) are tried Attempts times with exponential
// backoff.
//
// A Client is safe for concurrent use once its fields are set. The zero
// value reads PyPI without a disk cache.
type Client struct {
	// Indexes are the base URLs of the indexes, in the order they are
	// queried: pip's --index-url first, then each --extra-index-url. Each
	// is an http(s) URL, a file:// URL or a local directory (a static
	// index: <dir>/<project>/index.html). "user:password@" (or "token@")
	// in a URL is sent, as HTTP basic authentication, to that URL's host
	// only; it never appears in errors, warnings or returned URLs. Empty
	// means PyPI.
	Indexes []string
	// FirstMatch stops at the first index that has a project, as uv does by
	// default (an extra index cannot then shadow a project of the first);
	// false merges the files of every index that has it, as pip does.
	FirstMatch bool

	// HTTPClient does the HTTP requests; nil means a client of the Client's
	// own with ConnectTimeout and HeaderTimeout.
	HTTPClient *http.Client
	// CacheDir holds cached pages and metadata (e.g. ~/.cache/envkit/pypi);
	// "" disables the disk cache.
	CacheDir string
	// Warn, if set, receives non-fatal problems: files skipped on a page,
	// a newer API minor version, invalid extras in old metadata.
	Warn func(error)

	// MaxPageSize bounds a project page; 0 means $ENVKIT_MAX_PYPI_PAGE_SIZE,
	// else DefaultMaxPageSize (256 MiB).
	MaxPageSize int64
	// MaxMetadataSize bounds a core metadata file, downloaded or read from
	// a wheel; 0 means $ENVKIT_MAX_PYPI_METADATA_SIZE, else
	// DefaultMaxMetadataSize (64 MiB).
	MaxMetadataSize int64
	// MaxFileSize bounds a distribution downloaded to read its metadata; 0
	// means $ENVKIT_MAX_PYPI_FILE_SIZE, else DefaultMaxFileSize (4 GiB).
	MaxFileSize int64
	// InMemory keeps a distribution downloaded to read its metadata or
	// hash it in memory (at most MaxFileSize) instead of in a temporary
	// file under CacheDir or the system's temporary directory: for a
	// process that has no writable one, as envkit's frontend in a BuildKit
	// gateway container.
	InMemory bool

	// ConnectTimeout bounds connecting (TCP and TLS) for the default
	// client; 0 means 30s.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for a response's headers, for the
	// default client; 0 means 60s.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next bytes of a body, for any
	// client; 0 means 60s.
	IdleTimeout time.Duration
	// Attempts is how many times a request is tried when it fails
	// transiently; 0 means 3. 404 is never tried again.
	Attempts int
	// RetryBackoff is the wait before the second try, doubled before each
	// next one; 0 means 500ms.
	RetryBackoff time.Duration

	once    sync.Once
	setup   *setup
	initErr error
}

// setup is what a Client derives from its fields on first use.
type setup struct {
	indexes                []*indexURL
	fetcher                *httpget.Fetcher
	page, metadata, wheels httpget.Limit
}

// indexURL is one index: its base URL without credentials (ending in '/').
type indexURL struct {
	base string
	dir  string // for a local directory or file:// URL: its path
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// parseIndex reads an index URL or directory, moving its credentials into
// auth (by host).
func parseIndex(s string, auth *credentials) (*indexURL, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return nil, errors.New("index URL: empty")
	}
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", raw, err)
		}
		fi, err := os.Stat(abs)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("index %s: not a URL (http://, https://, file://) nor a directory", raw)
		}
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}
		return &indexURL{base: u.String(), dir: abs}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("index URL %s: invalid URL", Redact(raw))
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("index URL %s: no host", Redact(raw))
		}
	case "file":
	default:
		return nil, fmt.Errorf("index URL %s: scheme %q (http, https or file only)", Redact(raw), u.Scheme)
	}
	user := u.User
	u.User = nil
	u.Fragment, u.RawFragment, u.RawQuery = "", "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	if user != nil {
		*auth = append(*auth, credential{host: u.Host, path: u.Path, user: user})
	}
	ix := &indexURL{base: u.String()}
	if u.Scheme == "file" {
		ix.dir = filepath.FromSlash(u.Path)
	}
	return ix, nil
}

func (c *Client) init() (*setup, error) {
	c.once.Do(func() {
		s := &setup{}
		var err error
		if s.page, err = httpget.NewLimit(c.MaxPageSize, "project page", "Client.MaxPageSize", EnvMaxPageSize, DefaultMaxPageSize); err != nil {
			c.initErr = err
			return
		}
		if s.metadata, err = httpget.NewLimit(c.MaxMetadataSize, "metadata", "Client.MaxMetadataSize", EnvMaxMetadataSize, DefaultMaxMetadataSize); err != nil {
			c.initErr = err
			return
		}
		if s.wheels, err = httpget.NewLimit(c.MaxFileSize, "distribution", "Client.MaxFileSize", EnvMaxFileSize, DefaultMaxFileSize); err != nil {
			c.initErr = err
			return
		}
		var auth credentials
		indexes := c.Indexes
		if len(indexes) == 0 {
			indexes = []string{PyPI}
		}
		for _, raw := range indexes {
			ix, err := parseIndex(raw, &auth)
			if err != nil {
				c.initErr = err
				return
			}
			s.indexes = append(s.indexes, ix)
		}
		s.fetcher = c.fetcher(auth)
		c.setup = s
	})
	return c.setup, c.initErr
}

func (c *Client) warn(errs ...error) {
	if c.Warn == nil {
		return
	}
	for _, e := range errs {
		c.Warn(e)
	}
}

// IndexURLs returns the Client's index base URLs, in order, without
// credentials.
func (c *Client) IndexURLs() ([]string, error) {
	s, err := c.init()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(s.indexes))
	for i, ix := range s.indexes {
		out[i] = ix.base
	}
	return out, nil
}

// Project is what the indexes list for one project.
type Project struct {
	// Name is the normalised project name.
	Name string
	// Pages are the project's pages, one per index that has it, in index
	// order (only the first with FirstMatch).
	Pages []*Page
}

// Files returns the files of every page, in index order then page order.
func (p *Project) Files() []File {
	n := 0
	for _, pg := range p.Pages {
		n += len(pg.Files)
	}
	out := make([]File, 0, n)
	for _, pg := range p.Pages {
		out = append(out, pg.Files...)
	}
	return out
}

// NotFoundError is a project that no index has.
type NotFoundError struct {
	Name    string
	Indexes []string // without credentials
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no index has a project named %q (looked in %s)", e.Name, strings.Join(e.Indexes, ", "))
}

// Project fetches the project's page from each index in order and returns
// those that have it (the first only, with FirstMatch). An index that does
// not have the project (404) is skipped; any other failure is an error
// naming the index. No index having it is a *NotFoundError.
func (c *Client) Project(ctx context.Context, project string) (*Project, error) {
	s, err := c.init()
	if err != nil {
		return nil, err
	}
	if err := name.Validate(project); err != nil {
		return nil, err
	}
	norm := name.Normalize(project)
	out := &Project{Name: norm}
	// pip's union asks every index: in parallel, kept in index order.
	// FirstMatch asks them one after the other and stops at the first.
	pages := make([]*Page, len(s.indexes))
	errs := make([]error, len(s.indexes))
	if c.FirstMatch || len(s.indexes) == 1 {
		for i, ix := range s.indexes {
			pages[i], errs[i] = c.page(ctx, s, ix, norm)
			if errs[i] == nil || !errors.Is(errs[i], errNotFound) {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		for i, ix := range s.indexes {
			wg.Go(func() { pages[i], errs[i] = c.page(ctx, s, ix, norm) })
		}
		wg.Wait()
	}
	for i, ix := range s.indexes {
		err := errs[i]
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("index %s: project %s: %w", ix.base, norm, err)
		}
		if pg := pages[i]; pg != nil {
			c.warn(pg.Warnings...)
			out.Pages = append(out.Pages, pg)
		}
	}
	if len(out.Pages) == 0 {
		e := &NotFoundError{Name: norm}
		for _, ix := range s.indexes {
			e.Indexes = append(e.Indexes, ix.base)
		}
		return nil, e
	}
	return out, nil
}

// page fetches and parses one index's page for a normalised name.
func (c *Client) page(ctx context.Context, s *setup, ix *indexURL, norm string) (*Page, error) {
	var resp *httpget.Response
	var err error
	if ix.dir != "" {
		resp, err = localPage(ix, norm, s.page)
	} else {
		resp, err = s.fetcher.Get(ctx, ix.base+norm+"/", Accept, s.page, nil)
	}
	if err != nil {
		return nil, err
	}
	var pg *Page
	switch kind := pageKind(resp.ContentType, resp.Body); kind {
	case "json":
		pg, err = ParseJSON(resp.Body, resp.URL)
	case "html":
		pg, err = ParseHTML(resp.Body, resp.URL)
	default:
		return nil, fmt.Errorf("%s: content type %q is not a simple API page (want %s or %s)", resp.URL, resp.ContentType, ContentTypeJSON, ContentTypeHTML)
	}
	if err != nil {
		return nil, err
	}
	if pg.Name == "" {
		pg.Name = norm
	}
	for i := range pg.Files {
		pg.Files[i].Index = ix.base
	}
	return pg, nil
}

// localPage reads a static index's page: <dir>/<name>/index.html, else
// <dir>/<name>/index.json.
func localPage(ix *indexURL, norm string, b httpget.Limit) (*httpget.Response, error) {
	for _, f := range []string{"index.html", "index.json"} {
		p := filepath.Join(ix.dir, norm, f)
		u := ix.base + norm + "/"
		data, err := httpget.ReadLocal(p, u, b)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ct := "text/html"
		if f == "index.json" {
			ct = ContentTypeJSON
		}
		return &httpget.Response{Body: data, URL: u, ContentType: ct}, nil
	}
	return nil, fmt.Errorf("%s%s/: %w", ix.base, norm, errNotFound)
}

// pageKind tells a page's format from its content type: "json", "html",
// or "" for an unsupported one. A missing or generic type is sniffed.
func pageKind(contentType string, body []byte) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	switch mt {
	case ContentTypeJSON:
		return "json"
	case ContentTypeHTML, "text/html":
		return "html"
	case "", "application/octet-stream", "text/plain", "application/json":
		for _, b := range body {
			switch b {
			case ' ', '\t', '\r', '\n':
				continue
			case '{':
				return "json"
			}
			return "html"
		}
		return "html"
	}
	return ""
}
