package frontend

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/sbom"
	"github.com/envkit/envkit/spec"
	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/attestations"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/result"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// LabelLockDigest is the label holding the sha256 of the conda lock an
// image keeps (conda-meta/conda-lock.yml), the lock of its own platform.
const LabelLockDigest = "dev.envkit.lock.digest"

// SBOMPath is the attestation's file in its scratch state.
const SBOMPath = "/envkit.spdx.json"

// The labels the conversion sets for the base image.
const (
	labelBaseName   = "org.opencontainers.image.base.name"
	labelBaseDigest = "org.opencontainers.image.base.digest"
)

// sboms collects, when the build asks for an SBOM (attest:sbom, which
// `docker buildx build --sbom=true` sets), each platform's SPDX document,
// and attaches them to the result as in-toto attestations. BuildKit then
// runs no scanner: its SBOM processor skips a result that already has an
// SPDX attestation. A build that names a scanner (attest:sbom=generator=
// IMAGE, --sbom=generator=IMAGE) gets that scanner's document instead, as
// for Dockerfiles: envkit attaches none.
type sboms struct {
	mu   sync.Mutex
	docs map[string][]byte // by export platform ID
}

// newSBOMs returns nil when the build asks for no SBOM, or for a scanner's.
func newSBOMs(opts map[string]string) (*sboms, error) {
	attests := attestations.Filter(opts)
	parsed, err := attestations.Parse(attests)
	if err != nil {
		return nil, err
	}
	if _, ok := parsed[attestations.KeyTypeSbom]; !ok {
		return nil, nil
	}
	for k, v := range attests {
		t := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(k, "attest:"), "build-arg:BUILDKIT_ATTEST_"))
		if t != attestations.KeyTypeSbom {
			continue
		}
		for _, f := range strings.Split(v, ",") {
			if strings.HasPrefix(strings.TrimSpace(f), "generator=") {
				return nil, nil
			}
		}
	}
	return &sboms{docs: map[string][]byte{}}, nil
}

// labelLock records the digest of the platform's lock on the image.
func labelLock(img *dockerspec.DockerOCIImage, conda *envllb.Conda) {
	if conda == nil || len(conda.Lock) == 0 {
		return
	}
	if img.Config.Labels == nil {
		img.Config.Labels = map[string]string{}
	}
	img.Config.Labels[LabelLockDigest] = digest.FromBytes(conda.Lock).String()
}

// add makes the document of one platform's image: its base image from
// the labels the conversion set, its packages from the lock the image
// keeps.
func (s *sboms) add(env *spec.Environment, h digest.Digest, platform *ocispecs.Platform, r *envllb.Result, conda *envllb.Conda) error {
	if s == nil {
		return nil
	}
	p := platforms.DefaultSpec()
	if platform != nil {
		p = *platform
	}
	p = platforms.Normalize(p)
	in := sbom.Environment{Name: env.Name, Version: env.Version, Hash: hash.Short(h), Platform: platforms.Format(p)}
	if in.Name == "" {
		in.Name = in.Hash
	}
	if r.Epoch != nil {
		in.Created = *r.Epoch
	}
	labels := r.Image.Config.Labels
	in.Base = sbom.Image{Ref: labels[labelBaseName], Digest: labels[labelBaseDigest]}
	if conda != nil {
		l, err := lock.Read(helper.LockFile, conda.Lock)
		if err != nil {
			return fmt.Errorf("sbom: reading the lock of %s: %w", conda.Subdir, err)
		}
		in.Lock, in.Subdir = l, conda.Subdir
	}
	d, err := sbom.New(in)
	if err != nil {
		return err
	}
	doc, err := d.SPDX()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.docs[platforms.FormatAll(p)] = doc
	s.mu.Unlock()
	return nil
}

// attach adds each platform's document to rb as an SPDX in-toto
// attestation: the file SBOMPath of a scratch state.
func (s *sboms) attach(ctx context.Context, c client.Client, rb *dockerui.ResultBuilder) error {
	if s == nil {
		return nil
	}
	return rb.EachPlatform(ctx, func(ctx context.Context, id string, _ ocispecs.Platform) error {
		s.mu.Lock()
		doc, ok := s.docs[id]
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("sbom: no document for platform %s", id)
		}
		st := llb.Scratch().File(llb.Mkfile(SBOMPath, 0o644, doc), llb.WithCustomName("[envkit] SBOM of "+id))
		def, err := st.Marshal(ctx)
		if err != nil {
			return err
		}
		res, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
		if err != nil {
			return err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return err
		}
		rb.AddAttestation(id, client.Attestation{
			Kind:   gatewaypb.AttestationKind_InToto,
			Ref:    ref,
			Path:   SBOMPath,
			InToto: result.InTotoAttestation{PredicateType: intoto.PredicateSPDX},
		})
		return nil
	})
}
