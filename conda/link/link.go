// Package link places an extracted conda package into an environment prefix,
// as conda's and rattler's installers do (CEP 32 environment layout, CEP 34
// package contents), for envkit's one-layer-per-package builds:
//
//   - every path of info/paths.json is written, with the prefix placeholder
//     replaced in text files (shebangs the kernel cannot run are rewritten)
//     and in binary files (NUL-padded, never grown); modes are kept,
//     symlinks and directories recreated;
//   - noarch: python packages go to the environment's site-packages and
//     bin/, and their entry points become bin/ scripts;
//   - conda-meta/<name>-<version>-<build>.json records the package so that
//     conda, mamba and pixi recognise the environment.
//
// Where files are written (Options.Dest, a staging directory that becomes a
// layer) is kept apart from the prefix baked into them (the path of the
// environment in the final image).
//
// Link does not run pre/post-link scripts (it reports them) and does not
// compile .pyc files: Python writes them at first import when the
// environment is writable, and conda-meta lists no pyc_file entries.
// Everything written gets the same modification time (Options.ModTime) and
// nothing depends on the clock or on the staging paths, so linking a
// package twice gives byte-identical trees.
package link

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/dirs"
)

// Options controls Link.
type Options struct {
	// Dest is the directory the prefix's contents are written to (a layer's
	// staging directory). Empty means the prefix itself.
	Dest string
	// Record is the package's repodata record as solved or locked; it is
	// what conda-meta records (CEP 32 prefers it to info/index.json
	// because of repodata patches). Nil falls back to info/index.json,
	// without fn, url and channel: conda accepts that, but rattler (pixi)
	// requires fn and a valid url, so builds should always pass the record.
	Record *record.RepoDataRecord
	// Metadata is the package's info/ metadata when the caller has it
	// already (condapkg.Extract returns it); nil reads it from pkgDir/info.
	Metadata *condapkg.Metadata
	// Python is the environment's interpreter; required for noarch: python
	// packages. See PythonFromRecord.
	Python *Python
	// Platform is the target subdir (e.g. "linux-64"); it sets the shebang
	// length limit: 512 bytes for osx-*, 127 otherwise. win-* is not
	// supported.
	Platform string
	// ModTime is the modification time of everything written (files,
	// symlinks, directories including Dest, whose mode is set to 0755);
	// see ModTime.
	ModTime time.Time
	// ExtractedPackageDir is where the extracted package lives in the final
	// image, if anywhere (e.g. /opt/conda/pkgs/<dist>): it is recorded as
	// extracted_package_dir and link.source. The staging pkgDir is never
	// recorded.
	ExtractedPackageDir string
	// PackageTarballPath is recorded as package_tarball_full_path.
	PackageTarballPath string
	// RequestedSpecs are the user's specs that selected this package.
	RequestedSpecs []string
	// Hardlink links files that need no prefix replacement from pkgDir
	// instead of copying them (falling back to a copy across file systems).
	// Only for a pkgDir that is discarded afterwards: setting modes and
	// times on a linked file changes pkgDir's file too.
	Hardlink bool
}

// Result is what Link did.
type Result struct {
	// Record is what was written to conda-meta/<Record.MetaFileName()>.
	Record *PrefixRecord
	// Scripts are the package's pre/post-link and unlink scripts. Link
	// does not run them; the caller should warn that the package relies
	// on them.
	Scripts []Script
	// Files is the number of regular files, symlinks and generated
	// scripts written; Bytes the size of the regular files and scripts.
	Files int
	Bytes int64
}

// Script is a link script of a package (CEP 32 "pre- and post-link
// scripts"): bin/.<name>-<action>.sh or Scripts/.<name>-<action>.bat.
type Script struct {
	Action string // pre-link, post-link, pre-unlink or post-unlink
	Path   string // relative to the prefix
}

