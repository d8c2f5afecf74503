package link

import (
	"context"
	"encoding/json"
	"errors"
	condapkg "github.com/envkit/envkit/conda/package"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/testdata"
)

const envPrefix = "/opt/conda/envs/test"

func TestLinkCPHTestData(t *testing.T) {
	pkgDir := extract(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2")
	dest := t.TempDir()
	rec := &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: "cph_test_data", Version: version.MustParse("0.0.1"), Build: "0",
			Subdir: "noarch", Noarch: record.NoarchGeneric, Depends: []string{"patched-dep"}, SHA256: strings.Repeat("ab", 32)},
		FileName: "cph_test_data-0.0.1-0.tar.bz2",
		URL:      "https://conda.anaconda.org/conda-forge/noarch/cph_test_data-0.0.1-0.tar.bz2",
		Channel:  "https://conda.anaconda.org/conda-forge",
	}
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{
		Dest: dest, Record: rec, ExtractedPackageDir: "/opt/conda/pkgs/cph_test_data-0.0.1-0",
		RequestedSpecs: []string{"cph_test_data"},
	})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"bin/hello": "hello-1.0", "lib/alib": "alibrary", "lib/libdangle.lib": "libdangle.lib.1",
		"lib/python3.1": "python3.10", "lib/terminfo": "../share/terminfo", "libexec/greetings": "../bin/hello",
		"share/termcap": "terminfo",
	}
	for p, want := range links {
		got, err := os.Readlink(filepath.Join(dest, p))
		if err != nil || got != want {
			t.Errorf("%s: symlink to %q (%v), want %q", p, got, err, want)
		}
	}
	fi, err := os.Stat(filepath.Join(dest, "bin/hello-1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o775 {
		t.Errorf("bin/hello-1.0 mode %v, want the package's -rwxrwxr-x", fi.Mode())
	}
	if got := readFile(t, filepath.Join(dest, "bin/hello-1.0")); got != readFile(t, filepath.Join(pkgDir, "bin/hello-1.0")) {
		t.Errorf("bin/hello-1.0 content %q differs from the package's", got)
	}
	if len(res.Scripts) != 0 {
		t.Errorf("scripts %v, want none", res.Scripts)
	}

	// The conda-meta record: the given repodata record (patched depends
	// included), files and paths_data in paths.json order, link info.
	meta, err := ReadPrefixRecord(filepath.Join(dest, "conda-meta", "cph_test_data-0.0.1-0.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dest, "conda-meta", "cph_test_data-0.0.1-0.json"))), &raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"name": "cph_test_data", "version": "0.0.1", "build": "0", "build_number": 0.0, "noarch": "generic",
		"fn": rec.FileName, "url": rec.URL, "channel": rec.Channel, "sha256": rec.SHA256,
		"extracted_package_dir": "/opt/conda/pkgs/cph_test_data-0.0.1-0", "requested_spec": "cph_test_data",
		"link":    map[string]any{"source": "/opt/conda/pkgs/cph_test_data-0.0.1-0", "type": 3.0},
		"depends": []any{"patched-dep"},
	} {
		if !reflect.DeepEqual(raw[k], want) {
			t.Errorf("conda-meta %s = %#v, want %#v", k, raw[k], want)
		}
	}
	wantFiles := []string{"bin/hello", "bin/hello-1.0", "lib/alib", "lib/alibrary/alib.lib", "lib/libdangle.lib",
		"lib/python3.1", "lib/python3.10/amodule.py", "lib/terminfo", "libexec/greetings", "share/termcap", "share/terminfo/xterm.dat"}
	if !reflect.DeepEqual(meta.Files, wantFiles) {
		t.Errorf("files %v\nwant %v", meta.Files, wantFiles)
	}
	if meta.PathsData.PathsVersion != 1 || len(meta.PathsData.Paths) != len(wantFiles) {
		t.Fatalf("paths_data %+v", meta.PathsData)
	}
	for _, p := range meta.PathsData.Paths {
		wantType := condapkg.PathHardlink
		if _, ok := links[p.Path]; ok {
			wantType = condapkg.PathSoftlink
		}
		if p.PathType != wantType || len(p.SHA256) != 64 || p.SizeInBytes == nil || p.SHA256InPrefix != "" {
			t.Errorf("paths_data %+v: want type %s, sha256, size, no sha256_in_prefix", p, wantType)
		}
	}
	if !reflect.DeepEqual(meta, res.Record) {
		t.Errorf("conda-meta read back differs from Result.Record:\n%+v\n%+v", meta, res.Record)
	}
	if res.Files != len(wantFiles) {
		t.Errorf("Result.Files = %d, want %d", res.Files, len(wantFiles))
	}
}

func TestLinkFallsBackToIndexJSON(t *testing.T) {
	pkgDir := extract(t, "conda", "packages", "empty-0.1.0-h4616a5c_0.conda")
	dest := t.TempDir()
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dest)
	if len(entries) != 1 || entries[0].Name() != "conda-meta" {
		t.Errorf("dest holds %v, want only conda-meta", entries)
	}
	raw := readFile(t, filepath.Join(dest, "conda-meta", "empty-0.1.0-h4616a5c_0.json"))
	for _, want := range []string{`"name": "empty"`, `"files": []`, `"depends": []`, `"paths": []`, `"paths_version": 1`} {
		if !strings.Contains(raw, want) {
			t.Errorf("conda-meta lacks %s:\n%s", want, raw)
		}
	}
	for _, absent := range []string{`"link"`, `"extracted_package_dir"`, pkgDir} {
		if strings.Contains(raw, absent) {
			t.Errorf("conda-meta has %s though no final location was given:\n%s", absent, raw)
		}
	}
	if r := res.Record; r.Dist() != "empty-0.1.0-h4616a5c_0" || r.FileName != "" || r.URL != "" || r.Timestamp == 0 {
		t.Errorf("record from index.json: %+v", res.Record)
	}
}

