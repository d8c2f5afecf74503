package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	gofs "io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/lock"
	envllb "github.com/envkit/envkit/llb"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// The stored lock of a hash is an OCI artifact in the image's repository,
// tagged <hash>.lock: an image manifest of artifactType lockArtifactType,
// the empty config, and the conda-lock file as its one layer. It has a tag
// of its own, not a subject, so that it outlives the image (a deleted
// image is rebuilt with it).
const (
	lockArtifactType = "application/vnd.envkit.conda-lock.v1"
	lockMediaType    = "application/vnd.envkit.conda-lock.v1+yaml"
	lockTagSuffix    = ".lock"
)

// lockTag is the tag of hash's stored lock.
func lockTag(hash string) string { return hash + lockTagSuffix }

// Lock returns the lock stored for hash, nil when there is none.
func (s *repoStore) Lock(ctx context.Context, hash string) ([]byte, error) {
	ref := s.repo.Tag(lockTag(hash))
	desc, err := remote.Get(ref, registryOptions(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the lock of %s: %w", hash, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return nil, fmt.Errorf("read the lock of %s: %s: %w", hash, ref, err)
	}
	if m.ArtifactType != lockArtifactType || len(m.Layers) != 1 || m.Layers[0].MediaType != lockMediaType {
		return nil, fmt.Errorf("read the lock of %s: %s is not an envkit lock (%s)", hash, ref, m.ArtifactType)
	}
	l, err := remote.Layer(s.repo.Digest(m.Layers[0].Digest.String()), registryOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("read the lock of %s: %w", hash, err)
	}
	rc, err := l.Compressed() // verified against its digest as it is read
	if err != nil {
		return nil, fmt.Errorf("read the lock of %s: %w", hash, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the lock of %s: %w", hash, err)
	}
	return data, nil
}

// PutLock stores data as hash's lock: the blobs first, then the manifest
// under its tag, so that a failed write leaves the previous lock.
func (s *repoStore) PutLock(ctx context.Context, hash string, data []byte) error {
	empty := static.NewLayer([]byte("{}"), types.MediaType(ocispec.MediaTypeEmptyJSON))
	layer := static.NewLayer(data, lockMediaType)
	var descs []ocispec.Descriptor
	for _, l := range []v1.Layer{empty, layer} {
		if err := remote.WriteLayer(s.repo, l, registryOptions(ctx)...); err != nil {
			return fmt.Errorf("store the lock of %s: %w", hash, err)
		}
		d, _ := l.Digest() // static layers do not fail
		size, _ := l.Size()
		mt, _ := l.MediaType()
		descs = append(descs, ocispec.Descriptor{MediaType: string(mt), Digest: digestOf(d), Size: size})
	}
	descs[1].Annotations = map[string]string{ocispec.AnnotationTitle: "conda-lock.yml"}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: lockArtifactType,
		Config:       descs[0],
		Layers:       descs[1:],
		Annotations:  map[string]string{envllb.LabelHash: hash},
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := remote.Put(s.repo.Tag(lockTag(hash)), rawManifest{raw: raw, mt: types.OCIManifestSchema1}, registryOptions(ctx)...); err != nil {
		return fmt.Errorf("store the lock of %s: %w", hash, err)
	}
	return nil
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// imageLock reads the lock a conda environment keeps in the image img (its
// metadata layer, the topmost that holds it), merging the locks of a
// multi-platform image's images.
func imageLock(ctx context.Context, img *storedImage) (*lock.Lock, error) {
	var images []v1.Image
	if img.desc.MediaType.IsIndex() {
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
				continue
			}
			child, err := idx.Image(m.Digest)
			if err != nil {
				return nil, err
			}
			images = append(images, child)
		}
	} else {
		im, err := img.desc.Image()
		if err != nil {
			return nil, err
		}
		images = append(images, im)
	}
	var merged *lock.Lock
	for _, im := range images {
		data, err := fileInImage(im, strings.TrimPrefix(path.Join(envllb.DefaultPrefix, envllb.LockPath), "/"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Ref, err)
		}
		l, err := lock.Read(envllb.LockPath, data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", img.Ref, err)
		}
		merged = mergeLock(merged, l)
	}
	return merged, nil
}

// fileInImage reads the file at name (no leading slash) from the topmost
// layer of im that holds it.
func fileInImage(im v1.Image, name string) ([]byte, error) {
	layers, err := im.Layers()
	if err != nil {
		return nil, err
	}
	for i := len(layers) - 1; i >= 0; i-- {
		rc, err := layers[i].Uncompressed()
		if err != nil {
			return nil, err
		}
		data, found, err := fileInTar(rc, name)
		rc.Close()
		if err != nil || found {
			return data, err
		}
	}
	return nil, fmt.Errorf("no /%s in the image", name)
}

func fileInTar(r io.Reader, name string) ([]byte, bool, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if strings.TrimPrefix(path.Clean(h.Name), "./") == name && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			return data, true, err
		}
	}
}

