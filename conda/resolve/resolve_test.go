package resolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/internal/testdata"
)

// serve serves a fixture channel directory over HTTP on 127.0.0.1 and
// counts the requests.
func serve(t testing.TB, dir string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func channelDir(t testing.TB, name string) string {
	return testdata.Path(t, "conda", "channels", name)
}

func gateway(t testing.TB) *repodata.Gateway {
	return &repodata.Gateway{CacheDir: t.TempDir()}
}

// dists returns "name-version-build" of the platform's locked packages, sorted.
func dists(t testing.TB, l *lock.Lock, platform string) []string {
	t.Helper()
	var out []string
	for _, p := range l.Packages {
		if p.Platform == platform {
			out = append(out, p.Name+"-"+p.Version+"-"+p.Record.Build)
		}
	}
	slices.Sort(out)
	return out
}

// TestResolveSolverCases locks conda's shared solver cases against the
// fixture channel, served over HTTP and read as a local directory.
func TestResolveSolverCases(t *testing.T) {
	cases := testdata.SolverCases(t)
	if len(cases) == 0 {
		t.Fatal("no solver cases")
	}
	solved := 0
	for _, c := range cases {
		dir := testdata.Path(t, "conda", filepath.FromSlash(c.Channel))
		if missing := notInChannel(t, dir, c.Platform, c.Expected); len(missing) > 0 {
			t.Logf("%s: skipped: the expected solution needs records the channel lacks (%v)", c.Source, missing)
			continue
		}
		solved++
		url, _ := serve(t, dir)
		for _, ch := range []string{url, dir, "file://" + dir} {
			t.Run(c.Source+"/"+ch, func(t *testing.T) {
				l, err := Resolve(context.Background(), Request{
					Specs: c.Specs, Channels: []string{"nodefaults", ch}, Platforms: []string{c.Platform}, Gateway: gateway(t),
				})
				if err != nil {
					t.Fatal(err)
				}
				if got := dists(t, l, c.Platform); !slices.Equal(got, c.Expected) {
					t.Errorf("got  %v\nwant %v", got, c.Expected)
				}
				if !slices.Equal(l.Platforms, []string{c.Platform}) || len(l.Channels) != 1 || l.Channels[0].URL == "nodefaults" {
					t.Errorf("platforms %v channels %v", l.Platforms, l.Channels)
				}
				req := Request{Specs: c.Specs, Channels: []string{ch}, Platforms: []string{c.Platform}}
				h, err := req.Hash(c.Platform)
				if err != nil {
					t.Fatal(err)
				}
				if l.ContentHash[c.Platform] != h || len(h) != 64 {
					t.Errorf("content hash %q, want %q", l.ContentHash[c.Platform], h)
				}
				// The lock round-trips through both file formats.
				var buf bytes.Buffer
				if err := lock.WriteCondaLock(&buf, l); err != nil {
					t.Fatal(err)
				}
				back, err := lock.ReadCondaLock("conda-lock.yml", buf.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				if got := dists(t, back, c.Platform); !slices.Equal(got, c.Expected) || back.Stale(c.Platform, h) {
					t.Errorf("conda-lock round trip: %v stale=%v", got, back.Stale(c.Platform, h))
				}
				// A genuine lock keeps every rule: it is installed as is.
				if err := req.CheckLock(back, c.Platform); err != nil {
					t.Errorf("genuine lock: %v", err)
				}
			})
		}
	}
	if solved < 2 {
		t.Errorf("only %d solver cases apply to their channel", solved)
	}
}

// notInChannel returns the expected "name-version-build" dists that the
// channel's platform subdir does not have.
func notInChannel(t testing.TB, dir, platform string, expected []string) []string {
	data, err := os.ReadFile(filepath.Join(dir, platform, "repodata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rd struct {
		Packages map[string]struct {
			Name, Version, Build string
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &rd); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range rd.Packages {
		have[r.Name+"-"+r.Version+"-"+r.Build] = true
	}
	var out []string
	for _, d := range expected {
		if !have[d] {
			out = append(out, d)
		}
	}
	return out
}

func TestResolveUnsatisfiable(t *testing.T) {
	dir := channelDir(t, "rattler-dummy")
	_, err := Resolve(context.Background(), Request{
		Specs: []string{"foobar >=2", "bors >=2"}, Channels: []string{dir}, Platforms: []string{"linux-64"}, Gateway: gateway(t),
	})
	var pe *PlatformError
	var ue *solver.UnsatError
	if !errors.As(err, &pe) || pe.Platform != "linux-64" || !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want a linux-64 *solver.UnsatError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"linux-64", "foobar", "bors"} {
		if !strings.Contains(msg, want) {
			t.Errorf("explanation lacks %q:\n%s", want, msg)
		}
	}

	// A package no channel has.
	_, err = Resolve(context.Background(), Request{
		Specs: []string{"no-such-package"}, Channels: []string{dir}, Platforms: []string{"linux-64"}, Gateway: gateway(t),
	})
	if !errors.As(err, &ue) || !slices.Contains(ue.Missing, "no-such-package") {
		t.Errorf("missing package: %v", err)
	}
}

func TestResolveBadRequest(t *testing.T) {
	dir := channelDir(t, "rattler-dummy")
	_, err := Resolve(context.Background(), Request{Specs: []string{"foo", "bar >=<1"}, Channels: []string{dir}})
	var se *SpecError
	if !errors.As(err, &se) || se.Index != 1 || se.Spec != "bar >=<1" || !strings.Contains(err.Error(), `spec "bar >=<1"`) {
		t.Errorf("invalid spec: %v", err)
	}
	_, err = Resolve(context.Background(), Request{Specs: []string{"*"}, Channels: []string{dir}})
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "package name") {
		t.Errorf("nameless spec: %v", err)
	}
	for _, chans := range [][]string{nil, {"nodefaults"}} {
		_, err = Resolve(context.Background(), Request{Specs: []string{"foo"}, Channels: chans})
		if !errors.Is(err, ErrNoChannels) || !strings.Contains(err.Error(), "--channel") {
			t.Errorf("channels %v: %v", chans, err)
		}
	}
	for _, p := range []string{"noarch", "linux-fake"} {
		_, err = Resolve(context.Background(), Request{Specs: []string{"foo"}, Channels: []string{dir}, Platforms: []string{p}})
		if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), p) {
			t.Errorf("platform %s: %v", p, err)
		}
	}
}

