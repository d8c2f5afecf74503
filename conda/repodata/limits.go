package repodata

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/envkit/envkit/internal/httpget"
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

// LimitError is a document or body larger than its limit: its URL, what
// it is ("repodata", "shard", "decompressed shard index"), the limit and
// how to raise it (an environment variable or a Gateway field).
type LimitError = httpget.LimitError

// maybeDecompress decompresses data when it is zstd, bounded by b.
func maybeDecompress(data []byte, b httpget.Limit, u string) ([]byte, error) {
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

// decompress decodes a zstd document, failing with b's LimitError for u
// when it decodes to more than b.Max bytes (a frame that declares a larger
// size fails before decoding anything). It streams: memory is the output
// and the frame's window (at most 128 MiB, as zstd --long and --ultra -22
// use), not a growing buffer.
func decompress(data []byte, b httpget.Limit, u string) ([]byte, error) {
	limit := func() error {
		le := b.Err(u)
		le.What = "decompressed " + le.What
		return le
	}
	size := int64(-1)
	var h zstd.Header
	if h.Decode(data) == nil && h.HasFCS {
		if h.FrameContentSize > uint64(b.Max) {
			return nil, limit()
		}
		size = int64(h.FrameContentSize)
	}
	window := min(max(b.Max, zstd.MinWindowSize), 1<<27)
	dec, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(b.Max)), zstd.WithDecoderMaxWindow(uint64(window)))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := httpget.ReadBounded(dec, size, b, u)
	var le *LimitError
	if errors.As(err, &le) || errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, limit()
	}
	return out, err
}
