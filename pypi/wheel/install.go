package wheel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/internal/dirs"
)

// Installer is what INSTALLER records.
const Installer = "envkit"

// Python describes the environment's interpreter, which decides where a
// wheel's files go. Paths are relative to the prefix.
type Python struct {
	// Version is the interpreter's major.minor version, e.g. "3.12".
	Version string
	// SitePackages is purelib and platlib, e.g.
	// "lib/python3.12/site-packages" (the default).
	SitePackages string
	// Executable is the interpreter that scripts run, default
	// "bin/python<Version>".
	Executable string
	// Include is the headers directory, default "include/python<Version>";
	// a wheel's headers go to Include/<normalised project name>.
	Include string
}

// Options controls Install.
type Options struct {
	// Prefix is the environment's absolute path in the final image; it is
	// what shebangs hold.
	Prefix string
	// Dest is the root of the layer being written: files go to
	// Dest/Prefix/..., and the directories between Dest and the prefix
	// get mode 0755 and ModTime. Empty means install in place (into
	// Prefix itself, its parents left alone).
	Dest string
	// Python is the environment's interpreter; Version is required.
	Python Python
	// Requested writes REQUESTED: the user asked for this package (it is
	// not only a dependency).
	Requested bool
	// DirectURL, for a URL requirement, is written as direct_url.json;
	// an archive_info without hashes gets SHA256 when it is set.
	DirectURL *DirectURL
	// ModTime is the modification time of everything written; see
	// conda/link's ModTime (the zero time means the Unix epoch).
	ModTime time.Time
	// SHA256, when set, is the wheel's expected sha256 (hex, as a lock
	// records it), checked before anything is read from it.
	SHA256 string
	// Limits bound decompression.
	Limits Limits
}

// Result is what Install did.
type Result struct {
	// Name and Version are the project's, as its .dist-info spells them.
	Name, Version string
	// DistInfo is the installed .dist-info directory, relative to the
	// prefix.
	DistInfo string
	// Files are the installed files (RECORD's, and RECORD itself),
	// relative to the prefix, sorted.
	Files []string
	// Scripts are the executables written to bin/, sorted by name.
	Scripts []Script
	// Bytes is the size of the files written.
	Bytes int64
}

// ScriptKind says where a bin/ script came from.
type ScriptKind string

const (
	ConsoleScript ScriptKind = "console" // entry_points.txt console_scripts
	GUIScript     ScriptKind = "gui"     // entry_points.txt gui_scripts
	DataScript    ScriptKind = "data"    // <name>-<version>.data/scripts
)

// Script is one executable Install wrote.
type Script struct {
	Name string     // file name in bin/
	Path string     // relative to the prefix
	Kind ScriptKind // origin
}

// Install installs the wheel at wheelPath into the environment at
// opts.Prefix, writing under opts.Dest; see the package documentation. It
// writes RECORD last, so a failed Install leaves no record of a
// half-installed package, and removes the files and directories it
// created (a file it replaced is not restored).
func Install(ctx context.Context, wheelPath string, opts Options) (*Result, error) {
	py, err := checkOptions(&opts)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", filepath.Base(wheelPath), err)
	}
	f, err := os.Open(wheelPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if opts.SHA256 != "" {
		if err := verifySHA256(f, opts.SHA256); err != nil {
			return nil, &Error{Wheel: filepath.Base(wheelPath), Err: err}
		}
	}
	w, err := Read(f, st.Size(), wheelPath, opts.Limits)
	if err != nil {
		return nil, err
	}
	in := &installer{w: w, opts: opts, py: py, mtime: link.ModTime(opts.ModTime), dirs: map[string]bool{}}
	res, err := in.run(ctx)
	if err != nil {
		return nil, w.wrap(err)
	}
	return res, nil
}

// verifySHA256 checks the whole file against a hex sha256.
func verifySHA256(f *os.File, want string) error {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return err
	}
	got := fmt.Sprintf("%x", h.Sum(nil))
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("%w: sha256 %s, want %s", ErrChecksum, got, strings.ToLower(want))
	}
	return nil
}

