package repodata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/httpget"
)

// Gateway fetches repodata from channels (http, https, file:// and local
// directories) and answers queries over them. HTTP responses are kept in a
// disk cache and revalidated with ETag / Last-Modified on first use by each
// Gateway; parsed subdirs and shards are kept in memory for the Gateway's
// life, and so is a subdir's failure to load (a dead channel costs its
// attempts once, however many names are looked up there). For queries by
// name a subdir's sharded index (CEP 16) is used when the channel serves
// one, else its repodata.json(.zst).
//
// Every read is bounded: documents and bodies by size (MaxRepodataSize,
// MaxShardSize), requests by time (ConnectTimeout, HeaderTimeout,
// IdleTimeout); transient failures (5xx, timeouts, refused or reset
// connections) are tried Attempts times with exponential backoff.
//
// A Gateway is safe for concurrent use. The zero value works without a
// disk cache.
type Gateway struct {
	// Client does the HTTP requests; nil means a client of the Gateway's own
	// with ConnectTimeout and HeaderTimeout (http.DefaultTransport's proxy
	// and TLS settings otherwise). A Client of the caller's keeps its own
	// timeouts; IdleTimeout, the limits and the retries apply to any.
	Client *http.Client
	// CacheDir holds cached repodata (e.g. ~/.cache/envkit/repodata); ""
	// disables the disk cache. Several processes may share it.
	CacheDir string
	// Warn, if set, receives non-fatal problems: invalid records skipped.
	Warn func(error)
	// Concurrency bounds parallel fetches; 0 means 8.
	Concurrency int

	// MaxRepodataSize bounds a subdir's repodata.json, as downloaded and
	// decompressed; 0 means $ENVKIT_MAX_REPODATA_SIZE, else
	// DefaultMaxRepodataSize (1 GiB).
	MaxRepodataSize int64
	// MaxShardSize bounds a shard and a shard index, as downloaded and
	// decompressed; 0 means $ENVKIT_MAX_SHARD_SIZE, else DefaultMaxShardSize
	// (128 MiB).
	MaxShardSize int64

	// ConnectTimeout bounds connecting (TCP and TLS) for the default
	// client; 0 means 30s.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for a response's headers once the
	// request is sent, for the default client; 0 means 60s.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next bytes of a response body,
	// for any client; 0 means 60s.
	IdleTimeout time.Duration
	// Attempts is how many times a request is tried when it fails
	// transiently (5xx, 429, a timeout, a refused or reset connection, a
	// body cut short); 0 means 3. 404 is never tried again: it means the
	// file is absent.
	Attempts int
	// RetryBackoff is the wait before the second try, doubled before each
	// next one; 0 means 500ms.
	RetryBackoff time.Duration

	mu      sync.Mutex
	subdirs map[string]*subdirSource
	client  *http.Client // the default client, made on first use
}

// Default timeouts and retries of a Gateway whose fields are zero.
const (
	DefaultConnectTimeout = httpget.DefaultConnectTimeout // 30s
	DefaultHeaderTimeout  = httpget.DefaultHeaderTimeout  // 60s
	DefaultIdleTimeout    = httpget.DefaultIdleTimeout    // 60s
	DefaultAttempts       = httpget.DefaultAttempts       // 3
	DefaultRetryBackoff   = httpget.DefaultRetryBackoff   // 500ms
)

// subdirSource is one channel subdir, loaded on first use.
type subdirSource struct {
	channel, subdir string
	url             string // <channel>/<subdir>/

	mu      sync.Mutex
	tried   bool // shard index looked for
	index   *ShardIndex
	pkgBase string
	full    *RepoData
	missing bool                 // the channel has no such subdir
	shards  map[string]*RepoData // shard per package name, when sharded

	// indexErr and fullErr are the failures of loading the shard index and
	// repodata.json, kept as successes are: a subdir that cannot be loaded
	// (5xx after the retries, a refused connection) costs its attempts once
	// per Gateway, not once per package name looked up there. A load ended
	// by its caller's context is not kept, so that a later caller tries
	// again. Loads run under mu, so concurrent callers wait for the one in
	// flight and then share its result.
	indexErr, fullErr error
}

