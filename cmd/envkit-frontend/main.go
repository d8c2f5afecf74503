// Command envkit-frontend is envkit's BuildKit gateway frontend. Build it into
// an image (see the Dockerfile) and name that image in the first line of an
// environment file: "# syntax=<image>".
package main

import (
	"fmt"
	"os"

	"github.com/envkit/envkit/frontend"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "envkit-frontend: %v\n", err)
		os.Exit(1)
	}
}
