package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	dockerconfig "github.com/docker/cli/cli/config"
	bkbuild "github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/stack"
	envllb "github.com/envkit/envkit/llb"
	"github.com/envkit/envkit/spec"
	"github.com/envkit/envkit/workspace"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// buildOptions is what `envkit build` needs once its flags are read.
type buildOptions struct {
	file      string // environment file
	addr      string // buildkitd address
	ref       string // image reference to push
	platforms []string
	progress  string
	insecure  bool     // the registry speaks plain HTTP
	helper    string   // envkit's frontend image, whose binary links conda packages
	json      bool     // print the result as JSON
	relock    bool     // resolve unpinned packages anew, and build
	rebuild   bool     // build even when an image of the hash exists, with its stored lock
	names     []string // the references the image is pushed to
	lock      []byte   // a conda lock to install (the hash's stored lock)
	workspace string   // --workspace
	envRef    string   // a registered or curated environment to build instead of file
	patch     bool     // envkit patch: report the layers a rebuild changed
	cacheFrom []string // --cache-from: BuildKit cache imports, buildctl's syntax
	cacheTo   []string // --cache-to: BuildKit cache exports
	// cacheImports and cacheExports are cacheFrom and cacheTo parsed.
	cacheImports, cacheExports []client.CacheOptionsEntry
	secrets                    []string          // --secret
	authSecrets                map[string][]byte // the session's secrets, by id (buildSecrets)
	// compression and compressionLevel are the image's layer compression
	// (the image exporter's compression and compression-level); level ""
	// is envkit's default level for the compression.
	compression      string
	compressionLevel string
	// exporterAttrs are the image exporter's attributes they give.
	exporterAttrs map[string]string
	// maxLayersFlag is --max-layers as given; maxLayers is its value, 0
	// for the frontend's default (frontend.KeyMaxLayers).
	maxLayersFlag string
	maxLayers     int
}

// parseMaxLayers reads --max-layers: a number of layers, 1 or more; "" or
// 0 is the frontend's default.
func parseMaxLayers(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, usageErrorf("--max-layers %q: want a number of layers, 1 or more (0: the default, %d)", v, envllb.DefaultMaxLayers)
	}
	return n, nil
}

// The layer compression envkit build uses by default: gzip at its fastest
// level, which every registry and runtime reads (Docker 20.10 does not
// read zstd) and which, as go-containerregistry's default (crane, ko),
// compresses a conda environment's shared libraries about 10% less than
// gzip's default level in half the time, and incompressible payloads six
// times faster.
const (
	defaultCompression      = "gzip"
	defaultCompressionLevel = 1
)

// exporterCompression is what opt's --compression and --compression-level
// give the image exporter's attributes, or a usage error.
func exporterCompression(opt buildOptions) (map[string]string, error) {
	attrs := map[string]string{"compression": opt.compression}
	levelSet := opt.compressionLevel != ""
	level := 0
	if levelSet {
		var err error
		if level, err = strconv.Atoi(opt.compressionLevel); err != nil {
			return nil, usageErrorf("--compression-level %q: not a number", opt.compressionLevel)
		}
	}
	switch opt.compression {
	case "gzip":
		if !levelSet {
			level = defaultCompressionLevel
		}
		if level < 1 || level > 9 {
			return nil, usageErrorf("--compression-level %d: gzip's levels are 1 to 9", level)
		}
	case "zstd":
		if levelSet && (level < 1 || level > 22) {
			return nil, usageErrorf("--compression-level %d: zstd's levels are 1 to 22", level)
		}
	case "uncompressed":
		if levelSet {
			return nil, usageErrorf("--compression-level: uncompressed layers have no level")
		}
	default:
		return nil, usageErrorf("--compression %q: want gzip, zstd or uncompressed", opt.compression)
	}
	if level > 0 {
		attrs["compression-level"] = strconv.Itoa(level)
	}
	return attrs, nil
}

