package main

import (
	"fmt"
	"io"

	"github.com/envkit/envkit/hash"
	"github.com/spf13/cobra"
)

func hashCmd() *cobra.Command {
	var full, canonical bool
	c := &cobra.Command{
		Use:   "hash FILE",
		Short: "print the environment hash of an environment file",
		Long: "Prints envkit_<32 hex>, the short form of the sha256 over the canonical encoding of what\n" +
			"makes the image (base image, Docker steps, build context, conda environment, variables).",
		Example: "  envkit hash environment.yml\n" +
			"  envkit hash environment.yml --canonical",
		Args: exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			return exit(runHash(args[0], full, canonical, c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	c.Flags().BoolVar(&full, "full", false, "print the whole sha256 digest (not with --canonical)")
	c.Flags().BoolVar(&canonical, "canonical", false, "print the canonical encoding that is hashed")
	c.MarkFlagsMutuallyExclusive("full", "canonical")
	addReadFlags(c)
	return c
}

func runHash(file string, full, canonical bool, stdout, stderr io.Writer) int {
	env, err := loadEnvironment(file)
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	ctx, err := buildContextFS(file, env)
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	defer closeFS(ctx)
	if canonical {
		c, err := hash.Canonical(env, ctx)
		if err != nil {
			printDiagnostics(stderr, err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "%s\n", c)
		return exitOK
	}
	d, err := hash.Compute(env, ctx)
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	if full {
		fmt.Fprintln(stdout, d)
	} else {
		fmt.Fprintln(stdout, hash.Short(d))
	}
	return exitOK
}
