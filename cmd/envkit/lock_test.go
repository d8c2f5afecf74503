package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/internal/testdata"
)

// lockDists returns the sorted "name-version-build" of a lock's platform.
func lockDists(t *testing.T, l *lock.Lock, platform string) []string {
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

// iopro is conda's test_iopro_mkl solver case, read from solver-cases.json.
func iopro(t *testing.T) (specs, expected []string) {
	t.Helper()
	data, err := os.ReadFile(testdata.Path(t, "conda", "solver-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Source, Channel, Platform string
		Specs, Expected           []string
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if strings.HasSuffix(c.Source, "::test_iopro_mkl") && c.Channel == "channels/conda-index1" && c.Platform == "linux-64" {
			return c.Specs, c.Expected
		}
	}
	t.Fatal("test_iopro_mkl not in solver-cases.json")
	return nil, nil
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLockSolverCase(t *testing.T) {
	url := serveChannel(t, "conda-index1")
	specs, expected := iopro(t)
	args := append([]string{"lock", "-c", url, "-p", "linux-64"}, specs...)
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, err := lock.ReadCondaLock("conda-lock.yml", []byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := lockDists(t, l, "linux-64"); !slices.Equal(got, expected) {
		t.Errorf("conda-lock:\n got %v\nwant %v", got, expected)
	}
	if len(l.Channels) != 1 || l.Channels[0].URL != url {
		t.Errorf("channels %v", l.Channels)
	}
	hash := l.ContentHash["linux-64"]
	if len(hash) != 64 {
		t.Errorf("content hash %q", hash)
	}

	// The explicit form, read back, installs the same packages.
	code, out, errs = runCLI(t, append([]string{"lock", "--format", "explicit", "-c", url, "-p", "linux-64"}, specs...)...)
	if code != exitOK {
		t.Fatalf("explicit: exit %d: %s", code, errs)
	}
	ex, err := lock.ReadExplicit("explicit.txt", []byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var urls, wantURLs []string
	for _, p := range ex.Packages {
		urls = append(urls, p.URL)
		if p.Platform != "linux-64" || p.MD5 == "" {
			t.Errorf("explicit package %+v", p)
		}
	}
	for _, p := range l.Packages {
		wantURLs = append(wantURLs, p.URL)
	}
	slices.Sort(urls)
	slices.Sort(wantURLs)
	if !slices.Equal(urls, wantURLs) {
		t.Errorf("explicit URLs %v, want %v", urls, wantURLs)
	}
	if ex.ContentHash["linux-64"] != hash {
		t.Errorf("explicit input hash %q, want %q", ex.ContentHash["linux-64"], hash)
	}

	// JSON: one platform is a flat array sorted by name.
	code, out, errs = runCLI(t, append([]string{"lock", "--format", "json", "-c", url, "-p", "linux-64"}, specs...)...)
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, errs)
	}
	var recs []recordJSON
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Name+"-"+r.Version+"-"+r.Build)
		if r.Depends == nil || r.URL == "" || r.Subdir != "linux-64" {
			t.Errorf("json record %+v", r)
		}
	}
	if !slices.Equal(got, expected) { // expected is sorted by name
		t.Errorf("json: %v", got)
	}
}

func TestLockPlatforms(t *testing.T) {
	url := serveChannel(t, "conda-format-repo")
	code, out, errs := runCLI(t, "lock", "--format", "json", "-c", url, "-p", "osx-64", "-p", "linux-64", "zlib")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var byPlatform map[string][]recordJSON
	if err := json.Unmarshal([]byte(out), &byPlatform); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(byPlatform) != 2 {
		t.Errorf("platforms %v", byPlatform)
	}
	for _, p := range []string{"linux-64", "osx-64"} {
		i := slices.IndexFunc(byPlatform[p], func(r recordJSON) bool { return r.Name == "zlib" })
		if i < 0 || byPlatform[p][i].Subdir != p || byPlatform[p][i].SHA256 == "" {
			t.Errorf("%s: %+v", p, byPlatform[p])
		}
	}
	code, _, errs = runCLI(t, "lock", "--format", "explicit", "-c", url, "-p", "osx-64", "-p", "linux-64", "zlib")
	if code != exitUsage || !strings.Contains(errs, "--platform") {
		t.Errorf("explicit with two platforms: exit %d %q", code, errs)
	}
}

func TestLockVirtualPackages(t *testing.T) {
	url := serveChannel(t, "conda-index1")
	code, _, errs := runCLI(t, "lock", "--format", "json", "-c", url, "-p", "linux-64", "cudatoolkit")
	if code != exitFailure || !strings.Contains(errs, "__cuda") {
		t.Errorf("cudatoolkit without __cuda: exit %d %q", code, errs)
	}
	for ver, want := range map[string]string{"9.2": "9.0", "10.2": "10.0"} {
		code, out, errs := runCLI(t, "lock", "--format", "json", "-c", url, "-p", "linux-64", "--virtual-package", "__cuda="+ver, "cudatoolkit")
		var recs []recordJSON
		if code != exitOK || json.Unmarshal([]byte(out), &recs) != nil || len(recs) != 1 || recs[0].Version != want {
			t.Errorf("__cuda=%s: exit %d %s %s", ver, code, out, errs)
		}
	}
	if code, _, _ := runCLI(t, "lock", "-c", url, "--virtual-package", "cuda", "cudatoolkit"); code != exitUsage {
		t.Errorf("--virtual-package without =: exit %d", code)
	}
}

func TestLockUnsatisfiable(t *testing.T) {
	url := serveChannel(t, "conda-index1")
	// iopro 1.5 is built for numpy 1.6 and 1.7 only.
	code, out, errs := runCLI(t, "lock", "-c", url, "-p", "linux-64", "iopro 1.5*", "numpy 1.5*")
	if code != exitFailure || out != "" {
		t.Fatalf("exit %d, out %q", code, out)
	}
	for _, want := range []string{"linux-64", "cannot solve", "iopro 1.5.0", "numpy 1.6", "numpy 1.5"} {
		if !strings.Contains(errs, want) {
			t.Errorf("explanation lacks %q:\n%s", want, errs)
		}
	}
	code, _, errs = runCLI(t, "lock", "-c", url, "numpy 1.7*", "numpy >=<")
	if code != exitUsage || !strings.Contains(errs, `"numpy >=<"`) {
		t.Errorf("invalid spec: exit %d %q", code, errs)
	}
	code, _, errs = runCLI(t, "lock", "numpy")
	if code != exitUsage || !strings.Contains(errs, "--channel") {
		t.Errorf("no channel: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "lock", "-c", url); code != exitUsage {
		t.Errorf("no spec: exit %d", code)
	}
	if code, _, _ := runCLI(t, "lock", "-c", url, "--format", "yaml", "numpy"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}
}

func TestLockEnvFile(t *testing.T) {
	url := serveChannel(t, "conda-index1")
	dir := t.TempDir()
	// A local channel path relative to the file, and platforms from the file.
	rel, err := filepath.Rel(dir, testdata.Path(t, "conda", "channels", "rattler-dummy"))
	if err != nil {
		t.Fatal(err)
	}
	env := writeFile(t, dir, "environment.yml", `name: test
channels:
  - `+url+`
  - `+rel+`
  - nodefaults
dependencies:
  - python 3.3*
  - pytz 2012d
  - foobar
platforms:
  - linux-64
`)
	code, out, errs := runCLI(t, "lock", "-f", env)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, err := lock.ReadCondaLock("conda-lock.yml", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	got := lockDists(t, l, "linux-64")
	for _, want := range []string{"python-3.3.2-0", "pytz-2012d-py33_0", "foobar-2.1-bla_1", "bors-1.2.1-bla_1"} {
		if !slices.Contains(got, want) {
			t.Errorf("lock lacks %s: %v", want, got)
		}
	}
	if !slices.Equal(l.Platforms, []string{"linux-64"}) || !slices.Equal(l.Sources, []string{"environment.yml"}) {
		t.Errorf("platforms %v sources %v", l.Platforms, l.Sources)
	}
	var chans []string
	for _, c := range l.Channels {
		chans = append(chans, c.URL)
	}
	dummy := "file://" + filepath.ToSlash(testdata.Path(t, "conda", "channels", "rattler-dummy"))
	if !slices.Equal(chans, []string{url, dummy}) {
		t.Errorf("channels %v", chans)
	}

	// The lock of the file is fresh for the file until its request changes.
	locked := writeFile(t, dir, "conda-lock.yml", out)
	if code, out, _ := runCLI(t, "lock", "-f", env, "--lockfile", locked, "--check"); code != exitOK || !strings.Contains(out, "up to date") {
		t.Errorf("check unchanged file: exit %d %q", code, out)
	}
	data, _ := os.ReadFile(env)
	changed := writeFile(t, dir, "changed.yml", strings.Replace(string(data), "  - foobar\n", "  - foobar\n  - bors <1.2\n  - pip:\n    - requests\n", 1))
	if code, out, _ := runCLI(t, "lock", "-f", changed, "--lockfile", locked, "--check"); code != exitFailure || !strings.Contains(out, "stale") {
		t.Errorf("check changed file: exit %d %q", code, out)
	}
	// (pip lines are resolved from an index: TestLockPip.)
	changed = writeFile(t, dir, "changed2.yml", strings.Replace(string(data), "  - foobar\n", "  - foobar\n  - bors <1.2\n", 1))
	code, out, errs = runCLI(t, "lock", "-f", changed, "--lockfile", locked, "--format", "json")
	if code != exitOK || !strings.Contains(out, `"fn": "bors-1.1-bla_1.conda"`) {
		t.Errorf("changed file: exit %d %s\n%s", code, errs, out)
	}

	// Command-line channels come first.
	code, out, errs = runCLI(t, "lock", "-c", dummy, "-f", env)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if l, err = lock.ReadCondaLock("conda-lock.yml", []byte(out)); err != nil {
		t.Fatal(err)
	}
	chans = chans[:0]
	for _, c := range l.Channels {
		chans = append(chans, c.URL)
	}
	if !slices.Equal(chans, []string{dummy, url}) {
		t.Errorf("channels with --channel: %v", chans)
	}

	// An invalid spec is reported at its line.
	bad := writeFile(t, dir, "bad.yml", "channels: ["+url+"]\ndependencies:\n  - python 3.3*\n  - numpy >=<1\n")
	code, _, errs = runCLI(t, "lock", "-f", bad)
	if code != exitFailure || !strings.Contains(errs, "bad.yml:4:") || !strings.Contains(errs, "numpy >=<1") {
		t.Errorf("bad spec: exit %d %q", code, errs)
	}
	// So is an invalid platform; on the command line it is a usage error.
	plat := writeFile(t, dir, "plat.yml", "channels: ["+url+"]\ndependencies: [python]\nplatforms:\n  - linux-64\n  - linux-fake\n")
	code, _, errs = runCLI(t, "lock", "-f", plat)
	if code != exitFailure || !strings.Contains(errs, "plat.yml:5:") || !strings.Contains(errs, "linux-fake") {
		t.Errorf("bad platform: exit %d %q", code, errs)
	}
	if code, _, _ = runCLI(t, "lock", "-c", url, "-p", "linux-fake", "python"); code != exitUsage {
		t.Errorf("bad --platform: exit %d", code)
	}
	// No channels: a hint.
	none := writeFile(t, dir, "none.yml", "channels: [nodefaults]\ndependencies: [python]\n")
	code, _, errs = runCLI(t, "lock", "-f", none)
	if code != exitFailure || !strings.Contains(errs, "none.yml") || !strings.Contains(errs, "channels:") {
		t.Errorf("no channels: exit %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "lock", "-f", env, "python"); code != exitUsage {
		t.Errorf("-f and SPEC: exit %d", code)
	}
}

// TestLockStale: the content hash tells a fresh lock from a stale one; a
// fresh lock is reused, a stale one keeps its packages where it can.
func TestLockStale(t *testing.T) {
	url := serveChannel(t, "rattler-dummy")
	dir := t.TempDir()
	code, out, errs := runCLI(t, "lock", "-c", url, "-p", "linux-64", "foobar 2.0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	first := writeFile(t, dir, "first.yml", out)

	code, out, _ = runCLI(t, "lock", "-c", url, "-p", "linux-64", "--lockfile", first, "--check", "foobar 2.0")
	if code != exitOK || !strings.Contains(out, "linux-64: up to date") {
		t.Errorf("same request: exit %d %q", code, out)
	}
	// The same request spelled differently hashes alike ("foobar 2.0" is
	// exact: ==2.0).
	code, _, _ = runCLI(t, "lock", "-c", url+"/", "-p", "linux-64", "--lockfile", first, "--check", "foobar==2.0")
	if code != exitOK {
		t.Errorf("same request, other spelling: exit %d", code)
	}
	for _, args := range [][]string{
		{"-p", "linux-64", "foobar"},                                          // spec changed
		{"-p", "linux-64", "--virtual-package", "__glibc=2.28", "foobar 2.0"}, // target changed
		{"-p", "osx-64", "foobar 2.0"},                                        // platform not locked
	} {
		code, out, _ = runCLI(t, append([]string{"lock", "-c", url, "--lockfile", first, "--check"}, args...)...)
		if code != exitFailure || !strings.Contains(out, "stale") {
			t.Errorf("%v: exit %d %q", args, code, out)
		}
	}
	if code, _, _ := runCLI(t, "lock", "-c", url, "--check", "foobar"); code != exitUsage {
		t.Errorf("--check without --lockfile: exit %d", code)
	}

	// A fresh lock is reused as it is.
	code, out, errs = runCLI(t, "lock", "-c", url, "-p", "linux-64", "--lockfile", first, "foobar 2.0")
	if prev, _ := os.ReadFile(first); code != exitOK || out != string(prev) {
		t.Errorf("fresh lock not reused: exit %d %s\n%s", code, errs, out)
	}

	// Unpinned now: the stale lock's foobar 2.0 still fits and is kept...
	code, out, errs = runCLI(t, "lock", "-c", url, "-p", "linux-64", "--lockfile", first, "foobar")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, err := lock.ReadCondaLock("l.yml", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := lockDists(t, l, "linux-64"); !slices.Equal(got, []string{"bors-1.2.1-bla_1", "foobar-2.0-bla_1"}) {
		t.Errorf("with previous lock: %v", got)
	}
	// ...while a solve from scratch takes the newest.
	_, out, _ = runCLI(t, "lock", "-c", url, "-p", "linux-64", "foobar")
	if l, err = lock.ReadCondaLock("l.yml", []byte(out)); err != nil {
		t.Fatal(err)
	}
	if got := lockDists(t, l, "linux-64"); !slices.Contains(got, "foobar-2.1-bla_1") {
		t.Errorf("without previous lock: %v", got)
	}
}

// An Azure ML environment file locks its conda_file; a file without one
// says so.
func TestLockAzureMLEnvironment(t *testing.T) {
	dir := t.TempDir()
	index1 := testdata.Path(t, "conda", "channels", "conda-index1")
	conda := "channels: [" + index1 + "]\ndependencies:\n  - iopro 1.4*\n  - python 2.7*\n  - numpy 1.7*\nplatforms: [linux-64]\n"
	if err := os.WriteFile(filepath.Join(dir, "conda.yml"), []byte(conda), 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(dir, "env.yml")
	if err := os.WriteFile(envFile, []byte("name: e\nimage: busybox\nconda_file: conda.yml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"lock", "--format", "json", "-f", envFile}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var recs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &recs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[r["name"].(string)] = true
	}
	if !names["iopro"] || !names["numpy"] || !names["python"] {
		t.Errorf("solution %v", names)
	}
	plain := filepath.Join(dir, "plain.yml")
	if err := os.WriteFile(plain, []byte("name: p\nimage: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"lock", "-f", plain}, &out, &errb); code != exitFailure || !strings.Contains(errb.String(), "no conda environment to lock") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}
