package index

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/internal/httpget"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// hashes in order of preference: the strongest given is the one checked.
var hashPreference = []struct {
	name string
	new  func() hash.Hash
}{
	{"sha512", sha512.New}, {"sha384", sha512.New384}, {"sha256", sha256.New},
	{"sha224", sha256.New224}, {"sha1", sha1.New}, {"md5", md5.New},
}

// strongest returns the strongest hash of hs that this package can check.
func strongest(hs map[string]string) (string, func() hash.Hash, string) {
	for _, h := range hashPreference {
		if v, ok := hs[h.name]; ok {
			return h.name, h.new, v
		}
	}
	return "", nil, ""
}

// HashError is content whose digest is not the one the index gives.
type HashError struct {
	URL       string // without credentials
	What      string // "metadata file", "distribution"
	Algorithm string
	Got, Want string
}

func (e *HashError) Error() string {
	return fmt.Sprintf("%s: %s has %s %s, but the index says %s; refusing it", e.URL, e.What, e.Algorithm, e.Got, e.Want)
}

// ErrNoMetadata is a distribution whose dependencies cannot be known
// without building it: an sdist whose index serves no metadata file and
// whose PKG-INFO does not give them for sure.
var ErrNoMetadata = errors.New("no metadata without building it")

// Metadata returns the core metadata of a distribution file: its .metadata
// file when the index serves one (PEP 658/714, checked against the hash the
// index gives, refused when it differs), else the metadata inside the file,
// downloaded (at most MaxFileSize, to a temporary file) and checked against
// the file's hash: a wheel's *.dist-info/METADATA, or an sdist's PKG-INFO
// when it can be trusted for the dependencies (metadata 2.2 or later with
// Requires-Dist, Requires-Python and Provides-Extra not Dynamic; otherwise
// ErrNoMetadata). The metadata's name and version must be the file's.
func (c *Client) Metadata(ctx context.Context, f File) (*metadata.Metadata, error) {
	s, err := c.init()
	if err != nil {
		return nil, err
	}
	if f.CoreMetadata {
		m, err := c.metadataFile(ctx, s, &f)
		if !errors.Is(err, errNotFound) {
			return m, err
		}
		c.warn(fmt.Errorf("%s: the index lists a metadata file but does not serve it; reading the distribution", f.MetadataURL()))
	}
	switch {
	case f.IsWheel():
		return c.fileMetadata(ctx, s, &f, "METADATA", readWheelMetadata)
	case f.IsSdist():
		m, err := c.fileMetadata(ctx, s, &f, "PKG-INFO", readSdistMetadata)
		if err != nil {
			return nil, err
		}
		if !m.DependenciesTrusted() {
			why := "before metadata 2.2 every field may change in a build"
			if m.Trusted("") {
				why = "it marks its dependencies Dynamic"
			}
			return nil, fmt.Errorf("%s: %w: its PKG-INFO (metadata %s) does not give its dependencies for sure (%s)", f.URL, ErrNoMetadata, m.MetadataVersion, why)
		}
		return m, nil
	}
	return nil, fmt.Errorf("%s: neither a wheel nor an sdist (.tar.gz, .zip)", f.URL)
}

func (c *Client) metadataFile(ctx context.Context, s *setup, f *File) (*metadata.Metadata, error) {
	u := f.MetadataURL()
	source := f.Filename + ".metadata"
	// A metadata file whose sha256 the index gives is content-addressed:
	// a cached copy with that digest needs no request.
	cachePath := ""
	if sum := f.MetadataHashes["sha256"]; validHash("sha256", sum) == nil && c.CacheDir != "" {
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+".metadata")
		if data, err := os.ReadFile(cachePath); err == nil && sha256hex(data) == sum {
			return c.parseFor(data, source, f)
		}
	}
	fetcher := *s.fetcher
	if cachePath != "" {
		fetcher.CacheDir = "" // kept by its digest below, not by its URL
	}
	resp, err := fetcher.Get(ctx, u, "", s.metadata, nil)
	if err != nil {
		return nil, err
	}
	data := resp.Body
	if alg, newHash, want := strongest(f.MetadataHashes); newHash != nil {
		h := newHash()
		h.Write(data)
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return nil, &HashError{URL: u, What: "metadata file", Algorithm: alg, Got: got, Want: want}
		}
	}
	if cachePath != "" {
		if err := httpget.WriteAtomic(cachePath, data); err != nil {
			return nil, fmt.Errorf("index cache: %w", err)
		}
	}
	return c.parseFor(data, source, f)
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// parseFor parses metadata and checks it belongs to f.
func (c *Client) parseFor(data []byte, source string, f *File) (*metadata.Metadata, error) {
	m, err := metadata.Parse(data, source)
	if err != nil {
		return nil, err
	}
	c.warn(m.Warnings...)
	if f.IsWheel() {
		w, err := tags.ParseWheelFilename(f.Filename)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.URL, err)
		}
		if w.Name != m.NormalizedName() || w.Version.Compare(m.Version) != 0 {
			return nil, fmt.Errorf("%s: metadata names %s %s, not the file's %s %s", source, m.Name, m.Version, w.Name, w.Version)
		}
	} else if stem, ok := sdistStem(f.Filename); ok {
		// {name}-{version}: the name may hold '-' in old sdists, the
		// version does not.
		i := strings.LastIndexByte(stem, '-')
		n, v := stem[:max(i, 0)], stem[i+1:]
		pv, err := version.Parse(v)
		if i < 0 || name.Normalize(n) != m.NormalizedName() || (err == nil && pv.Compare(m.Version) != 0) {
			return nil, fmt.Errorf("%s: metadata names %s %s, not the file's", source, m.Name, m.Version)
		}
	}
	return m, nil
}

