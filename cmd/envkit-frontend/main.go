// Command envkit-frontend is envkit's BuildKit gateway frontend. Build it into
// an image (see the Dockerfile) and name that image in the first line of an
// environment file: "# syntax=<image>".
//
// The same binary is the helper the frontend runs in BuildKit execs to link
// each conda package into its layer: "envkit-frontend link ...".
package main

import (
	"fmt"
	"os"

	"github.com/envkit/envkit/frontend"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
)

func main() {
	if len(os.Args) > 1 {
		helpers := map[string]func([]string) error{frontend.LinkCommand: linkMain, frontend.MetaCommand: metaMain}
		if run, ok := helpers[os.Args[1]]; ok {
			if err := run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "envkit-frontend %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
	}
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintf(os.Stderr, "envkit-frontend: %v\n", err)
		os.Exit(1)
	}
}
