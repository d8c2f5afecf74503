package run

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/mergedir"
	"github.com/envkit/envkit/pypi/wheel"
)

// Wheels installs the wheels of w's input, in order, with pypi/wheel's
// installer, each into its layer's root (its Dest, else w.Dest): each is
// checked against its sha256 and its RECORD, and gets the environment's
// python in its scripts' shebangs. The first of a layer goes straight into
// its root; each later one into a directory of its own beside the layer's
// files, moved over them as merging its own layer over theirs would
// (mergedir), so the layer holds what one layer per wheel gives. It writes
// nothing but files and needs no network.
func Wheels(ctx context.Context, w *helper.Wheel, stderr io.Writer) error {
	in, err := helper.ReadWheelInput(w.Input)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, f := range in.Wheels {
		dest := f.Dest
		if dest == "" {
			dest = w.Dest
		}
		opts := wheel.Options{
			Prefix:    in.Prefix,
			Dest:      dest,
			Python:    wheel.Python{Version: in.Python.Version, SitePackages: in.Python.SitePackages},
			Requested: f.Requested,
			DirectURL: f.DirectURL,
			SHA256:    f.SHA256,
		}
		if d := f.DirectURL; d != nil && d.URL == "" {
			// A wheel named by its path: where it was read.
			local := *d
			local.URL = (&url.URL{Scheme: "file", Path: f.Archive}).String()
			opts.DirectURL = &local
		}
		if !used[dest] {
			used[dest] = true
			if err := installWheel(ctx, f, opts, stderr); err != nil {
				return err
			}
			continue
		}
		stage, err := os.MkdirTemp(dest, ".envkit-wheel-")
		if err != nil {
			return err
		}
		opts.Dest = stage
		if err := installWheel(ctx, f, opts, stderr); err != nil {
			return err
		}
		if err := mergedir.Apply(dest, stage); err != nil {
			return fmt.Errorf("%s: %w", f.Filename, err)
		}
		if err := os.Remove(stage); err != nil {
			return err
		}
	}
	return nil
}

func installWheel(ctx context.Context, f helper.WheelFile, opts wheel.Options, stderr io.Writer) error {
	res, err := wheel.Install(ctx, f.Archive, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "envkit: installed %s %s (%d files, %d bytes)\n", res.Name, res.Version, len(res.Files), res.Bytes)
	return nil
}
