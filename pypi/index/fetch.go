package index

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/envkit/envkit/internal/httpget"
)

// errNotFound marks a resource the index does not serve (HTTP 404/410 or a
// missing file): a project an index lacks, a metadata file not served.
var errNotFound = httpget.ErrNotFound

// credential is the user information of one index URL.
type credential struct {
	host, path string // the index's host and base path
	user       *url.Userinfo
}

// credentials are those of every index, by host.
type credentials []credential

// forURL returns the credentials to send to u: those of the index on u's
// host whose base path is the longest prefix of u's path, else the first
// given for that host (files served beside the index), else nil.
func (cs credentials) forURL(u *url.URL) *url.Userinfo {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	var best *credential
	for i := range cs {
		c := &cs[i]
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

// fetcher returns the Client's fetcher: its HTTP client, cache, retries and
// idle timeout, sending each index's credentials to its host only and
// saying, for 401 and 403, whether credentials were sent.
func (c *Client) fetcher(auth credentials) *httpget.Fetcher {
	return &httpget.Fetcher{
		Client:      c.httpClient(),
		CacheDir:    c.CacheDir,
		CacheName:   "index cache",
		Attempts:    max(orDefault(c.Attempts, DefaultAttempts), 1),
		Backoff:     orDefault(c.RetryBackoff, DefaultRetryBackoff),
		IdleTimeout: orDefault(c.IdleTimeout, DefaultIdleTimeout),
		IdleField:   "Client.IdleTimeout",
		Prepare: func(req *http.Request) {
			if ui := auth.forURL(req.URL); ui != nil {
				pw, _ := ui.Password()
				req.SetBasicAuth(ui.Username(), pw)
			}
		},
		StatusError: func(u string, req *http.Request, resp *http.Response) error {
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
				return nil
			}
			hint := "the index wants credentials: put them in the index URL (https://user:token@host/...)"
			if req.Header.Get("Authorization") != "" {
				hint = "the credentials given in the index URL were refused"
			}
			return fmt.Errorf("GET %s: %s (%s)", u, resp.Status, hint)
		},
	}
}

// httpClient returns c.HTTPClient, or a client with the Client's timeouts.
func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return httpget.NewClient(c.ConnectTimeout, c.HeaderTimeout)
}
