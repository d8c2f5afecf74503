// Package run is the helper's side of package helper's contract: what
// "envkit-frontend link", "envkit-frontend wheel", "envkit-frontend meta"
// and "envkit-frontend probe" do in their BuildKit execs. It runs on the build platform whatever
// the target is: linking only writes files.
package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/envkit/envkit/conda/link"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/internal/mergedir"
)

// Main runs the helper subcommand args[0] with its arguments, as the
// caller wrote them with the contract's Args. Warnings go to stderr.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no helper subcommand")
	}
	switch args[0] {
	case helper.CommandLink:
		l, err := helper.ParseLink(args)
		if err != nil {
			return err
		}
		return Link(ctx, l, stderr)
	case helper.CommandWheel:
		w, err := helper.ParseWheel(args)
		if err != nil {
			return err
		}
		return Wheels(ctx, w, stderr)
	case helper.CommandMeta:
		m, err := helper.ParseMeta(args)
		if err != nil {
			return err
		}
		return Meta(m)
	case helper.CommandProbe:
		p, err := helper.ParseProbe(args)
		if err != nil {
			return err
		}
		return Probe(ctx, p, nil)
	}
	return fmt.Errorf("unknown helper subcommand %q", args[0])
}

// Link links each of l's packages into its layer: it checks the fetched
// archive against the sha256 of the package's record, extracts it and links
// it into the package's Dest with the environment's prefix baked into the
// files. Packages that share a Dest share a layer: each is linked into a
// directory of its own beside the layer's files and moved over them as
// merging its own layer over theirs would (mergedir), so the layer holds
// what one layer per package gives, clobbers included.
//
// Checking and extracting (decompression, most of the work) run for
// several packages at once, a few packages ahead of the linking, which
// goes one package after another in l's order. A package is extracted
// into a directory beside its layer's files, on the output's file system,
// so that linking a file that needs no prefix replaced is a hard link
// there rather than a second copy; the directory is gone once the package
// is linked.
func Link(ctx context.Context, l *helper.Link, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := max(2, runtime.GOMAXPROCS(0))
	extracted := make([]chan extraction, len(l.Packages))
	for i := range extracted {
		extracted[i] = make(chan extraction, 1)
	}
	slots := make(chan struct{}, ahead)
	var wg sync.WaitGroup
	go func() {
		for i, p := range l.Packages {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for _, ch := range extracted[i:] {
					ch <- extraction{err: ctx.Err()}
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				extracted[i] <- extract(ctx, p, i)
			}()
		}
	}()
	defer func() {
		// On an early return, wait for the extractions under way and
		// remove what they left.
		cancel()
		for _, ch := range extracted {
			if x := <-ch; x.dir != "" {
				os.RemoveAll(x.dir)
			}
		}
		wg.Wait()
	}()
	used := map[string]bool{}
	for i, p := range l.Packages {
		x := <-extracted[i]
		extracted[i] <- extraction{} // taken: nothing left to remove
		if x.err != nil {
			return x.err
		}
		var err error
		if !used[p.Dest] {
			used[p.Dest] = true
			err = linkPackage(ctx, l, p, x, stderr)
		} else {
			err = linkOver(ctx, l, p, x, stderr)
		}
		if rerr := os.RemoveAll(x.dir); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
		<-slots
	}
	return nil
}

// extraction is one package checked and extracted: its record, the
// directory it was extracted to and its metadata, or why not.
type extraction struct {
	rec *record.RepoDataRecord
	dir string
	md  *condapkg.Metadata
	err error
}

// extract reads p's record, checks its archive against the record's
// sha256 and extracts it into a directory of its own in p.Dest.
func extract(ctx context.Context, p helper.LinkPackage, i int) extraction {
	if err := ctx.Err(); err != nil {
		return extraction{err: err}
	}
	in, err := helper.ReadLinkInput(p.Input)
	if err != nil {
		return extraction{err: err}
	}
	r := in.Record
	f, err := os.Open(p.Archive)
	if err != nil {
		return extraction{err: err}
	}
	defer f.Close()
	if err := condapkg.Verify(f, r.SHA256); err != nil {
		return extraction{err: fmt.Errorf("%s: %w", r.FileName, err)}
	}
	st, err := f.Stat()
	if err != nil {
		return extraction{err: err}
	}
	if err := os.MkdirAll(p.Dest, 0o755); err != nil {
		return extraction{err: err}
	}
	dir := filepath.Join(p.Dest, ".envkit-extract-"+strconv.Itoa(i))
	md, err := condapkg.Extract(ctx, f, st.Size(), r.FileName, dir)
	if err != nil {
		return extraction{err: err}
	}
	return extraction{rec: r, dir: dir, md: md}
}

// linkOver links p into a staging directory in its Dest (one file system,
// so that moving its files is renaming them) and moves them over what Dest
// holds.
func linkOver(ctx context.Context, l *helper.Link, p helper.LinkPackage, x extraction, stderr io.Writer) error {
	stage, err := os.MkdirTemp(p.Dest, ".envkit-link-")
	if err != nil {
		return err
	}
	staged := p
	staged.Dest = stage
	if err := linkPackage(ctx, l, staged, x, stderr); err != nil {
		return err
	}
	if err := mergedir.Apply(p.Dest, stage); err != nil {
		return fmt.Errorf("%s: %w", p.Archive, err)
	}
	return os.Remove(stage)
}

// linkPackage links the extracted package x into p.Dest.
func linkPackage(ctx context.Context, l *helper.Link, p helper.LinkPackage, x extraction, stderr io.Writer) error {
	r := x.rec
	opts := link.Options{Dest: filepath.Join(p.Dest, l.Prefix), Record: r, Metadata: x.md, Platform: l.Platform, Python: l.Python, Hardlink: true}
	res, err := link.Link(ctx, x.dir, l.Prefix, opts)
	if err != nil {
		return err
	}
	if err := link.SettleParents(p.Dest, l.Prefix, opts.ModTime); err != nil {
		return err
	}
	for _, s := range res.Scripts {
		fmt.Fprintf(stderr, "envkit: %s has a %s script (%s) that envkit does not run\n", r.Dist(), s.Action, s.Path)
	}
	return nil
}

// Meta writes the environment's own conda-meta files into m.Dest: history
// (which makes the prefix a conda environment), the lock, and state (the
// conda file's variables). It runs once per environment, in a small layer
// of its own.
func Meta(m *helper.Meta) error {
	in, err := helper.ReadMetaInput(m.Input)
	if err != nil {
		return err
	}
	t := in.History.Time
	root := filepath.Join(m.Dest, m.Prefix)
	if err := link.WriteHistory(root, in.History); err != nil {
		return err
	}
	if m.Lock != "" {
		data, err := helper.ReadFile(m.Lock)
		if err != nil {
			return err
		}
		p := filepath.Join(root, filepath.FromSlash(helper.LockPath))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			return err
		}
		if err := os.Chtimes(p, link.ModTime(t), link.ModTime(t)); err != nil {
			return err
		}
	}
	if err := link.WriteState(root, in.Variables, t); err != nil {
		return err
	}
	if err := link.SettleDirs(root, t); err != nil {
		return err
	}
	return link.SettleParents(m.Dest, m.Prefix, t)
}
