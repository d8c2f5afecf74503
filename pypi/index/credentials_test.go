package index

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

const secret = "s3cret-T0ken"

// TestCredentials uses "user:password@" of an index URL for the index's
// host only, and never shows it: not in returned URLs, not in any error or
// warning.
func TestCredentials(t *testing.T) {
	files := newIndexServer(t, nil) // another host for the files
	fx := fixture(t)
	files.projects = fx
	srv := newIndexServer(t, fx)
	srv.user, srv.pass = "alice", secret
	srv.fileBase = files.URL
	ctx := context.Background()
	host := strings.TrimPrefix(srv.URL, "http://")
	withCreds := "http://alice:" + secret + "@" + host + "/simple/"

	var warns []error
	c := newClient(withCreds)
	c.Warn = func(err error) { warns = append(warns, err) }
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	urls, _ := c.IndexURLs()
	seen := append([]string{p.Pages[0].URL}, urls...)
	for _, f := range p.Files() {
		seen = append(seen, f.URL, f.Index)
	}
	for _, u := range seen {
		if strings.Contains(u, secret) || strings.Contains(u, "alice") {
			t.Errorf("credentials in a returned URL: %s", u)
		}
	}
	if p.Pages[0].URL != srv.URL+"/simple/demo/" {
		t.Errorf("page URL %s", p.Pages[0].URL)
	}
	// The files' host gets no credentials.
	if _, err := c.Metadata(ctx, p.Files()[1]); err != nil {
		t.Fatal(err)
	}
	for _, a := range files.auths {
		if a != "" {
			t.Errorf("credentials sent to another host: %q", a)
		}
	}
	if srv.auths[0] == "" {
		t.Errorf("no credentials sent to the index")
	}

	var errs []error
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		errs = append(errs, err)
	}
	// A wrong metadata hash, on the index's own host.
	srv.fileBase = ""
	p, err = c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Metadata(ctx, p.Files()[4])
	check("wrong hash", err)
	// Wrong password; a token alone.
	_, err = newClient("http://alice:wrong-"+secret+"@"+host+"/simple/").Project(ctx, "demo")
	check("wrong password", err)
	if err != nil && !strings.Contains(err.Error(), "credentials given in the index URL were refused") {
		t.Errorf("wrong password: %v", err)
	}
	_, err = newClient("http://"+secret+"@"+host+"/simple/").Project(ctx, "demo")
	check("token", err)
	// Not found, server errors, a limit, a closed port, a bad URL.
	_, err = c.Project(ctx, "nowhere")
	check("not found", err)
	srv.fail = 10
	_, err = c.Project(ctx, "demo")
	check("503", err)
	srv.fail = 0
	lc := newClient(withCreds)
	lc.MaxPageSize = 10
	_, err = lc.Project(ctx, "demo")
	check("limit", err)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	_, err = newClient("http://alice:"+secret+"@"+closed+"/simple/").Project(ctx, "demo")
	check("refused", err)
	_, err = newClient("http://alice:"+secret+"@[::1/simple/").Project(ctx, "demo")
	check("bad URL", err)
	_, err = newClient("ftp://alice:"+secret+"@host/simple/").Project(ctx, "demo")
	check("bad scheme", err)
	// Two indexes on one host, each with its own credentials: each gets its own.
	srv.logins = map[string]string{"bob": "other"}
	two := newClient("http://bob:other@"+host+"/bob/", "http://alice:"+secret+"@"+host+"/simple/")
	two.Warn = c.Warn
	if p, err = two.Project(ctx, "demo"); err != nil || len(p.Files()) != 6 || srv.count("/bob/demo/") != 1 {
		t.Errorf("two credentials on one host: %v", err)
	}
	for _, e := range append(errs, warns...) {
		if strings.Contains(e.Error(), secret) || strings.Contains(e.Error(), "alice") {
			t.Errorf("credentials in %q", e)
		}
	}
	if len(errs) != 9 {
		t.Errorf("%d errors", len(errs))
	}
	var he *HashError
	if !errors.As(errs[0], &he) {
		t.Errorf("first error: %v", errs[0])
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h/simple/": "https://h/simple/",
		"https://tok@h/simple/": "https://h/simple/",
		"https://h/simple/":     "https://h/simple/",
		"https://u:p@[::1/x":    "https://[::1/x",
		"https://u:p@h/a@b":     "https://h/a@b",
		"not a url u:p@h":       "not a url u:p@h",
		"https://u:p%zz@h/x y%": "https://h/x y%",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
