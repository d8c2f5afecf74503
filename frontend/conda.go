package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/lock"
	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// layerLimitError points a base image that leaves no layer for the conda
// environment's packages at the environment file's base (image: or
// build:) and says how to raise the limit; other errors pass.
func layerLimitError(env *spec.Environment, err error) error {
	var le *envllb.LayerLimitError
	if !errors.As(err, &le) {
		return err
	}
	field := "image"
	if env.Build != nil {
		field = "build"
	}
	p := env.Pos(field)
	return diag.List{{File: p.File, Line: p.Line, Column: p.Column, Field: field, Msg: le.Error(),
		Hint: fmt.Sprintf("raise the limit to %d or more with the build option %s=N or --build-arg %s=N, or use a base image with fewer layers",
			le.Need(), KeyMaxLayers, strings.TrimPrefix(KeyMaxLayersArg, "build-arg:"))}}
}

// condaSolver resolves an environment's conda part for all target
// platforms at once, fetching repodata through BuildKit.
type condaSolver struct {
	b       *builder
	env     *spec.Environment
	gateway *repodata.Gateway
	// transport fetches the gateway's repodata through BuildKit.
	transport *buildkitTransport
	// origins say, by target (resolve's order), why each package is in
	// the environment (resolve.Origins), for naming a failed package.
	origins []map[string]resolve.Origin
	// pips are the targets' pip parts (nil without pip lines), for naming
	// a failed wheel.
	pips []*pipEnv
	// previous is the build's lock file: a platform it locks for this very
	// request is installed as locked, without fetching repodata or
	// solving; otherwise its packages are preferred.
	previous *lock.Lock
}

func (b *builder) condaSolver(ctx context.Context, env *spec.Environment) (*condaSolver, error) {
	if env.Conda == nil {
		return nil, nil
	}
	if b.opts.HelperImage == "" {
		p := env.Pos("conda_file")
		return nil, diag.List{{File: p.File, Line: p.Line, Column: p.Column, Field: "conda_file",
			Msg:  "a conda environment needs envkit's frontend image to link its packages",
			Hint: "build through the frontend image (# syntax=, or buildctl --frontend gateway.v0 --opt " + KeySource + "=...), or pass --opt " + KeyHelperImage + "=<image>"}}
	}
	if err := unreachableChannels(env.Conda); err != nil {
		return nil, err
	}
	tr := &buildkitTransport{ctx: ctx, c: b.c, inURL: urlCredentialHosts(envfile.Values(env.Conda.Channels))}
	gw := &repodata.Gateway{Client: &http.Client{Transport: tr}}
	cs := &condaSolver{b: b, env: env, gateway: gw, transport: tr}
	if lf := b.opts.Lockfile; lf != "" {
		data, err := spec.ReadFile(b.dir, lf, 0)
		if err != nil {
			return nil, fmt.Errorf("lock file %q (relative to %s): %w", lf, b.opts.Filename, err)
		}
		if cs.previous, err = lock.Read(lf, data); err != nil {
			return nil, err
		}
		cs.previous.Redact() // credentials reach BuildKit as secrets alone (auth.go)
	}
	return cs, nil
}

// unreachableChannels reports the first channel of ef that BuildKit
// cannot fetch from (a local path or a file:// URL), at its line: one of
// its channels, or one that a dependency names (file:///srv/ch::pkg).
func unreachableChannels(ef *envfile.EnvFile) diag.List {
	const hint = "use a channel name or an http(s) URL"
	reachable := func(c string) bool {
		chs, err := channel.Expand(c) // "defaults": the channels it names
		for _, ch := range chs {
			if !isHTTP(ch.BaseURL) {
				return false
			}
		}
		return err == nil
	}
	for _, c := range ef.Channels {
		if c.Value != "nodefaults" && !reachable(c.Value) {
			return diag.List{{File: ef.File, Line: c.Line, Column: c.Column, Field: "channels",
				Msg: fmt.Sprintf("channel %q is not reachable from BuildKit", channel.Redact(c.Value)), Hint: hint}}
		}
	}
	for _, d := range ef.Dependencies {
		if c, ok := resolve.SpecChannel(d.Value); ok && !reachable(c) {
			return diag.List{{File: ef.File, Line: d.Line, Column: d.Column, Field: "dependencies",
				Msg: fmt.Sprintf("channel %q, which this dependency names, is not reachable from BuildKit", channel.Redact(c)), Hint: hint}}
		}
	}
	return nil
}

