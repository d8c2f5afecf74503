// Package frontend is envkit's BuildKit gateway frontend: it reads an
// environment file the way the Dockerfile frontend reads a Dockerfile,
// checks it, computes its hash, converts it to LLB per target platform
// (package llb) and returns the images with their configs.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/containerd/platforms"
	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/diag"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Build is the gateway build function.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	opts, err := parseOptions(c.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	c = withResolveCache(c)
	bc, err := dockerui.NewClient(withOptions(c, opts))
	if err != nil {
		return nil, err
	}
	src, err := bc.ReadEntrypoint(ctx, "YAML")
	if err != nil {
		return nil, err
	}
	if res, ok, err := bc.HandleSubrequest(ctx, dockerui.RequestHandler{}); err != nil || ok {
		return res, err
	}
	b := &builder{c: c, bc: bc, src: src, opts: opts, data: src.Data}
	if src.SourceMap != nil { // the text shown and recorded: credentials in URLs masked
		sm := *src.SourceMap
		sm.Data = channel.MaskCredentials(sm.Data)
		src.SourceMap = &sm
	}
	return b.build(ctx)
}

type builder struct {
	c    client.Client
	bc   *dockerui.Client
	src  *dockerui.Source
	opts *options
	// maps holds source maps of the files read besides the entrypoint
	// (the conda file), by the name errors give them.
	maps map[string]*llb.SourceMap
	// dir reads the files beside the environment file (load).
	dir fs.FS
	// data is the environment file as read; src's text, which source
	// maps carry into errors and the LLB, has its URLs' credentials
	// masked (channel.MaskCredentials).
	data []byte
	// creds are the hosts whose credentials (secrets) were looked for.
	creds credentials
}

func (b *builder) build(ctx context.Context) (*client.Result, error) {
	env, err := b.load(ctx)
	if err != nil {
		return nil, b.sourceError(err)
	}
	for _, w := range env.Warnings {
		var opts client.WarnOpts
		if w.File == b.opts.Filename {
			opts.Range = ranges(w) // Warn shows ranges in the environment file
		}
		b.src.Warn(ctx, w.Error(), opts)
	}
	in, err := b.input(ctx, env)
	if err != nil {
		return nil, b.sourceError(err)
	}
	cs, err := b.condaSolver(ctx, env)
	if err != nil {
		return nil, b.sourceError(err)
	}
	var condas []*envllb.Conda // by target, the order of bc.Build's idx
	if cs != nil {
		if condas, err = cs.resolve(ctx, b.targets(), b.bc.BuildPlatforms[0]); err != nil {
			return nil, b.sourceError(err)
		}
	}
	caps := b.c.BuildOpts().LLBCaps
	sb, err := newSBOMs(b.c.BuildOpts().Opts)
	if err != nil {
		return nil, err
	}
	rb, err := b.bc.Build(ctx, func(ctx context.Context, platform *ocispecs.Platform, idx int) (*dockerui.BuildResult, error) {
		var conda *envllb.Conda
		if condas != nil {
			conda = condas[idx]
		}
		if b.opts.CompileBytecode {
			c, err := b.bytecode(conda, platform)
			if err != nil {
				return nil, err
			}
			conda = c
		}
		r, err := envllb.Convert(ctx, in, platform, conda, envllb.Options{Config: b.bc.Config, Client: b.bc, MetaResolver: b.c, LLBCaps: &caps, MaxLayers: b.opts.MaxLayers})
		if err != nil {
			return nil, b.sourceError(layerLimitError(env, err))
		}
		labelLock(r.Image, conda)
		def, err := r.State.Marshal(ctx)
		if err != nil {
			return nil, fmt.Errorf("marshal LLB: %w", err)
		}
		// A conda environment is built here (Evaluate), not lazily after
		// the frontend returns, so that a failed package step comes back
		// to the frontend, which names the package.
		res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB(), CacheImports: b.bc.CacheImports, Evaluate: conda != nil})
		if err != nil {
			if conda != nil {
				err = cs.failure(err, def, conda, idx)
			}
			return nil, err
		}
		ref, err := res.SingleRef()
		if err != nil {
			return nil, err
		}
		if err := sb.add(env, in.Hash, platform, r, conda); err != nil {
			return nil, err
		}
		return &dockerui.BuildResult{Reference: ref, Image: r.Image, BaseImage: r.BaseImage, Epoch: r.Epoch}, nil
	})
	if err != nil {
		return nil, wrapLocations(err, in.SourceMap)
	}
	if err := sb.attach(ctx, b.c, rb); err != nil {
		return nil, err
	}
	return rb.Finalize()
}

