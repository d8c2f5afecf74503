package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

// patchCmd is `envkit patch FILE|REF`: envkit build, which rebuilds an
// image whose base tag moved onto the tag's newest digest with the hash's
// stored lock, reporting which layers the rebuild changed.
func patchCmd() *cobra.Command {
	opt := buildOptions{patch: true}
	c := buildCommand(&opt)
	c.Use = "patch FILE|REF"
	c.Short = "rebuild an environment's image onto the newest digest of its base tag, with its stored lock; report the changed layers"
	c.Long = "Finds the image of the environment's hash (as envkit build does, in the workspace) and, when its base\n" +
		"image tag now resolves to another digest, rebuilds it there, installing the packages its first build\n" +
		"resolved to (never newer ones), and reports per platform which layers were kept and which changed\n" +
		"(old and new layer digests). An image whose base has not moved is left as it is."
	c.Example = "  envkit patch environment.yml\n" +
		"  envkit patch my-env@latest --json"
	c.Args = exactArgs("FILE|REF")
	return c
}

// layerChange is what a patch changed in one platform's image.
type layerChange struct {
	Platform string   `json:"platform"`
	Kept     int      `json:"kept"`    // layers in both images
	Removed  []string `json:"removed"` // layer digests only in the old image
	Added    []string `json:"added"`   // layer digests only in the new one
}

// baseChange is the base digest a patch moved from and to.
type baseChange struct {
	Image string `json:"image"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// imageLayers are the layer digests of each platform's image in img.
func imageLayers(img *storedImage) (map[string][]string, error) {
	out := map[string][]string{}
	add := func(im v1.Image) error {
		cf, err := im.ConfigFile()
		if err != nil {
			return err
		}
		m, err := im.Manifest()
		if err != nil {
			return err
		}
		p := platforms.Format(platforms.Normalize(platforms.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}))
		for _, l := range m.Layers {
			out[p] = append(out[p], l.Digest.String())
		}
		return nil
	}
	if !img.desc.MediaType.IsIndex() {
		im, err := img.desc.Image()
		if err != nil {
			return nil, err
		}
		return out, add(im)
	}
	idx, err := img.desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS == "unknown" || !m.MediaType.IsImage() {
			continue // attestations
		}
		child, err := idx.Image(m.Digest)
		if err != nil {
			return nil, err
		}
		if err := add(child); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// diffLayers compares the layers of each platform of the new image with
// the old image's of the same platform (none for a new platform).
func diffLayers(old, new map[string][]string) []layerChange {
	var out []layerChange
	for p, nl := range new {
		ol := old[p]
		c := layerChange{Platform: p, Removed: []string{}, Added: []string{}}
		for _, d := range nl {
			if slices.Contains(ol, d) {
				c.Kept++
			} else {
				c.Added = append(c.Added, d)
			}
		}
		for _, d := range ol {
			if !slices.Contains(nl, d) {
				c.Removed = append(c.Removed, d)
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b layerChange) int {
		switch {
		case a.Platform < b.Platform:
			return -1
		case a.Platform > b.Platform:
			return 1
		}
		return 0
	})
	return out
}

// reportPatch compares the image of hash the build just pushed with
// prior's layers (oldLayers), prints what changed and returns it.
func reportPatch(ctx context.Context, store imageStore, hash string, prior *storedImage, oldLayers map[string][]string, stderr io.Writer) (*baseChange, []layerChange, error) {
	img, err := store.Lookup(ctx, hash)
	if err != nil {
		return nil, nil, err
	}
	if img == nil {
		return nil, nil, fmt.Errorf("no image of %s after the push", hash)
	}
	newLayers, err := imageLayers(img)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", img.Ref, err)
	}
	base := &baseChange{Image: img.BaseName, From: prior.BaseDigest, To: img.BaseDigest}
	fmt.Fprintf(stderr, "envkit: patched %s: base %s %s -> %s\n", hash, base.Image, base.From, base.To)
	changes := diffLayers(oldLayers, newLayers)
	for _, c := range changes {
		fmt.Fprintf(stderr, "envkit: %s: %d layers kept, %d replaced, %d new\n", c.Platform, c.Kept, len(c.Removed), len(c.Added))
		for _, d := range c.Removed {
			fmt.Fprintf(stderr, "envkit:   - %s\n", d)
		}
		for _, d := range c.Added {
			fmt.Fprintf(stderr, "envkit:   + %s\n", d)
		}
	}
	return base, changes, nil
}
