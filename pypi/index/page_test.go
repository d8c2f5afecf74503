package index

import (
	"reflect"
	"strings"
	"testing"
)

const h64 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseHTML(t *testing.T) {
	page := `<!DOCTYPE html><html><head>
<meta name="pypi:repository-version" content="1.4">
<meta name="pypi:project-status" content="deprecated"><meta name="pypi:project-status-reason" content="use other">
<base href="/mirror/">
</head><body>
<!-- <a href="commented-1.0.tar.gz">no</a> -->
<script>var s = '<a href="scripted-1.0.tar.gz">';</script>
<a href="pkgs/a-1.0-py3-none-any.whl#sha256=` + strings.ToUpper(h64) + `" data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256=` + h64 + `">a-1.0-py3-none-any.whl</a>
<a href=https://files.example/a-1.1.tar.gz#md5=0123456789abcdef0123456789abcdef&egg=a data-yanked="bad &amp; sad" data-dist-info-metadata=true>a-1.1.tar.gz</a>
<A HREF="//other.example/a%2B1.2.zip" DATA-YANKED>upper case</A>
<a name="anchor-without-href">x</a>
<a href="https://bob:pw@files.example/a-1.3.tar.gz" data-core-metadata="false">creds</a>
<a href="a-1.4.tar.gz#sha256=abc">short hash</a>
<a href="https://files.example/dir/">no file</a>
<a href="a-1.5.tar.gz" data-core-metadata="nonsense">bad metadata attr</a>
</body></html>`
	p, err := ParseHTML([]byte(page), "https://user:pw@index.example/simple/a/")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "a-1.0-py3-none-any.whl", URL: "https://index.example/mirror/pkgs/a-1.0-py3-none-any.whl", Hashes: map[string]string{"sha256": h64},
			RequiresPython: ">=3.8,<4", CoreMetadata: true, MetadataHashes: map[string]string{"sha256": h64}, Size: -1},
		{Filename: "a-1.1.tar.gz", URL: "https://files.example/a-1.1.tar.gz", Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
			Yanked: true, YankedReason: "bad & sad", CoreMetadata: true, Size: -1},
		{Filename: "a+1.2.zip", URL: "https://other.example/a%2B1.2.zip", Yanked: true, Size: -1},
		{Filename: "a-1.3.tar.gz", URL: "https://files.example/a-1.3.tar.gz", Size: -1},
		{Filename: "a-1.5.tar.gz", URL: "https://index.example/mirror/a-1.5.tar.gz", CoreMetadata: true, Size: -1},
	}
	if !reflect.DeepEqual(p.Files, want) {
		t.Errorf("files:\n got %+v\nwant %+v", p.Files, want)
	}
	if p.URL != "https://index.example/simple/a/" || p.APIVersion != "1.4" || p.Status != "deprecated" || p.StatusReason != "use other" {
		t.Errorf("page %+v", p)
	}
	var warns []string
	for _, w := range p.Warnings {
		warns = append(warns, w.Error())
	}
	wantWarns := []string{
		"https://index.example/simple/a/: link skipped: sha256 digest of 3 hex digits, want 64",
		"https://index.example/simple/a/: link skipped: URL https://files.example/dir/ names no file",
		`https://index.example/simple/a/: a-1.5.tar.gz: metadata attribute "nonsense": not a hash (name=hexdigest); the metadata file is read unchecked`,
	}
	if !reflect.DeepEqual(warns, wantWarns) {
		t.Errorf("warnings:\n got %q\nwant %q", warns, wantWarns)
	}
}

