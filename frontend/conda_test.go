package frontend

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/condatest"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/spec"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func pkg(name, subdir string, depends ...string) condatest.Package {
	return condatest.Package{Name: name, Version: "1.0", Build: "0", Subdir: subdir, Depends: depends,
		Files: []condatest.File{{Path: "share/" + name + ".txt", Content: name + " for " + subdir + "\n"}}}
}

// serveChannel serves a conda channel over HTTP and counts the requests per path.
func serveChannel(t *testing.T, pkgs ...condatest.Package) (string, map[string]int) {
	t.Helper()
	dir := t.TempDir()
	if err := condatest.WriteChannel(dir, pkgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	gets := map[string]int{}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets[r.URL.Path]++
		mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, gets
}

// condaFor is a conda solver for the environment conda.yml describes,
// fetching repodata directly (not through BuildKit).
func condaFor(t *testing.T, condaYML string) *condaSolver {
	t.Helper()
	const envYML = "name: e\nimage: reg/base:1\nconda_file: conda.yml\n"
	env, err := spec.Load("environment.yml", []byte(envYML), fstest.MapFS{"conda.yml": {Data: []byte(condaYML)}})
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{opts: &options{Filename: "environment.yml", HelperImage: "reg/envkit/frontend:1"}}
	return &condaSolver{b: b, env: env, gateway: &repodata.Gateway{}}
}

var (
	amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = ocispecs.Platform{OS: "linux", Architecture: "arm64"}
)

// All target platforms resolve in one go: each repodata file is fetched
// once, and each target gets its own platform's packages and lock.
func TestCondaResolveAllPlatforms(t *testing.T) {
	url, gets := serveChannel(t, pkg("libfoo", "linux-64"), pkg("libfoo", "linux-aarch64"),
		pkg("tool", "linux-64", "libfoo"), pkg("tool", "linux-aarch64", "libfoo"), pkg("docs", "noarch"))
	cs := condaFor(t, "channels: ["+url+"]\ndependencies: [tool, docs]\n")
	got, err := cs.resolve(context.Background(), []ocispecs.Platform{amd64, arm64, amd64}, amd64)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d results for 3 targets", len(got))
	}
	for i, want := range []string{"linux-64", "linux-aarch64", "linux-64"} {
		c := got[i]
		if c.Subdir != want {
			t.Errorf("target %d: subdir %s, want %s", i, c.Subdir, want)
		}
		var names []string
		for _, r := range c.Records {
			names = append(names, r.Name)
			if r.Subdir != want && r.Subdir != "noarch" {
				t.Errorf("target %d (%s): %s from %s", i, want, r.Dist(), r.Subdir)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"docs", "libfoo", "tool"}) {
			t.Errorf("target %d: packages %v", i, names)
		}
		l, err := lock.Read("conda-lock.yml", c.Lock)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.Platforms, []string{want}) || len(l.Packages) != 3 {
			t.Errorf("target %d: the image's lock holds %v, %d packages; want only %s", i, l.Platforms, len(l.Packages), want)
		}
	}
	for p, n := range gets {
		if n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	for _, p := range []string{"/linux-64/repodata.json", "/linux-aarch64/repodata.json", "/noarch/repodata.json"} {
		if gets[p] != 1 {
			t.Errorf("%s fetched %d times, want once (requests: %v)", p, gets[p], gets)
		}
	}
}

// A platform that cannot be solved fails the build with its own error; a
// bad spec is marked at its line of the conda file.
func TestCondaResolveErrors(t *testing.T) {
	url, _ := serveChannel(t, pkg("tool", "linux-64"))
	cs := condaFor(t, "channels: ["+url+"]\ndependencies: [tool]\n")
	_, err := cs.resolve(context.Background(), []ocispecs.Platform{amd64, arm64}, amd64)
	var pe *resolve.PlatformError
	if !errors.As(err, &pe) || pe.Platform != "linux-aarch64" {
		t.Errorf("arm64 without tool: %v", err)
	}

	// spec.Load refuses the bad spec before any resolve, at its line.
	_, err = spec.Load("environment.yml", []byte("name: e\nimage: reg/base:1\nconda_file: conda.yml\n"),
		fstest.MapFS{"conda.yml": {Data: []byte("channels: [" + url + "]\ndependencies:\n  - tool\n  - 'numpy >>1'\n")}})
	var list diag.List
	if !errors.As(err, &list) || len(list) != 1 || list[0].File != "conda.yml" || list[0].Line != 4 || !strings.Contains(list[0].Msg, "numpy >>1") {
		t.Errorf("bad spec: %#v", err)
	}
}

// TestUnreachableChannels: a channel BuildKit cannot fetch from, whether
// the environment lists it or a dependency names it, is refused at its
// line; http(s) channels, names and defaults are not.
func TestUnreachableChannels(t *testing.T) {
	for _, c := range []struct {
		yml, want string
		line      int
		field     string
	}{
		{yml: "channels: [conda-forge, defaults, nodefaults, 'http://127.0.0.1:9/ch']\ndependencies:\n  - conda-forge::numpy\n  - defaults::six\n  - 'http://127.0.0.1:9/other::tool'\n  - scipy[channel=bioconda]\n"},
		{yml: "channels:\n  - conda-forge\n  - ./my-channel\ndependencies: [tool]\n", line: 3, field: "channels", want: `channel "./my-channel" is not reachable from BuildKit`},
		{yml: "channels: [conda-forge]\ndependencies:\n  - python\n  - file:///srv/chan::tool\n", line: 4, field: "dependencies",
			want: `channel "file:///srv/chan", which this dependency names, is not reachable from BuildKit`},
		{yml: "channels: [conda-forge]\ndependencies:\n  - 'tool[channel=/srv/chan]'\n", line: 3, field: "dependencies",
			want: `channel "/srv/chan", which this dependency names, is not reachable from BuildKit`},
	} {
		ef, err := envfile.Parse("conda.yml", []byte(c.yml))
		if err != nil {
			t.Fatal(err)
		}
		errs := unreachableChannels(ef)
		if c.want == "" {
			if errs != nil {
				t.Errorf("%q: %v", c.yml, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].File != "conda.yml" || errs[0].Line != c.line || errs[0].Field != c.field || errs[0].Msg != c.want {
			t.Errorf("%q: got %#v, want line %d, field %s: %s", c.yml, errs, c.line, c.field, c.want)
		}
	}
}
