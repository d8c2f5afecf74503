package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func validateCmd() *cobra.Command {
	var quiet bool
	c := &cobra.Command{
		Use:   "validate FILE",
		Short: "check an environment file; exit 1 with positioned errors",
		Long: "Checks an environment file and the files it refers to (conda file, build context).\n" +
			"Errors name the file, line, column and field; the exit status is 1 when there are any.",
		Example: "  envkit validate environment.yml\n" +
			"  envkit validate -q azureml_environment.json",
		Args: exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			return exit(runValidate(args[0], quiet, c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing when the file is valid")
	addReadFlags(c)
	return c
}

func runValidate(file string, quiet bool, stdout, stderr io.Writer) int {
	env, err := loadEnvironment(file)
	if err == nil {
		err = checkBuildContext(file, env)
	}
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	for _, w := range env.Warnings {
		fmt.Fprintf(stderr, "warning: %v\n", w)
	}
	if !quiet {
		fmt.Fprintf(stdout, "%s: valid %s environment (%s)\n", file, env.Kind(), env.Format)
	}
	return exitOK
}
