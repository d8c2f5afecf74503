package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/mergedir"
	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/wheel"
)

var realWheels = []string{"pip-23.0.1-py3-none-any.whl", "setuptools-66.1.1-py3-none-any.whl", "wheel-0.38.4-py3-none-any.whl"}

// wheelFile describes one of the shared real wheels as the caller would.
func wheelFile(t *testing.T, filename string) helper.WheelFile {
	t.Helper()
	p := testdata.Path(t, "pypi", "wheels", filename)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return helper.WheelFile{Filename: filename, Archive: p, SHA256: hex.EncodeToString(s[:])}
}

func wheelInput(files ...helper.WheelFile) *helper.WheelInput {
	return &helper.WheelInput{Prefix: prefix, Platform: "linux-64",
		Python: helper.WheelPython{Version: "3.12", SitePackages: "lib/python3.12/site-packages"}, Wheels: files}
}

// runWheels runs "wheel" from the argv the contract writes and returns
// the layer's root.
func runWheels(t *testing.T, in *helper.WheelInput) (string, error) {
	t.Helper()
	root := t.TempDir()
	w := &helper.Wheel{Input: filepath.Join(root, "in", helper.WheelInputFile), Dest: filepath.Join(root, "out")}
	writeInput(t, w.Input, in.Encode)
	if err := os.Mkdir(w.Dest, 0o755); err != nil {
		t.Fatal(err)
	}
	return w.Dest, Main(context.Background(), w.Args(), &bytes.Buffer{})
}

// generatedWheel writes a wheel made by pypitest into dir.
func generatedWheel(t *testing.T, dir string, w pypitest.Wheel) helper.WheelFile {
	t.Helper()
	data, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, w.Filename())
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return helper.WheelFile{Filename: w.Filename(), Archive: p, SHA256: pypitest.Sum(data)}
}

// Five wheels in one exec, two of which install the same file, give the
// layer that one exec per wheel, merged in order, gives: the same entries,
// bytes, modes and times, the later wheel's file winning.
func TestWheelsGroupIsMergedLayers(t *testing.T) {
	var files []helper.WheelFile
	for _, f := range realWheels {
		files = append(files, wheelFile(t, f))
	}
	dir := t.TempDir()
	for _, n := range []string{"first", "second"} {
		files = append(files, generatedWheel(t, dir, pypitest.Wheel{Meta: pypitest.Meta{Name: "clobber-" + n, Version: "1.0"},
			Files: []pypitest.FileSpec{{Path: "shared/data.txt", Content: n + "\n"}, {Path: "clobber_" + n + ".py", Content: ""}}}))
	}
	files[0].Requested = true
	files[2].DirectURL = &wheel.DirectURL{URL: "https://user:secret@files.example/wheel-0.38.4-py3-none-any.whl", Archive: &wheel.ArchiveInfo{}}
	group, err := runWheels(t, wheelInput(files...))
	if err != nil {
		t.Fatal(err)
	}
	merged := t.TempDir()
	for _, f := range files {
		one, err := runWheels(t, wheelInput(f))
		if err != nil {
			t.Fatal(err)
		}
		if err := mergedir.Apply(merged, one); err != nil {
			t.Fatal(err)
		}
	}
	got, want := tree(t, group), tree(t, merged)
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: group %q, merged layers %q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: only in the group", k)
			}
		}
	}
	site := filepath.Join(group, prefix, "lib/python3.12/site-packages")
	if b, err := os.ReadFile(filepath.Join(site, "shared/data.txt")); err != nil || string(b) != "second\n" {
		t.Errorf("the clobbered file holds %q, %v: want the later wheel's", b, err)
	}
	for _, c := range []struct{ path, want string }{
		{"pip-23.0.1.dist-info/INSTALLER", "envkit\n"},
		{"pip-23.0.1.dist-info/REQUESTED", ""},
		{"wheel-0.38.4.dist-info/direct_url.json", `"url":"https://files.example/wheel-0.38.4-py3-none-any.whl"`},
		{"wheel-0.38.4.dist-info/direct_url.json", files[2].SHA256},
	} {
		b, err := os.ReadFile(filepath.Join(site, c.path))
		if err != nil || !strings.Contains(string(b), c.want) {
			t.Errorf("%s = %q, %v; want %q in it", c.path, b, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(site, "setuptools-66.1.1.dist-info/REQUESTED")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("REQUESTED for a package not requested: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(group, prefix, "bin/wheel")); err != nil || !strings.HasPrefix(string(b), "#!"+prefix+"/bin/python3.12\n") {
		t.Errorf("bin/wheel: %q, %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(group, ".envkit-wheel-*")); len(left) != 0 {
		t.Errorf("staging directories left behind: %v", left)
	}
	checkTimes(t, filepath.Join(group, "azureml-envs"))
}

// tree lists a layer: each entry's type, mode, time and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		v := fi.Mode().String() + " " + fi.ModTime().UTC().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			v += " " + hex.EncodeToString(s[:])
		}
		out[filepath.ToSlash(rel)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A wheel whose bytes are not the expected ones is refused before it is
// read, naming it and both digests; a later wheel of the exec is not
// installed either.
func TestWheelsChecksum(t *testing.T) {
	good, bad := wheelFile(t, realWheels[2]), wheelFile(t, realWheels[0])
	want := bad.SHA256
	bad.SHA256 = strings.Repeat("ab", 32)
	out, err := runWheels(t, wheelInput(good, bad))
	if err == nil || !errors.Is(err, wheel.ErrChecksum) {
		t.Fatalf("checksum mismatch: %v", err)
	}
	for _, s := range []string{realWheels[0], want, bad.SHA256} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%v: does not say %s", err, s)
		}
	}
	if _, err := os.Stat(filepath.Join(out, prefix, "lib/python3.12/site-packages/pip")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the bad wheel was installed: %v", err)
	}
}

// A payload the caller could not have written is refused by name.
func TestReadWheelInputErrors(t *testing.T) {
	f := wheelFile(t, realWheels[2])
	for _, c := range []struct {
		edit func(*helper.WheelInput)
		want string
	}{
		{func(in *helper.WheelInput) { in.Wheels = nil }, "no wheel"},
		{func(in *helper.WheelInput) { in.Python.Version = "3" }, `python version "3"`},
		{func(in *helper.WheelInput) { in.Python.SitePackages = "../site-packages" }, "site-packages"},
		{func(in *helper.WheelInput) { in.Prefix = "rel" }, "not an absolute path"},
		{func(in *helper.WheelInput) { in.Wheels[0].Filename = "../x-1-py3-none-any.whl" }, "not a plain file name"},
		{func(in *helper.WheelInput) { in.Wheels[0].Filename = "x-1.tar.gz" }, "x-1.tar.gz"},
		{func(in *helper.WheelInput) { in.Wheels[0].SHA256 = "abc" }, "not a hex sha256"},
	} {
		in := wheelInput(f)
		c.edit(in)
		if _, err := in.Encode(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("encode: %v, want %q", err, c.want)
		}
		// The helper checks as much when the payload comes from elsewhere.
		file := filepath.Join(t.TempDir(), helper.WheelInputFile)
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := helper.ReadWheelInput(file); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("read: %v, want %q", err, c.want)
		}
	}
}

