package link

// A minimal package extractor for the tests (.tar.bz2 and .conda), until
// conda/package provides the real one.

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
	"github.com/klauspost/compress/zstd"
)

// extract extracts the package archive at elem (under the shared testdata)
// into a new temporary directory and returns it.
func extract(t testing.TB, elem ...string) string {
	t.Helper()
	return extractFile(t, testdata.Path(t, elem...))
}

func extractFile(t testing.TB, archive string) string {
	t.Helper()
	dir := t.TempDir()
	switch {
	case strings.HasSuffix(archive, ".tar.bz2"):
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		untar(t, bzip2.NewReader(f), dir)
	case strings.HasSuffix(archive, ".conda"):
		z, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		for _, zf := range z.File {
			if !strings.HasSuffix(zf.Name, ".tar.zst") {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zstd.NewReader(rc)
			if err != nil {
				t.Fatal(err)
			}
			untar(t, zr, dir)
			zr.Close()
			rc.Close()
		}
	default:
		t.Fatalf("%s: not a conda package", archive)
	}
	return dir
}

func untar(t testing.TB, r io.Reader, dir string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, p)
		case tar.TypeLink:
			err = os.Link(filepath.Join(dir, filepath.FromSlash(h.Linkname)), p)
		case tar.TypeReg:
			var f *os.File
			f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err == nil {
				_, err = io.Copy(f, tr)
				if err == nil {
					err = f.Chmod(os.FileMode(h.Mode).Perm())
				}
				f.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
