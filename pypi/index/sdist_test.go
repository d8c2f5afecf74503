package index

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"
)

// makeSdist builds a .tar.gz (or .zip) sdist holding top/PKG-INFO.
func makeSdist(t testing.TB, top, pkgInfo string, asZip bool) []byte {
	var buf bytes.Buffer
	files := []struct{ name, body string }{
		{top + "/setup.py", "from setuptools import setup\nsetup()\n"},
		{top + "/src/PKG-INFO", "Metadata-Version: 2.2\nName: decoy\nVersion: 9\n"},
		{top + "/PKG-INFO", pkgInfo},
	}
	if asZip {
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			w, _ := zw.Create(f.name)
			w.Write([]byte(f.body))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
		tw.Write([]byte(f.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

// TestSdistMetadata reads an sdist's PKG-INFO when it gives the
// dependencies for sure (metadata >= 2.2, not Dynamic), and refuses it
// with ErrNoMetadata otherwise.
func TestSdistMetadata(t *testing.T) {
	static := "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: six\nDynamic: License\n"
	static4 := "Metadata-Version: 2.4\nName: Demo\nVersion: 1.4\nRequires-Dist: attrs>=22\n"
	srv := newIndexServer(t, map[string][]testFile{"demo": {
		{name: "demo-1.0.tar.gz", body: makeSdist(t, "demo-1.0", static, false)},
		{name: "demo-1.1.tar.gz", body: makeSdist(t, "demo-1.1", "Metadata-Version: 2.1\nName: demo\nVersion: 1.1\nRequires-Dist: six\n", false)},
		{name: "demo-1.2.tar.gz", body: makeSdist(t, "demo-1.2", "Metadata-Version: 2.2\nName: demo\nVersion: 1.2\nDynamic: Requires-Dist\n", false)},
		{name: "demo-1.3.tar.gz", body: makeSdist(t, "demo-1.3", "Metadata-Version: 2.2\nName: other\nVersion: 1.3\n", false)},
		{name: "demo-1.4.zip", body: makeSdist(t, "demo-1.4", static4, true)},
		{name: "demo-1.5.tar.gz", body: makeSdist(t, "demo-1.5", "", false)[:0]},
	}})
	ctx := context.Background()
	c := newClient(srv.URL + "/simple/")
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	files := p.Files()
	m, err := c.Metadata(ctx, files[0])
	if err != nil || m.Version.String() != "1.0" || m.RequiresDist[0].Name != "six" {
		t.Fatalf("static PKG-INFO: %v %v", m, err)
	}
	for i, want := range map[int]string{
		1: "its PKG-INFO (metadata 2.1) does not give its dependencies for sure (before metadata 2.2 every field may change in a build)",
		2: "its PKG-INFO (metadata 2.2) does not give its dependencies for sure (it marks its dependencies Dynamic)",
	} {
		_, err := c.Metadata(ctx, files[i])
		if !errors.Is(err, ErrNoMetadata) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", files[i].Filename, err)
		}
	}
	if _, err := c.Metadata(ctx, files[3]); err == nil || !strings.Contains(err.Error(), "metadata names other 1.3, not the file's") {
		t.Errorf("other project: %v", err)
	}
	if m, err := c.Metadata(ctx, files[4]); err != nil || m.Version.String() != "1.4" || m.RequiresDist[0].String() != "attrs>=22" {
		t.Errorf("zip sdist: %v", err)
	}
	if _, err := c.Metadata(ctx, files[5]); err == nil {
		t.Errorf("empty sdist read")
	}
}

// TestSdistBomb: a tar.gz whose stream before PKG-INFO decompresses past
// the budget ends with a LimitError.
func TestSdistBomb(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	big := make([]byte, 1<<20)
	tw.WriteHeader(&tar.Header{Name: "demo-1.0/zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(big))})
	tw.Write(big)
	pi := "Metadata-Version: 2.2\nName: demo\nVersion: 1.0\n"
	tw.WriteHeader(&tar.Header{Name: "demo-1.0/PKG-INFO", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(pi))})
	tw.Write([]byte(pi))
	tw.Close()
	gz.Close()
	srv := newIndexServer(t, map[string][]testFile{"demo": {{name: "demo-1.0.tar.gz", body: buf.Bytes()}}})
	ctx := context.Background()
	c := newClient(srv.URL + "/simple/")
	c.MaxMetadataSize = 4096 // a budget of 256 KiB decompressed
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var le *LimitError
	if _, err := c.Metadata(ctx, p.Files()[0]); !errors.As(err, &le) || le.What != "decompressed sdist" {
		t.Errorf("got %v", err)
	}
	c = newClient(srv.URL + "/simple/")
	if m, err := c.Metadata(ctx, p.Files()[0]); err != nil || m.Name != "demo" {
		t.Errorf("within the budget: %v", err)
	}
}