// resolve resolves the environment for every target platform in one
// resolve.Resolve, before any platform's LLB is built: the repodata of all
// their subdirs is fetched once and concurrently, and the platforms are
// solved in parallel. It returns each target's layers, in targets' order;
// build is the platform the helper runs on.
func (s *condaSolver) resolve(ctx context.Context, targets []ocispecs.Platform, build ocispecs.Platform) ([]*envllb.Conda, error) {
	subdirs := make([]string, len(targets))
	for i, p := range targets {
		cp, err := condaplatform.FromOCI(platforms.Format(p))
		if err != nil {
			return nil, err
		}
		subdirs[i] = string(cp)
	}
	ef := s.env.Conda
	req := resolve.Request{
		Specs:     envfile.Values(ef.Dependencies),
		Channels:  envfile.Values(ef.Channels),
		Platforms: subdirs, // resolve drops repeats
		Gateway:   s.gateway,
		Previous:  s.previous,
	}
	pip, err := s.pipRequest(ctx)
	if err != nil {
		return nil, err
	}
	req.Pip = pip
	if s.previous != nil {
		for i, subdir := range subdirs {
			if slices.Contains(subdirs[:i], subdir) {
				continue
			}
			var stale *resolve.StaleError
			if err := req.CheckLock(s.previous, subdir); errors.As(err, &stale) {
				s.b.src.Warn(ctx, fmt.Sprintf("%s: %v; solving again, preferring its packages", s.b.opts.Lockfile, stale), client.WarnOpts{})
			} else if err != nil {
				return nil, s.solveError(err)
			}
		}
	}
	// The channels the resolve queries, with those only a spec names.
	channels := requestChannels(req.Channels, req.Specs)
	var auth envllb.Auth
	if s.transport != nil { // nil: the gateway fetches directly (tests)
		var err error
		if auth, err = s.b.credentials(ctx, append(channelHosts(channels), urlHosts(pipIndexes(req)...)...), build); err != nil {
			return nil, err
		}
		s.transport.auth = auth
	}
	if s.transport != nil && !s.locked(req, subdirs) {
		absent, err := s.b.probe(ctx, probeURLs(channels, subdirs), build, time.Now(), auth)
		if err != nil {
			s.b.src.Warn(ctx, fmt.Sprintf("probing the channels for their repodata files: %v (fetching each form in turn)", err), client.WarnOpts{})
		}
		s.transport.absent = absent
	}
	l, err := resolve.Resolve(ctx, req)
	if err != nil {
		return nil, s.transport.explain(s.solveError(err))
	}
	if s.transport != nil { // packages may come from other hosts (CEP 15 base_url)
		if auth, err = s.b.credentials(ctx, urlHosts(packageURLs(l)...), build); err != nil {
			return nil, err
		}
	}
	helperImage := llb.Image(s.b.opts.HelperImage, llb.Platform(build), llb.WithMetaResolver(s.b.c))
	out := make([]*envllb.Conda, len(targets))
	s.origins = make([]map[string]resolve.Origin, len(targets))
	s.pips = make([]*pipEnv, len(targets))
	for i, subdir := range subdirs {
		// Each image keeps the lock of its own platform, so that its
		// metadata layer does not change with the other targets.
		var lockYAML bytes.Buffer
		if err := lock.WriteCondaLock(&lockYAML, platformLock(l, subdir)); err != nil {
			return nil, err
		}
		// The packages are installed as that lock gives them, whether they
		// were just solved or came from a lock file: a later build of the
		// same environment from its stored lock (after a base patch) then
		// links byte-identical inputs, and every package layer is reused.
		kept, err := lock.Read(helper.LockFile, lockYAML.Bytes())
		if err != nil {
			return nil, fmt.Errorf("reading back the lock of %s: %w", subdir, err)
		}
		recs, err := kept.Records(subdir)
		if err != nil {
			return nil, err
		}
		s.origins[i] = resolve.Origins(req.Specs, recs)
		if s.pips[i], err = s.pipEnv(kept, subdir, recs); err != nil {
			return nil, err
		}
		out[i] = &envllb.Conda{
			Records:    recs,
			Specs:      req.Specs,
			Lock:       lockYAML.Bytes(),
			Variables:  variables(ef),
			Prefix:     envllb.DefaultPrefix,
			Subdir:     subdir,
			Helper:     helperImage,
			HelperPath: helper.Path,
			Locations:  packageLocations(s.origins[i], ef, s.sourceMap()),
			Auth:       auth,
		}
		if pe := s.pips[i]; pe != nil {
			if t, b := platforms.Normalize(targets[i]), platforms.Normalize(build); !platforms.OnlyStrict(b).Match(t) {
				if err := pe.sdistPlatformError(platforms.Format(t), platforms.Format(b)); err != nil {
					return nil, err
				}
			}
			out[i].Wheels, out[i].WheelLocations = pe.wheels, pe.locations(s.sourceMap())
			// An sdist's build takes its build dependencies from the
			// request's indexes (llb refuses one with credentials).
			out[i].PipIndexes = pipIndexes(req)
		}
	}
	return out, nil
}