// Link places the extracted package at pkgDir (its info/ and payload) into
// the environment at prefix, an absolute path as seen in the final image,
// writing to opts.Dest. It writes conda-meta/<name>-<version>-<build>.json
// last, so a failed Link leaves no record of a half-linked package.
func Link(ctx context.Context, pkgDir, prefix string, opts Options) (*Result, error) {
	md, rec, err := prepare(pkgDir, prefix, opts)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	l := &linker{
		pkgDir: pkgDir, prefix: prefix, opts: opts,
		dest:       opts.Dest,
		maxShebang: shebangLimit(opts.Platform),
		mtime:      ModTime(opts.ModTime),
		dirs:       map[string]bool{},
	}
	if l.dest == "" {
		l.dest = prefix
	}
	if err := l.link(ctx, md, rec); err != nil {
		return nil, fmt.Errorf("link %s into %s: %w", rec.Dist(), prefix, err)
	}
	l.res.Record = rec
	return &l.res, nil
}

// Plan returns the conda-meta record Link would write for the package at
// pkgDir (paths_data with every path at its place in the prefix, entry
// points included) without writing anything; sha256_in_prefix is left out
// since no replacement was made. Feed the plans of an environment's
// packages to Clobbers before linking. With opts.Metadata (from
// condapkg.Read, which reads only an archive's info/) pkgDir may be empty:
// conflicts can be predicted before anything is extracted.
func Plan(pkgDir, prefix string, opts Options) (*PrefixRecord, error) {
	md, rec, err := prepare(pkgDir, prefix, opts)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if _, err := plan(md, rec, opts, shebangLimit(opts.Platform), prefix); err != nil {
		return nil, fmt.Errorf("plan %s: %w", rec.Dist(), err)
	}
	return rec, nil
}

// prepare checks Link's arguments, reads the package's metadata and starts
// its conda-meta record.
func prepare(pkgDir, prefix string, opts Options) (*condapkg.Metadata, *PrefixRecord, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, nil, err
	}
	if platform.Platform(opts.Platform).IsWindows() {
		return nil, nil, fmt.Errorf("platform %s: Windows prefixes are not supported", opts.Platform)
	}
	md := opts.Metadata
	if md == nil {
		var err error
		if md, err = readMetadata(pkgDir); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", pkgDir, err)
		}
	}
	rec, err := prefixRecordFor(md, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pkgDir, err)
	}
	return md, rec, nil
}

// shebangLimit is the longest shebang line the target's kernel runs.
func shebangLimit(subdir string) int {
	if platform.Platform(subdir).IsOSX() {
		return maxShebangMacOS
	}
	return maxShebangLinux
}

// checkPrefix requires an absolute, clean prefix that can be written into
// text and shebangs.
func checkPrefix(prefix string) error {
	switch {
	case !strings.HasPrefix(prefix, "/"):
		return fmt.Errorf("prefix %q: not an absolute path", prefix)
	case path.Clean(prefix) != prefix || prefix == "/":
		return fmt.Errorf("prefix %q: not a clean path below /", prefix)
	case strings.ContainsAny(prefix, "\x00\n\r\t\"'`$\\"):
		return fmt.Errorf("prefix %q: contains a control character, quote, backslash or $, "+
			"which cannot be written safely into text files and shebang trampolines", prefix)
	}
	return nil
}

// prefixRecordFor starts the conda-meta record: opts.Record when given
// (checked against index.json), else index.json.
func prefixRecordFor(md *condapkg.Metadata, opts Options) (*PrefixRecord, error) {
	r := &PrefixRecord{RepoDataRecord: record.RepoDataRecord{PackageRecord: md.Index}}
	if opts.Record != nil {
		o := &opts.Record.PackageRecord
		if o.Name != md.Index.Name || o.Version.String() != md.Index.Version.String() || o.Build != md.Index.Build {
			return nil, fmt.Errorf("record %s does not describe this package (info/index.json is %s)", o.Dist(), md.Index.Dist())
		}
		r.RepoDataRecord = *opts.Record
	}
	if r.Depends == nil {
		r.Depends = []string{}
	}
	r.PathsData.PathsVersion = 1
	if opts.ExtractedPackageDir != "" {
		r.ExtractedPackageDir = opts.ExtractedPackageDir
		r.Link = &LinkInfo{Source: opts.ExtractedPackageDir, Type: LinkCopy}
	}
	r.PackageTarballFullPath = opts.PackageTarballPath
	r.RequestedSpecs = opts.RequestedSpecs
	if len(opts.RequestedSpecs) == 1 {
		r.RequestedSpec = opts.RequestedSpecs[0]
	}
	return r, nil
}