// targets are the platforms bc.Build calls its function for, in its order:
// the target platforms, or the build platform when none is given.
func (b *builder) targets() []ocispecs.Platform {
	if len(b.bc.TargetPlatforms) > 0 {
		return b.bc.TargetPlatforms
	}
	return b.bc.BuildPlatforms[:1]
}

// load parses the environment file and reads, from the same directory of
// the dockerfile local and in one transfer, the conda file it names and the
// lock file the build names; the files the conda file's pip lines name
// (-r and -c files, wheels), known only once it is read, each in a
// transfer of its own when spec reads it (localDir).
func (b *builder) load(ctx context.Context) (*spec.Environment, error) {
	env, err := spec.Parse(b.opts.Filename, b.data)
	if err != nil {
		return env, err
	}
	var names []string
	for _, n := range []string{env.CondaFile, b.opts.Lockfile} {
		if n != "" && spec.IsLocal(n) {
			names = append(names, path.Clean(n))
		}
	}
	dir := path.Dir(b.opts.Filename)
	ld := &localDir{b: b, ctx: ctx, dir: dir, refs: map[string]*refFS{}}
	b.dir = ld
	if len(names) == 0 && (env.Conda == nil || len(env.Conda.Pip) == 0) {
		return env, nil
	}
	if len(names) > 0 {
		follow := make([]string, len(names))
		for i, n := range names {
			follow[i] = path.Join(dir, n)
		}
		st := b.local(b.opts.DockerfileLocal, "load "+strings.Join(names, ", "), llb.FollowPaths(follow))
		ref, err := b.solve(ctx, st)
		if err != nil {
			return nil, err
		}
		rfs := &refFS{ctx: ctx, ref: ref, root: dir, limit: spec.DefaultMaxFileSize}
		for _, n := range names {
			ld.refs[n] = rfs
		}
		if env.CondaFile != "" && spec.IsLocal(env.CondaFile) {
			if dt, err := spec.ReadFile(b.dir, path.Clean(env.CondaFile), 0); err == nil {
				b.addSourceMap(st, path.Join(dir, path.Clean(env.CondaFile)), "YAML", dt)
			}
		}
	}
	env, err = spec.Load(b.opts.Filename, b.data, b.dir)
	if env != nil { // an error in a -r file is shown in it
		for _, f := range env.PipFiles {
			if st, ok := ld.states[f.Path]; ok && !f.Wheel {
				b.addSourceMap(st, path.Join(dir, f.Path), "", f.Data)
			}
		}
	}
	return env, err
}

// localDir is the environment file's directory in the dockerfile local,
// as an fs.FS: the files loaded up front (conda file, lock), and any other
// file loaded in a transfer of its own (llb.Local with that one path)
// the first time it is read: the -r and -c files and wheels of the pip
// lines, which spec finds while it reads. Files are read whole, bounded
// by spec's limit; a wheel is read in chunks as it is hashed.
type localDir struct {
	b      *builder
	ctx    context.Context
	dir    string
	refs   map[string]*refFS    // by clean name
	states map[string]llb.State // the transfers of files loaded later, by name
}

var (
	_ fs.StatFS     = (*localDir)(nil)
	_ fs.ReadFileFS = (*localDir)(nil)
	_ fs.ReadDirFS  = (*localDir)(nil)
	_ fs.ReadLinkFS = (*localDir)(nil)
)

