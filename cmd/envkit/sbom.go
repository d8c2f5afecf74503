package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/envkit/envkit/conda/lock"
	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/hash"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/sbom"
	"github.com/envkit/envkit/workspace"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

const sbomLong = `Prints the software bill of materials of an environment image for one
platform, the document a build with --sbom=true (attest:sbom) attaches, without
building: the base image by digest and every conda package of the lock (name,
version, archive sha256, licence, download URL, pkg:conda purl), with what
depends on what.
  FILE   an environment file: its lock is --lockfile's, else the one the
         workspace stored for its hash (--workspace, $ENVKIT_WORKSPACE), each
         reused when still fresh, else solved as envkit lock does; the base
         image's digest is asked of its registry
  REF    an image reference (with a "/"): the lock the image keeps and its labels
  NAME:VERSION, NAME@latest, envkit_<hash>: a registered or curated environment
--format spdx (SPDX 2.3 JSON, default) or cyclonedx (CycloneDX 1.5 JSON).
The document is dated $SOURCE_DATE_EPOCH (as a build given that build
argument), else the Unix epoch: the same lock and base give the same bytes.`

type sbomOptions struct {
	platform, format, lockfile, workspace string
}

func sbomCmd() *cobra.Command {
	var o sbomOptions
	c := &cobra.Command{
		Use:   "sbom FILE|REF",
		Short: "print an environment image's SBOM (SPDX or CycloneDX) without building",
		Long:  sbomLong,
		Example: "  envkit sbom environment.yml --platform linux/arm64\n" +
			"  envkit sbom environment.yml --format cyclonedx --lockfile conda-lock.yml\n" +
			"  envkit sbom 127.0.0.1:5765/envkit/images:envkit_00bd8a6461ecbcc3d4abe39ed19c72b4",
		Args: exactArgs("FILE|REF"),
		RunE: func(c *cobra.Command, args []string) error {
			if o.format != "spdx" && o.format != "cyclonedx" {
				return usageErrorf("--format %q: want spdx or cyclonedx", o.format)
			}
			p, err := platforms.Parse(o.platform)
			if err != nil {
				return usageErrorf("--platform %q: %v", o.platform, err)
			}
			return exit(runSBOM(&o, args[0], platforms.Normalize(p), c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.platform, "platform", platforms.DefaultString(), "the image's platform, e.g. linux/arm64")
	fl.StringVar(&o.format, "format", "spdx", "spdx or cyclonedx")
	fl.StringVar(&o.lockfile, "lockfile", "", "the conda lock to list (any format envkit reads), reused when fresh")
	fl.StringVar(&o.workspace, "workspace", "", "the workspace holding the hash's stored lock or the environment REF (default $"+workspace.EnvVar+")")
	addReadFlags(c)
	return c
}

func runSBOM(o *sbomOptions, arg string, p platforms.Platform, stdout, stderr io.Writer) int {
	ctx, cancel := interruptible()
	defer cancel()
	var in sbom.Environment
	code := exitOK
	if _, err := os.Stat(arg); err == nil {
		in, code = sbomOfFile(ctx, o, arg, p, stderr)
	} else if strings.Contains(arg, "/") {
		if _, perr := name.ParseReference(arg); perr != nil {
			fmt.Fprintf(stderr, "envkit sbom: %s: no such file, and not an image reference (%v)\n", arg, perr)
			return exitUsage
		}
		in, err = sbomOfImage(ctx, arg, p)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
	} else {
		if _, perr := workspace.ParseRef(arg); perr != nil {
			fmt.Fprintf(stderr, "envkit sbom: %s: no such file, and %v\n", arg, perr)
			return exitUsage
		}
		dir, err := os.MkdirTemp("", "envkit-sbom-")
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		defer os.RemoveAll(dir)
		file, err := lookupDefinition(ctx, buildOptions{envRef: arg, workspace: o.workspace}, nil, dir, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		in, code = sbomOfFile(ctx, o, file, p, stderr)
	}
	if code != exitOK {
		return code
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "envkit sbom: SOURCE_DATE_EPOCH=%q: want seconds since the epoch\n", s)
			return exitUsage
		}
		in.Created = time.Unix(sec, 0)
	}
	d, err := sbom.New(in)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	var out []byte
	if o.format == "cyclonedx" {
		out, err = d.CycloneDX()
	} else {
		out, err = d.SPDX()
	}
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	_, _ = stdout.Write(out)
	return exitOK
}

// sbomOfFile is what the frontend would list for the environment file: its
// base image, and the lock it would install for the platform.
func sbomOfFile(ctx context.Context, o *sbomOptions, file string, p platforms.Platform, stderr io.Writer) (sbom.Environment, int) {
	var in sbom.Environment
	env, err := loadEnvironment(file)
	if err != nil {
		printDiagnostics(stderr, err)
		return in, exitFailure
	}
	ctxFS, err := buildContextFS(file, env)
	if err != nil {
		printDiagnostics(stderr, err)
		return in, exitFailure
	}
	h, err := hash.Compute(env, ctxFS)
	baseRef := env.Image
	if err == nil && env.Build != nil {
		// The conversion labels the final stage's base; the context and
		// its Dockerfile were just read by the hash.
		df, derr := fs.ReadFile(ctxFS, path.Clean(env.Build.Dockerfile))
		if derr == nil {
			baseRef = envllb.FinalStageBase(df)
		}
	}
	closeFS(ctxFS)
	if err != nil {
		printDiagnostics(stderr, err)
		return in, exitFailure
	}
	short := hash.Short(h)
	in = sbom.Environment{Name: env.Name, Version: env.Version, Hash: short, Platform: platforms.Format(p)}
	if in.Name == "" {
		in.Name = short
	}
	if baseRef != "" {
		in.Base = sbom.Image{Ref: baseRef}
		if in.Base.Digest, err = imageDigest(ctx, baseRef); err != nil {
			fmt.Fprintf(stderr, "envkit: warning: the base image's digest is not listed: %v\n", err)
		}
	}
	if env.Conda == nil {
		return in, exitOK
	}
	subdir, err := condaplatform.FromOCI(platforms.Format(p))
	if err != nil {
		fmt.Fprintf(stderr, "envkit sbom: --platform %s: %v\n", platforms.Format(p), err)
		return in, exitUsage
	}
	req, ef, code := lockRequest(&lockOptions{file: file, platforms: []string{string(subdir)}, priority: "strict", solverTimeout: solver.DefaultTimeout}, nil, stderr)
	if code != exitOK {
		return in, code
	}
	prevName, prev, err := previousLock(ctx, o, short)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return in, exitFailure
	}
	if prev != nil {
		if req.Previous, err = lock.Read(prevName, prev); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return in, exitFailure
		}
		req.Previous.Redact() // credentials are never written (credentials.go)
	}
	l, err := resolve.Resolve(ctx, *req)
	if err != nil {
		return in, lockFailure(stderr, err, ef, false, req.Gateway)
	}
	if in.Lock, err = installedLock(l, string(subdir)); err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return in, exitFailure
	}
	in.Subdir = string(subdir)
	return in, exitOK
}

