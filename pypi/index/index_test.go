package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
)

func ptr(s string) *string { return &s }

// fixture is a project "demo" with a yanked release, requires-python,
// metadata files announced every way, and a wheel without a metadata file.
func fixture(t testing.TB) map[string][]testFile {
	m10 := meta("demo", "1.0", "Requires-Dist: six>=1.0", "Requires-Python: >=3.8")
	m11 := meta("Demo", "1.1", "Requires-Dist: six>=1.1", "Requires-Dist: colorama; sys_platform == 'win32'")
	m12 := meta("demo", "1.2", "Requires-Dist: six>=1.2")
	m20 := meta("demo", "2.0", "Requires-Dist: six>=2.0", "Requires-Python: >=3.10")
	return map[string][]testFile{
		"demo": {
			{name: "demo-0.9.tar.gz", body: []byte("not really an sdist"), yanked: ptr("")},
			{name: "demo-1.0-py3-none-any.whl", body: makeWheel(t, "demo", "1.0", m10), requiresPy: ">=3.8", metadata: []byte(m10), metaAttr: "hash"},
			{name: "demo-1.1-py3-none-any.whl", body: makeWheel(t, "Demo", "1.1", m11), requiresPy: ">=3.8,<4", metadata: []byte(m11), metaAttr: "true", yanked: ptr("broken <windows> & co")},
			{name: "demo-1.2-py3-none-any.whl", body: makeWheel(t, "demo", "1.2", m12), metadata: []byte(m12), metaAttr: "legacy"},
			{name: "demo-1.3-py3-none-any.whl", body: makeWheel(t, "demo", "1.3", meta("demo", "1.3")), metadata: []byte(meta("demo", "1.3")), metaAttr: "wrong"},
			{name: "demo-2.0-py3-none-any.whl", body: makeWheel(t, "demo", "2.0", m20), requiresPy: ">=3.10"},
		},
	}
}

func newClient(indexes ...string) *Client {
	return &Client{Indexes: indexes, RetryBackoff: time.Millisecond}
}

// TestNegotiation fetches the same project as JSON and as HTML (one
// handler, by the Accept header) and from a server that only speaks HTML:
// the files are the same.
func TestNegotiation(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	ctx := context.Background()
	pj, err := newClient(srv.URL+"/simple").Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.accepts) != 1 || srv.accepts[0] != Accept {
		t.Fatalf("Accept headers %q", srv.accepts)
	}
	if pj.Pages[0].APIVersion != "1.1" || pj.Pages[0].Name != "demo" {
		t.Errorf("JSON page: api %q name %q", pj.Pages[0].APIVersion, pj.Pages[0].Name)
	}
	srv.htmlOnly = true
	ph, err := newClient(srv.URL+"/simple/").Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	jf, hf := pj.Files(), ph.Files()
	for i := range jf {
		jf[i].Size = -1 // HTML has no size
	}
	if !reflect.DeepEqual(jf, hf) {
		t.Fatalf("JSON and HTML differ:\n%+v\n%+v", jf, hf)
	}
	if len(hf) != 6 {
		t.Fatalf("%d files", len(hf))
	}
	f0, f1, f2 := hf[0], hf[1], hf[2]
	if !f0.Yanked || f0.YankedReason != "" || !f0.IsSdist() || f0.IsWheel() {
		t.Errorf("sdist: %+v", f0)
	}
	if want := srv.URL + "/files/demo-1.0-py3-none-any.whl"; f1.URL != want || f1.Index != srv.URL+"/simple/" {
		t.Errorf("URL %s, index %s", f1.URL, f1.Index)
	}
	if f1.SHA256() != sha256hex(srv.projects["demo"][1].body) {
		t.Errorf("sha256 %q", f1.SHA256())
	}
	if f1.RequiresPython != ">=3.8" || !f1.CoreMetadata || f1.MetadataHashes["sha256"] != sha256hex(srv.projects["demo"][1].metadata) {
		t.Errorf("demo 1.0: %+v", f1)
	}
	if f2.RequiresPython != ">=3.8,<4" || !f2.Yanked || f2.YankedReason != "broken <windows> & co" || !f2.CoreMetadata || f2.MetadataHashes != nil {
		t.Errorf("demo 1.1: %+v", f2)
	}
	rp, err := f2.RequiresPythonSet()
	if err != nil || rp.Contains(version.MustParse("3.7"), false) || !rp.Contains(version.MustParse("3.12"), false) {
		t.Errorf("requires-python %s %v", rp, err)
	}
	if !hf[3].CoreMetadata || hf[3].MetadataHashes["sha256"] == "" {
		t.Errorf("the PEP 658 attribute is not read: %+v", hf[3])
	}
	if hf[5].CoreMetadata {
		t.Errorf("demo 2.0 has no metadata file: %+v", hf[5])
	}
}

