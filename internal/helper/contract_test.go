package helper

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
)

// What the caller writes, the helper reads back unchanged, paths with the
// CSV's own separators included.
func TestLinkRoundTrip(t *testing.T) {
	for _, l := range []*Link{
		{Prefix: "/azureml-envs/envkit", Platform: "linux-64", Packages: []LinkPackage{{Input: "/in/link.json", Archive: "/pkg/a-1-0.conda", Dest: "/out"}}},
		{Prefix: "/p", Platform: "osx-arm64", Python: &link.Python{Version: "3.13", SitePackages: "lib/python3.13t/site-packages"},
			Packages: []LinkPackage{
				{Input: "/in/0/link.json", Archive: `/pkg/0/we,ird "name".tar.bz2`, Dest: "/out/0"},
				{Input: "/in/1/link.json", Archive: "/pkg/1/b=2-0.conda", Dest: "/out/1"},
			}},
	} {
		args := l.Args()
		if args[0] != CommandLink {
			t.Errorf("args start with %q", args[0])
		}
		got, err := ParseLink(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Errorf("%q parsed as\n%+v, want\n%+v", args, got, l)
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []*Meta{
		{Prefix: "/azureml-envs/envkit", Dest: "/out", Input: "/in/meta.json"},
		{Prefix: "/e", Dest: "/out", Input: "/in/meta.json", Lock: "/in/conda-lock.yml"},
	} {
		got, err := ParseMeta(m.Args())
		if err != nil {
			t.Fatal(err)
		}
		if *got != *m {
			t.Errorf("%q parsed as %+v", m.Args(), got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	pkg := "input=/in/l.json,archive=/pkg/a.conda,dest=/out"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"meta", "--prefix", "/p"}, "want the link subcommand first"},
		{[]string{"link", "--platform", "linux-64", "--package", pkg}, "link: --prefix is required"},
		{[]string{"link", "--prefix", "rel", "--platform", "linux-64", "--package", pkg}, `--prefix "rel": not an absolute path`},
		{[]string{"link", "--prefix", "/p", "--package", pkg}, "--platform is required"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64"}, "no --package"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--package", "input=/a,archive=/b"}, "dest is required"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--package", pkg + ",size=3"}, `unknown key "size"`},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--package", pkg + ",dest=/x"}, "dest given twice"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--python", "3.11", "--package", pkg}, "want VERSION:SITE_PACKAGES"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--record", "{}", "--package", pkg}, "flag provided but not defined: -record"},
		{[]string{"link", "--prefix", "/p", "--platform", "linux-64", "--package", pkg, "extra"}, `unexpected argument "extra"`},
	} {
		_, err := ParseLink(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := ParseMeta([]string{"meta", "--prefix", "/p", "--dest", "/out"}); err == nil || !strings.Contains(err.Error(), "meta: --input is required") {
		t.Errorf("meta without input: %v", err)
	}
}

func TestPayloads(t *testing.T) {
	dir := t.TempDir()
	var rec *record.RepoDataRecord
	if err := json.Unmarshal([]byte(`{"name": "a", "version": "1", "build": "0", "depends": ["b >=1", "c"], "fn": "a-1-0.conda",
		"url": "https://conda.example/linux-64/a-1-0.conda", "channel": "https://conda.example", "sha256": "`+strings.Repeat("ab", 32)+`"}`), &rec); err != nil {
		t.Fatal(err)
	}
	data, err := (&LinkInput{Record: rec}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, LinkInputFile)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := ReadLinkInput(file)
	if err != nil {
		t.Fatal(err)
	}
	if in.Record.FileName != rec.FileName || in.Record.SHA256 != rec.SHA256 || !reflect.DeepEqual(in.Record.Depends, rec.Depends) {
		t.Errorf("read back %+v", in.Record)
	}
	for body, want := range map[string]string{
		`{}`: "no record",
		`{"record": {"name": "a", "version": "1", "fn": "../a.conda", "sha256": "ab"}}`: `file name "../a.conda" is not a plain file name`,
		`{"record": {"name": "a", "version": "1", "fn": "a-1-0.conda"}}`:                "record of a-1-0.conda: no sha256",
		`{"record": {"fn": "a-1-0.conda", "sha256": "ab"`:                               "unexpected end of JSON input",
		`{"record": {"fn": "a-1-0.conda", "sha256": 3}}`:                                "cannot unmarshal number",
	} {
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLinkInput(file); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: %v, want %q and the file name", body, err, want)
		}
	}
	if err := os.WriteFile(file, []byte(`{"history": {"Linked": [null]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetaInput(file); err == nil || !strings.Contains(err.Error(), "history.Linked[0] is null") {
		t.Errorf("null record in meta: %v", err)
	}
}

// A payload over the bound is refused with its size limit named, not read
// whole into memory.
func TestReadFileBound(t *testing.T) {
	file := filepath.Join(t.TempDir(), MetaInputFile)
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, MaxInput); err != nil { // sparse
		t.Fatal(err)
	}
	if b, err := ReadFile(file); err != nil || len(b) != MaxInput {
		t.Fatalf("at the bound: %d bytes, %v", len(b), err)
	}
	if err := os.Truncate(file, MaxInput+1); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(file); err == nil || !strings.Contains(err.Error(), "larger than the helper's limit of 64 MiB") {
		t.Errorf("over the bound: %v", err)
	}
	if _, err := ReadMetaInput(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

// The frontend image the repository's Dockerfile makes holds the helper
// where the caller runs it.
func TestDockerfilePlacesHelper(t *testing.T) {
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var copies int
	for _, line := range strings.Split(string(df), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "COPY" && strings.HasSuffix(f[len(f)-2], "envkit-frontend") {
			copies++
			if f[len(f)-1] != Path {
				t.Errorf("%q: the binary is not copied to %s", line, Path)
			}
		}
	}
	if copies == 0 || strings.Count(string(df), `ENTRYPOINT ["`+Path+`"]`) != copies {
		t.Errorf("Dockerfile: %d COPY of the binary, entry points:\n%s", copies, df)
	}
}

func TestProbeRoundTrip(t *testing.T) {
	p := &Probe{Day: "2026-12-01", Input: "/in/" + ProbeInputFile, Output: "/out/" + ProbeOutputFile}
	got, err := ParseProbe(p.Args())
	if err != nil || *got != *p {
		t.Errorf("%q parsed as %+v, %v", p.Args(), got, err)
	}
	for _, c := range []struct {
		p    Probe
		want string
	}{
		{Probe{Day: "today", Input: "/in/p.json", Output: "/out/p.json"}, `--day "today": want a date`},
		{Probe{Day: "2026-12-01", Input: "in/p.json", Output: "/out/p.json"}, `--input "in/p.json": not an absolute path`},
		{Probe{Day: "2026-12-01", Input: "/in/p.json"}, "--output is required"},
	} {
		if _, err := ParseProbe(c.p.Args()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.p.Args(), err, c.want)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "p.json")
	if err := os.WriteFile(file, []byte(`{"urls":["https://conda.anaconda.org/x/noarch/repodata.json","file:///etc/passwd"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadProbeInput(file); err == nil || !strings.Contains(err.Error(), `"file:///etc/passwd" is not an http(s) URL`) {
		t.Errorf("file URL: %v", err)
	}
}

func TestWheelRoundTrip(t *testing.T) {
	w := &Wheel{Input: "/in/wheel.json", Dest: "/out"}
	got, err := ParseWheel(w.Args())
	if err != nil {
		t.Fatal(err)
	}
	if *got != *w {
		t.Errorf("%q parsed as %+v", w.Args(), got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"wheel", "--dest", "/out"}, "wheel: --input is required"},
		{[]string{"wheel", "--input", "in.json", "--dest", "/out"}, `--input "in.json": not an absolute path`},
		{[]string{"wheel", "--input", "/in.json", "--dest", "/out", "x.whl"}, `unexpected argument "x.whl"`},
	} {
		if _, err := ParseWheel(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
	if !IsCommand(CommandWheel) {
		t.Error("wheel is not a helper command")
	}
}
