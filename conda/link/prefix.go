package link

import (
	"bytes"
	"fmt"
	"strings"
)

// Shebang length limits of the kernels conda targets: Linux reads at most 127
// bytes of "#!..." (BINPRM_BUF_SIZE 128 with the terminator), macOS 512.
const (
	maxShebangLinux = 127
	maxShebangMacOS = 512
)

// PrefixTooLongError reports a binary file whose placeholder is shorter than
// the target prefix: a binary replacement must keep every string's length,
// so it cannot grow.
type PrefixTooLongError struct {
	Path        string // the file, relative to the prefix
	Placeholder string
	Prefix      string
}

func (e *PrefixTooLongError) Error() string {
	return fmt.Sprintf("%s: binary file: target prefix %q (%d bytes) is longer than the package's placeholder (%d bytes); "+
		"binary prefix replacement cannot grow a string: use a prefix of at most %d bytes",
		e.Path, e.Prefix, len(e.Prefix), len(e.Placeholder), len(e.Placeholder))
}

// replaceText replaces every occurrence of placeholder in data by prefix
// (CEP 34 file_mode text). When data starts with a shebang and
// maxShebang > 0, the first line is then rewritten by fixShebang if the
// kernel could not run it. It returns data itself when data holds no
// placeholder.
func replaceText(data []byte, placeholder, prefix string, maxShebang int) []byte {
	if placeholder == "" || !bytes.Contains(data, []byte(placeholder)) {
		return data
	}
	out := bytes.ReplaceAll(data, []byte(placeholder), []byte(prefix))
	if maxShebang > 0 && bytes.HasPrefix(out, []byte("#!")) {
		// As conda and rattler do, the shebang of a file with a
		// placeholder is fixed even if the placeholder is elsewhere.
		line, rest, nl := bytes.Cut(out, []byte("\n"))
		if fixed, ok := fixShebang(string(line), prefix, maxShebang); ok {
			var b bytes.Buffer
			b.Grow(len(fixed) + 1 + len(rest))
			b.WriteString(fixed)
			if nl {
				b.WriteByte('\n')
				b.Write(rest)
			}
			out = b.Bytes()
		}
	}
	return out
}

// fixShebang rewrites a shebang line the kernel cannot run: one longer than
// maxShebang bytes, or whose interpreter path lies in a prefix containing a
// space (a shebang cannot quote). A Python interpreter becomes a /bin/sh
// trampoline that execs the exact interpreter (as rattler does: "env python"
// could pick another Python from PATH); any other interpreter becomes
// "#!/usr/bin/env name" with its arguments (as conda does). ok is false when
// the line is fine as it is or is not a parsable shebang.
func fixShebang(line, prefix string, maxShebang int) (fixed string, ok bool) {
	if len(line) <= maxShebang && !strings.Contains(prefix, " ") {
		return "", false
	}
	interp, args, ok := splitShebang(line, prefix)
	if !ok {
		return "", false
	}
	name := interp[strings.LastIndexByte(interp, '/')+1:]
	if isPythonName(name) {
		return "#!/bin/sh\n'''exec' \"" + interp + "\"" + args + " \"$0\" \"$@\" #'''", true
	}
	return "#!/usr/bin/env " + name + args, true
}

// splitShebang splits "#! /path/to/interp args" into the interpreter path and
// the rest of the line (with its leading space). The interpreter path may
// contain the prefix even if the prefix has spaces.
func splitShebang(line, prefix string) (interp, args string, ok bool) {
	s := strings.TrimLeft(line[2:], " ")
	if !strings.HasPrefix(s, "/") {
		return "", "", false
	}
	start := 0
	if prefix != "" && strings.HasPrefix(s, prefix+"/") {
		start = len(prefix)
	}
	end := strings.IndexAny(s[start:], " \t")
	if end < 0 {
		return s, "", true
	}
	return s[:start+end], s[start+end:], true
}

// isPythonName reports whether an interpreter name is python, pythonX or
// pythonX.Y.
func isPythonName(name string) bool {
	v, ok := strings.CutPrefix(name, "python")
	if !ok {
		return false
	}
	if v == "" {
		return true
	}
	major, minor, dot := strings.Cut(v, ".")
	return allDigits(major) && (!dot || allDigits(minor))
}

func allDigits(s string) bool {
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

// patch is a rewrite of len(b) bytes of a file at offset off.
type patch struct {
	off int64
	b   []byte
}

// binaryPatches finds the NUL-terminated strings of data that contain
// placeholder and returns each one rewritten with prefix in place of every
// placeholder, keeping its length: the rest of the string moves left and
// NUL bytes fill the gap before its terminator (conda's and rattler's binary
// mode). A string that runs to the end of the file is rewritten the same
// way, padded at the end. The patches are in file order and do not overlap.
// It fails when prefix is longer than placeholder and data contains it.
func binaryPatches(data []byte, placeholder, prefix string) ([]patch, error) {
	ph := []byte(placeholder)
	i := bytes.Index(data, ph)
	if placeholder == "" || i < 0 {
		return nil, nil
	}
	if len(prefix) > len(placeholder) {
		return nil, &PrefixTooLongError{Placeholder: placeholder, Prefix: prefix}
	}
	var patches []patch
	for pos := 0; i >= 0; i = bytes.Index(data[pos:], ph) {
		start := pos + i
		end := bytes.IndexByte(data[start:], 0)
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		str := data[start:end]
		b := make([]byte, 0, len(str))
		for {
			j := bytes.Index(str, ph)
			if j < 0 {
				break
			}
			b = append(b, str[:j]...)
			b = append(b, prefix...)
			str = str[j+len(ph):]
		}
		b = append(b, str...)
		b = b[:end-start] // the NUL padding (b's spare capacity is zeroed)
		patches = append(patches, patch{off: int64(start), b: b})
		pos = end
	}
	return patches, nil
}

// replaceBinary returns data with binaryPatches applied; data itself when
// nothing changed.
func replaceBinary(data []byte, placeholder, prefix string) ([]byte, error) {
	patches, err := binaryPatches(data, placeholder, prefix)
	if err != nil || len(patches) == 0 {
		return data, err
	}
	out := bytes.Clone(data)
	for _, p := range patches {
		copy(out[p.off:], p.b)
	}
	return out, nil
}