// sourceMap is the conda file's source map: its own file's, or the
// environment file's when the conda environment is written inline; nil
// when there is none.
func (s *condaSolver) sourceMap() *llb.SourceMap {
	if s.env.Conda.File == s.b.opts.Filename {
		if s.b.src == nil {
			return nil
		}
		return s.b.src.SourceMap
	}
	return s.b.maps[s.env.Conda.File]
}

// failure names the conda package behind err, the failure of solving
// def, target idx's image, when a step of that package failed: which
// package, from where, and the line of the conda file that brought it in,
// marked in the conda file.
func (s *condaSolver) failure(err error, def *llb.Definition, c *envllb.Conda, idx int) error {
	ops, perr := envllb.PackageOps(def, c.Records)
	if perr != nil {
		return err
	}
	if pe := s.pips[idx]; pe != nil && !failedIn(err, ops) {
		wops, werr := envllb.WheelOps(def, c.Wheels)
		if werr != nil {
			return err
		}
		// refusedFetch reads a failed fetch's URL from its records.
		fetches := map[digest.Digest]envllb.PackageOp{}
		for d, op := range wops {
			if op.Fetch {
				fetches[d] = envllb.PackageOp{Fetch: true, Records: []*record.RepoDataRecord{{URL: op.Wheels[0].URL}}}
			}
		}
		return refusedFetch(withPackageSource(wheelError(err, wops, pe), s.sourceMap()), err, fetches, c.Auth)
	}
	return refusedFetch(withPackageSource(packageError(err, ops, s.origins[idx], s.env.Conda), s.sourceMap()), err, ops, c.Auth)
}

// locked reports whether the build's lock file locks every platform for
// this very request, so that no repodata is fetched.
func (s *condaSolver) locked(req resolve.Request, subdirs []string) bool {
	if s.previous == nil {
		return false
	}
	for _, subdir := range subdirs {
		h, err := req.Hash(subdir)
		if err != nil || s.previous.Stale(subdir, h) {
			return false
		}
	}
	return true
}

// platformLock is the part of l for one platform.
func platformLock(l *lock.Lock, platform string) *lock.Lock {
	out := &lock.Lock{
		Platforms:   []string{platform},
		Channels:    l.Channels,
		ContentHash: map[string]string{platform: l.ContentHash[platform]},
		Sources:     l.Sources,
		Notes:       l.Notes,
	}
	for _, p := range l.Packages {
		if p.Platform == platform {
			out.Packages = append(out.Packages, p)
		}
	}
	return out
}

// solveError points an invalid spec or platform at its line of the conda
// file.
func (s *condaSolver) solveError(err error) error {
	if d := resolve.InEnvFile(err, s.env.Conda); d != nil {
		return d
	}
	return err
}

func variables(ef *envfile.EnvFile) map[string]string {
	if len(ef.Variables) == 0 {
		return nil
	}
	m := make(map[string]string, len(ef.Variables))
	for _, kv := range ef.Variables {
		m[kv.Key] = kv.Value
	}
	return m
}
