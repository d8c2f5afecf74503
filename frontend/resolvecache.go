package frontend

import (
	"context"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/opencontainers/go-digest"
)

// withResolveCache resolves each image reference once per platform and
// build: the conversion and the base-digest label ask for the same image.
func withResolveCache(c client.Client) client.Client {
	return &resolveCache{Client: c, m: map[resolveKey]*resolved{}}
}

type resolveCache struct {
	client.Client
	mu sync.Mutex
	m  map[resolveKey]*resolved
}

type resolveKey struct {
	ref, platform, mode string
}

type resolved struct {
	once   sync.Once
	ref    string
	dgst   digest.Digest
	config []byte
	err    error
}

func (r *resolveCache) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	k := resolveKey{ref: ref}
	if opt.ImageOpt != nil {
		k.mode = opt.ImageOpt.ResolveMode
		if p := opt.ImageOpt.Platform; p != nil {
			k.platform = platforms.Format(*p)
		}
	}
	if opt.OCILayoutOpt != nil {
		return r.Client.ResolveImageConfig(ctx, ref, opt)
	}
	r.mu.Lock()
	e, ok := r.m[k]
	if !ok {
		e = &resolved{}
		r.m[k] = e
	}
	r.mu.Unlock()
	e.once.Do(func() {
		e.ref, e.dgst, e.config, e.err = r.Client.ResolveImageConfig(ctx, ref, opt)
	})
	return e.ref, e.dgst, e.config, e.err
}
