package repodata

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/testdata"
)

// channelServer serves the fixture channels over HTTP on 127.0.0.1 with
// ETags, counting requests per path.
type channelServer struct {
	*httptest.Server
	root string

	mu       sync.Mutex
	requests map[string]int
	inm      map[string][]string // If-None-Match headers seen per path
	override func(w http.ResponseWriter, r *http.Request) bool
}

func newChannelServer(t *testing.T, root string) *channelServer {
	cs := &channelServer{root: root, requests: map[string]int{}, inm: map[string][]string{}}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.mu.Lock()
		cs.requests[r.URL.Path]++
		if v := r.Header.Get("If-None-Match"); v != "" {
			cs.inm[r.URL.Path] = append(cs.inm[r.URL.Path], v)
		}
		override := cs.override
		cs.mu.Unlock()
		if override != nil && override(w, r) {
			return
		}
		path := filepath.Join(cs.root, filepath.FromSlash(r.URL.Path))
		b, err := os.ReadFile(path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		st, _ := os.Stat(path)
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, sha256.Sum256(b)))
		http.ServeContent(w, r, path, st.ModTime(), strings.NewReader(string(b)))
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *channelServer) count(path string) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.requests[path]
}

func (cs *channelServer) total() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for _, c := range cs.requests {
		n += c
	}
	return n
}

