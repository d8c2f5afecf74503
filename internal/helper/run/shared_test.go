package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/testdata"
)

// fixture returns the record of one of conda's clobber test packages, as a
// channel would give it.
func fixture(t *testing.T, file string) *record.RepoDataRecord {
	t.Helper()
	p := testdata.Path(t, "conda", "packages", "clobber", file)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	md, err := condapkg.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(md.Index)
	if err != nil {
		t.Fatal(err)
	}
	var r record.RepoDataRecord
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	r.FileName, r.SHA256 = file, hex.EncodeToString(sum[:])
	r.URL = "https://conda.example/c/noarch/" + file
	return &r
}

// entries lists the tree under root: "dir", "-> target" or "= content".
func entries(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir():
			out[filepath.ToSlash(rel)] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(p)
			out[filepath.ToSlash(rel)] = "-> " + to
			return err
		default:
			b, err := os.ReadFile(p)
			out[filepath.ToSlash(rel)] = "= " + string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// merged is what merging layers (one tree each, bottom first) shows: an
// entry of layer i is visible unless a later layer has a non-directory at
// its path or above it, or (for a non-directory) anything at its path.
func merged(layers []map[string]string) map[string]string {
	out := map[string]string{}
	for i, l := range layers {
	entry:
		for p, e := range l {
			for _, later := range layers[i+1:] {
				if le, ok := later[p]; ok && (le != "dir" || e != "dir") {
					continue entry
				}
				for d := path.Dir(p); d != "."; d = path.Dir(d) {
					if le, ok := later[d]; ok && le != "dir" {
						continue entry
					}
				}
			}
			out[p] = e
		}
	}
	return out
}

// Packages that share a layer leave in it what their own layers, merged in
// order, show: the last package's file where several write one, a file
// hiding an earlier directory and a directory an earlier file, symlinks
// replaced.
func TestLinkShared(t *testing.T) {
	files := []string{
		"clobber-1-0.1.0-h4616a5c_0.tar.bz2", "clobber-2-0.1.0-h4616a5c_0.tar.bz2", "clobber-3-0.1.0-h4616a5c_0.tar.bz2",
		"clobber-fd-1-0.1.0-h4616a5c_0.conda", "clobber-fd-2-0.1.0-h4616a5c_0.conda", "clobber-fd-3-0.1.0-h4616a5c_0.conda",
		"clobber-fd-rev-1-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-2-0.1.0-h4616a5c_0.conda", "clobber-fd-rev-3-0.1.0-h4616a5c_0.conda",
		"clobber-with-dir-0.1.0-h4616a5c_0.conda", "clobber-without-dir-0.1.0-h4616a5c_0.conda",
		"clobber-with-symlink-a-0.1.0-h4616a5c_0.conda", "clobber-with-symlink-b-0.1.0-h4616a5c_0.conda",
		"clobber-python-0.1.0-cpython.conda", "clobber-pypy-0.1.0-h4616a5c_0.conda",
	}
	root := t.TempDir()
	run := func(dest func(i int) string) {
		t.Helper()
		l := &helper.Link{Prefix: prefix, Platform: "linux-64"}
		for i, f := range files {
			r := fixture(t, f)
			p := helper.LinkPackage{Input: filepath.Join(root, "in", strconv.Itoa(i), helper.LinkInputFile),
				Archive: testdata.Path(t, "conda", "packages", "clobber", f), Dest: dest(i)}
			writeInput(t, p.Input, (&helper.LinkInput{Record: r}).Encode)
			l.Packages = append(l.Packages, p)
		}
		if err := Main(context.Background(), l.Args(), &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	run(func(i int) string { return filepath.Join(root, "alone", strconv.Itoa(i)) })
	run(func(int) string { return filepath.Join(root, "shared") })
	var layers []map[string]string
	for i := range files {
		layers = append(layers, entries(t, filepath.Join(root, "alone", strconv.Itoa(i))))
	}
	want := merged(layers)
	got := entries(t, filepath.Join(root, "shared"))
	if !reflect.DeepEqual(got, want) {
		for p := range want {
			if got[p] != want[p] {
				t.Errorf("%s: %q, merged layers give %q", p, got[p], want[p])
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("%s: %q, not in the merged layers", p, got[p])
			}
		}
	}
	// The clobbers conda/link predicts are there, and their winners won.
	var recs []*link.PrefixRecord
	for _, f := range files {
		r, err := link.ReadPrefixRecord(filepath.Join(root, "shared", prefix, "conda-meta", strings.TrimSuffix(strings.TrimSuffix(f, ".conda"), ".tar.bz2")+".json"))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	clobbers := link.Clobbers(recs)
	if len(clobbers) < 5 {
		t.Fatalf("only %d clobbers: %+v", len(clobbers), clobbers)
	}
	for _, c := range clobbers {
		i := slicesIndex(files, c.Winner)
		p := strings.TrimPrefix(prefix, "/") + "/" + c.Path
		if w := layers[i][p]; got[p] != w {
			t.Errorf("%s: %q, its winner %s has %q", c.Path, got[p], c.Winner, w)
		}
	}
	checkTimes(t, filepath.Join(root, "shared", "azureml-envs"))
	if left, _ := filepath.Glob(filepath.Join(root, "shared", ".envkit-link-*")); len(left) != 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

func slicesIndex(files []string, dist string) int {
	for i, f := range files {
		if strings.HasPrefix(f, dist+".") {
			return i
		}
	}
	return -1
}