// checkOptions validates opts and fills in Python's defaults.
func checkOptions(opts *Options) (Python, error) {
	p := opts.Prefix
	switch {
	case !strings.HasPrefix(p, "/"):
		return Python{}, fmt.Errorf("prefix %q: not an absolute path", p)
	case path.Clean(p) != p || p == "/":
		return Python{}, fmt.Errorf("prefix %q: not a clean path below /", p)
	case strings.ContainsAny(p, "\x00\n\r\t\"'`$\\ "):
		return Python{}, fmt.Errorf("prefix %q: contains white space, a control character, quote, backslash or $, "+
			"which cannot be written safely into a shebang", p)
	}
	py := opts.Python
	major, minor, ok := strings.Cut(py.Version, ".")
	if !ok || !isDigits(major) || !isDigits(minor) {
		return Python{}, fmt.Errorf("python version %q: want MAJOR.MINOR", py.Version)
	}
	if py.SitePackages == "" {
		py.SitePackages = "lib/python" + py.Version + "/site-packages"
	}
	if py.Executable == "" {
		py.Executable = "bin/python" + py.Version
	}
	if py.Include == "" {
		py.Include = "include/python" + py.Version
	}
	for _, f := range []struct{ name, v string }{{"site-packages", py.SitePackages}, {"executable", py.Executable}, {"include", py.Include}} {
		if err := checkPath(f.v); err != nil {
			return Python{}, fmt.Errorf("python %s: %w", f.name, err)
		}
		if strings.ContainsAny(f.v, "\n\r\t\"'`$ ") {
			return Python{}, fmt.Errorf("python %s %q: contains white space, a control character, quote or $", f.name, f.v)
		}
	}
	return py, nil
}

type installer struct {
	w     *Wheel
	opts  Options
	py    Python
	mtime time.Time
	root  *os.Root
	// dirs holds the directories (relative to the prefix, "" for the
	// prefix) known to exist; all get mtime at the end.
	dirs map[string]bool
	// dirRoots are directories of the prefix held open (see openDir);
	// dirRoot is the one of the file being written.
	dirRoots map[string]*os.Root
	dirRoot  *os.Root
	// created lists what this Install created, for cleanup on failure.
	createdFiles, createdDirs []string
	buf                       []byte
	res                       Result
}

// step is one file Install writes: an archive member, or a generated file
// (m == nil).
type step struct {
	target  string // relative to the prefix
	m       *member
	data    []byte
	exec    bool
	rewrite bool // a .data/scripts file: "#!python" is rewritten
	script  ScriptKind
	row     RecordEntry
}

