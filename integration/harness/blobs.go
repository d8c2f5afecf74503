package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Blobs is a snapshot of the blobs a registry stores, digest -> size in
// bytes: layers, configs and manifests alike (the registry keeps manifests
// as blobs too). Take one before and one after a push; After.Since(Before)
// is what the push stored.
type Blobs map[digest.Digest]int64

// BlobBytes snapshots the blobs in the registry's storage (Registry.Storage;
// docker-registry's filesystem driver keeps each as
// docker/registry/v2/blobs/<alg>/<2 hex>/<hex>/data). Uploads in progress
// are not blobs yet and are not counted.
//
// This counts what the registry stored, once per digest: a blob a push
// finds already there (BuildKit asks before it uploads) or mounts from
// another repository costs nothing, as on the wire. With a stack shared by
// several test binaries (ENVKIT_TEST_STACK_DIR), their pushes count too.
func (c *Registry) BlobBytes() (Blobs, error) {
	if c.Storage == "" {
		return nil, errors.New("harness: registry storage directory unknown (Registry.Storage is empty)")
	}
	root := filepath.Join(c.Storage, "docker", "registry", "v2", "blobs")
	b := Blobs{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll // nothing pushed yet
			}
			return err
		}
		if d.IsDir() || d.Name() != "data" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 3 {
			return fmt.Errorf("harness: unexpected blob path %s", p)
		}
		dg := digest.NewDigestFromEncoded(digest.Algorithm(parts[0]), parts[2])
		if err := dg.Validate(); err != nil {
			return fmt.Errorf("harness: blob %s: %w", p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b[dg] = fi.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("harness: registry blobs: %w", err)
	}
	return b, nil
}

// Since returns the number and total size of the blobs of b that before
// lacks.
func (b Blobs) Since(before Blobs) (n int, bytes int64) {
	for d, size := range b {
		if _, ok := before[d]; !ok {
			n++
			bytes += size
		}
	}
	return n, bytes
}

// Total is the number and total size of the blobs in b.
func (b Blobs) Total() (n int, bytes int64) { return b.Since(nil) }
