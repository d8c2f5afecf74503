package resolve

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
)

// Rule is one of the rules a lock keeps to be installed as is.
type Rule string

const (
	// RuleRequest: the platform was locked for this very request (its
	// content hash is the request's).
	RuleRequest Rule = "request"
	// RuleRecord: every package of the platform was read (none skipped by
	// the lock reader, see lock.Lock.Skipped), is complete and is locked
	// once.
	RuleRecord Rule = "record"
	// RuleChannel: a package's URL is <channel>/<subdir>/<file name> of
	// one of the request's channels (after "defaults" is expanded and
	// spec channels are added): same scheme, host and path prefix, the
	// platform's or the noarch subdir, no "..", no query or fragment.
	RuleChannel Rule = "channel"
	// RuleSpec: every requested spec is satisfied by a locked package.
	RuleSpec Rule = "spec"
	// RuleDepends: every dependency of a locked package (virtual packages
	// aside) is satisfied by a locked package of the same platform.
	RuleDepends Rule = "depends"
	// RuleRequired: every locked package is requested or a dependency of
	// a locked package that is: nothing is installed that the request does
	// not pull in.
	RuleRequired Rule = "required"
)

// Problem is one way a lock breaks a rule.
type Problem struct {
	Rule Rule
	// Package is the locked package at fault, as name-version-build (the
	// name alone for a package the reader skipped); "" when the rule is
	// broken by the lock as a whole or by a requested spec.
	Package string
	// Msg says how.
	Msg string
}

func (p Problem) String() string {
	if p.Package == "" {
		return string(p.Rule) + ": " + p.Msg
	}
	return "package " + p.Package + ": " + string(p.Rule) + ": " + p.Msg
}

// StaleError says why a lock cannot be installed as is for a platform.
type StaleError struct {
	Platform string
	// Problems are every rule broken, in lock order; at least one. When
	// the request changed (RuleRequest) nothing else is checked.
	Problems []Problem
}

func (e *StaleError) Error() string {
	s := e.Platform + ": stale: " + e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more)", n)
	}
	return s
}

// CheckLock reports whether l can be installed as is for platform, as
// Resolve would install it: nil when it can; a *StaleError naming each
// package that breaks which rule when not; the errors of Hash for an
// invalid request. It needs no network: it compares the lock with the
// request only.
func (r *Request) CheckLock(l *lock.Lock, platform string) error {
	p, err := r.prepare()
	if err != nil {
		return err
	}
	if se := r.check(p, l, platform, r.contentHash(p, platform)); se != nil {
		return se
	}
	return nil
}

// contentHash is the hash a lock of platform records for r.
func (r *Request) contentHash(p *prepared, platform string) string {
	if r.ContentHash != "" {
		return r.ContentHash
	}
	return r.hash(p, platform)
}

