package link

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	condapkg "github.com/envkit/envkit/conda/package"
)

// PathUnixEntryPoint is the path_type conda-meta gives a noarch: python
// entry point script generated at link time (CEP 32); the other path types
// are those of paths.json (condapkg.PathType).
const PathUnixEntryPoint condapkg.PathType = "unix_python_entry_point"

// readMetadata reads the info/ metadata of the extracted package at pkgDir
// with conda/package's parsers: index.json, paths.json (or, for packages
// older than it, info/files, has_prefix and no_link) and link.json.
func readMetadata(pkgDir string) (*condapkg.Metadata, error) {
	info := filepath.Join(pkgDir, "info")
	read := func(name string, optional bool) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(info, name))
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	var md condapkg.Metadata
	b, err := read("index.json", false)
	if err != nil {
		return nil, err
	}
	idx, err := condapkg.ParseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("info/index.json: %w", err)
	}
	md.Index = *idx
	if b, err = read("link.json", true); err != nil {
		return nil, err
	} else if b != nil {
		if md.Link, err = condapkg.ParseLink(b); err != nil {
			return nil, fmt.Errorf("info/link.json: %w", err)
		}
	}
	if b, err = read("paths.json", true); err != nil {
		return nil, err
	} else if b != nil {
		if md.Paths, md.PathsVersion, err = condapkg.ParsePaths(b); err != nil {
			return nil, fmt.Errorf("info/paths.json: %w", err)
		}
		return &md, nil
	}
	files, err := read("files", false)
	if err != nil {
		return nil, fmt.Errorf("package has neither info/paths.json nor info/files: %w", err)
	}
	hasPrefix, err := read("has_prefix", true)
	if err != nil {
		return nil, err
	}
	noLink, err := read("no_link", true)
	if err != nil {
		return nil, err
	}
	md.Paths, err = condapkg.LegacyPaths(files, hasPrefix, noLink, func(p string) bool {
		fi, err := os.Lstat(filepath.Join(pkgDir, filepath.FromSlash(p)))
		return err == nil && fi.Mode()&fs.ModeSymlink != 0
	})
	if err != nil {
		return nil, fmt.Errorf("info/: %w", err)
	}
	return &md, nil
}

// checkTarget rejects a path a package may not write: conda-meta/ is the
// environment's own (CEP 32). conda/package has already checked that
// package paths are clean and relative.
func checkTarget(p string) error {
	if p == "conda-meta" || strings.HasPrefix(p, "conda-meta/") {
		return fmt.Errorf("%s: conda-meta/ is reserved for the environment's metadata (CEP 32)", p)
	}
	return nil
}
