// Package mergedir moves one layer's files onto another's as merging the
// two layers in that order would (BuildKit's MergeOp, overlayfs): what a
// link helper needs to put several packages into one layer and get the
// files that one layer per package gives.
package mergedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Apply moves the tree under src onto the tree under dst, as the layer of
// src merged over the layer of dst: a directory in both keeps dst's
// entries and takes src's entries, mode and times; any other entry of src
// (a file, a symlink, or a directory where dst has a non-directory)
// replaces what dst has at its path, a whole directory included. Entries
// move by rename, so src and dst must be on one file system; files hard
// linked in src stay hard linked. src's root is left empty, dst's root
// keeps its own mode and times.
func Apply(dst, src string) error {
	return applyDir(dst, src)
}

// applyDir merges the entries of directory src into directory dst.
func applyDir(dst, src string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if err := apply(d, s, e.IsDir()); err != nil {
			return err
		}
	}
	return nil
}

// apply moves the entry s onto d.
func apply(d, s string, dir bool) error {
	di, err := os.Lstat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Rename(s, d)
	case err != nil:
		return err
	case dir && di.IsDir():
		// Both directories: merge, then src's mode and times win (read
		// them first: moving the entries out changes them).
		si, err := os.Lstat(s)
		if err != nil {
			return err
		}
		if err := applyDir(d, s); err != nil {
			return err
		}
		if err := os.Remove(s); err != nil {
			return err
		}
		if err := os.Chmod(d, si.Mode().Perm()|si.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
		return os.Chtimes(d, si.ModTime(), si.ModTime())
	case di.IsDir():
		// A file or symlink over a directory hides all of it.
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	case dir:
		// A directory over a file or symlink replaces it (rename does
		// not).
		if err := os.Remove(d); err != nil {
			return err
		}
	}
	// Rename replaces a file or symlink at d.
	if err := os.Rename(s, d); err != nil {
		return fmt.Errorf("mergedir: %w", err)
	}
	return nil
}
