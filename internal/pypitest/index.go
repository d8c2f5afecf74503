package pypitest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/envkit/envkit/pypi/name"
)

// FilesDir is the directory of an index directory that holds the
// distribution files (not a valid project name, so no page shadows it).
const FilesDir = "_files"

// MetadataMode says whether and how a file's PEP 658/714 metadata file is
// served and announced.
type MetadataMode uint8

const (
	// MetadataCore serves <file>.metadata and announces it with
	// data-core-metadata="sha256=…" (PEP 714), the default.
	MetadataCore MetadataMode = iota
	// MetadataLegacy announces it with data-dist-info-metadata (PEP 658).
	MetadataLegacy
	// MetadataNoHash announces it with data-core-metadata="true".
	MetadataNoHash
	// MetadataNone serves no metadata file: a client reads the
	// distribution itself.
	MetadataNone
)

// File is one distribution file of a project: a wheel or an sdist.
type File struct {
	Wheel *Wheel
	Sdist *Sdist
	// Yanked marks the file yanked (PEP 592), with YankedReason if given.
	Yanked       bool
	YankedReason string
	// RequiresPython is the page's data-requires-python: "" takes the
	// metadata's Requires-Python, "-" gives none.
	RequiresPython string
	Metadata       MetadataMode
	// NoHash lists the file without its #sha256= fragment.
	NoHash bool
}

// Filename is the file's name.
func (f File) Filename() string {
	if f.Wheel != nil {
		return f.Wheel.Filename()
	}
	return f.Sdist.Filename()
}

func (f File) meta() Meta {
	if f.Wheel != nil {
		return f.Wheel.Meta
	}
	return f.Sdist.Meta
}

// Bytes builds the file.
func (f File) Bytes() ([]byte, error) {
	switch {
	case f.Wheel != nil && f.Sdist != nil:
		return nil, fmt.Errorf("pypitest: a file is a wheel or an sdist, not both")
	case f.Wheel != nil:
		return f.Wheel.Bytes()
	case f.Sdist != nil:
		return f.Sdist.Bytes()
	}
	return nil, fmt.Errorf("pypitest: a file needs a wheel or an sdist")
}

// MetadataBytes is what the file's metadata file holds.
func (f File) MetadataBytes() []byte {
	if f.Wheel != nil {
		return f.Wheel.MetadataBytes()
	}
	return f.Sdist.MetadataBytes()
}

// Project is one project of an index.
type Project struct {
	Name  string // as written; its page is at <dir>/<normalised name>/
	Files []File
}

// Sum is a file's sha256 in hex.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// WriteIndex writes a PEP 503 simple index into dir: <dir>/<project>/
// index.html for each project (files linked as ../_files/<file>#sha256=…,
// with data-requires-python, data-yanked and data-core-metadata), the
// files and their .metadata files under <dir>/_files/, and <dir>/
// index.html listing the projects. Files of the same name are written once.
func WriteIndex(dir string, projects ...Project) error {
	files := filepath.Join(dir, FilesDir)
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	var root strings.Builder
	root.WriteString("<!DOCTYPE html>\n<html><body>\n")
	names := make([]string, 0, len(projects))
	for _, p := range projects {
		if err := name.Validate(p.Name); err != nil {
			return fmt.Errorf("pypitest: %w", err)
		}
		norm := name.Normalize(p.Name)
		names = append(names, norm)
		var page strings.Builder
		fmt.Fprintf(&page, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for %s</title></head><body>\n<h1>Links for %s</h1>\n", html.EscapeString(norm), html.EscapeString(norm))
		for _, f := range p.Files {
			data, err := f.Bytes()
			if err != nil {
				return fmt.Errorf("pypitest: project %s: %w", p.Name, err)
			}
			fn := f.Filename()
			if err := os.WriteFile(filepath.Join(files, fn), data, 0o644); err != nil {
				return err
			}
			href := "../" + FilesDir + "/" + fn
			if !f.NoHash {
				href += "#sha256=" + Sum(data)
			}
			attrs := fmt.Sprintf(" href=\"%s\"", html.EscapeString(href))
			rp := f.RequiresPython
			if rp == "" {
				rp = f.meta().RequiresPython
			}
			if rp != "" && rp != "-" {
				attrs += fmt.Sprintf(" data-requires-python=\"%s\"", html.EscapeString(rp))
			}
			if f.Yanked {
				attrs += fmt.Sprintf(" data-yanked=\"%s\"", html.EscapeString(f.YankedReason))
			}
			if f.Metadata != MetadataNone {
				md := f.MetadataBytes()
				if err := os.WriteFile(filepath.Join(files, fn+".metadata"), md, 0o644); err != nil {
					return err
				}
				switch f.Metadata {
				case MetadataCore:
					attrs += fmt.Sprintf(" data-core-metadata=\"sha256=%s\"", Sum(md))
				case MetadataLegacy:
					attrs += fmt.Sprintf(" data-dist-info-metadata=\"sha256=%s\"", Sum(md))
				case MetadataNoHash:
					attrs += " data-core-metadata=\"true\""
				}
			}
			fmt.Fprintf(&page, "<a%s>%s</a><br/>\n", attrs, html.EscapeString(fn))
		}
		page.WriteString("</body></html>\n")
		pd := filepath.Join(dir, norm)
		if err := os.MkdirAll(pd, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(pd, "index.html"), []byte(page.String()), 0o644); err != nil {
			return err
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&root, "<a href=\"%s/\">%s</a>\n", n, n)
	}
	root.WriteString("</body></html>\n")
	return os.WriteFile(filepath.Join(dir, "index.html"), []byte(root.String()), 0o644)
}

// Serve serves an index directory on 127.0.0.1 until the test ends and
// returns its URL (ending in '/'): project pages at <url><project>/, files
// at <url>_files/<file>.
func Serve(t testing.TB, dir string) string {
	t.Helper()
	fsrv := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		fsrv.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}