// fileMetadata downloads a distribution and reads its metadata with read,
// caching the metadata by the file's sha256.
func (c *Client) fileMetadata(ctx context.Context, s *setup, f *File, kind string,
	read func(io.ReaderAt, int64, string, httpget.Limit) (string, []byte, error)) (*metadata.Metadata, error) {
	cachePath := ""
	if sum := f.Hashes["sha256"]; validHash("sha256", sum) == nil && c.CacheDir != "" {
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+"."+kind)
		if data, err := os.ReadFile(cachePath); err == nil {
			return c.parseFor(data, f.Filename+": "+kind, f)
		}
	}
	tmp, done, err := c.scratch()
	if err != nil {
		return nil, err
	}
	defer done()
	alg, newHash, want := strongest(f.Hashes)
	if newHash == nil {
		newHash = sha256.New
	}
	sum, err := s.fetcher.Download(ctx, f.URL, s.wheels, tmp, newHash)
	if err != nil {
		return nil, err
	}
	if got := hex.EncodeToString(sum); want != "" && got != want {
		return nil, &HashError{URL: f.URL, What: "distribution", Algorithm: alg, Got: got, Want: want}
	}
	size, err := tmp.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	path, data, err := read(tmp, size, f.Filename, s.metadata)
	if err != nil {
		var le *LimitError
		if !errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", f.URL, err)
		}
		return nil, err
	}
	if cachePath != "" {
		if err := httpget.WriteAtomic(cachePath, data); err != nil {
			return nil, fmt.Errorf("index cache: %w", err)
		}
	}
	return c.parseFor(data, f.Filename+": "+path, f)
}

// sdistStem returns an sdist's file name without its extension.
func sdistStem(fn string) (string, bool) {
	for _, ext := range sdistExts {
		if s, ok := strings.CutSuffix(fn, ext); ok {
			return s, true
		}
	}
	return "", false
}

// readWheelMetadata finds the wheel's one top-level *.dist-info directory
// for the project of the file name and returns its METADATA, at most b.Max
// bytes.
func readWheelMetadata(r io.ReaderAt, size int64, filename string, b httpget.Limit) (string, []byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", nil, fmt.Errorf("not a wheel (zip): %w", err)
	}
	w, err := tags.ParseWheelFilename(filename)
	if err != nil {
		return "", nil, err
	}
	var found *zip.File
	var dirs []string
	for _, zf := range zr.File {
		dir, rest, ok := strings.Cut(zf.Name, "/")
		if !ok || !strings.HasSuffix(dir, ".dist-info") || rest != "METADATA" {
			continue
		}
		dirs = append(dirs, dir)
		proj, _, _ := strings.Cut(strings.TrimSuffix(dir, ".dist-info"), "-")
		if name.Normalize(proj) == w.Name {
			if found != nil {
				return "", nil, fmt.Errorf("two METADATA files for %s: %s and %s", w.Name, found.Name, zf.Name)
			}
			found = zf
		}
	}
	if found == nil {
		if len(dirs) == 0 {
			return "", nil, errors.New("no *.dist-info/METADATA in the wheel")
		}
		return "", nil, fmt.Errorf("no %s-*.dist-info/METADATA in the wheel (it has %s)", w.Name, strings.Join(dirs, ", "))
	}
	what := fmt.Sprintf("%s in %s", found.Name, filename)
	if found.UncompressedSize64 > uint64(b.Max) {
		return "", nil, b.Err(what)
	}
	rc, err := found.Open()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", found.Name, err)
	}
	defer rc.Close()
	data, err := httpget.ReadBounded(rc, int64(found.UncompressedSize64), b, what)
	if err != nil {
		var le *LimitError
		if !errors.As(err, &le) {
			err = fmt.Errorf("%s: %w", found.Name, err)
		}
		return "", nil, err
	}
	return found.Name, data, nil
}

