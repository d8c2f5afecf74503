package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/frontend"
	envllb "github.com/envkit/envkit/llb"
)

// linkMain is the helper the frontend runs in a BuildKit exec for each conda
// package: it checks the fetched archive against the locked sha256,
// extracts it to a scratch directory and links it into dest, a staging
// directory that becomes the package's layer, with the environment's prefix
// baked into the files. It runs on the build platform whatever the target
// is: linking only writes files.
func linkMain(args []string) error {
	fl := flag.NewFlagSet("envkit-frontend link", flag.ContinueOnError)
	archive := fl.String("archive", "", "the package archive (.conda or .tar.bz2)")
	sha := fl.String("sha256", "", "the archive's locked sha256")
	rec := fl.String("record", "", "the package's repodata record, as JSON")
	prefix := fl.String("prefix", "", "the environment's path in the image")
	dest := fl.String("dest", "", "where to write the layer")
	platform := fl.String("platform", "", "the target conda subdir")
	python := fl.String("python", "", "VERSION:SITE_PACKAGES of the environment's Python, for noarch: python packages")
	scratch := fl.String("scratch", os.TempDir(), "scratch directory for the extracted package")
	if err := fl.Parse(args); err != nil {
		return err
	}
	var r record.RepoDataRecord
	if err := json.Unmarshal([]byte(*rec), &r); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	f, err := os.Open(*archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := condapkg.Verify(f, *sha); err != nil {
		return fmt.Errorf("%s: %w", r.FileName, err)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pkgDir := filepath.Join(*scratch, "pkg")
	ctx := context.Background()
	if _, err := condapkg.Extract(ctx, f, st.Size(), r.FileName, pkgDir); err != nil {
		return err
	}
	opts := link.Options{Dest: filepath.Join(*dest, *prefix), Record: &r, Platform: *platform, Hardlink: true}
	if *python != "" {
		v, sp, ok := strings.Cut(*python, ":")
		if !ok {
			return fmt.Errorf("--python %q: want VERSION:SITE_PACKAGES", *python)
		}
		opts.Python = &link.Python{Version: v, SitePackages: sp}
	}
	res, err := link.Link(ctx, pkgDir, *prefix, opts)
	if err != nil {
		return err
	}
	if err := settleParents(*dest, *prefix); err != nil {
		return err
	}
	for _, s := range res.Scripts {
		fmt.Fprintf(os.Stderr, "envkit: %s has a %s script (%s) that envkit does not run\n", r.Dist(), s.Action, s.Path)
	}
	return nil
}

// metaMain writes the environment's own conda-meta files into dest:
// history (which makes the prefix a conda environment) and state (the conda
// file's variables). It runs once per environment, in its own small layer.
func metaMain(args []string) error {
	fl := flag.NewFlagSet("envkit-frontend "+frontend.MetaCommand, flag.ContinueOnError)
	prefix := fl.String("prefix", "", "the environment's path in the image")
	dest := fl.String("dest", "", "where to write the layer")
	history := fl.String("history", "", "the history block, as JSON (link.History)")
	state := fl.String("state", "", "the environment's variables, as a JSON object")
	lockFile := fl.String("lock", "", "the environment's lock file, kept as "+envllb.LockPath)
	if err := fl.Parse(args); err != nil {
		return err
	}
	var h link.History
	if err := json.Unmarshal([]byte(*history), &h); err != nil {
		return fmt.Errorf("--history: %w", err)
	}
	root := filepath.Join(*dest, *prefix)
	if err := link.WriteHistory(root, h); err != nil {
		return err
	}
	if *lockFile != "" {
		data, err := os.ReadFile(*lockFile)
		if err != nil {
			return err
		}
		p := filepath.Join(root, filepath.FromSlash(envllb.LockPath))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		mtime := h.Time
		if mtime.IsZero() {
			mtime = time.Unix(0, 0) // as link writes everything: reproducible layers
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			return err
		}
	}
	if *state != "" {
		var vars map[string]string
		if err := json.Unmarshal([]byte(*state), &vars); err != nil {
			return fmt.Errorf("--state: %w", err)
		}
		if err := link.WriteState(root, vars, h.Time); err != nil {
			return err
		}
	}
	if err := settleDirs(root); err != nil {
		return err
	}
	return settleParents(*dest, *prefix)
}

// settleParents gives the directories between dest and the prefix (e.g.
// /out/azureml-envs) a fixed mode and time, as link gives everything below:
// a layer must not depend on when it was made.
func settleParents(dest, prefix string) error {
	epoch := time.Unix(0, 0)
	for p := filepath.Dir(filepath.Join(dest, prefix)); len(p) > len(filepath.Clean(dest)); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		if err := os.Chtimes(p, epoch, epoch); err != nil {
			return err
		}
	}
	return nil
}

// settleDirs gives every directory under root the epoch as its time
// (writing a file into a directory sets the directory's time to now).
func settleDirs(root string) error {
	epoch := time.Unix(0, 0)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chtimes(p, epoch, epoch)
	})
}
