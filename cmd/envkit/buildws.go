package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/envkit/envkit/workspace"
)

// wsStore is the workspace's image store: every image in one repository,
// REGISTRY/NAMESPACE/images, tagged by hash, so that the same definition
// under any name finds it; beside each image its build record (tag
// HASH.build: image, digest, base and lock), which replaces repoStore's
// HASH.lock artifact. The -t references are extra tags, as repoStore's.
type wsStore struct {
	*repoStore // the images repository, for Lookup, Names and Tag
	ws         *workspace.Workspace
}

func newWSStore(ws *workspace.Workspace, extra ...string) (*wsStore, error) {
	rs, err := newRepoStore(ws.String()+"/"+workspace.ImagesRepo, extra...)
	if err != nil {
		return nil, err
	}
	return &wsStore{repoStore: rs, ws: ws}, nil
}

// Lock is the lock of hash's build record, nil when there is no record or
// it holds no lock.
func (s *wsStore) Lock(ctx context.Context, hash string) ([]byte, error) {
	b, err := s.ws.LookupBuild(ctx, hash)
	if errors.Is(err, workspace.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return b.Lock, nil
}

// PutLock records the build of hash: the image tagged by hash now, its
// base and lock (nil for an environment without conda packages).
func (s *wsStore) PutLock(ctx context.Context, hash string, lock []byte) error {
	img, err := s.Lookup(ctx, hash)
	if err != nil {
		return err
	}
	if img == nil {
		return fmt.Errorf("no image tagged %s after the push", s.ws.ImageRef(hash))
	}
	return s.ws.RecordBuild(ctx, workspace.Build{
		Hash: hash, Image: s.repo.Digest(img.Digest).String(), Digest: img.Digest,
		BaseImage: img.BaseName, BaseDigest: img.BaseDigest, Lock: lock,
	})
}

// LockRef names the build record that holds hash's lock.
func (s *wsStore) LockRef(hash string) string { return s.ws.ImageRef(hash) + ".build" }

// recorded reports whether hash has a build record.
func (s *wsStore) recorded(ctx context.Context, hash string) (bool, error) {
	_, err := s.ws.LookupBuild(ctx, hash)
	if errors.Is(err, workspace.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// workspaceAddr is the workspace a build uses: --workspace, else
// $ENVKIT_WORKSPACE, else the local stack's ("" when there is none).
func workspaceAddr(flag string, local *localStack) string {
	switch {
	case flag != "":
		return flag
	case os.Getenv(workspace.EnvVar) != "":
		return os.Getenv(workspace.EnvVar)
	case local != nil:
		return local.registry + "/envkit"
	}
	return ""
}
