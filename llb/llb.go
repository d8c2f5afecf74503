// Package llb turns an environment definition into BuildKit LLB for one
// platform: the base (an image, or a Docker build context), then the Docker
// steps, then the conda environment merged on top, one layer per package
// (or per group of packages, within the image's layer limit: package
// budget) linked by envkit's helper (package internal/helper), one per
// wheel (or group of wheels) of its pip packages installed by the same
// helper after them, and one for the environment's metadata. It only converts: it does no I/O of its own; the
// frontend hands it what it read through the gateway.
package llb

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/envkit/envkit/spec"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/util/apicaps"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Labels envkit sets on every image, beside the OCI ones.
const (
	LabelHash    = "dev.envkit.environment.hash"
	LabelName    = "dev.envkit.environment.name"
	LabelVersion = "dev.envkit.environment.version"
	LabelKind    = "dev.envkit.environment.kind"
	// LabelInference records inference_config routes, as port and path
	// ("5001/predict"), one label per route.
	LabelInference = "dev.envkit.inference."
)

// OCI annotation keys used as labels.
const (
	ociTitle       = "org.opencontainers.image.title"
	ociVersion     = "org.opencontainers.image.version"
	ociDescription = "org.opencontainers.image.description"
	ociBaseName    = "org.opencontainers.image.base.name"
	ociBaseDigest  = "org.opencontainers.image.base.digest"
)

// Input is an environment and what was read for it.
type Input struct {
	Env  *spec.Environment
	Hash digest.Digest
	// Dockerfile holds the Docker build to run: for image environments the
	// base and Docker steps as a Dockerfile (see Dockerfile), for build
	// environments the context's Dockerfile.
	Dockerfile []byte
	// SourceMap maps Dockerfile lines to the file the user wrote, so that
	// BuildKit shows failing steps in place.
	SourceMap *bkllb.SourceMap
	// Context is the Docker build context of build environments. When nil
	// (image environments) the Dockerfile's COPY reads the build's main
	// context, with its .dockerignore, through Options.Client.
	Context *bkllb.State
}

// Options are the BuildKit services the conversion uses.
type Options struct {
	Config       dockerui.Config
	Client       *dockerui.Client
	MetaResolver bkllb.ImageMetaResolver
	LLBCaps      *apicaps.CapSet
	// MaxLayers bounds the layers of an image with a conda environment
	// (base, Docker steps and environment); 0 means DefaultMaxLayers. The
	// environment's packages share layers when they would exceed it.
	MaxLayers int
}

// Result is the converted environment for one platform.
type Result struct {
	State     bkllb.State
	Image     *dockerspec.DockerOCIImage
	BaseImage *dockerspec.DockerOCIImage
	Epoch     *time.Time
}

