package spec

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/envkit/envkit/pypi/pyproject"
)

// The bounds of a project directory a pip line names: it is read whole,
// held in memory with the environment, hashed and sent to BuildKit.
const (
	// DefaultMaxProjectFiles bounds its files (symlinks included).
	DefaultMaxProjectFiles = 2000
	// DefaultMaxProjectSize bounds its files' content in all.
	DefaultMaxProjectSize = 32 << 20
)

// ProjectExcludes are what a project directory is read without, as
// .dockerignore patterns relative to it: what a build or an editor leaves
// there, never part of a wheel built from a clean checkout. __pycache__,
// *.pyc, VCS directories and *.egg-info at any depth; build/ and dist/
// only at its top, where setuptools and build write them (a package may
// have a module directory of that name).
var ProjectExcludes = []string{"**/__pycache__", "**/*.pyc", "**/.git", "**/.hg", "**/.svn", "**/*.egg-info", "build", "dist"}

// excluded reports whether p (relative to the project directory) is left
// out by ProjectExcludes (a file or a directory alike, as the patterns
// match in the frontend's copy).
func excluded(p string) bool {
	base := path.Base(p)
	switch {
	case base == "__pycache__" || base == ".git" || base == ".hg" || base == ".svn":
		return true
	case strings.HasSuffix(base, ".egg-info"), strings.HasSuffix(base, ".pyc"):
		return true
	case p == "build" || p == "dist":
		return true
	}
	return false
}

// ProjectFile is a file of a project directory as loaded.
type ProjectFile struct {
	// Path is relative to the project directory, slash-separated.
	Path string
	// Mode is 0o644 or 0o755 for a regular file (the executable bit
	// kept), fs.ModeSymlink|0o777 for a symlink.
	Mode fs.FileMode
	// Data is a regular file's content.
	Data []byte
	// Link is a symlink's target as written (relative, inside the
	// project directory).
	Link string
}

// ProjectFile returns the file at p (relative to the project directory)
// of a project directory's PipFile, or nil.
func (f *PipFile) ProjectFile(p string) *ProjectFile {
	for i := range f.Files {
		if f.Files[i].Path == p {
			return &f.Files[i]
		}
	}
	return nil
}

