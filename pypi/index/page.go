// Package index is a client of Python package indexes: the simple
// repository API (PEP 503 HTML and PEP 691 JSON project pages, chosen by
// content negotiation; PEP 592 yanked files; PEP 658/714 metadata files;
// data-requires-python), over http(s), file:// URLs and local directories,
// with several indexes queried in order (pip's --index-url and
// --extra-index-url), an ETag / Last-Modified revalidated disk cache,
// bounded reads, timeouts and retries. A distribution's core metadata comes
// from its .metadata file (checked against its hash) or, failing that,
// from the *.dist-info/METADATA of the wheel itself.
//
// Credentials written in an index URL ("https://user:token@host/simple")
// are sent to that host and never appear in errors, warnings or the URLs
// this package returns.
package index

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"github.com/envkit/envkit/internal/httpget"
	"github.com/envkit/envkit/pypi/version"
)

// Content types of the simple API (PEP 691).
const (
	ContentTypeJSON = "application/vnd.pypi.simple.v1+json"
	ContentTypeHTML = "application/vnd.pypi.simple.v1+html"
	// Accept asks for JSON, with HTML as the fallback of servers that only
	// speak PEP 503.
	Accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
)

// SupportedAPI is the newest simple API version this package knows: a page
// with a newer minor version is read with a warning, one with a newer major
// version is refused.
const SupportedAPI = "1.4"

// File is one distribution file of a project page.
type File struct {
	// Filename is the file's name: the last path segment of its URL (HTML)
	// or the "filename" key (JSON).
	Filename string
	// URL is where to download it: absolute, without a fragment and without
	// credentials.
	URL string
	// Hashes maps a lower-case hash name ("sha256") to its lower-case hex
	// digest, from the URL fragment (HTML) or the "hashes" key (JSON).
	Hashes map[string]string
	// RequiresPython is the file's Requires-Python as written (HTML
	// entities decoded); "" when absent.
	RequiresPython string
	// Yanked marks a yanked file (PEP 592); YankedReason is the reason
	// given, if any.
	Yanked       bool
	YankedReason string
	// CoreMetadata reports that the index serves the file's core metadata
	// at URL + ".metadata" (PEP 658/714); MetadataHashes are its hashes,
	// when the index gives them.
	CoreMetadata   bool
	MetadataHashes map[string]string
	// Size is the file's size in bytes (JSON, API 1.1), or -1.
	Size int64
	// UploadTime is the upload time as written (JSON, API 1.1), or "".
	UploadTime string
	// Index is the base URL of the index the file was listed by, without
	// credentials.
	Index string
}

// SHA256 returns the file's sha256 digest in hex, or "".
func (f *File) SHA256() string { return f.Hashes["sha256"] }

// MetadataURL is where the index serves the file's core metadata when
// CoreMetadata is set.
func (f *File) MetadataURL() string { return f.URL + ".metadata" }

// IsWheel reports whether the file is a wheel.
func (f *File) IsWheel() bool { return strings.HasSuffix(f.Filename, ".whl") }

// IsSdist reports whether the file is a source distribution (.tar.gz or
// .zip, PEP 625; older sdists may also be .tar.bz2 and friends).
func (f *File) IsSdist() bool {
	_, ok := sdistStem(f.Filename)
	return ok
}

var sdistExts = []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"}

// RequiresPythonSet parses RequiresPython. pip ignores an invalid one (it
// then matches every Python) after a warning; so may a caller.
func (f *File) RequiresPythonSet() (version.SpecifierSet, error) {
	s, err := version.ParseSpecifierSet(f.RequiresPython)
	if err != nil {
		return version.SpecifierSet{}, fmt.Errorf("%s: requires-python %q: %w", f.Filename, f.RequiresPython, err)
	}
	return s, nil
}

