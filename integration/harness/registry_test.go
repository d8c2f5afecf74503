package harness

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseRef(t *testing.T) {
	d := digest.FromString("x")
	for _, tc := range []struct {
		in   string
		want Ref
	}{
		{"127.0.0.1:5000/envkit-test/base:1", Ref{Host: "127.0.0.1:5000", Repo: "envkit-test/base", Tag: "1"}},
		{"127.0.0.1:5000/a/b/c", Ref{Host: "127.0.0.1:5000", Repo: "a/b/c", Tag: "latest"}},
		{"localhost/a@" + d.String(), Ref{Host: "localhost", Repo: "a", Digest: d}},
		{"127.0.0.1:5000/a:v1@" + d.String(), Ref{Host: "127.0.0.1:5000", Repo: "a", Tag: "v1", Digest: d}},
	} {
		got, err := ParseRef(tc.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if got.String() != tc.in && tc.want.Tag != "latest" {
			t.Errorf("ParseRef(%q).String() = %q", tc.in, got.String())
		}
	}
	for _, bad := range []string{"noslash", "/repo:tag", "host/", "host/repo@sha256:zz", "host/:tag"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

func TestPickPlatform(t *testing.T) {
	desc := func(os, arch, variant string, ann map[string]string) ocispec.Descriptor {
		return ocispec.Descriptor{
			MediaType:   ocispec.MediaTypeImageManifest,
			Digest:      digest.FromString(os + arch + variant),
			Platform:    &ocispec.Platform{OS: os, Architecture: arch, Variant: variant},
			Annotations: ann,
		}
	}
	idx := ocispec.Index{Manifests: []ocispec.Descriptor{
		desc("linux", "amd64", "", nil),
		desc("linux", "arm64", "v8", nil),
		desc("unknown", "unknown", "", map[string]string{"vnd.docker.reference.type": "attestation-manifest"}),
	}}
	for _, tc := range []struct{ platform, want string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64", "linux/arm64/v8"},
		{"linux/arm64/v8", "linux/arm64/v8"},
	} {
		got, err := pickPlatform(idx, tc.platform)
		if err != nil {
			t.Errorf("%s: %v", tc.platform, err)
			continue
		}
		if p := platforms.Format(*got.Platform); p != tc.want {
			t.Errorf("%s: picked %s, want %s", tc.platform, p, tc.want)
		}
	}
	if _, err := pickPlatform(idx, "linux/s390x"); err == nil {
		t.Error("linux/s390x found")
	}
	if _, err := pickPlatform(idx, ""); err == nil {
		t.Error("no platform given for a two-image index: want an ambiguity error")
	}
	single := ocispec.Index{Manifests: idx.Manifests[:1]}
	single.Manifests = append(single.Manifests, idx.Manifests[2])
	if got, err := pickPlatform(single, ""); err != nil || got.Platform.Architecture != "amd64" {
		t.Errorf("single image + attestation: %v, %v", got, err)
	}
}

func TestIsUnder(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/x", "/", true},
	} {
		if got := isUnder(tc.p, tc.dir); got != tc.want {
			t.Errorf("isUnder(%q, %q) = %v", tc.p, tc.dir, got)
		}
	}
}

func TestResolve(t *testing.T) {
	file := func(typ byte, link string) *File {
		return &File{Header: &tar.Header{Typeflag: typ, Linkname: link}}
	}
	files := map[string]*File{
		"/usr":             file(tar.TypeDir, ""),
		"/usr/lib":         file(tar.TypeDir, ""),
		"/usr/lib/x.so.1":  file(tar.TypeReg, ""),
		"/usr/lib/x.so":    file(tar.TypeSymlink, "x.so.1"),
		"/lib":             file(tar.TypeSymlink, "usr/lib"),
		"/opt/abs":         file(tar.TypeSymlink, "/lib/x.so"),
		"/loop":            file(tar.TypeSymlink, "/loop/a"),
		"/plain/file.txt":  file(tar.TypeReg, ""),
		"/up/dots":         file(tar.TypeSymlink, "../plain"),
		"/up/dots-file.md": file(tar.TypeReg, ""),
	}
	for in, want := range map[string]string{
		"/lib/x.so":           "/usr/lib/x.so.1",
		"lib/x.so.1":          "/usr/lib/x.so.1",
		"/opt/abs":            "/usr/lib/x.so.1",
		"/up/dots/file.txt":   "/plain/file.txt",
		"/plain/file.txt":     "/plain/file.txt",
		"/missing/under/path": "/missing/under/path",
	} {
		got, err := Resolve(files, in)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Resolve(files, "/loop"); err == nil {
		t.Error("symlink loop resolved")
	}
}

// fakeRegistry serves blobs and manifests from memory, as a registry would.
type fakeRegistry struct {
	blobs     map[digest.Digest][]byte
	manifests map[string][]byte // by tag and by digest
	types     map[string]string
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	if len(parts) < 3 {
		http.NotFound(w, r)
		return
	}
	kind, ref := parts[len(parts)-2], parts[len(parts)-1]
	switch kind {
	case "blobs":
		if b, ok := f.blobs[digest.Digest(ref)]; ok {
			w.Write(b)
			return
		}
	case "manifests":
		if m, ok := f.manifests[ref]; ok {
			w.Header().Set("Content-Type", f.types[ref])
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(m).String())
			w.Write(m)
			return
		}
	}
	http.NotFound(w, r)
}

func (f *fakeRegistry) addBlob(b []byte) digest.Digest {
	d := digest.FromBytes(b)
	f.blobs[d] = b
	return d
}

// tarLayer makes a gzip tar layer of entries given as "name" (a file holding
// its own name), "name/" (a directory) or "name -> target" (a symlink).
func tarLayer(t *testing.T, entries ...string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e))}
		if name, target, ok := strings.Cut(e, " -> "); ok {
			hdr = &tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: tar.TypeSymlink}
		} else if strings.HasSuffix(e, "/") {
			hdr = &tar.Header{Name: e, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			tw.Write([]byte(e))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

// TestFilesWhiteouts runs the client against a fake registry serving a
// docker schema 2 image whose layers use opaque directories and whiteouts in
// either tar order.
func TestFilesWhiteouts(t *testing.T) {
	f := &fakeRegistry{blobs: map[digest.Digest][]byte{}, manifests: map[string][]byte{}, types: map[string]string{}}
	layers := [][]byte{
		tarLayer(t, "opt/", "opt/a", "opt/sub/", "opt/sub/b", "keep", "gone", "lnk -> opt/sub"),
		// Opaque /opt after a new file in the same layer: the new file stays.
		tarLayer(t, "opt/", "opt/new", "opt/.wh..wh..opq", ".wh.gone", "gone2"),
		// A path whited out and written again in one layer.
		tarLayer(t, "keep", ".wh.keep", ".wh.gone2"),
	}
	cfg, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}})
	m := ocispec.Manifest{MediaType: MediaTypeDockerManifest, Config: ocispec.Descriptor{MediaType: MediaTypeDockerConfig, Digest: f.addBlob(cfg), Size: int64(len(cfg))}}
	m.SchemaVersion = 2
	for _, l := range layers {
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: MediaTypeDockerLayerGzip, Digest: f.addBlob(l), Size: int64(len(l))})
	}
	raw, _ := json.Marshal(m)
	f.manifests["v1"], f.types["v1"] = raw, MediaTypeDockerManifest
	srv := httptest.NewServer(f)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ctx := context.Background()
	c := &Registry{}
	img, err := c.Image(ctx, host+"/r:v1", "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != digest.FromBytes(raw) {
		t.Errorf("digest %s", img.Digest)
	}
	files, err := c.Files(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range files {
		got = append(got, p)
	}
	slices.Sort(got)
	if want := []string{"/keep", "/lnk", "/opt", "/opt/new"}; !slices.Equal(got, want) {
		t.Errorf("merged filesystem %v, want %v", got, want)
	}
	if files["/keep"].Layer != 2 {
		t.Errorf("/keep comes from layer %d, want 2", files["/keep"].Layer)
	}
	if data, err := c.ReadImageFile(ctx, img, "/keep"); err != nil || string(data) != "keep" {
		t.Errorf("/keep = %q, %v", data, err)
	}
	if _, err := c.ReadImageFile(ctx, img, "/lnk/b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("/lnk/b (under the opaque /opt): err = %v, want ErrNotFound", err)
	}
	// The digest is checked: a tampered blob is refused.
	f.blobs[m.Layers[0].Digest] = layers[1]
	if _, err := c.Files(ctx, img); err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("tampered layer: err = %v", err)
	}
}
