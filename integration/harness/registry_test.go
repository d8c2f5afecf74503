package harness

import (
	"testing"

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
		if p := platformString(got.Platform.OS, got.Platform.Architecture, got.Platform.Variant); p != tc.want {
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
