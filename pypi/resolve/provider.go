package resolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/envkit/envkit/pypi/index"
	"github.com/envkit/envkit/pypi/metadata"
	"github.com/envkit/envkit/pypi/name"
	"github.com/envkit/envkit/pypi/tags"
	"github.com/envkit/envkit/pypi/version"
)

// project is what the resolver knows of one project: its versions (the
// universe of its version sets) and, per version, the file to install.
type project struct {
	norm    string
	display string // as the index or a requirement spells it

	ready chan struct{}
	err   error // fetching failed (not "not found")
	// notFound is set when no index has the project.
	notFound bool

	versions []version.Version // ascending
	cands    []candidate       // parallel to versions

	installed *Installed
	directURL string
}

// candidate is one version of a project and the file chosen for it.
type candidate struct {
	name   string // the distribution's name as its metadata spells it, once read
	file   index.File
	sdist  bool
	ok     bool   // a file fits the target
	yanked bool   // the only files that fit are yanked
	why    string // why no file fits, when !ok

	meta *future[*metadata.Metadata]
}

type future[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func (f *future[T]) get(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

// provider fetches project pages and metadata concurrently (bounded) and
// caches them for one resolution.
type provider struct {
	ctx  context.Context
	req  Request
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	proj map[string]*project
	warn func(string)
}

func newProvider(ctx context.Context, req Request, warn func(string)) *provider {
	n := req.Concurrency
	if n <= 0 {
		n = 16
	}
	return &provider{ctx: ctx, req: req, sem: make(chan struct{}, n), proj: map[string]*project{}, warn: warn}
}

func (pv *provider) goLimited(f func()) {
	pv.wg.Add(1)
	go func() {
		defer pv.wg.Done()
		select {
		case pv.sem <- struct{}{}:
		case <-pv.ctx.Done():
			f() // f sees the cancelled context and returns at once
			return
		}
		defer func() { <-pv.sem }()
		f()
	}()
}

// known returns the project if it was started, else nil.
func (pv *provider) known(norm string) *project {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return pv.proj[norm]
}

// project starts fetching a project (once) and returns it; wait on ready.
func (pv *provider) project(norm, display string) *project {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	if p, ok := pv.proj[norm]; ok {
		return p
	}
	p := &project{norm: norm, display: display, ready: make(chan struct{})}
	pv.proj[norm] = p
	if inst, ok := pv.req.Installed[norm]; ok {
		p.installed = &inst
		if inst.Name != "" {
			p.display = inst.Name
		}
		p.versions = []version.Version{inst.Version}
		p.cands = []candidate{{name: p.display, ok: true}}
		close(p.ready)
		return p
	}
	pv.goLimited(func() {
		defer close(p.ready)
		ip, err := pv.req.Index.Project(pv.ctx, norm)
		var nf *index.NotFoundError
		switch {
		case errors.As(err, &nf):
			p.notFound = true
			return
		case err != nil:
			p.err = err
			return
		}
		pv.fill(p, ip)
		if vi := pv.likely(p); vi >= 0 {
			pv.metadata(p, vi)
		}
	})
	return p
}

// direct makes the project of a "name @ url" requirement: one version, the
// file at the URL.
func (pv *provider) direct(norm, display, rawURL string) *project {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	p := &project{norm: norm, display: display, ready: make(chan struct{}), directURL: rawURL}
	pv.proj[norm] = p
	pv.goLimited(func() {
		defer close(p.ready)
		f, v, sdist, err := directFile(norm, rawURL)
		if err == nil && f.SHA256() == "" {
			var sum string
			sum, err = pv.hash(f)
			f.Hashes = map[string]string{"sha256": sum}
		}
		if err != nil {
			p.err = err
			return
		}
		p.versions = []version.Version{v}
		p.cands = []candidate{{file: f, sdist: sdist, ok: true}}
		pv.metadata(p, 0)
	})
	return p
}

func directFile(norm, raw string) (index.File, version.Version, bool, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return index.File{}, version.Version{}, false, fmt.Errorf("%s @ %s: not a URL", norm, index.Redact(raw))
	}
	f := index.File{Size: -1}
	if frag := u.Fragment; frag != "" {
		for part := range strings.SplitSeq(frag, "&") {
			if alg, sum, ok := strings.Cut(part, "="); ok && alg == "sha256" {
				f.Hashes = map[string]string{"sha256": strings.ToLower(sum)}
			}
		}
	}
	u.Fragment = ""
	f.URL = u.String()
	f.Filename = path.Base(u.Path)
	if f.IsWheel() {
		w, err := tags.ParseWheelFilename(f.Filename)
		if err != nil {
			return f, version.Version{}, false, fmt.Errorf("%s @ %s: %w", norm, index.Redact(raw), err)
		}
		if w.Name != norm {
			return f, version.Version{}, false, fmt.Errorf("%s @ %s: the wheel is of %s, not %s", norm, index.Redact(raw), w.Name, norm)
		}
		return f, w.Version, false, nil
	}
	if v, ok := sdistVersion(f.Filename, norm); ok {
		return f, v, true, nil
	}
	return f, version.Version{}, false, fmt.Errorf("%s @ %s: neither a wheel nor an sdist of %s", norm, index.Redact(raw), norm)
}

// hash computes a direct file's sha256: by the Index when it is a Hasher,
// else by reading it.
func (pv *provider) hash(f index.File) (string, error) {
	if h, ok := pv.req.Index.(Hasher); ok {
		return h.SHA256(pv.ctx, f)
	}
	var r io.ReadCloser
	u, _ := url.Parse(f.URL)
	switch u.Scheme {
	case "file":
		fh, err := os.Open(u.Path)
		if err != nil {
			return "", err
		}
		r = fh
	case "http", "https":
		hr, err := http.NewRequestWithContext(pv.ctx, http.MethodGet, f.URL, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return "", fmt.Errorf("%s: %s", index.Redact(f.URL), resp.Status)
		}
		r = resp.Body
	default:
		return "", fmt.Errorf("%s: scheme %q (http, https or file only)", index.Redact(f.URL), u.Scheme)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("%s: %w", index.Redact(f.URL), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fill groups a project's files by version and picks each version's file:
// the best-ranked compatible wheel, else an sdist; yanked files only when
// nothing else fits (then the version is usable only when pinned).
func (pv *provider) fill(p *project, ip *index.Project) {
	type group struct {
		files []index.File
	}
	byVer := map[string]*group{}
	vers := map[string]version.Version{}
	for _, pg := range ip.Pages {
		if pg.Name != "" && p.display == p.norm {
			p.display = pg.Name
		}
	}
	for _, f := range ip.Files() {
		var v version.Version
		switch {
		case f.IsWheel():
			w, err := tags.ParseWheelFilename(f.Filename)
			if err != nil || w.Name != p.norm {
				continue
			}
			v = w.Version
		default:
			var ok bool
			if v, ok = sdistVersion(f.Filename, p.norm); !ok {
				continue
			}
		}
		k := v.String()
		g := byVer[k]
		if g == nil {
			g = &group{}
			byVer[k] = g
			vers[k] = v
		}
		g.files = append(g.files, f)
	}
	keys := sortedKeys(vers)
	sort.Slice(keys, func(i, j int) bool { return vers[keys[i]].Less(vers[keys[j]]) })
	for _, k := range keys {
		p.versions = append(p.versions, vers[k])
		p.cands = append(p.cands, pv.choose(p.norm, byVer[k].files))
	}
}

// choose picks a version's file and says why none fits.
func (pv *provider) choose(norm string, files []index.File) candidate {
	noBinary, onlyBinary := pv.req.NoBinary.Has(norm), pv.req.OnlyBinary.Has(norm)
	var nWheel, nSdist int
	var pyReject []string
	var tagReject []string
	best := func(yanked bool) (candidate, bool) {
		bestRank := -1
		var bestFile index.File
		var bestBuild tags.Build
		for _, f := range files {
			if f.Yanked != yanked || !f.IsWheel() || noBinary || !pv.pythonOK(f) {
				continue
			}
			w, _ := tags.ParseWheelFilename(f.Filename)
			r, ok := pv.req.Tags.WheelRank(w)
			if !ok {
				continue
			}
			if bestRank < 0 || r < bestRank || r == bestRank && w.Build.Compare(bestBuild) > 0 {
				bestRank, bestFile, bestBuild = r, f, w.Build
			}
		}
		if bestRank >= 0 {
			return candidate{file: bestFile, ok: true, yanked: yanked}, true
		}
		if onlyBinary {
			return candidate{}, false
		}
		for _, f := range files {
			if f.Yanked == yanked && f.IsSdist() && pv.pythonOK(f) {
				return candidate{file: f, sdist: true, ok: true, yanked: yanked}, true
			}
		}
		return candidate{}, false
	}
	if c, ok := best(false); ok {
		return c
	}
	if c, ok := best(true); ok {
		return c
	}
	for _, f := range files {
		if f.IsWheel() {
			nWheel++
			if !pv.pythonOK(f) {
				pyReject = appendUniq(pyReject, f.RequiresPython)
			} else if w, err := tags.ParseWheelFilename(f.Filename); err == nil {
				if _, ok := pv.req.Tags.WheelRank(w); !ok {
					tagReject = appendUniq(tagReject, strings.TrimSuffix(tagText(f.Filename), ".whl"))
				}
			}
		} else {
			nSdist++
			if !pv.pythonOK(f) {
				pyReject = appendUniq(pyReject, f.RequiresPython)
			}
		}
	}
	var why []string
	if len(pyReject) > 0 {
		why = append(why, fmt.Sprintf("requires Python %s (the target has %s)", strings.Join(pyReject, " or "), pv.req.Python))
	}
	switch {
	case nWheel == 0:
		why = append(why, "has no wheel")
	case noBinary:
		why = append(why, "has only wheels and --no-binary refuses them")
	case len(tagReject) > 0:
		why = append(why, fmt.Sprintf("has no wheel for the target platform (only %s)", strings.Join(tagReject, ", ")))
	}
	switch {
	case nSdist == 0:
		why = append(why, "no source distribution")
	case onlyBinary:
		why = append(why, "--only-binary refuses its source distribution")
	}
	return candidate{why: strings.Join(why, ", ")}
}

// tagText is the tag part of a wheel filename: the last three '-' fields.
func tagText(fn string) string {
	parts := strings.Split(strings.TrimSuffix(fn, ".whl"), "-")
	if len(parts) < 3 {
		return fn
	}
	return strings.Join(parts[len(parts)-3:], "-") + ".whl"
}

func appendUniq(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// pythonOK checks a file's Requires-Python (as the index gives it) against
// the target; an invalid one is ignored, as pip does.
func (pv *provider) pythonOK(f index.File) bool {
	if f.RequiresPython == "" {
		return true
	}
	rp, err := f.RequiresPythonSet()
	if err != nil {
		pv.warn(fmt.Sprintf("%v (ignored, as pip does)", err))
		return true
	}
	return rp.Matches(pv.req.Python)
}

// likely is the version the resolver will most likely try first: the
// preferred one, else the newest usable final release.
func (pv *provider) likely(p *project) int {
	if pref, ok := pv.req.Preferred[p.norm]; ok {
		for i, v := range p.versions {
			if v.Equal(pref) && p.cands[i].ok {
				return i
			}
		}
	}
	for i := len(p.versions) - 1; i >= 0; i-- {
		if p.cands[i].ok && !p.cands[i].yanked && (pv.req.Pre || !p.versions[i].IsPrerelease()) {
			return i
		}
	}
	return -1
}

// metadata starts fetching a version's metadata (once).
func (pv *provider) metadata(p *project, vi int) *future[*metadata.Metadata] {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	c := &p.cands[vi]
	if c.meta != nil {
		return c.meta
	}
	fut := &future[*metadata.Metadata]{done: make(chan struct{})}
	c.meta = fut
	if p.installed != nil {
		close(fut.done)
		return fut
	}
	f := c.file
	pv.goLimited(func() {
		defer close(fut.done)
		fut.val, fut.err = pv.req.Index.Metadata(pv.ctx, f)
		if fut.err == nil {
			pv.discover(fut.val)
		}
	})
	return fut
}

// discover starts reading the pages of a version's dependencies (and so
// the metadata of their likely versions): the graph is read ahead of the
// solver, in parallel, as uv does.
func (pv *provider) discover(m *metadata.Metadata) {
	env := pv.req.Env
	env.Extra = ""
	for _, r := range m.RequiresDist {
		if r.Applies(env) && name.Valid(r.Name) {
			pv.project(r.NormalizedName(), r.Name)
		}
	}
}

// sdistVersion reads the version of an sdist file name of project norm
// ("name-1.0.tar.gz"; the name may hold '-' in old sdists).
func sdistVersion(fn, norm string) (version.Version, bool) {
	stem := ""
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar"} {
		if s, ok := strings.CutSuffix(strings.ToLower(fn), ext); ok {
			stem = fn[:len(s)]
			break
		}
	}
	if stem == "" {
		return version.Version{}, false
	}
	for i := strings.IndexByte(stem, '-'); i >= 0; {
		if name.Normalize(stem[:i]) == norm {
			v, err := version.Parse(stem[i+1:])
			return v, err == nil
		}
		j := strings.IndexByte(stem[i+1:], '-')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return version.Version{}, false
}