func TestParseJSON(t *testing.T) {
	page := `{"meta": {"api-version": "1.1", "_private": 1}, "name": "a", "versions": ["1.0", "1.1"],
"project-status": {"status": "archived", "reason": "done"},
"files": [
 {"filename": "a-1.0-py3-none-any.whl", "url": "../../pkgs/a-1.0-py3-none-any.whl", "hashes": {"SHA256": "` + strings.ToUpper(h64) + `", "blake2b": "00ff"},
  "requires-python": ">=3.8,<4", "core-metadata": {"sha256": "` + h64 + `"}, "size": 12, "upload-time": "2024-01-01T00:00:00Z", "unknown": [1]},
 {"filename": "a-1.1.tar.gz", "url": "https://files.example/a-1.1.tar.gz", "hashes": {}, "yanked": "bad", "dist-info-metadata": true, "size": 3},
 {"filename": "a-1.2.tar.gz", "url": "a-1.2.tar.gz", "hashes": {}, "yanked": false, "core-metadata": false, "dist-info-metadata": true},
 {"filename": "a-1.3.tar.gz", "url": "a-1.3.tar.gz", "hashes": {}, "yanked": true},
 {"filename": "../evil.tar.gz", "url": "a-1.4.tar.gz", "hashes": {}},
 {"filename": "a-1.5.tar.gz", "url": "a-1.5.tar.gz", "hashes": {"sha256": "xyz"}},
 {"filename": "a-1.6.tar.gz", "url": "a-1.6.tar.gz", "hashes": {}, "yanked": 3}
]}`
	p, err := ParseJSON([]byte(page), "https://index.example/simple/a/")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "a-1.0-py3-none-any.whl", URL: "https://index.example/pkgs/a-1.0-py3-none-any.whl", Hashes: map[string]string{"sha256": h64, "blake2b": "00ff"},
			RequiresPython: ">=3.8,<4", CoreMetadata: true, MetadataHashes: map[string]string{"sha256": h64}, Size: 12, UploadTime: "2024-01-01T00:00:00Z"},
		{Filename: "a-1.1.tar.gz", URL: "https://files.example/a-1.1.tar.gz", Yanked: true, YankedReason: "bad", CoreMetadata: true, Size: 3},
		{Filename: "a-1.2.tar.gz", URL: "https://index.example/simple/a/a-1.2.tar.gz", Size: -1},
		{Filename: "a-1.3.tar.gz", URL: "https://index.example/simple/a/a-1.3.tar.gz", Yanked: true, Size: -1},
	}
	if !reflect.DeepEqual(p.Files, want) {
		t.Errorf("files:\n got %+v\nwant %+v", p.Files, want)
	}
	if p.Name != "a" || p.APIVersion != "1.1" || !reflect.DeepEqual(p.Versions, []string{"1.0", "1.1"}) || p.Status != "archived" || p.StatusReason != "done" {
		t.Errorf("page %+v", p)
	}
	if len(p.Warnings) != 3 || !strings.Contains(p.Warnings[0].Error(), `files[4]: file skipped: filename "../evil.tar.gz" is not a file name`) ||
		!strings.Contains(p.Warnings[1].Error(), "files[5]: file skipped: sha256 digest of 3 hex digits") ||
		!strings.Contains(p.Warnings[2].Error(), "files[6]: file skipped: yanked: 3 is neither a boolean nor a string") {
		t.Errorf("warnings %v", p.Warnings)
	}
	if _, err := ParseJSON([]byte(`<html>`), "https://i/simple/a/"); err == nil || !strings.Contains(err.Error(), "https://i/simple/a/: not a simple API JSON page") {
		t.Errorf("HTML as JSON: %v", err)
	}
}

func TestAPIVersion(t *testing.T) {
	for _, c := range []struct {
		html, json, err, warn string
	}{
		{`<meta name="pypi:repository-version" content="2.0">`, `{"meta":{"api-version":"2.0"}}`, "simple API version 2.0 is not supported (this client speaks 1.4)", ""},
		{`<meta name="pypi:repository-version" content="1.9">`, `{"meta":{"api-version":"1.9"}}`, "", "simple API version 1.9 is newer than 1.4"},
		{`<meta name="pypi:repository-version" content="one">`, `{"meta":{"api-version":"one"}}`, `repository version "one" is not MAJOR.MINOR`, ""},
		{``, `{"meta":{}}`, "", ""},
	} {
		for _, parse := range []func() (*Page, error){
			func() (*Page, error) { return ParseHTML([]byte(c.html), "https://i/simple/a/") },
			func() (*Page, error) { return ParseJSON([]byte(c.json), "https://i/simple/a/") },
		} {
			p, err := parse()
			switch {
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("%q: got %v, want %s", c.json, err, c.err)
				}
			case err != nil:
				t.Errorf("%q: %v", c.json, err)
			case c.warn != "" && (len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0].Error(), c.warn)):
				t.Errorf("%q: warnings %v", c.json, p.Warnings)
			case c.warn == "" && (len(p.Warnings) != 0 || p.APIVersion == ""):
				t.Errorf("%q: warnings %v, version %q", c.json, p.Warnings, p.APIVersion)
			}
		}
	}
}

func TestPageKind(t *testing.T) {
	for _, c := range []struct{ ct, body, want string }{
		{ContentTypeJSON, "", "json"},
		{ContentTypeHTML, "", "html"},
		{"text/html; charset=utf-8", "{", "html"},
		{"application/vnd.pypi.simple.v2+json", "{}", ""},
		{"image/png", "", ""},
		{"", "  \n{\"meta\":{}}", "json"},
		{"application/octet-stream", "<html>", "html"},
	} {
		if got := pageKind(c.ct, []byte(c.body)); got != c.want {
			t.Errorf("pageKind(%q, %q) = %q, want %q", c.ct, c.body, got, c.want)
		}
	}
}
