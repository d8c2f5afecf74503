package llb

import (
	"github.com/moby/buildkit/client/llb/sourceresolver"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func sourceresolverOpt(platform *ocispecs.Platform) sourceresolver.Opt {
	return sourceresolver.Opt{
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: platform},
	}
}
