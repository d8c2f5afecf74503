package workspace

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/envkit/envkit/spec"
)

// Record is one registered (or curated) environment version: what show and
// list print. The definition's files are in a Definition.
type Record struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Hash        string            `json:"hash"` // envkit_<32 hex>
	Kind        spec.Kind         `json:"kind"`
	Archived    bool              `json:"archived"`
	Created     time.Time         `json:"created"`
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
}

// Ref is the record's NAME:VERSION reference.
func (r Record) Ref() Ref { return Ref{Name: r.Name, Version: r.Version} }

// File is one file of a definition, at a slash path relative to the
// environment file's directory.
type File struct {
	Path string
	Mode fs.FileMode // permission bits
	Data []byte
}

// Definition is a registered or curated version with the files that define
// it: the environment file and the conda file it refers to.
type Definition struct {
	Record
	// EnvFile is the environment file's path among Files.
	EnvFile string
	Files   []File
}

// FS is the definition's files as a file system rooted at the environment
// file's directory.
func (d *Definition) FS() fs.FS {
	m := fstest.MapFS{}
	for _, f := range d.Files {
		m[f.Path] = &fstest.MapFile{Data: f.Data, Mode: f.Mode}
	}
	return m
}

// Environment parses the definition (the environment file and its conda
// file, from the stored files).
func (d *Definition) Environment() (*spec.Environment, error) {
	for _, f := range d.Files {
		if f.Path == d.EnvFile {
			return spec.Load(f.Path, f.Data, d.FS())
		}
	}
	return nil, fmt.Errorf("%s: the environment file %s is missing from the stored definition", d.Ref(), d.EnvFile)
}

// WriteFiles writes the definition's files under dir (created if needed)
// and returns the environment file's path there. Existing files are not
// overwritten.
func (d *Definition) WriteFiles(dir string) (string, error) {
	for _, f := range d.Files {
		if !spec.IsLocal(f.Path) {
			return "", fmt.Errorf("%s: stored file %q is outside the definition's directory", d.Ref(), f.Path)
		}
		p := filepath.Join(dir, filepath.FromSlash(path.Clean(f.Path)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return "", err
		}
		_, err = out.Write(f.Data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, filepath.FromSlash(d.EnvFile)), nil
}
