package link

// This file reads the parts of an extracted package's info/ directory that
// linking needs (paths.json with its pre-paths.json fallback, link.json,
// index.json). It stands in for conda/package, which is being written in
// parallel; once that lands these types are replaced by its own.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/envkit/envkit/conda/record"
)

// PathType is how a path of a package (or a generated file) is placed in the
// prefix (CEP 34 path_type, extended by CEP 32 for generated files).
type PathType string

const (
	PathHardlink  PathType = "hardlink"
	PathSoftlink  PathType = "softlink"
	PathDirectory PathType = "directory"
	// PathUnixEntryPoint is a noarch: python entry point script generated
	// at link time (CEP 32).
	PathUnixEntryPoint PathType = "unix_python_entry_point"
)

// FileMode says how the prefix placeholder of a file is replaced.
type FileMode string

const (
	FileModeText   FileMode = "text"
	FileModeBinary FileMode = "binary"
)

// PathEntry is one entry of info/paths.json (CEP 34).
type PathEntry struct {
	Path              string   `json:"_path"`
	PathType          PathType `json:"path_type,omitempty"`
	FileMode          FileMode `json:"file_mode,omitempty"`
	PrefixPlaceholder string   `json:"prefix_placeholder,omitempty"`
	NoLink            bool     `json:"no_link,omitempty"`
	SHA256            string   `json:"sha256,omitempty"`
	SizeInBytes       *int64   `json:"size_in_bytes,omitempty"`
}

// LinkJSON is info/link.json (CEP 34).
type LinkJSON struct {
	Noarch struct {
		Type        string   `json:"type"`
		EntryPoints []string `json:"entry_points"`
	} `json:"noarch"`
	PackageMetadataVersion int `json:"package_metadata_version"`
}

// packageInfo is what Link reads from an extracted package's info/.
type packageInfo struct {
	Index record.PackageRecord
	Paths []PathEntry
	Link  *LinkJSON // nil when the package has no info/link.json
}

// defaultPlaceholder is the placeholder of info/has_prefix lines that name
// only a path (conda-build's historical build prefix).
const defaultPlaceholder = "/opt/anaconda1anaconda2anaconda3"

func readPackageInfo(pkgDir string) (*packageInfo, error) {
	info := filepath.Join(pkgDir, "info")
	var pi packageInfo
	if err := readJSON(filepath.Join(info, "index.json"), &pi.Index); err != nil {
		return nil, err
	}
	if pi.Index.Name == "" {
		return nil, fmt.Errorf("%s: field name: missing", filepath.Join(info, "index.json"))
	}
	var lj LinkJSON
	switch err := readJSON(filepath.Join(info, "link.json"), &lj); {
	case err == nil:
		pi.Link = &lj
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	var pj struct {
		Paths        []PathEntry `json:"paths"`
		PathsVersion int         `json:"paths_version"`
	}
	switch err := readJSON(filepath.Join(info, "paths.json"), &pj); {
	case err == nil:
		pi.Paths = pj.Paths
	case errors.Is(err, fs.ErrNotExist):
		paths, err := legacyPaths(pkgDir)
		if err != nil {
			return nil, err
		}
		pi.Paths = paths
	default:
		return nil, err
	}
	for i := range pi.Paths {
		if err := checkEntry(&pi.Paths[i]); err != nil {
			return nil, fmt.Errorf("%s: paths[%d]: %w", filepath.Join(info, "paths.json"), i, err)
		}
	}
	return &pi, nil
}

// checkEntry validates and normalises one paths.json entry: its path must
// stay inside the prefix and out of conda-meta/ (CEP 32 reserves it).
func checkEntry(e *PathEntry) error {
	if e.PathType == "" {
		e.PathType = PathHardlink
	}
	switch e.PathType {
	case PathHardlink, PathSoftlink, PathDirectory:
	default:
		return fmt.Errorf("_path %q: path_type %q: want hardlink, softlink or directory", e.Path, e.PathType)
	}
	if e.FileMode == "" {
		e.FileMode = FileModeText
	}
	if e.FileMode != FileModeText && e.FileMode != FileModeBinary {
		return fmt.Errorf("_path %q: file_mode %q: want text or binary", e.Path, e.FileMode)
	}
	return checkRelPath(e.Path)
}

// checkRelPath rejects a package path that is empty, absolute, not clean,
// leaves the prefix or lands in conda-meta/.
func checkRelPath(p string) error {
	switch {
	case p == "":
		return errors.New("_path: empty")
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p:
		return fmt.Errorf("_path %q: not a clean relative path", p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("_path %q: outside the prefix", p)
	case p == "conda-meta" || strings.HasPrefix(p, "conda-meta/"):
		return fmt.Errorf("_path %q: conda-meta/ is reserved for the environment's metadata (CEP 32)", p)
	}
	return nil
}

// legacyPaths builds path entries from the files, has_prefix and no_link
// lists of packages built before paths.json existed (CEP 34 "deprecated").
func legacyPaths(pkgDir string) ([]PathEntry, error) {
	info := filepath.Join(pkgDir, "info")
	files, err := readLines(filepath.Join(info, "files"))
	if err != nil {
		return nil, fmt.Errorf("package has neither info/paths.json nor info/files: %w", err)
	}
	prefixed := map[string]PathEntry{}
	hp, err := readLines(filepath.Join(info, "has_prefix"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for i, line := range hp {
		e, err := parseHasPrefix(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", filepath.Join(info, "has_prefix"), i+1, err)
		}
		prefixed[e.Path] = e
	}
	noLink := map[string]bool{}
	nl, err := readLines(filepath.Join(info, "no_link"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, p := range nl {
		noLink[p] = true
	}
	out := make([]PathEntry, 0, len(files))
	for _, f := range files {
		e, ok := prefixed[f]
		if !ok {
			e = PathEntry{Path: f}
		}
		e.NoLink = noLink[f]
		if fi, err := os.Lstat(filepath.Join(pkgDir, filepath.FromSlash(f))); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			e.PathType = PathSoftlink
		}
		out = append(out, e)
	}
	return out, nil
}

// parseHasPrefix reads one info/has_prefix line: "path", or
// "placeholder mode path" with optional double quotes around each field.
func parseHasPrefix(line string) (PathEntry, error) {
	var fields []string
	for s := strings.TrimSpace(line); s != ""; s = strings.TrimLeft(s, " ") {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return PathEntry{}, fmt.Errorf("unterminated quote in %q", line)
			}
			fields = append(fields, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		fields = append(fields, s[:end])
		s = s[end:]
	}
	switch len(fields) {
	case 1:
		return PathEntry{Path: fields[0], PrefixPlaceholder: defaultPlaceholder, FileMode: FileModeText}, nil
	case 3:
		return PathEntry{Path: fields[2], PrefixPlaceholder: fields[0], FileMode: FileMode(fields[1])}, nil
	}
	return PathEntry{}, fmt.Errorf("want \"path\" or \"placeholder mode path\", got %q", line)
}

func readLines(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func readJSON(name string, v any) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