// ProjectArchive writes files (sorted by path) as the canonical archive
// of a project directory, whose sha256 is its PipFile.SHA256 and the
// lock's: a PAX tar of its regular files and symlinks in byte order of
// their paths, without directories, each with mode 0644 or 0755 (0777 for
// a symlink), modification time 0, owner 0:0 and no user or group name.
func ProjectArchive(w io.Writer, files []ProjectFile) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Mode: int64(f.Mode.Perm()), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if f.Mode&fs.ModeSymlink != 0 {
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// ProjectSHA256 is the hex sha256 of files' canonical archive.
func ProjectSHA256(files []ProjectFile) string {
	h := sha256.New()
	_ = ProjectArchive(h, files) // a hash does not fail
	return hex.EncodeToString(h.Sum(nil))
}

// Pyproject reads the project of a project directory's PipFile from its
// pyproject.toml, refusing what envkit cannot know without building it:
// no pyproject.toml (only setup.py), no [project] table, a dynamic
// version or dependencies.
func (f *PipFile) Pyproject() (*pyproject.Project, error) {
	const build = "build a wheel (python -m build --wheel) and name the wheel instead"
	pf := f.ProjectFile("pyproject.toml")
	if pf == nil || pf.Mode&fs.ModeSymlink != 0 {
		if f.ProjectFile("setup.py") != nil {
			return nil, errors.New("has only setup.py: envkit cannot know its name, version and dependencies without building it: " + build)
		}
		return nil, errors.New("is not a Python project (no pyproject.toml or setup.py)")
	}
	p, err := pyproject.Parse(pf.Data)
	if errors.Is(err, pyproject.ErrNoProject) {
		return nil, errors.New("pyproject.toml has no [project] table (its metadata is in setup.py or setup.cfg): envkit cannot know its name, version and dependencies without building it: " + build)
	}
	if err != nil {
		return nil, fmt.Errorf("pyproject.toml: %w", err)
	}
	if err := p.Static(); err != nil {
		return nil, err
	}
	return p, nil
}

// loadProject reads the project directory at p (as reqfile gives it)
// inside dir: its files, bounded, without ProjectExcludes, symlinks kept
// only when they stay inside it; and returns its project name.
func (env *Environment) loadProject(dir fs.FS, p string, maxFiles int, maxSize int64) (string, error) {
	rel, ok := env.RelPath(p)
	if !ok {
		return "", errors.New("outside the environment's directory")
	}
	if f := env.PipFileByPath(rel); f != nil {
		if !f.Project {
			return "", errors.New("not a directory")
		}
		pp, err := f.Pyproject()
		if err != nil {
			return "", err
		}
		return pp.Name, nil
	}
	if dir == nil {
		return "", errors.New("no directory to read it from")
	}
	st, err := fs.Stat(dir, rel)
	if err != nil {
		return "", readError(err)
	}
	if !st.IsDir() {
		return "", errors.New("not a directory (a path that is neither a wheel nor an sdist names a project directory)")
	}
	f := PipFile{Path: rel, Project: true}
	var walk func(sub string) error
	walk = func(sub string) error {
		ents, err := fs.ReadDir(dir, path.Join(rel, sub))
		if err != nil {
			return readError(err)
		}
		for _, e := range ents {
			fp := path.Join(sub, e.Name())
			full := path.Join(rel, fp)
			t := e.Type()
			if excluded(fp) {
				continue
			}
			if len(f.Files) >= maxFiles {
				return fmt.Errorf("has more than %d files (build, dist, __pycache__, .git and *.egg-info left out)", maxFiles)
			}
			switch {
			case t.IsDir():
				if err := walk(fp); err != nil {
					return err
				}
			case t&fs.ModeSymlink != 0:
				target, err := fs.ReadLink(dir, full)
				if err != nil {
					return fmt.Errorf("%s: %w", fp, readError(err))
				}
				if to := path.Join(path.Dir(fp), target); path.IsAbs(target) || to == ".." || strings.HasPrefix(to, "../") {
					return fmt.Errorf("%s: a symlink that leads outside the project directory (%s)", fp, target)
				}
				f.Files = append(f.Files, ProjectFile{Path: fp, Mode: fs.ModeSymlink | 0o777, Link: target})
			case t.IsRegular():
				info, err := e.Info()
				if err != nil {
					return fmt.Errorf("%s: %w", fp, readError(err))
				}
				data, err := ReadFile(dir, full, max(maxSize-f.Size, 1))
				var tl *TooLargeError
				if errors.As(err, &tl) || f.Size+int64(len(data)) > maxSize {
					return fmt.Errorf("is larger than %s (build, dist, __pycache__, .git and *.egg-info left out)", FormatSize(maxSize))
				}
				if err != nil {
					return fmt.Errorf("%s: %w", fp, readError(err))
				}
				mode := fs.FileMode(0o644)
				if info.Mode()&0o111 != 0 {
					mode = 0o755
				}
				f.Size += int64(len(data))
				f.Files = append(f.Files, ProjectFile{Path: fp, Mode: mode, Data: data})
			default:
				return fmt.Errorf("%s: %w", fp, &NotRegularError{Name: fp, Mode: t})
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return "", err
	}
	slices.SortFunc(f.Files, func(a, b ProjectFile) int { return strings.Compare(a.Path, b.Path) })
	pp, err := f.Pyproject()
	if err != nil {
		return "", err
	}
	f.SHA256 = ProjectSHA256(f.Files)
	env.PipFiles = append(env.PipFiles, f)
	return pp.Name, nil
}
