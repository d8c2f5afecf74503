package condapkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/envkit/envkit/conda/record"
)

// Metadata is what a package says about itself in info/.
type Metadata struct {
	// Index is info/index.json.
	Index record.PackageRecord
	// Paths lists the package's payload (info/paths.json, or the entries
	// built from info/files, info/has_prefix and info/no_link for packages
	// older than paths.json). Defaults are filled in: PathType is never
	// empty, FileMode is never empty.
	Paths []PathEntry
	// PathsVersion is paths.json's paths_version; 0 when Paths comes from
	// the legacy info/files.
	PathsVersion int
	// Link is info/link.json; nil when the package has none.
	Link *LinkJSON
	// About is info/about.json; nil when the package has none.
	About *About
}

// PathType is how a path of a package is placed in a prefix (CEP 34).
type PathType string

const (
	PathHardlink  PathType = "hardlink"
	PathSoftlink  PathType = "softlink"
	PathDirectory PathType = "directory"
)

// FileMode says how a file's prefix placeholder is replaced (CEP 34).
type FileMode string

const (
	FileModeText   FileMode = "text"
	FileModeBinary FileMode = "binary"
)

// PathEntry is one entry of info/paths.json.
type PathEntry struct {
	// Path is relative to the package root, "/"-separated and clean.
	Path string `json:"_path"`
	// PathType defaults to hardlink (a regular file).
	PathType PathType `json:"path_type,omitempty"`
	// FileMode defaults to text; it matters only with a PrefixPlaceholder.
	FileMode FileMode `json:"file_mode,omitempty"`
	// PrefixPlaceholder is the build prefix to replace at install time;
	// empty when the file needs no replacement.
	PrefixPlaceholder string `json:"prefix_placeholder,omitempty"`
	// NoLink asks for a copy instead of a link from the package cache.
	NoLink bool `json:"no_link,omitempty"`
	// SHA256 is the lowercase hex digest of the content (of the target, for
	// a softlink); empty when not given.
	SHA256 string `json:"sha256,omitempty"`
	// SizeInBytes is the content size (the target's, for a softlink); nil
	// when not given.
	SizeInBytes *int64 `json:"size_in_bytes,omitempty"`
}

// LinkJSON is info/link.json.
type LinkJSON struct {
	PackageMetadataVersion int         `json:"package_metadata_version"`
	Noarch                 NoarchLinks `json:"noarch"`
}

// NoarchLinks is the "noarch" section of info/link.json.
type NoarchLinks struct {
	Type record.NoarchType `json:"type"`
	// EntryPoints are the console scripts of a noarch: python package.
	EntryPoints []EntryPoint `json:"entry_points,omitempty"`
}

// EntryPoint is a console entry point, "command = module:function".
type EntryPoint struct {
	Command  string // executable name, e.g. "jupyter-lab"
	Module   string // dotted import path, e.g. "jupyterlab.labapp"
	Function string // attribute to call, e.g. "main"
}

// ParseEntryPoint parses "command = module:function" (spaces optional).
func ParseEntryPoint(s string) (EntryPoint, error) {
	cmd, target, ok := strings.Cut(s, "=")
	mod, fn, ok2 := strings.Cut(target, ":")
	ep := EntryPoint{strings.TrimSpace(cmd), strings.TrimSpace(mod), strings.TrimSpace(fn)}
	if !ok || !ok2 || ep.Command == "" || ep.Module == "" || ep.Function == "" ||
		strings.ContainsAny(ep.Command, "/\\") {
		return EntryPoint{}, fmt.Errorf("%w: entry point %q: want \"command = module:function\"", ErrFormat, s)
	}
	return ep, nil
}

// String returns the canonical "command = module:function" form.
func (e EntryPoint) String() string { return e.Command + " = " + e.Module + ":" + e.Function }

// MarshalJSON writes the string form.
func (e EntryPoint) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

// UnmarshalJSON reads the string form.
func (e *EntryPoint) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	ep, err := ParseEntryPoint(s)
	if err != nil {
		return err
	}
	*e = ep
	return nil
}