// lookupDefinition writes the registered or curated environment opt.envRef
// names into dir and returns its environment file's path there.
func lookupDefinition(ctx context.Context, opt buildOptions, local *localStack, dir string, stderr io.Writer) (string, error) {
	ref, err := workspace.ParseRef(opt.envRef)
	if err != nil {
		return "", err
	}
	var ws *workspace.Workspace
	if addr := workspaceAddr(opt.workspace, local); addr != "" {
		if ws, err = workspace.Open(addr); err != nil {
			return "", err
		}
	} else if ref.Hash != "" || !workspace.IsReserved(ref.Name) {
		return "", fmt.Errorf("%s: give the workspace that registers it with --workspace or $%s", opt.envRef, workspace.EnvVar)
	} else if ws, err = workspace.Open(workspace.DefaultAddress); err != nil { // curated: the catalog, not the registry
		return "", err
	}
	def, err := ws.Lookup(ctx, ref)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "envkit: %s is %s:%s (%s)\n", opt.envRef, def.Name, def.Version, def.Hash)
	return def.WriteFiles(dir)
}

func buildCmd() *cobra.Command {
	var opt buildOptions
	return buildCommand(&opt)
}

// buildCommand is `envkit build` on opt (patch's too).
func buildCommand(opt *buildOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "build [FILE|REF]",
		Short: "build an environment image through buildkitd (the embedded quickstart when no FILE)",
		Long: "Builds the environment FILE with envkit's frontend, run in this process against buildkitd,\n" +
			"and pushes the image; prints REF@DIGEST on stdout. Without --addr (or BUILDKIT_HOST) it starts\n" +
			"or reuses envkit's local buildkitd and registry; without FILE it builds the embedded quickstart.\n" +
			"REF builds a registered or curated environment (NAME:VERSION, NAME@latest, azureml:..., a hash).\n\n" +
			"Images go to the workspace (--workspace, $ENVKIT_WORKSPACE, else the local stack's\n" +
			"<registry>/envkit): one repository, <workspace>/images, tagged by hash, so that the same\n" +
			"definition under any name (or none) finds its image; beside it the build record <hash>.build\n" +
			"(image, digest, base, lock). With --addr and no workspace, -t's repository holds them.\n\n" +
			"An environment is built once per hash: when the image tagged by its hash exists, has the target\n" +
			"platforms (and, with --max-layers N, at most N layers), and its base image reference still\n" +
			"resolves to the digest it was built on, it is reused, with nothing built or fetched (-t is\n" +
			"pointed at it). The first build's conda lock is stored beside the image and installed by every\n" +
			"later build of the hash (after a base patch, with the image deleted, or with fewer layers),\n" +
			"whatever newer packages the channels have, until --relock. --rebuild builds again with it.",
		Example: "  envkit build\n" +
			"  envkit build environment.yml --platform linux/amd64,linux/arm64\n" +
			"  envkit build environment.yml --json --relock\n" +
			"  envkit build environment.yml --max-layers 60\n" +
			"  envkit build environment.yml --addr tcp://buildkitd:1234 -t registry.example.com/my-env:1",
		Args: maxArgs("FILE|REF"),
		RunE: func(c *cobra.Command, args []string) error {
			switch progressui.DisplayMode(opt.progress) {
			case progressui.AutoMode, progressui.PlainMode, progressui.TtyMode, progressui.QuietMode, progressui.RawJSONMode:
			default:
				return usageErrorf("--progress %q: want auto, plain, tty, quiet or rawjson", opt.progress)
			}
			var err error
			if opt.cacheImports, err = bkbuild.ParseImportCache(opt.cacheFrom); err != nil {
				return usageErrorf("--cache-from: %v", err)
			}
			if opt.cacheExports, err = bkbuild.ParseExportCache(opt.cacheTo); err != nil {
				return usageErrorf("--cache-to: %v", err)
			}
			if opt.exporterAttrs, err = exporterCompression(*opt); err != nil {
				return err
			}
			if opt.maxLayers, err = parseMaxLayers(opt.maxLayersFlag); err != nil {
				return err
			}
			if len(args) == 1 {
				opt.file = args[0]
				if _, err := os.Stat(args[0]); err != nil {
					if _, perr := workspace.ParseRef(args[0]); perr == nil {
						opt.file, opt.envRef = "", args[0]
					}
				}
			}
			if !c.Flags().Changed("addr") {
				opt.addr = os.Getenv("BUILDKIT_HOST")
			}
			if !c.Flags().Changed("frontend-image") && !c.Flags().Changed("helper-image") {
				opt.helper = cmp.Or(os.Getenv("ENVKIT_FRONTEND_IMAGE"), os.Getenv("ENVKIT_HELPER_IMAGE"))
			}
			return exit(runBuild(*opt, c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	fl := c.Flags()
	fl.StringVar(&opt.addr, "addr", "", "buildkitd address (default $BUILDKIT_HOST, else start or reuse envkit's local buildkitd and registry)")
	fl.StringVarP(&opt.ref, "tag", "t", "", "an image reference to push to as well (the workspace's <workspace>/images:<hash> is always pushed; with --addr and no workspace, the one reference)")
	fl.StringArrayVar(&opt.platforms, "platform", nil, "target platform, e.g. linux/amd64 (repeatable, or comma-separated)")
	fl.StringVar(&opt.progress, "progress", "auto", "progress output: auto, plain, tty, quiet or rawjson")
	fl.StringVar(&opt.helper, "frontend-image", "", "envkit's frontend image, whose binary links conda packages (default $ENVKIT_FRONTEND_IMAGE; on the local stack, this binary's own, pushed there)")
	fl.StringVar(&opt.helper, "helper-image", "", "the same as --frontend-image")
	fl.BoolVar(&opt.json, "json", false, `print {"hash", "image" (REF@DIGEST), "digest", "reused", "tags"} as JSON`)
	fl.StringVar(&opt.workspace, "workspace", "", "workspace REGISTRY/NAMESPACE whose images repository holds the image by hash (default $"+workspace.EnvVar+", else "+workspace.DefaultAddress+" on the local stack; with --addr and neither, -t's repository)")
	fl.StringArrayVar(&opt.cacheFrom, "cache-from", nil, "import BuildKit's cache, as buildctl --import-cache: e.g. type=registry,ref=REGISTRY/REPO:cache (repeatable)")
	fl.StringVar(&opt.compression, "compression", defaultCompression, "layer compression: gzip, zstd (smaller and faster; Docker 23 and containerd 1.5 or later read it, Docker 20.10 does not) or uncompressed")
	fl.StringVar(&opt.compressionLevel, "compression-level", "", "compression level: gzip 1-9 (unset: 1, the fastest), zstd 1-22 (unset: BuildKit's default)")
	fl.StringVar(&opt.maxLayersFlag, "max-layers", "", fmt.Sprintf("at most `N` layers in a conda environment's image, base image and Docker steps included: the packages share layers when they do not fit (unset or 0: %d). Not part of the hash: an image of the hash is reused when it has at most N layers, else built again with the stored lock (--relock resolves anew as well)", envllb.DefaultMaxLayers))
	fl.StringArrayVar(&opt.secrets, "secret", nil, secretFlagHelp)
	fl.StringArrayVar(&opt.cacheTo, "cache-to", nil, "export BuildKit's cache, as buildctl --export-cache: e.g. type=registry,ref=REGISTRY/REPO:cache,mode=max (repeatable)")
	if !opt.patch { // patch installs the stored lock
		fl.BoolVar(&opt.relock, "relock", false, "resolve the conda packages anew (newer versions), and build even when an image of the hash exists")
		fl.BoolVar(&opt.rebuild, "rebuild", false, "build even when an image of the hash exists, installing the hash's stored lock (the same packages; --relock resolves anew), and replace it")
	}
	addReadFlags(c)
	return c
}

// runBuild builds opt.file, or the quickstart when it is "".
func runBuild(opt buildOptions, stdout, stderr io.Writer) int {
	ctx, cancel := interruptible()
	defer cancel()

	var local *localStack
	if opt.addr == "" || opt.addr == localStackAddr() {
		var err error
		local, err = startLocalStack(ctx, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		opt.addr = local.addr
		opt.insecure = true
	}
	if opt.envRef != "" {
		dir, err := os.MkdirTemp("", "envkit-build-")
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		defer os.RemoveAll(dir)
		if opt.file, err = lookupDefinition(ctx, opt, local, dir, stderr); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
	}
	if opt.file == "" {
		if local == nil {
			fmt.Fprintln(stderr, "envkit: the embedded quickstart builds on envkit's local stack; give a FILE to build with --addr")
			return exitUsage
		}
		f, err := local.quickstart(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		opt.file = f
	}
	env, err := loadEnvironment(opt.file)
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	if opt.authSecrets, err = buildSecrets(opt.secrets, env, stderr); err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return credentialsExit(err)
	}
	ctxFS, err := buildContextFS(opt.file, env)
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	h, err := hash.Compute(env, ctxFS)
	closeFS(ctxFS)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	short := hash.Short(h)
	store, code := openStore(opt, local, stderr)
	if code != exitOK {
		return code
	}
	opt.names = []string{opt.ref}
	if store != nil {
		opt.names = store.Names(short)
	}
	fmt.Fprintf(stderr, "envkit: %s environment %s, hash %s\n", env.Kind(), displayName(env), short)
	var prior *storedImage // the image of the hash, when there is one
	if !opt.relock && store != nil {
		img, reuse, why, err := reusable(ctx, store, short, opt)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		if reuse {
			if opt.patch {
				fmt.Fprintf(stderr, "envkit: nothing to patch: %s\n", why)
			}
			return reuseImage(ctx, store, short, img, why, env.Conda != nil, opt, stdout, stderr)
		}
		prior = img
		fmt.Fprintf(stderr, "envkit: building: %s\n", why)
	}
	if local != nil && opt.helper == "" && env.Conda != nil {
		if opt.helper, err = local.frontendImage(ctx); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
	}
	var stored []byte // the lock of the hash's first build
	inStore := false  // stored is the store's (not read back from prior)
	if store != nil && env.Conda != nil && !opt.relock {
		if stored, inStore, err = storedLock(ctx, store, short, prior); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		if stored != nil {
			fmt.Fprintf(stderr, "envkit: installing the packages %s resolved to first (%s; --relock resolves anew)\n", short, store.LockRef(short))
			opt.lock = stored
		}
	}
	var oldLayers map[string][]string // of prior, for envkit patch
	if opt.patch && prior != nil {
		if oldLayers, err = imageLayers(prior); err != nil {
			fmt.Fprintf(stderr, "envkit: %s: %v\n", prior.Ref, err)
			return exitFailure
		}
	}
	res, err := solve(ctx, opt, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: build failed: %v\n", err)
		return exitFailure
	}
	dgst := res.ExporterResponse["containerimage.digest"]
	if store != nil && env.Conda != nil {
		if err := storeLock(ctx, store, short, stored, inStore); err != nil {
			fmt.Fprintf(stderr, "envkit: %s@%s is pushed, but its lock is not stored: %v\n", opt.names[0], dgst, err)
			return exitFailure
		}
	} else if ws, ok := store.(*wsStore); ok {
		if err := ws.PutLock(ctx, short, nil); err != nil {
			fmt.Fprintf(stderr, "envkit: %s@%s is pushed, but its build is not recorded: %v\n", opt.names[0], dgst, err)
			return exitFailure
		}
	}
	r := buildResult{Hash: short, Image: opt.names[0] + "@" + dgst, Digest: dgst}
	if oldLayers != nil {
		if r.Base, r.Layers, err = reportPatch(ctx, store, short, prior, oldLayers, stderr); err != nil {
			fmt.Fprintf(stderr, "envkit: %s@%s is pushed, but its layers are not compared: %v\n", opt.names[0], dgst, err)
			return exitFailure
		}
	}
	return printResult(stdout, opt, r)
}

// openStore is where the build finds images by hash: the workspace's
// images repository (--workspace, $ENVKIT_WORKSPACE, or the local stack's),
// else -t's repository (a build with --addr and no workspace); nil (with a
// warning) for a -t that go-containerregistry cannot name.
func openStore(opt buildOptions, local *localStack, stderr io.Writer) (imageStore, int) {
	if addr := workspaceAddr(opt.workspace, local); addr != "" {
		ws, err := workspace.Open(addr)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return nil, exitUsage
		}
		var extra []string
		if opt.ref != "" {
			extra = append(extra, opt.ref)
		}
		s, err := newWSStore(ws, extra...)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return nil, exitUsage
		}
		return s, exitOK
	}
	switch {
	case opt.ref != "":
		named, err := reference.ParseNormalizedNamed(opt.ref)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: -t %q: %v\n", opt.ref, err)
			return nil, exitUsage
		}
		// go-containerregistry wants repository paths of 2 characters
		// or more: a shorter one builds without a lookup.
		rs, err := newRepoStore(named.Name(), opt.ref)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: warning: cannot look up images by hash in %s (%v): building\n", named.Name(), err)
			return nil, exitOK
		}
		return rs, exitOK
	}
	fmt.Fprintln(stderr, "envkit: give the image reference to push with -t")
	return nil, exitUsage
}

