package index

import (
	"archive/zip"
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

	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/tags"
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

// ErrNoMetadata is a distribution whose metadata cannot be read without
// building it: an sdist whose index serves no metadata file.
var ErrNoMetadata = errors.New("no metadata without building it")

// Metadata returns the core metadata of a distribution file: its .metadata
// file when the index serves one (PEP 658/714, checked against the hash the
// index gives, refused when it differs), else, for a wheel, the
// *.dist-info/METADATA inside the wheel, downloaded (at most MaxFileSize,
// to a temporary file) and checked against the wheel's hash. The metadata's
// name and version must be the file's. An sdist without a metadata file is
// ErrNoMetadata.
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
	if !f.IsWheel() {
		return nil, fmt.Errorf("%s: %w (an sdist, and the index serves no metadata file for it)", f.URL, ErrNoMetadata)
	}
	return c.wheelMetadata(ctx, s, &f)
}

func (c *Client) metadataFile(ctx context.Context, s *setup, f *File) (*metadata.Metadata, error) {
	u := f.MetadataURL()
	source := f.Filename + ".metadata"
	// A metadata file whose sha256 the index gives is content-addressed:
	// a cached copy with that digest needs no request.
	cachePath := ""
	if sum := f.MetadataHashes["sha256"]; sum != "" && c.CacheDir != "" {
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+".metadata")
		if data, err := os.ReadFile(cachePath); err == nil && sha256hex(data) == sum {
			return c.parseFor(data, source, f)
		}
	}
	var data []byte
	if p, ok := localPath(u); ok {
		d, err := readLocal(p, u, s.metadata)
		if err != nil {
			return nil, err
		}
		data = d
	} else {
		f := *s.fetcher
		if cachePath != "" {
			f.dir = "" // kept by its digest below, not by its URL
		}
		resp, err := f.get(ctx, u, "", s.metadata)
		if err != nil {
			return nil, err
		}
		data = resp.body
	}
	if alg, newHash, want := strongest(f.MetadataHashes); newHash != nil {
		h := newHash()
		h.Write(data)
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			return nil, &HashError{URL: u, What: "metadata file", Algorithm: alg, Got: got, Want: want}
		}
	}
	if cachePath != "" {
		if err := writeAtomic(cachePath, data); err != nil {
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
	}
	return m, nil
}

// wheelMetadata reads METADATA from the wheel itself, caching it by the
// wheel's sha256.
func (c *Client) wheelMetadata(ctx context.Context, s *setup, f *File) (*metadata.Metadata, error) {
	cachePath := ""
	if sum := f.Hashes["sha256"]; sum != "" && c.CacheDir != "" {
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+".METADATA")
		if data, err := os.ReadFile(cachePath); err == nil {
			return c.parseFor(data, f.Filename+":METADATA", f)
		}
	}
	if c.CacheDir != "" {
		if err := os.MkdirAll(c.CacheDir, 0o755); err != nil {
			return nil, err
		}
	}
	tmp, err := os.CreateTemp(c.CacheDir, ".wheel-*.whl")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	alg, newHash, want := strongest(f.Hashes)
	if newHash == nil {
		newHash = sha256.New
	}
	sum, err := s.fetcher.download(ctx, f.URL, s.wheels, tmp, newHash)
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
	path, data, err := readWheelMetadata(tmp, size, f.Filename, s.metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.URL, err)
	}
	if cachePath != "" {
		if err := writeAtomic(cachePath, data); err != nil {
			return nil, fmt.Errorf("index cache: %w", err)
		}
	}
	return c.parseFor(data, f.Filename+":"+path, f)
}

// readWheelMetadata finds the wheel's one top-level *.dist-info directory
// for the project of the file name and returns its METADATA, at most b.max
// bytes.
func readWheelMetadata(r io.ReaderAt, size int64, filename string, b bound) (string, []byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", nil, fmt.Errorf("not a wheel (zip): %v", err)
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
	if found.UncompressedSize64 > uint64(b.max) {
		return "", nil, b.errorFor(what)
	}
	rc, err := found.Open()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %v", found.Name, err)
	}
	defer rc.Close()
	data, err := readBounded(rc, int64(found.UncompressedSize64), b, what)
	if err != nil {
		var le *LimitError
		if !errors.As(err, &le) {
			err = fmt.Errorf("%s: %v", found.Name, err)
		}
		return "", nil, err
	}
	return found.Name, data, nil
}