// ref returns the reference holding name, transferring it when needed: a
// file inside a directory transferred before (a pip line's project
// directory, which spec walks) is read from that directory's transfer.
func (d *localDir) ref(name, op string) (*refFS, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	for n := name; n != "."; n = path.Dir(n) {
		if r, ok := d.refs[n]; ok {
			return r, nil
		}
	}
	st := d.b.local(d.b.opts.DockerfileLocal, "load "+name, llb.FollowPaths([]string{path.Join(d.dir, name)}))
	ref, err := d.b.solve(d.ctx, st)
	if err != nil {
		return nil, err
	}
	r := &refFS{ctx: d.ctx, ref: ref, root: d.dir, limit: spec.DefaultMaxFileSize}
	if fi, err := r.Lstat(name); err == nil && fi.IsDir() {
		// A project directory's files are bounded by spec together.
		r.limit = spec.DefaultMaxProjectSize
	}
	d.refs[name] = r
	if d.states == nil {
		d.states = map[string]llb.State{}
	}
	d.states[name] = st
	return r, nil
}

func (d *localDir) Stat(name string) (fs.FileInfo, error) {
	r, err := d.ref(name, "stat")
	if err != nil {
		return nil, err
	}
	return r.Lstat(name)
}

func (d *localDir) Lstat(name string) (fs.FileInfo, error) { return d.Stat(name) }

func (d *localDir) ReadLink(name string) (string, error) {
	r, err := d.ref(name, "readlink")
	if err != nil {
		return "", err
	}
	return r.ReadLink(name)
}

func (d *localDir) ReadDir(name string) ([]fs.DirEntry, error) {
	r, err := d.ref(name, "readdir")
	if err != nil {
		return nil, err
	}
	return r.ReadDir(name)
}

func (d *localDir) ReadFile(name string) ([]byte, error) {
	r, err := d.ref(name, "open")
	if err != nil {
		return nil, err
	}
	return r.ReadFile(name)
}

func (d *localDir) Open(name string) (fs.File, error) {
	r, err := d.ref(name, "open")
	if err != nil {
		return nil, err
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(name, ".whl") && !fi.IsDir() {
		// A wheel is only hashed: streamed, not held whole.
		return &refStream{ctx: d.ctx, ref: r.ref, name: path.Join(d.dir, name), info: fi}, nil
	}
	return r.Open(name)
}

// input gathers what the conversion needs: the Dockerfile to run, its
// source map, the build context, and the environment hash.
func (b *builder) input(ctx context.Context, env *spec.Environment) (envllb.Input, error) {
	in := envllb.Input{Env: env}
	if env.Build == nil {
		df, aligned := envllb.Dockerfile(env)
		in.Dockerfile = df
		in.SourceMap = b.src.SourceMap
		if !aligned {
			in.SourceMap = llb.NewSourceMap(nil, b.opts.Filename+" (docker_steps)", "Dockerfile", df)
		}
		h, err := hash.Compute(env, nil)
		if err != nil {
			return in, err
		}
		in.Hash = h
		return in, nil
	}
	if env.Build.IsRemote() {
		p := env.Pos("build.path")
		return in, diag.List{{File: p.File, Line: p.Line, Column: p.Column, Field: "build.path",
			Msg:  fmt.Sprintf("remote build contexts (%s) are not supported", env.Build.Path),
			Hint: "download the context and give its directory, relative to the environment file"}}
	}
	dir := path.Clean(env.Build.Path)
	dockerfile := path.Clean(env.Build.Dockerfile)
	// First the Dockerfile and ignore files, then the context without what
	// they exclude.
	meta := b.local(b.opts.ContextLocal, "load build definition from "+path.Join(dir, dockerfile), llb.FollowPaths([]string{
		path.Join(dir, dockerfile), path.Join(dir, dockerfile) + ".dockerignore", path.Join(dir, ".dockerignore"),
	}))
	mref, err := b.solve(ctx, meta)
	if err != nil {
		return in, err
	}
	mfs := &refFS{ctx: ctx, ref: mref, root: dir, limit: spec.DefaultMaxFileSize}
	df, err := fs.ReadFile(mfs, dockerfile)
	if err != nil {
		p := env.Pos("build.path")
		return in, diag.List{{File: p.File, Line: p.Line, Column: p.Column, Field: "build",
			Msg:  fmt.Sprintf("no Dockerfile %q in the build context directory %q", dockerfile, dir),
			Hint: "build.path is relative to the build context; run the build with the environment file's directory as context"}}
	}
	patterns, err := hash.IgnorePatterns(mfs, dockerfile)
	if err != nil {
		return in, err
	}
	excludes := make([]string, 0, len(patterns))
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = path.Join(dir, strings.TrimPrefix(p, "!"))
		if neg {
			p = "!" + p
		}
		excludes = append(excludes, p)
	}
	opts := []llb.LocalOption{llb.ExcludePatterns(excludes)}
	if dir != "." {
		opts = append(opts, llb.FollowPaths([]string{dir}))
	}
	cst := b.local(b.opts.ContextLocal, "load build context", opts...)
	cref, err := b.solve(ctx, cst)
	if err != nil {
		return in, err
	}
	h, err := hash.Compute(env, &refFS{ctx: ctx, ref: cref, root: dir})
	if err != nil {
		return in, err
	}
	in.Hash = h
	if dir != "." {
		cst = llb.Scratch().File(llb.Copy(cst, dir, "/", &llb.CopyInfo{CopyDirContentsOnly: true}), llb.WithCustomName("[internal] scope build context to "+dir))
	}
	in.Context = &cst
	in.Dockerfile = df
	in.SourceMap = llb.NewSourceMap(&meta, path.Join(dir, dockerfile), "Dockerfile", df)
	return in, nil
}

