package wheel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DirectURL is what direct_url.json records for a package installed from
// a URL requirement (the PyPA "Recording the Direct URL Origin of
// installed distributions" specification): exactly one of Archive, Dir
// and VCS.
type DirectURL struct {
	// URL is where the distribution came from. Credentials are removed
	// when written, except a "git" user and ${VARIABLE} placeholders,
	// which the specification keeps.
	URL          string       `json:"url"`
	Archive      *ArchiveInfo `json:"archive_info,omitempty"`
	Dir          *DirInfo     `json:"dir_info,omitempty"`
	VCS          *VCSInfo     `json:"vcs_info,omitempty"`
	Subdirectory string       `json:"subdirectory,omitempty"`
}

// ArchiveInfo describes a wheel or sdist URL. Hashes maps algorithm names
// to hex digests ({"sha256": "..."}); Hash is the older "sha256=<hex>"
// form.
type ArchiveInfo struct {
	Hash   string            `json:"hash,omitempty"`
	Hashes map[string]string `json:"hashes,omitempty"`
}

// DirInfo describes a local directory.
type DirInfo struct {
	Editable bool `json:"editable,omitempty"`
}

// VCSInfo describes a version-control checkout.
type VCSInfo struct {
	VCS               string `json:"vcs"`
	RequestedRevision string `json:"requested_revision,omitempty"`
	CommitID          string `json:"commit_id"`
}

var envCredential = regexp.MustCompile(`^\$\{[A-Za-z0-9-_]+\}(:\$\{[A-Za-z0-9-_]+\})?$`)

// encode checks d and returns its JSON (keys in a fixed order).
func (d *DirectURL) encode() ([]byte, error) {
	n := 0
	for _, set := range []bool{d.Archive != nil, d.Dir != nil, d.VCS != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("direct URL: want exactly one of archive_info, dir_info and vcs_info")
	}
	if d.VCS != nil && (d.VCS.VCS == "" || d.VCS.CommitID == "") {
		return nil, errors.New("direct URL: vcs_info needs vcs and commit_id")
	}
	if u, err := url.Parse(removeUserinfo(d.URL)); err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("direct URL %q: not an absolute URL", d.URL)
	}
	c := *d
	c.URL = stripCredentials(d.URL)
	return json.Marshal(&c)
}

// removeUserinfo removes a URL's user and password, whatever they are.
func removeUserinfo(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		return raw[:i+3] + rest[at+1:]
	}
	return raw
}

// stripCredentials removes the user and password of a URL, except a "git"
// user (ssh) and ${VARIABLE} placeholders, as the specification asks.
func stripCredentials(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 && (rest[:at] == "git" || envCredential.MatchString(rest[:at])) {
		return raw
	}
	return removeUserinfo(raw)
}