func TestLinkRejectsRecordOfAnotherPackage(t *testing.T) {
	pkgDir := extract(t, "conda", "packages", "empty-0.1.0-h4616a5c_0.conda")
	rec := &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: "empty", Version: version.MustParse("0.2.0"), Build: "h4616a5c_0"}}
	_, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: t.TempDir(), Record: rec})
	if err == nil || !strings.Contains(err.Error(), "empty-0.2.0-h4616a5c_0 does not describe this package") {
		t.Fatalf("err = %v", err)
	}
}

func TestLinkIsReproducible(t *testing.T) {
	for _, fixture := range []struct {
		name    string
		extract func(testing.TB, ...string) string
		elem    []string
	}{
		{"cph_test_data", extract, []string{"conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"}},
		{"zlib", extractRaw, []string{"conda", "channels", "conda-format-repo", "linux-64", "zlib-1.2.11-h7b6447c_3.tar.bz2"}},
		{"small-executable", extract, []string{"conda", "channels", "conda-test-recipes", "noarch", "small-executable-1.0-0.conda"}},
	} {
		t.Run(fixture.name, func(t *testing.T) {
			// Two extractions in different staging directories, linked at
			// different (clock) times: the trees must not differ.
			var trees []string
			for range 2 {
				dest := t.TempDir()
				if _, err := Link(context.Background(), fixture.extract(t, fixture.elem...), envPrefix, Options{Dest: dest, Platform: "linux-64"}); err != nil {
					t.Fatal(err)
				}
				trees = append(trees, tree(t, dest))
				time.Sleep(10 * time.Millisecond)
			}
			if trees[0] != trees[1] {
				t.Errorf("linking twice differs:\n%s\n---\n%s", trees[0], trees[1])
			}
			for _, line := range strings.Split(trees[0], "\n") {
				if f := strings.Fields(line); f[2] != "0" {
					t.Errorf("%s: mtime %s, want the Unix epoch", f[0], f[2])
				}
			}
		})
	}
	// An explicit ModTime applies to files, symlinks and directories.
	dest := t.TempDir()
	mt := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Link(context.Background(), extract(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"), envPrefix, Options{Dest: dest, ModTime: mt}); err != nil {
		t.Fatal(err)
	}
	// t.TempDir is 0700; the environment's root must be readable by all.
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("dest mode %v (%v), want 0755", fi.Mode(), err)
	}
	for _, p := range []string{".", "bin", "bin/hello", "bin/hello-1.0", "conda-meta", "conda-meta/cph_test_data-0.0.1-0.json"} {
		fi, err := os.Lstat(filepath.Join(dest, p))
		if err != nil || !fi.ModTime().Equal(mt) {
			t.Errorf("%s: mtime %v (%v), want %v", p, fi.ModTime(), err, mt)
		}
	}
}

