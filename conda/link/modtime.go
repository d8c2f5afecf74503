package link

import (
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ModTime is envkit's reproducible-timestamp rule: everything written into
// a layer (package files, directories, conda-meta) gets the caller's time
// t (e.g. from SOURCE_DATE_EPOCH), never the clock; the zero time means the
// Unix epoch. A layer must not depend on when it was made.
func ModTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0)
	}
	return t
}

// SettleParents gives the directories between root and root/prefix (e.g.
// root/azureml-envs for the prefix /azureml-envs/envkit) mode 0755 and the
// time ModTime(t), as Link gives everything below the prefix. root itself
// (a layer's staging directory) is left alone.
func SettleParents(root, prefix string, t time.Time) error {
	t = ModTime(t)
	root = filepath.Clean(root)
	for p := filepath.Dir(filepath.Join(root, prefix)); len(p) > len(root); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		if err := os.Chtimes(p, t, t); err != nil {
			return err
		}
	}
	return nil
}

// SettleDirs gives every directory under dir, dir included, the time
// ModTime(t): writing a file into a directory sets the directory's time to
// the clock's.
func SettleDirs(dir string, t time.Time) error {
	t = ModTime(t)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chtimes(p, t, t)
	})
}
