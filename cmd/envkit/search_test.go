package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
)

// serveChannel serves a fixture channel over HTTP on 127.0.0.1 and points
// the repodata cache at a fresh directory.
func serveChannel(t *testing.T, name string) string {
	t.Helper()
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	srv := httptest.NewServer(http.FileServer(http.Dir(testdata.Path(t, "conda", "channels", name))))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSearchText(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	code, out, errs := runCLI(t, "search", "--channel", url, "--platform", "linux-64", "foo*")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var got []string
	for _, l := range lines[1:] {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	ch := url + "/linux-64"
	want := []string{
		"foo 3.0.2 py36h1af98f8_1 " + ch,
		"foo 3.0.2 py36h1af98f8_2 " + ch,
		"foo 3.0.2 py36h1af98f8_3 " + ch,
		"foo 4.0.2 py36h1af98f8_2 " + ch,
		"foobar 2.0 bla_1 " + ch,
		"foobar 2.1 bla_1 " + ch,
	}
	if !strings.HasPrefix(lines[0], "# Name") || !slices.Equal(got, want) {
		t.Errorf("output:\n%s\nwant rows %q", out, want)
	}
	// Columns are aligned.
	col := strings.Index(lines[0], "Version")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("misaligned %q", l)
		}
	}

	code, out, errs = runCLI(t, "search", "-c", url, "-p", "linux-64", "foo >=9")
	if code != exitOK || out != "" {
		t.Errorf("no match: exit %d out %q err %q", code, out, errs)
	}
}

func TestSearchJSON(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	code, out, errs := runCLI(t, "search", "-c", url, "-p", "linux-64", "--json", "*o*r* >=1.2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	var got []string
	for _, r := range recs {
		for _, k := range []string{"name", "version", "build", "build_number", "subdir", "fn", "url", "md5", "sha256", "depends"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%v lacks %q", r["fn"], k)
			}
		}
		if r["depends"] == nil {
			t.Errorf("%v: depends is null", r["fn"])
		}
		if !strings.HasPrefix(r["url"].(string), url+"/linux-64/") || r["subdir"] != "linux-64" {
			t.Errorf("url %v subdir %v", r["url"], r["subdir"])
		}
		got = append(got, r["name"].(string)+"-"+r["version"].(string))
	}
	want := []string{"bors-1.2.1", "bors-2.0", "bors-2.1", "foobar-2.0", "foobar-2.1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if d := recs[3]["depends"].([]any); len(d) != 1 || d[0] != "bors <2.0" {
		t.Errorf("foobar depends %v", d)
	}

	code, out, _ = runCLI(t, "search", "-c", url, "-p", "linux-64", "--json", "nothing-like-this")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("no match: exit %d %q", code, out)
	}
}

func TestSearchErrors(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	code, _, errs := runCLI(t, "search", "-c", url, "foo >=<1")
	if code != exitUsage || !strings.Contains(errs, `"foo >=<1"`) {
		t.Errorf("invalid spec: exit %d %q", code, errs)
	}
	code, _, errs = runCLI(t, "search", "foo")
	if code != exitUsage || !strings.Contains(errs, "--channel") {
		t.Errorf("no channel: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "search", "-c", url); code != exitUsage {
		t.Errorf("no spec: exit %d", code)
	}
	code, _, errs = runCLI(t, "search", "-c", url+"/nowhere", "foo")
	if code != exitFailure || errs == "" {
		t.Errorf("wrong channel URL: exit %d %q", code, errs)
	}
}

// TestSearchLocal searches a channel given as a directory and as a file://
// URL; its subdirs have upstream's non-standard names.
func TestSearchLocal(t *testing.T) {
	t.Setenv("ENVKIT_CACHE", t.TempDir())
	dir := testdata.Path(t, "conda", "channels", "conda-test-recipes")
	for _, ch := range []string{dir, "file://" + dir} {
		code, out, errs := runCLI(t, "search", "-c", ch, "-p", "linux-fake", "--json", "virtualdep-package >=2")
		var recs []recordJSON
		if code != exitOK || json.Unmarshal([]byte(out), &recs) != nil {
			t.Fatalf("%s: exit %d %s %s", ch, code, out, errs)
		}
		if len(recs) != 1 || recs[0].Version != "2.0" || recs[0].Subdir != "linux-fake" ||
			!slices.Equal(recs[0].Depends, []string{"__glibc >=2.28"}) || recs[0].URL != "file://"+dir+"/linux-fake/virtualdep-package-2.0-0.conda" {
			t.Errorf("%s: %+v", ch, recs)
		}
		// noarch records come with the platform's.
		code, out, _ = runCLI(t, "search", "-c", ch, "-p", "linux-fake", "*dependent")
		if code != exitOK || strings.Count(out, "\n") != 6 || !strings.Contains(out, "/noarch") {
			t.Errorf("%s: exit %d\n%s", ch, code, out)
		}
	}
}