func (b *builder) local(name, desc string, opts ...llb.LocalOption) llb.State {
	sid := b.c.BuildOpts().SessionID
	if v, ok := b.opts.SessionIDs[name]; ok {
		sid = v
	}
	return llb.Local(name, append([]llb.LocalOption{
		llb.SessionID(sid), llb.SharedKeyHint(name), dockerui.WithInternalName(desc),
	}, opts...)...)
}

func (b *builder) solve(ctx context.Context, st llb.State) (client.Reference, error) {
	def, err := st.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := b.c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, err
	}
	return res.SingleRef()
}

func (b *builder) addSourceMap(st llb.State, name, lang string, data []byte) {
	if b.maps == nil {
		b.maps = map[string]*llb.SourceMap{}
	}
	b.maps[name] = llb.NewSourceMap(&st, name, lang, channel.MaskCredentials(data))
}

// sourceError attaches the positions of envkit's diagnostics to err, so that
// buildx and buildctl print the file with the offending lines marked.
func (b *builder) sourceError(err error) error {
	var list diag.List
	if !errors.As(err, &list) {
		var one *diag.Error
		if !errors.As(err, &one) {
			return err
		}
		list = diag.List{one}
	}
	byFile := map[string][]*pb.Range{}
	for _, e := range list {
		if r := ranges(e); r != nil {
			byFile[e.File] = append(byFile[e.File], r...)
		}
	}
	for file, rs := range byFile {
		sm := b.maps[file]
		if file == b.opts.Filename {
			sm = b.src.SourceMap
		}
		if sm != nil {
			err = withSource(err, sm, rs)
		}
	}
	return err
}

func ranges(e *diag.Error) []*pb.Range {
	if e.Line <= 0 {
		return nil
	}
	return []*pb.Range{{Start: &pb.Position{Line: int32(e.Line), Character: int32(max(e.Column-1, 0))}, End: &pb.Position{Line: int32(e.Line)}}}
}

// withSource attaches a file and ranges in it to err.
func withSource(err error, sm *llb.SourceMap, rs []*pb.Range) error {
	info := &pb.SourceInfo{Data: sm.Data, Filename: sm.Filename, Language: sm.Language}
	if sm.Definition != nil {
		info.Definition = sm.Definition.ToPB()
	}
	return errdefs.WithSource(err, &errdefs.Source{Info: info, Ranges: rs})
}

// wrapLocations attaches Dockerfile parse error locations, as the
// Dockerfile frontend does.
func wrapLocations(err error, sm *llb.SourceMap) error {
	var el *parser.LocationError
	if sm == nil || !errors.As(err, &el) {
		return err
	}
	for _, l := range el.Locations {
		rs := make([]*pb.Range, 0, len(l))
		for _, r := range l {
			rs = append(rs, &pb.Range{Start: &pb.Position{Line: int32(r.Start.Line), Character: int32(r.Start.Character)},
				End: &pb.Position{Line: int32(r.End.Line), Character: int32(r.End.Character)}})
		}
		err = withSource(err, sm, rs)
	}
	return err
}