// Convert builds the LLB for in.Env on platform: the Docker build, then,
// when conda is given, its packages merged on top as layers.
func Convert(ctx context.Context, in Input, platform *ocispecs.Platform, conda *Conda, opt Options) (*Result, error) {
	if (in.Env.Conda != nil) != (conda != nil) {
		return nil, fmt.Errorf("internal error: the environment's conda part and its solution disagree")
	}
	co := dockerfile2llb.ConvertOpt{
		Config:         opt.Config,
		Client:         opt.Client,
		SourceMap:      in.SourceMap,
		TargetPlatform: platform,
		MetaResolver:   opt.MetaResolver,
		LLBCaps:        opt.LLBCaps,
	}
	if in.Context != nil {
		// dockerfile2llb takes the context from its client or from
		// MainContext, not both.
		co.Client, co.MainContext = nil, in.Context
	}
	co.BuildArgs = maps.Clone(co.BuildArgs)
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, in.Dockerfile, co)
	if err != nil {
		return nil, err
	}
	img, st := res.Image, res.State
	if conda != nil {
		maxLayers := opt.MaxLayers
		if maxLayers <= 0 {
			maxLayers = DefaultMaxLayers
		}
		base := in.Env.Image
		if in.Env.Build != nil {
			base = finalStageBase(in.Dockerfile)
		}
		least := 1
		if len(conda.Records) > 0 && len(conda.Wheels) > 0 {
			least = 2
		}
		n, err := packageLayers(maxLayers, dockerLayers(img, res.BaseImage), least, conda.CompileBytecode, base)
		if err != nil {
			return nil, err
		}
		c := *conda
		c.PackageLayers = n
		c.NoContentHash = opt.LLBCaps != nil && opt.LLBCaps.Supports(pb.CapExecMountContentCache) == nil
		groups, wheels, err := c.layerPlan()
		if err != nil {
			return nil, err
		}
		layers, err := c.LayersOn(st)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("conda: merge %d packages", len(c.Records))
		if len(c.Wheels) > 0 {
			name += fmt.Sprintf(" and %d wheels", len(c.Wheels))
		}
		if len(groups)+len(wheels) < len(c.Records)+len(c.Wheels) {
			name += fmt.Sprintf(" in %d layers", len(groups)+len(wheels))
		}
		st = bkllb.Merge(append([]bkllb.State{st}, layers...), bkllb.WithCustomName(name))
		img.Config.Env = condaEnv(c.Prefix, img.Config.Env)
		for _, g := range groups {
			h := ocispecs.History{Created: res.Epoch, CreatedBy: "envkit: conda package " + g[0].Dist(), Comment: g[0].URL}
			if len(g) > 1 {
				dists := make([]string, len(g))
				for i, r := range g {
					dists[i] = r.Dist()
				}
				h = ocispecs.History{Created: res.Epoch, CreatedBy: fmt.Sprintf("envkit: conda packages (%d) %s", len(g), strings.Join(dists, " "))}
			}
			img.History = append(img.History, h)
		}
		for _, g := range wheels {
			h := ocispecs.History{Created: res.Epoch, CreatedBy: "envkit: pip package " + g[0].Dist(), Comment: g[0].URL}
			switch {
			case g[0].Project:
				h.CreatedBy += " (a wheel built from its project directory)"
			case g[0].Sdist:
				h.CreatedBy += " (a wheel built from its sdist)"
			}
			if len(g) > 1 {
				dists := make([]string, len(g))
				for i, w := range g {
					dists[i] = w.Dist()
				}
				h = ocispecs.History{Created: res.Epoch, CreatedBy: fmt.Sprintf("envkit: pip packages (%d) %s", len(g), strings.Join(dists, " "))}
			}
			img.History = append(img.History, h)
		}
		img.History = append(img.History, ocispecs.History{Created: res.Epoch, CreatedBy: "envkit: conda environment metadata (conda-meta history, state, lock)"})
		if c.CompileBytecode {
			bc, err := c.bytecodeLayer(st)
			if err != nil {
				return nil, err
			}
			st = bkllb.Merge([]bkllb.State{st, bc}, bkllb.WithCustomName("python: merge the bytecode layer"))
			img.History = append(img.History, ocispecs.History{Created: res.Epoch, CreatedBy: "envkit: python bytecode (compileall, unchecked-hash)"})
		}
	}
	baseName, baseDigest := baseReference(ctx, in, platform, opt.MetaResolver)
	setConfig(img, in, baseName, baseDigest)
	return &Result{State: st, Image: img, BaseImage: res.BaseImage, Epoch: res.Epoch}, nil
}

