// Command envkit turns machine-learning environment definitions into
// container images: it validates, hashes, locks and builds them.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// exit codes
const (
	exitOK      = 0
	exitFailure = 1 // the input is invalid, or the work failed
	exitUsage   = 2 // the command line is wrong
)

func main() {
	if code, ok := asFrontend(os.Args[1:]); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// newRoot is the one place that defines envkit's commands. Each command's
// file has its constructor (flags, help, example) beside the code it runs.
//
// Commands group by what they act on. The workspace's `env` is a command
// whose subcommands (create, show, list, archive, restore, clone) are added
// to it (env.go), and `--workspace` / `--json` are flags of the commands
// that use them.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "envkit",
		Short: "build machine-learning environment images",
		Long: "envkit turns a machine-learning environment definition (an Azure ML environment file,\n" +
			"a conda environment.yml or an azureml_environment.json) into an OCI image.",
		SilenceErrors:     true, // execute prints errors and maps them to exit codes
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.SetHelpCommand(helpCmd())
	root.SetHelpTemplate(helpTemplate)

	root.AddGroup(
		&cobra.Group{ID: "env", Title: "Environment commands:"},
		&cobra.Group{ID: "conda", Title: "Conda commands:"},
	)
	for _, c := range []*cobra.Command{validateCmd(), hashCmd(), buildCmd(), patchCmd(), sbomCmd(), envCmd()} {
		c.GroupID = "env"
		root.AddCommand(c)
	}
	root.AddCommand(stackCmd())
	for _, c := range []*cobra.Command{searchCmd(), lockCmd()} {
		c.GroupID = "conda"
		root.AddCommand(c)
	}
	return root
}

// run runs the command line args and returns the exit code: 0 ok (and
// help), 1 failure, 2 a wrong command line (with a short message on stderr).
func run(args []string, stdout, stderr io.Writer) int {
	return execute(newRoot(stdout, stderr), args, stderr)
}

// execute runs args on root's tree. A command's RunE returns nil, exit(code)
// when it has reported itself, a usageErrorf, or any other error for a
// failure (printed, exit 1). Errors before RunE runs (flags, arguments,
// unknown command) are usage errors.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, root.UsageString())
		return exitUsage
	}
	if c, _, err := root.Find(args); err == nil {
		args = singleDashLongFlags(c, args)
	}
	ran := false
	walk(root, func(c *cobra.Command) {
		if runE := c.RunE; runE != nil {
			c.RunE = func(c *cobra.Command, args []string) error { ran = true; return runE(c, args) }
		}
	})
	root.SetArgs(args)
	c, err := root.ExecuteC()
	var code exitCode
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage) || !ran:
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", c.CommandPath(), strings.TrimSpace(err.Error()), c.CommandPath())
		return exitUsage
	default:
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
}

// walk calls f on c and every command below it.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// exitCode is a command's result when it has already reported on stderr.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// exit turns a command's exit code into RunE's error.
func exit(code int) error {
	if code == exitOK {
		return nil
	}
	return exitCode(code)
}

// usageError is a wrong command line: run prints it with a pointer to
// --help and exits 2.
type usageError struct{ error }

func usageErrorf(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exactArgs wants exactly one argument per name.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usageErrorf("missing %s", strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usageErrorf("unexpected argument %q (want %s)", args[len(names)], strings.Join(names, " "))
		}
		return nil
	}
}

// maxArgs wants at most one argument per name.
func maxArgs(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > len(names) {
			return usageErrorf("unexpected argument %q (want at most %s)", args[len(names)], strings.Join(names, " "))
		}
		return nil
	}
}

// helpTemplate is cobra's with the one-line summary always first.
const helpTemplate = `{{.Short}}{{with .Long}}

{{. | trimTrailingWhitespaces}}{{end}}

{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}`

// helpCmd is `envkit help [COMMAND]`: an unknown command is a usage error.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "show the help of a command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return usageError{err}
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// singleDashLongFlags rewrites -name and -name=value to --name for c's long
// flags, and --x to -x for its one-letter ones: envkit's flags were Go
// flag-package flags, which take one dash as well as two, and without this
// `-check` would read as `-c heck`. Values of flags and arguments after "--"
// are left alone.
func singleDashLongFlags(c *cobra.Command, args []string) []string {
	c.InitDefaultHelpFlag()
	c.InheritedFlags() // merges the parents' persistent flags into c.Flags()
	flags := c.Flags()
	out := make([]string, 0, len(args))
	takesValue := false // the previous argument is a flag waiting for its value
	for i, a := range args {
		if takesValue {
			takesValue = false
			out = append(out, a)
			continue
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		switch {
		case strings.HasPrefix(a, "--"):
			name, _, hasValue := strings.Cut(a[2:], "=")
			f := flags.Lookup(name)
			if f == nil && len(name) == 1 { // --t: a one-letter flag, as Go's flag package took it
				if f = flags.ShorthandLookup(name); f != nil {
					a = a[1:]
				}
			}
			if f != nil && !hasValue && f.NoOptDefVal == "" {
				takesValue = true
			}
		case strings.HasPrefix(a, "-") && len(a) > 2:
			name, _, hasValue := strings.Cut(a[1:], "=")
			if f := flags.Lookup(name); f != nil && len(name) > 1 {
				a = "-" + a
				takesValue = !hasValue && f.NoOptDefVal == ""
			}
		case strings.HasPrefix(a, "-") && len(a) == 2:
			if f := flags.ShorthandLookup(a[1:]); f != nil && f.NoOptDefVal == "" {
				takesValue = true
			}
		}
		out = append(out, a)
	}
	return out
}