// keep returns err, remembered in *sticky unless ctx ended (the failure is
// then the caller's, not the subdir's).
func keep(ctx context.Context, sticky *error, err error) error {
	if err != nil && ctx.Err() == nil {
		*sticky = err
	}
	return err
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// fetcher returns a fetcher with the Gateway's settings and its limits.
func (g *Gateway) fetcher() (*fetcher, error) {
	var lim limits
	var err error
	if lim.repodata, err = httpget.NewLimit(g.MaxRepodataSize, "repodata", "Gateway.MaxRepodataSize", EnvMaxRepodataSize, DefaultMaxRepodataSize); err != nil {
		return nil, err
	}
	if lim.shard, err = httpget.NewLimit(g.MaxShardSize, "shard", "Gateway.MaxShardSize", EnvMaxShardSize, DefaultMaxShardSize); err != nil {
		return nil, err
	}
	return &fetcher{
		http: httpget.Fetcher{
			Client:      g.httpClient(),
			CacheDir:    g.CacheDir,
			CacheName:   "repodata cache",
			Attempts:    max(orDefault(g.Attempts, DefaultAttempts), 1),
			Backoff:     orDefault(g.RetryBackoff, DefaultRetryBackoff),
			IdleTimeout: orDefault(g.IdleTimeout, DefaultIdleTimeout),
			IdleField:   "Gateway.IdleTimeout",
		},
		limits: lim,
	}, nil
}

// limits are the size bounds of one Gateway.
type limits struct{ repodata, shard httpget.Limit }

// httpClient returns g.Client, or the Gateway's own client with timeouts.
func (g *Gateway) httpClient() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.client == nil {
		g.client = httpget.NewClient(g.ConnectTimeout, g.HeaderTimeout)
	}
	return g.client
}

func (g *Gateway) source(ch channel.Channel, subdir string) *subdirSource {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := ch.BaseURL + "/" + subdir
	if s, ok := g.subdirs[key]; ok {
		return s
	}
	if g.subdirs == nil {
		g.subdirs = make(map[string]*subdirSource)
	}
	s := &subdirSource{channel: ch.BaseURL, subdir: subdir, url: key + "/"}
	g.subdirs[key] = s
	return s
}

func (g *Gateway) warn(rd *RepoData) {
	for _, w := range rd.takeWarnings() {
		if g.Warn != nil {
			g.Warn(w)
		}
	}
}

// loadFull loads the subdir's repodata.json, preferring repodata.json.zst.
// Callers hold s.mu.
func (s *subdirSource) loadFull(ctx context.Context, f *fetcher) error {
	if s.full != nil || s.missing {
		return nil
	}
	if s.fullErr != nil {
		return s.fullErr
	}
	return keep(ctx, &s.fullErr, s.fetchFull(ctx, f))
}

// fetchFull fetches and parses the subdir's repodata. Callers hold s.mu.
func (s *subdirSource) fetchFull(ctx context.Context, f *fetcher) error {
	var body []byte
	var err error
	b := f.limits.repodata
	for _, name := range []string{"repodata.json.zst", "repodata.json"} {
		u := s.url + name
		var decode func([]byte) ([]byte, error)
		if strings.HasSuffix(name, ".zst") {
			decode = func(data []byte) ([]byte, error) {
				out, err := decompress(data, b, u)
				var le *LimitError
				if err != nil && !errors.As(err, &le) {
					err = fmt.Errorf("%s: zstd: %w", u, err)
				}
				return out, err
			}
		}
		body, err = f.get(ctx, u, b, decode)
		if !errors.Is(err, errNotFound) {
			break
		}
	}
	if errors.Is(err, errNotFound) {
		s.missing = true
		return nil
	}
	if err != nil {
		return err
	}
	rd, err := parse(body, source{channel: s.channel, subdir: s.subdir, max: b})
	if err != nil {
		return err
	}
	s.full = rd
	return nil
}