// TestResolveVirtual: a target's virtual packages decide what is installable.
func TestResolveVirtual(t *testing.T) {
	dir := channelDir(t, "conda-index1")
	g := gateway(t)
	solve := func(specs []string, v map[string]string) ([]string, error) {
		l, err := Resolve(context.Background(), Request{
			Specs: specs, Channels: []string{dir}, Platforms: []string{"linux-64"}, Gateway: g,
			Virtual: map[string]map[string]string{"linux-64": v},
		})
		if err != nil {
			return nil, err
		}
		return dists(t, l, "linux-64"), nil
	}
	if _, err := solve([]string{"cudatoolkit"}, nil); err == nil {
		t.Error("cudatoolkit without __cuda: solved")
	}
	got, err := solve([]string{"cudatoolkit"}, map[string]string{"__cuda": "9.2"})
	if err != nil || !slices.Equal(got, []string{"cudatoolkit-9.0-0"}) {
		t.Errorf("__cuda 9.2: %v %v", got, err)
	}
	got, err = solve([]string{"cudatoolkit"}, map[string]string{"cuda": "10.2"})
	if err != nil || !slices.Equal(got, []string{"cudatoolkit-10.0-0"}) {
		t.Errorf("__cuda 10.2: %v %v", got, err)
	}
	if _, err := solve([]string{"cuda-glibc"}, map[string]string{"__cuda": "11.1"}); err == nil {
		t.Error("cuda-glibc (__cuda <11) with __cuda 11.1: solved")
	}

	// A glibc requirement, on a channel written here.
	chdir := writeChannel(t, "linux-64", map[string]map[string]any{
		"needs-glibc-1.0-0.tar.bz2": {"name": "needs-glibc", "version": "1.0", "build": "0", "build_number": 0, "depends": []string{"__glibc >=2.17"}},
		"needs-glibc-2.0-0.tar.bz2": {"name": "needs-glibc", "version": "2.0", "build": "0", "build_number": 0, "depends": []string{"__glibc >=2.28"}},
	})
	for _, c := range []struct {
		glibc, want string
	}{{"", "needs-glibc-1.0-0"}, {"2.28", "needs-glibc-2.0-0"}, {"2.17", "needs-glibc-1.0-0"}} {
		v := map[string]string{}
		if c.glibc != "" {
			v["__glibc"] = c.glibc
		}
		l, err := Resolve(context.Background(), Request{
			Specs: []string{"needs-glibc"}, Channels: []string{chdir}, Platforms: []string{"linux-64"}, Gateway: g,
			Virtual: map[string]map[string]string{"linux-64": v},
		})
		if err != nil {
			t.Fatalf("glibc %q: %v", c.glibc, err)
		}
		if got := dists(t, l, "linux-64"); !slices.Equal(got, []string{c.want}) {
			t.Errorf("glibc %q: %v, want %s", c.glibc, got, c.want)
		}
	}
	_, err = Resolve(context.Background(), Request{
		Specs: []string{"needs-glibc"}, Channels: []string{chdir}, Platforms: []string{"linux-64"}, Gateway: g,
		Virtual: map[string]map[string]string{"linux-64": {"__osx": "11.0"}},
	})
	if err == nil || !strings.Contains(err.Error(), "__osx") {
		t.Errorf("__osx override on linux-64: %v", err)
	}
}

