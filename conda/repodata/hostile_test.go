package repodata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/channel"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

// Hostile and flaky channels: each test makes its own server on 127.0.0.1
// (or local channel) and checks that the Gateway stops at its limits and
// says why. Memory is bounded by construction: a body or a document stops
// being read at its limit, so reaching the limit is the error asserted.

// hostile serves handlers by path suffix on 127.0.0.1, 404 otherwise, and
// counts requests per path.
type hostile struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int
}

func newHostile(t *testing.T, routes map[string]http.HandlerFunc) *hostile {
	h := &hostile{requests: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.requests[r.URL.Path]++
		h.mu.Unlock()
		for suffix, fn := range routes {
			if strings.HasSuffix(r.URL.Path, suffix) {
				fn(w, r)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostile) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests[path]
}

func (h *hostile) channel(t *testing.T) channel.Channel {
	c, err := channel.Parse(h.URL + "/ch")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastGateway retries without waiting long, and tries subdirs in order
// (linux-64 first) so that errors come from the same one every run.
func fastGateway() *Gateway { return &Gateway{RetryBackoff: time.Millisecond, Concurrency: 1} }

func query(t *testing.T, g *Gateway, ch channel.Channel, names ...string) error {
	t.Helper()
	if names == nil {
		names = []string{"a"}
	}
	_, err := g.Query(context.Background(), []channel.Channel{ch}, []string{"linux-64"}, names)
	return err
}

func wantLimit(t *testing.T, err error, url, what string, limit int64, hint string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LimitError", err)
	}
	if le.URL != url || le.What != what || le.Limit != limit || !strings.Contains(err.Error(), hint) {
		t.Errorf("err = %q (URL %q, what %q, limit %d), want URL %q, %q, limit %d, hint %q", err, le.URL, le.What, le.Limit, url, what, limit, hint)
	}
}

// endless writes zeros until the client goes away.
func endless(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := w.Write(buf); err != nil {
			return
		}
		if r.Context().Err() != nil {
			return
		}
	}
}

func TestGatewayEndlessBodyStopsAtLimit(t *testing.T) {
	h := newHostile(t, map[string]http.HandlerFunc{"linux-64/repodata.json": endless})
	g := fastGateway()
	g.MaxRepodataSize = 1 << 20
	err := query(t, g, h.channel(t))
	wantLimit(t, err, h.URL+"/ch/linux-64/repodata.json", "repodata", 1<<20, "raise Gateway.MaxRepodataSize")
	if !strings.Contains(err.Error(), "larger than the limit of 1MiB") {
		t.Errorf("err = %v", err)
	}
	if n := h.count("/ch/linux-64/repodata.json"); n != 1 {
		t.Errorf("%d requests: a limit is not worth another try", n)
	}
	if n := h.count("/ch/linux-64/repodata.json.zst"); n != 1 {
		t.Errorf("%d requests of the absent .zst, want 1 (404 is not tried again)", n)
	}

	// A Content-Length over the limit fails before reading; the limit comes
	// from the environment, and the error says how to raise it there.
	h = newHostile(t, map[string]http.HandlerFunc{"linux-64/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3000000")
		w.Write([]byte("{"))
	}})
	t.Setenv(EnvMaxRepodataSize, "2MiB")
	err = query(t, fastGateway(), h.channel(t))
	wantLimit(t, err, h.URL+"/ch/linux-64/repodata.json", "repodata", 2<<20, "raise it with ENVKIT_MAX_REPODATA_SIZE=4MiB")

	t.Setenv(EnvMaxRepodataSize, "lots")
	if err := query(t, fastGateway(), h.channel(t)); err == nil || !strings.Contains(err.Error(), "ENVKIT_MAX_REPODATA_SIZE=lots: not a positive size") {
		t.Errorf("err = %v", err)
	}
}

// bomb returns n zero bytes zstd-compressed: by the streaming encoder,
// whose frames do not declare their size, or by EncodeAll, whose do.
func bomb(t *testing.T, n int, declared bool) []byte {
	t.Helper()
	if declared {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		return enc.EncodeAll(make([]byte, n), nil)
	}
	var buf bytes.Buffer
	enc, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < n; i += len(zeros) {
		enc.Write(zeros[:min(len(zeros), n-i)])
	}
	enc.Close()
	return buf.Bytes()
}