// Page is a parsed project page.
type Page struct {
	// Name is the project name the page gives (JSON), else the one asked for.
	Name string
	// URL is the page's URL, after redirects, without credentials.
	URL string
	// APIVersion is the page's simple API version ("1.0" when it gives none).
	APIVersion string
	// Files are the distribution files, in the page's order.
	Files []File
	// Versions lists the project's versions (JSON, API 1.1); nil otherwise.
	Versions []string
	// Status and StatusReason are the project status marker (API 1.4).
	Status, StatusReason string
	// Warnings are problems that did not stop the parse: a newer minor API
	// version, files skipped for a malformed URL or hash.
	Warnings []error
}

// hashSizes are the hex lengths of the hash algorithms pip accepts.
var hashSizes = map[string]int{"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}

// validHash checks a hash name and hex digest: a known name with a digest
// of its length, or another lower-case name with any even-length hex digest
// (such as blake2b in JSON), which is kept but never checked.
func validHash(name, value string) error {
	if n, ok := hashSizes[name]; ok && len(value) != n {
		return fmt.Errorf("%s digest of %d hex digits, want %d", name, len(value), n)
	}
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		return fmt.Errorf("invalid hash name %q", name)
	}
	if _, err := hex.DecodeString(value); err != nil || value == "" {
		return fmt.Errorf("%s digest %q is not hex", name, value)
	}
	return nil
}

// parseHashes reads "name=hex" pairs joined by '&' (a URL fragment or a
// data-core-metadata value). Parts that are not name=value are ignored (pip
// ignores them: "#egg=" and such); a malformed hash is an error.
func parseHashes(s string) (map[string]string, error) {
	var out map[string]string
	for part := range strings.SplitSeq(s, "&") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.ToLower(k)
		if !ok || (hashSizes[k] == 0 && k != "blake2b") {
			continue
		}
		v = strings.ToLower(v)
		if err := validHash(k, v); err != nil {
			return nil, err
		}
		if out == nil {
			out = make(map[string]string, 1)
		}
		out[k] = v
	}
	return out, nil
}

// checkAPIVersion applies the versioning rules: a newer major version is
// an error, a newer minor one a warning.
func checkAPIVersion(v, where string, p *Page) error {
	if v == "" {
		p.APIVersion = "1.0"
		return nil
	}
	p.APIVersion = v
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%s: repository version %q is not MAJOR.MINOR", where, v)
	}
	if a > 1 {
		return fmt.Errorf("%s: simple API version %s is not supported (this client speaks %s)", where, v, SupportedAPI)
	}
	if a == 1 && b > 4 {
		p.Warnings = append(p.Warnings, fmt.Errorf("%s: simple API version %s is newer than %s; some features may be ignored", where, v, SupportedAPI))
	}
	return nil
}

// base is a page URL that file URLs are resolved against.
type base struct {
	u   *url.URL
	raw string // redacted, for messages
}

func newBase(pageURL string) (base, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return base{}, fmt.Errorf("page URL %s: invalid URL", Redact(pageURL))
	}
	u.User = nil
	return base{u: u, raw: u.String()}, nil
}

// resolve makes ref absolute, drops credentials and returns the fragment.
func (b base) resolve(ref string) (u *url.URL, fragment string, err error) {
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return nil, "", fmt.Errorf("invalid URL %q", Redact(ref))
	}
	u = b.u.ResolveReference(r)
	fragment = u.Fragment
	u.Fragment, u.RawFragment, u.User = "", "", nil
	if u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file" {
		return nil, "", fmt.Errorf("URL %s: scheme %q (http, https or file only)", u.Redacted(), u.Scheme)
	}
	return u, fragment, nil
}

// fileName returns the last path segment of u, or an error when there is
// none.
func fileName(u *url.URL) (string, error) {
	name := path.Base(u.Path)
	if name == "" || name == "." || name == "/" || strings.HasSuffix(u.Path, "/") {
		return "", fmt.Errorf("URL %s names no file", u.Redacted())
	}
	return name, nil
}

// metadataAttr reads a data-core-metadata / data-dist-info-metadata value:
// "true" (or empty) means a metadata file without a hash, "false" none,
// "name=hex" one with that hash.
func metadataAttr(v string) (bool, map[string]string, error) {
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "", "true":
		return true, nil, nil
	case "false":
		return false, nil, nil
	}
	h, err := parseHashes(v)
	if err != nil || h == nil {
		// pip reads any other value as "a metadata file, hash unknown".
		return true, nil, fmt.Errorf("metadata attribute %q: not a hash (name=hexdigest); the metadata file is read unchecked", v)
	}
	return true, h, nil
}