// zlib's pkg-config file carries the placeholder in text mode.
func TestLinkRealTextPlaceholder(t *testing.T) {
	pkgDir := extractRaw(t, "conda", "channels", "conda-format-repo", "linux-64", "zlib-1.2.11-h7b6447c_3.tar.bz2")
	dest := t.TempDir()
	res, err := Link(context.Background(), pkgDir, "/azureml-envs/azureml_py310", Options{Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	pc := readFile(t, filepath.Join(dest, "lib/pkgconfig/zlib.pc"))
	if !strings.HasPrefix(pc, "prefix=/azureml-envs/azureml_py310\nexec_prefix=${prefix}\n") || strings.Contains(pc, "anaconda1") {
		t.Errorf("zlib.pc:\n%s", pc)
	}
	for _, p := range res.Record.PathsData.Paths {
		switch p.Path {
		case "lib/pkgconfig/zlib.pc":
			if p.FileMode != condapkg.FileModeText || p.PrefixPlaceholder != "/opt/anaconda1anaconda2anaconda3" || p.SHA256InPrefix != sha(pc) || p.SHA256InPrefix == p.SHA256 {
				t.Errorf("zlib.pc paths_data %+v", p)
			}
		case "lib/libz.so":
			// paths.json says softlink, the tarball holds a file: conda
			// copies what is there.
			if p.PathType != condapkg.PathHardlink {
				t.Errorf("libz.so paths_data %+v", p)
			}
		}
	}

	// Without paths.json, info/files and info/has_prefix give the same
	// result (packages built before 2017).
	if err := os.Remove(filepath.Join(pkgDir, "info", "paths.json")); err != nil {
		t.Fatal(err)
	}
	legacy := t.TempDir()
	lres, err := Link(context.Background(), pkgDir, "/azureml-envs/azureml_py310", Options{Dest: legacy})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lres.Record.Files, res.Record.Files) {
		t.Errorf("legacy files %v, want %v", lres.Record.Files, res.Record.Files)
	}
	stripMeta := func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, "conda-meta") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if a, b := stripMeta(tree(t, dest)), stripMeta(tree(t, legacy)); a != b {
		t.Errorf("legacy link differs:\n%s\n---\n%s", a, b)
	}
}

func TestLinkPrefixReplacement(t *testing.T) {
	const ph = "/opt/placeholder_placeholder_placeholder_placeholder"
	text := "#!" + ph + "/bin/perl -w\nprefix=" + ph + "\nlib=" + ph + "/lib\n"
	bin := "\x7fELF\x00rpath=" + ph + "/lib:" + ph + "/lib64\x00tail\x00" + ph + "\x00end"
	p := pkg{
		paths: []condapkg.PathEntry{
			{Path: "bin/tool", PrefixPlaceholder: ph, FileMode: condapkg.FileModeText},
			{Path: "lib/libx.so", PrefixPlaceholder: ph, FileMode: condapkg.FileModeBinary},
			{Path: "share/plain.txt"},
		},
		files: map[string]string{"bin/tool": text, "lib/libx.so": bin, "share/plain.txt": ph},
		modes: map[string]os.FileMode{"bin/tool": 0o755, "lib/libx.so": 0o755},
	}
	pkgDir := p.write(t)
	dest := t.TempDir()
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	wantText := strings.ReplaceAll(text, ph, envPrefix)
	if got := readFile(t, filepath.Join(dest, "bin/tool")); got != wantText {
		t.Errorf("text file:\n%q\nwant\n%q", got, wantText)
	}
	pad := len(ph) - len(envPrefix)
	wantBin := "\x7fELF\x00rpath=" + envPrefix + "/lib:" + envPrefix + "/lib64" + strings.Repeat("\x00", 2*pad) +
		"\x00tail\x00" + envPrefix + strings.Repeat("\x00", pad) + "\x00end"
	gotBin := readFile(t, filepath.Join(dest, "lib/libx.so"))
	if gotBin != wantBin || len(gotBin) != len(bin) {
		t.Errorf("binary file:\n%q\nwant\n%q", gotBin, wantBin)
	}
	if got := readFile(t, filepath.Join(dest, "share/plain.txt")); got != ph {
		t.Errorf("a file without placeholder was changed: %q", got)
	}
	for _, name := range []string{"bin/tool", "lib/libx.so"} {
		if fi, _ := os.Stat(filepath.Join(dest, name)); fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", name, fi.Mode())
		}
	}
	got := map[string]string{}
	for _, pp := range res.Record.PathsData.Paths {
		got[pp.Path] = string(pp.FileMode) + " " + pp.SHA256InPrefix
	}
	want := map[string]string{"bin/tool": "text " + sha(wantText), "lib/libx.so": "binary " + sha(wantBin), "share/plain.txt": " "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths_data file_mode/sha256_in_prefix %v, want %v", got, want)
	}

	// A prefix longer than the placeholder cannot be written into the
	// binary file.
	long := "/" + strings.Repeat("x", len(ph))
	_, err = Link(context.Background(), pkgDir, long, Options{Dest: t.TempDir()})
	var tooLong *PrefixTooLongError
	if !errors.As(err, &tooLong) || tooLong.Path != "lib/libx.so" || !strings.Contains(err.Error(), "at most 52 bytes") {
		t.Fatalf("err = %v, want a PrefixTooLongError for lib/libx.so", err)
	}
}

