package record

// ArchiveType is a conda artifact's archive format (CEP 35), known by its
// file name's extension.
type ArchiveType int

const (
	// ArchiveUnknown is a file name with neither extension.
	ArchiveUnknown ArchiveType = iota
	// ArchiveConda is .conda: a stored zip of metadata.json and two
	// zstd-compressed tarballs, info-<stem>.tar.zst and pkg-<stem>.tar.zst.
	// Conda prefers it over a .tar.bz2 of the same package.
	ArchiveConda
	// ArchiveTarBz2 is .tar.bz2: one bzip2-compressed tarball.
	ArchiveTarBz2
)

// Ext returns the archive type's file extension (".conda", ".tar.bz2"),
// "" for ArchiveUnknown.
func (a ArchiveType) Ext() string {
	switch a {
	case ArchiveConda:
		return ".conda"
	case ArchiveTarBz2:
		return ".tar.bz2"
	}
	return ""
}

// String returns the file extension, or "unknown".
func (a ArchiveType) String() string {
	if e := a.Ext(); e != "" {
		return e
	}
	return "unknown"
}

// ArchiveTypeOf returns the archive type a file name's (or URL's)
// extension names.
func ArchiveTypeOf(filename string) ArchiveType {
	_, t := CutArchiveExt(filename)
	return t
}

// CutArchiveExt splits a file name into its stem and archive type:
// "zlib-1.3-0.conda" -> ("zlib-1.3-0", ArchiveConda). A name with neither
// extension comes back whole with ArchiveUnknown. It takes bytes as well
// as strings, without copying.
func CutArchiveExt[S ~string | ~[]byte](filename S) (stem S, t ArchiveType) {
	const conda, tarBz2 = ".conda", ".tar.bz2"
	n := len(filename)
	switch {
	case n >= len(conda) && string(filename[n-len(conda):]) == conda:
		return filename[:n-len(conda)], ArchiveConda
	case n >= len(tarBz2) && string(filename[n-len(tarBz2):]) == tarBz2:
		return filename[:n-len(tarBz2)], ArchiveTarBz2
	}
	return filename, ArchiveUnknown
}
