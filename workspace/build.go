package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImagesRepo is the repository, under the namespace, that holds the
// workspace's images, tagged by hash (envkit_<32 hex>) so that any name
// finds them, and beside each the record of its build (tag HASH.build).
const ImagesRepo = "images"

// Media types of a build record.
const (
	BuildArtifactType    = "application/vnd.envkit.build.v1"
	BuildConfigMediaType = "application/vnd.envkit.build.config.v1+json"
	LockMediaType        = "application/vnd.envkit.lock.v1"
)

// Build is what the build of one hash recorded: the image, the base image
// digest it was built on (a moved base tag means a rebuild) and the lock
// of its unpinned packages (later builds of the hash reuse it).
type Build struct {
	Hash       string    `json:"hash"`   // envkit_<32 hex>
	Image      string    `json:"image"`  // REPOSITORY@sha256:...
	Digest     string    `json:"digest"` // the image's manifest (or index) digest
	BaseImage  string    `json:"base_image,omitempty"`
	BaseDigest string    `json:"base_digest,omitempty"`
	Created    time.Time `json:"created"`
	// Lock is the lock file's content (stored as a layer), nil when the
	// environment has no packages to lock.
	Lock []byte `json:"-"`
}

// ImageRef is where the image of hash h goes: REGISTRY/NAMESPACE/images:h.
func (w *Workspace) ImageRef(h string) string {
	return w.Registry + "/" + w.Namespace + "/" + ImagesRepo + ":" + h
}

func (w *Workspace) images() (*repo, error) {
	r, err := name.NewRepository(w.Registry+"/"+w.Namespace+"/"+ImagesRepo, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", w, err)
	}
	return &repo{ws: w, name: r}, nil
}

// RecordBuild stores b as the build of b.Hash, replacing an earlier one
// (after a rebuild on a patched base). Like create it writes the blobs
// first and the tag last: a failure leaves the previous record.
func (w *Workspace) RecordBuild(ctx context.Context, b Build) error {
	if !IsHash(b.Hash) {
		return fmt.Errorf("record build: %q is not an environment hash", b.Hash)
	}
	if b.Created.IsZero() {
		b.Created = w.now().UTC()
	}
	r, err := w.images()
	if err != nil {
		return err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: BuildArtifactType,
		Annotations: map[string]string{annHash: b.Hash, ocispec.AnnotationCreated: b.Created.Format(time.RFC3339Nano)}}
	m.SchemaVersion = 2
	if b.Lock != nil {
		d, err := r.putBlob(ctx, b.Lock, LockMediaType)
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, d)
	}
	cfg, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if m.Config, err = r.putBlob(ctx, cfg, BuildConfigMediaType); err != nil {
		return err
	}
	return r.putManifest(ctx, b.Hash+".build", &m)
}

// LookupBuild returns the recorded build of hash h; ErrNotFound when the
// workspace has none.
func (w *Workspace) LookupBuild(ctx context.Context, h string) (*Build, error) {
	if !IsHash(h) {
		return nil, fmt.Errorf("lookup build: %q is not an environment hash", h)
	}
	r, err := w.images()
	if err != nil {
		return nil, err
	}
	m, err := r.manifest(ctx, h+".build")
	if errors.Is(err, ErrNotFound) {
		return nil, errorf(ErrNotFound, "workspace %s has no build of %s", w, h)
	} else if err != nil {
		return nil, err
	}
	if m.ArtifactType != BuildArtifactType {
		return nil, fmt.Errorf("%s.build in workspace %s is not a build record (artifactType %q)", h, w, m.ArtifactType)
	}
	cfg, err := r.blob(ctx, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	var b Build
	if err := json.Unmarshal(cfg, &b); err != nil {
		return nil, fmt.Errorf("build record of %s: %w", h, err)
	}
	for _, l := range m.Layers {
		if l.MediaType == LockMediaType {
			if b.Lock, err = r.blob(ctx, l.Digest); err != nil {
				return nil, err
			}
		}
	}
	if b.Hash != h {
		return nil, fmt.Errorf("the build record tagged %s is of %s", h, b.Hash)
	}
	return &b, nil
}
