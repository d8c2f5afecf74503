package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/spec"
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
	return c
}

func runValidate(file string, quiet bool, stdout, stderr io.Writer) int {
	env, err := loadEnvironment(file)
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

// loadEnvironment reads an environment file and the files it refers to,
// relative to its directory.
func loadEnvironment(file string) (*spec.Environment, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return spec.Load(file, data, os.DirFS(filepath.Dir(file)))
}

// printDiagnostics prints each error with the line it points at and a
// marker under the column, as compilers do.
func printDiagnostics(w io.Writer, err error) {
	var list diag.List
	if !errors.As(err, &list) {
		fmt.Fprintf(w, "envkit: %v\n", err)
		return
	}
	files := map[string][]string{}
	for _, e := range list {
		fmt.Fprintf(w, "%v\n", e)
		if e.Line <= 0 {
			continue
		}
		lines, ok := files[e.File]
		if !ok {
			if data, err := os.ReadFile(e.File); err == nil {
				lines = strings.Split(string(data), "\n")
			}
			files[e.File] = lines
		}
		if e.Line <= len(lines) {
			fmt.Fprintf(w, "  %4d | %s\n", e.Line, lines[e.Line-1])
			if e.Column > 0 {
				fmt.Fprintf(w, "       | %s^\n", strings.Repeat(" ", e.Column-1))
			}
		}
	}
}
