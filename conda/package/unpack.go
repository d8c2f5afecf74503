package condapkg

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// partKind says which members a tarball may hold.
type partKind int

const (
	partAll  partKind = iota // .tar.bz2: info/ and payload
	partInfo                 // .conda info tarball: info/ only
	partPkg                  // .conda pkg tarball: payload only
)

// metadataFiles are the info/ files read into memory.
var metadataFiles = map[string]bool{
	"info/index.json": true, "info/paths.json": true, "info/link.json": true, "info/about.json": true,
	"info/files": true, "info/has_prefix": true, "info/no_link": true,
}

// errStop ends a tar walk early once everything needed has been seen.
var errStop = errors.New("stop")

// unpacker walks the tarballs of one artifact, capturing its metadata and,
// when root is set, extracting every member under root.
type unpacker struct {
	ctx     context.Context
	archive string // for errors
	part    string // current inner tarball of a .conda, for errors
	limits  Limits

	unpacked int64 // decompressed bytes so far
	members  int
	info     map[string][]byte   // captured metadataFiles
	symlinks map[string]struct{} // symlink members (read mode, for legacy packages)
	meta     *Metadata

	x *extraction // nil when only reading
}

// tarball walks one decompressed tar stream. drain reads the stream to its
// end afterwards so that the zip layer checks the member's CRC-32.
func (u *unpacker) tarball(r io.Reader, part partKind, drain bool) error {
	cr := &countingReader{r: r, u: u}
	tr := tar.NewReader(cr)
	for {
		if err := u.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u.errorf(u.lastMember(), "%w", tarError(err))
		}
		u.members++
		if u.members > u.limits.MaxMembers {
			return u.errorf(h.Name, "%w: more than %d members", ErrTooLarge, u.limits.MaxMembers)
		}
		name, err := memberName(h)
		if err != nil {
			return u.errorf(h.Name, "%w", err)
		}
		isInfo := name == "info" || strings.HasPrefix(name, "info/")
		switch {
		case part == partInfo && !isInfo:
			return u.errorf(name, "%w: the info tarball holds a member outside info/", ErrFormat)
		case part == partPkg && isInfo:
			return u.errorf(name, "%w: the pkg tarball holds a member under info/", ErrFormat)
		}
		if err := u.member(h, name, tr); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return u.errorf(name, "%w", err)
		}
	}
	if drain {
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return u.errorf("", "%w", tarError(err))
		}
	}
	return nil
}

// lastMember names where a stream error happened, for errors.
func (u *unpacker) lastMember() string {
	if u.x != nil && u.x.last != "" {
		return "after " + u.x.last
	}
	return ""
}

// member handles one tar member.
func (u *unpacker) member(h *tar.Header, name string, tr io.Reader) error {
	var data []byte
	if metadataFiles[name] && h.Typeflag == tar.TypeReg {
		if h.Size > u.limits.MaxMetadataSize {
			return fmt.Errorf("%w: %d bytes, the limit for a metadata file is %d", ErrTooLarge, h.Size, u.limits.MaxMetadataSize)
		}
		data = make([]byte, h.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return tarError(err)
		}
		if u.info == nil {
			u.info = map[string][]byte{}
		}
		u.info[name] = data
	}
	if u.x != nil {
		return u.x.write(h, name, tr, data)
	}
	if h.Typeflag == tar.TypeSymlink {
		if u.symlinks == nil {
			u.symlinks = map[string]struct{}{}
		}
		u.symlinks[name] = struct{}{}
	}
	// A read of a .tar.bz2 may stop once every metadata file conda-build
	// and rattler-build put first has been seen.
	if u.info["info/index.json"] != nil && u.info["info/paths.json"] != nil &&
		u.info["info/link.json"] != nil && u.info["info/about.json"] != nil {
		return errStop
	}
	return nil
}

// finish builds the metadata from the captured files and, when extracting,
// checks the payload against it.
func (u *unpacker) finish() error {
	isSoftlink := func(p string) bool { _, ok := u.symlinks[p]; return ok }
	if u.x != nil {
		isSoftlink = u.x.isSymlink
	}
	m, member, err := buildMetadata(u.info, isSoftlink)
	if err != nil {
		return &Error{Archive: u.archive, Member: member, Err: err}
	}
	u.meta = m
	if u.x != nil {
		if name, err := u.x.checkSymlinks(); err != nil {
			return &Error{Archive: u.archive, Member: name, Err: err}
		}
		if err := u.x.check(m.Paths); err != nil {
			return &Error{Archive: u.archive, Member: "info/paths.json", Err: err}
		}
	}
	return nil
}

// buildMetadata parses captured info/ files; on error it also returns the
// file at fault.
func buildMetadata(files map[string][]byte, isSoftlink func(string) bool) (*Metadata, string, error) {
	var m Metadata
	data, ok := files["info/index.json"]
	if !ok {
		return nil, "info/index.json", fmt.Errorf("%w: missing", ErrFormat)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		return nil, "info/index.json", err
	}
	m.Index = *idx
	if data, ok := files["info/paths.json"]; ok {
		if m.Paths, m.PathsVersion, err = ParsePaths(data); err != nil {
			return nil, "info/paths.json", err
		}
	} else if data, ok := files["info/files"]; ok {
		if m.Paths, err = LegacyPaths(data, files["info/has_prefix"], files["info/no_link"], isSoftlink); err != nil {
			return nil, "info/files", err
		}
	} else {
		return nil, "info/paths.json", fmt.Errorf("%w: missing, and no info/files either", ErrFormat)
	}
	if data, ok := files["info/link.json"]; ok {
		if m.Link, err = ParseLink(data); err != nil {
			return nil, "info/link.json", err
		}
	}
	if data, ok := files["info/about.json"]; ok {
		if m.About, err = ParseAbout(data); err != nil {
			return nil, "info/about.json", err
		}
	}
	return &m, "", nil
}

// memberName returns a member's path in the package: "./" prefixes and a
// directory's trailing "/" are dropped; the rest must pass CheckPath.
func memberName(h *tar.Header) (string, error) {
	name := h.Name
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	if h.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if err := CheckPath(name); err != nil {
		return "", err
	}
	return name, nil
}

// tarError classifies a stream error: limits and cancellation pass through,
// anything else is a malformed archive.
func tarError(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", ErrFormat)
	}
	return fmt.Errorf("%w: %w", ErrFormat, err)
}

// countingReader enforces Limits.MaxUnpackedSize on decompressed bytes.
type countingReader struct {
	r io.Reader
	u *unpacker
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.u.unpacked += int64(n)
	if c.u.unpacked > c.u.limits.MaxUnpackedSize {
		return n, fmt.Errorf("%w: more than %d bytes decompressed", ErrTooLarge, c.u.limits.MaxUnpackedSize)
	}
	return n, err
}
