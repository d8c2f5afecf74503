package index

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRedirect follows a redirect and resolves relative file URLs against
// the page's final URL.
func TestRedirect(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/simple/demo/", http.StatusMovedPermanently)
	}))
	t.Cleanup(front.Close)
	p, err := newClient(front.URL+"/elsewhere/").Project(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if p.Pages[0].URL != srv.URL+"/simple/demo/" || p.Files()[1].URL != srv.URL+"/files/demo-1.0-py3-none-any.whl" {
		t.Errorf("page %s, file %s", p.Pages[0].URL, p.Files()[1].URL)
	}
}

// TestIdleAndShortBodies: a body that stalls ends with the idle timeout; a
// body cut short of its Content-Length is tried again.
func TestIdleAndShortBodies(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/stall/"):
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case strings.HasPrefix(r.URL.Path, "/short/"):
			w.Header().Set("Content-Type", "text/html")
			if n.Add(1) == 1 {
				w.Header().Set("Content-Length", "1000")
				w.Write([]byte("<html>"))
				return
			}
			w.Write([]byte(`<a href="a-1.0.tar.gz">a</a>`))
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	ctx := context.Background()
	c := newClient(srv.URL + "/stall/")
	c.IdleTimeout, c.Attempts = 50*time.Millisecond, 1
	start := time.Now()
	_, err := c.Project(ctx, "a")
	if err == nil || !strings.Contains(err.Error(), "no data for 50ms (idle read timeout, Client.IdleTimeout)") {
		t.Errorf("stalled body: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the idle timeout did not end the read")
	}
	p, err := newClient(srv.URL+"/short/").Project(ctx, "a")
	if err != nil || len(p.Files()) != 1 || n.Load() != 2 {
		t.Errorf("short body: %v after %d tries", err, n.Load())
	}
}

// TestWheelMetadataLimit: METADATA inside a wheel larger than
// MaxMetadataSize is refused without reading it whole.
func TestWheelMetadataLimit(t *testing.T) {
	big := meta("demo", "1.0") + "\n" + strings.Repeat("description\n", 10000)
	srv := newIndexServer(t, map[string][]testFile{"demo": {{name: "demo-1.0-py3-none-any.whl", body: makeWheel(t, "demo", "1.0", big)}}})
	c := newClient(srv.URL + "/simple/")
	c.MaxMetadataSize = 4096
	p, err := c.Project(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Metadata(context.Background(), p.Files()[0])
	var le *LimitError
	if !errors.As(err, &le) || le.URL != "demo-1.0.dist-info/METADATA in demo-1.0-py3-none-any.whl" {
		t.Errorf("got %v", err)
	}
}

// TestWheelWithoutMetadata: a wheel with no METADATA for its project.
func TestWheelWithoutMetadata(t *testing.T) {
	srv := newIndexServer(t, map[string][]testFile{"demo": {
		{name: "demo-1.0-py3-none-any.whl", body: makeWheel(t, "other", "1.0", meta("other", "1.0"))},
		{name: "demo-1.1-py3-none-any.whl", body: []byte("not a zip")},
	}})
	c := newClient(srv.URL + "/simple/")
	ctx := context.Background()
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Metadata(ctx, p.Files()[0]); err == nil || !strings.Contains(err.Error(), "no demo-*.dist-info/METADATA in the wheel (it has other-1.0.dist-info)") {
		t.Errorf("got %v", err)
	}
	if _, err := c.Metadata(ctx, p.Files()[1]); err == nil || !strings.Contains(err.Error(), "not a wheel (zip)") {
		t.Errorf("got %v", err)
	}
}