// plan maps the wheel's files to their places in the prefix, with the
// generated files, sorted by target.
func (in *installer) plan() ([]*step, error) {
	w, py := in.w, in.py
	owner := map[string]string{}
	var steps []*step
	// add plans s; member is the archive member it comes from (for
	// errors), from what it is.
	add := func(s *step, member, from string) error {
		if err := checkPath(s.target); err != nil {
			return w.errorf(member, 0, ErrUnsafePath, "%s: installs to %v", from, err)
		}
		if dir, base := path.Split(s.target); dir == "bin/" && reservedScript.MatchString(base) || s.target == py.Executable {
			return w.errorf(member, 0, ErrUnsafePath, "%s: would replace the environment's interpreter %s", from, s.target)
		}
		if prev, dup := owner[s.target]; dup {
			return w.errorf(member, 0, ErrFormat, "%s and %s both install %s", prev, from, s.target)
		}
		owner[s.target] = from
		steps = append(steps, s)
		return nil
	}
	eps := pipScripts(w.EntryPoints, py.Version)
	isEntryPoint := map[string]bool{}
	for _, ep := range eps {
		isEntryPoint[ep.Name] = true
	}
	site := py.SitePackages
	distInfo := w.DistInfo + "/"
	for _, m := range w.files {
		s := &step{m: m, exec: m.exec}
		switch {
		case m.name == distInfo+"RECORD", m.name == distInfo+"RECORD.jws", m.name == distInfo+"RECORD.p7s",
			m.name == distInfo+"INSTALLER", m.name == distInfo+"REQUESTED", m.name == distInfo+"direct_url.json":
			continue // written by Install, or signing the RECORD it replaces
		case isDataPath(m.name):
			// pip's rule: any top-level *.data directory, not only
			// <name>-<version>.data, holds scheme directories.
			data, rest, _ := strings.Cut(m.name, "/")
			scheme, rest, _ := strings.Cut(rest, "/")
			if rest == "" {
				return nil, w.errorf(m.name, 0, ErrFormat, "a file directly in %s/ (want %s/<scheme>/...)", data, data)
			}
			switch scheme {
			case "purelib", "platlib":
				s.target = path.Join(site, rest)
			case "headers":
				s.target = path.Join(py.Include, w.File.Name, rest)
			case "data":
				s.target = rest
			case "scripts":
				if strings.Contains(rest, "/") {
					return nil, w.errorf(m.name, 0, ErrFormat, "a directory in %s/scripts", data)
				}
				if isEntryPoint[scriptMatchName(rest)] {
					continue // pip: the entry point's launcher wins
				}
				s.target, s.exec, s.rewrite, s.script = "bin/"+rest, true, true, DataScript
			default:
				return nil, w.errorf(m.name, 0, ErrFormat, "unknown scheme %q in %s/ (want purelib, platlib, headers, scripts or data)", scheme, data)
			}
		default:
			s.target = path.Join(site, m.name)
		}
		if err := add(s, m.name, m.name); err != nil {
			return nil, err
		}
	}
	python := path.Join(in.opts.Prefix, py.Executable)
	for _, ep := range eps {
		kind := ConsoleScript
		if ep.GUI {
			kind = GUIScript
		}
		s := &step{target: "bin/" + ep.Name, data: entryPointScript(ep, python), exec: true, script: kind}
		if err := add(s, distInfo+"entry_points.txt", "entry point "+ep.Name); err != nil {
			return nil, err
		}
	}
	gen := func(base string, data []byte) error {
		return add(&step{target: path.Join(site, distInfo+base), data: data}, "", base)
	}
	if err := gen("INSTALLER", []byte(Installer+"\n")); err != nil {
		return nil, err
	}
	if in.opts.Requested {
		if err := gen("REQUESTED", []byte{}); err != nil {
			return nil, err
		}
	}
	if in.opts.DirectURL != nil {
		d := *in.opts.DirectURL
		if d.Archive != nil && d.Archive.Hash == "" && len(d.Archive.Hashes) == 0 && in.opts.SHA256 != "" {
			// What pip records for a wheel it checked.
			sum := strings.ToLower(in.opts.SHA256)
			d.Archive = &ArchiveInfo{Hash: "sha256=" + sum, Hashes: map[string]string{"sha256": sum}}
		}
		data, err := d.encode()
		if err != nil {
			return nil, err
		}
		if err := gen("direct_url.json", data); err != nil {
			return nil, err
		}
	}
	if from, dup := owner[path.Join(site, distInfo+"RECORD")]; dup {
		return nil, w.errorf(from, 0, ErrFormat, "would replace the installed RECORD")
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].target < steps[j].target })
	return steps, nil
}

// isDataPath reports whether a member is in a top-level *.data directory.
func isDataPath(name string) bool {
	top, _, ok := strings.Cut(name, "/")
	return ok && strings.HasSuffix(top, ".data")
}

// scriptMatchName is a .data/scripts file's name as pip compares it with
// the entry points: without .exe, -script.py or .pya.
func scriptMatchName(n string) string {
	for _, suf := range []string{".exe", "-script.py", ".pya"} {
		if s, ok := strings.CutSuffix(n, suf); ok {
			return s
		}
	}
	return n
}

