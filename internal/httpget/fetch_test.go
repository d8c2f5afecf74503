package httpget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestTransientStatus(t *testing.T) {
	for code, want := range map[int]bool{
		200: false, 304: false, 400: false, 401: false, 403: false, 404: false, 410: false, 418: false,
		408: true, 429: true, 500: true, 502: true, 503: true, 504: true, 599: true,
	} {
		if got := TransientStatus(code); got != want {
			t.Errorf("TransientStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

// TestPermanent: what trying again cannot mend (certificates, a host that
// does not exist, a scheme not spoken), and what it may.
func TestPermanent(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, true},
		{x509.UnknownAuthorityError{}, true},
		{x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, true},
		{x509.CertificateInvalidError{Reason: x509.Expired}, true},
		{&net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, true},
		{errors.New(`unsupported protocol scheme "ftp"`), true},
		{&net.DNSError{Err: "server misbehaving", Name: "h", IsTemporary: true}, false},
		{refused, false},
		{reset, false},
		{context.DeadlineExceeded, false},
		{io.ErrUnexpectedEOF, false},
		{errors.New("rpc error: code = Unknown desc = connection refused"), false}, // its type lost on the way
	} {
		if got := Permanent(fmt.Errorf("GET u: %w", tc.err)); got != tc.want {
			t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// server serves handlers by path on 127.0.0.1 and counts requests per path.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	count map[string]int
}

func newServer(t *testing.T, routes map[string]func(n int, w http.ResponseWriter, r *http.Request)) *server {
	s := &server{count: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.count[r.URL.Path]++
		n := s.count[r.URL.Path]
		s.mu.Unlock()
		if fn, ok := routes[r.URL.Path]; ok {
			fn(n, w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[path]
}

func fast() *Fetcher {
	return &Fetcher{Attempts: 3, Backoff: time.Millisecond, IdleTimeout: time.Minute, IdleField: "T.IdleTimeout", CacheName: "test cache"}
}

var big = Limit{Max: 1 << 20, What: "doc", Field: "T.Max"}

// TestRetries: transient statuses are tried Attempts times and say so;
// 404, 410 and other statuses are tried once.
func TestRetries(t *testing.T) {
	status := func(code, okAfter int) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			if okAfter == 0 || n <= okAfter {
				http.Error(w, "no", code)
				return
			}
			io.WriteString(w, "ok")
		}
	}
	s := newServer(t, map[string]func(int, http.ResponseWriter, *http.Request){
		"/flaky":   status(503, 2),
		"/busy":    status(429, 1),
		"/timeout": status(408, 1),
		"/down":    status(502, 0),
		"/gone":    status(410, 0),
		"/denied":  status(403, 0),
		"/teapot":  status(418, 0),
	})
	ctx := context.Background()
	for _, tc := range []struct {
		path     string
		attempts int
		requests int
		err      string
	}{
		{"/flaky", 3, 3, ""},
		{"/busy", 3, 2, ""},
		{"/timeout", 3, 2, ""},
		{"/flaky", 2, 2, "503 Service Unavailable (gave up after 2 attempts)"},
		{"/down", 5, 5, "502 Bad Gateway (gave up after 5 attempts)"},
		{"/down", 1, 1, "/down: 502 Bad Gateway"},
		{"/down", 0, 1, "/down: 502 Bad Gateway"},
		{"/missing", 3, 1, "/missing: 404 Not Found: not found"},
		{"/gone", 3, 1, "/gone: 410 Gone: not found"},
		{"/denied", 3, 1, "/denied: 403 Forbidden"},
		{"/teapot", 3, 1, "/teapot: 418 I'm a teapot"},
	} {
		s.mu.Lock()
		s.count = map[string]int{}
		s.mu.Unlock()
		f := fast()
		f.Attempts = tc.attempts
		resp, err := f.Get(ctx, s.URL+tc.path, "", big, nil)
		switch {
		case tc.err == "" && (err != nil || string(resp.Body) != "ok"):
			t.Errorf("%s, %d attempts: %v", tc.path, tc.attempts, err)
		case tc.err != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "GET "+s.URL+tc.path+": ")):
			t.Errorf("%s, %d attempts: err = %v, want %q", tc.path, tc.attempts, err, tc.err)
		}
		if n := s.requests(tc.path); n != tc.requests {
			t.Errorf("%s, %d attempts: %d requests, want %d", tc.path, tc.attempts, n, tc.requests)
		}
		if strings.Contains(tc.err, "not found") != errors.Is(err, ErrNotFound) {
			t.Errorf("%s: errors.Is(ErrNotFound) = %v", tc.path, errors.Is(err, ErrNotFound))
		}
		var fe *FetchError
		if wantFE := tc.err != "" && !strings.Contains(tc.err, "not found"); errors.As(err, &fe) != wantFE || (wantFE && fe.URL != s.URL+tc.path) {
			t.Errorf("%s: err = %#v, FetchError wanted: %v", tc.path, err, wantFE)
		}
	}

	// StatusError makes the error of the other statuses.
	f := fast()
	f.StatusError = func(u string, req *http.Request, resp *http.Response) error {
		if resp.StatusCode == 403 {
			return fmt.Errorf("GET %s: %s (sent %q)", u, resp.Status, req.Header.Get("X-Test"))
		}
		return nil
	}
	f.Prepare = func(r *http.Request) { r.Header.Set("X-Test", "yes") }
	if _, err := f.Get(ctx, s.URL+"/denied", "", big, nil); err == nil || err.Error() != "GET "+s.URL+`/denied: 403 Forbidden (sent "yes")` {
		t.Errorf("StatusError: %v", err)
	}
	if _, err := f.Get(ctx, s.URL+"/teapot", "", big, nil); err == nil || err.Error() != "GET "+s.URL+"/teapot: 418 I'm a teapot" {
		t.Errorf("StatusError returning nil: %v", err)
	}
}

// TestHostileBodies: an endless body stops at the limit after one request;
// a Content-Length over it fails before reading; a body that stalls ends
// at the idle timeout, each try; a body cut short is tried again and
// never cached.
func TestHostileBodies(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, map[string]func(int, http.ResponseWriter, *http.Request){
		"/endless": func(_ int, w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 32<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		},
		"/announced": func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3000000")
			w.Write([]byte("{"))
		},
		"/stall": func(_ int, w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		},
		"/short": func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, n))
			if n == 1 {
				w.Header().Set("Content-Length", "1000")
				w.Write([]byte("cut"))
				return
			}
			w.Write([]byte("whole"))
		},
	})
	t.Cleanup(func() { close(release) })
	ctx := context.Background()

	var le *LimitError
	_, err := fast().Get(ctx, s.URL+"/endless", "", big, nil)
	if !errors.As(err, &le) || le.URL != s.URL+"/endless" || err.Error() != s.URL+"/endless: doc larger than the limit of 1MiB; raise T.Max" {
		t.Errorf("endless: %v", err)
	}
	if n := s.requests("/endless"); n != 1 {
		t.Errorf("endless: %d requests, want 1 (a limit is not worth another try)", n)
	}
	if _, err := fast().Get(ctx, s.URL+"/announced", "", big, nil); !errors.As(err, &le) || s.requests("/announced") != 1 {
		t.Errorf("announced: %v after %d requests", err, s.requests("/announced"))
	}

	f := fast()
	f.IdleTimeout = 50 * time.Millisecond
	start := time.Now()
	_, err = f.Get(ctx, s.URL+"/stall", "", big, nil)
	want := "GET " + s.URL + "/stall: reading the body: no data for 50ms (idle read timeout, T.IdleTimeout) (gave up after 3 attempts)"
	if err == nil || err.Error() != want {
		t.Errorf("stall: %v, want %q", err, want)
	}
	if !errors.As(err, new(*FetchError)) {
		t.Errorf("stall: %#v, want a FetchError", err)
	}
	if n := s.requests("/stall"); n != 3 {
		t.Errorf("stall: %d requests, want 3", n)
	}
	if time.Since(start) > 30*time.Second {
		t.Error("the idle timeout did not end the reads")
	}

	f = fast()
	f.CacheDir = t.TempDir()
	resp, err := f.Get(ctx, s.URL+"/short", "", big, nil)
	if err != nil || string(resp.Body) != "whole" || s.requests("/short") != 2 {
		t.Errorf("short: %v after %d requests", err, s.requests("/short"))
	}
	if h, body := readEntry(entryPath(f.CacheDir, s.URL+"/short"), s.URL+"/short"); h == nil || h.ETag != `"2"` || string(body) != "whole" {
		t.Errorf("short: cached %+v %q, want the whole body of the second try", h, body)
	}
}

