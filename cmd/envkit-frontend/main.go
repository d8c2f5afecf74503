// Command envkit-frontend is envkit's BuildKit gateway frontend. Build it into
// an image (see the Dockerfile) and name that image in the first line of an
// environment file: "# syntax=<image>".
//
// The same binary is the helper the frontend runs in BuildKit execs to link
// each conda package into its layer ("envkit-frontend link ...") and to
// write the environment's metadata ("envkit-frontend meta ..."); package
// internal/helper holds that contract, internal/helper/run what it does.
package main

import (
	"fmt"
	"os"

	"github.com/envkit/envkit/frontend"
	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/helper/run"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	if len(os.Args) > 1 && helper.IsCommand(os.Args[1]) {
		if err := run.Main(appcontext.Context(), os.Args[1:], os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "envkit-frontend %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		return
	}
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "envkit-frontend: %v\n", err)
		os.Exit(1)
	}
}