// reuseImage reports img, the image of hash, as the build's result, with
// -t pointed at it. A conda environment's image built before its lock was
// stored has its lock stored now (a warning when that fails).
func reuseImage(ctx context.Context, store imageStore, hash string, img *storedImage, why string, conda bool, opt buildOptions, stdout, stderr io.Writer) int {
	if err := store.Tag(ctx, hash, img); err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "envkit: reusing %s@%s built %s: %s\n", img.Ref, img.Digest, img.Created.UTC().Format(time.RFC3339), why)
	if conda {
		stored, err := store.Lock(ctx, hash)
		if err == nil && stored == nil {
			err = storeLock(ctx, store, hash, nil, false)
		}
		if err != nil {
			fmt.Fprintf(stderr, "envkit: warning: the lock of %s is not stored: %v\n", hash, err)
		}
	} else if ws, ok := store.(*wsStore); ok {
		done, err := ws.recorded(ctx, hash)
		if err == nil && !done {
			err = ws.PutLock(ctx, hash, nil)
		}
		if err != nil {
			fmt.Fprintf(stderr, "envkit: warning: the build of %s is not recorded: %v\n", hash, err)
		}
	}
	return printResult(stdout, opt, buildResult{Hash: hash, Image: opt.names[0] + "@" + img.Digest, Digest: img.Digest, Reused: true})
}