// loadIndex looks for the subdir's shard index. Callers hold s.mu.
func (s *subdirSource) loadIndex(ctx context.Context, f *fetcher) error {
	if s.tried {
		return nil
	}
	if s.indexErr != nil {
		return s.indexErr
	}
	return keep(ctx, &s.indexErr, s.fetchIndex(ctx, f))
}

// fetchIndex fetches and parses the subdir's shard index. Callers hold
// s.mu.
func (s *subdirSource) fetchIndex(ctx context.Context, f *fetcher) error {
	b := f.limits.shard
	b.What = "shard index"
	u := s.url + ShardIndexFile
	body, err := f.get(ctx, u, b, func(data []byte) ([]byte, error) { return maybeDecompress(data, b, u) })
	if errors.Is(err, errNotFound) {
		s.tried = true
		return nil
	}
	if err != nil {
		return err
	}
	ix, err := ParseShardIndex(body)
	if err != nil {
		return fmt.Errorf("%s%s: %w", s.url, ShardIndexFile, err)
	}
	base, err := ix.PackageBaseURL(s.url + ShardIndexFile)
	if err != nil {
		return fmt.Errorf("%s%s: base_url: %w", s.url, ShardIndexFile, err)
	}
	s.tried, s.index, s.pkgBase, s.shards = true, ix, base, make(map[string]*RepoData)
	return nil
}

// byName returns the subdir's records for name: from its shard when the
// channel is sharded, else from repodata.json.
func (g *Gateway) byName(ctx context.Context, f *fetcher, s *subdirSource, name string) ([]*record.RepoDataRecord, error) {
	s.mu.Lock()
	if err := s.loadIndex(ctx, f); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if s.index == nil {
		err := s.loadFull(ctx, f)
		full := s.full
		s.mu.Unlock()
		if err != nil || full == nil {
			return nil, err
		}
		recs := full.ByName(name)
		g.warn(full)
		return recs, nil
	}
	ix, shard := s.index, s.shards[name]
	s.mu.Unlock()
	if shard == nil {
		h, ok := ix.Shards[name]
		if !ok {
			return nil, nil
		}
		u, _ := ix.ShardURL(s.url+ShardIndexFile, name)
		body, err := f.getShard(ctx, u, h, f.limits.shard)
		if err == nil {
			body, err = maybeDecompress(body, f.limits.shard, u)
		}
		if err != nil {
			return nil, err
		}
		if shard, err = ParseShard(body, s.channel, s.subdir, s.pkgBase, h.String()+".msgpack.zst"); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if prev := s.shards[name]; prev != nil {
			shard = prev // fetched concurrently; keep one
		} else {
			s.shards[name] = shard
		}
		s.mu.Unlock()
	}
	recs := shard.ByName(name)
	g.warn(shard)
	return recs, nil
}

// all returns every record of the subdir (from repodata.json).
func (g *Gateway) all(ctx context.Context, f *fetcher, s *subdirSource) ([]*record.RepoDataRecord, error) {
	s.mu.Lock()
	err := s.loadFull(ctx, f)
	full := s.full
	s.mu.Unlock()
	if err != nil || full == nil {
		return nil, err
	}
	recs := full.Records()
	g.warn(full)
	return recs, nil
}

// RepoData returns the parsed repodata.json of one channel subdir, or nil
// when the channel has no such subdir.
func (g *Gateway) RepoData(ctx context.Context, ch channel.Channel, subdir string) (*RepoData, error) {
	f, err := g.fetcher()
	if err != nil {
		return nil, err
	}
	s := g.source(ch, subdir)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadFull(ctx, f); err != nil {
		return nil, err
	}
	return s.full, nil
}