// readSdistMetadata returns the PKG-INFO at the top of an sdist
// (<name>-<version>/PKG-INFO in a .tar.gz, .tgz, .tar or .zip), at most
// b.Max bytes. A .tar.gz is read as a stream up to PKG-INFO; what it
// decompresses to on the way is bounded by b.Max times 64 (a gzip bomb
// before PKG-INFO ends there).
func readSdistMetadata(r io.ReaderAt, size int64, filename string, b httpget.Limit) (string, []byte, error) {
	isPKGINFO := func(p string) bool {
		p = strings.TrimPrefix(p, "./")
		top, rest, ok := strings.Cut(p, "/")
		return ok && top != "" && rest == "PKG-INFO"
	}
	what := func(p string) string { return fmt.Sprintf("%s in %s", p, filename) }
	switch {
	case strings.HasSuffix(filename, ".zip"):
		zr, err := zip.NewReader(r, size)
		if err != nil {
			return "", nil, fmt.Errorf("not a zip: %w", err)
		}
		for _, zf := range zr.File {
			if !isPKGINFO(zf.Name) {
				continue
			}
			if zf.UncompressedSize64 > uint64(b.Max) {
				return "", nil, b.Err(what(zf.Name))
			}
			rc, err := zf.Open()
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", zf.Name, err)
			}
			defer rc.Close()
			data, err := httpget.ReadBounded(rc, int64(zf.UncompressedSize64), b, what(zf.Name))
			return zf.Name, data, err
		}
	case strings.HasSuffix(filename, ".tar.gz"), strings.HasSuffix(filename, ".tgz"), strings.HasSuffix(filename, ".tar"):
		var src io.Reader = io.NewSectionReader(r, 0, size)
		if !strings.HasSuffix(filename, ".tar") {
			gz, err := gzip.NewReader(src)
			if err != nil {
				return "", nil, fmt.Errorf("not gzip: %w", err)
			}
			defer gz.Close()
			src = gz
		}
		budget := &limitedReader{r: src, n: b.Max * 64, what: what("the tar stream"), b: b}
		tr := tar.NewReader(budget)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var le *LimitError
				if errors.As(err, &le) {
					return "", nil, err
				}
				return "", nil, fmt.Errorf("not a tar archive: %w", err)
			}
			if h.Typeflag != tar.TypeReg || !isPKGINFO(h.Name) {
				continue
			}
			data, err := httpget.ReadBounded(tr, h.Size, b, what(h.Name))
			return h.Name, data, err
		}
	default:
		return "", nil, errors.New("reading the metadata of this kind of sdist is not supported (.tar.gz and .zip only)")
	}
	return "", nil, errors.New("no <name>-<version>/PKG-INFO in the sdist")
}

// limitedReader fails with b's LimitError for what once more than n bytes
// were read.
type limitedReader struct {
	r    io.Reader
	n    int64
	what string
	b    httpget.Limit
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		le := l.b.Err(l.what)
		le.What = "decompressed sdist"
		le.Limit = l.b.Max * 64
		return 0, le
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// WheelMetadata reads the core metadata of a wheel at hand (a local file):
// its *.dist-info/METADATA, bounded as the client bounds metadata
// (DefaultMaxMetadataSize, or EnvMaxMetadataSize), checked against the
// file name's project and version.
func WheelMetadata(r io.ReaderAt, size int64, filename string) (*metadata.Metadata, error) {
	lim, err := httpget.NewLimit(0, "metadata", "Client.MaxMetadataSize", EnvMaxMetadataSize, DefaultMaxMetadataSize)
	if err != nil {
		return nil, err
	}
	p, data, err := readWheelMetadata(r, size, filename, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	f := File{Filename: filename, URL: filename}
	return (&Client{}).parseFor(data, filename+": "+p, &f)
}
