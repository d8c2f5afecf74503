package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/resolve"
)

func init() {
	register(&command{name: "search", summary: "list the conda packages of channels that match a spec", run: runSearch})
}

func runSearch(args []string, stdout, stderr io.Writer) int {
	fl := newFlags("search", "[--channel C]... [--platform P] [--json] SPEC\n\n"+
		"Lists every record of the channels (P's subdir and noarch) matching the match spec SPEC\n"+
		"(\"numpy\", \"numpy>=1.24\", \"*zlib*\"), sorted by name, version, build number.", stderr)
	var chans multiFlag
	fl.Var(&chans, "channel", "channel name, URL or local directory, highest priority first (repeatable)")
	fl.Var(&chans, "c", "shorthand for --channel")
	subdir := fl.String("platform", string(platform.Current()), "conda subdir to search")
	fl.StringVar(subdir, "p", string(platform.Current()), "shorthand for --platform")
	asJSON := fl.Bool("json", false, "print a JSON array of records")
	if code, stop := parseFlags(fl, args); stop {
		return code
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return exitUsage
	}
	ctx, cancel := interruptible()
	defer cancel()
	recs, err := resolve.Search(ctx, condaGateway(stderr), chans, *subdir, fl.Arg(0))
	if err != nil {
		return condaFailure(stderr, err)
	}
	if *asJSON {
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
