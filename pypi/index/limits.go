package index

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Size limits. Indexes are written by others: a page, a metadata file or a
// distribution larger than its limit is refused, so that a hostile or
// broken index costs about the limit, never more. Pages and metadata are
// read into memory; a wheel read for its METADATA goes to a temporary file.
const (
	// DefaultMaxPageSize bounds a project page: 256 MiB. PyPI's largest
	// pages (nightly builds with tens of thousands of files) are tens of
	// megabytes.
	DefaultMaxPageSize int64 = 256 << 20
	// DefaultMaxMetadataSize bounds a core metadata file: 64 MiB. METADATA
	// carries the long description; a few MB is already large.
	DefaultMaxMetadataSize int64 = 64 << 20
	// DefaultMaxFileSize bounds a distribution downloaded for its metadata:
	// 4 GiB. The largest wheels on PyPI (CUDA builds) are a few GB.
	DefaultMaxFileSize int64 = 4 << 30
)

// Environment variables that set the limits of a Client whose limit fields
// are zero. Values are byte counts with an optional unit: 2GiB, 1500MB.
const (
	EnvMaxPageSize     = "ENVKIT_MAX_PYPI_PAGE_SIZE"
	EnvMaxMetadataSize = "ENVKIT_MAX_PYPI_METADATA_SIZE"
	EnvMaxFileSize     = "ENVKIT_MAX_PYPI_FILE_SIZE"
)

// LimitError is a page, metadata file or distribution larger than its limit.
type LimitError struct {
	URL   string // where it came from, without credentials
	What  string // "project page", "metadata", "distribution"
	Limit int64  // bytes
	Hint  string // how to raise the limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s larger than the limit of %s; %s", e.URL, e.What, formatSize(e.Limit), e.Hint)
}

// bound is one limit with how to raise it.
type bound struct {
	max   int64
	what  string
	field string // the Client field setting it
	env   string // the variable setting its default; "" when the field was set
}

func (b bound) errorFor(u string) *LimitError {
	hint := "raise Client." + b.field
	if b.env != "" {
		hint = fmt.Sprintf("raise it with %s=%s (or Client.%s)", b.env, formatSize(b.max*2), b.field)
	}
	return &LimitError{URL: u, What: b.what, Limit: b.max, Hint: hint}
}

// makeBound returns the limit set (> 0), else the one in the environment
// variable env, else def.
func makeBound(set int64, what, field, env string, def int64) (bound, error) {
	if set > 0 {
		return bound{max: set, what: what, field: field}, nil
	}
	b := bound{max: def, what: what, field: field, env: env}
	if v := os.Getenv(env); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return b, fmt.Errorf("%s=%s: %v (want a size such as 2GiB or 1500MB)", env, v, err)
		}
		b.max = n
	}
	return b, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// parseSize parses a positive byte count with an optional unit.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive size")
	}
	if n > (1<<62)/mult {
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// formatSize writes n bytes in the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// readBounded reads r to its end, failing with b's LimitError for u once
// more than b.max bytes come. size, when known (>= 0), sizes the buffer.
// A body of unknown size is read in chunks joined once at the end.
func readBounded(r io.Reader, size int64, b bound, u string) ([]byte, error) {
	if size > b.max {
		return nil, b.errorFor(u)
	}
	var chunks [][]byte
	total := int64(0)
	next := int64(64 << 10)
	if size >= 0 {
		next = size + 1 // one more byte tells a body longer than announced
	}
	for {
		chunk := make([]byte, min(next, b.max+1-total))
		n, err := fill(r, chunk)
		chunks = append(chunks, chunk[:n])
		total += int64(n)
		if total > b.max {
			return nil, b.errorFor(u)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		next = min(max(total/4, 1<<20), 64<<20)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// fill reads into p until it is full (nil), r ends (io.EOF) or fails (a
// body cut short of its Content-Length is io.ErrUnexpectedEOF, a failure;
// io.ReadFull would not tell it from a short read at the end).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readLocal reads a file of a local index: a regular file only (a FIFO or
// a device would block or never end), at most b.max bytes. A missing file
// is errNotFound.
func readLocal(path, u string, b bound) ([]byte, error) {
	f, err := openLocal(path, u, b)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readBounded(f, fi.Size(), b, u)
}

// openLocal opens a regular file of at most b.max bytes. A missing file is
// errNotFound.
func openLocal(path, u string, b bound) (*os.File, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", u, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	// O_NONBLOCK: should the file be swapped for a FIFO after Stat, opening
	// it does not wait for a writer; the check below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > b.max {
		f.Close()
		switch {
		case err != nil:
			return nil, err
		case !fi.Mode().IsRegular():
			return nil, fmt.Errorf("%s: not a regular file", path)
		}
		return nil, b.errorFor(u)
	}
	return f, nil
}
