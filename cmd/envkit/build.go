package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/stack"
	"github.com/envkit/envkit/spec"
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
	insecure  bool   // the registry speaks plain HTTP
	helper    string // envkit's frontend image, whose binary links conda packages
}

func buildCmd() *cobra.Command {
	var opt buildOptions
	c := &cobra.Command{
		Use:   "build [FILE]",
		Short: "build an environment image through buildkitd (the embedded quickstart when no FILE)",
		Long: "Builds the environment FILE with envkit's frontend, run in this process against buildkitd,\n" +
			"and pushes the image; prints REF@DIGEST on stdout. Without --addr (or BUILDKIT_HOST) it starts\n" +
			"or reuses envkit's local buildkitd and registry, and pushes to <registry>/envkit/<name>:<hash>;\n" +
			"without FILE it builds the embedded quickstart there.",
		Example: "  envkit build\n" +
			"  envkit build environment.yml --platform linux/amd64,linux/arm64\n" +
			"  envkit build environment.yml --addr tcp://buildkitd:1234 -t registry.example.com/my-env:1",
		Args: maxArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			switch progressui.DisplayMode(opt.progress) {
			case progressui.AutoMode, progressui.PlainMode, progressui.TtyMode, progressui.QuietMode, progressui.RawJSONMode:
			default:
				return usageErrorf("--progress %q: want auto, plain, tty, quiet or rawjson", opt.progress)
			}
			if len(args) == 1 {
				opt.file = args[0]
			}
			if !c.Flags().Changed("addr") {
				opt.addr = os.Getenv("BUILDKIT_HOST")
			}
			if !c.Flags().Changed("frontend-image") && !c.Flags().Changed("helper-image") {
				opt.helper = cmp.Or(os.Getenv("ENVKIT_FRONTEND_IMAGE"), os.Getenv("ENVKIT_HELPER_IMAGE"))
			}
			return exit(runBuild(opt, c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	fl := c.Flags()
	fl.StringVar(&opt.addr, "addr", "", "buildkitd address (default $BUILDKIT_HOST, else start or reuse envkit's local buildkitd and registry)")
	fl.StringVarP(&opt.ref, "tag", "t", "", "image reference to push (default <registry>/envkit/<name>:<hash> on the local stack)")
	fl.StringArrayVar(&opt.platforms, "platform", nil, "target platform, e.g. linux/amd64 (repeatable, or comma-separated)")
	fl.StringVar(&opt.progress, "progress", "auto", "progress output: auto, plain, tty, quiet or rawjson")
	fl.StringVar(&opt.helper, "frontend-image", "", "envkit's frontend image, whose binary links conda packages (default $ENVKIT_FRONTEND_IMAGE; on the local stack, this binary's own, pushed there)")
	fl.StringVar(&opt.helper, "helper-image", "", "the same as --frontend-image")
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
	if opt.ref == "" {
		if local == nil {
			fmt.Fprintln(stderr, "envkit: give the image reference to push with -t")
			return exitUsage
		}
		opt.ref = local.registry + "/envkit/" + repoName(env) + ":" + hash.Short(h)
	}
	fmt.Fprintf(stderr, "envkit: %s environment %s, hash %s\n", env.Kind(), displayName(env), hash.Short(h))
	if local != nil && opt.helper == "" && env.Conda != nil {
		if opt.helper, err = local.frontendImage(ctx); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
	}
	res, err := solve(ctx, opt, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: build failed: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s@%s\n", opt.ref, res.ExporterResponse["containerimage.digest"])
	return exitOK
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
	attrs := map[string]string{frontend.KeyFilename: filepath.Base(opt.file)}
	if len(opt.platforms) > 0 {
		attrs[frontend.KeyPlatform] = strings.Join(opt.platforms, ",")
	}
	if opt.helper != "" {
		attrs[frontend.KeyHelperImage] = opt.helper
	}
	exp := map[string]string{"name": opt.ref, "push": "true"}
	if opt.insecure {
		exp["registry.insecure"] = "true"
	}
	so := client.SolveOpt{
		Exports:       []client.ExportEntry{{Type: client.ExporterImage, Attrs: exp}},
		LocalMounts:   map[string]fsutil.FS{frontend.LocalDockerfile: dirFS, frontend.LocalContext: dirFS},
		FrontendAttrs: attrs,
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

var repoInvalid = regexp.MustCompile(`[^a-z0-9._-]+`)

// repoName is the repository name an environment's image is pushed to.
func repoName(env *spec.Environment) string {
	n := strings.Trim(repoInvalid.ReplaceAllString(strings.ToLower(env.Name), "-"), "-._")
	if n == "" {
		return "anonymous"
	}
	return n
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
