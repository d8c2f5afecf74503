package link

import (
	"archive/tar"
	"compress/bzip2"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/internal/testdata"
)

// extract extracts the package archive at elem (under the shared testdata)
// with conda/package into a new temporary directory and returns it.
func extract(t testing.TB, elem ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pkg")
	if _, err := condapkg.ExtractFile(context.Background(), testdata.Path(t, elem...), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// extractRaw unpacks a .tar.bz2 fixture as it is, without conda/package's
// checks. Only for conda's zlib fixtures (conda-format-repo): they are the
// only real packages with a prefix placeholder (lib/pkgconfig/zlib.pc) and
// the largest fixtures, but their paths.json lists the lib/libz.so*
// softlinks that the tarball holds as empty files, which condapkg.Extract
// rightly refuses; conda links what is there.
func extractRaw(t testing.TB, elem ...string) string {
	t.Helper()
	f, err := os.Open(testdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	untar(t, bzip2.NewReader(f), dir)
	return dir
}

func untar(t testing.TB, r io.Reader, dir string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
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
