package index

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// testFile is one distribution file of a test index.
type testFile struct {
	name       string // file name
	body       []byte
	requiresPy string  // "" for none
	yanked     *string // nil: not yanked; "": yanked without a reason
	metadata   []byte  // served at <file>.metadata when not nil
	// metaAttr says how the page announces the metadata file: "hash" (its
	// sha256), "wrong" (a wrong sha256), "true" (no hash), "legacy" (the
	// PEP 658 name, with the hash), "" (not announced).
	metaAttr string
	noHash   bool // list the file without a hash
}

// indexServer is a simple index on 127.0.0.1 that serves each project page
// as HTML or JSON by content negotiation, files under /files/, with ETags.
type indexServer struct {
	*httptest.Server
	projects map[string][]testFile // by normalised name

	mu       sync.Mutex
	requests map[string]int
	accepts  []string // Accept headers of page requests
	auths    []string // Authorization headers seen, per request
	inm      int      // requests with If-None-Match
	// fail, when > 0, answers the next fail requests with 503.
	fail int
	// htmlOnly ignores Accept and serves HTML, as a PEP 503-only server.
	htmlOnly bool
	// user and pass, when set, are required (401 otherwise); logins are
	// more user/password pairs accepted for paths under /<user>/.
	user, pass string
	logins     map[string]string
	// fileBase, when set, is where the pages point files to (another host).
	fileBase string
}

func newIndexServer(t *testing.T, projects map[string][]testFile) *indexServer {
	s := &indexServer{projects: projects, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *indexServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *indexServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	if r.Header.Get("If-None-Match") != "" {
		s.inm++
	}
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	s.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	if s.user != "" {
		u, p, ok := r.BasicAuth()
		other := ok && s.logins[u] == p && strings.HasPrefix(r.URL.Path, "/"+u+"/")
		if !other && (!ok || u != s.user || p != s.pass) {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/simple/"):
		proj := strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/")
		files, ok := s.projects[proj]
		if !ok || !strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.accepts = append(s.accepts, r.Header.Get("Accept"))
		s.mu.Unlock()
		var body []byte
		if !s.htmlOnly && prefersJSON(r.Header.Get("Accept")) {
			w.Header().Set("Content-Type", ContentTypeJSON)
			body = s.jsonPage(proj, files)
		} else {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			body = s.htmlPage(proj, files)
		}
		etag := `"` + sha256hex(body)[:16] + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	case strings.HasPrefix(r.URL.Path, "/files/"):
		fn := strings.TrimPrefix(r.URL.Path, "/files/")
		for _, files := range s.projects {
			for _, f := range files {
				if f.name == fn {
					w.Write(f.body)
					return
				}
				if f.metadata != nil && f.name+".metadata" == fn {
					w.Write(f.metadata)
					return
				}
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

// prefersJSON does the server side of the negotiation: JSON when the
// client gives it a higher quality than HTML.
func prefersJSON(accept string) bool {
	q := map[string]float64{}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		v := 1.0
		if p, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, _ = strconv.ParseFloat(p, 64)
		}
		q[strings.TrimSpace(mt)] = v
	}
	j := q[ContentTypeJSON]
	h := max(q[ContentTypeHTML], q["text/html"], q["*/*"])
	return j > 0 && j > h
}

func (s *indexServer) fileURL(f testFile) string {
	if s.fileBase != "" {
		return s.fileBase + "/files/" + f.name
	}
	return "../../files/" + f.name // relative to /simple/<name>/
}

func (s *indexServer) htmlPage(proj string, files []testFile) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for %s</title></head><body>\n<h1>Links for %s</h1>\n", proj, proj)
	for _, f := range files {
		href := s.fileURL(f)
		if !f.noHash {
			href += "#sha256=" + sha256hex(f.body)
		}
		fmt.Fprintf(&b, `<a href="%s"`, html.EscapeString(href))
		if f.requiresPy != "" {
			fmt.Fprintf(&b, ` data-requires-python="%s"`, html.EscapeString(f.requiresPy))
		}
		if f.yanked != nil {
			if *f.yanked == "" {
				b.WriteString(" data-yanked")
			} else {
				fmt.Fprintf(&b, ` data-yanked="%s"`, html.EscapeString(*f.yanked))
			}
		}
		switch f.metaAttr {
		case "hash":
			fmt.Fprintf(&b, ` data-core-metadata="sha256=%s" data-dist-info-metadata="sha256=%s"`, sha256hex(f.metadata), sha256hex(f.metadata))
		case "wrong":
			fmt.Fprintf(&b, ` data-core-metadata="sha256=%s"`, sha256hex([]byte("something else")))
		case "true":
			b.WriteString(` data-core-metadata="true"`)
		case "legacy":
			fmt.Fprintf(&b, ` data-dist-info-metadata="sha256=%s"`, sha256hex(f.metadata))
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", html.EscapeString(f.name))
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

func (s *indexServer) jsonPage(proj string, files []testFile) []byte {
	type jf struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python,omitempty"`
		Yanked         any               `json:"yanked,omitempty"`
		CoreMetadata   any               `json:"core-metadata,omitempty"`
		DistInfo       any               `json:"dist-info-metadata,omitempty"`
		Size           int               `json:"size"`
	}
	page := map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": proj, "versions": []string{}}
	var out []jf
	for _, f := range files {
		j := jf{Filename: f.name, URL: s.fileURL(f), Hashes: map[string]string{}, Size: len(f.body)}
		if !f.noHash {
			j.Hashes["sha256"] = sha256hex(f.body)
		}
		if f.requiresPy != "" {
			rp := f.requiresPy
			j.RequiresPython = &rp
		}
		if f.yanked != nil {
			if *f.yanked == "" {
				j.Yanked = true
			} else {
				j.Yanked = *f.yanked
			}
		}
		switch f.metaAttr {
		case "hash":
			j.CoreMetadata = map[string]string{"sha256": sha256hex(f.metadata)}
		case "wrong":
			j.CoreMetadata = map[string]string{"sha256": sha256hex([]byte("something else"))}
		case "true":
			j.CoreMetadata = true
		case "legacy":
			j.DistInfo = map[string]string{"sha256": sha256hex(f.metadata)}
		}
		out = append(out, j)
	}
	page["files"] = out
	b, _ := json.Marshal(page)
	return b
}

// makeWheel builds a wheel of name-version with the given METADATA and a
// module, as archive/zip writes it.
func makeWheel(t testing.TB, distName, version, metadata string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	di := distName + "-" + version + ".dist-info/"
	for _, e := range []struct{ name, body string }{
		{strings.ToLower(distName) + "/__init__.py", "x = 1\n"},
		{di + "METADATA", metadata},
		{di + "WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{di + "RECORD", ""},
	} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func meta(name, version string, extra ...string) string {
	s := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}
