package lock

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadExplicitFixtures(t *testing.T) {
	files := append(fixtures(t, "explicit", "*.txt"), fixtures(t, "explicit", "*.lock")...)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			l, err := ReadExplicit(path, data)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(l.Packages), strings.Count(string(data), "\nhttp"); got != want {
				t.Errorf("%d packages, want %d", got, want)
			}
			platform := strings.TrimSpace(strings.SplitN(strings.SplitN(string(data), "# platform:", 2)[1], "\n", 2)[0])
			if !reflect.DeepEqual(l.Platforms, []string{platform}) {
				t.Errorf("platforms %v, want [%s]", l.Platforms, platform)
			}
			for _, p := range l.Packages {
				r := p.Record
				if p.Platform != platform || r.Build == "" || r.Subdir == "" || r.Channel == "" ||
					!strings.HasPrefix(p.URL, r.Channel+"/"+r.Subdir+"/"+r.FileName) {
					t.Errorf("%s: package %+v record %+v", p.Name, p, r)
				}
			}
			assertExplicitRoundTrip(t, l)
		})
	}
}

// assertExplicitRoundTrip writes l as an explicit file, reads it back, and
// wants the same model.
func assertExplicitRoundTrip(t *testing.T, l *Lock) {
	t.Helper()
	platform := ""
	if len(l.Platforms) > 0 {
		platform = l.Platforms[0]
	}
	var buf bytes.Buffer
	if err := WriteExplicit(&buf, l, platform); err != nil {
		t.Fatal(err)
	}
	back, err := ReadExplicit("written.txt", buf.Bytes())
	if err != nil {
		t.Fatalf("reading what we wrote: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(l, back) {
		t.Errorf("round trip changed the lock:\nwant %s\ngot  %s\n%s", dump(l), dump(back), buf.String())
	}
}

func TestReadExplicitDetails(t *testing.T) {
	path, data := readFixture(t, "explicit", "vs2015_runtime_win-64.txt")
	l, err := ReadExplicit(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Channels) != 1 || l.Channels[0].URL != "https://repo.anaconda.com/pkgs/main" {
		t.Errorf("channels %+v", l.Channels)
	}
	r := l.Packages[1].Record
	if r.Name != "vs2015_runtime" || r.Version.String() != "14.16.27012" || r.Build != "hf0eaf9b_3" ||
		r.Subdir != "win-64" || r.FileName != "vs2015_runtime-14.16.27012-hf0eaf9b_3.conda" ||
		r.MD5 != "a98ea1e3abfdbbd201d60ff6b43ea7e4" || r.SHA256 != "" {
		t.Errorf("record %+v", r)
	}

	path, data = readFixture(t, "explicit", "conda-linux-64.lock")
	l, err = ReadExplicit(path, data)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.ContentHash["linux-64"]; got != "1173e3c96ce20d063a5701b325b76deb97394f891af270af4ee0cb7cc1f6e838" {
		t.Errorf("input hash %q", got)
	}
	if l.Stale("linux-64", "1173e3c96ce20d063a5701b325b76deb97394f891af270af4ee0cb7cc1f6e838") {
		t.Error("stale for its own input hash")
	}
	if !l.Stale("linux-64", "00") || !l.Stale("osx-64", l.ContentHash["linux-64"]) {
		t.Error("not stale for another hash or platform")
	}
}

// The example of CEP 23, with md5, sha256, sha256: and no hash, and no
// platform comment: the platform comes from the first non-noarch package.
const cep23Example = `# This line is a comment. The one below only consists of whitespace and will also be ignored.
   
@EXPLICIT
https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda#7b2b69c54ec62a243eb6fba2391b5e443421608c3ae5dbff938ad33ca8db5122
https://conda.anaconda.org/conda-forge/osx-arm64/bzip2-1.0.8-h93a5062_5.conda#1bbc659ca658bfd49a481b5ef7a0f40f
https://conda.anaconda.org/conda-forge/noarch/setuptools-69.5.1-pyhd8ed1ab_0.conda#sha256:72d143408507043628b32bed089730b6d5f5445eccc44b59911ec9f262e365e7
# Note how hashes are optional
  https://conda.anaconda.org/conda-forge/noarch/pip-24.0-pyhd8ed1ab_0.conda  
file:///opt/pkgs/local-1.0-0.tar.bz2
`

func TestReadExplicitHashes(t *testing.T) {
	l, err := ReadExplicit("cep23.txt", []byte(cep23Example))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.Platforms, []string{"osx-arm64"}) {
		t.Errorf("platforms %v", l.Platforms)
	}
	want := []struct{ name, md5, sha256, subdir, channel string }{
		{"tzdata", "", "7b2b69c54ec62a243eb6fba2391b5e443421608c3ae5dbff938ad33ca8db5122", "noarch", "https://conda.anaconda.org/conda-forge"},
		{"bzip2", "1bbc659ca658bfd49a481b5ef7a0f40f", "", "osx-arm64", "https://conda.anaconda.org/conda-forge"},
		{"setuptools", "", "72d143408507043628b32bed089730b6d5f5445eccc44b59911ec9f262e365e7", "noarch", "https://conda.anaconda.org/conda-forge"},
		{"pip", "", "", "noarch", "https://conda.anaconda.org/conda-forge"},
		{"local", "", "", "", "file:///opt/pkgs"},
	}
	if len(l.Packages) != len(want) {
		t.Fatalf("%d packages, want %d", len(l.Packages), len(want))
	}
	for i, w := range want {
		p := l.Packages[i]
		if p.Name != w.name || p.MD5 != w.md5 || p.SHA256 != w.sha256 || p.Record.MD5 != w.md5 ||
			p.Record.SHA256 != w.sha256 || p.Record.Subdir != w.subdir || p.Record.Channel != w.channel {
			t.Errorf("package %d: %+v %+v, want %+v", i, p, p.Record, w)
		}
	}
	if _, err := l.Records("osx-arm64"); err == nil || !strings.Contains(err.Error(), "no sha256 for bzip2, pip, local") {
		t.Errorf("Records with md5-only packages: %v", err)
	}
	assertExplicitRoundTrip(t, l)
}