func (in *installer) run(ctx context.Context) (_ *Result, err error) {
	steps, err := in.plan()
	if err != nil {
		return nil, err
	}
	prefixDir := in.prefixDir()
	if err := os.MkdirAll(prefixDir, 0o755); err != nil {
		return nil, err
	}
	if in.root, err = os.OpenRoot(prefixDir); err != nil {
		return nil, err
	}
	defer func() {
		in.closeDirRoots()
		in.root.Close()
		if err != nil {
			in.cleanup()
		}
	}()
	if err := in.root.Chmod(".", 0o755); err != nil {
		return nil, err
	}
	in.dirs[""] = true
	in.buf = make([]byte, 256<<10)
	for i, s := range steps {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if err := in.write(s); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := in.writeRecord(steps); err != nil {
		return nil, err
	}
	if err := in.touchDirs(); err != nil {
		return nil, err
	}
	if in.opts.Dest != "" {
		if err := link.SettleParents(in.opts.Dest, in.opts.Prefix, in.mtime); err != nil {
			return nil, err
		}
	}
	in.res.Name, in.res.Version = in.w.Name, in.w.Version.String()
	in.res.DistInfo = path.Join(in.py.SitePackages, in.w.DistInfo)
	sort.Slice(in.res.Scripts, func(i, j int) bool { return in.res.Scripts[i].Name < in.res.Scripts[j].Name })
	sort.Strings(in.res.Files)
	return &in.res, nil
}

// write writes one step and fills its RECORD row.
func (in *installer) write(s *step) error {
	if err := in.mkdirAll(path.Dir(s.target)); err != nil {
		return err
	}
	f, err := in.create(s.target)
	if err != nil {
		return err
	}
	perm := fs.FileMode(0o644)
	if s.exec {
		perm = 0o755
	}
	var n int64
	switch s.m {
	case nil:
		var k int
		k, err = f.Write(s.data)
		n = int64(k)
		sum := sha256.Sum256(s.data)
		s.row.Hash = recordHash(sum[:])
	default:
		n, s.row.Hash, err = in.copyMember(f, s)
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = in.dirRoot.Chtimes(path.Base(s.target), in.mtime, in.mtime)
	}
	if err != nil {
		return err
	}
	s.row.Size = n
	in.res.Bytes += n
	in.res.Files = append(in.res.Files, s.target)
	if s.script != "" {
		in.res.Scripts = append(in.res.Scripts, Script{Name: path.Base(s.target), Path: s.target, Kind: s.script})
	}
	return nil
}

// copyMember decompresses a member into f, verifying it against RECORD,
// and returns the size written and the installed file's RECORD hash.
func (in *installer) copyMember(f *os.File, s *step) (int64, string, error) {
	v, err := in.w.open(s.m)
	if err != nil {
		return 0, "", err
	}
	defer v.Close()
	if !s.rewrite {
		n, err := io.CopyBuffer(f, struct{ io.Reader }{v}, in.buf)
		return n, s.m.record.Hash, err
	}
	br := bufio.NewReaderSize(v, 4096)
	head, _ := br.Peek(len("#!python"))
	h := sha256.New()
	out := io.MultiWriter(f, h)
	var n int64
	if bytes.Equal(head, []byte("#!python")) {
		// pip replaces the whole first line, whatever follows "#!python".
		if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("%w: %s: a first line longer than 4096 bytes", ErrFormat, s.m.name)
			}
			return 0, "", err
		}
		k, err := io.WriteString(out, shebang(path.Join(in.opts.Prefix, in.py.Executable))+"\n")
		if err != nil {
			return 0, "", err
		}
		n += int64(k)
	}
	k, err := io.CopyBuffer(out, struct{ io.Reader }{br}, in.buf)
	n += k
	return n, recordHash(h.Sum(nil)), err
}

// writeRecord writes the installed RECORD: every file written, by its
// path relative to site-packages, and RECORD itself, sorted.
func (in *installer) writeRecord(steps []*step) error {
	site := in.py.SitePackages
	recordPath := path.Join(site, in.w.DistInfo, "RECORD")
	rows := make([]RecordEntry, 0, len(steps)+1)
	for _, s := range steps {
		r := s.row
		r.Path = relPath(site, s.target)
		rows = append(rows, r)
	}
	rows = append(rows, RecordEntry{Path: relPath(site, recordPath), Size: -1})
	sort.Slice(rows, func(i, j int) bool { return rows[i].Path < rows[j].Path })
	return in.write(&step{target: recordPath, data: encodeRecord(rows)})
}

