package lock

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func pipPkg(name, ver, fn string) *Package {
	return &Package{
		Name: name, Version: ver,
		URL:          "https://files.example/packages/" + fn,
		SHA256:       strings.ToUpper(fmt.Sprintf("%x", sha256.Sum256([]byte(name)))),
		Dependencies: map[string]string{"idna": ">=2.5,<4", "certifi": ""},
	}
}

func TestValidPipFile(t *testing.T) {
	for _, c := range []struct {
		name, version, url string
		ok                 bool
	}{
		{"Requests", "2.31.0", "https://files.example/requests-2.31.0-py3-none-any.whl", true},
		{"charset-normalizer", "2.1.1", "https://f/charset_normalizer-2.1.1-py3-none-any.whl", true},
		{"numpy", "1.26.0", "https://f/numpy-1.26.0.tar.gz", true},
		{"numpy", "1.26", "https://f/numpy-1.26.0-cp312-cp312-manylinux_2_17_x86_64.whl", true}, // 1.26 == 1.26.0
		{"pydashi", "2.0.0a0", "https://github.com/x/dashi/archive/refs/tags/v2.0.0-alpha.0.tar.gz", true},
		{"numpy", "", "file:///srv/index/numpy-1.26.0-py3-none-any.whl", true},
		{"requests", "2.31.0", "https://files.example/urllib3-2.0.0-py3-none-any.whl", false}, // another project's wheel
		{"requests", "2.31.0", "https://files.example/requests-2.30.0-py3-none-any.whl", false},
		{"requests", "2.31.0", "https://files.example/requests-2.30.0.tar.gz", false},
		{"requests", "2.31.0", "https://files.example/requests.whl", false},
		{"requests", "2.31.0", "ftp://files.example/requests-2.31.0-py3-none-any.whl", false},
		{"requests", "2.31.0", "https://f/a/../requests-2.31.0-py3-none-any.whl", false},
		{"requests", "2.31.0", "https://f/requests-2.31.0-py3-none-any.whl?x=1", false},
		{"requests", "2.31.0", "https://f/requests-2.31.0-py3-none-any.whl#sha256=00", false},
		{"requests", "2.31.0", "https://f/requests-2.31.0-py3-none-any.exe", true}, // not named as a distribution: left to CheckLock
	} {
		err := ValidPipFile(c.name, c.version, c.url)
		if (err == nil) != c.ok {
			t.Errorf("ValidPipFile(%q, %q, %q) = %v, want ok %v", c.name, c.version, c.url, err, c.ok)
		}
	}
}