// Dockerfile writes an image environment's base and Docker steps as a
// Dockerfile whose instructions stand on the same lines as in the
// environment file, so that one source map serves both. aligned is false
// when that is impossible (steps before image:, or several steps on one
// line as in an SDK v1 JSON string); the Dockerfile then stands alone.
func Dockerfile(env *spec.Environment) (df []byte, aligned bool) {
	from := "FROM " + env.Image + "\n"
	ds := env.DockerSteps
	if ds == nil {
		ds = &spec.DockerSteps{}
	}
	imageLine := env.Pos("image").Line
	lines := strings.Split(strings.TrimSuffix(ds.Text, "\n"), "\n")
	if ds.Text == "" {
		lines = nil
	}
	aligned = imageLine > 0
	prev := imageLine
	for i := range lines {
		l := ds.StepLine(i + 1)
		if l <= prev {
			aligned = false
			break
		}
		prev = l
	}
	if !aligned {
		return []byte(from + ds.Text), false
	}
	var b strings.Builder
	b.WriteString(strings.Repeat("\n", imageLine-1))
	b.WriteString(from)
	cur := imageLine + 1
	for i, text := range lines {
		l := ds.StepLine(i + 1)
		b.WriteString(strings.Repeat("\n", l-cur))
		b.WriteString(text)
		b.WriteString("\n")
		cur = l + 1
	}
	return []byte(b.String()), true
}

// baseReference names the image the result is built on: image: for image
// environments, the final stage's FROM for build environments (when it is a
// plain reference). The digest comes from the registry.
func baseReference(ctx context.Context, in Input, platform *ocispecs.Platform, mr bkllb.ImageMetaResolver) (string, digest.Digest) {
	name := in.Env.Image
	if in.Env.Build != nil {
		name = finalStageBase(in.Dockerfile)
	}
	if name == "" || mr == nil {
		return name, ""
	}
	_, dgst, _, err := mr.ResolveImageConfig(ctx, name, sourceresolverOpt(platform))
	if err != nil {
		return name, ""
	}
	return name, dgst
}

// finalStageBase returns the base image of a Dockerfile's last stage,
// following stage names; "" when it is scratch or depends on build args.
func finalStageBase(df []byte) string {
	ast, err := parser.Parse(strings.NewReader(string(df)))
	if err != nil {
		return ""
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil || len(stages) == 0 {
		return ""
	}
	byName := map[string]string{}
	for _, s := range stages {
		if s.Name != "" {
			byName[strings.ToLower(s.Name)] = s.BaseName
		}
	}
	name := stages[len(stages)-1].BaseName
	for i := 0; i < len(stages); i++ {
		next, ok := byName[strings.ToLower(name)]
		if !ok {
			break
		}
		name = next
	}
	if strings.Contains(name, "$") || name == "scratch" {
		return ""
	}
	return name
}

// setConfig adds envkit's environment variables, labels and ports to the
// image config that the Dockerfile conversion carried forward from the base.
func setConfig(img *dockerspec.DockerOCIImage, in Input, baseName string, baseDigest digest.Digest) {
	env := in.Env
	for _, kv := range env.Env() {
		img.Config.Env = setEnv(img.Config.Env, kv.Key, kv.Value)
	}
	if img.Config.Labels == nil {
		img.Config.Labels = map[string]string{}
	}
	l := img.Config.Labels
	set := func(k, v string) {
		if v != "" {
			l[k] = v
		}
	}
	set(ociTitle, env.Name)
	set(ociVersion, env.Version)
	set(ociDescription, env.Description)
	set(ociBaseName, baseName)
	set(ociBaseDigest, baseDigest.String())
	set(LabelHash, in.Hash.String())
	set(LabelName, env.Name)
	set(LabelVersion, env.Version)
	set(LabelKind, string(env.Kind()))
	if ic := env.InferenceConfig; ic != nil {
		if img.Config.ExposedPorts == nil {
			img.Config.ExposedPorts = map[string]struct{}{}
		}
		for name, r := range map[string]spec.Route{"liveness_route": ic.Liveness, "readiness_route": ic.Readiness, "scoring_route": ic.Scoring} {
			l[LabelInference+name] = strconv.Itoa(r.Port) + r.Path
			img.Config.ExposedPorts[strconv.Itoa(r.Port)+"/tcp"] = struct{}{}
		}
	}
}

// setEnv sets KEY=value in a Docker env list, replacing an existing KEY.
func setEnv(list []string, key, value string) []string {
	kv := key + "=" + value
	for i, e := range list {
		if k, _, _ := strings.Cut(e, "="); k == key {
			list[i] = kv
			return list
		}
	}
	return append(list, kv)
}