// bytecode asks conda's conversion to compile the environment's bytecode
// (the compile-bytecode option): with the environment's own python, which
// runs on the builder's platform only (no emulation), and needs a conda
// environment.
func (b *builder) bytecode(conda *envllb.Conda, target *ocispecs.Platform) (*envllb.Conda, error) {
	arg := strings.TrimPrefix(KeyBytecodeArg, "build-arg:") + "=1"
	if conda == nil {
		return nil, fmt.Errorf("build option %s: the environment has no conda environment whose bytecode to compile", arg)
	}
	build := b.bc.BuildPlatforms[0]
	if target == nil {
		target = &build
	}
	if t := platforms.Normalize(*target); !platforms.OnlyStrict(platforms.Normalize(build)).Match(t) {
		return nil, fmt.Errorf("build option %s: the bytecode is compiled by the environment's python for %s, which does not run on this %s builder without emulation; build %s without it, or on a %s builder",
			arg, platforms.Format(t), platforms.Format(build), platforms.Format(t), platforms.Format(t))
	}
	c := *conda
	c.CompileBytecode = true
	return &c, nil
}

// localProject returns the project directory f (a pip line's, as spec
// loaded it from the dockerfile local) that the lock names by its
// relative file: URL, as a state holding it at /<its base name>: the
// transfer spec read it from (its own files only), without what spec left
// out (spec.ProjectExcludes). The lock's sha256 must be that of the
// canonical archive of what spec read.
func (b *builder) localProject(f *spec.PipFile, rawURL, sha string) (llb.State, bool, error) {
	if f.SHA256 != sha {
		return llb.State{}, true, fmt.Errorf("%s: the lock's sha256 %s is not the project directory's (%s): lock the environment again", rawURL, sha, f.SHA256)
	}
	src := path.Join(path.Dir(b.opts.Filename), f.Path)
	var st llb.State
	if ld, ok := b.dir.(*localDir); ok && ld.states != nil {
		st, ok = ld.states[f.Path]
		if !ok {
			st = b.local(b.opts.DockerfileLocal, "pip: load "+f.Path, llb.FollowPaths([]string{src}))
		}
	} else {
		st = b.local(b.opts.DockerfileLocal, "pip: load "+f.Path, llb.FollowPaths([]string{src}))
	}
	return llb.Scratch().File(llb.Copy(st, src, "/"+path.Base(f.Path), &llb.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true, ExcludePatterns: spec.ProjectExcludes}),
		llb.WithCustomName("pip: the project directory "+f.Path)), true, nil
}

// localWheel returns a wheel the lock names by a relative file: URL
// (file:dist/x.whl, a pip line's local wheel: resolve.LocalWheel) as a
// state holding it at /<file name), transferred from the dockerfile local
// rather than fetched: it is one of the environment's own files, which
// its hash covers. ok is false for any other URL; the error is for a URL
// that names no wheel of the pip lines, or another version of it (the
// lock's sha256 is not the wheel's).
func (b *builder) localWheel(env *spec.Environment, rawURL, sha string) (st llb.State, ok bool, err error) {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.Scheme != "file" || u.Opaque == "" {
		return llb.State{}, false, nil
	}
	rel := u.Opaque
	f := env.PipFileByPath(rel)
	if f != nil && f.Project {
		return b.localProject(f, rawURL, sha)
	}
	switch {
	case f == nil || !f.Wheel:
		return llb.State{}, true, fmt.Errorf("%s: no pip line of the environment names the wheel %s", rawURL, rel)
	case f.SHA256 != sha:
		return llb.State{}, true, fmt.Errorf("%s: the lock's sha256 %s is not the wheel's (%s): lock the environment again", rawURL, sha, f.SHA256)
	}
	src := path.Join(path.Dir(b.opts.Filename), rel)
	local := b.local(b.opts.DockerfileLocal, "pip: load "+rel, llb.FollowPaths([]string{src}))
	return llb.Scratch().File(llb.Copy(local, src, "/"+path.Base(rel), &llb.CopyInfo{FollowSymlinks: true}),
		llb.WithCustomName("pip: "+path.Base(rel)+" from "+rel)), true, nil
}