func TestGatewayZstdBomb(t *testing.T) {
	for _, declared := range []bool{false, true} {
		b := bomb(t, 64<<20, declared)
		if len(b) > 64<<10 {
			t.Fatalf("bomb of %d bytes", len(b))
		}
		serve := func(w http.ResponseWriter, r *http.Request) { w.Write(b) }
		h := newHostile(t, map[string]http.HandlerFunc{"repodata.json.zst": serve})
		g := fastGateway()
		g.MaxRepodataSize = 4 << 20
		err := query(t, g, h.channel(t))
		wantLimit(t, err, h.URL+"/ch/linux-64/repodata.json.zst", "decompressed repodata", 4<<20, "Gateway.MaxRepodataSize")

		// The same file in a local channel.
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "linux-64"), 0o755)
		os.WriteFile(filepath.Join(dir, "linux-64", "repodata.json.zst"), b, 0o644)
		ch, _ := channel.Parse(dir)
		err = query(t, g, ch)
		wantLimit(t, err, ch.BaseURL+"/linux-64/repodata.json.zst", "decompressed repodata", 4<<20, "Gateway.MaxRepodataSize")

		// Parse, given the bomb, stops at the default limit.
		t.Setenv(EnvMaxRepodataSize, "1MiB")
		_, err = Parse(b, "https://h/c", "linux-64")
		wantLimit(t, err, "https://h/c/linux-64/repodata.json", "decompressed repodata", 1<<20, "ENVKIT_MAX_REPODATA_SIZE=2MiB")
	}
}

func TestGatewayShardBombs(t *testing.T) {
	b := bomb(t, 64<<20, false)
	shardHash := sha256.Sum256(b)
	index, err := msgpack.Marshal(map[string]any{
		"version": 1,
		"info":    map[string]any{"base_url": "./", "shards_base_url": "./shards/", "subdir": "linux-64"},
		"shards":  map[string]any{"a": shardHash[:]},
	})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil)
	indexZst := enc.EncodeAll(index, nil)

	// A shard that decompresses past the limit.
	shardFile := Hash(shardHash).String() + ".msgpack.zst"
	h := newHostile(t, map[string]http.HandlerFunc{
		ShardIndexFile: func(w http.ResponseWriter, r *http.Request) { w.Write(indexZst) },
		shardFile:      func(w http.ResponseWriter, r *http.Request) { w.Write(b) },
	})
	g := fastGateway()
	g.MaxShardSize = 1 << 20
	err = query(t, g, h.channel(t))
	shardURL := h.URL + "/ch/linux-64/shards/" + shardFile
	wantLimit(t, err, shardURL, "decompressed shard", 1<<20, "Gateway.MaxShardSize")

	// A shard index that does.
	h = newHostile(t, map[string]http.HandlerFunc{ShardIndexFile: func(w http.ResponseWriter, r *http.Request) { w.Write(b) }})
	err = query(t, g, h.channel(t))
	wantLimit(t, err, h.URL+"/ch/linux-64/"+ShardIndexFile, "decompressed shard index", 1<<20, "Gateway.MaxShardSize")

	// A shard index whose download is over the limit (with the default
	// limit from the environment).
	t.Setenv(EnvMaxShardSize, "64KiB")
	h = newHostile(t, map[string]http.HandlerFunc{ShardIndexFile: endless})
	err = query(t, fastGateway(), h.channel(t))
	wantLimit(t, err, h.URL+"/ch/linux-64/"+ShardIndexFile, "shard index", 64<<10, "ENVKIT_MAX_SHARD_SIZE=128KiB")
}

// TestGatewayRetriesTransientFailures: 503 twice, then the document.
func TestGatewayRetriesTransientFailures(t *testing.T) {
	var mu sync.Mutex
	failures := 2
	h := newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fail := failures > 0 && strings.Contains(r.URL.Path, "linux-64")
		if fail {
			failures--
		}
		mu.Unlock()
		if fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1", "build": "0"}}}`)
	}})
	recs, err := fastGateway().Query(context.Background(), []channel.Channel{h.channel(t)}, []string{"linux-64"}, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Errorf("%d records, want a from linux-64 and noarch", len(recs))
	}
	if n := h.count("/ch/linux-64/repodata.json"); n != 3 {
		t.Errorf("%d requests of linux-64/repodata.json, want 3 (2 failures, 1 success)", n)
	}
	for _, p := range []string{"/ch/linux-64/repodata.json.zst", "/ch/linux-64/" + ShardIndexFile, "/ch/noarch/repodata.json"} {
		if n := h.count(p); n != 1 {
			t.Errorf("%d requests of %s, want 1 (404 and 200 are final)", n, p)
		}
	}
}