// previousLock is the lock to reuse: --lockfile's, else the one the
// workspace stored for hash; nil when neither.
func previousLock(ctx context.Context, o *sbomOptions, hash string) (string, []byte, error) {
	if o.lockfile != "" {
		dir, data, err := readConfined(o.lockfile, maxLockfileSize)
		if err != nil {
			return "", nil, err
		}
		dir.Close()
		return o.lockfile, data, nil
	}
	addr := workspaceAddr(o.workspace, nil)
	if addr == "" {
		return "", nil, nil
	}
	ws, err := workspace.Open(addr)
	if err != nil {
		return "", nil, err
	}
	store, err := newWSStore(ws)
	if err != nil {
		return "", nil, err
	}
	data, err := store.Lock(ctx, hash)
	return store.LockRef(hash), data, err
}

// installedLock is the lock of subdir as the frontend installs it and the
// image keeps it: written as a conda-lock file and read back.
func installedLock(l *lock.Lock, subdir string) (*lock.Lock, error) {
	one := &lock.Lock{Platforms: []string{subdir}, Channels: l.Channels, ContentHash: map[string]string{subdir: l.ContentHash[subdir]}}
	for _, p := range l.Packages {
		if p.Platform == subdir {
			one.Packages = append(one.Packages, p)
		}
	}
	var buf bytes.Buffer
	if err := lock.WriteCondaLock(&buf, one); err != nil {
		return nil, err
	}
	return lock.Read(envllb.LockPath, buf.Bytes())
}

