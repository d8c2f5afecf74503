// Package condatest makes real conda channels for tests: .conda packages
// (CEP 35) with info/index.json and info/paths.json (CEP 34), and a
// repodata.json per subdir (CEP 36) with their md5, sha256 and size.
package condatest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"cmp"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/klauspost/compress/zstd"
)

// Placeholder is conda-build's prefix placeholder.
const Placeholder = "/opt/anaconda1anaconda2anaconda3"

// File is one payload file of a package.
type File struct {
	Path    string
	Content string
	Mode    int64 // 0 means 0644
	// Prefix marks a file holding Placeholder, to be replaced by the
	// environment's prefix when the package is linked: in text, or with
	// Binary in NUL-terminated strings, NUL-padded (conda's binary mode).
	Prefix, Binary bool
	// Placeholder, with Prefix, is the prefix the file holds when it is not
	// the package-wide Placeholder: conda-build records a binary file's
	// own build prefix, which cannot be rewritten to a longer string.
	Placeholder string
	// Symlink makes the file a symbolic link to this target (relative to
	// the link's directory; Content and Mode are ignored): a softlink entry
	// with the sha256 and size of its target when the target is a file of
	// the package, as conda-build lists it.
	Symlink string
	// Random, when > 0, makes the file Random bytes of pseudo-random data
	// (Content is ignored), derived from the package's stem and the path:
	// incompressible, generated while the archive is written (never held in
	// memory), the same bytes on every run.
	Random int64
	// Compressible makes a Random file's data compress about as a shared
	// library does (gzip about 2.5×, zstd 2.8×: compressibleReader)
	// rather than not at all.
	Compressible bool
}

// Package is one package to build.
type Package struct {
	Name, Version, Build string
	BuildNumber          int
	Depends              []string
	Constrains           []string
	Subdir               string // default linux-64
	Noarch               string // "" or "python" / "generic"
	Files                []File
	// Archive is an existing package file (.conda or .tar.bz2) to serve
	// instead of building one; its info/index.json gives the record.
	Archive string
}

// Stem is name-version-build.
func (p Package) Stem() string { return p.Name + "-" + p.Version + "-" + p.Build }

func (p Package) subdir() string {
	if p.Subdir == "" {
		return "linux-64"
	}
	return p.Subdir
}

// WriteChannel writes pkgs as .conda files into dir/<subdir>/ with a
// repodata.json for each subdir (noarch always exists). Packages are
// written concurrently, each streamed to its file; the result depends on
// pkgs alone.
func WriteChannel(dir string, pkgs ...Package) error {
	type written struct {
		fn, sub, key string
		rec          map[string]any
	}
	out := make([]written, len(pkgs))
	errs := make([]error, len(pkgs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(pkgs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn, rec, key, err := pkgs[i].write(dir)
				sub, _ := rec["subdir"].(string)
				out[i], errs[i] = written{fn, sub, key, rec}, err
			}
		}()
	}
	for i := range pkgs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// subdir -> "packages" | "packages.conda" -> file name -> record
	repos := map[string]map[string]any{"noarch": {}}
	for _, w := range out {
		if repos[w.sub] == nil {
			repos[w.sub] = map[string]any{"packages": map[string]any{}, "packages.conda": map[string]any{}}
		}
		if repos[w.sub][w.key] == nil {
			repos[w.sub][w.key] = map[string]any{}
		}
		repos[w.sub][w.key].(map[string]any)[w.fn] = w.rec
	}
	for sub, keys := range repos {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		doc := map[string]any{"info": map[string]any{"subdir": sub}, "packages": map[string]any{}, "packages.conda": map[string]any{}}
		for k, v := range keys {
			doc[k] = v
		}
		rd, err := json.MarshalIndent(doc, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "repodata.json"), rd, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// write writes p's package file into dir/<subdir>/ and returns its name,
// its repodata record (with md5, sha256 and size) and the repodata key it
// belongs under.
func (p Package) write(dir string) (fn string, rec map[string]any, key string, err error) {
	if p.Archive != "" {
		var data []byte
		if data, fn, rec, key, err = p.archive(); err != nil {
			return "", nil, "", err
		}
		sub, _ := rec["subdir"].(string)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", nil, "", err
		}
		if err := os.WriteFile(filepath.Join(dir, sub, fn), data, 0o644); err != nil {
			return "", nil, "", err
		}
		m5, s256 := md5.Sum(data), sha256.Sum256(data)
		rec["md5"], rec["sha256"], rec["size"] = hex.EncodeToString(m5[:]), hex.EncodeToString(s256[:]), len(data)
		return fn, rec, key, nil
	}
	fn, rec, key = p.Stem()+".conda", p.index(), "packages.conda"
	if err := os.MkdirAll(filepath.Join(dir, p.subdir()), 0o755); err != nil {
		return "", nil, "", err
	}
	path := filepath.Join(dir, p.subdir(), fn)
	if sums, ok := p.cached(dir, path); ok {
		maps.Copy(rec, sums)
		return fn, rec, key, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", nil, "", err
	}
	m5, s256 := md5.New(), sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, m5, s256)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	err = p.writeConda(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, "", fmt.Errorf("%s: %w", fn, err)
	}
	rec["md5"], rec["sha256"], rec["size"] = hex.EncodeToString(m5.Sum(nil)), hex.EncodeToString(s256.Sum(nil)), cw.n
	if err := p.cache(dir, path, rec); err != nil {
		return "", nil, "", err
	}
	return fn, rec, key, nil
}