func TestLinkLongShebang(t *testing.T) {
	const ph = "/opt/anaconda1anaconda2anaconda3"
	p := pkg{
		paths: []condapkg.PathEntry{
			{Path: "bin/perlscript", PrefixPlaceholder: ph},
			{Path: "bin/pyscript", PrefixPlaceholder: ph},
			{Path: "bin/short", PrefixPlaceholder: ph},
		},
		files: map[string]string{
			"bin/perlscript": "#!" + ph + "/bin/perl -w\nprint \"" + ph + "\";\n",
			"bin/pyscript":   "#!" + ph + "/bin/python3.11\nimport sys\n",
			"bin/short":      "#!/bin/sh\necho " + ph + "\n",
		},
	}
	pkgDir := p.write(t)
	long := "/opt/conda/envs/" + strings.Repeat("long", 30)
	dest := t.TempDir()
	if _, err := Link(context.Background(), pkgDir, long, Options{Dest: dest}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"bin/perlscript": "#!/usr/bin/env perl -w\nprint \"" + long + "\";\n",
		"bin/pyscript":   "#!/bin/sh\n'''exec' \"" + long + "/bin/python3.11\" \"$0\" \"$@\" #'''\nimport sys\n",
		"bin/short":      "#!/bin/sh\necho " + long + "\n",
	} {
		if got := readFile(t, filepath.Join(dest, name)); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
		}
	}
	// macOS allows 512 bytes: the same prefix stays in the shebang.
	dest = t.TempDir()
	if _, err := Link(context.Background(), pkgDir, long, Options{Dest: dest, Platform: "osx-arm64"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dest, "bin/perlscript")); !strings.HasPrefix(got, "#!"+long+"/bin/perl -w\n") {
		t.Errorf("osx perlscript:\n%s", got)
	}
}

func TestLinkNoarchPython(t *testing.T) {
	pkgDir := extract(t, "conda", "channels", "conda-test-recipes", "noarch", "sample_noarch_python-1.0-py_0.conda")
	_, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "Options.Python") {
		t.Fatalf("without Python: err = %v", err)
	}

	dest := t.TempDir()
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest, Python: &Python{Version: "3.11", SitePackages: "lib/python3.11/site-packages"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "lib/python3.11/site-packages/sample.py")); err != nil {
		t.Error(err)
	}
	if want := []string{"lib/python3.11/site-packages/sample.py"}; !reflect.DeepEqual(res.Record.Files, want) {
		t.Errorf("files %v, want %v", res.Record.Files, want)
	}

	// The fake python 3.99.99 says where its site-packages are (CEP 20).
	pyMeta, err := condapkg.ReadFile(testdata.Path(t, "conda", "channels", "conda-test-recipes", "noarch", "python-3.99.99-0.conda"))
	if err != nil {
		t.Fatal(err)
	}
	py, err := PythonFromRecord(&pyMeta.Index)
	if err != nil {
		t.Fatal(err)
	}
	if *py != (Python{Version: "3.99", SitePackages: "lib/python3.99t/site-packages"}) || py.Executable() != "bin/python3.99" {
		t.Errorf("python %+v", py)
	}
	dest = t.TempDir()
	if _, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest, Python: py}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "lib/python3.99t/site-packages/sample.py")); err != nil {
		t.Error(err)
	}
}