func (cs *channelServer) channel(t *testing.T, name string) channel.Channel {
	c, err := channel.Parse(cs.URL + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func channelsDir(t *testing.T) string { return testdata.Path(t, "conda", "channels") }

func fileNames(recs []*record.RepoDataRecord) []string {
	out := names(recs)
	slices.Sort(out)
	return out
}

// TestGatewayShardedAndRevalidated queries conda-format-repo, which serves
// sharded repodata for linux-64 and only repodata.json for noarch.
func TestGatewayShardedAndRevalidated(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	ch := cs.channel(t, "conda-format-repo")
	cache := t.TempDir()
	ctx := context.Background()

	g := &Gateway{CacheDir: cache}
	recs, err := g.Query(ctx, []channel.Channel{ch}, []string{"linux-64"}, []string{"zlib"})
	if err != nil {
		t.Fatal(err)
	}
	// zlib from its shard (.conda preferred over .tar.bz2), and libgcc-ng
	// because zlib depends on it.
	want := []string{"libgcc-ng-8.2.0-hdf63c60_1.tar.bz2", "zlib-1.2.11-h7b6447c_3.conda"}
	if got := fileNames(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	for _, r := range recs {
		if r.URL != cs.URL+"/conda-format-repo/linux-64/"+r.FileName || r.Channel != ch.BaseURL || r.Subdir != "linux-64" {
			t.Errorf("record %s: URL %q channel %q subdir %q", r.FileName, r.URL, r.Channel, r.Subdir)
		}
	}
	index := "/conda-format-repo/linux-64/" + ShardIndexFile
	zlibShard := "/conda-format-repo/linux-64/56a0c19b47ba1a2d0f1390eda489b1c49a00d35814571057e6d81e0c93dfd157.msgpack.zst"
	if cs.count(index) != 1 || cs.count(zlibShard) != 1 || cs.count("/conda-format-repo/linux-64/repodata.json") != 0 {
		t.Errorf("requests: %v", cs.requests)
	}
	// noarch has no shard index: the 404 falls back to repodata.json.
	if cs.count("/conda-format-repo/noarch/"+ShardIndexFile) != 1 || cs.count("/conda-format-repo/noarch/repodata.json") != 1 {
		t.Errorf("noarch requests: %v", cs.requests)
	}

	// The same Gateway answers again from memory.
	before := cs.total()
	if _, err := g.Query(ctx, []channel.Channel{ch}, []string{"linux-64"}, []string{"zlib"}); err != nil {
		t.Fatal(err)
	}
	if cs.total() != before {
		t.Errorf("second query on one Gateway made %d requests", cs.total()-before)
	}

	// A new Gateway on the same cache revalidates: 304s, no shard downloads.
	g2 := &Gateway{CacheDir: cache}
	recs2, err := g2.Query(ctx, []channel.Channel{ch}, []string{"linux-64"}, []string{"zlib"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fileNames(recs2), want) {
		t.Errorf("revalidated records = %v", fileNames(recs2))
	}
	if cs.count(index) != 2 || cs.count(zlibShard) != 1 {
		t.Errorf("after revalidation: %v", cs.requests)
	}
	etag := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(cs.root, filepath.FromSlash(p)))
		return fmt.Sprintf(`"%x"`, sha256.Sum256(b))
	}
	if got := cs.inm[index]; !reflect.DeepEqual(got, []string{etag(index)}) {
		t.Errorf("If-None-Match on index = %v", got)
	}
	if got := cs.inm["/conda-format-repo/noarch/repodata.json"]; !reflect.DeepEqual(got, []string{etag("/conda-format-repo/noarch/repodata.json")}) {
		t.Errorf("If-None-Match on noarch repodata.json = %v", got)
	}
}

func TestGatewayFullQueryMatchesShards(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	ch := cs.channel(t, "conda-format-repo")
	g := &Gateway{}
	all, err := g.Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sharded, err := (&Gateway{}).Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, []string{"zlib"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, sharded) {
		t.Errorf("full query %v != sharded query %v", fileNames(all), fileNames(sharded))
	}
}

// TestGatewayClosureWithoutShards uses conda's classic index: no shard
// index (404), so repodata.json is used, and the closure of scipy must be
// closed under dependencies and hold nothing unreachable.
func TestGatewayClosureWithoutShards(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	ch := cs.channel(t, "conda-index1")
	g := &Gateway{CacheDir: t.TempDir()}
	recs, err := g.Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, []string{"scipy"})
	if err != nil {
		t.Fatal(err)
	}
	full, err := Parse(readFixture(t, "conda", "channels", "conda-index1", "linux-64", "repodata.json"), ch.BaseURL, "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range recs {
		got[r.Name] = true
	}
	reached := map[string]bool{"scipy": true}
	for _, r := range recs {
		for _, d := range r.Depends {
			n, _ := matchspec.CutName(d)
			n = strings.ToLower(n)
			reached[n] = true
			if full.Has(n) && !got[n] {
				t.Errorf("%s depends on %s, which is missing from the result", r.FileName, n)
			}
		}
	}
	for n := range got {
		if !reached[n] {
			t.Errorf("%s is in the result but nothing depends on it", n)
		}
		if len(full.ByName(n)) != countName(recs, n) {
			t.Errorf("%s: %d records, repodata has %d", n, countName(recs, n), len(full.ByName(n)))
		}
	}
	for _, n := range []string{"scipy", "numpy", "python", "pip", "openssl"} {
		if !got[n] {
			t.Errorf("closure of scipy lacks %s (has %v)", n, keys(got))
		}
	}
	if len(got) >= len(full.Names()) {
		t.Errorf("closure holds all %d names", len(got))
	}
	if cs.count("/conda-index1/linux-64/"+ShardIndexFile) != 1 || cs.count("/conda-index1/linux-64/repodata.json.zst") != 1 ||
		cs.count("/conda-index1/linux-64/repodata.json") != 1 {
		t.Errorf("requests: %v", cs.requests)
	}
}

func countName(recs []*record.RepoDataRecord, name string) int {
	n := 0
	for _, r := range recs {
		if r.Name == name {
			n++
		}
	}
	return n
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestGatewayBaseURL: rattler's dummy channel has base_url "../linux-64"
// and no noarch subdir (counted as empty).
func TestGatewayBaseURL(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	for _, name := range []string{"rattler-dummy", "rattler-dummy-noarch-str"} {
		ch := cs.channel(t, name)
		recs, err := (&Gateway{}).Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			t.Fatalf("%s: no records", name)
		}
		for _, r := range recs {
			if want := cs.URL + "/" + name + "/linux-64/" + r.FileName; r.URL != want {
				t.Errorf("%s: URL = %q, want %q", name, r.URL, want)
			}
		}
	}
}

// TestGatewayLocalChannels reads conda-test-recipes as a local directory
// and as a file:// URL, with its non-standard subdir names.
func TestGatewayLocalChannels(t *testing.T) {
	dir := filepath.Join(channelsDir(t), "conda-test-recipes")
	byPath, err := channel.Parse(dir)
	if err != nil {
		t.Fatal(err)
	}
	byURL, err := channel.Parse("file://" + filepath.ToSlash(dir) + "/noarch/")
	if err != nil {
		t.Fatal(err)
	}
	if byPath != byURL {
		t.Fatalf("%+v != %+v", byPath, byURL)
	}
	g := &Gateway{CacheDir: t.TempDir()}
	all, err := g.Query(context.Background(), []channel.Channel{byPath}, []string{"linux-fake"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 35 {
		t.Errorf("%d records, want 32 noarch + 3 linux-fake", len(all))
	}
	recs, err := g.Query(context.Background(), []channel.Channel{byURL}, []string{"linux-fake"}, []string{"another_dependent", "virtualdep-package"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"another_dependent-1.0-0.conda", "another_dependent-2.0-0.conda",
		"dependency-1.0-0.conda", "dependency-2.0-0.conda",
		"dependent-1.0-0.conda", "dependent-2.0-0.conda",
		"virtualdep-package-1.0-0.conda", "virtualdep-package-2.0-0.conda",
	}
	if got := fileNames(recs); !reflect.DeepEqual(got, want) {
		t.Errorf("records = %v, want %v", got, want)
	}
	for _, r := range recs {
		if !strings.HasPrefix(r.URL, byPath.BaseURL+"/"+r.Subdir+"/") {
			t.Errorf("URL %q not under %s/%s", r.URL, byPath.BaseURL, r.Subdir)
		}
		if _, err := os.Stat(filepath.Join(dir, r.Subdir, r.FileName)); err != nil {
			t.Errorf("record %s: artifact not found: %v", r.FileName, err)
		}
	}
	if entries, _ := os.ReadDir(g.CacheDir); len(entries) != 0 {
		t.Errorf("local channels were cached: %v", entries)
	}
}

// TestGatewayOtherFixtures: channel ordering over several channels, the
// wheels channel (its "v3" whl section is ignored), pytorch, and empty.
func TestGatewayOtherFixtures(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	chans := []channel.Channel{cs.channel(t, "rattler-pytorch"), cs.channel(t, "rattler-with-wheels"), cs.channel(t, "rattler-empty")}
	recs, err := (&Gateway{}).Query(context.Background(), chans, []string{"linux-64"}, []string{"pytorch", "six"})
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	perChannel := map[string]int{}
	for _, r := range recs {
		i := slices.IndexFunc(chans, func(c channel.Channel) bool { return c.BaseURL == r.Channel })
		if i < last {
			t.Fatalf("records not ordered by channel: %s after channel %d", r.FileName, last)
		}
		last = i
		perChannel[r.Channel]++
		if strings.HasSuffix(r.FileName, ".whl") {
			t.Errorf("wheel record %s", r.FileName)
		}
	}
	if perChannel[chans[0].BaseURL] < 276 || perChannel[chans[1].BaseURL] == 0 || perChannel[chans[2].BaseURL] != 0 {
		t.Errorf("records per channel: %v", perChannel)
	}
}

func TestGatewayNotAChannel(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	// rattler-patch holds only repodata_from_packages.json and patches.
	_, err := (&Gateway{}).Query(context.Background(), []channel.Channel{cs.channel(t, "rattler-patch")}, []string{"linux-64"}, []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "not a conda channel") {
		t.Errorf("err = %v", err)
	}
	cs.override = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "boom", http.StatusInternalServerError)
		return true
	}
	_, err = (&Gateway{RetryBackoff: time.Millisecond}).Query(context.Background(), []channel.Channel{cs.channel(t, "conda-index1")}, []string{"linux-64"}, []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v", err)
	}
}

// TestGatewayCutDownloadKeepsCache: a response cut short must fail and
// leave the cached copy intact, which a later 304 still serves.
func TestGatewayCutDownloadKeepsCache(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	ch := cs.channel(t, "conda-index1")
	cache := t.TempDir()
	q := func() ([]*record.RepoDataRecord, error) {
		return (&Gateway{CacheDir: cache, RetryBackoff: time.Millisecond}).Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, nil)
	}
	first, err := q()
	if err != nil {
		t.Fatal(err)
	}
	cs.override = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "linux-64/repodata.json") {
			return false
		}
		w.Header().Set("ETag", `"new"`)
		w.Header().Set("Content-Length", "1000000")
		w.Write([]byte(`{"packages": {`))
		return true
	}
	if _, err := q(); err == nil {
		t.Fatal("cut download did not fail")
	}
	cs.override = nil
	again, err := q()
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(first) || len(first) != 1146 {
		t.Errorf("%d records after a cut download, want %d", len(again), len(first))
	}
	// The cut download is tried 3 times, then the query after it once.
	if inm := cs.inm["/conda-index1/linux-64/repodata.json"]; len(inm) != 4 || len(slices.Compact(slices.Clone(inm))) != 1 {
		t.Errorf("If-None-Match sent: %v (want the original ETag 4 times)", inm)
	}
	matches, _ := filepath.Glob(filepath.Join(cache, ".tmp-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestGatewayShardHashMismatch(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	cs.override = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".msgpack.zst") && !strings.HasSuffix(r.URL.Path, ShardIndexFile) {
			w.Write([]byte("tampered"))
			return true
		}
		return false
	}
	_, err := (&Gateway{CacheDir: t.TempDir()}).Query(context.Background(), []channel.Channel{cs.channel(t, "conda-format-repo")}, []string{"linux-64"}, []string{"zlib"})
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("err = %v", err)
	}
}