// storedLock is the lock of hash's first build: the one stored, or the one
// prior (the image of hash, nil when none) keeps in its metadata layer
// when it was built before its lock was stored (or the lock was deleted);
// nil when neither. inStore says which.
func storedLock(ctx context.Context, store imageStore, hash string, prior *storedImage) (data []byte, inStore bool, err error) {
	stored, err := store.Lock(ctx, hash)
	if err != nil || stored != nil || prior == nil {
		return stored, stored != nil, err
	}
	l, err := imageLock(ctx, prior)
	if err != nil {
		return nil, false, nil //nolint:nilerr // an image without a readable lock: solve anew
	}
	var buf bytes.Buffer
	if err := lock.WriteCondaLock(&buf, l); err != nil {
		return nil, false, err
	}
	return buf.Bytes(), false, nil
}

// storeLock stores the lock of the image just pushed under hash, with the
// platforms of the lock the build installed (stored: nil when none, or with
// --relock) that it did not target; inStore says the store holds stored
// already, so that an unchanged lock is not written again.
func storeLock(ctx context.Context, store imageStore, hash string, stored []byte, inStore bool) error {
	img, err := store.Lookup(ctx, hash)
	if err != nil {
		return err
	}
	if img == nil {
		return fmt.Errorf("no image tagged %s after the push", hash)
	}
	built, err := imageLock(ctx, img)
	if err != nil {
		return err
	}
	l := built
	if stored != nil {
		prev, err := lock.Read(store.LockRef(hash), stored)
		if err != nil {
			return err
		}
		l = mergeLock(prev, built)
	}
	var buf bytes.Buffer
	if err := lock.WriteCondaLock(&buf, l); err != nil {
		return err
	}
	if _, record := store.(*wsStore); inStore && bytes.Equal(buf.Bytes(), stored) && !record {
		return nil // (a build record names the image too: always written)
	}
	return store.PutLock(ctx, hash, buf.Bytes())
}

