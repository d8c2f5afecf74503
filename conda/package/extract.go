package condapkg

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// ExtractFile extracts the artifact at name into destDir; see Extract.
func ExtractFile(ctx context.Context, name, destDir string, opts ...Option) (*Metadata, error) {
	f, size, err := open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Extract(ctx, f, size, name, destDir, opts...)
}

// Extract streams an artifact of size bytes into destDir, which must not
// exist or be an empty directory, and returns the package's metadata.
// destDir receives the package directory of CEP 34: info/ beside the
// payload, as conda's package cache holds it. filename names the artifact
// in errors (see Read).
//
// Regular files keep their permission bits (without setuid, setgid and
// sticky) and modification time; directories are created 0755. Every
// member is checked as the package documentation describes, and at the end
// the payload is checked against info/paths.json. On any error, what
// Extract wrote is removed again.
func Extract(ctx context.Context, r io.ReaderAt, size int64, filename, destDir string, opts ...Option) (_ *Metadata, err error) {
	c := newConfig(opts)
	x, cleanup, err := newExtraction(destDir)
	if err != nil {
		return nil, &Error{Archive: filename, Err: err}
	}
	defer func() {
		x.root.Close()
		if err != nil {
			cleanup()
		}
	}()
	u := &unpacker{archive: filename, limits: c.limits, x: x}
	if err := u.run(ctx, r, size, c); err != nil {
		return nil, err
	}
	return u.meta, nil
}

// entryKind is what a member became on disk.
type entryKind uint8

const (
	kindFile entryKind = iota + 1
	kindSymlink
	kindDir
)

// entry records one extracted member, to check it against paths.json.
type entry struct {
	kind   entryKind
	size   int64
	sum    [sha256.Size]byte
	target string // of a symlink
}

// extraction is the state of one Extract: the destination root, what has
// been written, and reusable buffers.
type extraction struct {
	root    *os.Root
	entries map[string]*entry
	dirs    map[string]struct{} // directories known to exist
	last    string              // last member written, for stream errors
	buf     []byte
	hash    hash.Hash
}

// newExtraction opens destDir (creating it if needed) and returns a
// cleanup that removes what the extraction wrote.
func newExtraction(destDir string) (*extraction, func(), error) {
	created := false
	switch err := os.Mkdir(destDir, 0o755); {
	case err == nil:
		created = true
	case errors.Is(err, fs.ErrExist):
		ents, err := os.ReadDir(destDir)
		if err != nil {
			return nil, nil, err
		}
		if len(ents) > 0 {
			return nil, nil, fmt.Errorf("destination %s is not empty", destDir)
		}
	default:
		return nil, nil, err
	}
	root, err := os.OpenRoot(destDir)
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		if created {
			os.RemoveAll(destDir)
			return
		}
		ents, _ := os.ReadDir(destDir)
		for _, e := range ents {
			os.RemoveAll(destDir + string(os.PathSeparator) + e.Name())
		}
	}
	return &extraction{
		root:    root,
		entries: map[string]*entry{},
		dirs:    map[string]struct{}{},
		buf:     make([]byte, 256<<10),
		hash:    sha256.New(),
	}, cleanup, nil
}

