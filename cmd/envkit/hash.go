package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/spec"
)

func init() {
	register(&command{name: "hash", summary: "print the environment hash of an environment file", run: runHash})
}

func runHash(args []string, stdout, stderr io.Writer) int {
	fl := newFlags("hash", "[--full | --canonical] FILE", stderr)
	full := fl.Bool("full", false, "print the whole sha256 digest")
	canonical := fl.Bool("canonical", false, "print the canonical encoding that is hashed")
	if code, stop := parseFlags(fl, args); stop {
		return code
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return exitUsage
	}
	env, err := loadEnvironment(fl.Arg(0))
	if err != nil {
		printDiagnostics(stderr, err)
		return exitFailure
	}
	ctx := buildContextFS(fl.Arg(0), env)
	if *canonical {
		c, err := hash.Canonical(env, ctx)
		if err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "%s\n", c)
		return exitOK
	}
	d, err := hash.Compute(env, ctx)
	if err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	if *full {
		fmt.Fprintln(stdout, d)
	} else {
		fmt.Fprintln(stdout, hash.Short(d))
	}
	return exitOK
}

// buildContextFS is the build context directory of a build environment:
// build.path relative to the environment file's directory.
func buildContextFS(file string, env *spec.Environment) fs.FS {
	if env.Build == nil || env.Build.IsRemote() {
		return nil
	}
	return os.DirFS(filepath.Join(filepath.Dir(file), filepath.FromSlash(env.Build.Path)))
}