// A batch: one exec installs wheels into the layers their Dest name, each
// layer what an exec of its own gives it.
func TestWheelsBatch(t *testing.T) {
	a, b, c := wheelFile(t, realWheels[0]), wheelFile(t, realWheels[1]), wheelFile(t, realWheels[2])
	root := t.TempDir()
	a.Dest, b.Dest, c.Dest = filepath.Join(root, "0"), filepath.Join(root, "1"), filepath.Join(root, "1")
	for _, d := range []string{a.Dest, b.Dest} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := runWheels(t, wheelInput(a, b, c)); err != nil {
		t.Fatal(err)
	}
	a.Dest, b.Dest, c.Dest = "", "", ""
	one, err := runWheels(t, wheelInput(a))
	if err != nil {
		t.Fatal(err)
	}
	two, err := runWheels(t, wheelInput(b, c))
	if err != nil {
		t.Fatal(err)
	}
	for layer, want := range map[string]string{"0": one, "1": two} {
		if got := tree(t, filepath.Join(root, layer)); !reflect.DeepEqual(got, tree(t, want)) {
			t.Errorf("layer %s of the batch differs from its own exec's (%d and %d entries)", layer, len(got), len(tree(t, want)))
		}
	}
}

// A wheel a pip line names by its path has direct_url.json as pip writes
// it: the file the exec read as a file:// URL, with the hash the caller
// gave; a URL the caller gives is kept.
func TestWheelsDirectURLOfLocalWheel(t *testing.T) {
	local, remote := wheelFile(t, realWheels[2]), wheelFile(t, realWheels[1])
	hash := &wheel.ArchiveInfo{Hash: "sha256=" + local.SHA256, Hashes: map[string]string{"sha256": local.SHA256}}
	local.DirectURL = &wheel.DirectURL{Archive: hash}
	remote.DirectURL = &wheel.DirectURL{URL: "https://files.example/" + remote.Filename, Archive: &wheel.ArchiveInfo{}}
	out, err := runWheels(t, wheelInput(local, remote))
	if err != nil {
		t.Fatal(err)
	}
	read := func(distInfo string) map[string]any {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(out, prefix, "lib/python3.12/site-packages", distInfo, "direct_url.json"))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[string]any{"url": "file://" + local.Archive, "archive_info": map[string]any{
		"hash": "sha256=" + local.SHA256, "hashes": map[string]any{"sha256": local.SHA256}}}
	if got := read("wheel-0.38.4.dist-info"); !reflect.DeepEqual(got, want) {
		t.Errorf("direct_url.json of a local wheel = %v, want %v", got, want)
	}
	if got := read("setuptools-66.1.1.dist-info"); got["url"] != "https://files.example/"+remote.Filename {
		t.Errorf("direct_url.json of a URL's wheel = %v", got)
	}
	if local.DirectURL.URL != "" {
		t.Errorf("the caller's DirectURL was changed: %+v", local.DirectURL)
	}
}