// write extracts one member; data is its content when the caller already
// read it (metadata files).
func (x *extraction) write(h *tar.Header, name string, r io.Reader, data []byte) error {
	// Nothing is written through a symlink of the archive, even one that
	// stays inside the package: the payload would not be what paths.json
	// describes.
	for i := strings.IndexByte(name, '/'); i >= 0; i = nextSlash(name, i) {
		if e := x.entries[name[:i]]; e != nil && e.kind != kindDir {
			return fmt.Errorf("%w: parent %s is not a directory in the archive", ErrUnsafePath, name[:i])
		}
	}
	if prev := x.entries[name]; prev != nil {
		if prev.kind == kindDir && h.Typeflag == tar.TypeDir {
			return nil
		}
		return fmt.Errorf("%w: member appears twice", ErrFormat)
	}
	if h.Typeflag != tar.TypeDir {
		if err := x.mkdirAll(path.Dir(name)); err != nil {
			return err
		}
	}
	x.last = name
	e := &entry{}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := x.mkdirAll(name); err != nil {
			return err
		}
		e.kind = kindDir
	case tar.TypeReg:
		if err := x.writeFile(h, name, r, data, e); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := checkLinkTarget(name, h.Linkname); err != nil {
			return err
		}
		if err := x.root.Symlink(h.Linkname, name); err != nil {
			return err
		}
		e.kind, e.target = kindSymlink, h.Linkname
	case tar.TypeLink:
		target := strings.TrimPrefix(h.Linkname, "./")
		if err := CheckPath(target); err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}
		t := x.entries[target]
		if t == nil || t.kind != kindFile {
			return fmt.Errorf("%w: hard link to %q, which is not a file extracted before it", ErrUnsafePath, target)
		}
		if err := x.root.Link(target, name); err != nil {
			return err
		}
		*e = *t
	default:
		return fmt.Errorf("%w: member type %s", ErrUnsupported, typeName(h.Typeflag))
	}
	x.entries[name] = e
	return nil
}

func nextSlash(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// mkdirAll creates dir and its parents under the root, once.
func (x *extraction) mkdirAll(dir string) error {
	if dir == "." {
		return nil
	}
	if _, ok := x.dirs[dir]; ok {
		return nil
	}
	if err := x.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := dir; d != "."; d = path.Dir(d) {
		if _, ok := x.dirs[d]; ok {
			break
		}
		x.dirs[d] = struct{}{}
	}
	return nil
}

// writeFile creates a regular file, hashing its content on the way.
func (x *extraction) writeFile(h *tar.Header, name string, r io.Reader, data []byte, e *entry) error {
	perm := fs.FileMode(h.Mode) & fs.ModePerm
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	x.hash.Reset()
	var n int64
	if data != nil {
		x.hash.Write(data)
		_, err = f.Write(data)
		n = int64(len(data))
	} else {
		n, err = x.copy(f, r)
	}
	if err == nil {
		err = f.Chmod(perm) // the umask does not apply to extracted files
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !h.ModTime.IsZero() {
		if err := x.root.Chtimes(name, h.ModTime, h.ModTime); err != nil {
			return err
		}
	}
	e.kind, e.size = kindFile, n
	x.hash.Sum(e.sum[:0])
	return nil
}

// copy copies r to w through the hash.
func (x *extraction) copy(w io.Writer, r io.Reader) (int64, error) {
	var n int64
	for {
		m, err := r.Read(x.buf)
		if m > 0 {
			x.hash.Write(x.buf[:m])
			if _, werr := w.Write(x.buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, tarError(err)
		}
	}
}

// checkLinkTarget accepts a symlink target that is relative and, resolved
// from the link's directory, stays inside the package. conda-build refuses
// to package links leaving the prefix; a relocatable package has none.
func checkLinkTarget(name, target string) error {
	switch {
	case target == "":
		return fmt.Errorf("%w: symlink with an empty target", ErrFormat)
	case strings.HasPrefix(target, "/"):
		return fmt.Errorf("%w: symlink to absolute path %q", ErrUnsafePath, target)
	case strings.ContainsRune(target, 0):
		return fmt.Errorf("%w: symlink target contains NUL", ErrUnsafePath)
	}
	if p := path.Join(path.Dir(name), target); p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%w: symlink to %q points outside the package", ErrUnsafePath, target)
	}
	return nil
}

// checkSymlinks returns the first symlink (in path order) that resolves
// outside the package, with the reason.
func (x *extraction) checkSymlinks() (string, error) {
	var links []string
	for name, e := range x.entries {
		if e.kind == kindSymlink {
			links = append(links, name)
		}
	}
	sort.Strings(links)
	for _, name := range links {
		if x.resolvesOutside(name) {
			return name, fmt.Errorf("%w: symlink to %q resolves outside the package through other symlinks", ErrUnsafePath, x.entries[name].target)
		}
	}
	return "", nil
}

// resolvesOutside follows the symlink name through the archive's other
// symlinks, as the kernel would, and reports whether it leaves the package:
// each target passed checkLinkTarget alone, but "a/up -> .." with
// "a/b/l -> ../up/.." still climbs above the root. A cycle is not an escape.
func (x *extraction) resolvesOutside(name string) bool {
	cur := strings.Split(path.Dir(name), "/")
	if cur[0] == "." {
		cur = cur[:0]
	}
	rest := strings.Split(x.entries[name].target, "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return true
			}
			cur = cur[:len(cur)-1]
			continue
		}
		e := x.entries[strings.Join(append(cur, c), "/")]
		if e == nil || e.kind != kindSymlink {
			cur = append(cur, c)
			continue
		}
		if hops++; hops > 255 {
			return false
		}
		rest = append(strings.Split(e.target, "/"), rest...)
	}
	return false
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	case tar.TypeGNUSparse:
		return "sparse file"
	case tar.TypeCont:
		return "contiguous file"
	}
	return fmt.Sprintf("%q", t)
}

