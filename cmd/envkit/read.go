package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/rootfs"
	"github.com/envkit/envkit/spec"
	"github.com/spf13/cobra"
)

// How the CLI reads the files of an environment: each is opened inside the
// environment file's directory (os.Root: a symlink is followed only while
// it stays inside), only regular files are read (a FIFO or a device is
// refused before it is opened), and each read is bounded. Diagnostics show
// source lines only of files read the same way.

// maxFileSize bounds an environment file and its conda file: the
// --max-file-size flag, else ENVKIT_MAX_FILE_SIZE (bytes), else
// spec.DefaultMaxFileSize.
var maxFileSize = fileSizeFromEnv()

// maxLockfileSize bounds a lock file: a multi-platform lock of a large
// environment is a few MiB, larger than an environment file may be.
const maxLockfileSize = 256 << 20

func fileSizeFromEnv() int64 {
	if s := os.Getenv("ENVKIT_MAX_FILE_SIZE"); s != "" {
		if n, err := parseSize(s); err == nil && n > 0 {
			return n
		}
	}
	return spec.DefaultMaxFileSize
}

// sizeFlag is a byte count written as 123, 64KiB, 4MiB or 1GiB.
type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string {
	if s.n == nil {
		return ""
	}
	return spec.FormatSize(*s.n)
}

func (s sizeFlag) Type() string { return "size" }

func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a size such as 8MiB, not %q", v)
	}
	*s.n = n
	return nil
}

func parseSize(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return n * mult, nil
}

// addReadFlags adds the reading bounds to a command's flags. Commands are
// made afresh for each run, and so the bound starts from its default each
// time.
func addReadFlags(c *cobra.Command) {
	maxFileSize = fileSizeFromEnv()
	c.Flags().Var(sizeFlag{&maxFileSize}, "max-file-size", "largest environment or conda file read, e.g. 16MiB (also ENVKIT_MAX_FILE_SIZE)")
}

// readConfined reads file inside its own directory, at most limit bytes.
// The error names the file and why it was refused, never its content.
func readConfined(file string, limit int64) (*rootfs.FS, []byte, error) {
	dir, err := rootfs.Open(filepath.Dir(file))
	if err != nil {
		return nil, nil, err
	}
	data, err := spec.ReadFile(dir, filepath.Base(file), limit)
	if err != nil {
		dir.Close()
		var nr *spec.NotRegularError
		var tl *spec.TooLargeError
		switch {
		case errors.As(err, &nr):
			nr.Name = file
			return nil, nil, nr
		case errors.As(err, &tl):
			tl.Name = file
			return nil, nil, tl
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, fmt.Errorf("%s: no such file", file)
		case strings.Contains(err.Error(), "escapes"):
			return nil, nil, fmt.Errorf("%s: a symlink that leads outside its directory (name the file it points to instead)", file)
		}
		return nil, nil, fmt.Errorf("%s: %w", file, unwrapPathError(err))
	}
	return dir, data, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadEnvironment reads an environment file and the files it refers to,
// inside its directory.
func loadEnvironment(file string) (*spec.Environment, error) {
	dir, data, err := readConfined(file, maxFileSize)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return spec.Options{MaxFileSize: maxFileSize}.Load(file, data, dir)
}

// buildContextFS opens the build context of a build environment: build.path
// inside the environment file's directory, a symlink followed only while it
// stays inside. It is nil for other environments; the caller closes it.
func buildContextFS(file string, env *spec.Environment) (fs.FS, error) {
	if env.Build == nil || env.Build.IsRemote() {
		return nil, nil
	}
	dir, err := rootfs.Open(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	p := filepath.ToSlash(filepath.Clean(filepath.FromSlash(env.Build.Path)))
	if p == "." {
		return dir, nil // the context is the directory itself: the caller closes it
	}
	defer dir.Close()
	ctx, err := dir.Sub(p)
	if err != nil {
		e := env.Pos("build.path")
		e.Field, e.Msg = "build.path", fmt.Sprintf("cannot open the build context %q: %v", env.Build.Path, unwrapPathError(err))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			e.Hint = "build.path is a directory relative to the environment file"
		case strings.Contains(err.Error(), "escapes"):
			e.Hint = "a symlink must point inside the environment's directory"
		}
		return nil, diag.List{&e}
	}
	return ctx, nil
}

// checkBuildContext reads a local build context as hash and build do: the
// Dockerfile must be there, .dockerignore must parse.
func checkBuildContext(file string, env *spec.Environment) error {
	ctx, err := buildContextFS(file, env)
	if err != nil || ctx == nil {
		return err
	}
	defer closeFS(ctx)
	_, err = hash.Canonical(env, ctx)
	return err
}

// closeFS closes what buildContextFS opened.
func closeFS(f fs.FS) {
	if c, ok := f.(io.Closer); ok {
		c.Close()
	}
}

// maxLineShown is how much of a source line a diagnostic shows.
const maxLineShown = 160

// printDiagnostics prints each error with the line it points at and a
// marker under the column, as compilers do: at most diag.MaxShown of them, long
// lines clipped around the column. Lines come from the file read again the
// way it was loaded (inside its directory, bounded), so a file that was
// refused is never shown.
func printDiagnostics(w io.Writer, err error) {
	var list diag.List
	if !errors.As(err, &list) {
		fmt.Fprintf(w, "envkit: %v\n", err)
		return
	}
	files := map[string][]string{}
	for i, e := range list {
		if i == diag.MaxShown {
			fmt.Fprintf(w, "envkit: and %d more errors\n", len(list)-diag.MaxShown)
			break
		}
		fmt.Fprintf(w, "%v\n", e)
		if e.Line <= 0 {
			continue
		}
		lines, ok := files[e.File]
		if !ok {
			if dir, data, err := readConfined(e.File, max(maxFileSize, maxLockfileSize)); err == nil {
				dir.Close()
				lines = strings.Split(string(channel.MaskCredentials(data)), "\n")
			}
			files[e.File] = lines
		}
		if e.Line <= len(lines) {
			line, col := clipLine(lines[e.Line-1], e.Column)
			fmt.Fprintf(w, "  %4d | %s\n", e.Line, line)
			if col > 0 {
				fmt.Fprintf(w, "       | %s^\n", strings.Repeat(" ", col-1))
			}
		}
	}
}

// clipLine cuts a long line to maxLineShown bytes around col (1-based; 0:
// the start) and returns the column in the cut line.
func clipLine(line string, col int) (string, int) {
	line = strings.TrimRight(line, "\r")
	if len(line) <= maxLineShown {
		return line, col
	}
	start := 0
	if col > maxLineShown/2 {
		start = min(col-1-maxLineShown/2, len(line)-maxLineShown)
	}
	end := start + maxLineShown
	out := line[start:end]
	if start > 0 {
		out = "…" + out
		col = col - start + 1
	}
	if end < len(line) {
		out += fmt.Sprintf("… (%d more bytes)", len(line)-end)
	}
	return out, col
}
