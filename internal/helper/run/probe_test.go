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

// A host's Authorization header value, from its environment variable (a
// BuildKit secret), goes with the requests to that host alone; the output
// says which hosts had one, and why a value cannot be sent, never the
// value.
func TestProbeSendsCredentials(t *testing.T) {
	const token = "Bearer s3kr1t-probe"
	var other atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	// The same server under another host name (localhost) gets no header.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			other.Add(1)
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(elsewhere.Close)
	elsewhereURL := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1) + "/ch/noarch/repodata.json"
	urls := []string{srv.URL + "/ch/noarch/repodata.json", elsewhereURL}
	t.Setenv(helper.AuthEnv(0), token)
	t.Setenv(helper.AuthEnv(1), "Bearer x\n")
	t.Setenv(helper.AuthEnv(2), "") // how BuildKit gives an optional secret it does not have
	dir := t.TempDir()
	in, err := (&helper.ProbeInput{URLs: urls, Hosts: []string{"127.0.0.1", "bad.example", "absent.example"}}).Encode()
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
	if strings.Contains(string(data), "s3kr1t") {
		t.Errorf("the output shows the secret: %s", data)
	}
	out, err := helper.ReadProbeOutput(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Status[urls[0]]; got != 200 {
		t.Errorf("with the header: status %d, want 200", got)
	}
	if got := out.Status[urls[1]]; got != 401 || other.Load() != 0 {
		t.Errorf("another host: status %d, %d requests with a header", got, other.Load())
	}
	if v, ok := out.Auth["127.0.0.1"]; !ok || v != "" {
		t.Errorf("Auth[127.0.0.1] = %q, %v", v, ok)
	}
	if v := out.Auth["bad.example"]; !strings.Contains(v, "line break") {
		t.Errorf("Auth[bad.example] = %q, want the line break named", v)
	}
	if _, ok := out.Auth["absent.example"]; ok || len(out.Auth) != 2 {
		t.Errorf("Auth = %v, want 127.0.0.1 and bad.example", out.Auth)
	}
}
