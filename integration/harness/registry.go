package harness

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of the docker schema 2 formats, which registries and BuildKit
// still produce next to the OCI ones.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest,
	MediaTypeDockerManifestList, MediaTypeDockerManifest,
}, ", ")

// Ref is a parsed image reference HOST/REPO[:TAG][@DIGEST].
type Ref struct {
	Host, Repo, Tag string
	Digest          digest.Digest
}

// ParseRef parses "127.0.0.1:5000/envkit-test/base:1" and
// "HOST/REPO@sha256:...". The host part is required.
func ParseRef(s string) (Ref, error) {
	host, rest, ok := strings.Cut(s, "/")
	if !ok || host == "" || rest == "" {
		return Ref{}, fmt.Errorf("image reference %q: want HOST/REPO[:TAG][@DIGEST]", s)
	}
	r := Ref{Host: host}
	if repo, dgst, ok := strings.Cut(rest, "@"); ok {
		d, err := digest.Parse(dgst)
		if err != nil {
			return Ref{}, fmt.Errorf("image reference %q: digest: %w", s, err)
		}
		r.Digest, rest = d, repo
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		r.Tag, rest = rest[i+1:], rest[:i]
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	r.Repo = rest
	if r.Repo == "" {
		return Ref{}, fmt.Errorf("image reference %q: empty repository", s)
	}
	return r, nil
}

// reference is what the registry API's /manifests/<reference> takes.
func (r Ref) reference() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

func (r Ref) String() string {
	s := r.Host + "/" + r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// Registry is a minimal OCI distribution client for a plain-HTTP registry
// without auth, for tests to inspect what builds pushed.
type Registry struct {
	Client *http.Client // nil: http.DefaultClient
	// Storage is the registry's filesystem storage root, for BlobBytes
	// ("" when unknown).
	Storage string
}

// Manifest is a fetched manifest or index as the registry served it.
type Manifest struct {
	MediaType string
	Digest    digest.Digest // of Raw, verified against the reference's digest if it had one
	Raw       []byte
}

// IsIndex reports whether m is an OCI index or a docker manifest list.
func (m Manifest) IsIndex() bool {
	return m.MediaType == ocispec.MediaTypeImageIndex || m.MediaType == MediaTypeDockerManifestList
}

// Index decodes an index or manifest list (the formats share their JSON shape).
func (m Manifest) Index() (ocispec.Index, error) {
	var idx ocispec.Index
	if !m.IsIndex() {
		return idx, fmt.Errorf("manifest %s is %s, not an index", m.Digest, m.MediaType)
	}
	err := json.Unmarshal(m.Raw, &idx)
	return idx, err
}

// Image decodes an image manifest (OCI or docker schema 2).
func (m Manifest) Image() (ocispec.Manifest, error) {
	var im ocispec.Manifest
	if m.MediaType != ocispec.MediaTypeImageManifest && m.MediaType != MediaTypeDockerManifest {
		return im, fmt.Errorf("manifest %s is %s, not an image manifest", m.Digest, m.MediaType)
	}
	err := json.Unmarshal(m.Raw, &im)
	return im, err
}

func (c *Registry) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return http.DefaultClient
}

func (c *Registry) get(ctx context.Context, url, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

// Manifest fetches the manifest or index that ref names.
func (c *Registry) Manifest(ctx context.Context, ref string) (Manifest, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return Manifest{}, err
	}
	return c.manifest(ctx, r)
}

func (c *Registry) manifest(ctx context.Context, r Ref) (Manifest, error) {
	url := "http://" + r.Host + "/v2/" + r.Repo + "/manifests/" + r.reference()
	resp, err := c.get(ctx, url, manifestAccept)
	if err != nil {
		return Manifest{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return Manifest{}, fmt.Errorf("GET %s: %w", url, err)
	}
	m := Manifest{MediaType: mediaTypeOf(resp.Header.Get("Content-Type"), raw), Raw: raw}
	alg := digest.Canonical
	if r.Digest != "" {
		alg = r.Digest.Algorithm()
	}
	m.Digest = alg.FromBytes(raw)
	if r.Digest != "" && m.Digest != r.Digest {
		return Manifest{}, fmt.Errorf("GET %s: content has digest %s", url, m.Digest)
	}
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" && r.Digest == "" && h != m.Digest.String() {
		return Manifest{}, fmt.Errorf("GET %s: content has digest %s, registry says %s", url, m.Digest, h)
	}
	return m, nil
}

// mediaTypeOf prefers the manifest's own mediaType field over Content-Type.
func mediaTypeOf(contentType string, raw []byte) string {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.MediaType != "" {
		return probe.MediaType
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.TrimSpace(mt)
}

// Blob fetches a blob of repo (HOST/REPO, tag and digest ignored) and
// verifies its digest.
func (c *Registry) Blob(ctx context.Context, ref string, d digest.Digest) ([]byte, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return c.blob(ctx, r, d)
}

func (c *Registry) blob(ctx context.Context, r Ref, d digest.Digest) ([]byte, error) {
	url := "http://" + r.Host + "/v2/" + r.Repo + "/blobs/" + d.String()
	resp, err := c.get(ctx, url, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	v := d.Verifier()
	data, err := io.ReadAll(io.TeeReader(resp.Body, v))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if !v.Verified() {
		return nil, fmt.Errorf("GET %s: content does not match its digest", url)
	}
	return data, nil
}

// Image is one platform's image: its manifest and decoded config.
type Image struct {
	Ref          Ref
	Manifest     ocispec.Manifest
	Digest       digest.Digest // of the image manifest
	Config       ocispec.Image
	ConfigDigest digest.Digest
}

// Image resolves ref to the image for platform ("linux/amd64",
// "linux/arm64/v8"; "" accepts a plain manifest only, or an index with a
// single image) and fetches its config. Attestation manifests in an index
// (platform unknown/unknown) are never chosen.
func (c *Registry) Image(ctx context.Context, ref, platform string) (*Image, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	m, err := c.manifest(ctx, r)
	if err != nil {
		return nil, err
	}
	if m.IsIndex() {
		idx, err := m.Index()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		desc, err := pickPlatform(idx, platform)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		r.Digest = desc.Digest
		if m, err = c.manifest(ctx, r); err != nil {
			return nil, err
		}
	}
	im, err := m.Image()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	cfgRaw, err := c.blob(ctx, r, im.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: config: %w", ref, err)
	}
	img := &Image{Ref: r, Manifest: im, Digest: m.Digest, ConfigDigest: im.Config.Digest}
	if err := json.Unmarshal(cfgRaw, &img.Config); err != nil {
		return nil, fmt.Errorf("%s: config %s: %w", ref, im.Config.Digest, err)
	}
	if platform != "" {
		if got := platforms.Format(img.Config.Platform); !platformMatches(got, platform) {
			return nil, fmt.Errorf("%s: image config is for %s, not %s", ref, got, platform)
		}
	}
	return img, nil
}

// platformMatches compares "os/arch[/variant]"; a wanted platform without a
// variant matches any variant.
func platformMatches(have, want string) bool {
	if have == want {
		return true
	}
	return strings.Count(want, "/") == 1 && strings.HasPrefix(have, want+"/")
}

func pickPlatform(idx ocispec.Index, platform string) (ocispec.Descriptor, error) {
	var found []ocispec.Descriptor
	var seen []string
	for _, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		p := platforms.Format(*d.Platform)
		if d.Platform.OS == "unknown" || d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		seen = append(seen, p)
		if platform == "" || platformMatches(p, platform) {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0:
		return ocispec.Descriptor{}, fmt.Errorf("index has no image for platform %q (has %v)", platform, seen)
	}
	return ocispec.Descriptor{}, fmt.Errorf("index has %d images for platform %q (has %v): name one", len(found), platform, seen)
}

// ErrNotFound is returned (wrapped) by ReadFile for a path the image lacks.
var ErrNotFound = errors.New("file not found in image")

// File is one path of an image's merged filesystem.
type File struct {
	Header *tar.Header // as the layer that last wrote the path has it (Name is that layer's)
	Layer  int         // index of that layer in the manifest
}

// Files returns the image's merged filesystem, keyed by clean absolute path:
// the layers applied in order, each layer's whiteouts (".wh.NAME") and opaque
// directory markers (".wh..wh..opq") hiding what lower layers had, and each
// of its non-directories hiding what lower layers had below its path (as
// containerd and overlayfs apply layers: a file replaces a directory).
func (c *Registry) Files(ctx context.Context, img *Image) (map[string]*File, error) {
	files := map[string]*File{}
	for i := range img.Manifest.Layers {
		var whiteouts, opaque []string
		var added []*File
		replaced := map[string]bool{}
		err := c.walkLayer(ctx, img, i, func(name string, hdr *tar.Header, _ io.Reader) (bool, error) {
			dir, base := path.Split(name)
			switch {
			case base == ".wh..wh..opq":
				opaque = append(opaque, path.Clean(dir))
			case strings.HasPrefix(base, ".wh."):
				whiteouts = append(whiteouts, path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			default:
				added = append(added, &File{Header: hdr, Layer: i})
				if hdr.Typeflag != tar.TypeDir {
					replaced[name] = true
				}
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
		if len(replaced) > 0 {
			for p := range files {
				for d := path.Dir(p); d != "/"; d = path.Dir(d) {
					if replaced[d] {
						delete(files, p)
						break
					}
				}
			}
		}
		// Whiteouts apply to lower layers only, whatever their tar order.
		if len(whiteouts)+len(opaque) > 0 {
			for p := range files {
				for _, w := range whiteouts {
					if isUnder(p, w) {
						delete(files, p)
					}
				}
				for _, o := range opaque {
					if p != o && isUnder(p, o) {
						delete(files, p)
					}
				}
			}
		}
		for _, f := range added {
			files[path.Clean("/"+f.Header.Name)] = f
		}
	}
	return files, nil
}

// walkLayer calls fn for every entry of layer i with its clean absolute
// path, until fn returns true.
func (c *Registry) walkLayer(ctx context.Context, img *Image, i int, fn func(name string, hdr *tar.Header, r io.Reader) (bool, error)) error {
	l := img.Manifest.Layers[i]
	blob, err := c.blob(ctx, img.Ref, l.Digest)
	if err != nil {
		return fmt.Errorf("layer %d: %w", i, err)
	}
	rd, err := decompress(l.MediaType, blob)
	if err != nil {
		return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
	}
	tr := tar.NewReader(rd)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
		stop, err := fn(path.Clean("/"+hdr.Name), hdr, tr)
		if err != nil || stop {
			return err
		}
	}
}

// Resolve follows symlinks in every component of p within the merged
// filesystem files and returns the path of what p names.
func Resolve(files map[string]*File, p string) (string, error) {
	p = path.Clean("/" + p)
	for hops := 0; hops < 40; hops++ {
		link, target := "", ""
		for cur := p; cur != "/"; cur = path.Dir(cur) {
			if f, ok := files[cur]; ok && f.Header.Typeflag == tar.TypeSymlink {
				link, target = cur, f.Header.Linkname
			}
		}
		if link == "" {
			return p, nil
		}
		// Replace the outermost symlink first: p = target + rest.
		rest := strings.TrimPrefix(p, link)
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(link), target)
		}
		p = path.Clean(target + rest)
	}
	return "", fmt.Errorf("%s: too many levels of symlinks", p)
}

// ReadFile returns the content of the regular file at path in the image
// (ref resolved for platform as by Image), following symlinks and hard links.
func (c *Registry) ReadFile(ctx context.Context, ref, platform, file string) ([]byte, error) {
	img, err := c.Image(ctx, ref, platform)
	if err != nil {
		return nil, err
	}
	return c.ReadImageFile(ctx, img, file)
}

// ReadImageFile is ReadFile on an already resolved image.
func (c *Registry) ReadImageFile(ctx context.Context, img *Image, file string) ([]byte, error) {
	files, err := c.Files(ctx, img)
	if err != nil {
		return nil, err
	}
	p, err := Resolve(files, file)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", file, img.Ref, err)
	}
	f, ok := files[p]
	if ok && f.Header.Typeflag == tar.TypeLink {
		p = path.Clean("/" + f.Header.Linkname)
		f, ok = files[p]
	}
	if !ok {
		return nil, fmt.Errorf("%s in %s: %w", file, img.Ref, ErrNotFound)
	}
	if f.Header.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%s in %s: %s is not a regular file (tar type %q)", file, img.Ref, p, f.Header.Typeflag)
	}
	var data []byte
	err = c.walkLayer(ctx, img, f.Layer, func(name string, hdr *tar.Header, r io.Reader) (bool, error) {
		if name != p || hdr.Typeflag != tar.TypeReg {
			return false, nil
		}
		var err error
		data, err = io.ReadAll(r)
		return false, err // keep going: a later entry for the same path wins
	})
	return data, err
}

// isUnder reports whether p is dir or inside it.
func isUnder(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

func decompress(mediaType string, blob []byte) (io.Reader, error) {
	switch {
	case strings.HasSuffix(mediaType, "+zstd") || strings.HasSuffix(mediaType, ".zstd"):
		return zstd.NewReader(bytes.NewReader(blob))
	case strings.HasSuffix(mediaType, "+gzip") || strings.HasSuffix(mediaType, ".gzip") || mediaType == MediaTypeDockerLayerGzip:
		return gzip.NewReader(bytes.NewReader(blob))
	case mediaType == ocispec.MediaTypeImageLayer || strings.HasSuffix(mediaType, ".tar"):
		return bytes.NewReader(blob), nil
	}
	return nil, fmt.Errorf("unsupported layer media type %q", mediaType)
}
