package main

import (
	"fmt"
	"os"

	"github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/internal/helper"
	helperrun "github.com/envkit/envkit/internal/helper/run"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

// asFrontend runs this binary as envkit's frontend image does, when it is
// run that way, and reports whether it did: as the link helper
// ("envkit link ...", "envkit meta ...": the helper's subcommands, which
// are not the CLI's) and, with no arguments under BuildKit's gateway
// environment, as the gateway frontend. The CLI thereby serves as its own
// frontend image (internal/stack's FrontendImage), the same version as
// the CLI, with nothing to build.
func asFrontend(args []string) (code int, ok bool) {
	switch {
	case len(args) > 0 && helper.IsCommand(args[0]):
		if err := helperrun.Main(appcontext.Context(), args, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "envkit %s: %v\n", args[0], err)
			return exitFailure, true
		}
		return exitOK, true
	case len(args) == 0 && os.Getenv("BUILDKIT_SESSION_ID") != "" && os.Getenv("BUILDKIT_EXPORTEDPRODUCT") != "":
		if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
			fmt.Fprintf(os.Stderr, "envkit frontend: %v\n", err)
			return exitFailure, true
		}
		return exitOK, true
	}
	return 0, false
}