// relPath returns to relative to from; both are clean paths relative to
// the prefix.
func relPath(from, to string) string {
	f, t := strings.Split(from, "/"), strings.Split(to, "/")
	i := 0
	for i < len(f) && i < len(t)-1 && f[i] == t[i] {
		i++
	}
	return strings.Repeat("../", len(f)-i) + strings.Join(t[i:], "/")
}

// create opens target for writing, replacing a file already there (a
// reused Dest); it never writes through an existing file or link.
func (in *installer) create(target string) (*os.File, error) {
	dir, err := in.openDir(path.Dir(target))
	if err != nil {
		return nil, err
	}
	base := path.Base(target)
	f, err := dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if err := dir.Remove(base); err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		f, err = dir.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err == nil {
		in.createdFiles = append(in.createdFiles, target)
	}
	return f, err
}

// maxDirRoots bounds the directories held open at once.
const maxDirRoots = 64

// openDir returns an os.Root for the directory rel of the prefix (which
// exists), opened once and kept: a file is then created, and its time
// set, by its base name, instead of walking its whole path again for
// each call. It becomes in.dirRoot.
func (in *installer) openDir(rel string) (*os.Root, error) {
	if rel == "." {
		rel = ""
	}
	if r := in.dirRoots[rel]; r != nil {
		in.dirRoot = r
		return r, nil
	}
	if len(in.dirRoots) >= maxDirRoots {
		in.closeDirRoots()
	}
	r := in.root
	if rel != "" {
		var err error
		if r, err = in.root.OpenRoot(rel); err != nil {
			return nil, err
		}
	}
	if in.dirRoots == nil {
		in.dirRoots = map[string]*os.Root{}
	}
	in.dirRoots[rel] = r
	in.dirRoot = r
	return r, nil
}

func (in *installer) closeDirRoots() {
	for rel, r := range in.dirRoots {
		if rel != "" {
			r.Close()
		}
	}
	clear(in.dirRoots)
	in.dirRoot = nil
}

// mkdirAll creates rel and its parents below the prefix with mode 0755,
// refusing to go through a symlink or a file.
func (in *installer) mkdirAll(rel string) error {
	if rel == "." {
		rel = ""
	}
	if in.dirs[rel] {
		return nil
	}
	if err := in.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	created, err := dirs.Mkdir(in.root, rel, rel)
	if err != nil {
		return err
	}
	if created {
		in.createdDirs = append(in.createdDirs, rel)
	}
	in.dirs[rel] = true
	return nil
}

// touchDirs gives every directory Install wrote into the time mtime, now
// that nothing more is written to them.
func (in *installer) touchDirs() error {
	for rel := range in.dirs {
		p := rel
		if p == "" {
			p = "."
		}
		if err := in.root.Chtimes(p, in.mtime, in.mtime); err != nil {
			return err
		}
	}
	return nil
}

// prefixDir is where the prefix's files are written.
func (in *installer) prefixDir() string {
	if in.opts.Dest == "" {
		return filepath.FromSlash(in.opts.Prefix)
	}
	return filepath.Join(in.opts.Dest, filepath.FromSlash(in.opts.Prefix))
}

// cleanup removes what a failed Install created.
func (in *installer) cleanup() {
	r, err := os.OpenRoot(in.prefixDir())
	if err != nil {
		return
	}
	defer r.Close()
	for i := len(in.createdFiles) - 1; i >= 0; i-- {
		_ = r.Remove(in.createdFiles[i]) // best effort: the install failed already
	}
	for i := len(in.createdDirs) - 1; i >= 0; i-- {
		_ = r.Remove(in.createdDirs[i]) // not empty: something else wrote there
	}
}