// ParseHTML parses a PEP 503 project page served at pageURL (relative file
// URLs resolve against it, or against the page's <base href>). Anchors
// without an href are skipped; a file whose URL or hash is malformed is
// skipped with a warning.
func ParseHTML(data []byte, pageURL string) (*Page, error) {
	b, err := newBase(pageURL)
	if err != nil {
		return nil, err
	}
	p := &Page{URL: b.raw}
	z := html.NewTokenizer(bytes.NewReader(data))
	sawBase := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break // io.EOF: the tokenizer reads from memory
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tag, hasAttr := z.TagName()
		if !hasAttr {
			continue
		}
		switch string(tag) {
		case "a":
			if f, ok := readAnchor(z, b, p); ok {
				p.Files = append(p.Files, f)
			}
		case "base":
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				if string(k) == "href" && !sawBase {
					sawBase = true
					if u, err := url.Parse(strings.TrimSpace(string(v))); err == nil {
						nb := b
						nb.u = b.u.ResolveReference(u)
						nb.u.User = nil
						b = nb
					}
				}
			}
		case "meta":
			var name, content string
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "name":
					name = string(v)
				case "content":
					content = string(v)
				}
			}
			switch name {
			case "pypi:repository-version":
				if err := checkAPIVersion(content, p.URL, p); err != nil {
					return nil, err
				}
			case "pypi:project-status":
				p.Status = content
			case "pypi:project-status-reason":
				p.StatusReason = content
			}
		}
	}
	if p.APIVersion == "" {
		p.APIVersion = "1.0"
	}
	return p, nil
}

func readAnchor(z *html.Tokenizer, b base, p *Page) (File, bool) {
	f := File{Size: -1}
	var href string
	hasHref := false
	var core, distInfo *string
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "href":
			href, hasHref = string(v), true
		case "data-requires-python":
			f.RequiresPython = strings.TrimSpace(string(v))
		case "data-yanked":
			f.Yanked, f.YankedReason = true, string(v)
		case "data-core-metadata":
			s := string(v)
			core = &s
		case "data-dist-info-metadata":
			s := string(v)
			distInfo = &s
		}
	}
	if !hasHref {
		return f, false
	}
	u, frag, err := b.resolve(href)
	if err == nil {
		f.Filename, err = fileName(u)
	}
	if err == nil {
		f.Hashes, err = parseHashes(frag)
	}
	if err != nil {
		p.Warnings = append(p.Warnings, fmt.Errorf("%s: link skipped: %w", p.URL, err))
		return f, false
	}
	f.URL = u.String()
	if core == nil {
		core = distInfo // PEP 714: the PEP 658 name is the fallback
	}
	if core != nil {
		var err error
		f.CoreMetadata, f.MetadataHashes, err = metadataAttr(*core)
		if err != nil {
			p.Warnings = append(p.Warnings, fmt.Errorf("%s: %s: %w", p.URL, f.Filename, err))
		}
	}
	return f, true
}

// jsonPage is a PEP 691 project page.
type jsonPage struct {
	Meta struct {
		APIVersion    string `json:"api-version"`
		ProjectStatus string `json:"project-status"`
		StatusReason  string `json:"project-status-reason"`
	} `json:"meta"`
	Name          string     `json:"name"`
	Files         []jsonFile `json:"files"`
	Versions      []string   `json:"versions"`
	ProjectStatus *struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"project-status"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
	Yanked           json.RawMessage   `json:"yanked"`
	Size             *int64            `json:"size"`
	UploadTime       string            `json:"upload-time"`
}

// ParseJSON parses a PEP 691 project page served at pageURL (relative file
// URLs resolve against it). A file whose URL, name or hashes are malformed
// is skipped with a warning.
func ParseJSON(data []byte, pageURL string) (*Page, error) {
	b, err := newBase(pageURL)
	if err != nil {
		return nil, err
	}
	var jp jsonPage
	if err := json.Unmarshal(data, &jp); err != nil {
		return nil, fmt.Errorf("%s: not a simple API JSON page: %w", b.raw, err)
	}
	p := &Page{URL: b.raw, Name: jp.Name, Versions: jp.Versions}
	if err := checkAPIVersion(jp.Meta.APIVersion, p.URL, p); err != nil {
		return nil, err
	}
	p.Status, p.StatusReason = jp.Meta.ProjectStatus, jp.Meta.StatusReason
	if jp.ProjectStatus != nil {
		p.Status, p.StatusReason = jp.ProjectStatus.Status, jp.ProjectStatus.Reason
	}
	p.Files = make([]File, 0, len(jp.Files))
	for i := range jp.Files {
		f, err := jsonToFile(&jp.Files[i], b)
		if err != nil {
			p.Warnings = append(p.Warnings, fmt.Errorf("%s: files[%d]: file skipped: %w", p.URL, i, err))
			continue
		}
		if f.warning != nil {
			p.Warnings = append(p.Warnings, fmt.Errorf("%s: %s: %w", p.URL, f.Filename, f.warning))
		}
		p.Files = append(p.Files, f.File)
	}
	return p, nil
}

type fileWithWarning struct {
	File
	warning error
}

func jsonToFile(jf *jsonFile, b base) (fileWithWarning, error) {
	f := fileWithWarning{File: File{Filename: jf.Filename, Size: -1, UploadTime: jf.UploadTime}}
	if jf.Filename == "" || strings.ContainsAny(jf.Filename, "/\\") || jf.Filename == "." || jf.Filename == ".." {
		return f, fmt.Errorf("filename %q is not a file name", jf.Filename)
	}
	u, frag, err := b.resolve(jf.URL)
	if err != nil {
		return f, err
	}
	f.URL = u.String()
	if len(jf.Hashes) > 0 {
		f.Hashes = make(map[string]string, len(jf.Hashes))
		for k, v := range jf.Hashes {
			k, v = strings.ToLower(k), strings.ToLower(v)
			if err := validHash(k, v); err != nil {
				return f, err
			}
			f.Hashes[k] = v
		}
	} else if f.Hashes, err = parseHashes(frag); err != nil {
		return f, err
	}
	if jf.RequiresPython != nil {
		f.RequiresPython = strings.TrimSpace(*jf.RequiresPython)
	}
	if jf.Size != nil {
		f.Size = *jf.Size
	}
	if len(jf.Yanked) > 0 {
		var yb bool
		var ys string
		switch {
		case json.Unmarshal(jf.Yanked, &yb) == nil:
			f.Yanked = yb
		case json.Unmarshal(jf.Yanked, &ys) == nil:
			f.Yanked, f.YankedReason = ys != "", ys
		default:
			return f, fmt.Errorf("yanked: %s is neither a boolean nor a string", jf.Yanked)
		}
	}
	md := jf.CoreMetadata
	if len(md) == 0 || string(md) == "null" {
		md = jf.DistInfoMetadata
	}
	if len(md) > 0 && string(md) != "null" {
		var mb bool
		var mh map[string]string
		switch {
		case json.Unmarshal(md, &mb) == nil:
			f.CoreMetadata = mb
		case json.Unmarshal(md, &mh) == nil:
			f.CoreMetadata = true
			for k, v := range mh {
				k, v = strings.ToLower(k), strings.ToLower(v)
				if err := validHash(k, v); err != nil {
					f.warning = fmt.Errorf("core-metadata: %w; the metadata file is read unchecked", err)
					f.MetadataHashes = nil
					break
				}
				if f.MetadataHashes == nil {
					f.MetadataHashes = make(map[string]string, len(mh))
				}
				f.MetadataHashes[k] = v
			}
		default:
			return f, fmt.Errorf("core-metadata: %s is neither a boolean nor a map of hashes", md)
		}
	}
	return f, nil
}

// Redact returns u without its user information (user, password, token),
// for messages; from a string that is not a URL it removes anything between
// "://" and an "@" before the path.
func Redact(u string) string { return httpget.Redact(u) }
