// Package httpget reads documents written by others, over HTTP(S) or from
// local files, without trusting them: every body is bounded by a size
// limit, every request by time (connect, response headers, an idle body),
// transient failures are tried again with exponential backoff, and HTTP
// responses may be kept in a disk cache revalidated with ETag /
// Last-Modified. It knows nothing of what it reads: its callers (a conda
// channel's repodata, a Python package index) name their limits and the
// fields that set them.
package httpget

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Limit is one size limit with how to raise it.
type Limit struct {
	Max   int64  // bytes
	What  string // what it bounds: "repodata", "project page"
	Field string // the field setting it, with its type: "Gateway.MaxRepodataSize"
	Env   string // the variable setting its default; "" when Field was set
}

// LimitError is a document or body larger than its limit.
type LimitError struct {
	URL   string // where it came from
	What  string // what it is: "repodata", "project page"
	Limit int64  // bytes
	Hint  string // how to raise the limit
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %s larger than the limit of %s; %s", e.URL, e.What, FormatSize(e.Limit), e.Hint)
}

// NewLimit returns the limit set (> 0), else the one in the environment
// variable env, else def. An environment variable that is not a size is an
// error naming it.
func NewLimit(set int64, what, field, env string, def int64) (Limit, error) {
	if set > 0 {
		return Limit{Max: set, What: what, Field: field}, nil
	}
	l := Limit{Max: def, What: what, Field: field, Env: env}
	if v := os.Getenv(env); v != "" {
		n, err := ParseSize(v)
		if err != nil {
			return l, fmt.Errorf("%s=%s: %w (want a size such as 2GiB or 1500MB)", env, v, err)
		}
		l.Max = n
	}
	return l, nil
}

// DefaultLimit is NewLimit for a limit not set, falling back to def when
// the environment variable is not a size (NewLimit reports that).
func DefaultLimit(def int64, what, field, env string) Limit {
	l, err := NewLimit(0, what, field, env, def)
	if err != nil {
		l.Max = def
	}
	return l
}

// Err is the LimitError of what came from u, saying how to raise l.
func (l Limit) Err(u string) *LimitError {
	hint := "raise " + l.Field
	if l.Env != "" {
		hint = fmt.Sprintf("raise it with %s=%s (or %s)", l.Env, FormatSize(l.Max*2), l.Field)
	}
	return &LimitError{URL: u, What: l.What, Limit: l.Max, Hint: hint}
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

// ParseSize parses a positive byte count with an optional unit, in any
// case: 2GiB, 1500MB, 300M, 64 KiB, 7B.
func ParseSize(s string) (int64, error) {
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

// FormatSize writes n bytes in the largest binary unit that divides it.
func FormatSize(n int64) string {
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

// ReadBounded reads r to its end, failing with l's LimitError for u once
// more than l.Max bytes come. size, when known (>= 0), sizes the buffer; a
// size over the limit fails before reading.
//
// Memory stays near what is read: a body of unknown size is read in chunks
// joined once at the end (at most twice the body, for a moment), never
// grown by doubling, and a body over the limit costs about the limit.
func ReadBounded(r io.Reader, size int64, l Limit, u string) ([]byte, error) {
	if size > l.Max {
		return nil, l.Err(u)
	}
	var chunks [][]byte
	total := int64(0)
	next := int64(64 << 10)
	if size >= 0 {
		next = size + 1 // one more byte tells a body longer than announced
	}
	for {
		chunk := make([]byte, min(next, l.Max+1-total))
		n, err := fill(r, chunk)
		chunks = append(chunks, chunk[:n])
		total += int64(n)
		if total > l.Max {
			return nil, l.Err(u)
		}
		if errors.Is(err, io.EOF) {
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