// imageDigest is the digest ref resolves to: its index's for a
// multi-platform image, as BuildKit records a base.
func imageDigest(ctx context.Context, ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	desc, err := remote.Head(r, registryOptions(ctx)...)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", ref, err)
	}
	return desc.Digest.String(), nil
}

// sbomOfImage lists what the image ref keeps for platform p: its base
// (labels) and the lock in its metadata layer, checked against its label.
func sbomOfImage(ctx context.Context, ref string, p platforms.Platform) (sbom.Environment, error) {
	var in sbom.Environment
	r, err := name.ParseReference(ref)
	if err != nil {
		return in, fmt.Errorf("image %q: %w", ref, err)
	}
	desc, err := remote.Get(r, registryOptions(ctx)...)
	if err != nil {
		return in, fmt.Errorf("read %s: %w", ref, err)
	}
	img, err := platformImage(desc, p)
	if err != nil {
		return in, fmt.Errorf("%s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return in, fmt.Errorf("%s: %w", ref, err)
	}
	labels := cf.Config.Labels
	in = sbom.Environment{Name: labels[envllb.LabelName], Version: labels[envllb.LabelVersion],
		Platform: platforms.Format(platforms.Normalize(platforms.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant})),
		Base:     sbom.Image{Ref: labels[labelBaseName], Digest: labels[labelBaseDigest]}}
	if h := labels[envllb.LabelHash]; h != "" {
		in.Hash = hash.Short(digest.Digest(h))
	}
	if in.Name == "" {
		in.Name = in.Hash
	}
	want := labels[frontend.LabelLockDigest]
	if want == "" && labels[envllb.LabelKind] != "system-managed" {
		return in, nil // no conda environment
	}
	data, err := fileInImage(img, strings.TrimPrefix(path.Join(envllb.DefaultPrefix, envllb.LockPath), "/"))
	if err != nil {
		return in, fmt.Errorf("%s: %w", ref, err)
	}
	if want != "" && digest.FromBytes(data).String() != want {
		return in, fmt.Errorf("%s: its lock %s has digest %s, its label %s says %s", ref, envllb.LockPath, digest.FromBytes(data), frontend.LabelLockDigest, want)
	}
	if in.Lock, err = lock.Read(envllb.LockPath, data); err != nil {
		return in, fmt.Errorf("%s: %w", ref, err)
	}
	if len(in.Lock.Platforms) == 1 {
		in.Subdir = in.Lock.Platforms[0]
	}
	return in, nil
}

// platformImage is the image of desc for p: desc itself, or the one of its
// index for p.
func platformImage(desc *remote.Descriptor, p platforms.Platform) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	match := platforms.OnlyStrict(p)
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.OS == "unknown" || !m.MediaType.IsImage() {
			continue
		}
		mp := platforms.Platform{OS: m.Platform.OS, Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}
		if match.Match(mp) {
			return idx.Image(m.Digest)
		}
		have = append(have, platforms.Format(mp))
	}
	return nil, fmt.Errorf("no image for %s (it has %s); choose one with --platform", platforms.Format(p), strings.Join(have, ", "))
}
