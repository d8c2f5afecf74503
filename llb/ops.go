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
	type key struct{ url, checksum string }
	byKey := make(map[key]*record.RepoDataRecord, len(recs))
	for _, r := range recs {
		byKey[key{r.URL, digest.NewDigestFromEncoded(digest.SHA256, r.SHA256).String()}] = r
	}
	out := map[digest.Digest]PackageOp{}
	ops := make([]*pb.Op, len(def.Def))
	for i, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, fmt.Errorf("LLB op %d: %w", i, err)
		}
		ops[i] = &op
		if src := op.GetSource(); src != nil {
			if r := byKey[key{src.Identifier, src.Attrs[pb.AttrHTTPChecksum]}]; r != nil {
				out[digest.FromBytes(dt)] = PackageOp{Fetch: true, Records: []*record.RepoDataRecord{r}}
			}
		}
	}
	// Definitions list an op's inputs before it, so sources come first;
	// a second pass keeps this independent of that order.
	for i, op := range ops {
		if op.GetExec() == nil {
			continue
		}
		var linked []*record.RepoDataRecord
		for _, in := range op.Inputs {
			if f, ok := out[digest.Digest(in.Digest)]; ok && f.Fetch {
				linked = append(linked, f.Records...)
			}
		}
		if len(linked) > 0 {
			out[digest.FromBytes(def.Def[i])] = PackageOp{Records: linked}
		}
	}
	return out, nil
}
