package resolve

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/testdata"
	"github.com/envkit/envkit/pypi/reqfile"
)

// roundTrip writes l as conda-lock.yml and reads it back, as a lock file
// given to envkit is read.
func roundTrip(t *testing.T, l *lock.Lock) *lock.Lock {
	t.Helper()
	var buf bytes.Buffer
	if err := lock.WriteCondaLock(&buf, l); err != nil {
		t.Fatal(err)
	}
	back, err := lock.ReadCondaLock("conda-lock.yml", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return back
}

func findPackage(t *testing.T, l *lock.Lock, name string) *lock.Package {
	t.Helper()
	for _, p := range l.Packages {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no %s in the lock", name)
	return nil
}

// setFile points p at another file name of its directory, with the
// version and build it tells.
func setFile(t *testing.T, p *lock.Package, fn, ver, build string) {
	t.Helper()
	p.URL = p.URL[:strings.LastIndexByte(p.URL, '/')+1] + fn
	p.Version = ver
	v, err := version.Parse(ver)
	if err != nil {
		t.Fatal(err)
	}
	p.Record.URL, p.Record.FileName, p.Record.Version, p.Record.Build = p.URL, fn, v, build
}

// TestCheckLockTampered: a lock whose content hash still matches the
// request is installed as is only when every package in it keeps the
// rules; each tampering makes it stale, saying which package breaks which
// rule, and Resolve solves again instead of installing it.
func TestCheckLockTampered(t *testing.T) {
	url, _ := serve(t, channelDir(t, "rattler-dummy"))
	ctx := context.Background()
	req := Request{Specs: []string{"foobar 2.0", "xbar"}, Channels: []string{url}, Platforms: []string{"linux-64"}, Gateway: gateway(t)}
	genuine, err := Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bors-1.2.1-bla_1", "foobar-2.0-bla_1", "xbar-1-xxx", "xfoo-2-xxx"}
	if got := dists(t, genuine, "linux-64"); !slices.Equal(got, want) {
		t.Fatalf("solution %v, want %v", got, want)
	}
	if err := req.CheckLock(roundTrip(t, genuine), "linux-64"); err != nil {
		t.Fatalf("genuine lock: %v", err)
	}
	var urls []string
	for _, p := range genuine.Packages {
		urls = append(urls, p.URL)
	}

	for _, c := range []struct {
		name    string
		tamper  func(l *lock.Lock)
		rule    Rule
		pkg     string // the package at fault
		message string
	}{
		{"injected package", func(l *lock.Lock) {
			p := *findPackage(t, l, "bors")
			r := *p.Record
			p.Record, p.Name, r.Name = &r, "issue_717", "issue_717"
			setFile(t, &p, "issue_717-2.1-bla_1.tar.bz2", "2.1", "bla_1")
			l.Packages = append(l.Packages, &p)
		}, RuleRequired, "issue_717-2.1-bla_1", "neither requested nor a dependency"},
		{"URL to another host", func(l *lock.Lock) {
			p := findPackage(t, l, "bors")
			p.URL = strings.Replace(p.URL, url, "http://evil.example", 1)
		}, RuleChannel, "bors-1.2.1-bla_1", "is not inside any of the request's channels (" + url + ")"},
		{"URL with ..", func(l *lock.Lock) {
			p := findPackage(t, l, "bors")
			p.URL = strings.Replace(p.URL, "/linux-64/", "/linux-64/../linux-64/", 1)
		}, RuleChannel, "bors-1.2.1-bla_1", `has ".."`},
		{"URL in another subdir", func(l *lock.Lock) {
			p := findPackage(t, l, "bors")
			p.URL = strings.Replace(p.URL, "/linux-64/", "/osx-64/", 1)
		}, RuleChannel, "bors-1.2.1-bla_1", "is not " + url + "/linux-64/bors-1.2.1-bla_1.tar.bz2 or"},
		{"URL with a query", func(l *lock.Lock) {
			p := findPackage(t, l, "bors")
			p.URL = strings.Replace(p.URL, "/linux-64/", "/linux-64/?x=/", 1)
		}, RuleChannel, "bors-1.2.1-bla_1", "has a query"},
		{"sha256 abc", func(l *lock.Lock) {
			findPackage(t, l, "bors").SHA256 = "abc"
		}, RuleRecord, "", `package[0].hash.sha256: skipped package bors: sha256 "abc" is not 64 hex digits`},
		{"bad file name", func(l *lock.Lock) {
			p := findPackage(t, l, "bors")
			p.URL = strings.Replace(p.URL, "bors-1.2.1-bla_1", "bors-1.2.1-bla_2", 1)
		}, RuleRecord, "", "does not match the record's name, version and build (bors-1.2.1-bla_1)"},
		{"dropped dependency", func(l *lock.Lock) {
			l.Packages = slices.DeleteFunc(l.Packages, func(p *lock.Package) bool { return p.Name == "xfoo" })
		}, RuleDepends, "xbar-1-xxx", "xfoo >=2: no locked package xfoo"},
		{"dependency not satisfied", func(l *lock.Lock) {
			setFile(t, findPackage(t, l, "xfoo"), "xfoo-1-xxx.tar.bz2", "1", "xxx")
		}, RuleDepends, "xbar-1-xxx", "xfoo >=2: the locked xfoo-1-xxx does not satisfy it"},
		{"spec no longer satisfied", func(l *lock.Lock) {
			setFile(t, findPackage(t, l, "foobar"), "foobar-2.1-bla_1.tar.bz2", "2.1", "bla_1")
		}, RuleSpec, "", "foobar==2.0: the locked foobar-2.1-bla_1 does not satisfy it"},
		{"requested package dropped", func(l *lock.Lock) {
			l.Packages = slices.DeleteFunc(l.Packages, func(p *lock.Package) bool { return p.Name == "xbar" })
		}, RuleSpec, "", "xbar: no locked package xbar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tampered := roundTrip(t, genuine)
			c.tamper(tampered)
			tampered = roundTrip(t, tampered)
			if tampered.Stale("linux-64", genuine.ContentHash["linux-64"]) {
				t.Fatal("the tampering changed the content hash")
			}
			err := req.CheckLock(tampered, "linux-64")
			var se *StaleError
			if !errors.As(err, &se) || se.Platform != "linux-64" {
				t.Fatalf("CheckLock = %v, want a *StaleError", err)
			}
			if !slices.ContainsFunc(se.Problems, func(p Problem) bool {
				return p.Rule == c.rule && p.Package == c.pkg && strings.Contains(p.Msg, c.message)
			}) {
				t.Errorf("problems:\n%v\nwant %s of %q: ...%s", se.Problems, c.rule, c.pkg, c.message)
			}
			if !strings.HasPrefix(err.Error(), "linux-64: stale: ") {
				t.Errorf("error %q", err)
			}

			// Resolve does not install it as is: it solves again.
			prev := req
			prev.Previous = tampered
			l, err := Resolve(ctx, prev)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range l.Packages {
				got = append(got, p.URL)
			}
			if !slices.Equal(got, urls) {
				t.Errorf("resolved with the tampered lock:\n%v\nwant\n%v", got, urls)
			}
		})
	}
}

// A skipped package is reported with its place in the lock file.
func TestCheckLockSkippedIsPositioned(t *testing.T) {
	url, _ := serve(t, channelDir(t, "rattler-dummy"))
	req := Request{Specs: []string{"bors 1.2.1"}, Channels: []string{url}, Platforms: []string{"linux-64"}, Gateway: gateway(t)}
	l, err := Resolve(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := lock.WriteCondaLock(&buf, l); err != nil {
		t.Fatal(err)
	}
	src := buf.String()
	i := strings.Index(src, "sha256: ")
	src = src[:i] + "sha256: abc\n" + src[strings.IndexByte(src[i:], '\n')+i+1:]
	line := strings.Count(src[:i], "\n") + 1
	tampered, err := lock.ReadCondaLock("conda-lock.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = req.CheckLock(tampered, "linux-64")
	var se *StaleError
	if !errors.As(err, &se) || len(se.Problems) != 2 {
		t.Fatalf("CheckLock = %v, want 2 problems (the skipped package, the spec it leaves unsatisfied)", err)
	}
	if p := se.Problems[0]; p.Rule != RuleRecord ||
		!strings.Contains(p.Msg, "conda-lock.yml:"+strconv.Itoa(line)+":") || !strings.Contains(p.Msg, `package[0].hash.sha256: skipped package bors: sha256 "abc" is not 64 hex digits`) {
		t.Errorf("problem %v, want it at line %d", p, line)
	}
	if p := se.Problems[1]; p.Rule != RuleSpec || !strings.Contains(p.Msg, "no locked package bors") {
		t.Errorf("problem %v", p)
	}
	if !strings.HasSuffix(err.Error(), "(and 1 more)") {
		t.Errorf("error %q", err)
	}
}

// A real conda-lock.yml (conda-lock's own, 430 packages on 3 platforms)
// keeps the rules for a request of its channels and its top-level
// packages: real dependencies, virtual packages and noarch URLs do not
// make a genuine lock stale.
func TestCheckLockRealCondaLock(t *testing.T) {
	path := testdata.Path(t, "conda", "lockfiles", "conda-lock", "conda-lock.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lock.ReadCondaLock(path, data)
	if err != nil {
		t.Fatal(err)
	}
	var chans []string
	for _, c := range l.Channels {
		chans = append(chans, c.URL)
	}
	for _, plat := range l.Platforms {
		// The top-level packages: those no other conda package depends on.
		needed := map[string]bool{}
		var names []string
		for _, p := range l.Packages {
			if p.Platform == plat && p.Manager == lock.Conda {
				names = append(names, p.Name)
				for d := range p.Dependencies {
					needed[d] = true
				}
			}
		}
		var specs []string
		for _, n := range names {
			if !needed[n] {
				specs = append(specs, n)
			}
		}
		// Its pip packages, the same way, pinned as pip lines.
		pipNeeded := map[string]bool{}
		for _, p := range l.Packages {
			if p.Platform == plat && p.Manager == lock.Pip {
				for d := range p.Dependencies {
					pipNeeded[d] = true
				}
			}
		}
		var pipLines []reqfile.Line
		for _, p := range l.Packages {
			if p.Platform == plat && p.Manager == lock.Pip && !pipNeeded[p.Name] {
				text := p.Name + "==" + p.Version
				if !strings.HasPrefix(p.URL, "https://files.pythonhosted.org/") {
					text = p.Name + " @ " + p.URL // a direct URL (pydashi's GitHub archive)
				}
				pipLines = append(pipLines, reqfile.Line{Text: text, Line: len(pipLines) + 1, Column: 1})
			}
		}
		pf, err := reqfile.ParseLines("environment.yml", pipLines, reqfile.Options{})
		if err != nil || len(pipLines) == 0 {
			t.Fatalf("%s: %d pip lines: %v", plat, len(pipLines), err)
		}
		req := Request{Specs: specs, Channels: chans, Platforms: []string{plat}, ContentHash: l.ContentHash[plat], Pip: &Pip{File: pf}}
		if err := req.CheckLock(l, plat); err != nil {
			t.Errorf("%s (%d packages, %d specs): %v", plat, len(names), len(specs), err)
		}
		// PyPI written otherwise is PyPI.
		for _, ixURL := range []string{"https://pypi.org/simple", "https://PyPI.org/simple/"} {
			pf2, err := reqfile.ParseLines("environment.yml", append([]reqfile.Line{{Text: "-i " + ixURL, Line: 100, Column: 1}}, pipLines...), reqfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			req.Pip = &Pip{File: pf2}
			if err := req.CheckLock(l, plat); err != nil {
				t.Errorf("%s with -i %s: %v", plat, ixURL, err)
			}
		}
		// Without its pip part, the request does not install them.
		req.Pip = nil
		var se *StaleError
		if err := req.CheckLock(l, plat); !errors.As(err, &se) || se.Problems[0].Rule != RuleRequired {
			t.Errorf("%s: without pip requirements: %v", plat, err)
		}
		if len(specs) == 0 || len(specs) == len(names) {
			t.Errorf("%s: %d top-level packages of %d", plat, len(specs), len(names))
		}
	}
}