// check applies every Rule to l's conda packages for plat.
func (r *Request) check(p *prepared, l *lock.Lock, plat, hash string) *StaleError {
	se := &StaleError{Platform: plat}
	add := func(rule Rule, pkg, format string, args ...any) {
		se.Problems = append(se.Problems, Problem{Rule: rule, Package: pkg, Msg: fmt.Sprintf(format, args...)})
	}
	if l.Stale(plat, hash) {
		switch h := l.ContentHash[plat]; {
		case !slices.Contains(l.Platforms, plat):
			add(RuleRequest, "", "the platform is not locked")
		case h == "":
			add(RuleRequest, "", "the lock records no content hash for the platform")
		default:
			add(RuleRequest, "", "the request changed since the lock was made (content hash %s, the request's %s)", short(h), short(hash))
		}
		return se
	}
	for _, s := range l.SkippedFor(plat) {
		add(RuleRecord, "", "%v", s.Warning)
	}

	// The conda packages, one per name.
	var recs []*record.RepoDataRecord
	byName := map[string]*record.RepoDataRecord{}
	for _, pkg := range l.Packages {
		if pkg.Platform != plat || pkg.Manager != lock.Conda {
			continue
		}
		rec := pkg.Record
		if rec == nil || rec.Name == "" || rec.Version.IsZero() || rec.Build == "" || rec.URL == "" {
			add(RuleRecord, pkg.Name, "lacks a name, version, build or url")
			continue
		}
		if prev, dup := byName[rec.Name]; dup {
			if prev.URL != rec.URL {
				add(RuleRecord, rec.Dist(), "%s is locked twice: %s and %s", rec.Name, prev.URL, rec.URL)
			}
			continue
		}
		byName[rec.Name] = rec
		recs = append(recs, rec)
	}

	chans := channelURLs(p.channels)
	for _, rec := range recs {
		if err := inChannels(rec, plat, chans); err != nil {
			add(RuleChannel, rec.Dist(), "%v", err)
		}
	}

	// Specs, then dependencies; what they reach is required.
	required := map[string]bool{}
	var todo []*record.RepoDataRecord
	reach := func(rec *record.RepoDataRecord) {
		if !required[rec.Name] {
			required[rec.Name] = true
			todo = append(todo, rec)
		}
	}
	for _, m := range p.specs {
		if isVirtual(m.Name) {
			continue // the target's, not the lock's
		}
		rec := byName[m.Name]
		switch {
		case rec == nil:
			add(RuleSpec, "", "%s: no locked package %s", m, m.Name)
		case !m.MatchRecord(rec):
			add(RuleSpec, "", "%s: the locked %s does not satisfy it", m, rec.Dist())
		}
		if rec != nil {
			reach(rec)
		}
	}
	for _, rec := range recs {
		for _, d := range rec.Depends {
			name, _ := matchspec.CutName(d)
			if isVirtual(name) {
				continue
			}
			m, err := matchspec.Parse(d)
			dep := byName[name]
			switch {
			case err != nil:
				add(RuleDepends, rec.Dist(), "%q: %v", d, err)
			case dep == nil:
				add(RuleDepends, rec.Dist(), "%s: no locked package %s", d, name)
			case !m.MatchRecord(dep):
				add(RuleDepends, rec.Dist(), "%s: the locked %s does not satisfy it", d, dep.Dist())
			}
		}
	}
	for len(todo) > 0 {
		rec := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, d := range rec.Depends {
			name, _ := matchspec.CutName(d)
			if dep := byName[name]; dep != nil {
				reach(dep)
			}
		}
	}
	why := ""
	if !slices.ContainsFunc(recs, func(r *record.RepoDataRecord) bool { return len(r.Depends) > 0 }) {
		why = " (the lock records no dependencies, as an @EXPLICIT file does: lock to conda-lock.yml to reuse it as is)"
	}
	for _, rec := range recs {
		if !required[rec.Name] {
			add(RuleRequired, rec.Dist(), "neither requested nor a dependency of a locked package that is%s", why)
		}
	}
	r.checkPip(l, plat, recs, add)
	if len(se.Problems) == 0 {
		return nil
	}
	return se
}

func isVirtual(name string) bool { return strings.HasPrefix(name, "__") }

// short abbreviates a content hash for a message.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// channelURL is a request channel's canonical URL, parsed.
type channelURL struct {
	base string
	u    *url.URL
}

func channelURLs(chans []channel.Channel) []channelURL {
	out := make([]channelURL, 0, len(chans))
	for _, c := range chans {
		if u, err := url.Parse(c.BaseURL); err == nil {
			out = append(out, channelURL{c.BaseURL, u})
		}
	}
	return out
}

// inChannels checks that rec's URL is <channel>/<subdir>/<file name> of one
// of chans, with the platform's or the noarch subdir (RuleChannel).
func inChannels(rec *record.RepoDataRecord, plat string, chans []channelURL) error {
	raw := rec.URL
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("URL %q: %w", raw, err)
	case strings.Contains(raw, "..") || strings.Contains(u.Path, "..") || strings.ContainsRune(u.Path, '\\'):
		return fmt.Errorf("URL %s has \"..\" or a backslash", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("URL %s has a query or fragment", raw)
	}
	for _, c := range chans {
		base := strings.TrimRight(c.u.Path, "/")
		if !strings.EqualFold(u.Scheme, c.u.Scheme) || !strings.EqualFold(u.Host, c.u.Host) || !strings.HasPrefix(u.Path, base+"/") {
			continue
		}
		subdir, fn, ok := strings.Cut(u.Path[len(base)+1:], "/")
		if !ok || fn != rec.FileName || (subdir != plat && subdir != string(platform.Noarch)) {
			return fmt.Errorf("URL %s is not %s/%s/%s or %s/noarch/%s", raw, c.base, plat, rec.FileName, c.base, rec.FileName)
		}
		return nil
	}
	bases := make([]string, len(chans))
	for i, c := range chans {
		bases[i] = c.base
	}
	return fmt.Errorf("URL %s is not inside any of the request's channels (%s)", raw, strings.Join(bases, ", "))
}