// writeChannel writes a one-subdir channel with the given records.
func writeChannel(t testing.TB, subdir string, pkgs map[string]map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	for _, sd := range []string{subdir, "noarch"} {
		rd := map[string]any{"info": map[string]any{"subdir": sd}, "packages": map[string]any{}}
		if sd == subdir {
			for _, p := range pkgs {
				p["subdir"] = subdir
				p["md5"] = strings.Repeat("0", 32)
				p["sha256"] = strings.Repeat("1", 64)
			}
			rd["packages"] = pkgs
		}
		data, err := json.Marshal(rd)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sd), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sd, "repodata.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestResolvePrevious: a fresh lock is reused without fetching; a stale one
// still steers the solver towards its records.
func TestResolvePrevious(t *testing.T) {
	url, hits := serve(t, channelDir(t, "rattler-dummy"))
	ctx := context.Background()
	req := Request{Specs: []string{"foobar 2.0"}, Channels: []string{url}, Platforms: []string{"linux-64"}, Gateway: gateway(t)}
	first, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := dists(t, first, "linux-64"); !slices.Equal(got, []string{"bors-1.2.1-bla_1", "foobar-2.0-bla_1"}) {
		t.Fatalf("first solve: %v", got)
	}

	// Unpinned now: without the previous lock the newest foobar wins...
	req.Specs = []string{"foobar"}
	fresh, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := dists(t, fresh, "linux-64"); !slices.Equal(got, []string{"bors-1.2.1-bla_1", "foobar-2.1-bla_1"}) {
		t.Fatalf("unpinned solve: %v", got)
	}
	// ...with it, the locked foobar 2.0 still satisfies the specs and stays.
	req.Previous = first
	kept, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := dists(t, kept, "linux-64"); !slices.Equal(got, dists(t, first, "linux-64")) {
		t.Errorf("with previous lock: %v, want %v", got, dists(t, first, "linux-64"))
	}
	h, _ := req.Hash("linux-64")
	if kept.Stale("linux-64", h) || !first.Stale("linux-64", h) {
		t.Error("content hashes: the new lock should be fresh and the first stale")
	}
	// A previous record that no longer satisfies the specs is replaced.
	req.Specs = []string{"foobar >=2.1"}
	moved, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := dists(t, moved, "linux-64"); !slices.Contains(got, "foobar-2.1-bla_1") {
		t.Errorf("foobar >=2.1 with previous 2.0: %v", got)
	}

	// The same request with a fresh lock: no request reaches the channel.
	req.Specs = []string{"foobar"}
	req.Previous = kept
	req.Gateway = gateway(t)
	before := hits.Load()
	again, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n := hits.Load() - before; n != 0 {
		t.Errorf("fresh lock: %d requests to the channel", n)
	}
	if got := dists(t, again, "linux-64"); !slices.Equal(got, dists(t, kept, "linux-64")) {
		t.Errorf("reused lock: %v", got)
	}
}

func TestHash(t *testing.T) {
	dir := channelDir(t, "rattler-dummy")
	h := func(r Request, p string) string {
		t.Helper()
		s, err := r.Hash(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := Request{Specs: []string{"foo=3", "bors"}, Channels: []string{dir}}
	same := []Request{
		{Specs: []string{"foo=3", "bors"}, Channels: []string{"file://" + dir, "nodefaults"}},
		{Specs: []string{"foo 3.*", "  bors"}, Channels: []string{dir + "/"}},
	}
	for _, r := range same {
		if h(r, "linux-64") != h(base, "linux-64") {
			t.Errorf("%+v hashes differently from %+v", r, base)
		}
	}
	other := dir + "/../rattler-patch"
	differ := []Request{
		{Specs: []string{"bors", "foo=3"}, Channels: []string{dir}},
		{Specs: []string{"foo=3", "bors >=1"}, Channels: []string{dir}},
		{Specs: []string{"foo=3", "bors"}, Channels: []string{dir, other}},
		{Specs: []string{"foo=3", "bors"}, Channels: []string{dir}, ChannelPriority: solver.Flexible},
		{Specs: []string{"foo=3", "bors"}, Channels: []string{dir}, Virtual: map[string]map[string]string{"linux-64": {"__glibc": "2.28"}}},
	}
	for _, r := range differ {
		if h(r, "linux-64") == h(base, "linux-64") {
			t.Errorf("%+v hashes like %+v", r, base)
		}
	}
	if h(base, "linux-64") == h(base, "osx-64") {
		t.Error("platform not hashed")
	}
}

func TestResolvePlatforms(t *testing.T) {
	url, _ := serve(t, channelDir(t, "conda-format-repo"))
	l, err := Resolve(context.Background(), Request{
		Specs: []string{"zlib"}, Channels: []string{url}, Platforms: []string{"osx-64", "linux-64", "win-64", "linux-64"}, Gateway: gateway(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Platforms, []string{"linux-64", "osx-64", "win-64"}) {
		t.Errorf("platforms %v", l.Platforms)
	}
	for _, p := range l.Platforms {
		var zlib *record.RepoDataRecord
		for _, r := range lockedRecords(l, p) {
			if r.Name == "zlib" {
				zlib = r
			}
		}
		if zlib == nil || zlib.Subdir != p || !strings.HasSuffix(zlib.URL, "/"+p+"/"+zlib.FileName) || zlib.SHA256 == "" {
			t.Errorf("%s: zlib %+v", p, zlib)
		}
		if l.ContentHash[p] == "" {
			t.Errorf("%s: no content hash", p)
		}
		// The installer's view of the lock works for each platform.
		if _, err := l.Records(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestSearch(t *testing.T) {
	url, _ := serve(t, channelDir(t, "rattler-dummy"))
	g := gateway(t)
	recs, err := Search(context.Background(), g, []string{url}, "linux-64", "foo")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.FileName)
	}
	want := []string{"foo-3.0.2-py36h1af98f8_1.conda", "foo-3.0.2-py36h1af98f8_2.conda", "foo-3.0.2-py36h1af98f8_3.conda", "foo-4.0.2-py36h1af98f8_2.tar.bz2"}
	if !slices.Equal(got, want) {
		t.Errorf("search foo:\n got %v\nwant %v", got, want)
	}
	checkSorted(t, recs)

	// A name glob searches every record; a version spec filters.
	recs, err = Search(context.Background(), g, []string{url}, "linux-64", "*bor* >=1.1,<2.1")
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, r := range recs {
		got = append(got, r.Name+"-"+r.Version.String())
	}
	if !slices.Equal(got, []string{"bors-1.1", "bors-1.2.1", "bors-2.0"}) {
		t.Errorf("search *bor*: %v", got)
	}
	checkSorted(t, recs)

	// noarch records are found (this channel keeps one in linux-64); no
	// match is no error.
	recs, err = Search(context.Background(), g, []string{url}, "linux-64", "cuda-version")
	if err != nil || len(recs) != 1 || recs[0].Subdir != "noarch" {
		t.Errorf("noarch: %v %v", recs, err)
	}
	recs, err = Search(context.Background(), g, []string{url}, "linux-64", "foo >=5")
	if err != nil || len(recs) != 0 {
		t.Errorf("no match: %v %v", recs, err)
	}
	var se *SpecError
	if _, err := Search(context.Background(), g, []string{url}, "linux-64", "foo >=<5"); !errors.As(err, &se) {
		t.Errorf("bad spec: %v", err)
	}
	if _, err := Search(context.Background(), g, []string{"nodefaults"}, "linux-64", "foo"); !errors.Is(err, ErrNoChannels) {
		t.Errorf("no channel: %v", err)
	}
}

// TestSearchLarge checks the order over a whole real channel.
func TestSearchLarge(t *testing.T) {
	recs, err := Search(context.Background(), gateway(t), []string{channelDir(t, "conda-index1")}, "linux-64", "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 1000 {
		t.Fatalf("%d records", len(recs))
	}
	checkSorted(t, recs)
	// conda orders pre-releases before the release (not as strings).
	recs, err = Search(context.Background(), gateway(t), []string{channelDir(t, "conda-index1")}, "linux-64", "numpy")
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, r := range recs {
		if len(vs) == 0 || vs[len(vs)-1] != r.Version.String() {
			vs = append(vs, r.Version.String())
		}
	}
	if !slices.Equal(vs, []string{"1.5.1", "1.6.2", "1.7.0b2", "1.7.0rc1", "1.7.0", "1.7.1"}) {
		t.Errorf("numpy versions out of conda order: %v", vs)
	}
}

func checkSorted(t *testing.T, recs []*record.RepoDataRecord) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		a, b := recs[i-1], recs[i]
		if a.Name > b.Name || a.Name == b.Name && (a.Version.Compare(b.Version) > 0 ||
			a.Version.Equal(b.Version) && a.BuildNumber > b.BuildNumber) {
			t.Fatalf("out of order at %d: %s then %s", i, a.FileName, b.FileName)
		}
	}
}

// TestResolveSpecChannel: "channel::name" takes the package from that
// channel, adding it to the request's channels.
func TestResolveSpecChannel(t *testing.T) {
	index1, dummy := channelDir(t, "conda-index1"), channelDir(t, "rattler-dummy")
	l, err := Resolve(context.Background(), Request{
		Specs: []string{"python 3.3*", dummy + "::foobar 2.0"}, Channels: []string{index1}, Platforms: []string{"linux-64"}, Gateway: gateway(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := dists(t, l, "linux-64")
	if !slices.Contains(got, "foobar-2.0-bla_1") || !slices.Contains(got, "python-3.3.2-0") {
		t.Errorf("got %v", got)
	}
	if len(l.Channels) != 2 || l.Channels[1].URL != "file://"+dummy {
		t.Errorf("channels %v", l.Channels)
	}
	for _, p := range l.Packages {
		if p.Name == "foobar" && !strings.HasPrefix(p.URL, "file://"+dummy+"/") {
			t.Errorf("foobar from %s", p.URL)
		}
	}
}
