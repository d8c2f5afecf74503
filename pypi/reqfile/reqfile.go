// Package reqfile reads pip's requirements-file format: the lines of a conda
// environment file's pip: list (conda writes them to a requirements file and
// runs pip install -r on it) and the files they include with -r and -c.
//
// Accepted: PEP 508 requirements (with "name @ url" direct references),
// bare wheel URLs and paths (the name comes from the file name), per
// requirement --hash=ALG:HEX, and the options -i/--index-url,
// --extra-index-url, --pre, --only-binary, --no-binary, -r/--requirement and
// -c/--constraint (each as --opt=value or --opt value), comments and line
// continuations. Options that change nothing envkit does (--trusted-host,
// --prefer-binary, --require-hashes, --use-feature) are accepted with a
// warning. Refused, each with an error at its file, line and column:
// editables (-e), VCS URLs (git+https://...), -f/--find-links, --no-index,
// environment variables (${VAR}), Azure ML asset template placeholders
// ({{latest-pypi-version}}), per-requirement build options and unknown
// options.
//
// Index URLs keep the credentials written in them ("https://user:token@host/")
// for fetching; Redact gives a line without them for messages and hashes.
package reqfile

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/tags"
)

// Pos is a place in a file: 1-based line and column.
type Pos struct {
	File   string
	Line   int
	Column int
}

// String is "file:line", as origins are written in messages.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Requirement is one requirement line.
type Requirement struct {
	*requirement.Requirement
	// Text is the requirement as written, without its options.
	Text string
	Pos  Pos
	// Hashes are the --hash options, "sha256:<hex>" (sha256, sha384 or
	// sha512, hex in lower case); a file must match one of them.
	Hashes []string
	// Path is a wheel given as a path (relative to the directory of the
	// file that lists it, cleaned, slash-separated); Requirement.URL is
	// then empty and Requirement.Name comes from the file name.
	Path string
	// Project is true when Path is a project directory (a path that is
	// neither a wheel nor an sdist): Requirement.Name is the name
	// Options.Project gives, with the extras written after the path
	// (./mypkg[fast]).
	Project bool

	// tail is a project directory's extras and marker, until
	// reader.project names it.
	tail [2]string
}

// Index is an index URL with the place it was given.
type Index struct {
	// URL is as written, credentials included: never print it (Redact).
	URL string
	Pos Pos
}

// Selector is the set of projects an --only-binary or --no-binary option
// names: All for ":all:", else normalised names.
type Selector struct {
	All   bool
	Names map[string]bool
}

// Has reports whether the selector covers the project (any spelling).
func (s Selector) Has(project string) bool {
	return s.All || s.Names[name.Normalize(project)]
}

// File is what a requirements file (or a conda pip: list) asks for.
type File struct {
	// Requirements are the requirements, in order, those of -r files in
	// place of the -r line.
	Requirements []Requirement
	// Constraints are the requirements of -c files.
	Constraints []Requirement
	// IndexURL is the last -i/--index-url; nil means PyPI.
	IndexURL *Index
	// ExtraIndexURLs are the --extra-index-url options, in order.
	ExtraIndexURLs []Index
	// Pre allows pre-releases (--pre).
	Pre bool
	// OnlyBinary and NoBinary are pip's format control, as pip combines
	// the options (a name in one leaves the other; ":all:" clears both;
	// ":none:" clears one).
	OnlyBinary, NoBinary Selector
	// Files are the files read through -r and -c, in the order read.
	Files []string
	// Warnings are options accepted but ignored.
	Warnings diag.List
}

// Indexes returns the index URLs to query, in order, credentials
// included: the index URL (PyPI by default), then the extra ones.
func (f *File) Indexes() []string {
	out := []string{index.PyPI}
	if f.IndexURL != nil {
		out[0] = f.IndexURL.URL
	}
	for _, e := range f.ExtraIndexURLs {
		out = append(out, e.URL)
	}
	return out
}

// Line is one line of a conda pip: list, at its place in the conda file.
type Line struct {
	Text   string
	Line   int
	Column int
}

// Options configure reading.
type Options struct {
	// Open reads a file named by -r or -c: the path is the option's value
	// joined to the directory of the file that names it (slash-separated,
	// cleaned). The caller confines it (e.g. to the environment's
	// directory with os.Root). Nil refuses -r and -c.
	Open func(path string) ([]byte, error)
	// Project reads the project directory a pip line names (the path
	// joined to the directory of the file that names it, as for Open) and
	// returns its project name. Nil refuses project directories.
	Project func(path string) (string, error)
	// Field names the field of the listed lines in errors (e.g.
	// "dependencies.pip"); files read with -r have none.
	Field string
	// MaxDepth bounds the nesting of -r and -c (0: 10); MaxFiles the
	// files read in all (0: 100).
	MaxDepth, MaxFiles int
}

const (
	defaultMaxDepth = 10
	defaultMaxFiles = 100
)

// ParseLines reads the lines of a conda environment file's pip: list;
// file is that conda file. Errors are a diag.List, every problem at its
// line and column.
func ParseLines(file string, lines []Line, o Options) (*File, error) {
	r := newReader(o)
	var phys []physical
	for _, l := range lines {
		// An item holding line breaks (a YAML block scalar) is read as
		// the lines it holds.
		for i, t := range strings.Split(strings.ReplaceAll(l.Text, "\r\n", "\n"), "\n") {
			col := l.Column
			if i > 0 {
				col = 1
			}
			phys = append(phys, physical{text: t, line: l.Line + i, col: col})
		}
	}
	r.read(file, phys, o.Field, false, nil)
	return r.result()
}

// Parse reads a requirements file.
func Parse(file string, data []byte, o Options) (*File, error) {
	r := newReader(o)
	r.read(file, splitLines(data), "", false, nil)
	return r.result()
}

// Redact returns a line with the credentials of every URL in it removed,
// for messages and hashes.
func Redact(line string) string {
	if !strings.Contains(line, "@") || !strings.Contains(line, "://") {
		return line
	}
	var b strings.Builder
	for i, tok := range strings.Split(line, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		if k, v, ok := strings.Cut(tok, "="); ok && strings.HasPrefix(k, "-") && strings.Contains(v, "://") {
			b.WriteString(k + "=" + index.Redact(v))
			continue
		}
		if strings.Contains(tok, "://") {
			tok = index.Redact(tok)
		}
		b.WriteString(tok)
	}
	return b.String()
}

type physical struct {
	text      string
	line, col int
}

func splitLines(data []byte) []physical {
	s := strings.TrimPrefix(string(data), "\ufeff")
	var out []physical
	for i, t := range strings.Split(s, "\n") {
		out = append(out, physical{text: strings.TrimSuffix(t, "\r"), line: i + 1, col: 1})
	}
	if len(out) > 0 && out[len(out)-1].text == "" {
		out = out[:len(out)-1]
	}
	return out
}

// segment maps an offset of a logical line to a physical place.
type segment struct {
	off, line, col int
}

// logical is a line after continuations are joined and comments dropped.
type logical struct {
	text string
	segs []segment
}

func (l *logical) pos(file string, off int) Pos {
	s := l.segs[0]
	for _, x := range l.segs[1:] {
		if x.off > off {
			break
		}
		s = x
	}
	return Pos{File: file, Line: s.line, Column: s.col + off - s.off}
}

var commentRE = regexp.MustCompile(`(^|\s+)#.*$`)

// join joins continued lines (a line ending in a backslash goes on on the
// next, as pip does) and drops comments and blank lines.
func join(phys []physical) []logical {
	var out []logical
	var cur *logical
	flush := func() {
		if cur == nil {
			return
		}
		t := cur.text
		if loc := commentRE.FindStringIndex(t); loc != nil {
			t = t[:loc[0]]
		}
		t = strings.TrimRight(t, " \t")
		lead := len(t) - len(strings.TrimLeft(t, " \t"))
		if strings.TrimSpace(t) != "" {
			l := logical{text: t[lead:]}
			for _, s := range cur.segs {
				s.off -= lead
				if s.off < 0 {
					s.col -= s.off
					s.off = 0
				}
				l.segs = append(l.segs, s)
			}
			out = append(out, l)
		}
		cur = nil
	}
	for _, p := range phys {
		if cur == nil {
			cur = &logical{}
		}
		cur.segs = append(cur.segs, segment{off: len(cur.text), line: p.line, col: p.col})
		t := p.text
		comment := strings.HasPrefix(strings.TrimLeft(t, " \t"), "#")
		if strings.HasSuffix(t, `\`) && !comment {
			cur.text += strings.TrimRight(t, `\`)
			continue
		}
		if comment && len(cur.segs) > 1 {
			// A comment ends a continued line (as in pip): it is
			// dropped with what follows it.
			cur.segs[len(cur.segs)-1].col--
			t = " " + t
		}
		cur.text += t
		flush()
	}
	flush()
	return out
}

type reader struct {
	o      Options
	f      *File
	errs   diag.List
	nfiles int
}

func newReader(o Options) *reader {
	if o.MaxDepth <= 0 {
		o.MaxDepth = defaultMaxDepth
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = defaultMaxFiles
	}
	return &reader{o: o, f: &File{}}
}

func (r *reader) result() (*File, error) {
	if err := r.errs.Err(); err != nil {
		return nil, err
	}
	return r.f, nil
}

// token is a whitespace-separated word of a logical line.
type token struct {
	s   string
	off int
}

func tokens(s string) []token {
	var out []token
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if j > i {
			out = append(out, token{s[i:j], i})
		}
		i = j
	}
	return out
}

var envVarRE = regexp.MustCompile(`\$\{[A-Za-z0-9_]+\}`)

// templateRE is a placeholder of Azure ML's asset templates
// (Azure/azureml-assets): {{latest-pypi-version}} in a curated
// environment's conda file, {{latest-image-tag}} in its Dockerfile, which
// the assets' build substitutes before it builds the image.
var templateRE = regexp.MustCompile(`\{\{\s*[A-Za-z0-9_.-]+\s*\}\}`)

// templateError describes a template placeholder in line text at loc.
func templateError(text string, loc []int) (msg, hint string) {
	ph := text[loc[0]:loc[1]]
	msg = fmt.Sprintf("%s is an Azure ML asset template placeholder, not part of a requirement: azureml-assets substitutes it when it builds the asset", ph)
	hint = "substitute it before building"
	project := strings.TrimRight(text[:loc[0]], "=<>!~ \t")
	if i := strings.IndexAny(project, "=<>!~;[ @"); i >= 0 {
		project = project[:i]
	}
	if strings.Contains(ph, "version") && project != "" && name.Valid(project) {
		hint = fmt.Sprintf("write a version instead, e.g. %s==1.2.3, or leave the version out: %s", project, project)
	}
	return msg, hint
}

// read reads the physical lines of file. stack holds the files being read
// (for cycles); constraint is true inside a -c file.
func (r *reader) read(file string, phys []physical, field string, constraint bool, stack []string) {
	fail := func(p Pos, msg, hint string) {
		r.errs = append(r.errs, &diag.Error{File: p.File, Line: p.Line, Column: p.Column, Field: field, Msg: Redact(msg), Hint: Redact(hint)})
	}
	for _, l := range join(phys) {
		at := func(off int) Pos { return l.pos(file, off) }
		if loc := envVarRE.FindStringIndex(l.text); loc != nil {
			fail(at(loc[0]), fmt.Sprintf("environment variable %s: envkit does not expand environment variables", l.text[loc[0]:loc[1]]),
				"write the value; an environment's definition must not depend on the shell that builds it")
			continue
		}
		if loc := templateRE.FindStringIndex(l.text); loc != nil {
			msg, hint := templateError(l.text, loc)
			fail(at(loc[0]), msg, hint)
			continue
		}
		toks := tokens(l.text)
		n := slices.IndexFunc(toks, func(t token) bool { return strings.HasPrefix(t.s, "-") })
		if n < 0 {
			n = len(toks)
		}
		if n == 0 {
			r.options(file, toks, at, fail, constraint, stack)
			continue
		}
		last := toks[n-1]
		text := l.text[toks[0].off : last.off+len(last.s)]
		req, perr := parseRequirement(text, r.o.Project != nil)
		if perr != nil {
			fail(at(toks[0].off+perr.off), perr.msg, perr.hint)
			continue
		}
		req.Text, req.Pos = text, at(toks[0].off)
		if req.Path != "" {
			req.Path = path.Join(path.Dir(file), req.Path)
		}
		if req.Project {
			if perr := r.project(req); perr != nil {
				fail(req.Pos, perr.msg, perr.hint)
				continue
			}
		}
		ok := true
		rest := toks[n:]
		for i := 0; i < len(rest); i++ {
			t := rest[i]
			opt, val, hasVal := strings.Cut(t.s, "=")
			switch opt {
			case "--hash":
				if !hasVal {
					if i+1 >= len(rest) {
						fail(at(t.off), "--hash needs a value", "write --hash=sha256:<hex digest>")
						ok = false
						continue
					}
					i++
					val = rest[i].s
				}
				h, err := parseHash(val)
				if err != nil {
					fail(at(t.off), err.Error(), "write --hash=sha256:<hex digest>")
					ok = false
					continue
				}
				req.Hashes = append(req.Hashes, h)
			case "--global-option", "--config-settings", "--config-setting", "-C", "--install-option":
				fail(at(t.off), opt+": per-requirement build options are not supported", "remove the option")
				ok = false
			default:
				fail(at(t.off), fmt.Sprintf("%s: not an option of a requirement line", opt), "a requirement line takes --hash only; options such as --index-url go on a line of their own")
				ok = false
				i = len(rest)
			}
		}
		if !ok {
			continue
		}
		if constraint {
			r.f.Constraints = append(r.f.Constraints, *req)
		} else {
			r.f.Requirements = append(r.f.Requirements, *req)
		}
	}
}

// optSpec is an option of a requirements file.
type optSpec struct {
	long, short string
	value       bool
}

var optionSpecs = []optSpec{
	{"--index-url", "-i", true},
	{"--extra-index-url", "", true},
	{"--pre", "", false},
	{"--only-binary", "", true},
	{"--no-binary", "", true},
	{"--requirement", "-r", true},
	{"--constraint", "-c", true},
	{"--editable", "-e", true},
	{"--find-links", "-f", true},
	{"--no-index", "", false},
	{"--trusted-host", "", true},
	{"--prefer-binary", "", false},
	{"--require-hashes", "", false},
	{"--use-feature", "", true},
	{"--hash", "", true},
}

func (r *reader) options(file string, toks []token, at func(int) Pos, fail func(Pos, string, string), constraint bool, stack []string) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		var spec *optSpec
		var val string
		hasVal := false
		if strings.HasPrefix(t.s, "--") {
			k, v, ok := strings.Cut(t.s, "=")
			for j := range optionSpecs {
				if optionSpecs[j].long == k {
					spec, val, hasVal = &optionSpecs[j], v, ok
				}
			}
			if spec != nil && !spec.value && hasVal {
				fail(at(t.off), k+" takes no value", "")
				continue
			}
		} else if strings.HasPrefix(t.s, "-") && len(t.s) >= 2 {
			for j := range optionSpecs {
				if s := optionSpecs[j].short; s != "" && strings.HasPrefix(t.s, s) {
					spec = &optionSpecs[j]
					if len(t.s) > 2 {
						val, hasVal = strings.TrimPrefix(t.s[2:], "="), true
					}
				}
			}
		}
		if spec == nil {
			k, _, _ := strings.Cut(t.s, "=")
			hint := "options of a requirements file envkit reads: -i/--index-url, --extra-index-url, --pre, --only-binary, --no-binary, -r, -c"
			if s := closest(k); s != "" {
				hint = "did you mean " + s + "?"
			}
			fail(at(t.off), fmt.Sprintf("unknown option %s", k), hint)
			return
		}
		valOff := t.off
		if spec.value && !hasVal {
			if i+1 >= len(toks) {
				fail(at(t.off), spec.long+" needs a value", "")
				return
			}
			i++
			val, valOff = toks[i].s, toks[i].off
		} else if hasVal {
			valOff = t.off + len(t.s) - len(val)
		}
		p := at(t.off)
		switch spec.long {
		case "--index-url", "--extra-index-url":
			if err := checkIndexURL(val); err != nil {
				fail(at(valOff), fmt.Sprintf("%s %s: %v", spec.long, Redact(val), err), "give an http(s) URL of a simple index, e.g. https://pypi.org/simple")
				continue
			}
			if spec.long == "--index-url" {
				r.f.IndexURL = &Index{URL: val, Pos: p}
			} else {
				r.f.ExtraIndexURLs = append(r.f.ExtraIndexURLs, Index{URL: val, Pos: p})
			}
		case "--pre":
			r.f.Pre = true
		case "--only-binary", "--no-binary":
			if strings.HasPrefix(val, "-") || val == "" {
				fail(at(valOff), spec.long+" needs a value: :all:, :none: or project names separated by commas", "")
				continue
			}
			target, other := &r.f.OnlyBinary, &r.f.NoBinary
			if spec.long == "--no-binary" {
				target, other = other, target
			}
			if err := formatControl(val, target, other); err != nil {
				fail(at(valOff), fmt.Sprintf("%s %s: %v", spec.long, val, err), "")
			}
		case "--requirement", "--constraint":
			r.include(file, val, at(valOff), fail, constraint || spec.long == "--constraint", stack)
		case "--editable":
			fail(p, "editable requirements (-e) are not supported: an image installs packages, not a checkout", "build a wheel and list it, or name the package and version")
			return
		case "--find-links":
			fail(p, spec.long+" is not supported", "serve the files from a simple index and name it with --extra-index-url")
			return
		case "--no-index":
			fail(p, "--no-index is not supported: envkit resolves from indexes", "name the index with --index-url")
		case "--hash":
			fail(p, "--hash belongs on the line of the requirement it checks", "write: name==1.0 --hash=sha256:<hex>")
		default:
			w := &diag.Error{File: p.File, Line: p.Line, Column: p.Column, Field: r.o.Field, Msg: spec.long + " is ignored"}
			switch spec.long {
			case "--trusted-host":
				w.Hint = "envkit verifies every index's TLS certificate; an http:// index is used as written"
			case "--prefer-binary":
				w.Hint = "envkit takes a wheel over an sdist of the same version; an older wheel is not preferred to a newer sdist"
			case "--require-hashes":
				w.Hint = "envkit locks every file by its sha256"
			}
			r.f.Warnings = append(r.f.Warnings, w)
		}
	}
}

// include reads a -r or -c file named ref in file.
func (r *reader) include(file, ref string, p Pos, fail func(Pos, string, string), constraint bool, stack []string) {
	switch {
	case r.o.Open == nil:
		fail(p, "-r and -c are not supported here", "list the requirements themselves")
		return
	case strings.Contains(ref, "://"):
		fail(p, fmt.Sprintf("-r %s: a requirements file from a URL is not supported", Redact(ref)), "put the file beside the conda file")
		return
	case path.IsAbs(ref) || strings.Contains(ref, `\`):
		fail(p, fmt.Sprintf("-r %s: name the file relative to %s, with slashes", ref, file), "")
		return
	}
	target := path.Join(path.Dir(file), ref)
	switch {
	case slices.Contains(stack, target) || target == file:
		fail(p, fmt.Sprintf("%s includes itself (%s)", target, strings.Join(append(stack, target), " -> ")), "remove the -r line that closes the cycle")
		return
	case len(stack) > r.o.MaxDepth:
		fail(p, fmt.Sprintf("-r %s: files nest deeper than %d", ref, r.o.MaxDepth), "")
		return
	case r.nfiles >= r.o.MaxFiles:
		fail(p, fmt.Sprintf("-r %s: more than %d files included", ref, r.o.MaxFiles), "")
		return
	}
	r.nfiles++
	data, err := r.o.Open(target)
	if err != nil {
		fail(p, fmt.Sprintf("-r %s: %v", ref, err), "")
		return
	}
	r.f.Files = append(r.f.Files, target)
	if len(stack) == 0 {
		stack = []string{file}
	}
	saved := r.o.Field
	r.o.Field = ""
	r.read(target, splitLines(data), "", constraint, append(slices.Clip(stack), target))
	r.o.Field = saved
}

// formatControl applies one --only-binary/--no-binary value as pip's
// FormatControl.handle_mutual_excludes does.
func formatControl(val string, target, other *Selector) error {
	parts := strings.Split(val, ",")
	for {
		k := slices.Index(parts, ":all:")
		if k < 0 {
			break
		}
		*other = Selector{}
		*target = Selector{All: true}
		parts = parts[k+1:]
		if !slices.Contains(parts, ":none:") {
			return nil
		}
	}
	for _, p := range parts {
		if p == ":none:" {
			*target = Selector{}
			continue
		}
		if err := name.Validate(p); err != nil {
			return fmt.Errorf("%q is not a project name", p)
		}
		n := name.Normalize(p)
		delete(other.Names, n)
		if target.Names == nil {
			target.Names = map[string]bool{}
		}
		target.Names[n] = true
	}
	return nil
}

func checkIndexURL(u string) error {
	scheme, rest, ok := strings.Cut(u, "://")
	switch {
	case !ok:
		return errors.New("not a URL")
	case scheme != "http" && scheme != "https" && scheme != "file":
		return fmt.Errorf("scheme %s: want http, https or file", scheme)
	case rest == "":
		return errors.New("no host")
	}
	return nil
}

func parseHash(v string) (string, error) {
	alg, hex, ok := strings.Cut(v, ":")
	want := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	if !ok || want == 0 {
		return "", fmt.Errorf("--hash %s: want sha256:, sha384: or sha512: and a hex digest", v)
	}
	hex = strings.ToLower(hex)
	if len(hex) != want || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", fmt.Errorf("--hash %s: a %s digest is %d hex digits", v, alg, want)
	}
	return alg + ":" + hex, nil
}

// closest suggests a known option close to an unknown one.
func closest(k string) string {
	best, bestD := "", 3
	for _, s := range optionSpecs {
		if d := distance(k, s.long); d < bestD {
			best, bestD = s.long, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

// parseError is a requirement that cannot be read, at an offset of it.
type parseError struct {
	off       int
	msg, hint string
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// vcsSchemes are the VCS prefixes pip knows.
var vcsSchemes = []string{"git+", "hg+", "svn+", "bzr+"}

func isVCS(u string) bool {
	for _, s := range vcsSchemes {
		if strings.HasPrefix(strings.ToLower(u), s) {
			return true
		}
	}
	return false
}

// parseRequirement reads the requirement part of a line: a bare URL, a
// path or a PEP 508 requirement.
func parseRequirement(text string, projects bool) (*Requirement, *parseError) {
	vcs := &parseError{msg: "VCS requirements are not supported: an image is built from files locked by their sha256", hint: "build a wheel, publish it to an index, and pin its version"}
	if schemeRE.MatchString(text) {
		if isVCS(text) {
			return nil, vcs
		}
		u, marker := cutMarker(text)
		fn := u
		if k := strings.IndexAny(fn, "?#"); k >= 0 {
			fn = fn[:k]
		}
		fn = fn[strings.LastIndexByte(fn, '/')+1:]
		if !strings.HasSuffix(fn, ".whl") {
			return nil, &parseError{msg: fmt.Sprintf("%s: a URL without a name is read only for a wheel", Redact(u)), hint: "name the project: name @ " + Redact(u)}
		}
		return wheelRequirement(fn, u, "", marker)
	}
	if looksLikePath(text) {
		p, marker := cutMarker(text)
		fn := p[strings.LastIndexAny(p, `/\`)+1:]
		dir := !strings.HasSuffix(fn, ".whl") && !isArchive(fn)
		if !strings.HasSuffix(fn, ".whl") && (!dir || !projects) {
			msg := "%s: only a wheel is read from a path (not a project directory or an sdist)"
			if projects {
				msg = "%s: only a wheel or a project directory is read from a path (not an sdist)"
			}
			return nil, &parseError{msg: fmt.Sprintf(msg, p), hint: "build a wheel of it and list the .whl"}
		}
		if strings.Contains(p, `\`) || path.IsAbs(p) {
			return nil, &parseError{msg: fmt.Sprintf("%s: name the wheel relative to the conda file, with slashes", p)}
		}
		if dir {
			// A project directory: its name is known once it is read
			// (reader.project); extras may follow the path.
			extras := ""
			if i := strings.LastIndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") {
				p, extras = p[:i], p[i:]
			}
			return &Requirement{Path: path.Clean(p), Project: true, tail: [2]string{extras, marker}}, nil
		}
		return wheelRequirement(fn, "", path.Clean(p), marker)
	}
	req, err := requirement.Parse(text)
	if err != nil {
		var re *requirement.Error
		off := 0
		if errors.As(err, &re) {
			off = re.Pos
		}
		return nil, &parseError{off: off, msg: err.Error()}
	}
	if req.URL != "" && isVCS(req.URL) {
		vcs.off = strings.Index(text, req.URL)
		return nil, vcs
	}
	return &Requirement{Requirement: req}, nil
}

func wheelRequirement(fn, u, p, marker string) (*Requirement, *parseError) {
	w, err := tags.ParseWheelFilename(fn)
	if err != nil {
		return nil, &parseError{msg: err.Error()}
	}
	s := w.Name + " @ " + u
	if u == "" {
		s = w.Name
	}
	if marker != "" {
		s += " ; " + marker
	}
	req, rerr := requirement.Parse(s)
	if rerr != nil {
		return nil, &parseError{msg: rerr.Error()}
	}
	return &Requirement{Requirement: req, Path: p}, nil
}

// isArchive reports whether a file name is an sdist's.
func isArchive(fn string) bool {
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar"} {
		if strings.HasSuffix(strings.ToLower(fn), ext) {
			return true
		}
	}
	return false
}

// project completes the requirement of a project directory: its name
// from Options.Project, the extras and marker written with the path.
func (r *reader) project(req *Requirement) *parseError {
	extras, marker := req.tail[0], req.tail[1]
	n, err := r.o.Project(req.Path)
	if err != nil {
		return &parseError{msg: fmt.Sprintf("%s: %v", req.Text, err)}
	}
	s := n + extras
	if marker != "" {
		s += " ; " + marker
	}
	q, rerr := requirement.Parse(s)
	if rerr != nil {
		return &parseError{msg: rerr.Error()}
	}
	req.Requirement = q
	return nil
}

// cutMarker splits "url ; marker".
func cutMarker(s string) (string, string) {
	for _, sep := range []string{" ;", "; "} {
		if u, m, ok := strings.Cut(s, sep); ok {
			return strings.TrimSpace(u), strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m), ";"))
		}
	}
	return s, ""
}

// looksLikePath is pip's test for a path rather than a requirement: a path
// separator, a leading dot, or an archive's extension.
func looksLikePath(s string) bool {
	first, _, _ := strings.Cut(s, " ")
	first, _, _ = strings.Cut(first, ";")
	if strings.ContainsAny(first, `/\`) || strings.HasPrefix(first, ".") {
		return !strings.Contains(first, "@")
	}
	for _, ext := range []string{".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"} {
		if strings.HasSuffix(first, ext) {
			return true
		}
	}
	return false
}