func TestLinkEntryPoints(t *testing.T) {
	linkJSON := readFile(t, testdata.Path(t, "conda", "packages", "link-json", "jupyterlab-link.json"))
	p := pkg{
		index: map[string]any{"name": "jupyterlab", "noarch": "python", "subdir": "noarch"},
		paths: []condapkg.PathEntry{
			{Path: "site-packages/jupyterlab/__init__.py"},
			{Path: "python-scripts/jlpm-helper", PrefixPlaceholder: "/opt/anaconda1anaconda2anaconda3"},
		},
		link: linkJSON,
		files: map[string]string{
			"site-packages/jupyterlab/__init__.py": "",
			"python-scripts/jlpm-helper":           "#!/opt/anaconda1anaconda2anaconda3/bin/python\n",
		},
		modes: map[string]os.FileMode{"python-scripts/jlpm-helper": 0o755},
	}
	pkgDir := p.write(t)
	dest := t.TempDir()
	py := &Python{Version: "3.12", SitePackages: "lib/python3.12/site-packages"}
	res, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest, Python: py})
	if err != nil {
		t.Fatal(err)
	}
	want := "#!/opt/conda/envs/test/bin/python3.12\n" +
		"# -*- coding: utf-8 -*-\n" +
		"import re\n" +
		"import sys\n\n" +
		"from jupyterlab.labapp import main\n\n" +
		"if __name__ == '__main__':\n" +
		"    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n" +
		"    sys.exit(main())\n"
	if got := readFile(t, filepath.Join(dest, "bin/jupyter-lab")); got != want {
		t.Errorf("bin/jupyter-lab:\n%s\nwant\n%s", got, want)
	}
	if fi, _ := os.Stat(filepath.Join(dest, "bin/jupyter-lab")); fi.Mode().Perm() != 0o755 {
		t.Errorf("entry point mode %v", fi.Mode())
	}
	if got := readFile(t, filepath.Join(dest, "bin/jlpm-helper")); got != "#!"+envPrefix+"/bin/python\n" {
		t.Errorf("python-scripts/ file linked to bin/ as %q", got)
	}
	wantFiles := []string{"lib/python3.12/site-packages/jupyterlab/__init__.py", "bin/jlpm-helper",
		"bin/jlpm", "bin/jupyter-lab", "bin/jupyter-labextension", "bin/jupyter-labhub"}
	if !reflect.DeepEqual(res.Record.Files, wantFiles) {
		t.Errorf("files %v\nwant %v", res.Record.Files, wantFiles)
	}
	ep := res.Record.PathsData.Paths[3]
	if ep.PathType != PathUnixEntryPoint || ep.SHA256 != sha(want) || *ep.SizeInBytes != int64(len(want)) {
		t.Errorf("entry point paths_data %+v", ep)
	}

	// A prefix too long for a shebang gets the /bin/sh trampoline.
	long := "/opt/conda/envs/" + strings.Repeat("x", 120)
	dest = t.TempDir()
	if _, err := Link(context.Background(), pkgDir, long, Options{Dest: dest, Python: py}); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, filepath.Join(dest, "bin/jlpm"))
	if !strings.HasPrefix(got, "#!/bin/sh\n'''exec' \""+long+"/bin/python3.12\" \"$0\" \"$@\" #'''\n# -*- coding: utf-8 -*-\n") {
		t.Errorf("long-prefix entry point:\n%s", got)
	}
}

