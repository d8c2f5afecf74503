package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/containerd/platforms"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The image labels build-once reads (set by package llb).
const (
	labelBaseName   = "org.opencontainers.image.base.name"
	labelBaseDigest = "org.opencontainers.image.base.digest"
)

// imageStore is where `envkit build` finds the image of an environment hash
// again, and keeps the lock its first build resolved to. Today it is one
// repository per environment name (repoStore); the workspace's repository,
// tagged by hash, is another implementation of the same few calls.
type imageStore interface {
	// Lookup returns the image tagged by hash, or nil when there is none.
	Lookup(ctx context.Context, hash string) (*storedImage, error)
	// Names are the references a build of hash is pushed to: the first is
	// the one reported, one of them is the hash tag Lookup reads.
	Names(hash string) []string
	// Tag points the names of hash that are not the hash tag at a reused
	// image.
	Tag(ctx context.Context, hash string, img *storedImage) error
	// Lock returns the lock the first build of hash resolved to (a
	// conda-lock file), nil when none is stored; PutLock stores it, and
	// LockRef names where, for messages.
	Lock(ctx context.Context, hash string) ([]byte, error)
	PutLock(ctx context.Context, hash string, lock []byte) error
	LockRef(hash string) string
}

// storedImage is an image found by hash.
type storedImage struct {
	Ref       string // repository:hash
	Digest    string // of its manifest or index
	Created   time.Time
	Platforms []string // normalised os/arch[/variant]
	// BaseName and BaseDigest are the base image reference and the digest
	// it resolved to when the image was built ("" when not recorded).
	BaseName, BaseDigest string

	desc *remote.Descriptor
}

// repoStore keeps an environment's images in one repository, tagged by
// hash; extra are the -t references, pointed at a reused image too.
type repoStore struct {
	repo  name.Repository
	extra []name.Tag
}

// newRepoStore is the store for repo (REGISTRY/PATH), with the -t
// references (in repo or elsewhere) given as extra.
func newRepoStore(repo string, extra ...string) (*repoStore, error) {
	r, err := name.NewRepository(repo)
	if err != nil {
		return nil, fmt.Errorf("image repository %q: %w", repo, err)
	}
	s := &repoStore{repo: r}
	for _, e := range extra {
		t, err := name.NewTag(e)
		if err != nil {
			return nil, fmt.Errorf("-t %q: %w", e, err)
		}
		s.extra = append(s.extra, t)
	}
	return s, nil
}

func registryOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

func (s *repoStore) Names(hash string) []string {
	var names []string
	for _, t := range s.extra {
		names = append(names, t.String())
	}
	return append(names, s.repo.Tag(hash).String())
}

func (s *repoStore) Lookup(ctx context.Context, hash string) (*storedImage, error) {
	ref := s.repo.Tag(hash)
	desc, err := remote.Get(ref, registryOptions(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", ref, err)
	}
	img := &storedImage{Ref: ref.String(), Digest: desc.Digest.String(), desc: desc}
	var configs []*v1.ConfigFile
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", ref, err)
		}
		for _, m := range im.Manifests {
			if m.Platform == nil || m.Platform.OS == "unknown" || !m.MediaType.IsImage() {
				continue // attestations
			}
			child, err := idx.Image(m.Digest)
			if err != nil {
				return nil, fmt.Errorf("look up %s: %w", ref, err)
			}
			cf, err := child.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("look up %s: %w", ref, err)
			}
			configs = append(configs, cf)
		}
	} else {
		im, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", ref, err)
		}
		cf, err := im.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("look up %s: %w", ref, err)
		}
		configs = append(configs, cf)
	}
	if len(configs) == 0 {
		return nil, fmt.Errorf("look up %s: no image in it", ref)
	}
	for _, cf := range configs {
		p := platforms.Normalize(platforms.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})
		img.Platforms = append(img.Platforms, platforms.Format(p))
	}
	cf := configs[0]
	img.Created = cf.Created.Time
	img.BaseName = cf.Config.Labels[labelBaseName]
	img.BaseDigest = cf.Config.Labels[labelBaseDigest]
	return img, nil
}

// Tag points the -t references at img: a tag in img's repository is one
// manifest PUT; another repository gets the image copied, its blobs
// mounted from img's repository (a registry refuses a manifest whose blobs
// its repository lacks).
func (s *repoStore) Tag(ctx context.Context, hash string, img *storedImage) error {
	opts := registryOptions(ctx)
	for _, t := range s.extra {
		var err error
		switch {
		case t.Context().String() == s.repo.String():
			err = remote.Tag(t, img.desc, opts...)
		case img.desc.MediaType.IsIndex():
			var idx v1.ImageIndex
			if idx, err = img.desc.ImageIndex(); err == nil {
				err = remote.WriteIndex(t, idx, opts...)
			}
		default:
			var im v1.Image
			if im, err = img.desc.Image(); err == nil {
				err = remote.Write(t, im, opts...)
			}
		}
		if err != nil {
			return fmt.Errorf("tag %s: %w", t, err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// covers reports whether img has an image for every platform of want.
func (img *storedImage) covers(want []string) (missing string, ok bool) {
	for _, p := range want {
		if !slices.Contains(img.Platforms, p) {
			return p, false
		}
	}
	return "", true
}

// baseCurrent reports whether the base image reference img was built on
// still resolves to the digest recorded with it, and the digest it
// resolves to now. The recorded digest may be the base's index or, for a
// multi-platform base, one of its images.
func baseCurrent(ctx context.Context, img *storedImage) (string, bool, error) {
	ref, err := name.ParseReference(img.BaseName)
	if err != nil {
		return "", false, fmt.Errorf("base image %q: %w", img.BaseName, err)
	}
	desc, err := remote.Get(ref, registryOptions(ctx)...)
	if err != nil {
		return "", false, fmt.Errorf("resolve base image %s: %w", img.BaseName, err)
	}
	now := desc.Digest.String()
	if now == img.BaseDigest {
		return now, true, nil
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return now, false, fmt.Errorf("resolve base image %s: %w", img.BaseName, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return now, false, fmt.Errorf("resolve base image %s: %w", img.BaseName, err)
		}
		for _, m := range im.Manifests {
			if m.Digest.String() == img.BaseDigest {
				return now, true, nil
			}
		}
	}
	return now, false, nil
}
