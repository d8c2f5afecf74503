package repodata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/klauspost/compress/zstd"
)

// Size limits. Channels are written by others: a repodata document, a shard
// or an HTTP body larger than its limit is refused, so that a hostile or
// broken channel (an endless body, a zstd bomb) costs about the limit in
// memory per document read, never more.
const (
	// DefaultMaxRepodataSize bounds one subdir's repodata.json, as
	// downloaded and after zstd decompression: 1 GiB. The largest real
	// channel is conda-forge, and its largest subdir linux-64: 249 MB in
	// March 2024 (mamba-org/mamba#3257), while noarch (188 MB) and
	// osx-arm64 (198 MB) measured in September 2026 (artifact-keeper#4149)
	// had doubled in the 2.5 years before. 1 GiB leaves about 2.5x over
	// linux-64's size today, estimated from those at 350-400 MB, for growth.
	DefaultMaxRepodataSize int64 = 1 << 30
	// DefaultMaxShardSize bounds one shard and a shard index (CEP 16), as
	// downloaded and decompressed: 128 MiB. conda limits a shard index to
	// 128 MiB and a shard to 64 MiB after a real 49 MB shard (conda-pypi's
	// boto3-stubs) broke its former 16 MiB limit (conda/conda#16575).
	DefaultMaxShardSize int64 = 128 << 20
)

// Environment variables that raise (or lower) the default limits for any
// program using a Gateway whose limit fields are zero, such as the envkit
// CLI. Values are byte counts with an optional unit: 2GiB, 1500MB, 300M.
const (
	EnvMaxRepodataSize = "ENVKIT_MAX_REPODATA_SIZE"
	EnvMaxShardSize    = "ENVKIT_MAX_SHARD_SIZE"
)

// LimitError is a document or body larger than its limit.
type LimitError struct {
	URL   string // where it came from
	What  string // "repodata", "shard"
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
	field string // the Gateway field setting it
	env   string // the variable setting its default; "" when the field was set
}

func (b bound) errorFor(u string) *LimitError {
	hint := "raise Gateway." + b.field
	if b.env != "" {
		hint = fmt.Sprintf("raise it with %s=%s (or Gateway.%s)", b.env, formatSize(b.max*2), b.field)
	}
	return &LimitError{URL: u, What: b.what, Limit: b.max, Hint: hint}
}

// makeBound returns the limit set (field > 0), else the one in the
// environment variable env, else def.
func makeBound(set int64, what, field, env string, def int64) (bound, error) {
	if set > 0 {
		return bound{max: set, what: what, field: field}, nil
	}
	b := bound{max: def, what: what, field: field, env: env}
	if v := os.Getenv(env); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return b, fmt.Errorf("%s=%s: %w (want a size such as 2GiB or 1500MB)", env, v, err)
		}
		b.max = n
	}
	return b, nil
}

// defaultBound is makeBound for a limit not set, falling back to def when
// the environment variable is not a size (Gateway methods report that).
func defaultBound(def int64, what, field, env string) bound {
	b, err := makeBound(0, what, field, env, def)
	if err != nil {
		b.max = def
	}
	return b
}

// maybeDecompress decompresses data when it is zstd, bounded by b.
func maybeDecompress(data []byte, b bound, u string) ([]byte, error) {
	if !bytes.HasPrefix(data, zstdMagic) {
		return data, nil
	}
	out, err := decompress(data, b, u)
	var le *LimitError
	if err != nil && !errors.As(err, &le) {
		err = fmt.Errorf("%s: zstd: %w", u, err)
	}
	return out, err
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
//
// Memory stays near what is read: a body of unknown size is read in chunks
// joined once at the end (at most twice the body, for a moment), never
// grown by doubling, and a body over the limit costs about the limit.
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

// fill reads into p until it is full (nil), r ends (io.EOF) or fails.
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

// decompress decodes a zstd document, failing with b's LimitError for u
// when it decodes to more than b.max bytes (a frame that declares a larger
// size fails before decoding anything). It streams: memory is the output
// and the frame's window (at most 128 MiB, as zstd --long and --ultra -22
// use), not a growing buffer.
func decompress(data []byte, b bound, u string) ([]byte, error) {
	limit := func() error {
		le := b.errorFor(u)
		le.What = "decompressed " + le.What
		return le
	}
	size := int64(-1)
	var h zstd.Header
	if h.Decode(data) == nil && h.HasFCS {
		if h.FrameContentSize > uint64(b.max) {
			return nil, limit()
		}
		size = int64(h.FrameContentSize)
	}
	window := min(max(b.max, zstd.MinWindowSize), 1<<27)
	dec, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(b.max)), zstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := readBounded(dec, size, b, u)
	var le *LimitError
	if errors.As(err, &le) || errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, limit()
	}
	return out, err
}

// readLocal reads a file of a local channel: a regular file only (a FIFO
// or a device would block or never end), at most b.max bytes. A missing
// file is errNotFound.
func readLocal(path, u string, b bound) ([]byte, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", u, errNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	// O_NONBLOCK: should the file be swapped for a FIFO after Stat, opening
	// it does not wait for a writer; the check below then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	data, err := readBounded(f, fi.Size(), b, u)
	var le *LimitError
	if err != nil && !errors.As(err, &le) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return data, err
}

func notRegular(path string, m os.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory, not a file"
	case m&os.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO), not a regular file"
	case m&os.ModeDevice != 0:
		kind = "a device, not a regular file"
	case m&os.ModeSocket != 0:
		kind = "a socket, not a regular file"
	}
	return fmt.Errorf("%s: %s", path, kind)
}