// About holds the well-known fields of info/about.json. Fields of an
// unexpected type are left empty: about.json is informational.
type About struct {
	Home, DevURL, DocURL   string
	License, LicenseFamily string
	Summary, Description   string
	Channels               []string
	Raw                    json.RawMessage // the whole document
}

// ParseIndex parses info/index.json. The name, version and build are
// required.
func ParseIndex(data []byte) (*record.PackageRecord, error) {
	var r record.PackageRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, jsonError(data, err)
	}
	switch {
	case r.Name == "":
		return nil, fmt.Errorf("%w: field name: missing", ErrFormat)
	case r.Version.IsZero():
		return nil, fmt.Errorf("%w: field version: missing", ErrFormat)
	case r.Build == "":
		return nil, fmt.Errorf("%w: field build: missing", ErrFormat)
	case r.BuildNumber < 0:
		return nil, fmt.Errorf("%w: field build_number: %d is negative", ErrFormat, r.BuildNumber)
	}
	return &r, nil
}

// ParsePaths parses info/paths.json and checks every entry (see
// CheckPath); it returns the entries with defaults filled in and
// paths_version.
func ParsePaths(data []byte) ([]PathEntry, int, error) {
	var doc struct {
		Paths        *[]PathEntry `json:"paths"`
		PathsVersion int          `json:"paths_version"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, 0, jsonError(data, err)
	}
	if doc.Paths == nil {
		return nil, 0, fmt.Errorf("%w: field paths: missing", ErrFormat)
	}
	paths := *doc.Paths
	seen := make(map[string]struct{}, len(paths))
	for i := range paths {
		e := &paths[i]
		if err := normalizeEntry(e); err != nil {
			return nil, 0, fmt.Errorf("paths[%d]: %w", i, err)
		}
		if _, dup := seen[e.Path]; dup {
			return nil, 0, fmt.Errorf("paths[%d]: %w: _path %q listed twice", i, ErrFormat, e.Path)
		}
		seen[e.Path] = struct{}{}
	}
	return paths, doc.PathsVersion, nil
}

// normalizeEntry checks one path entry and fills in its defaults.
func normalizeEntry(e *PathEntry) error {
	if err := CheckPath(e.Path); err != nil {
		return fmt.Errorf("_path: %w", err)
	}
	if e.Path == "info" || strings.HasPrefix(e.Path, "info/") {
		return fmt.Errorf("%w: _path %q: paths.json must not list info/", ErrFormat, e.Path)
	}
	switch e.PathType {
	case "":
		e.PathType = PathHardlink
	case PathHardlink, PathSoftlink, PathDirectory:
	default:
		return fmt.Errorf("%w: _path %q: path_type %q: want hardlink, softlink or directory", ErrFormat, e.Path, e.PathType)
	}
	switch e.FileMode {
	case "":
		e.FileMode = FileModeText
	case FileModeText, FileModeBinary:
	default:
		return fmt.Errorf("%w: _path %q: file_mode %q: want text or binary", ErrFormat, e.Path, e.FileMode)
	}
	if e.SHA256 != "" {
		if !isHexDigest(e.SHA256) {
			return fmt.Errorf("%w: _path %q: sha256 %q: want 64 hex digits", ErrFormat, e.Path, e.SHA256)
		}
		e.SHA256 = strings.ToLower(e.SHA256)
	}
	if e.SizeInBytes != nil && *e.SizeInBytes < 0 {
		return fmt.Errorf("%w: _path %q: size_in_bytes %d is negative", ErrFormat, e.Path, *e.SizeInBytes)
	}
	return nil
}

// CheckPath reports whether p is a safe package path: non-empty, relative,
// "/"-separated, clean (no "." or ".." component, no double or trailing
// slash) and free of backslashes and NUL bytes. Every member and every
// paths.json entry must pass it.
func CheckPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrUnsafePath)
	case p[0] == '/':
		return fmt.Errorf("%w: %q is absolute", ErrUnsafePath, p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%w: %q contains a backslash or NUL", ErrUnsafePath, p)
	case p == ".." || strings.HasPrefix(p, "../"):
		return fmt.Errorf("%w: %q leaves the package", ErrUnsafePath, p)
	case path.Clean(p) != p || p == ".":
		return fmt.Errorf("%w: %q is not a clean relative path", ErrUnsafePath, p)
	}
	return nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseLink parses info/link.json.
func ParseLink(data []byte) (*LinkJSON, error) {
	var l LinkJSON
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, jsonError(data, err)
	}
	return &l, nil
}

// ParseAbout parses info/about.json, which must be a JSON object.
func ParseAbout(data []byte) (*About, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, jsonError(data, err)
	}
	a := &About{Raw: json.RawMessage(data)}
	for key, dst := range map[string]*string{
		"home": &a.Home, "dev_url": &a.DevURL, "doc_url": &a.DocURL,
		"license": &a.License, "license_family": &a.LicenseFamily,
		"summary": &a.Summary, "description": &a.Description,
	} {
		if raw, ok := m[key]; ok {
			_ = json.Unmarshal(raw, dst) // a non-string value stays empty
		}
	}
	if raw, ok := m["channels"]; ok {
		_ = json.Unmarshal(raw, &a.Channels)
	}
	return a, nil
}

// defaultPlaceholder is the placeholder of info/has_prefix lines that name
// only a path: conda-build's historical build prefix.
const defaultPlaceholder = "/opt/anaconda1anaconda2anaconda3"

// LegacyPaths builds path entries for a package older than paths.json from
// info/files, info/has_prefix and info/no_link (the last two may be nil).
// isSoftlink tells which listed paths are symbolic links in the payload.
func LegacyPaths(files, hasPrefix, noLink []byte, isSoftlink func(string) bool) ([]PathEntry, error) {
	prefixed := map[string]PathEntry{}
	for i, line := range lines(hasPrefix) {
		e, err := parseHasPrefix(line)
		if err != nil {
			return nil, fmt.Errorf("has_prefix line %d: %w", i+1, err)
		}
		prefixed[e.Path] = e
	}
	noLinks := map[string]bool{}
	for _, p := range lines(noLink) {
		noLinks[p] = true
	}
	var out []PathEntry
	seen := map[string]bool{}
	for i, f := range lines(files) {
		if seen[f] {
			continue // old conda-build wrote some paths twice
		}
		seen[f] = true
		e, ok := prefixed[f]
		if !ok {
			e = PathEntry{Path: f}
		}
		e.NoLink = noLinks[f]
		if isSoftlink != nil && isSoftlink(f) {
			e.PathType = PathSoftlink
		}
		if err := normalizeEntry(&e); err != nil {
			return nil, fmt.Errorf("files line %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// parseHasPrefix reads one info/has_prefix line: "path", or
// "placeholder mode path" where each field may be double-quoted.
func parseHasPrefix(line string) (PathEntry, error) {
	var fields []string
	for s := line; s != ""; s = strings.TrimLeft(s, " \t") {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return PathEntry{}, fmt.Errorf("%w: unterminated quote in %q", ErrFormat, line)
			}
			fields = append(fields, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t")
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
	return PathEntry{}, fmt.Errorf("%w: want \"path\" or \"placeholder mode path\", got %q", ErrFormat, line)
}

// lines returns the non-blank lines of b, trimmed.
func lines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		var l []byte
		l, b, _ = bytes.Cut(b, []byte{'\n'})
		if l = bytes.TrimSpace(l); len(l) > 0 {
			out = append(out, string(l))
		}
	}
	return out
}

// jsonError turns a decoding error into ErrFormat with the line and column
// of the offending byte when encoding/json reports an offset.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if errors.Is(err, ErrFormat) {
		// from a nested UnmarshalJSON (an entry point); no offset
		return err
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("%w: line %d, column %d: %w", ErrFormat, line, col, err)
}