// isNoarchPython reports whether a package is noarch: python, by its record
// or its link.json.
func isNoarchPython(md *condapkg.Metadata, rec *PrefixRecord) bool {
	return rec.Noarch == record.NoarchPython || md.Index.Noarch == record.NoarchPython ||
		(md.Link != nil && md.Link.Noarch.Type == record.NoarchPython)
}

type linker struct {
	pkgDir, prefix, dest string
	opts                 Options
	maxShebang           int
	mtime                time.Time
	// dirs holds the directories (relative to dest, "" for dest) known to
	// exist; all of them get mtime at the end.
	dirs map[string]bool
	// copied maps a source file's identity (device, inode) to the first
	// place it was copied to, so that paths the package holds as hard
	// links of one file stay one file in the layer.
	copied map[fileID]string
	res    Result
}

// step is one path Link writes: a paths.json entry, or a generated file
// (entry == nil).
type step struct {
	entry     *condapkg.PathEntry
	target    string
	generated []byte
}

// plan maps the package's paths to their places in the prefix and fills
// rec's paths_data and files, without writing anything.
func plan(md *condapkg.Metadata, rec *PrefixRecord, opts Options, maxShebang int, prefix string) ([]step, error) {
	py := opts.Python
	noarchPython := isNoarchPython(md, rec)
	if noarchPython && py == nil {
		return nil, errors.New("noarch: python package: Options.Python (the environment's interpreter) is required")
	}
	steps := make([]step, 0, len(md.Paths))
	paths := make([]PrefixPath, 0, len(md.Paths))
	owner := make(map[string]int, len(md.Paths))
	add := func(s step, pp PrefixPath) error {
		if j, ok := owner[s.target]; ok {
			return fmt.Errorf("%s: written twice (paths_data entries %d and %d)", s.target, j, len(paths))
		}
		owner[s.target] = len(paths)
		steps = append(steps, s)
		paths = append(paths, pp)
		return nil
	}
	for i := range md.Paths {
		e := &md.Paths[i]
		target := e.Path
		if noarchPython {
			target = py.targetPath(e.Path)
		}
		if err := checkTarget(target); err != nil {
			return nil, fmt.Errorf("paths[%d]: %w", i, err)
		}
		pp := PrefixPath{
			Path: target, PathType: e.PathType, NoLink: e.NoLink,
			SHA256: e.SHA256, SizeInBytes: e.SizeInBytes,
			PrefixPlaceholder: e.PrefixPlaceholder,
		}
		if e.PrefixPlaceholder != "" {
			pp.FileMode = e.FileMode
		}
		if err := add(step{entry: e, target: target}, pp); err != nil {
			return nil, err
		}
	}
	if noarchPython && md.Link != nil {
		for _, ep := range md.Link.Noarch.EntryPoints {
			script := []byte(entryPointScript(ep, path.Join(prefix, py.Executable()), maxShebang))
			sum := sha256.Sum256(script)
			size := int64(len(script))
			pp := PrefixPath{
				Path: "bin/" + ep.Command, PathType: PathUnixEntryPoint,
				SHA256: hex.EncodeToString(sum[:]), SizeInBytes: &size,
			}
			if err := add(step{target: pp.Path, generated: script}, pp); err != nil {
				return nil, err
			}
		}
	}
	rec.PathsData.Paths = paths
	rec.Files = make([]string, len(paths))
	for i := range paths {
		rec.Files[i] = paths[i].Path
	}
	return steps, nil
}

func (l *linker) link(ctx context.Context, md *condapkg.Metadata, rec *PrefixRecord) error {
	steps, err := plan(md, rec, l.opts, l.maxShebang, l.prefix)
	if err != nil {
		return err
	}
	if err := l.mkdirAll(""); err != nil {
		return err
	}
	for i, s := range steps {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		pp := &rec.PathsData.Paths[i]
		if s.entry == nil {
			err = l.writeGenerated(s.target, s.generated, 0o755)
		} else {
			err = l.place(s.entry, s.target, pp)
		}
		if err != nil {
			return err
		}
	}
	l.res.Scripts = LinkScripts(rec)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.writeRecord(rec); err != nil {
		return err
	}
	return l.touchDirs()
}