// TestNameInURL asks with an unnormalised name: the index sees the
// normalised one.
func TestNameInURL(t *testing.T) {
	srv := newIndexServer(t, map[string][]testFile{"foo-bar-baz": {{name: "Foo.Bar_baz-1.0.tar.gz", body: []byte("x")}}})
	p, err := newClient(srv.URL+"/simple/").Project(context.Background(), "Foo.Bar__baz")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "foo-bar-baz" || srv.count("/simple/foo-bar-baz/") != 1 || len(p.Files()) != 1 {
		t.Errorf("name %q, requests %v", p.Name, srv.requests)
	}
	if _, err := newClient(srv.URL+"/simple/").Project(context.Background(), "../etc"); err == nil {
		t.Errorf("an invalid name was asked for")
	}
}

func TestMetadata(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	ctx := context.Background()
	var warns []error
	var mu sync.Mutex
	c := newClient(srv.URL + "/simple/")
	c.Warn = func(err error) { mu.Lock(); warns = append(warns, err); mu.Unlock() }
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	files := p.Files()
	env := requirement.Environment{PythonVersion: "3.12", PythonFullVersion: "3.12.0", SysPlatform: "linux"}
	for i, want := range []struct {
		version, dep, file string // file: which request served it
		err                string
	}{
		1: {"1.0", "six>=1.0", "demo-1.0-py3-none-any.whl.metadata", ""},
		2: {"1.1", "six>=1.1", "demo-1.1-py3-none-any.whl.metadata", ""},
		3: {"1.2", "six>=1.2", "demo-1.2-py3-none-any.whl.metadata", ""},
		4: {"", "", "", "metadata file has sha256 "},
		5: {"2.0", "six>=2.0", "demo-2.0-py3-none-any.whl", ""},
	} {
		if i == 0 {
			continue
		}
		m, err := c.Metadata(ctx, files[i])
		if want.err != "" {
			var he *HashError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), want.err) || !strings.Contains(err.Error(), "refusing it") {
				t.Errorf("%s: got %v, want a hash error", files[i].Filename, err)
			}
			if srv.count("/files/demo-1.3-py3-none-any.whl") != 0 {
				t.Errorf("a refused metadata file fell back to the wheel")
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", files[i].Filename, err)
		}
		var deps []string
		for _, r := range m.RequiresDist {
			if r.Applies(env) {
				deps = append(deps, r.String())
			}
		}
		if m.Version.String() != want.version || !slices.Equal(deps, []string{want.dep}) {
			t.Errorf("%s: %s %q", files[i].Filename, m.Version, deps)
		}
		if srv.count("/files/"+want.file) != 1 {
			t.Errorf("%s: /files/%s requested %d times", files[i].Filename, want.file, srv.count("/files/"+want.file))
		}
	}
	if srv.count("/files/demo-1.0-py3-none-any.whl") != 0 {
		t.Errorf("wheel downloaded though its metadata file was served")
	}
	// An sdist that is not one.
	if _, err := c.Metadata(ctx, files[0]); err == nil || !strings.Contains(err.Error(), "demo-0.9.tar.gz: not gzip") {
		t.Errorf("sdist: %v", err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
}

// TestMetadataFallbacks: a metadata file announced but not served (read
// from the wheel, with a warning); a wheel whose hash is wrong (refused);
// metadata naming another project (refused).
func TestMetadataFallbacks(t *testing.T) {
	good := meta("demo", "1.0", "Requires-Dist: six")
	srv := newIndexServer(t, map[string][]testFile{"demo": {
		{name: "demo-1.0-py3-none-any.whl", body: makeWheel(t, "demo", "1.0", good), metaAttr: "true"},
		{name: "demo-1.1-py3-none-any.whl", body: makeWheel(t, "demo", "1.1", meta("demo", "1.1")), metadata: []byte(meta("other", "1.1")), metaAttr: "hash"},
	}})
	ctx := context.Background()
	var warns []string
	c := newClient(srv.URL + "/simple/")
	c.Warn = func(err error) { warns = append(warns, err.Error()) }
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	files := p.Files()
	m, err := c.Metadata(ctx, files[0])
	if err != nil || m.RequiresDist[0].Name != "six" {
		t.Fatalf("got %v %v", m, err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "lists a metadata file but does not serve it") {
		t.Errorf("warnings %q", warns)
	}
	if _, err := c.Metadata(ctx, files[1]); err == nil || !strings.Contains(err.Error(), "metadata names other 1.1, not the file's demo 1.1") {
		t.Errorf("other project's metadata: %v", err)
	}
	bad := files[0]
	bad.CoreMetadata = false
	bad.Hashes = map[string]string{"sha256": sha256hex([]byte("not it"))}
	var he *HashError
	if _, err := c.Metadata(ctx, bad); !errors.As(err, &he) || he.What != "distribution" {
		t.Errorf("wrong wheel hash: %v", err)
	}
}

// TestRealWheels serves Debian's pip, setuptools and wheel wheels without
// metadata files, so their METADATA is read from the wheels, and caches it.
func TestRealWheels(t *testing.T) {
	dir := testdata.Path(t, "pypi", "wheels")
	projects := map[string][]testFile{}
	for _, fn := range []string{"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl", "wheel-0.38.4-py3-none-any.whl"} {
		b, err := os.ReadFile(filepath.Join(dir, fn))
		if err != nil {
			t.Fatal(err)
		}
		proj, _, _ := strings.Cut(fn, "-")
		projects[proj] = []testFile{{name: fn, body: b, requiresPy: ">=3.7"}}
	}
	srv := newIndexServer(t, projects)
	ctx := context.Background()
	cache := t.TempDir()
	for _, want := range []struct {
		name, version string
		deps          int
	}{{"pip", "23.0.1", 0}, {"setuptools", "66.1.1", 45}, {"wheel", "0.38.4", 1}} {
		for round := range 2 {
			c := newClient(srv.URL + "/simple/")
			c.CacheDir = cache
			p, err := c.Project(ctx, want.name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.Metadata(ctx, p.Files()[0])
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != want.name || m.Version.String() != want.version || len(m.RequiresDist) != want.deps || m.RequiresPython.String() != ">=3.7" {
				t.Errorf("%s: %s %s, %d deps, python %s", want.name, m.Name, m.Version, len(m.RequiresDist), m.RequiresPython)
			}
			// The second round reads METADATA from the cache, by the wheel's sha256.
			if n := srv.count("/files/" + p.Files()[0].Filename); n != 1 {
				t.Errorf("%s round %d: wheel downloaded %d times", want.name, round, n)
			}
		}
	}
}

// TestTwoIndexes: pip's union of every index, uv's first match, and a
// project no index has.
func TestTwoIndexes(t *testing.T) {
	a := newIndexServer(t, map[string][]testFile{
		"shared": {{name: "shared-1.0.tar.gz", body: []byte("a")}},
	})
	b := newIndexServer(t, map[string][]testFile{
		"shared": {{name: "shared-2.0.tar.gz", body: []byte("b")}},
		"only-b": {{name: "only_b-1.0.tar.gz", body: []byte("c")}},
	})
	ctx := context.Background()
	c := newClient(a.URL+"/simple/", b.URL+"/simple/")
	p, err := c.Project(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Files() {
		got = append(got, f.Filename+"@"+strings.TrimPrefix(strings.TrimPrefix(f.Index, a.URL), b.URL))
	}
	if len(p.Pages) != 2 || len(got) != 2 || p.Files()[0].Index != a.URL+"/simple/" || p.Files()[1].Index != b.URL+"/simple/" {
		t.Errorf("union: %q", got)
	}
	c.FirstMatch = true
	if p, err = c.Project(ctx, "shared"); err != nil || len(p.Pages) != 1 || p.Files()[0].Filename != "shared-1.0.tar.gz" {
		t.Errorf("first match: %v %v", p, err)
	}
	if p, err = c.Project(ctx, "Only_B"); err != nil || p.Files()[0].Filename != "only_b-1.0.tar.gz" {
		t.Errorf("only on the second index: %v", err)
	}
	_, err = c.Project(ctx, "nowhere")
	var nf *NotFoundError
	if !errors.As(err, &nf) || len(nf.Indexes) != 2 || !strings.Contains(err.Error(), `no index has a project named "nowhere"`) {
		t.Errorf("not found: %v", err)
	}
}

// TestRetry: 503 twice, then the page; with fewer attempts, an error that
// says how many were made.
func TestRetry(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	ctx := context.Background()
	srv.fail = 2
	p, err := newClient(srv.URL+"/simple/").Project(ctx, "demo")
	if err != nil || len(p.Files()) != 6 || srv.count("/simple/demo/") != 3 {
		t.Fatalf("got %v after %d requests", err, srv.count("/simple/demo/"))
	}
	srv.fail = 5
	c := newClient(srv.URL + "/simple/")
	c.Attempts = 2
	_, err = c.Project(ctx, "demo")
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable (gave up after 2 attempts)") {
		t.Errorf("got %v", err)
	}
	// 404 is not tried again.
	before := srv.count("/simple/missing/")
	srv.fail = 0
	if _, err := newClient(srv.URL+"/simple/").Project(ctx, "missing"); err == nil || srv.count("/simple/missing/")-before != 1 {
		t.Errorf("404 tried %d times: %v", srv.count("/simple/missing/")-before, err)
	}
}

// TestCache revalidates a cached page with its ETag.
func TestCache(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	ctx := context.Background()
	cache := t.TempDir()
	var pages []*Project
	for range 2 {
		c := newClient(srv.URL + "/simple/")
		c.CacheDir = cache
		p, err := c.Project(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	if srv.inm != 1 || !reflect.DeepEqual(pages[0], pages[1]) {
		t.Errorf("If-None-Match sent %d times; same pages %v", srv.inm, reflect.DeepEqual(pages[0], pages[1]))
	}
	// A metadata file with a sha256 is kept by its digest: read once.
	for range 2 {
		m, err := (&Client{Indexes: []string{srv.URL + "/simple/"}, CacheDir: cache}).Metadata(ctx, pages[0].Files()[1])
		if err != nil || m.Version.String() != "1.0" {
			t.Errorf("metadata: %v", err)
		}
	}
	if n := srv.count("/files/demo-1.0-py3-none-any.whl.metadata"); n != 1 {
		t.Errorf("metadata file requested %d times", n)
	}
}

func TestLimits(t *testing.T) {
	srv := newIndexServer(t, fixture(t))
	ctx := context.Background()
	c := newClient(srv.URL + "/simple/")
	c.MaxPageSize = 100
	_, err := c.Project(ctx, "demo")
	var le *LimitError
	if !errors.As(err, &le) || le.What != "project page" || !strings.Contains(err.Error(), "larger than the limit of 100B; raise Client.MaxPageSize") {
		t.Errorf("page limit: %v", err)
	}
	c = newClient(srv.URL + "/simple/")
	c.MaxFileSize = 200
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Metadata(ctx, p.Files()[5]); !errors.As(err, &le) || le.What != "distribution" {
		t.Errorf("file limit: %v", err)
	}
	t.Setenv(EnvMaxMetadataSize, "10")
	c = newClient(srv.URL + "/simple/")
	if _, err := c.Metadata(ctx, p.Files()[1]); !errors.As(err, &le) || !strings.Contains(err.Error(), "raise it with ENVKIT_MAX_PYPI_METADATA_SIZE=20B") {
		t.Errorf("metadata limit: %v", err)
	}
	t.Setenv(EnvMaxMetadataSize, "lots")
	if _, err := newClient(srv.URL+"/simple/").Project(ctx, "demo"); err == nil || !strings.Contains(err.Error(), "ENVKIT_MAX_PYPI_METADATA_SIZE=lots") {
		t.Errorf("bad size: %v", err)
	}
}

// TestLocalIndex reads a static index in a directory, given as a path and
// as a file:// URL, and a wheel's METADATA from the disk.
func TestLocalIndex(t *testing.T) {
	dir := t.TempDir()
	whl := makeWheel(t, "demo", "1.0", meta("demo", "1.0", "Requires-Dist: six"))
	if err := os.MkdirAll(filepath.Join(dir, "simple", "demo"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "files"), 0o755)
	os.WriteFile(filepath.Join(dir, "files", "demo-1.0-py3-none-any.whl"), whl, 0o644)
	page := `<a href="../../files/demo-1.0-py3-none-any.whl#sha256=` + sha256hex(whl) + `" data-requires-python="&gt;=3.9">demo-1.0-py3-none-any.whl</a>`
	os.WriteFile(filepath.Join(dir, "simple", "demo", "index.html"), []byte(page), 0o644)
	ctx := context.Background()
	for _, ix := range []string{filepath.Join(dir, "simple"), "file://" + filepath.Join(dir, "simple")} {
		c := newClient(ix)
		p, err := c.Project(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		f := p.Files()[0]
		if f.URL != "file://"+filepath.Join(dir, "files", "demo-1.0-py3-none-any.whl") || f.RequiresPython != ">=3.9" {
			t.Errorf("%s: %+v", ix, f)
		}
		m, err := c.Metadata(ctx, f)
		if err != nil || m.RequiresDist[0].Name != "six" {
			t.Errorf("%s: %v", ix, err)
		}
		if _, err := c.Project(ctx, "absent"); err == nil {
			t.Errorf("absent project found")
		}
	}
}