func TestSetPipRoundTrip(t *testing.T) {
	l := &Lock{Channels: []Channel{{URL: "conda-forge"}}}
	if err := l.SetPlatform("linux-64", "h", solution()); err != nil {
		t.Fatal(err)
	}
	pkgs := []*Package{
		pipPkg("requests", "2.31.0", "requests-2.31.0-py3-none-any.whl"),
		pipPkg("Charset_Normalizer", "3.3.2", "charset_normalizer-3.3.2-py3-none-any.whl"),
	}
	if err := l.SetPip("linux-64", pkgs); err != nil {
		t.Fatal(err)
	}
	if err := l.SetPip("osx-64", pkgs); err == nil {
		t.Error("pip packages set for a platform the lock does not have")
	}
	got, err := l.PipPackages("linux-64")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "Charset_Normalizer" || got[1].Name != "requests" || got[0].Manager != Pip || got[0].Platform != "linux-64" ||
		got[0].SHA256 != strings.ToLower(pkgs[1].SHA256) || got[0].Category != MainCategory {
		t.Fatalf("pip packages %+v", got)
	}
	// The conda packages stay, and come back without the pip ones.
	if recs, err := l.Records("linux-64"); err != nil || len(recs) != len(solution()) {
		t.Fatalf("records %d, %v", len(recs), err)
	}
	var buf bytes.Buffer
	if err := WriteCondaLock(&buf, l); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCondaLock("conda-lock.yml", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.PipPackages("linux-64")
	if !reflect.DeepEqual(again, got) {
		t.Errorf("round trip:\n got %+v\nwant %+v", again[0], got[0])
	}
	for _, want := range []string{"manager: pip", "sha256: " + strings.ToLower(pkgs[1].SHA256), "idna: '>=2.5,<4'"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("written lock lacks %q", want)
		}
	}
	// A new solve of the platform replaces its pip packages too; SetPip
	// replaces only the pip packages.
	if err := l.SetPip("linux-64", pkgs[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.PipPackages("linux-64"); len(got) != 1 || got[0].Name != "requests" {
		t.Errorf("after SetPip: %+v", got)
	}
	if err := l.SetPlatform("linux-64", "h2", solution()); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.PipPackages("linux-64"); len(got) != 0 {
		t.Errorf("after SetPlatform: %+v", got)
	}
}

func TestSetPipRefuses(t *testing.T) {
	l := &Lock{}
	if err := l.SetPlatform("linux-64", "h", solution()); err != nil {
		t.Fatal(err)
	}
	noHash := pipPkg("six", "1.16.0", "six-1.16.0-py2.py3-none-any.whl")
	noHash.SHA256 = ""
	badHash := pipPkg("six", "1.16.0", "six-1.16.0-py2.py3-none-any.whl")
	badHash.SHA256 = "xyz"
	for name, pkgs := range map[string][]*Package{
		"no sha256":       {noHash},
		"bad sha256":      {badHash},
		"another's wheel": {pipPkg("six", "1.16.0", "evil-1.16.0-py3-none-any.whl")},
		"no version":      {pipPkg("six", "", "six-1.16.0-py3-none-any.whl")},
		"twice":           {pipPkg("six", "1.16.0", "six-1.16.0-py3-none-any.whl"), pipPkg("Six", "1.16.0", "six-1.16.0-py3-none-any.whl")},
	} {
		if err := l.SetPip("linux-64", pkgs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadersSkipAnotherProjectsWheel(t *testing.T) {
	src := `version: 1
metadata:
  content_hash: {linux-64: h}
  channels: [{url: conda-forge, used_env_vars: []}]
  platforms: [linux-64]
  sources: [environment.yml]
package:
- name: requests
  version: 2.31.0
  manager: pip
  platform: linux-64
  dependencies: {}
  url: https://files.example/evil-2.31.0-py3-none-any.whl
  hash: {sha256: ` + strings.Repeat("a", 64) + `}
`
	l, err := ReadCondaLock("conda-lock.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) != 0 || len(l.Skipped) != 1 || !strings.Contains(l.Skipped[0].Warning.Error(), "conda-lock.yml:13") {
		t.Errorf("packages %d, skipped %+v", len(l.Packages), l.Skipped)
	}
	ex := "@EXPLICIT\n# pip requests @ https://files.example/evil-2.31.0-py3-none-any.whl#sha256=" + strings.Repeat("a", 64) + "\n"
	l, err = ReadExplicit("explicit.txt", []byte(ex))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packages) != 0 || len(l.Skipped) != 1 {
		t.Errorf("explicit: packages %d, skipped %+v", len(l.Packages), l.Skipped)
	}
}

// An explicit file's pip lines give the version of a wheel or an sdist.
func TestExplicitPipVersions(t *testing.T) {
	sum := strings.Repeat("a", 64)
	src := "@EXPLICIT\n# pip Flask @ https://f/flask-3.0.0-py3-none-any.whl#sha256=" + sum + "\n# pip Foo.Bar @ https://f/foo_bar-1.2.tar.gz#sha256=" + sum + "\n"
	l, err := ReadExplicit("explicit.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range l.Packages {
		got[p.Name] = p.Version
	}
	if got["Flask"] != "3.0.0" || got["Foo.Bar"] != "1.2" {
		t.Errorf("versions %v", got)
	}
}
