// Package condapkg (directory conda/package) reads conda package artifacts: the .conda format (a stored
// zip holding metadata.json, info-<stem>.tar.zst and pkg-<stem>.tar.zst) and
// the older .tar.bz2 format (one bzip2 tarball), as CEP 35 describes them, and
// the package contents CEP 34 defines (info/index.json, info/paths.json with
// its info/files fallback, info/link.json, info/about.json).
//
// Three entry points cover what an installer needs:
//
//   - [Verify] (or [NewHashingReader]) checks an artifact against the sha256 a
//     lock file recorded, before anything trusts its contents.
//   - [Read] and [Open] return a package's [Metadata] without extracting its
//     payload; for .conda only the small info tarball is decompressed.
//   - [Extract] streams both parts into a directory laid out as conda's
//     package cache (info/ beside the payload) and returns the metadata.
//
// Archives are hostile input. Every member path must be a clean relative
// path; symbolic links may not point outside the package, directly or
// through other links of the archive, and nothing is
// written through a symbolic link the archive created; hard links must name a
// file extracted before them; device files, FIFOs and sparse files are
// refused; extraction happens under an [os.Root] so the kernel enforces the
// destination boundary too. After extraction the payload must agree with
// info/paths.json: every listed path present with its type, size and sha256,
// and no unlisted file. Decompression is bounded by [Limits]. Failures are
// *[Error] values naming the archive, the member and the problem, and wrap
// one of the sentinel errors ([ErrFormat], [ErrUnsafePath], [ErrMismatch],
// [ErrTooLarge], [ErrUnsupported], [ErrChecksum]) for errors.Is.
//
// The directory is conda/package; Go reserves the keyword "package", so the
// package is named condapkg.
package condapkg
