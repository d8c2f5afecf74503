package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/pypi/reqfile"
)

// DefaultMaxWheelSize bounds a local wheel a pip line names: it is hashed
// (streamed), not held in memory, so the bound is about time, not memory.
const DefaultMaxWheelSize = 2 << 30

// maxPipFilesTotal bounds the -r and -c files of an environment together,
// in files of the size limit.
const maxPipFilesTotal = 4

// PipFile is a file of the environment's directory that a pip line of the
// conda file names: a requirements or constraints file (-r, -c) or a
// wheel. They are part of the environment: the hash covers them, and a
// stored definition keeps them.
type PipFile struct {
	// Path is relative to the environment file's directory, cleaned and
	// slash-separated.
	Path string
	// Wheel is true for a wheel, false for a -r or -c file.
	Wheel bool
	// Project is true for a project directory: Files are its files.
	Project bool
	// Data is a -r or -c file's content; nil for a wheel.
	Data []byte
	// Files are a project directory's files, sorted by path.
	Files []ProjectFile
	// SHA256 is the hex sha256 of the file's content; of a project
	// directory's canonical archive (ProjectArchive).
	SHA256 string
	// Size is the file's size in bytes; a project directory's files' in
	// all.
	Size int64
}

// PipFileByPath returns the pip file at p (as PipFile.Path), or nil.
func (env *Environment) PipFileByPath(p string) *PipFile {
	for i := range env.PipFiles {
		if env.PipFiles[i].Path == p {
			return &env.PipFiles[i]
		}
	}
	return nil
}

// RelPath returns a path reqfile gives (a -r file or a wheel joined to
// the directory of the conda file that names it) relative to the
// environment's directory, or false when it is outside it.
func (env *Environment) RelPath(p string) (string, bool) {
	base := path.Dir(env.File)
	if base != "." {
		prefix := strings.TrimSuffix(base, "/") + "/"
		if !strings.HasPrefix(p, prefix) {
			return "", false
		}
		p = p[len(prefix):]
	}
	if p == "" || !fs.ValidPath(p) || p == "." {
		return "", false
	}
	return p, true
}

// OpenPipFile reads a -r or -c file as the environment was loaded with it
// (reqfile.Options.Open): the resolver reads exactly what the hash
// covers. A file not loaded is an error.
func (env *Environment) OpenPipFile(p string) ([]byte, error) {
	rel, ok := env.RelPath(p)
	if !ok {
		return nil, errors.New("outside the environment's directory")
	}
	if f := env.PipFileByPath(rel); f != nil && !f.Wheel && !f.Project {
		return f.Data, nil
	}
	return nil, errors.New("not read with the environment")
}

// loadPip reads the conda file's pip: lines as pip does (reqfile), with
// the -r and -c files they name read from dir, confined to it (limit
// bytes each; reqfile bounds their nesting and number and refuses cycles),
// and hashes the wheels they name. Errors are at the line that names the
// file.
func (env *Environment) loadPip(dir fs.FS, limit, wheelLimit int64, o Options) diag.List {
	ef := env.Conda
	if ef == nil || len(ef.Pip) == 0 {
		return nil
	}
	lines := make([]reqfile.Line, len(ef.Pip))
	for i, it := range ef.Pip {
		lines[i] = reqfile.Line{Text: it.Value, Line: it.Line, Column: it.Column}
	}
	// All -r and -c files together: at most maxPipFilesTotal times the
	// limit of one (reqfile bounds their number and nesting).
	total := int64(0)
	open := func(p string) ([]byte, error) {
		rel, ok := env.RelPath(p)
		if !ok {
			return nil, errors.New("outside the environment's directory")
		}
		if f := env.PipFileByPath(rel); f != nil { // included again (not a cycle): the same content
			return f.Data, nil
		}
		if dir == nil {
			return nil, errors.New("no directory to read it from")
		}
		data, err := ReadFile(dir, rel, limit)
		if err != nil {
			return nil, readError(err)
		}
		if total += int64(len(data)); total > maxPipFilesTotal*limit {
			return nil, fmt.Errorf("the -r and -c files are larger than %s in all", FormatSize(maxPipFilesTotal*limit))
		}
		sum := sha256.Sum256(data)
		env.PipFiles = append(env.PipFiles, PipFile{Path: rel, Data: data, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
		return data, nil
	}
	maxFiles, maxSize := o.MaxProjectFiles, o.MaxProjectSize
	if maxFiles <= 0 {
		maxFiles = DefaultMaxProjectFiles
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxProjectSize
	}
	project := func(p string) (string, error) { return env.loadProject(dir, p, maxFiles, maxSize) }
	pf, err := reqfile.ParseLines(ef.File, lines, reqfile.Options{Open: open, Project: project, Field: "dependencies.pip"})
	if err != nil {
		var list diag.List
		if errors.As(err, &list) {
			return list
		}
		return diag.List{{File: ef.File, Field: "dependencies.pip", Msg: err.Error()}}
	}
	env.Pip = pf
	var errs diag.List
	for _, reqs := range [][]reqfile.Requirement{pf.Requirements, pf.Constraints} {
		for _, q := range reqs {
			if q.Path == "" || q.Project {
				continue
			}
			if err := env.loadWheel(dir, q.Path, wheelLimit); err != nil {
				errs = append(errs, &diag.Error{File: q.Pos.File, Line: q.Pos.Line, Column: q.Pos.Column, Field: pipField(q.Pos, ef.File),
					Msg: fmt.Sprintf("%s: %v", q.Text, err), Hint: "a wheel is named relative to the file that lists it, inside the environment's directory"})
			}
		}
	}
	return errs
}

// pipField is the field of a pip line in errors: dependencies.pip in the
// conda file, none in a -r file.
func pipField(p reqfile.Pos, condaFile string) string {
	if p.File == condaFile {
		return "dependencies.pip"
	}
	return ""
}

// loadWheel hashes the wheel at p (as reqfile gives it), streaming.
func (env *Environment) loadWheel(dir fs.FS, p string, limit int64) error {
	rel, ok := env.RelPath(p)
	if !ok {
		return errors.New("outside the environment's directory")
	}
	if env.PipFileByPath(rel) != nil {
		return nil
	}
	if dir == nil {
		return errors.New("no directory to read it from")
	}
	st, err := fs.Stat(dir, rel)
	if err != nil {
		return readError(err)
	}
	link := st.Mode()&fs.ModeSymlink != 0 // an FS whose Stat does not follow links (ReadFile)
	if !st.Mode().IsRegular() && !link {
		return &NotRegularError{Name: rel, Mode: st.Mode()}
	}
	if st.Size() > limit {
		return &TooLargeError{Name: rel, Limit: limit}
	}
	f, err := dir.Open(rel)
	if err != nil {
		return readError(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, limit+1))
	if err != nil {
		return readError(err)
	}
	if n > limit {
		return &TooLargeError{Name: rel, Limit: limit}
	}
	env.PipFiles = append(env.PipFiles, PipFile{Path: rel, Wheel: true, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
	return nil
}

// readError says why a file named by a pip line could not be read, never
// with its content.
func readError(err error) error {
	var tl *TooLargeError
	var nr *NotRegularError
	switch {
	case errors.As(err, &tl), errors.As(err, &nr):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file")
	case strings.Contains(err.Error(), "escapes"):
		return errors.New("a symlink that leads outside the environment's directory")
	}
	return unwrapPathError(err)
}