// cacheDir, inside a channel directory, remembers which package built each
// file: writing the same Package into the same channel again (a benchmark
// that changes one package of a thousand) keeps the file instead of
// building it again. An entry holds a hash of the Package, the file's
// size and modification time (a file changed since, e.g. corrupted by a
// test, is built again) and its checksums.
const cacheDir = ".condatest-cache"

type cacheEntry struct {
	Package string         `json:"package"`
	Size    int64          `json:"size"`
	ModTime int64          `json:"mtime_ns"`
	Sums    map[string]any `json:"sums"`
}

func (p Package) cacheKey() string {
	b, _ := json.Marshal(p) // plain data: cannot fail
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func cachePath(dir, path string) string {
	rel, _ := filepath.Rel(dir, path)
	return filepath.Join(dir, cacheDir, rel+".json")
}

// cached returns the checksums of path if p wrote it and it is unchanged.
func (p Package) cached(dir, path string) (map[string]any, bool) {
	data, err := os.ReadFile(cachePath(dir, path))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	fi, err := os.Stat(path)
	if err != nil || json.Unmarshal(data, &e) != nil || e.Package != p.cacheKey() ||
		e.Size != fi.Size() || e.ModTime != fi.ModTime().UnixNano() {
		return nil, false
	}
	return e.Sums, true
}

func (p Package) cache(dir, path string, rec map[string]any) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	e := cacheEntry{Package: p.cacheKey(), Size: fi.Size(), ModTime: fi.ModTime().UnixNano(),
		Sums: map[string]any{"md5": rec["md5"], "sha256": rec["sha256"], "size": rec["size"]}}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	cp := cachePath(dir, path)
	if err := os.MkdirAll(filepath.Dir(cp), 0o755); err != nil {
		return err
	}
	return os.WriteFile(cp, data, 0o644)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// archive reads p.Archive and returns it, its name, its repodata record
// (from its info/index.json) and the repodata key it belongs under.
func (p Package) archive() (data []byte, fn string, rec map[string]any, key string, err error) {
	if data, err = os.ReadFile(p.Archive); err != nil {
		return nil, "", nil, "", err
	}
	md, err := condapkg.ReadFile(p.Archive)
	if err != nil {
		return nil, "", nil, "", err
	}
	b, err := json.Marshal(md.Index)
	if err != nil {
		return nil, "", nil, "", err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "", nil, "", err
	}
	key = "packages"
	if record.ArchiveTypeOf(p.Archive) == record.ArchiveConda {
		key = "packages.conda"
	}
	return data, filepath.Base(p.Archive), rec, key, nil
}

func (p Package) index() map[string]any {
	deps := p.Depends
	if deps == nil {
		deps = []string{}
	}
	idx := map[string]any{"name": p.Name, "version": p.Version, "build": p.Build, "build_number": p.BuildNumber,
		"depends": deps, "subdir": p.subdir(), "license": "BSD-3-Clause", "timestamp": 1700000000000}
	if p.Noarch != "" {
		idx["noarch"] = p.Noarch
	}
	if len(p.Constrains) > 0 {
		idx["constrains"] = p.Constrains
	}
	return idx
}

// writeConda writes the .conda archive of p to w: a stored zip of
// metadata.json, info-<stem>.tar.zst and pkg-<stem>.tar.zst, with no
// times in it, so the same p gives the same bytes.
func (p Package) writeConda(w io.Writer) error {
	files := append([]File(nil), p.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	type entry struct {
		Path        string `json:"_path"`
		PathType    string `json:"path_type"`
		SHA256      string `json:"sha256,omitempty"`
		Size        *int64 `json:"size_in_bytes,omitempty"`
		FileMode    string `json:"file_mode,omitempty"`
		Placeholder string `json:"prefix_placeholder,omitempty"`
	}
	entries := []entry{} // a metapackage has "paths": [], not null
	byPath := make(map[string]File, len(files))
	for _, f := range files {
		byPath[f.Path] = f
	}
	for _, f := range files {
		e := entry{Path: f.Path, PathType: "hardlink"}
		if f.Symlink != "" {
			e.PathType = "softlink"
			// A chain of links within the package ends at a file or
			// outside it (then no sha256 and size, as for a directory).
			t, ok := f, true
			for hops := 0; ok && t.Symlink != "" && hops < 40; hops++ {
				t, ok = byPath[path.Join(path.Dir(t.Path), t.Symlink)]
			}
			if ok && t.Symlink == "" && t.Random == 0 {
				h := sha256.Sum256([]byte(t.Content))
				e.SHA256, e.Size = hex.EncodeToString(h[:]), ptr(int64(len(t.Content)))
			}
			entries = append(entries, e)
			continue
		}
		if f.Random > 0 {
			h := sha256.New()
			if _, err := io.Copy(h, p.random(f)); err != nil {
				return err
			}
			e.SHA256, e.Size = hex.EncodeToString(h.Sum(nil)), ptr(f.Random)
		} else {
			h := sha256.Sum256([]byte(f.Content))
			e.SHA256, e.Size = hex.EncodeToString(h[:]), ptr(int64(len(f.Content)))
		}
		if f.Prefix {
			ph := cmp.Or(f.Placeholder, Placeholder)
			if f.Random > 0 || !strings.Contains(f.Content, ph) {
				return fmt.Errorf("%s: %s is marked Prefix but holds no placeholder", p.Stem(), f.Path)
			}
			e.FileMode, e.Placeholder = "text", ph
			if f.Binary {
				e.FileMode = "binary"
			}
		}
		entries = append(entries, e)
	}
	idx, err := json.Marshal(p.index())
	if err != nil {
		return err
	}
	paths, err := json.Marshal(map[string]any{"paths": entries, "paths_version": 1})
	if err != nil {
		return err
	}
	info := []File{{Path: "info/index.json", Content: string(idx)}, {Path: "info/paths.json", Content: string(paths)}}
	zw := zip.NewWriter(w)
	for _, m := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"metadata.json", func(w io.Writer) error { _, err := io.WriteString(w, `{"conda_pkg_format_version": 2}`); return err }},
		{"info-" + p.Stem() + ".tar.zst", func(w io.Writer) error { return p.tarZst(w, info) }},
		{"pkg-" + p.Stem() + ".tar.zst", func(w io.Writer) error { return p.tarZst(w, files) }},
	} {
		mw, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			return err
		}
		if err := m.write(mw); err != nil {
			return err
		}
	}
	return zw.Close()
}