// TestCache: a cached body is revalidated with its ETag and Last-Modified
// and returned on 304 with its final URL and content type; the Accept
// header is part of the key; a changed body replaces the entry.
func TestCache(t *testing.T) {
	var mu sync.Mutex
	version := "1"
	var conditional []string
	s := newServer(t, map[string]func(int, http.ResponseWriter, *http.Request){
		"/old": func(_ int, w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/doc", http.StatusFound) },
		"/doc": func(_ int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			conditional = append(conditional, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
			etag := `"` + version + r.Header.Get("Accept") + `"`
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
			w.Header().Set("Last-Modified", "Tue, 01 Dec 2026 00:00:00 GMT")
			w.Header().Set("Content-Type", "text/x-"+version)
			io.WriteString(w, "v"+version+" "+r.Header.Get("Accept"))
		},
	})
	ctx := context.Background()
	f := fast()
	f.CacheDir = t.TempDir()
	get := func(accept, want string) {
		t.Helper()
		resp, err := f.Get(ctx, s.URL+"/old", accept, big, nil)
		if err != nil || string(resp.Body) != want || resp.URL != s.URL+"/doc" || resp.ContentType != "text/x-"+want[1:2] {
			t.Errorf("got %+v, %v, want %q from %s/doc", resp, err, want, s.URL)
		}
	}
	get("", "v1 ")
	get("", "v1 ")
	get("a/b", "v1 a/b")
	mu.Lock()
	version = "2"
	mu.Unlock()
	get("", "v2 ")
	get("", "v2 ")
	wantCond := []string{"|", `"1"|Tue, 01 Dec 2026 00:00:00 GMT`, "|", `"1"|Tue, 01 Dec 2026 00:00:00 GMT`, `"2"|Tue, 01 Dec 2026 00:00:00 GMT`}
	if fmt.Sprint(conditional) != fmt.Sprint(wantCond) {
		t.Errorf("conditional headers %q, want %q", conditional, wantCond)
	}
	// decode runs on a fresh body before it is cached, not on a 304.
	decoded := 0
	decode := func(b []byte) ([]byte, error) { decoded++; return []byte(strings.ToUpper(string(b))), nil }
	f.CacheDir = t.TempDir()
	for range 2 {
		if resp, err := f.Get(ctx, s.URL+"/doc", "", big, decode); err != nil || string(resp.Body) != "V2 " {
			t.Errorf("decoded: %+v, %v", resp, err)
		}
	}
	if decoded != 1 {
		t.Errorf("decode ran %d times, want 1", decoded)
	}
}

// TestCanceledDuringBackoff: cancelling the context ends the wait, and
// the error says how many tries were made and the last failure.
func TestCanceledDuringBackoff(t *testing.T) {
	s := newServer(t, map[string]func(int, http.ResponseWriter, *http.Request){
		"/down": func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	f := fast()
	f.Backoff = time.Hour
	go func() {
		for s.requests("/down") == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	_, err := f.Get(ctx, s.URL+"/down", "", big, nil)
	want := "GET " + s.URL + "/down: context canceled (after 1 attempt, the last: GET " + s.URL + "/down: 503 Service Unavailable)"
	if !errors.Is(err, context.Canceled) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

// TestTransportFailures: a refused connection is tried again; a server
// that never answers ends at NewClient's header timeout; an unknown scheme
// is tried once.
func TestTransportFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx := context.Background()
	_, err = fast().Get(ctx, "http://"+addr+"/x", "", big, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "GET http://"+addr+"/x: ") || !strings.Contains(err.Error(), "connection refused") ||
		!strings.HasSuffix(err.Error(), "(gave up after 3 attempts)") {
		t.Errorf("refused: %v", err)
	}

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	})
	t.Cleanup(func() { close(done); hang.Close(); wg.Wait() })
	f := fast()
	f.Client = NewClient(time.Second, 50*time.Millisecond)
	_, err = f.Get(ctx, "http://"+hang.Addr().String()+"/x", "", big, nil)
	if err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") || !strings.HasSuffix(err.Error(), "(gave up after 3 attempts)") {
		t.Errorf("hang: %v", err)
	}

	f = fast()
	if _, err := f.Get(ctx, "ftp://h/x", "", big, nil); err == nil || Transient(err) || !strings.Contains(err.Error(), "unsupported protocol scheme") || strings.Contains(err.Error(), "attempts") {
		t.Errorf("ftp: %v", err)
	}
	if _, err := f.Get(ctx, "http://user:secret@h/%zz", "", big, nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("invalid URL with a password: %v", err)
	}
}

// TestDownload: the body streams to the file with its digest; a try cut
// short is tried again from an empty file; over the limit fails; a local
// file is streamed too.
func TestDownload(t *testing.T) {
	body := strings.Repeat("wheel", 1000)
	s := newServer(t, map[string]func(int, http.ResponseWriter, *http.Request){
		"/w": func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			if n == 1 {
				io.WriteString(w, body[:100])
				return
			}
			io.WriteString(w, body)
		},
		"/cut": func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			io.WriteString(w, body[:100])
		},
	})
	ctx := context.Background()
	out, err := os.CreateTemp(t.TempDir(), "dl")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	want := sha256.Sum256([]byte(body))
	sum, err := fast().Download(ctx, s.URL+"/w", big, out, sha256.New)
	got, _ := os.ReadFile(out.Name())
	if err != nil || string(sum) != string(want[:]) || string(got) != body || s.requests("/w") != 2 {
		t.Errorf("download: %d bytes, %v after %d requests", len(got), err, s.requests("/w"))
	}
	small := Limit{Max: 4999, What: "file", Field: "T.MaxFile"}
	var le *LimitError
	if _, err := fast().Download(ctx, s.URL+"/w", small, out, sha256.New); !errors.As(err, &le) || errors.As(err, new(*FetchError)) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := fast().Download(ctx, s.URL+"/nothing", big, out, sha256.New); !errors.Is(err, ErrNotFound) || errors.As(err, new(*FetchError)) {
		t.Errorf("absent: %v", err)
	}
	f := fast()
	f.Attempts = 1
	if _, err := f.Download(ctx, s.URL+"/cut", big, out, sha256.New); !errors.As(err, new(*FetchError)) || !strings.HasSuffix(err.Error(), "reading the body: unexpected EOF") {
		t.Errorf("cut short: %v", err)
	}
	local := out.Name() + ".local"
	os.WriteFile(local, []byte(body), 0o644)
	out.Truncate(0)
	out.Seek(0, io.SeekStart)
	if sum, err := fast().Download(ctx, "file://"+local, big, out, sha256.New); err != nil || string(sum) != string(want[:]) {
		t.Errorf("local: %v", err)
	}
	if _, err := fast().Download(ctx, "file://"+local, small, out, sha256.New); !errors.As(err, &le) {
		t.Errorf("local over the limit: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h/x":      "https://h/x",
		"https://token@h/x":    "https://h/x",
		"https://h/x":          "https://h/x",
		"https://u:p@h/%zz":    "https://h/%zz",
		"not a url with u@h/x": "not a url with u@h/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A Buffer reads back what Download wrote, from the start again on a
// retry, as a temporary file would.
func TestDownloadBuffer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("cut")) // a body cut short: tried again
			return
		}
		w.Write([]byte("the whole body"))
	}))
	defer srv.Close()
	f := &Fetcher{Attempts: 2, Backoff: time.Millisecond}
	var b Buffer
	sum, err := f.Download(context.Background(), srv.URL, Limit{Max: 1 << 20}, &b, sha256.New)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("the whole body"))
	if !bytes.Equal(sum, want[:]) {
		t.Errorf("sum %x, want %x", sum, want)
	}
	got := make([]byte, b.Len())
	if n, err := b.ReadAt(got, 0); n != len(got) || (err != nil && !errors.Is(err, io.EOF)) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	if string(got) != "the whole body" || calls.Load() != 2 {
		t.Errorf("buffer holds %q after %d calls", got, calls.Load())
	}
	if _, err := b.ReadAt(make([]byte, 1), b.Len()); !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt at the end: %v, want EOF", err)
	}
}