func (x *extraction) isSymlink(p string) bool {
	e := x.entries[p]
	return e != nil && e.kind == kindSymlink
}

// check compares the extracted payload with paths.json: every entry must
// be there with its type, and a file with its size and sha256 when given;
// every payload file and symlink must be listed.
func (x *extraction) check(paths []PathEntry) error {
	listed := make(map[string]struct{}, len(paths))
	for i := range paths {
		p := &paths[i]
		listed[p.Path] = struct{}{}
		e := x.entries[p.Path]
		if e == nil {
			if p.PathType == PathDirectory {
				if _, ok := x.dirs[p.Path]; ok {
					continue // created for the members below it
				}
			}
			return fmt.Errorf("%w: %s %q is not in the payload", ErrMismatch, p.PathType, p.Path)
		}
		want := map[PathType]entryKind{PathHardlink: kindFile, PathSoftlink: kindSymlink, PathDirectory: kindDir}[p.PathType]
		if e.kind != want {
			return fmt.Errorf("%w: %q is a %s, the payload has a %s", ErrMismatch, p.Path, p.PathType, kindName(e.kind))
		}
		if e.kind != kindFile {
			continue // a softlink's sha256 and size are its target's
		}
		if p.SizeInBytes != nil && *p.SizeInBytes != e.size {
			return fmt.Errorf("%w: %q: size_in_bytes %d, the payload file has %d bytes", ErrMismatch, p.Path, *p.SizeInBytes, e.size)
		}
		if p.SHA256 != "" {
			if got := hex.EncodeToString(e.sum[:]); got != p.SHA256 {
				return fmt.Errorf("%w: %q: sha256 %s, the payload file has %s", ErrMismatch, p.Path, p.SHA256, got)
			}
		}
	}
	var unlisted []string
	for name, e := range x.entries {
		if e.kind == kindDir || name == "info" || strings.HasPrefix(name, "info/") {
			continue
		}
		if _, ok := listed[name]; !ok {
			unlisted = append(unlisted, name)
		}
	}
	if len(unlisted) > 0 {
		sort.Strings(unlisted)
		more := ""
		if len(unlisted) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(unlisted)-1)
		}
		return fmt.Errorf("%w: payload %s %q is not listed%s", ErrMismatch, kindName(x.entries[unlisted[0]].kind), unlisted[0], more)
	}
	return nil
}

func kindName(k entryKind) string {
	switch k {
	case kindFile:
		return "file"
	case kindSymlink:
		return "symlink"
	}
	return "directory"
}