func ptr[T any](v T) *T { return &v }

// random is the content of a File with Random set.
func (p Package) random(f File) io.Reader {
	seed := sha256.Sum256([]byte(p.Subdir + "/" + p.Stem() + "/" + f.Path))
	if f.Compressible {
		return io.LimitReader(newCompressibleReader(rand.NewChaCha8(seed)), f.Random)
	}
	return io.LimitReader(rand.NewChaCha8(seed), f.Random)
}

// encoders reuses zstd encoders: making one allocates (and clears) its
// buffers, which costs more than compressing a small package.
var encoders = sync.Pool{New: func() any {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err) // only for invalid options
	}
	return zw
}}

// tarZst writes files as a zstd-compressed tar to w.
func (p Package) tarZst(w io.Writer, files []File) error {
	zw := encoders.Get().(*zstd.Encoder)
	defer encoders.Put(zw)
	zw.Reset(w)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if f.Symlink != "" {
			if err := tw.WriteHeader(&tar.Header{Name: f.Path, Mode: 0o777, Linkname: f.Symlink, Typeflag: tar.TypeSymlink}); err != nil {
				return err
			}
			continue
		}
		var body io.Reader = strings.NewReader(f.Content)
		size := int64(len(f.Content))
		if f.Random > 0 {
			body, size = p.random(f), f.Random
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Path, Mode: mode, Size: size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