func TestGatewayGivesUpOnServerErrors(t *testing.T) {
	h := newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}})
	for _, attempts := range []int{0, 5} {
		g := fastGateway()
		g.Attempts = attempts
		g.Concurrency = 1
		before := h.count("/ch/linux-64/repodata.json") + h.count("/ch/noarch/repodata.json")
		err := query(t, g, h.channel(t))
		want := max(attempts, DefaultAttempts)
		if err == nil || !strings.Contains(err.Error(), "/ch/") || !strings.Contains(err.Error(), "/repodata.json: 502 Bad Gateway (gave up after "+strconv.Itoa(want)+" attempts)") {
			t.Errorf("err = %v", err)
		}
		var fe *FetchError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.URL, h.channel(t).BaseURL+"/") || !strings.HasSuffix(fe.URL, "/repodata.json") {
			t.Errorf("err = %#v, want a FetchError with the repodata.json URL", err)
		}
		if n := h.count("/ch/linux-64/repodata.json") + h.count("/ch/noarch/repodata.json") - before; n != want {
			t.Errorf("%d requests, want %d", n, want)
		}
	}
	// Other statuses are final.
	h = newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}})
	g := fastGateway()
	g.Concurrency = 1
	if err := query(t, g, h.channel(t)); err == nil || !strings.HasSuffix(err.Error(), "/repodata.json: 403 Forbidden") {
		t.Errorf("err = %v", err)
	}
	if n := h.count("/ch/linux-64/repodata.json") + h.count("/ch/noarch/repodata.json"); n != 1 {
		t.Errorf("%d requests after a 403, want 1", n)
	}
}

func TestGatewayConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ch, _ := channel.Parse("http://" + addr + "/ch")
	err = query(t, fastGateway(), ch)
	if err == nil || !strings.Contains(err.Error(), "GET http://"+addr+"/ch/") || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "(gave up after 3 attempts)") {
		t.Errorf("err = %v", err)
	}
	var fe *FetchError
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.URL, "http://"+addr+"/ch/") {
		t.Errorf("err = %#v, want a FetchError with the URL", err)
	}
}

// TestGatewayAcceptThenHang: a server that accepts connections and never
// answers ends each try at the header timeout.
func TestGatewayAcceptThenHang(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var accepted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	accepted.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			go func() { <-done; c.Close() }()
		}
	})
	t.Cleanup(func() { close(done); l.Close(); accepted.Wait() })
	ch, _ := channel.Parse("http://" + l.Addr().String() + "/ch")
	g := fastGateway()
	g.HeaderTimeout = 50 * time.Millisecond
	g.Concurrency = 1
	err = query(t, g, ch)
	if err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") || !strings.Contains(err.Error(), "(gave up after 3 attempts)") {
		t.Errorf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// TestGatewayIdleBody: a server that sends the headers and a little of the
