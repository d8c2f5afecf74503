package index

import "github.com/envkit/envkit/internal/httpget"

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

// LimitError is a page, metadata file or distribution larger than its
// limit: its URL (without credentials), what it is ("project page",
// "metadata", "distribution"), the limit and how to raise it.
type LimitError = httpget.LimitError
