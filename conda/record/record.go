// Package record holds the conda package record: the metadata of one package
// artifact as repodata (CEP 36) and index.json (CEP 34) describe it, plus where
// it was found. Every other conda package (matchspec, repodata, solver, lock)
// speaks in these records.
package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/envkit/envkit/conda/version"
)

// PackageRecord is one package artifact's metadata, as in a repodata.json entry.
type PackageRecord struct {
	Name        string          `json:"name"`
	Version     version.Version `json:"version"`
	Build       string          `json:"build"`
	BuildNumber int64           `json:"build_number"`
	Depends     []string        `json:"depends"`
	Constrains  []string        `json:"constrains,omitempty"`
	// TrackFeatures are the identifiers of track_features (CEP 34: a space-
	// or comma-separated string; some repodata has a list). A package with
	// track features is deprioritised by the solver.
	TrackFeatures StringList `json:"track_features,omitempty"`
	Features      string     `json:"features,omitempty"`
	Subdir        string     `json:"subdir,omitempty"`
	Arch          string     `json:"arch,omitempty"`
	Platform      string     `json:"platform,omitempty"`
	// Noarch is "", "generic" or "python" (old repodata writes true for generic).
	Noarch                 NoarchType `json:"noarch,omitempty"`
	License                string     `json:"license,omitempty"`
	LicenseFamily          string     `json:"license_family,omitempty"`
	Timestamp              int64      `json:"timestamp,omitempty"` // milliseconds since the epoch (normalised on read)
	Size                   int64      `json:"size,omitempty"`
	MD5                    string     `json:"md5,omitempty"`
	SHA256                 string     `json:"sha256,omitempty"`
	LegacyBz2MD5           string     `json:"legacy_bz2_md5,omitempty"`
	LegacyBz2Size          int64      `json:"legacy_bz2_size,omitempty"`
	PythonSitePackagesPath string     `json:"python_site_packages_path,omitempty"`
}

// RepoDataRecord is a PackageRecord together with where it comes from.
type RepoDataRecord struct {
	PackageRecord
	// FileName is the artifact's file name, the key in repodata
	// (e.g. "zlib-1.2.11-h7b6447c_3.conda").
	FileName string `json:"fn"`
	// URL is the artifact's full download URL.
	URL string `json:"url"`
	// Channel is the channel's canonical URL without the subdir
	// (e.g. "https://conda.anaconda.org/conda-forge").
	Channel string `json:"channel"`
}

// Dist returns name-version-build, conda's usual identity for a record.
func (r *PackageRecord) Dist() string {
	return r.Name + "-" + r.Version.String() + "-" + r.Build
}

func (r *PackageRecord) String() string { return r.Dist() }

// UnmarshalJSON normalises the loose forms found in real repodata: a null
// depends, and timestamps in seconds (conda treats values above 253402300799,
// the year 9999 in seconds, as milliseconds).
func (r *PackageRecord) UnmarshalJSON(b []byte) error {
	type plain PackageRecord
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	p.Timestamp = NormalizeTimestamp(p.Timestamp)
	*r = PackageRecord(p)
	return nil
}

// NormalizeTimestamp returns a repodata timestamp in milliseconds: values up
// to 253402300799 (the year 9999 in seconds) are seconds, as conda reads them.
func NormalizeTimestamp(ts int64) int64 {
	if ts > 0 && ts <= 253402300799 {
		return ts * 1000
	}
	return ts
}

// StringList reads a JSON list of strings or a single string split on spaces
// and commas; it writes a space-separated string (the CEP 34 form).
type StringList []string

func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var xs []string
		if err := json.Unmarshal(b, &xs); err != nil {
			return err
		}
		*l = MakeStringList(xs)
		return nil
	}
	if string(b) == "null" {
		*l = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = ParseStringList(s)
	return nil
}

// ParseStringList splits the string form of a StringList on spaces and commas.
func ParseStringList(s string) StringList {
	return MakeStringList(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }))
}

func (l StringList) MarshalJSON() ([]byte, error) { return json.Marshal(strings.Join(l, " ")) }

// MakeStringList returns xs trimmed, without empty items; nil when none is left.
func MakeStringList(xs []string) StringList {
	var out StringList
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// NoarchType is the kind of a noarch package: "", "generic" or "python".
type NoarchType string

const (
	NoarchNone    NoarchType = ""
	NoarchGeneric NoarchType = "generic"
	NoarchPython  NoarchType = "python"
)

func (n *NoarchType) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.TrimSpace(b)); s {
	case "true":
		*n = NoarchGeneric
		return nil
	case "false", "null":
		*n = NoarchNone
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("noarch: want a string or bool: %w", err)
	}
	t, err := ParseNoarch(s)
	if err != nil {
		return err
	}
	*n = t
	return nil
}

// ParseNoarch returns the NoarchType named s ("", "generic" or "python").
func ParseNoarch(s string) (NoarchType, error) {
	switch NoarchType(s) {
	case NoarchNone, NoarchGeneric, NoarchPython:
		return NoarchType(s), nil
	}
	return NoarchNone, fmt.Errorf("noarch: unknown type %q (want generic or python)", s)
}

// UnmarshalJSON reads the package fields and fn, url and channel. (Without
// it, PackageRecord's UnmarshalJSON, promoted through the embedding, would
// decode the package fields only.)
func (r *RepoDataRecord) UnmarshalJSON(b []byte) error {
	var where struct {
		FileName string `json:"fn"`
		URL      string `json:"url"`
		Channel  string `json:"channel"`
	}
	if err := json.Unmarshal(b, &where); err != nil {
		return err
	}
	if err := r.PackageRecord.UnmarshalJSON(b); err != nil {
		return err
	}
	r.FileName, r.URL, r.Channel = where.FileName, where.URL, where.Channel
	return nil
}
