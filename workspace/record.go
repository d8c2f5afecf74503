package workspace

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/envkit/envkit/hash"
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
// it: the environment file, the conda file it refers to, and a local build
// context's entries. The Record's name and version are the version's, which
// create's --name and --version may have set: the file's name: and
// version: (absent in curated files) are not authoritative.
type Definition struct {
	Record
	// EnvFile is the environment file's path among Files.
	EnvFile string
	Files   []File
	// ContextPath is a local build context's directory (build.path, slash
	// form), "" for an environment without one; Context its entries
	// (directories, files, symlinks with their targets as Data), at paths
	// relative to it.
	ContextPath string
	Context     []File
}

// FS is the definition's files as a file system rooted at the environment
// file's directory, the build context included.
func (d *Definition) FS() fs.FS {
	m := fstest.MapFS{}
	for _, f := range d.Files {
		m[f.Path] = &fstest.MapFile{Data: f.Data, Mode: f.Mode}
	}
	for _, f := range d.Context { // the context's entry of a file in both has its real mode
		m[path.Join(d.ContextPath, f.Path)] = &fstest.MapFile{Data: f.Data, Mode: f.Mode}
	}
	return m
}

// ContextFS is the build context (nil for an environment without a local one).
func (d *Definition) ContextFS() fs.FS {
	if d.ContextPath == "" {
		return nil
	}
	sub, err := fs.Sub(d.FS(), d.ContextPath)
	if err != nil {
		return nil
	}
	return sub
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

// hash parses the definition and computes its hash from its own files.
func (d *Definition) hash() (*spec.Environment, string, error) {
	env, err := d.Environment()
	if err != nil {
		return nil, "", err
	}
	h, err := hash.Compute(env, d.ContextFS())
	if err != nil {
		return nil, "", err
	}
	return env, hash.Short(h), nil
}

// WriteFiles writes the definition's files under dir (created if needed;
// nothing is written outside it, symlinks included) and returns the
// environment file's path there. Existing files are not overwritten.
func (d *Definition) WriteFiles(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	var dirs []File
	write := func(f File) error {
		p := path.Clean(f.Path)
		if !fs.ValidPath(p) {
			return fmt.Errorf("%s: stored file %q is outside the definition's directory", d.Ref(), f.Path)
		}
		if parent := path.Dir(p); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return err
			}
		}
		switch {
		case f.Mode.IsDir():
			dirs = append(dirs, File{Path: p, Mode: f.Mode})
			return root.MkdirAll(p, 0o755)
		case f.Mode&fs.ModeSymlink != 0:
			return root.Symlink(string(f.Data), p)
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		out, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = out.Write(f.Data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = root.Chmod(p, mode) // exactly, whatever the umask
		}
		return err
	}
	inContext := map[string]bool{}
	for _, f := range d.Context {
		f.Path = path.Join(d.ContextPath, f.Path)
		inContext[f.Path] = true
		if err := write(f); err != nil {
			return "", err
		}
	}
	for _, f := range d.Files {
		if inContext[path.Clean(f.Path)] {
			continue // the environment file inside its build context: written with its mode above
		}
		if err := write(f); err != nil {
			return "", err
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- { // directories' modes last: a read-only one is filled first
		if err := root.Chmod(dirs[i].Path, dirs[i].Mode.Perm()); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, filepath.FromSlash(d.EnvFile)), nil
}