// place writes one paths.json entry at target, completing its paths_data
// entry pp.
func (l *linker) place(e *condapkg.PathEntry, target string, pp *PrefixPath) error {
	src := filepath.Join(l.pkgDir, filepath.FromSlash(e.Path))
	if e.PathType == condapkg.PathDirectory {
		return l.mkdirAll(target)
	}
	if err := l.mkdirAll(path.Dir(target)); err != nil {
		return err
	}
	dst := l.abs(target)
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// A hardlink entry whose extracted file is a symlink is linked as
		// the symlink it is, as conda does.
		pp.PathType = condapkg.PathSoftlink
		return l.symlink(src, dst, target)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file, symlink or directory (mode %s)", e.Path, fi.Mode())
	}
	// The file system decides, as in conda: a softlink entry the archive
	// holds as a regular file (some real packages do) is copied.
	pp.PathType = condapkg.PathHardlink
	perm := fi.Mode().Perm()
	l.res.Files++
	if e.PrefixPlaceholder == "" {
		l.res.Bytes += fi.Size()
		if id, ok := identity(fi); ok && !l.opts.Hardlink {
			if first, ok := l.copied[id]; ok {
				return l.relink(first, dst)
			}
			if l.copied == nil {
				l.copied = map[fileID]string{}
			}
			l.copied[id] = dst
		}
		return l.copyFile(src, dst, perm, l.opts.Hardlink && !e.NoLink, nil)
	}
	if e.FileMode == condapkg.FileModeBinary {
		return l.placeBinary(e, src, dst, target, perm, pp)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	out := replaceText(data, e.PrefixPlaceholder, l.prefix, l.maxShebang)
	if len(out) != len(data) || (len(out) > 0 && &out[0] != &data[0]) { // replaced
		sum := sha256.Sum256(out)
		pp.SHA256InPrefix = hex.EncodeToString(sum[:])
	}
	l.res.Bytes += int64(len(out))
	return l.writeFile(dst, out, perm)
}

// placeBinary copies a binary file with a placeholder and patches the
// strings that hold it in the copy. The source is mapped, not read, so a
// large library costs no heap beyond its patched strings.
func (l *linker) placeBinary(e *condapkg.PathEntry, src, dst, target string, perm fs.FileMode, pp *PrefixPath) error {
	data, release, err := mapFile(src)
	if err != nil {
		return err
	}
	defer release()
	patches, err := binaryPatches(data, e.PrefixPlaceholder, l.prefix)
	if err != nil {
		var tooLong *PrefixTooLongError
		if errors.As(err, &tooLong) {
			tooLong.Path = target
		}
		return err
	}
	if len(patches) > 0 {
		h := sha256.New()
		pos := int64(0)
		for _, p := range patches {
			h.Write(data[pos:p.off])
			h.Write(p.b)
			pos = p.off + int64(len(p.b))
		}
		h.Write(data[pos:])
		pp.SHA256InPrefix = hex.EncodeToString(h.Sum(nil))
	}
	l.res.Bytes += int64(len(data))
	return l.copyFile(src, dst, perm, false, patches)
}

// writeGenerated writes a file Link creates itself (an entry point).
func (l *linker) writeGenerated(target string, data []byte, perm fs.FileMode) error {
	if err := l.mkdirAll(path.Dir(target)); err != nil {
		return err
	}
	l.res.Files++
	l.res.Bytes += int64(len(data))
	return l.writeFile(l.abs(target), data, perm)
}

func (l *linker) writeRecord(rec *PrefixRecord) error {
	b, err := rec.encode()
	if err != nil {
		return err
	}
	if err := l.mkdirAll("conda-meta"); err != nil {
		return err
	}
	return l.writeFile(l.abs("conda-meta/"+rec.MetaFileName()), b, 0o644)
}

func (l *linker) abs(rel string) string {
	if rel == "" || rel == "." {
		return l.dest
	}
	return filepath.Join(l.dest, filepath.FromSlash(rel))
}