// Query returns the records of channels x subdirs ("noarch" is always
// added). With names == nil it returns every record; otherwise the records
// of those package names and, recursively, of the names their records
// depend on. Records come ordered by channel, then subdir, then name.
//
// A subdir the channel does not serve counts as empty, but a channel that
// serves none of them is an error (a wrong URL or name).
func (g *Gateway) Query(ctx context.Context, channels []channel.Channel, subdirs []string, names []string) ([]*record.RepoDataRecord, error) {
	subdirs = withNoarch(subdirs)
	f, err := g.fetcher()
	if err != nil {
		return nil, err
	}
	var sources []*subdirSource
	for _, ch := range channels {
		for _, sd := range subdirs {
			sources = append(sources, g.source(ch, sd))
		}
	}
	// found[i][name] are source i's records for name.
	found := make([]map[string][]*record.RepoDataRecord, len(sources))
	for i := range found {
		found[i] = make(map[string][]*record.RepoDataRecord)
	}
	if names == nil {
		err = g.parallel(ctx, len(sources), func(i int) error {
			recs, err := g.all(ctx, f, sources[i])
			for _, r := range recs {
				found[i][r.Name] = append(found[i][r.Name], r)
			}
			return err
		})
	} else {
		err = g.closure(ctx, f, sources, names, found)
	}
	if err != nil {
		return nil, err
	}
	if err := checkChannels(channels, subdirs, sources); err != nil {
		return nil, err
	}
	var out []*record.RepoDataRecord
	for _, m := range found {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, m[k]...)
		}
	}
	return out, nil
}

// closure fetches names, then the names their records depend on, level by
// level, until no new name appears.
func (g *Gateway) closure(ctx context.Context, f *fetcher, sources []*subdirSource, names []string, found []map[string][]*record.RepoDataRecord) error {
	seen := make(map[string]bool)
	var frontier []string
	add := func(n string) {
		if n != "" && !seen[n] && !strings.HasPrefix(n, "__") { // __ names are virtual packages
			seen[n] = true
			frontier = append(frontier, n)
		}
	}
	for _, n := range names {
		add(n)
	}
	for len(frontier) > 0 {
		level := frontier
		frontier = nil
		results := make([][]*record.RepoDataRecord, len(sources)*len(level))
		err := g.parallel(ctx, len(results), func(t int) error {
			var err error
			results[t], err = g.byName(ctx, f, sources[t/len(level)], level[t%len(level)])
			return err
		})
		if err != nil {
			return err
		}
		for t, recs := range results {
			if len(recs) == 0 {
				continue
			}
			found[t/len(level)][level[t%len(level)]] = recs
			for _, r := range recs {
				for _, d := range r.Depends {
					name, _ := matchspec.CutName(d)
					add(strings.ToLower(name))
				}
			}
		}
	}
	return nil
}

// parallel runs task(0..n-1) on up to g.Concurrency goroutines and returns
// the first error; it stops starting tasks once one failed.
func (g *Gateway) parallel(ctx context.Context, n int, task func(int) error) error {
	workers := g.Concurrency
	if workers <= 0 {
		workers = 8
	}
	workers = min(workers, n)
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				mu.Lock()
				if first != nil || next >= n {
					mu.Unlock()
					return
				}
				t := next
				next++
				mu.Unlock()
				err := task(t)
				if err == nil {
					err = ctx.Err()
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// checkChannels fails for a channel none of whose subdirs exist.
func checkChannels(channels []channel.Channel, subdirs []string, sources []*subdirSource) error {
	for c, ch := range channels {
		missing, known := 0, 0
		for i := range subdirs {
			s := sources[c*len(subdirs)+i]
			s.mu.Lock()
			if s.missing {
				missing++
			}
			if s.missing || s.full != nil || s.index != nil {
				known++
			}
			s.mu.Unlock()
		}
		if known == len(subdirs) && missing == known {
			return fmt.Errorf("channel %s: no repodata for %s: not a conda channel, or the URL is wrong", ch.BaseURL, strings.Join(subdirs, ", "))
		}
	}
	return nil
}

func withNoarch(subdirs []string) []string {
	var out []string
	for _, s := range subdirs {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if !slices.Contains(out, string(platform.Noarch)) {
		out = append(out, string(platform.Noarch))
	}
	return out
}
