package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/internal/stack"
	"github.com/spf13/cobra"
)

// stackCmd is `envkit stack start|stop|env`: envkit's local buildkitd and
// registry, which `envkit build` starts on first use.
func stackCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stack",
		Short: "start, stop or point your shell at envkit's local buildkitd and registry",
		Long: "envkit's local stack is a buildkitd and a registry on 127.0.0.1 (port 5765, or\n" +
			"$ENVKIT_REGISTRY_PORT), kept in $ENVKIT_STACK_DIR (default ~/.cache/envkit/stack).\n" +
			"`envkit build` starts it on first use; start and env also push envkit's frontend\n" +
			"image (this binary) as <registry>/envkit/frontend:latest, the image that the\n" +
			"examples' \"# syntax=\" lines name.",
		Example: "  envkit stack start\n" +
			"  eval \"$(envkit stack env)\"   # then: docker buildx build -f environment.yml ...\n" +
			"  envkit stack stop",
		Args: exactArgs(),
	}
	c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	start := &cobra.Command{
		Use:   "start",
		Short: "start (or find running) the local stack and push envkit's frontend image",
		Args:  exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			return exit(runStack(c.ErrOrStderr(), nil))
		},
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "start the local stack if needed and print the shell exports that use it",
		Long: "Prints export lines for eval: BUILDKIT_HOST (buildctl, envkit build), DOCKER_CONFIG and\n" +
			"BUILDX_BUILDER (docker buildx's remote builder on the stack's buildkitd), ENVKIT_REGISTRY,\n" +
			"and PATH with buildctl's directory.",
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			return exit(runStack(c.ErrOrStderr(), c.OutOrStdout()))
		},
	}
	stop := &cobra.Command{
		Use:   "stop",
		Short: "stop the local stack (its registry's images stay on disk)",
		Args:  exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx, cancel := interruptible()
			defer cancel()
			if err := stack.Stop(ctx, stack.DefaultStateDir()); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "envkit: stopped the local stack in %s\n", stack.DefaultStateDir())
			return nil
		},
	}
	c.AddCommand(start, env, stop)
	return c
}

// runStack starts or reuses the local stack, makes this binary's frontend
// image available as <registry>/envkit/frontend:latest and, when exports is
// not nil, prints the shell exports there.
func runStack(stderr, exports io.Writer) int {
	ctx, cancel := interruptible()
	defer cancel()
	local, err := startLocalStack(ctx, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	ref, err := local.frontendImage(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	latest, err := local.s.TagFrontendLatest(ctx, ref)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "envkit: frontend image %s (%s)\n", latest, ref)
	if exports != nil {
		printExports(exports, local.s)
	}
	return exitOK
}

// printExports writes the stack's shell exports, single-quoted.
func printExports(w io.Writer, s *stack.Stack) {
	vars := [][2]string{
		{"BUILDKIT_HOST", s.BuildkitAddr},
		{"DOCKER_CONFIG", s.DockerConfig},
		{"BUILDX_BUILDER", stack.BuilderName},
		{"ENVKIT_REGISTRY", s.Registry},
	}
	for _, kv := range vars {
		fmt.Fprintf(w, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	if dir := filepath.Dir(s.Tools.Buildctl); !onPath(dir) {
		fmt.Fprintf(w, "export PATH=%s:\"$PATH\"\n", shellQuote(dir))
	}
}

// onPath reports whether buildctl on PATH is the one in dir.
func onPath(dir string) bool {
	p, err := exec.LookPath("buildctl")
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(p)
	return err == nil && filepath.Dir(real) == dir
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// frontendImage is this binary as envkit's frontend image in the local
// registry (see asFrontend).
func (l *localStack) frontendImage(ctx context.Context) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find this executable for the frontend image: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", fmt.Errorf("find this executable for the frontend image: %w", err)
	}
	return l.s.FrontendImage(ctx, exe)
}
