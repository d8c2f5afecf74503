package run

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/internal/helper"
)

// The probe answers with each URL's status, a refused connection included,
// and succeeds whatever the answers; it asks with HEAD only.
func TestProbe(t *testing.T) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			gets.Add(1)
		}
		switch r.URL.Path {
		case "/ch/linux-64/repodata.json":
			w.WriteHeader(http.StatusOK)
		case "/ch/linux-64/repodata.json.zst":
			http.NotFound(w, r)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/ch/noarch/repodata.json"
	l.Close()
	urls := []string{srv.URL + "/ch/linux-64/repodata.json", srv.URL + "/ch/linux-64/repodata.json.zst", srv.URL + "/ch/noarch/repodata.json", closed}

	dir := t.TempDir()
	in, err := (&helper.ProbeInput{URLs: urls}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, helper.ProbeInputFile), in, 0o644); err != nil {
		t.Fatal(err)
	}
	p := helper.Probe{Day: "2026-12-01", Input: filepath.Join(dir, helper.ProbeInputFile), Output: filepath.Join(dir, "out.json")}
	if err := Main(context.Background(), p.Args(), os.Stderr); err != nil {
		t.Fatalf("probe failed: %v", err)
	}
	data, err := os.ReadFile(p.Output)
	if err != nil {
		t.Fatal(err)
	}
	out, err := helper.ReadProbeOutput(data)
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]int{urls[0]: 200, urls[1]: 404, urls[2]: 503, closed: 0} {
		if got, ok := out.Status[u]; !ok || got != want {
			t.Errorf("%s: status %d (%v), want %d", u, got, ok, want)
		}
	}
	if e := out.Errors[closed]; !strings.Contains(e, "connection refused") {
		t.Errorf("closed port: error %q", e)
	}
	if len(out.Errors) != 1 {
		t.Errorf("errors %v, want the closed port's alone", out.Errors)
	}
	if gets.Load() != 0 {
		t.Errorf("%d requests other than HEAD", gets.Load())
	}
}
