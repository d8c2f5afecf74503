package llb

import (
	"fmt"

	"github.com/envkit/envkit/conda/record"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
)

// PackageOp is what one op of a definition does for a conda environment's
// packages.
type PackageOp struct {
	// Fetch is true for a package's HTTP source, false for an exec that
	// links packages.
	Fetch bool
	// Records are the op's packages: the one it fetches, or those the exec
	// links, in link order.
	Records []*record.RepoDataRecord
}

// PackageOps maps the ops of a marshaled definition that fetch or link
// recs' packages to those packages, by op digest: the digest BuildKit
// names a failed vertex by (solver/errdefs.VertexError). A package's
// fetch is the HTTP source of its URL with its sha256 as checksum; a link
// is an exec that mounts one or more of those sources. Reading the
// definition, rather than marshaling each op again, gives the digests of
// the ops as BuildKit received them, whatever constraints the whole
// definition was marshaled with.
func PackageOps(def *bkllb.Definition, recs []*record.RepoDataRecord) (map[digest.Digest]PackageOp, error) {
	byKey := make(map[sourceKey]*record.RepoDataRecord, len(recs))
	for _, r := range recs {
		byKey[sourceKey{r.URL, digest.NewDigestFromEncoded(digest.SHA256, r.SHA256).String()}] = r
	}
	fetches, execs, err := sourceOps(def, byKey)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest]PackageOp, len(fetches)+len(execs))
	for d, r := range fetches {
		out[d] = PackageOp{Fetch: true, Records: []*record.RepoDataRecord{r}}
	}
	for d, rs := range execs {
		out[d] = PackageOp{Records: rs}
	}
	return out, nil
}

// WheelOp is what one op of a definition does for an environment's
// wheels.
type WheelOp struct {
	// Fetch is true for a wheel's HTTP source, false for an exec that
	// installs wheels.
	Fetch bool
	// Wheels are the op's wheels: the one it fetches, or those the exec
	// installs, in order.
	Wheels []*Wheel
}

// WheelOps maps the ops of a marshaled definition that fetch or install
// wheels to those wheels, by op digest, as PackageOps does for conda
// packages.
func WheelOps(def *bkllb.Definition, wheels []*Wheel) (map[digest.Digest]WheelOp, error) {
	byKey := make(map[sourceKey]*Wheel, len(wheels))
	for _, w := range wheels {
		byKey[sourceKey{w.URL, digest.NewDigestFromEncoded(digest.SHA256, w.SHA256).String()}] = w
	}
	fetches, execs, err := sourceOps(def, byKey)
	if err != nil {
		return nil, err
	}
	out := make(map[digest.Digest]WheelOp, len(fetches)+len(execs))
	for d, w := range fetches {
		out[d] = WheelOp{Fetch: true, Wheels: []*Wheel{w}}
	}
	for d, ws := range execs {
		out[d] = WheelOp{Wheels: ws}
	}
	return out, nil
}

// sourceKey is an HTTP source as a definition holds it: its URL and its
// checksum attribute.
type sourceKey struct{ url, checksum string }

// sourceOps finds, in def, the HTTP sources of byKey and the execs that
// mount them: each source's op digest with its value, each exec's with the
// values of the sources it mounts, in mount order.
func sourceOps[T any](def *bkllb.Definition, byKey map[sourceKey]T) (map[digest.Digest]T, map[digest.Digest][]T, error) {
	fetches := map[digest.Digest]T{}
	ops := make([]*pb.Op, len(def.Def))
	for i, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, nil, fmt.Errorf("LLB op %d: %w", i, err)
		}
		ops[i] = &op
		if src := op.GetSource(); src != nil {
			if v, ok := byKey[sourceKey{src.Identifier, src.Attrs[pb.AttrHTTPChecksum]}]; ok {
				fetches[digest.FromBytes(dt)] = v
			}
		}
	}
	// Definitions list an op's inputs before it, so sources come first;
	// a second pass keeps this independent of that order.
	execs := map[digest.Digest][]T{}
	for i, op := range ops {
		if op.GetExec() == nil {
			continue
		}
		var used []T
		for _, in := range op.Inputs {
			if v, ok := fetches[digest.Digest(in.Digest)]; ok {
				used = append(used, v)
			}
		}
		if len(used) > 0 {
			execs[digest.FromBytes(def.Def[i])] = used
		}
	}
	return fetches, execs, nil
}
