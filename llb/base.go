package llb

// FinalStageBase is the base image a build context's Dockerfile ends on,
// as the conversion labels it (org.opencontainers.image.base.name): its
// last stage's FROM, following stage names; "" when that is scratch or
// depends on build args.
func FinalStageBase(dockerfile []byte) string { return finalStageBase(dockerfile) }