func TestGatewayWarnsAboutInvalidRecords(t *testing.T) {
	dir := t.TempDir()
	for sd, doc := range map[string]string{
		"noarch": `{"packages": {
			"a-1-0.tar.bz2": {"name": "a", "version": "1", "build": "0", "depends": ["b"]},
			"b-1-0.tar.bz2": {"name": "b", "version": "1..", "build": "0"},
			"b-2-0.tar.bz2": {"name": "b", "version": "2", "build": "0"}}}`,
		"linux-64": ``,
	} {
		os.MkdirAll(filepath.Join(dir, sd), 0o755)
		os.WriteFile(filepath.Join(dir, sd, "repodata.json"), []byte(doc), 0o644)
	}
	ch, _ := channel.Parse(dir)
	var mu sync.Mutex
	var warns []string
	g := &Gateway{Warn: func(err error) { mu.Lock(); warns = append(warns, err.Error()); mu.Unlock() }}
	recs, err := g.Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fileNames(recs); !reflect.DeepEqual(got, []string{"a-1-0.tar.bz2", "b-2-0.tar.bz2"}) {
		t.Errorf("records = %v", got)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `packages["b-1-0.tar.bz2"]`) || !strings.Contains(warns[0], "noarch/repodata.json:3") {
		t.Errorf("warnings = %q", warns)
	}
}

func TestGatewayConcurrentQueries(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	chans := []channel.Channel{cs.channel(t, "conda-format-repo"), cs.channel(t, "conda-index1")}
	cache := t.TempDir()
	shared := &Gateway{CacheDir: cache}
	var wg sync.WaitGroup
	results := make([][]*record.RepoDataRecord, 8)
	errs := make([]error, 8)
	for i := range results {
		g := shared
		if i%2 == 1 {
			g = &Gateway{CacheDir: cache, Concurrency: 3}
		}
		wg.Go(func() {
			results[i], errs[i] = g.Query(context.Background(), chans, []string{"linux-64"}, []string{"zlib", "numpy"})
		})
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !reflect.DeepEqual(fileNames(results[i]), fileNames(results[0])) {
			t.Errorf("query %d differs", i)
		}
	}
	if len(results[0]) == 0 {
		t.Error("no records")
	}
}

func TestGatewayContextCanceled(t *testing.T) {
	cs := newChannelServer(t, channelsDir(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Gateway{}).Query(ctx, []channel.Channel{cs.channel(t, "conda-index1")}, []string{"linux-64"}, []string{"numpy"})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err = %v", err)
	}
}
