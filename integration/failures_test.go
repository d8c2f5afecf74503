package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
)

// failingChannel serves a channel of pkgs whose requests are first
// answered by fail (while it returns true) and counts them per path, but
// for the frontend's probe (user agent envkit), which is served as is.
func failingChannel(t *testing.T, fail func(path string, n int, w http.ResponseWriter) bool, pkgs ...condatest.Package) (dir, url string, gets func(string) int) {
	t.Helper()
	dir = t.TempDir()
	if err := condatest.WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	count := map[string]int{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "envkit" {
			mu.Lock()
			count[r.URL.Path]++
			n := count[r.URL.Path]
			mu.Unlock()
			if fail != nil && fail(r.URL.Path, n, w) {
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return dir, srv.URL, func(p string) int { mu.Lock(); defer mu.Unlock(); return count[p] }
}

// condaProject is an environment whose conda.yml names one channel (line
// 2) and requests tool (line 4), which depends on libfoo.
func condaProject(t *testing.T, e *harness.Env, ch string) project {
	return newProject(t, "environment.yml", syntax(t, e)+"name: conda-fails\nimage: "+e.Base.Base+"\nconda_file: conda.yml\n",
		map[string]string{"conda.yml": "channels:\n  - " + ch + "\ndependencies:\n  - python=3.10\n  - tool\n"})
}

func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: the output does not say %q:\n%s", what, w, out)
		}
	}
}

// A channel serving a package whose bytes differ from its repodata: the
// error names the package file, the channel, the expected and received
// sha256, and the conda file's line that brought the package in, through
// which dependency, and marks that line.
func TestCondaChecksumMismatch(t *testing.T) {
	e := harness.Get(t)
	// A libfoo of this test's own: BuildKit fetches a package by its
	// sha256 only once, and other tests' libfoo is in its cache.
	lib := libfoo("linux-64", "x86_64")
	lib.Files = append(lib.Files, condatest.File{Path: "share/checksum-test.txt", Content: t.Name() + "\n"})
	dir, ch, _ := failingChannel(t, nil, lib, tool("2.0", "linux-64"), python("linux-64"))
	file := filepath.Join(dir, "linux-64", "libfoo-1.0-h0_0.conda")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	other := append([]byte("not the package "), orig...)
	if err := os.WriteFile(file, other, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	out, err := clients[1].build(t, e, condaProject(t, e, ch), e.Ref("it/conda-checksum:1"), nil)
	if err == nil {
		t.Fatalf("the build succeeded with a corrupt package\n%s", out)
	}
	mustContain(t, "checksum mismatch", string(out),
		"conda.yml:5: libfoo-1.0-h0_0.conda (required by tool (conda.yml:5) → libfoo) from channel "+ch+": fetching "+ch+"/linux-64/libfoo-1.0-h0_0.conda",
		"expected sha256:"+sum(orig), "sha256:"+sum(other), ">>>   - tool")
}

// A channel answering 503 twice, then serving: the build succeeds after
// the repodata Gateway's retries, each a request to the channel.
func TestCondaRepodataRetried(t *testing.T) {
	e := harness.Get(t)
	_, ch, gets := failingChannel(t, func(p string, n int, w http.ResponseWriter) bool {
		if p == "/linux-64/repodata.json" && n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	}, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), python("linux-64"))
	if out, err := clients[1].build(t, e, condaProject(t, e, ch), e.Ref("it/conda-retried:1"), nil); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := gets("/linux-64/repodata.json"); n != 3 {
		t.Errorf("%d requests for linux-64/repodata.json, want 3 (two 503s, then the answer)", n)
	}
}

// Repodata that cannot be fetched (a 503 every time, a refused connection)
// is reported at the channel's line of the conda file, with the URL and
// the cause, not at the environment file's first line.
func TestCondaRepodataUnavailable(t *testing.T) {
	e := harness.Get(t)
	_, down, gets := failingChannel(t, func(p string, n int, w http.ResponseWriter) bool {
		if strings.HasSuffix(p, "/repodata.json") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	}, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), python("linux-64"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/ch"
	l.Close()
	for _, c := range []struct {
		name, ch string
		cause    []string
	}{
		{"5xx", down, []string{down + "/", "/repodata.json: 503 Service Unavailable (gave up after 3 attempts)"}},
		{"refused", closed, []string{closed + "/", "connection refused", "(gave up after 3 attempts)"}},
	} {
		out, err := clients[1].build(t, e, condaProject(t, e, c.ch), e.Ref("it/conda-unavailable:"+c.name), nil)
		if err == nil {
			t.Fatalf("%s: the build succeeded\n%s", c.name, out)
		}
		s := string(out)
		mustContain(t, c.name, s, append([]string{"conda.yml:2:5: channels: repodata cannot be fetched", ">>>   - " + c.ch}, c.cause...)...)
		if strings.Contains(s, ">>> # syntax=") {
			t.Errorf("%s: the environment file's first line is marked:\n%s", c.name, s)
		}
	}
	// The Gateway asks for a dead subdir once, with its 3 attempts,
	// however many package names it looks up there.
	if n := gets("/linux-64/repodata.json"); n != 3 {
		t.Errorf("%d requests for the 503 channel's linux-64/repodata.json, want the Gateway's 3 attempts, once", n)
	}
}

// A successful conda build prints no ERROR line: the optional repodata
// forms the channels lack are probed, not fetched, those of a channel only
// a spec names (<url>::pyhello, a channel without linux-64) too.
func TestCondaBuildNoErrorLines(t *testing.T) {
	e := harness.Get(t)
	_, ch, gets := failingChannel(t, nil, libfoo("linux-64", "x86_64"), tool("2.0", "linux-64"), python("linux-64"))
	_, other, otherGets := failingChannel(t, nil, pyhello)
	p := condaProject(t, e, ch)
	conda := filepath.Join(p.dir, "conda.yml")
	if err := os.WriteFile(conda, []byte("channels:\n  - "+ch+"\ndependencies:\n  - python=3.10\n  - tool\n  - "+other+"::pyhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := clients[1].build(t, e, p, e.Ref("it/conda-quiet:1"), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := otherGets("/noarch/repodata.json"); n != 1 {
		t.Errorf("the spec's channel's noarch/repodata.json asked for %d times besides the probe, want 1", n)
	}
	for _, p := range []string{"/linux-64/repodata.json", "/linux-64/repodata.json.zst", "/linux-64/repodata_shards.msgpack.zst", "/noarch/repodata.json.zst"} {
		if n := otherGets(p); n != 0 {
			t.Errorf("%s, which the spec's channel lacks, asked for %d times besides the probe", p, n)
		}
	}
	if lines := regexp.MustCompile(`(?m)^.*ERROR.*$`).FindAllString(string(out), -1); len(lines) > 0 {
		t.Errorf("ERROR lines in a successful build:\n%s\n\n%s", strings.Join(lines, "\n"), out)
	}
	if !strings.Contains(string(out), "conda: probe channels for their repodata files") {
		t.Errorf("no probe step in the progress:\n%s", out)
	}
	for _, p := range []string{"/linux-64/repodata.json.zst", "/linux-64/repodata_shards.msgpack.zst", "/noarch/repodata.json.zst"} {
		if n := gets(p); n != 0 {
			t.Errorf("%s, which the channel lacks, asked for %d times besides the probe", p, n)
		}
	}
}
