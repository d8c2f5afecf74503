package condapkg

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// member describes one tar member of a test archive.
type member struct {
	name string
	typ  byte // tar.TypeReg when 0
	body string
	link string // symlink or hard link target
	mode int64
}

func file(name, body string) member { return member{name: name, body: body} }
func symlink(name, target string) member {
	return member{name: name, typ: tar.TypeSymlink, link: target}
}
func dir(name string) member              { return member{name: name, typ: tar.TypeDir} }
func hardlink(name, target string) member { return member{name: name, typ: tar.TypeLink, link: target} }
func sha(s string) string                 { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func indexJSON(name, ver, build string) member {
	return file("info/index.json", fmt.Sprintf(`{"name":%q,"version":%q,"build":%q,"build_number":0,"depends":[],"subdir":"noarch"}`, name, ver, build))
}

// pathsJSON lists the given files (sha256 and size from their bodies) and
// symlinks, as conda-build writes paths.json.
func pathsJSON(ms ...member) member {
	var entries []string
	for _, m := range ms {
		switch m.typ {
		case 0, tar.TypeReg:
			entries = append(entries, fmt.Sprintf(`{"_path":%q,"path_type":"hardlink","sha256":%q,"size_in_bytes":%d}`, m.name, sha(m.body), len(m.body)))
		case tar.TypeSymlink:
			entries = append(entries, fmt.Sprintf(`{"_path":%q,"path_type":"softlink"}`, m.name))
		case tar.TypeDir:
			entries = append(entries, fmt.Sprintf(`{"_path":%q,"path_type":"directory"}`, m.name))
		}
	}
	return file("info/paths.json", `{"paths":[`+strings.Join(entries, ",")+`],"paths_version":1}`)
}

// tarBytes writes members as an uncompressed tar.
func tarBytes(t testing.TB, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: m.mode, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, m.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// condaParts are the zip members of a test .conda, in order.
type condaPart struct {
	name string
	data []byte
}

// zipBytes writes a stored zip, as .conda requires.
func zipBytes(t testing.TB, parts []condaPart) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// condaBytes builds a .conda from info and pkg tarball members.
func condaBytes(t testing.TB, stem string, info, pkg []member) []byte {
	t.Helper()
	return condaFromTars(t, stem, tarBytes(t, info), tarBytes(t, pkg))
}

func condaFromTars(t testing.TB, stem string, info, pkg []byte) []byte {
	return zipBytes(t, []condaPart{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"info-" + stem + ".tar.zst", zstdBytes(t, info)},
		{"pkg-" + stem + ".tar.zst", zstdBytes(t, pkg)},
	})
}

// bzip2Bytes compresses with the bzip2 command (the standard library only
// decompresses); tests of .tar.bz2-specific paths skip without it.
func bzip2Bytes(t testing.TB, b []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		t.Skip("bzip2 command not available")
	}
	cmd := exec.Command("bzip2", "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// transmute rewrites a .tar.bz2 as a .conda with the same members, the way
// conda-package-handling does: info/ into the info tarball, the rest into
// the pkg tarball, headers kept.
func transmute(t testing.TB, tarBz2 string) []byte {
	t.Helper()
	f, err := os.Open(tarBz2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(bzip2.NewReader(f))
	var info, pkg bytes.Buffer
	iw, pw := tar.NewWriter(&info), tar.NewWriter(&pkg)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w := pw
		if strings.HasPrefix(h.Name, "info/") {
			w = iw
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
	}
	iw.Close()
	pw.Close()
	stem := strings.TrimSuffix(filepath.Base(tarBz2), ".tar.bz2")
	return condaFromTars(t, stem, info.Bytes(), pkg.Bytes())
}

// tree describes an extracted directory: "file <perm> <sha256>",
// "symlink -> <target>" or "dir" per slash path.
func tree(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink -> " + target
		case fi.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %v %s", fi.Mode().Perm(), sha(string(b)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
