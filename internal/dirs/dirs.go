// Package dirs makes the directories of a layer the way both of envkit's
// installers (conda/link and pypi/wheel) need them: mode 0755 whatever the
// umask, an existing directory accepted, and never through a symlink or
// over a file.
package dirs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FS is what Mkdir needs of a file system: *os.Root has it, and OS is the
// process's own.
type FS interface {
	Mkdir(name string, perm fs.FileMode) error
	Chmod(name string, mode fs.FileMode) error
	Lstat(name string) (fs.FileInfo, error)
}

// OS is the process's file system, names as os takes them.
var OS FS = osFS{}

type osFS struct{}

func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (osFS) Chmod(name string, mode fs.FileMode) error { return os.Chmod(name, mode) }
func (osFS) Lstat(name string) (fs.FileInfo, error)    { return os.Lstat(name) }

// Mkdir makes the directory name, whose parent exists, with mode 0755,
// or accepts the directory already there; created says which. A symlink or
// a file at name is an error naming rel (name as the user knows it).
func Mkdir(fsys FS, name, rel string) (created bool, err error) {
	// Mkdir first: in a fresh layer the directory never exists yet.
	switch err := fsys.Mkdir(name, 0o755); {
	case err == nil:
		return true, fsys.Chmod(name, 0o755) // undo the umask
	case errors.Is(err, fs.ErrExist):
		fi, err := fsys.Lstat(name)
		switch {
		case err != nil:
			return false, err
		case fi.IsDir():
			return false, nil
		case fi.Mode()&fs.ModeSymlink != 0:
			return false, fmt.Errorf("%s: is a symlink; refusing to write through it", rel)
		default:
			return false, fmt.Errorf("%s: is a file where a directory is needed", rel)
		}
	default:
		return false, err
	}
}
