package index

import (
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// checkPage asserts what every parsed page promises: absolute http(s) or
// file URLs without fragment or credentials, a file name that is the
// URL's own (HTML) and no path, hashes that are lower-case hex.
func checkPage(t *testing.T, p *Page, html bool) {
	for _, f := range p.Files {
		u, err := url.Parse(f.URL)
		if err != nil {
			t.Fatalf("file URL %q: %v", f.URL, err)
		}
		if !u.IsAbs() || u.User != nil || u.Fragment != "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			t.Fatalf("file URL %q: not absolute, or with credentials or a fragment", f.URL)
		}
		if f.Filename == "" || strings.Contains(f.Filename, "/") || f.Filename == "." || f.Filename == ".." {
			t.Fatalf("file name %q", f.Filename)
		}
		if html && !strings.HasSuffix(u.Path, "/"+f.Filename) {
			t.Fatalf("file name %q is not the last segment of %q", f.Filename, u.Path)
		}
		for _, hs := range []map[string]string{f.Hashes, f.MetadataHashes} {
			for k, v := range hs {
				if _, err := hex.DecodeString(v); err != nil || v != strings.ToLower(v) || k != strings.ToLower(k) {
					t.Fatalf("hash %s=%s", k, v)
				}
			}
		}
	}
}

// FuzzParseHTML checks that ParseHTML never panics and that what it
// returns keeps checkPage's promises. The seed corpus is in
// testdata/fuzz/FuzzParseHTML and runs with every go test.
func FuzzParseHTML(f *testing.F) {
	f.Add([]byte(`<a href="../../f/a-1.0.tar.gz#sha256=` + h64 + `" data-requires-python="&gt;=3" data-yanked="x" data-core-metadata="sha256=` + h64 + `">a</a>`))
	f.Add([]byte(`<base href="https://u:p@h/x/"><a href=b-1.whl#md5=00&egg=b data-dist-info-metadata>b</a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseHTML(data, "https://user:secret@index.example/simple/a/")
		if err != nil {
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("credentials in %v", err)
			}
			return
		}
		checkPage(t, p, true)
		if strings.Contains(p.URL, "secret") {
			t.Fatalf("credentials in the page URL")
		}
	})
}

// FuzzParseJSON is FuzzParseHTML for JSON pages.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"meta":{"api-version":"1.1"},"name":"a","files":[{"filename":"a-1.0.tar.gz","url":"../f/a-1.0.tar.gz","hashes":{"sha256":"` + h64 + `"},"yanked":"r","core-metadata":{"sha256":"` + h64 + `"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseJSON(data, "https://index.example/simple/a/")
		if err != nil {
			return
		}
		checkPage(t, p, false)
	})
}