// buildResult is what `envkit build --json` prints.
type buildResult struct {
	Hash   string `json:"hash"`
	Image  string `json:"image"` // REF@DIGEST
	Digest string `json:"digest"`
	Reused bool   `json:"reused"`
	// Tags are the references the image is pushed to (-t and the hash tag).
	Tags []string `json:"tags"`
	// Base and Layers are what envkit patch changed: the base digest and,
	// per platform, the layers (absent when nothing was rebuilt).
	Base   *baseChange   `json:"base,omitempty"`
	Layers []layerChange `json:"layers,omitempty"`
}

func printResult(stdout io.Writer, opt buildOptions, r buildResult) int {
	if !opt.json {
		fmt.Fprintln(stdout, r.Image)
		return exitOK
	}
	r.Tags = opt.names
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return exitFailure
	}
	return exitOK
}

// reusable returns the image store holds for hash (nil when none) and
// whether it can be reused: it has every platform the build targets and its
// base image reference still resolves to the digest recorded with it; why
// says which.
func reusable(ctx context.Context, store imageStore, hash string, opt buildOptions) (img *storedImage, reuse bool, why string, err error) {
	img, err = store.Lookup(ctx, hash)
	if err != nil || img == nil {
		return nil, false, "no image of " + hash + " yet", err
	}
	if opt.rebuild {
		return img, false, "--rebuild: " + img.Ref + " is built again with its stored lock", nil
	}
	want, err := targetPlatforms(ctx, opt)
	if err != nil {
		return img, false, "", err
	}
	if p, ok := img.covers(want); !ok {
		return img, false, fmt.Sprintf("%s has no image for %s", img.Ref, p), nil
	}
	if opt.maxLayers > 0 {
		layers, err := imageLayers(img)
		if err != nil {
			return img, false, "", fmt.Errorf("%s: %w", img.Ref, err)
		}
		for _, p := range want {
			if n := len(layers[p]); n > opt.maxLayers {
				return img, false, fmt.Sprintf("%s has %d layers for %s, more than --max-layers %d", img.Ref, n, p, opt.maxLayers), nil
			}
		}
	}
	if img.BaseName == "" {
		return img, true, "no base image to check", nil
	}
	if img.BaseDigest == "" {
		return img, false, fmt.Sprintf("%s does not record the digest of its base %s", img.Ref, img.BaseName), nil
	}
	now, ok, err := baseCurrent(ctx, img)
	if err != nil {
		return img, false, "", err
	}
	if !ok {
		return img, false, fmt.Sprintf("base %s moved from %s to %s", img.BaseName, img.BaseDigest, now), nil
	}
	return img, true, fmt.Sprintf("base %s still at %s", img.BaseName, img.BaseDigest), nil
}