// mkdirAll creates rel and its parents below dest with mode 0755. It
// refuses to go through a symlink (which could lead outside dest) or a
// file.
func (l *linker) mkdirAll(rel string) error {
	if rel == "." {
		rel = ""
	}
	if l.dirs[rel] {
		return nil
	}
	p := l.abs(rel)
	if rel == "" {
		// Dest is the environment's root directory: 0755 like any other
		// directory of the prefix, whoever created it.
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		l.dirs[rel] = true
		return nil
	}
	if err := l.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	if _, err := dirs.Mkdir(dirs.OS, p, rel); err != nil {
		return err
	}
	l.dirs[rel] = true
	return nil
}

// touchDirs sets the modification time of every directory Link wrote into,
// now that nothing more is written to them.
func (l *linker) touchDirs() error {
	for rel := range l.dirs {
		if err := os.Chtimes(l.abs(rel), l.mtime, l.mtime); err != nil {
			return err
		}
	}
	return nil
}

// create opens dst for writing, replacing whatever is there (a previous
// link of the same path in a reused dest); it never writes through an
// existing hard link.
func create(dst string) (*os.File, error) {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err := os.Remove(dst); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	return f, err
}

func (l *linker) writeFile(dst string, data []byte, perm fs.FileMode) error {
	f, err := create(dst)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return l.finish(f, dst, perm, err)
}

// relink makes dst a hard link of first, a file this Link copied from the
// same source inode.
func (l *linker) relink(first, dst string) error {
	err := os.Link(first, dst)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(dst); err == nil {
			err = os.Link(first, dst)
		}
	}
	return err
}

// copyFile copies (or hard links) src to dst and applies patches to the
// copy.
func (l *linker) copyFile(src, dst string, perm fs.FileMode, hardlink bool, patches []patch) error {
	if hardlink {
		err := os.Link(src, dst)
		if errors.Is(err, fs.ErrExist) {
			if err = os.Remove(dst); err == nil {
				err = os.Link(src, dst)
			}
		}
		if err == nil {
			if err := os.Chmod(dst, perm); err != nil {
				return err
			}
			return os.Chtimes(dst, l.mtime, l.mtime)
		}
		// Fall back to a copy (another file system, no permission).
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in) // copy_file_range on Linux
	for _, p := range patches {
		if err != nil {
			break
		}
		_, err = out.WriteAt(p.b, p.off)
	}
	return l.finish(out, dst, perm, err)
}

// finish sets the mode and time of a file just written and closes it.
func (l *linker) finish(f *os.File, dst string, perm fs.FileMode, err error) error {
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, l.mtime, l.mtime)
	}
	return err
}

func (l *linker) symlink(src, dst, target string) error {
	to, err := os.Readlink(src)
	if err != nil {
		return err
	}
	err = os.Symlink(to, dst)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(dst); err == nil {
			err = os.Symlink(to, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	l.res.Files++
	return lchtimes(dst, l.mtime)
}

// LinkScripts returns the pre/post-link and unlink scripts among the files
// of a package's record (as Link or Plan return it), in file order.
func LinkScripts(r *PrefixRecord) []Script {
	var out []Script
	for _, p := range r.Files {
		if s, ok := linkScript(r.Name, p); ok {
			out = append(out, s)
		}
	}
	return out
}

// linkScript reports whether a prefix path is a link script of package
// name: bin/.<name>-<action>.sh or Scripts/.<name>-<action>.bat.
func linkScript(name, p string) (Script, bool) {
	var rest string
	switch {
	case strings.HasPrefix(p, "bin/.") && strings.HasSuffix(p, ".sh"):
		rest = p[len("bin/.") : len(p)-len(".sh")]
	case strings.HasPrefix(p, "Scripts/.") && strings.HasSuffix(p, ".bat"):
		rest = p[len("Scripts/.") : len(p)-len(".bat")]
	default:
		return Script{}, false
	}
	action, ok := strings.CutPrefix(rest, name+"-")
	if !ok {
		return Script{}, false
	}
	switch action {
	case "pre-link", "post-link", "pre-unlink", "post-unlink":
		return Script{Action: action, Path: p}, true
	}
	return Script{}, false
}