// mergeLock returns base with the platforms of l replaced by l's (base may
// be nil).
func mergeLock(base, l *lock.Lock) *lock.Lock {
	if base == nil {
		return l
	}
	base.Packages = slices.DeleteFunc(base.Packages, func(p *lock.Package) bool { return slices.Contains(l.Platforms, p.Platform) })
	base.Packages = append(base.Packages, l.Packages...)
	for _, p := range l.Platforms {
		if !slices.Contains(base.Platforms, p) {
			base.Platforms = append(base.Platforms, p)
		}
		if base.ContentHash == nil {
			base.ContentHash = map[string]string{}
		}
		base.ContentHash[p] = l.ContentHash[p]
	}
	slices.Sort(base.Platforms)
	return base
}

// storedLockName is the name the stored lock has beside the environment
// file, in the dockerfile local the frontend reads it from.
const storedLockName = ".envkit-stored-conda-lock.yml"

// withFile is an fsutil.FS with one more file at its root (which hides a
// file of the same name below it).
type withFile struct {
	fsutil.FS
	name string
	data []byte
}

func (f *withFile) Open(p string) (io.ReadCloser, error) {
	if filepath.Clean(p) == f.name {
		return io.NopCloser(bytes.NewReader(f.data)), nil
	}
	return f.FS.Open(p)
}

func (f *withFile) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	if t := strings.Trim(filepath.Clean(target), string(filepath.Separator)); t != "" && t != "." {
		return f.FS.Walk(ctx, target, fn)
	}
	// BuildKit keeps what a local sent before and sends again only the
	// files whose size or time changed: the time follows the content.
	sum := sha256.Sum256(f.data)
	mtime := int64(binary.BigEndian.Uint32(sum[:4]))*1e9 + int64(binary.BigEndian.Uint32(sum[4:8])%1e9)
	entry := &fsutil.DirEntryInfo{Stat: &fstypes.Stat{Path: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: mtime}}
	done := false
	emit := func() error {
		done = true
		if err := fn(f.name, entry, nil); errors.Is(err, filepath.SkipDir) {
			return filepath.SkipAll
		} else {
			return err
		}
	}
	err := f.FS.Walk(ctx, target, func(p string, d gofs.DirEntry, err error) error {
		rootLevel := !strings.Contains(p, string(filepath.Separator))
		if rootLevel && p == f.name {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !done && rootLevel && p > f.name {
			if err := emit(); err != nil {
				return err
			}
		}
		return fn(p, d, err)
	})
	if err != nil {
		return err
	}
	if !done {
		if err := emit(); err != nil && !errors.Is(err, filepath.SkipAll) {
			return err
		}
	}
	return nil
}

// lockRepoRef names where a store keeps hash's lock, for messages.
func (s *repoStore) LockRef(hash string) string { return s.repo.Tag(lockTag(hash)).String() }

// digestOf is a go-containerregistry hash as a digest.
func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }
