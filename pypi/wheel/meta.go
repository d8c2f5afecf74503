package wheel

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// lineError is a problem on one line of a metadata file.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

func lineErrorf(line int, sentinel error, format string, args ...any) error {
	return &lineError{line, fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// WheelInfo is the parsed *.dist-info/WHEEL file.
type WheelInfo struct {
	// WheelVersion is the Wheel-Version field, e.g. "1.0".
	WheelVersion string
	// Generator is the tool that built the wheel, if said.
	Generator string
	// RootIsPurelib is true when the archive's root belongs in purelib,
	// false for platlib. Both are site-packages in a conda-layout
	// environment.
	RootIsPurelib bool
	// Tags are the Tag fields, in file order.
	Tags []string
	// Build is the Build field, if any.
	Build string
}

// ParseWheelInfo parses a WHEEL file: "Key: value" lines in the email
// header format (a line starting with white space continues the previous
// field; a blank line ends the headers). Wheel-Version is required and its
// major version must be 1; pip's rule takes the first Wheel-Version when a
// file has several.
func ParseWheelInfo(data []byte) (*WheelInfo, error) {
	if !utf8.Valid(data) {
		return nil, lineErrorf(0, ErrFormat, "not UTF-8")
	}
	w := &WheelInfo{}
	var key string
	var fields [][2]string
	var lines []int
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		n := i + 1
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if key == "" {
				return nil, lineErrorf(n, ErrFormat, "continuation line before any field")
			}
			fields[len(fields)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, lineErrorf(n, ErrFormat, "want \"Key: value\", got %q", line)
		}
		key = k
		fields = append(fields, [2]string{k, strings.TrimSpace(v)})
		lines = append(lines, n)
	}
	seenVersion := false
	for i, f := range fields {
		switch strings.ToLower(f[0]) {
		case "wheel-version":
			if seenVersion {
				continue
			}
			seenVersion = true
			major, minor, ok := strings.Cut(f[1], ".")
			if !ok || !isDigits(major) || !isDigits(minor) {
				return nil, lineErrorf(lines[i], ErrFormat, "Wheel-Version %q: want MAJOR.MINOR", f[1])
			}
			if strings.TrimLeft(major, "0") != "1" {
				return nil, lineErrorf(lines[i], ErrUnsupported, "Wheel-Version %s: only major version 1 is supported", f[1])
			}
			w.WheelVersion = f[1]
		case "root-is-purelib":
			w.RootIsPurelib = strings.EqualFold(f[1], "true")
		case "tag":
			w.Tags = append(w.Tags, f[1])
		case "generator":
			w.Generator = f[1]
		case "build":
			w.Build = f[1]
		}
	}
	if !seenVersion {
		return nil, lineErrorf(0, ErrFormat, "no Wheel-Version field")
	}
	return w, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RecordEntry is one row of a RECORD file: path,hash,size.
type RecordEntry struct {
	// Path is the file's path, '/'-separated, relative to the archive's
	// root (in a wheel) or to site-packages (installed).
	Path string
	// Hash is "algorithm=urlsafe-base64-digest" (no padding), or empty
	// for RECORD itself and its signatures.
	Hash string
	// Size is the file's size in bytes, or -1 when not given.
	Size int64
	// Line is the row's line in the file (0 for generated rows).
	Line int
}

// ParseRecord parses a RECORD file (CSV rows of path, hash and size, as
// Python's csv module writes them). Paths must be unique; a hash must be
// "sha256=", "sha384=" or "sha512=" with its digest's length, and a size
// a decimal number. Rows without a hash are accepted here; Read requires
// one for every file but RECORD and its signatures.
func ParseRecord(data []byte) ([]RecordEntry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var out []RecordEntry
	seen := map[string]int{}
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, lineErrorf(pe.StartLine, ErrFormat, "%v", pe.Err)
			}
			return nil, lineErrorf(0, ErrFormat, "%v", err)
		}
		line, _ := r.FieldPos(0)
		if len(row) == 1 && row[0] == "" {
			continue
		}
		if len(row) != 3 {
			return nil, lineErrorf(line, ErrFormat, "%d fields: want path,hash,size", len(row))
		}
		e := RecordEntry{Path: row[0], Hash: row[1], Size: -1, Line: line}
		if e.Path == "" {
			return nil, lineErrorf(line, ErrFormat, "empty path")
		}
		if prev, dup := seen[e.Path]; dup {
			return nil, lineErrorf(line, ErrFormat, "%s: listed twice (first on line %d)", e.Path, prev)
		}
		seen[e.Path] = line
		if e.Hash != "" {
			if _, _, err := parseHash(e.Hash); err != nil {
				return nil, lineErrorf(line, ErrFormat, "%s: hash %q: %v", e.Path, e.Hash, err)
			}
		}
		if row[2] != "" {
			n, err := strconv.ParseInt(row[2], 10, 64)
			if err != nil || n < 0 || !isDigits(row[2]) {
				return nil, lineErrorf(line, ErrFormat, "%s: size %q: not a decimal number of bytes", e.Path, row[2])
			}
			e.Size = n
		}
		out = append(out, e)
	}
	return out, nil
}

// parseHash splits "algo=digest" and returns a new hash of the algorithm
// and the decoded digest.
func parseHash(s string) (func() hash.Hash, []byte, error) {
	algo, b64, ok := strings.Cut(s, "=")
	if !ok {
		return nil, nil, errors.New("want algorithm=digest")
	}
	var h func() hash.Hash
	var size int
	switch algo {
	case "sha256":
		h, size = sha256.New, sha256.Size
	case "sha384":
		h, size = sha512.New384, sha512.Size384
	case "sha512":
		h, size = sha512.New, sha512.Size
	default:
		return nil, nil, fmt.Errorf("algorithm %q: want sha256, sha384 or sha512", algo)
	}
	d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(b64, "="))
	if err != nil || len(d) != size {
		return nil, nil, fmt.Errorf("not a urlsafe-base64 %s digest", algo)
	}
	return h, d, nil
}

// recordHash returns a sha256 digest in RECORD's form.
func recordHash(sum []byte) string {
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum)
}

// encodeRecord writes rows as Python's csv module does (CRLF line ends,
// fields quoted when needed), in the given order.
func encodeRecord(rows []RecordEntry) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	for _, e := range rows {
		size := ""
		if e.Size >= 0 {
			size = strconv.FormatInt(e.Size, 10)
		}
		_ = w.Write([]string{e.Path, e.Hash, size}) // writes to a bytes.Buffer cannot fail
	}
	w.Flush()
	return b.Bytes()
}

// EntryPoint is a console or GUI script of entry_points.txt:
// "name = module:attr [extras]".
type EntryPoint struct {
	Name     string // the script's file name in bin/
	Module   string // dotted import path
	Function string // dotted attribute path; its first name is imported
	GUI      bool   // from gui_scripts
}

// EntryPoints are the scripts an entry_points.txt declares, console
// scripts first, each group in file order.
type EntryPoints []EntryPoint

// ParseEntryPoints parses entry_points.txt, an INI file (the PyPA entry
// points specification): "[group]" headers, "name = value" lines, blank
// lines and comments ('#' or ';'). Every line must be well-formed; the
// values of console_scripts and gui_scripts must be object references
// with a function ("module:attr"; extras are accepted and ignored) and
// their names usable as file names. The result holds those two groups.
func ParseEntryPoints(data []byte) (EntryPoints, error) {
	if !utf8.Valid(data) {
		return nil, lineErrorf(0, ErrFormat, "not UTF-8")
	}
	var out EntryPoints
	var gui EntryPoints
	group := ""
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, lineErrorf(n, ErrFormat, "section header %q: want [group]", line)
			}
			group = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, lineErrorf(n, ErrFormat, "want \"name = value\", got %q", line)
		}
		if group == "" {
			return nil, lineErrorf(n, ErrFormat, "%q before any [group]", line)
		}
		if group != "console_scripts" && group != "gui_scripts" {
			continue
		}
		if err := checkScriptName(k); err != nil {
			return nil, lineErrorf(n, ErrUnsafePath, "[%s] %q: %v", group, k, err)
		}
		key := group + "\x00" + k
		if prev, dup := seen[key]; dup {
			return nil, lineErrorf(n, ErrFormat, "[%s] %s: defined twice (first on line %d)", group, k, prev)
		}
		seen[key] = n
		mod, fn, err := parseObjectRef(v)
		if err != nil {
			return nil, lineErrorf(n, ErrFormat, "[%s] %s = %s: %v", group, k, v, err)
		}
		ep := EntryPoint{Name: k, Module: mod, Function: fn, GUI: group == "gui_scripts"}
		if ep.GUI {
			gui = append(gui, ep)
		} else {
			out = append(out, ep)
		}
	}
	return append(out, gui...), nil
}

// checkScriptName accepts a script name that is one plain file name.
func checkScriptName(s string) error {
	if s == "." || s == ".." {
		return errors.New("not a file name")
	}
	for _, r := range s {
		if r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Errorf("%q in a script name", r)
		}
	}
	return nil
}

// parseObjectRef parses "module:attr [extras]" where module and attr are
// dotted Python identifiers. Both end up in generated Python source, so
// nothing else is accepted.
func parseObjectRef(v string) (module, attr string, err error) {
	if i := strings.IndexByte(v, '['); i >= 0 {
		if !strings.HasSuffix(v, "]") {
			return "", "", errors.New("unclosed [extras]")
		}
		v = strings.TrimSpace(v[:i])
	}
	mod, fn, ok := strings.Cut(v, ":")
	mod, fn = strings.TrimSpace(mod), strings.TrimSpace(fn)
	if !ok || fn == "" {
		return "", "", errors.New("want module:function")
	}
	if !isDottedIdent(mod) {
		return "", "", fmt.Errorf("module %q is not a dotted Python name", mod)
	}
	if !isDottedIdent(fn) {
		return "", "", fmt.Errorf("function %q is not a dotted Python name", fn)
	}
	return mod, fn, nil
}

func isDottedIdent(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
				return false
			}
		}
	}
	return s != ""
}

func b64(sum []byte) string { return base64.RawURLEncoding.EncodeToString(sum) }
