package link

import (
	"encoding/json"
	"fmt"
	"os"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
)

// LinkType is how a package's files were placed in the prefix (CEP 32
// link.type).
type LinkType int

const (
	LinkHardlink  LinkType = 1
	LinkSoftlink  LinkType = 2
	LinkCopy      LinkType = 3
	LinkDirectory LinkType = 4
)

// PrefixRecord is a conda-meta/<name>-<version>-<build>.json document
// (CEP 32): the package's repodata record, the files it owns in the prefix
// and how they were placed.
type PrefixRecord struct {
	record.RepoDataRecord
	// Files lists the prefix-relative paths the package owns, forward
	// slashes, generated files (entry points) included.
	Files     []string  `json:"files"`
	PathsData PathsData `json:"paths_data"`
	// Link is omitted when the extracted package's location in the final
	// image is not known (Options.ExtractedPackageDir empty).
	Link                   *LinkInfo `json:"link,omitempty"`
	ExtractedPackageDir    string    `json:"extracted_package_dir,omitempty"`
	PackageTarballFullPath string    `json:"package_tarball_full_path,omitempty"`
	RequestedSpec          string    `json:"requested_spec,omitempty"`
	RequestedSpecs         []string  `json:"requested_specs,omitempty"`
}

// LinkInfo is the "link" field of a PrefixRecord.
type LinkInfo struct {
	Source string   `json:"source"`
	Type   LinkType `json:"type"`
}

// PathsData is the "paths_data" field of a PrefixRecord.
type PathsData struct {
	Paths        []PrefixPath `json:"paths"`
	PathsVersion int          `json:"paths_version"`
}

// PrefixPath is one installed path: its paths.json entry at its place in the
// prefix, with the hash of the content as installed when prefix
// replacement changed it.
type PrefixPath struct {
	Path              string            `json:"_path"`
	PathType          condapkg.PathType `json:"path_type"`
	FileMode          condapkg.FileMode `json:"file_mode,omitempty"`
	PrefixPlaceholder string            `json:"prefix_placeholder,omitempty"`
	NoLink            bool              `json:"no_link,omitempty"`
	SHA256            string            `json:"sha256,omitempty"`
	SHA256InPrefix    string            `json:"sha256_in_prefix,omitempty"`
	SizeInBytes       *int64            `json:"size_in_bytes,omitempty"`
}

// MetaFileName is the record's file name in conda-meta/: name-version-build.json.
func (r *PrefixRecord) MetaFileName() string { return r.Dist() + ".json" }

// UnmarshalJSON reads a conda-meta record. (The embedded PackageRecord's own
// UnmarshalJSON would otherwise take over and drop every other field.)
func (r *PrefixRecord) UnmarshalJSON(b []byte) error {
	type rest struct {
		FileName               string    `json:"fn"`
		URL                    string    `json:"url"`
		Channel                string    `json:"channel"`
		Files                  []string  `json:"files"`
		PathsData              PathsData `json:"paths_data"`
		Link                   *LinkInfo `json:"link"`
		ExtractedPackageDir    string    `json:"extracted_package_dir"`
		PackageTarballFullPath string    `json:"package_tarball_full_path"`
		RequestedSpec          string    `json:"requested_spec"`
		RequestedSpecs         []string  `json:"requested_specs"`
	}
	var pr record.PackageRecord
	if err := json.Unmarshal(b, &pr); err != nil {
		return err
	}
	var o rest
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = PrefixRecord{
		RepoDataRecord: record.RepoDataRecord{PackageRecord: pr, FileName: o.FileName, URL: o.URL, Channel: o.Channel},
		Files:          o.Files, PathsData: o.PathsData, Link: o.Link,
		ExtractedPackageDir: o.ExtractedPackageDir, PackageTarballFullPath: o.PackageTarballFullPath,
		RequestedSpec: o.RequestedSpec, RequestedSpecs: o.RequestedSpecs,
	}
	return nil
}

// ReadPrefixRecord reads a conda-meta/<dist>.json file.
func ReadPrefixRecord(name string) (*PrefixRecord, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var r PrefixRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

// encode renders the record as conda writes it: indented JSON with a final
// newline. Field order is fixed by the struct, so the bytes are
// reproducible.
func (r *PrefixRecord) encode() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