func TestWriteExplicit(t *testing.T) {
	l, err := ReadExplicit("cep23.txt", []byte(cep23Example))
	if err != nil {
		t.Fatal(err)
	}
	l.ContentHash["osx-arm64"] = "abc123"
	var buf bytes.Buffer
	if err := WriteExplicit(&buf, l, "osx-arm64"); err != nil {
		t.Fatal(err)
	}
	want := `# This file may be used to create an environment using:
# $ conda create --name <env> --file <this file>
# platform: osx-arm64
# input_hash: abc123
@EXPLICIT
https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda#sha256:7b2b69c54ec62a243eb6fba2391b5e443421608c3ae5dbff938ad33ca8db5122
https://conda.anaconda.org/conda-forge/osx-arm64/bzip2-1.0.8-h93a5062_5.conda#1bbc659ca658bfd49a481b5ef7a0f40f
https://conda.anaconda.org/conda-forge/noarch/setuptools-69.5.1-pyhd8ed1ab_0.conda#sha256:72d143408507043628b32bed089730b6d5f5445eccc44b59911ec9f262e365e7
https://conda.anaconda.org/conda-forge/noarch/pip-24.0-pyhd8ed1ab_0.conda
file:///opt/pkgs/local-1.0-0.tar.bz2
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestReadExplicitBad(t *testing.T) {
	cases := []struct{ src, want string }{
		{"https://x/linux-64/a-1-0.conda\n", "bad.txt: no @EXPLICIT line"},
		{"@EXPLICIT\nhttps://x/linux-64/a-1-0.conda https://x/linux-64/b-1-0.conda\n", "bad.txt:2: url: "},
		{"@EXPLICIT\nhttps://x/linux-64/a-1-0.conda\nhttps://y/noarch/a-2-0.conda\n", "bad.txt:3: url: package a is listed twice (first on line 2)"},
		{"@EXPLICIT\n# pip foo\n", "bad.txt:2: pip: \"foo\": want # pip <name> @ <url>"},
		{"@EXPLICIT\n# pip foo @ https://x/foo-1-py3-none-any.whl#md5=00\n", "bad.txt:2: pip: \"#md5=00\""},
	}
	for _, c := range cases {
		_, err := ReadExplicit("bad.txt", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

func TestExplicitPip(t *testing.T) {
	src := `# platform: linux-64
@EXPLICIT
https://conda.anaconda.org/conda-forge/linux-64/python-3.12.0-h0_0_cpython.conda#sha256:72d143408507043628b32bed089730b6d5f5445eccc44b59911ec9f262e365e7
# pip easy-cache @ https://files.pythonhosted.org/packages/01/47/easy_cache-1.1.0-py3-none-any.whl#sha256=d99412159074d39891c83098dd5f0ca63bb56103e46efaa7e8455560680ce282
`
	l, err := ReadExplicit("pip.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) != 2 {
		t.Fatalf("%d packages", len(l.Packages))
	}
	p := l.Packages[1]
	if p.Manager != Pip || p.Name != "easy-cache" || p.Version != "1.1.0" || p.Platform != "linux-64" ||
		p.SHA256 != "d99412159074d39891c83098dd5f0ca63bb56103e46efaa7e8455560680ce282" ||
		p.URL != "https://files.pythonhosted.org/packages/01/47/easy_cache-1.1.0-py3-none-any.whl" {
		t.Errorf("pip package %+v", p)
	}
	recs, err := l.Records("linux-64")
	if err != nil || len(recs) != 1 || recs[0].Name != "python" {
		t.Errorf("Records = %v, %v; want python only", recs, err)
	}
	assertExplicitRoundTrip(t, l)
}
