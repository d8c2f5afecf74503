package workspace

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/envkit/envkit/hash"
)

// ContextMediaType is the layer of a registered build-context environment:
// the context's files as an uncompressed tar, as Docker sends them
// (.dockerignore applied), with their modes and symlinks, which the hash covers.
const ContextMediaType = "application/vnd.envkit.environment.context.v1.tar"

// readContext reads a build context as the hash sees it: every entry not
// excluded by the ignore file, plus the Dockerfile. Paths are relative to
// the context.
func readContext(fsys fs.FS, dockerfile string) ([]File, error) {
	var out []File
	err := hash.WalkContext(fsys, dockerfile, func(p string, info fs.FileInfo) error {
		f := File{Path: p, Mode: info.Mode() & (fs.ModeType | fs.ModePerm)}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(fsys, p)
			if err != nil {
				return err
			}
			f.Data = []byte(target)
		case info.Mode().IsRegular():
			var err error
			if f.Data, err = fs.ReadFile(fsys, p); err != nil {
				return err
			}
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// contextTar packs a context's entries in a tar with fixed times and owners,
// so that the same context gives the same blob.
func contextTar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: int64(f.Mode.Perm()), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch {
		case f.Mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, f.Path+"/"
		case f.Mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, string(f.Data)
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// untarContext reads back what contextTar wrote.
func untarContext(data []byte) ([]File, error) {
	var out []File
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("build context: %w", err)
		}
		p := path.Clean(h.Name)
		if !fs.ValidPath(p) || p == "." {
			return nil, fmt.Errorf("build context: invalid path %q", h.Name)
		}
		f := File{Path: p, Mode: fs.FileMode(h.Mode).Perm()}
		switch h.Typeflag {
		case tar.TypeDir:
			f.Mode |= fs.ModeDir
		case tar.TypeSymlink:
			f.Mode |= fs.ModeSymlink
			f.Data = []byte(h.Linkname)
		case tar.TypeReg:
			if f.Data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("build context: %w", err)
			}
		default:
			return nil, fmt.Errorf("build context: %s: unsupported entry type %c", h.Name, h.Typeflag)
		}
		out = append(out, f)
	}
}