// body, then nothing, ends each try at the idle timeout, for any client.
func TestGatewayIdleBody(t *testing.T) {
	h := newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"packages": {`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}})
	for _, client := range []*http.Client{nil, {}} {
		g := fastGateway()
		g.Client = client
		g.IdleTimeout = 50 * time.Millisecond
		g.Concurrency = 1
		err := query(t, g, h.channel(t))
		if err == nil || !strings.Contains(err.Error(), "/repodata.json: reading the body: no data for 50ms (idle read timeout") ||
			!strings.Contains(err.Error(), "(gave up after 3 attempts)") {
			t.Errorf("err = %v", err)
		}
	}
}

// TestGatewayCanceledDuringBackoff: cancelling the context ends the waits.
func TestGatewayCanceledDuringBackoff(t *testing.T) {
	h := newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}})
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{RetryBackoff: time.Hour, Concurrency: 1}
	go func() {
		for h.count("/ch/linux-64/repodata.json")+h.count("/ch/noarch/repodata.json") == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // let the client read the 503 and start its hour of backoff
		cancel()
	}()
	_, err := g.Query(ctx, []channel.Channel{h.channel(t)}, []string{"linux-64"}, []string{"a"})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "after 1 attempt, the last: GET ") {
		t.Errorf("err = %v", err)
	}
}

// TestLocalChannelFIFO: a FIFO as repodata.json fails at once instead of
// waiting for a writer.
func TestLocalChannelFIFO(t *testing.T) {
	dir := t.TempDir()
	for _, sd := range []string{"linux-64", "noarch"} {
		os.MkdirAll(filepath.Join(dir, sd), 0o755)
		if err := syscall.Mkfifo(filepath.Join(dir, sd, "repodata.json"), 0o644); err != nil {
			t.Skip("no FIFOs here:", err)
		}
	}
	ch, _ := channel.Parse(dir)
	res := make(chan error, 1)
	go func() { res <- query(t, &Gateway{}, ch) }()
	select {
	case err := <-res:
		if err == nil || !strings.Contains(err.Error(), "/repodata.json: a named pipe (FIFO), not a regular file") {
			t.Errorf("err = %v", err)
		}
	case <-time.After(time.Minute): // a generous bound: the read blocked
		t.Fatal("reading a FIFO as repodata.json blocked")
	}

	// A directory and an oversized file are refused too.
	os.Remove(filepath.Join(dir, "linux-64", "repodata.json"))
	os.Mkdir(filepath.Join(dir, "linux-64", "repodata.json"), 0o755)
	if err := query(t, &Gateway{Concurrency: 1}, ch); err == nil || !strings.Contains(err.Error(), "linux-64/repodata.json: a directory, not a file") {
		t.Errorf("err = %v", err)
	}
	os.Remove(filepath.Join(dir, "linux-64", "repodata.json"))
	os.WriteFile(filepath.Join(dir, "linux-64", "repodata.json"), make([]byte, 2<<10), 0o644)
	err := query(t, &Gateway{MaxRepodataSize: 1 << 10, Concurrency: 1}, ch)
	wantLimit(t, err, ch.BaseURL+"/linux-64/repodata.json", "repodata", 1<<10, "Gateway.MaxRepodataSize")
}

// TestGatewayDeadSubdirLoadedOnce: a subdir that cannot be loaded costs
// its attempts once per Gateway, however many names are looked up there
// and however many lookups wait for it at once; a second query asks
// nothing more, and says the same.
func TestGatewayDeadSubdirLoadedOnce(t *testing.T) {
	h := newHostile(t, map[string]http.HandlerFunc{"": func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/linux-64/") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
	}})
	dead := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for p, c := range h.requests {
			if strings.Contains(p, "/linux-64/") {
				n += c
			}
		}
		return n
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = "pkg" + strconv.Itoa(i)
	}
	var errs []string
	for _, names := range [][]string{{"a"}, many} {
		g := &Gateway{RetryBackoff: time.Millisecond, Concurrency: 16}
		before := dead()
		err := query(t, g, h.channel(t), names...)
		if err == nil {
			t.Fatalf("%d names: no error", len(names))
		}
		if n := dead() - before; n != DefaultAttempts {
			t.Errorf("%d names: %d requests to the dead subdir, want %d (its attempts, once)", len(names), n, DefaultAttempts)
		}
		before = dead()
		again := query(t, g, h.channel(t), names...)
		if n := dead() - before; n != 0 {
			t.Errorf("%d names: a second query made %d requests to the dead subdir, want 0", len(names), n)
		}
		if again == nil || again.Error() != err.Error() {
			t.Errorf("%d names: the second query says %v, want %v", len(names), again, err)
		}
		errs = append(errs, err.Error())
	}
	if !strings.Contains(errs[0], "/ch/linux-64/"+ShardIndexFile+": 503 Service Unavailable (gave up after 3 attempts)") || errs[1] != errs[0] {
		t.Errorf("errors = %q, want the same for 1 and 40 names, naming the shard index and the 503", errs)
	}
}

// TestGatewayCanceledLoadNotKept: a load ended by its caller's context is
// not remembered as the subdir's failure: a later caller loads it.
func TestGatewayCanceledLoadNotKept(t *testing.T) {
	var down sync.Map // path -> true while it answers 503
	down.Store("/ch/linux-64/repodata.json", true)
	h := newHostile(t, map[string]http.HandlerFunc{"/repodata.json": func(w http.ResponseWriter, r *http.Request) {
		if _, ok := down.Load(r.URL.Path); ok {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"packages": {"a-1-0.tar.bz2": {"name": "a", "version": "1", "build": "0"}}}`)
	}})
	g := &Gateway{RetryBackoff: time.Hour, Concurrency: 1}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for h.count("/ch/linux-64/repodata.json") == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // into the hour of backoff
		cancel()
	}()
	if _, err := g.Query(ctx, []channel.Channel{h.channel(t)}, []string{"linux-64"}, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	down.Delete("/ch/linux-64/repodata.json")
	recs, err := g.Query(context.Background(), []channel.Channel{h.channel(t)}, []string{"linux-64"}, []string{"a"})
	if err != nil {
		t.Fatalf("after a cancelled query: %v", err)
	}
	if len(recs) != 2 {
		t.Errorf("%d records, want a from linux-64 and noarch", len(recs))
	}
	if n := h.count("/ch/linux-64/repodata.json"); n != 2 {
		t.Errorf("%d requests of linux-64/repodata.json, want 2 (the cancelled 503, then the answer)", n)
	}
}