// targetPlatforms are the platforms a build targets, normalised: --platform,
// or buildkitd's default (its first worker's first platform).
func targetPlatforms(ctx context.Context, opt buildOptions) ([]string, error) {
	var out []string
	for _, list := range opt.platforms {
		for _, p := range strings.Split(list, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			pl, err := platforms.Parse(p)
			if err != nil {
				return nil, fmt.Errorf("--platform %q: %w", p, err)
			}
			out = append(out, platforms.Format(platforms.Normalize(pl)))
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	c, err := client.New(ctx, opt.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to buildkitd at %s: %w", opt.addr, err)
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return nil, fmt.Errorf("buildkitd at %s: list workers: %w", opt.addr, err)
	}
	if len(ws) == 0 || len(ws[0].Platforms) == 0 {
		return nil, fmt.Errorf("buildkitd at %s has no worker", opt.addr)
	}
	return []string{platforms.Format(platforms.Normalize(ws[0].Platforms[0]))}, nil
}

// frontendAttrs are the frontend's options for a build of opt (the stored
// lock, when opt has one, is storedLockName beside the environment file).
func frontendAttrs(opt buildOptions) map[string]string {
	attrs := map[string]string{frontend.KeyFilename: filepath.Base(opt.file)}
	if opt.lock != nil {
		attrs[frontend.KeyLockfile] = storedLockName
	}
	if len(opt.platforms) > 0 {
		attrs[frontend.KeyPlatform] = strings.Join(opt.platforms, ",")
	}
	if opt.helper != "" {
		attrs[frontend.KeyHelperImage] = opt.helper
	}
	if opt.maxLayers > 0 {
		attrs[frontend.KeyMaxLayers] = strconv.Itoa(opt.maxLayers)
	}
	return attrs
}

// solve runs the frontend in this process against buildkitd: the same Build
// function the gateway image runs.
func solve(ctx context.Context, opt buildOptions, stderr io.Writer) (*client.SolveResponse, error) {
	c, err := client.New(ctx, opt.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to buildkitd at %s: %w", opt.addr, err)
	}
	defer c.Close()
	dir := filepath.Dir(opt.file)
	dirFS, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, err
	}
	attrs := frontendAttrs(opt)
	envFS := dirFS
	if opt.lock != nil {
		envFS = &withFile{FS: dirFS, name: storedLockName, data: opt.lock}
	}
	exp := map[string]string{"name": strings.Join(opt.names, ","), "push": "true"}
	maps.Copy(exp, opt.exporterAttrs)
	if opt.insecure {
		exp["registry.insecure"] = "true"
	}
	so := client.SolveOpt{
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: exp}},
		LocalMounts:   map[string]fsutil.FS{frontend.LocalDockerfile: envFS, frontend.LocalContext: dirFS},
		FrontendAttrs: attrs,
		CacheImports:  opt.cacheImports,
		CacheExports:  opt.cacheExports,
		// Registry credentials from the docker config (and its credential
		// helpers), as buildctl and docker buildx give them to buildkitd.
		Session: []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerconfig.LoadDefaultConfigFile(stderr)),
		})},
	}
	if len(opt.authSecrets) > 0 { // channels' credentials (credentials.go)
		so.Session = append(so.Session, secretsprovider.FromMap(opt.authSecrets))
	}
	mode := progressui.DisplayMode(opt.progress)
	if opt.progress == "" {
		mode = progressui.AutoMode
	}
	d, err := progressui.NewDisplay(stderr, mode)
	if err != nil {
		return nil, err
	}
	ch := make(chan *client.SolveStatus)
	var res *client.SolveResponse
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		res, err = c.Build(ctx, so, "envkit", frontend.Build, ch)
		return err
	})
	eg.Go(func() error {
		_, err := d.UpdateFrom(context.WithoutCancel(ctx), ch)
		return err
	})
	return res, eg.Wait()
}

// localStackAddr is the buildkitd address of the local stack (that
// BUILDKIT_HOST holds after eval "$(envkit stack env)"): a build there is a
// build on the local stack.
func localStackAddr() string {
	dir, err := filepath.Abs(stack.DefaultStateDir())
	if err != nil {
		return ""
	}
	return "unix://" + filepath.Join(dir, "buildkitd.sock")
}

func displayName(env *spec.Environment) string {
	if env.Name == "" {
		return "(anonymous)"
	}
	if env.Version != "" {
		return env.Name + ":" + env.Version
	}
	return env.Name
}