func TestLinkScriptsAreReported(t *testing.T) {
	dest := t.TempDir()
	res, err := Link(context.Background(), extract(t, "conda", "packages", "link-scripts", "link-scripts-0.1.0-h4616a5c_0.conda"), envPrefix, Options{Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	want := []Script{
		{"post-link", "Scripts/.link-scripts-post-link.bat"}, {"pre-unlink", "Scripts/.link-scripts-pre-unlink.bat"},
		{"post-link", "bin/.link-scripts-post-link.sh"}, {"pre-unlink", "bin/.link-scripts-pre-unlink.sh"},
	}
	if !reflect.DeepEqual(res.Scripts, want) {
		t.Errorf("scripts %v\nwant %v", res.Scripts, want)
	}
	plan, err := Plan(extract(t, "conda", "packages", "link-scripts", "link-scripts-0.1.0-h4616a5c_0.conda"), envPrefix, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := LinkScripts(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("LinkScripts(Plan(...)) = %v, want %v", got, want)
	}
	// Not run: the script would have created this file.
	if _, err := os.Stat(filepath.Join(dest, "i-was-post-linked")); err == nil {
		t.Error("post-link script ran")
	}
	res, err = Link(context.Background(), extract(t, "conda", "channels", "conda-test-recipes", "noarch", "failing_post_link-1.0-0.conda"), envPrefix, Options{Dest: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scripts) != 2 || res.Scripts[1] != (Script{"post-link", "bin/.failing_post_link-post-link.sh"}) {
		t.Errorf("scripts %v", res.Scripts)
	}
}

func TestLinkConditions(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		p    pkg
		want string
	}{
		{"escape", pkg{paths: []condapkg.PathEntry{{Path: "../etc/passwd"}}}, `info/paths.json: paths[0]: _path: unsafe path: "../etc/passwd" leaves the package`},
		{"absolute", pkg{paths: []condapkg.PathEntry{{Path: "/etc/passwd"}}}, `info/paths.json: paths[0]: _path: unsafe path: "/etc/passwd" is absolute`},
		{"conda-meta", pkg{paths: []condapkg.PathEntry{{Path: "ok"}, {Path: "conda-meta/history"}}, files: map[string]string{"ok": ""}}, `paths[1]: conda-meta/history: conda-meta/ is reserved`},
		{"path_type", pkg{paths: []condapkg.PathEntry{{Path: "x", PathType: "fifo"}}}, `_path "x": path_type "fifo"`},
		{"file_mode", pkg{paths: []condapkg.PathEntry{{Path: "x", FileMode: "utf16"}}}, `_path "x": file_mode "utf16"`},
		{"noarch python into conda-meta", pkg{index: map[string]any{"noarch": "python"}, paths: []condapkg.PathEntry{{Path: "x"}, {Path: "site-packages/../conda-meta/x"}}},
			`unsafe path`},
		{"missing", pkg{paths: []condapkg.PathEntry{{Path: "bin/x"}}}, "bin/x: lstat"},
		{"through symlink", pkg{paths: []condapkg.PathEntry{{Path: "lib64", PathType: condapkg.PathSoftlink}, {Path: "lib64/x"}},
			files: map[string]string{"lib64": "->/etc"}}, "lib64: is a symlink; refusing to write through it"},
		{"bad entry point", pkg{index: map[string]any{"noarch": "python"}, paths: []condapkg.PathEntry{}, link: `{"noarch":{"type":"python","entry_points":["nocolon = mod"]}}`},
			`entry point "nocolon = mod": want "command = module:function"`},
		{"entry point clash", pkg{index: map[string]any{"noarch": "python"}, paths: []condapkg.PathEntry{{Path: "python-scripts/x"}},
			files: map[string]string{"python-scripts/x": ""}, link: `{"noarch":{"type":"python","entry_points":["x = m:f"]}}`},
			"bin/x: written twice (paths_data entries 0 and 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.p.write(t)
			_, err := Link(ctx, dir, envPrefix, Options{Dest: t.TempDir(), Python: &Python{Version: "3.11", SitePackages: "lib/python3.11/site-packages"}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
	for _, prefix := range []string{"relative/env", "/opt/conda/../x", "/", "/opt/x\n", `/opt/"x"`, "/opt/$HOME", `/opt\x`} {
		if _, err := Link(ctx, t.TempDir(), prefix, Options{}); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("prefix %q: err = %v", prefix, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Link(cctx, extract(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2"), envPrefix, Options{Dest: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
}

func TestLinkHardlink(t *testing.T) {
	pkgDir := extractRaw(t, "conda", "channels", "conda-format-repo", "linux-64", "zlib-1.2.11-h7b6447c_3.tar.bz2")
	dest := t.TempDir()
	if _, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest, Hardlink: true}); err != nil {
		t.Fatal(err)
	}
	same := func(p string) bool {
		a, _ := os.Stat(filepath.Join(pkgDir, p))
		b, _ := os.Stat(filepath.Join(dest, p))
		return os.SameFile(a, b)
	}
	if !same("lib/libz.a") {
		t.Error("lib/libz.a was copied, want a hard link")
	}
	if same("lib/pkgconfig/zlib.pc") {
		t.Error("zlib.pc (prefix replaced) is a hard link to the package's file")
	}

	// no_link files are always copied.
	dir := pkg{paths: []condapkg.PathEntry{{Path: "a"}, {Path: "b", NoLink: true}}, files: map[string]string{"a": "A", "b": "B"}}.write(t)
	dest = t.TempDir()
	if _, err := Link(context.Background(), dir, envPrefix, Options{Dest: dest, Hardlink: true}); err != nil {
		t.Fatal(err)
	}
	for name, linked := range map[string]bool{"a": true, "b": false} {
		a, _ := os.Stat(filepath.Join(dir, name))
		b, _ := os.Stat(filepath.Join(dest, name))
		if os.SameFile(a, b) != linked {
			t.Errorf("%s: hard linked %v, want %v", name, !linked, linked)
		}
	}
}

// An archive extracted by other means may hold a regular file where
// paths.json says softlink (conda's own zlib .tar.bz2 fixture does): the
// file system decides, as in conda.
func TestLinkSoftlinkEntryHoldingAFile(t *testing.T) {
	dir := pkg{paths: []condapkg.PathEntry{{Path: "lib/libz.so", PathType: condapkg.PathSoftlink}}, files: map[string]string{"lib/libz.so": "ELF"}}.write(t)
	dest := t.TempDir()
	res, err := Link(context.Background(), dir, envPrefix, Options{Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dest, "lib/libz.so")); got != "ELF" || res.Record.PathsData.Paths[0].PathType != condapkg.PathHardlink {
		t.Errorf("content %q, paths_data %+v", got, res.Record.PathsData.Paths[0])
	}
}

// Paths the package holds as hard links of one file stay one file in the
// layer (a tar hard link entry), not two copies.
func TestLinkKeepsHardLinksWithinPackage(t *testing.T) {
	dir := pkg{paths: []condapkg.PathEntry{{Path: "bin/git"}, {Path: "libexec/git-core/git"}, {Path: "bin/other"}},
		files: map[string]string{"bin/git": "GIT", "bin/other": "GIT"}, modes: map[string]os.FileMode{"bin/git": 0o755}}.write(t)
	if err := os.MkdirAll(filepath.Join(dir, "libexec/git-core"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "bin/git"), filepath.Join(dir, "libexec/git-core/git")); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	if _, err := Link(context.Background(), dir, envPrefix, Options{Dest: dest}); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) os.FileInfo {
		fi, err := os.Stat(filepath.Join(dest, p))
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	if !os.SameFile(stat("bin/git"), stat("libexec/git-core/git")) {
		t.Error("hard-linked paths were copied twice")
	}
	if os.SameFile(stat("bin/git"), stat("bin/other")) {
		t.Error("files with equal content but different inodes were linked")
	}
	if fi := stat("libexec/git-core/git"); fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(time.Unix(0, 0)) {
		t.Errorf("linked copy: mode %v, mtime %v", fi.Mode(), fi.ModTime())
	}
	src, _ := os.Stat(filepath.Join(dir, "bin/git"))
	if os.SameFile(src, stat("bin/git")) {
		t.Error("the layer's file is the package's inode")
	}
}

// Linking into a dest that already holds the files (a re-link) replaces
// them instead of writing through them.
func TestLinkReplacesExisting(t *testing.T) {
	pkgDir := extract(t, "conda", "packages", "cph_test_data-0.0.1-0.tar.bz2")
	dest := t.TempDir()
	for range 2 {
		if _, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: dest, Hardlink: true}); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, filepath.Join(dest, "bin/hello-1.0")); got != readFile(t, filepath.Join(pkgDir, "bin/hello-1.0")) {
		t.Errorf("relinked content %q", got)
	}
}

// The metadata condapkg.Extract returns can be handed over instead of being
// read again from info/.
func TestLinkWithExtractedMetadata(t *testing.T) {
	archive := testdata.Path(t, "conda", "packages", "link-scripts", "link-scripts-0.1.0-h4616a5c_0.conda")
	pkgDir := filepath.Join(t.TempDir(), "pkg")
	md, err := condapkg.ExtractFile(context.Background(), archive, pkgDir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	ra, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: a, Metadata: md})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Link(context.Background(), pkgDir, envPrefix, Options{Dest: b})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ra, rb) || tree(t, a) != tree(t, b) {
		t.Errorf("linking with the extracted metadata differs from reading info/:\n%+v\n%+v", ra, rb)
	}
}
