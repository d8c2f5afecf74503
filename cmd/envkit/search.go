package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/spf13/cobra"
)

// searchOptions is what `envkit search` needs once its flags are read.
type searchOptions struct {
	channels []string
	platform string
	json     bool
}

func searchCmd() *cobra.Command {
	var o searchOptions
	c := &cobra.Command{
		Use:   "search SPEC",
		Short: "list the conda packages of channels that match a spec",
		Long: "Lists every record of the channels (the platform's subdir and noarch) matching the match\n" +
			"spec SPEC (\"numpy\", \"numpy>=1.24\", \"*zlib*\"), sorted by name, version, build number.",
		Example: "  envkit search -c conda-forge \"numpy>=1.24\"\n" +
			"  envkit search \"*zlib*\" -c ./channel --platform linux-aarch64 --json",
		Args: exactArgs("SPEC"),
		RunE: func(c *cobra.Command, args []string) error {
			return exit(runSearch(o, args[0], c.OutOrStdout(), c.ErrOrStderr()))
		},
	}
	c.Flags().StringArrayVarP(&o.channels, "channel", "c", nil, "channel name, URL or local directory, highest priority first (repeatable)")
	c.Flags().StringVarP(&o.platform, "platform", "p", string(platform.Current()), "conda subdir to search")
	c.Flags().BoolVar(&o.json, "json", false, "print a JSON array of records")
	return c
}

func runSearch(o searchOptions, spec string, stdout, stderr io.Writer) int {
	ctx, cancel := interruptible()
	defer cancel()
	creds, err := newCredentials(nil, o.channels, stderr)
	if err != nil {
		return condaFailure(stderr, err)
	}
	g := condaGateway(stderr, creds)
	recs, err := resolve.Search(ctx, g, o.channels, o.platform, spec)
	if err != nil {
		return condaFailure(stderr, explainAuth(g, err))
	}
	if o.json {
		if err := writeJSON(stdout, recordsJSON(recs)); err != nil {
			fmt.Fprintf(stderr, "envkit: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if len(recs) == 0 {
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "# Name\tVersion\tBuild\tChannel")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\n", r.Name, r.Version, r.Build, channelName(r.Channel), r.Subdir)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "envkit: %v\n", err)
		return exitFailure
	}
	return exitOK
}
