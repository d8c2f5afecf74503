package main

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is an in-memory registry on 127.0.0.1 (plain HTTP, as the
// local stack's).
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage pushes a one-layer image for os/arch with labels as ref.
func pushImage(t *testing.T, ref, arch string, labels map[string]string) v1.Image {
	t.Helper()
	img := randomImage(t, arch, labels)
	if err := remote.Write(mustTag(t, ref), img); err != nil {
		t.Fatal(err)
	}
	return img
}

func randomImage(t *testing.T, arch string, labels map[string]string) v1.Image {
	t.Helper()
	return layeredImage(t, arch, 1, labels)
}

// layeredImage is an image for linux/arch of n random layers, with labels.
func layeredImage(t *testing.T, arch string, n int, labels map[string]string) v1.Image {
	t.Helper()
	img, err := random.Image(64, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func digestOfImage(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// Lookup finds an image by its hash tag, with its platforms and the base
// it records; an index's attestation manifests are not platforms.
func TestRepoStoreLookup(t *testing.T) {
	ctx := context.Background()
	reg := testRegistry(t)
	s, err := newRepoStore(reg+"/envkit/env", reg+"/other/env:1")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Names("envkit_1"); !slices.Equal(got, []string{reg + "/other/env:1", reg + "/envkit/env:envkit_1"}) {
		t.Errorf("names %q", got)
	}
	if img, err := s.Lookup(ctx, "envkit_1"); img != nil || err != nil {
		t.Fatalf("nothing pushed: %+v %v", img, err)
	}
	labels := map[string]string{labelBaseName: "base:1", labelBaseDigest: "sha256:abc"}
	pushed := pushImage(t, reg+"/envkit/env:envkit_1", "amd64", labels)
	img, err := s.Lookup(ctx, "envkit_1")
	if err != nil || img == nil {
		t.Fatalf("lookup: %+v %v", img, err)
	}
	if img.Digest != digestOfImage(t, pushed) || !slices.Equal(img.Platforms, []string{"linux/amd64"}) || img.BaseName != "base:1" || img.BaseDigest != "sha256:abc" {
		t.Errorf("found %+v", img)
	}
	if _, ok := img.covers([]string{"linux/amd64"}); !ok {
		t.Error("linux/amd64 not covered")
	}
	if p, ok := img.covers([]string{"linux/amd64", "linux/arm64"}); ok || p != "linux/arm64" {
		t.Errorf("covers arm64: %q %v", p, ok)
	}
	// -t is pointed at a reused image.
	if err := s.Tag(ctx, "envkit_1", img); err != nil {
		t.Fatal(err)
	}
	if d, err := remote.Head(mustTag(t, reg+"/other/env:1")); err != nil || d.Digest.String() != img.Digest {
		t.Errorf("-t: %v %v", d, err)
	}

	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: randomImage(t, "amd64", labels), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: randomImage(t, "arm64", labels), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: randomImage(t, "unknown", nil), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
	)
	if err := remote.WriteIndex(mustTag(t, reg+"/envkit/env:envkit_2"), idx); err != nil {
		t.Fatal(err)
	}
	img, err = s.Lookup(ctx, "envkit_2")
	if err != nil || img == nil {
		t.Fatalf("lookup index: %+v %v", img, err)
	}
	if !slices.Equal(img.Platforms, []string{"linux/amd64", "linux/arm64"}) || img.BaseName != "base:1" {
		t.Errorf("index found as %+v", img)
	}
}

// The base is current while its tag resolves to the recorded digest (the
// index's, or one of its images'); a moved tag is not.
func TestBaseCurrent(t *testing.T) {
	ctx := context.Background()
	reg := testRegistry(t)
	base := pushImage(t, reg+"/base:1", "amd64", nil)
	img := &storedImage{BaseName: reg + "/base:1", BaseDigest: digestOfImage(t, base)}
	if now, ok, err := baseCurrent(ctx, img); !ok || err != nil || now != img.BaseDigest {
		t.Errorf("unmoved base: %s %v %v", now, ok, err)
	}
	moved := pushImage(t, reg+"/base:1", "amd64", map[string]string{"patch": "2"})
	if now, ok, err := baseCurrent(ctx, img); ok || err != nil || now != digestOfImage(t, moved) {
		t.Errorf("moved base: %s %v %v", now, ok, err)
	}
	child := randomImage(t, "arm64", nil)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: child, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	if err := remote.WriteIndex(mustTag(t, reg+"/multi:1"), idx); err != nil {
		t.Fatal(err)
	}
	img = &storedImage{BaseName: reg + "/multi:1", BaseDigest: digestOfImage(t, child)}
	if _, ok, err := baseCurrent(ctx, img); !ok || err != nil {
		t.Errorf("a base index holding the recorded image: %v %v", ok, err)
	}
	img.BaseName = reg + "/missing:1"
	if _, _, err := baseCurrent(ctx, img); err == nil || !strings.Contains(err.Error(), "missing:1") {
		t.Errorf("a base that is gone: %v", err)
	}
}

// testStore is a store over the repository envkit/env of a test
// registry, and the registry.
func testStore(t *testing.T) (*repoStore, string) {
	t.Helper()
	reg := testRegistry(t)
	s, err := newRepoStore(reg + "/envkit/env")
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

// A stored lock is read back as written, and replaced by the next PutLock.
func TestRepoStoreLock(t *testing.T) {
	ctx := context.Background()
	s, reg := testStore(t)
	if got, err := s.Lock(ctx, "envkit_1"); got != nil || err != nil {
		t.Fatalf("no lock yet: %q %v", got, err)
	}
	for _, data := range []string{"version: 1\n# first\n", "version: 1\n# again\n"} {
		if err := s.PutLock(ctx, "envkit_1", []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Lock(ctx, "envkit_1"); string(got) != data || err != nil {
			t.Errorf("lock %q %v, want %q", got, err, data)
		}
	}
	if s.LockRef("envkit_1") != reg+"/envkit/env:envkit_1.lock" {
		t.Errorf("lock ref %s", s.LockRef("envkit_1"))
	}
	// An image under the lock's tag is not taken for a lock.
	pushImage(t, reg+"/envkit/env:envkit_2.lock", "amd64", nil)
	if _, err := s.Lock(ctx, "envkit_2"); err == nil || !strings.Contains(err.Error(), "not an envkit lock") {
		t.Errorf("an image as a lock: %v", err)
	}
}
