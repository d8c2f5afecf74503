// Package resolve turns a conda request (match specs, channels, target
// platforms) into a solved, locked environment. It is the one place where the
// conda pieces meet: channel names are resolved (conda/channel), repodata is
// queried for the requested names and their dependencies (conda/repodata),
// each platform is solved against its target's virtual packages
// (conda/virtual, conda/solver), and the solutions go into a lock.Lock with
// the request's content hash, so that a lock made from the same request is
// reused as is and unpinned packages resolve once. A lock is reused only
// when every package in it is consistent with the request (CheckLock):
// editing a lock cannot steer what is installed.
//
// envkit has no implicit default channels: a request names its channels, the
// CEP 24 "nodefaults" marker is accepted and dropped, and "defaults" stands
// for conda's default channels only when written.
package resolve

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/envkit/envkit/conda/channel"
	"github.com/envkit/envkit/conda/lock"
	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/repodata"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/conda/virtual"
)

// ErrNoChannels is returned when a request names no channel (once
// "nodefaults" is dropped). envkit never falls back to implicit defaults.
var ErrNoChannels = errors.New(`no channels: envkit has no default channels; name at least one (e.g. "conda-forge") under channels: in environment.yml or with --channel`)

// Request is what to resolve.
type Request struct {
	// Specs are match specs as people write them in environment.yml or on
	// the command line ("python=3.10", "numpy >=1.24", "conda-forge::pip"),
	// parsed leniently. A spec naming a channel adds that channel, at the
	// lowest priority, if the request does not list it.
	Specs []string
	// Channels are channel names, URLs or local paths, highest priority
	// first. "nodefaults" is dropped; "defaults" expands to conda's default
	// channels.
	Channels []string
	// ChannelOptions configure channel parsing (alias, working directory
	// for relative paths).
	ChannelOptions []channel.Option
	// Platforms are the target subdirs ("linux-64"); none means the
	// machine's (string(platform.Current())).
	Platforms []string
	// Virtual overrides virtual packages per platform: Virtual["linux-64"]
	// = {"__glibc": "2.28", "__cuda": "12.2"} (see virtual.Options.Overrides;
	// "" removes a package).
	Virtual map[string]map[string]string
	// ChannelPriority is the solver's channel priority (default Strict).
	ChannelPriority solver.Priority
	// SolverBudget bounds each platform's solve (the zero value:
	// solver.DefaultTimeout); a solve over it fails with a *solver.BudgetError.
	SolverBudget solver.Budget
	// ContentHash, when set, is recorded for every platform instead of the
	// request's own hash (Hash), e.g. the hash of a whole environment
	// definition the request comes from.
	ContentHash string
	// Previous is an earlier lock. A platform it holds with the same content
	// hash, whose every package keeps the rules of CheckLock (inside the
	// request's channels, closed under its dependencies, satisfying every
	// spec), is reused without solving; otherwise its records are
	// preferred by the solver when they still satisfy the specs and a
	// channel serves them.
	Previous *lock.Lock
	// Gateway fetches and caches repodata. Nil means a gateway without a
	// disk cache.
	Gateway *repodata.Gateway
	// Pip is the pip part (a conda file's pip: section), resolved after
	// each platform's conda solve; nil for none.
	Pip *Pip
}

// SpecError reports a spec of Request.Specs that cannot be used.
type SpecError struct {
	Index int    // position in Request.Specs
	Spec  string // the spec as given
	Err   error  // why
}

func (e *SpecError) Error() string { return fmt.Sprintf("spec %q: %v", e.Spec, e.Err) }
func (e *SpecError) Unwrap() error { return e.Err }

// ErrPlatform is wrapped by the *PlatformError of a platform that is not a
// conda target subdir.
var ErrPlatform = errors.New("not a target conda subdir")

// PlatformError is a failure for one platform: ErrPlatform for an invalid
// one, a *solver.UnsatError when the specs cannot be satisfied there.
type PlatformError struct {
	Platform string
	Err      error
}

func (e *PlatformError) Error() string { return e.Platform + ": " + e.Err.Error() }
func (e *PlatformError) Unwrap() error { return e.Err }

// prepared is a validated request.
type prepared struct {
	specs     []*matchspec.MatchSpec
	channels  []channel.Channel // request channels, then spec channels
	platforms []string
}

// prepare parses and validates r.
func (r *Request) prepare() (*prepared, error) {
	p := &prepared{}
	chans, err := parseChannels(r.Channels, r.ChannelOptions...)
	if err != nil {
		return nil, err
	}
	p.channels = chans
	for i, s := range r.Specs {
		m, err := parseSpec(s)
		if err != nil {
			return nil, &SpecError{Index: i, Spec: s, Err: err}
		}
		if name, ok := specChannel(m); ok {
			c, err := channel.Parse(name, r.ChannelOptions...)
			if err != nil {
				return nil, &SpecError{Index: i, Spec: s, Err: err}
			}
			if !slices.ContainsFunc(p.channels, func(x channel.Channel) bool { return x.BaseURL == c.BaseURL }) {
				p.channels = append(p.channels, c)
			}
		}
		p.specs = append(p.specs, m)
	}
	if len(p.channels) == 0 {
		return nil, ErrNoChannels
	}
	p.platforms, err = platforms(r.Platforms)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// SpecChannel is the channel the spec s names (conda-forge::numpy,
// https://host/chan::pkg, pkg[channel=...]) that a resolve queries beside
// the request's channels: none when s names none, names a pattern, or does
// not parse (the resolve reports that).
func SpecChannel(s string) (string, bool) {
	m, err := matchspec.ParseLenient(s)
	if err != nil {
		return "", false
	}
	return specChannel(m)
}

func specChannel(m *matchspec.MatchSpec) (string, bool) {
	if m.Channel == "" || strings.ContainsAny(m.Channel, "*?") {
		return "", false
	}
	return m.Channel, true
}

// parseSpec parses a requested spec leniently and checks it names a package.
func parseSpec(s string) (*matchspec.MatchSpec, error) {
	m, err := matchspec.ParseLenient(s)
	if err != nil {
		return nil, err
	}
	if m.Name == "" || m.Name == "*" {
		return nil, errors.New("a requested spec needs a package name")
	}
	return m, nil
}

// parseChannels resolves channels as written, in order: "nodefaults" is
// dropped, "defaults" expanded, duplicates (same canonical URL) removed.
// It returns ErrNoChannels when nothing is left.
func parseChannels(names []string, opts ...channel.Option) ([]channel.Channel, error) {
	var out []channel.Channel
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "nodefaults" {
			continue
		}
		cs, err := channel.Expand(n, opts...)
		if err != nil {
			return nil, fmt.Errorf("channel %q: %w", n, err)
		}
		for _, c := range cs {
			if !slices.ContainsFunc(out, func(x channel.Channel) bool { return x.BaseURL == c.BaseURL }) {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNoChannels
	}
	return out, nil
}

// platforms validates target platforms, defaulting to the machine's.
func platforms(ps []string) ([]string, error) {
	if len(ps) == 0 {
		return []string{string(platform.Current())}, nil
	}
	var out []string
	for _, p := range ps {
		if p == string(platform.Noarch) {
			return nil, &PlatformError{Platform: p, Err: fmt.Errorf("%w: a lock targets a real platform (e.g. linux-64); noarch packages are included in each", ErrPlatform)}
		}
		if !platform.IsKnown(p) {
			return nil, &PlatformError{Platform: p, Err: fmt.Errorf("%w (e.g. linux-64, linux-aarch64, osx-arm64, win-64)", ErrPlatform)}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Hash returns the content hash of the request for platform: a sha256 over
// its canonical form (specs in conda's canonical text, in order; channels by
// canonical URL, in order; the platform; virtual package overrides; channel
// priority). Requests that differ only in how they spell the same specs or
// channels hash alike.
func (r *Request) Hash(platform string) (string, error) {
	p, err := r.prepare()
	if err != nil {
		return "", err
	}
	return r.hash(p, platform), nil
}

func (r *Request) hash(p *prepared, platform string) string {
	var b strings.Builder
	b.WriteString("envkit conda request v1\n")
	fmt.Fprintf(&b, "platform %s\n", platform)
	for _, c := range p.channels {
		fmt.Fprintf(&b, "channel %s\n", c.BaseURL)
	}
	for _, s := range p.specs {
		fmt.Fprintf(&b, "spec %s\n", s)
	}
	v := r.Virtual[platform]
	for _, k := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(&b, "virtual %s=%s\n", strings.TrimPrefix(k, "__"), v[k])
	}
	fmt.Fprintf(&b, "priority %s\n", r.ChannelPriority)
	r.Pip.hashPip(&b)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Resolve solves r for each of its platforms and returns the lock. A
// platform of r.Previous with the same content hash that CheckLock finds
// sound is reused without fetching or solving, its pip packages with it. Errors: *SpecError for an invalid spec, ErrNoChannels,
// *PlatformError (wrapping *solver.UnsatError when unsatisfiable), and
// *PipError when the pip part cannot be resolved.
func Resolve(ctx context.Context, r Request) (*lock.Lock, error) {
	p, err := r.prepare()
	if err != nil {
		return nil, err
	}
	out := &lock.Lock{}
	for _, c := range p.channels {
		out.Channels = append(out.Channels, lock.Channel{URL: c.String()})
	}
	hashes := make(map[string]string, len(p.platforms))
	var todo []string
	for _, plat := range p.platforms {
		h := r.contentHash(p, plat)
		hashes[plat] = h
		if r.Previous != nil && r.check(p, r.Previous, plat, h) == nil {
			if recs := lockedRecords(r.Previous, plat); recs != nil {
				if err := out.SetPlatform(plat, h, recs); err == nil {
					if err := out.SetPip(plat, lockedPip(r.Previous, plat)); err == nil {
						continue
					}
				}
			}
		}
		todo = append(todo, plat)
	}
	if len(todo) == 0 {
		return out, nil
	}

	g := r.Gateway
	if g == nil {
		g = &repodata.Gateway{}
	}
	names := make([]string, 0, len(p.specs))
	seen := make(map[string]bool, len(p.specs)) // linear in the specs, not quadratic
	for _, s := range p.specs {
		if !strings.HasPrefix(s.Name, "__") && !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	avail, err := g.Query(ctx, p.channels, todo, names)
	if err != nil {
		return nil, err
	}
	order := make([]string, len(p.channels))
	for i, c := range p.channels {
		order[i] = c.BaseURL
	}
	// One solver index of the loaded records serves every platform's solve.
	ix, err := solver.NewIndex(avail)
	if err != nil {
		return nil, err
	}
	// Platforms are solved in parallel; errors are reported in platform order.
	sols := make([][]*record.RepoDataRecord, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, plat := range todo {
		wg.Go(func() { sols[i], errs[i] = r.solve(ctx, p, plat, ix, avail, order) })
	}
	wg.Wait()
	for i, plat := range todo {
		if errs[i] != nil {
			return nil, &PlatformError{Platform: plat, Err: errs[i]}
		}
		if err := out.SetPlatform(plat, hashes[plat], sols[i]); err != nil {
			return nil, err
		}
	}
	// conda first, then pip, on each platform's solution; platforms in
	// parallel over one index, errors in platform order.
	if r.Pip.active() {
		ix, ixErr := r.pipIndex()
		pips := make([][]*lock.Package, len(todo))
		for i, plat := range todo {
			wg.Go(func() { pips[i], errs[i] = r.resolvePip(ctx, plat, sols[i], ix, ixErr) })
		}
		wg.Wait()
		for i, plat := range todo {
			if errs[i] != nil {
				return nil, errs[i]
			}
			if err := out.SetPip(plat, pips[i]); err != nil {
				return nil, &PipError{Platform: plat, Err: err}
			}
		}
	}
	return out, nil
}

// solve solves one platform over ix, the index of all.
func (r *Request) solve(ctx context.Context, p *prepared, plat string, ix *solver.Index, all []*record.RepoDataRecord, order []string) ([]*record.RepoDataRecord, error) {
	virt, err := virtual.ForPlatform(virtual.Options{Platform: plat, Overrides: r.Virtual[plat]})
	if err != nil {
		return nil, err
	}
	avail := make([]*record.RepoDataRecord, 0, len(all))
	for _, rec := range all {
		if rec.Subdir == plat || rec.Subdir == string(platform.Noarch) {
			avail = append(avail, rec)
		}
	}
	var locked []*record.RepoDataRecord
	if r.Previous != nil {
		locked = preferred(lockedRecords(r.Previous, plat), avail)
	}
	return ix.Solve(ctx, solver.Problem{
		Specs:           p.specs,
		Subdirs:         []string{plat, string(platform.Noarch)},
		Virtual:         virt,
		Locked:          locked,
		ChannelOrder:    order,
		ChannelPriority: r.ChannelPriority,
		Budget:          r.SolverBudget,
	})
}

// lockedRecords returns the conda records l holds for platform, or nil.
func lockedRecords(l *lock.Lock, platform string) []*record.RepoDataRecord {
	var out []*record.RepoDataRecord
	for _, pkg := range l.Packages {
		if pkg.Platform == platform && pkg.Manager == lock.Conda && pkg.Record != nil {
			out = append(out, pkg.Record)
		}
	}
	return out
}

// preferred maps a previous solution onto the available records: the same
// artifact (URL), else the same name, version, build and channel. Records no
// channel serves any more are dropped: the solver only keeps what it can
// check against full repodata.
func preferred(prev, avail []*record.RepoDataRecord) []*record.RepoDataRecord {
	if len(prev) == 0 {
		return nil
	}
	byURL := make(map[string]*record.RepoDataRecord, len(avail))
	type key struct{ name, version, build, channel string }
	byKey := make(map[key]*record.RepoDataRecord, len(avail))
	for _, a := range avail {
		byURL[a.URL] = a
		byKey[key{a.Name, a.Version.String(), a.Build, a.Channel}] = a
	}
	var out []*record.RepoDataRecord
	for _, p := range prev {
		if a, ok := byURL[p.URL]; ok {
			out = append(out, a)
		} else if a, ok := byKey[key{p.Name, p.Version.String(), p.Build, p.Channel}]; ok {
			out = append(out, a)
		}
	}
	return out
}

// Search returns the records of channels (subdir and noarch) that
// match spec, sorted by name, version (conda order), build number, build
// string, channel priority, subdir and file name. An empty subdir means
// the machine's; opts configure channel parsing. Errors: *SpecError for an
// invalid spec, ErrNoChannels.
func Search(ctx context.Context, g *repodata.Gateway, channels []string, subdir, spec string, opts ...channel.Option) ([]*record.RepoDataRecord, error) {
	m, err := matchspec.ParseLenient(spec)
	if err != nil {
		return nil, &SpecError{Spec: spec, Err: err}
	}
	chans, err := parseChannels(channels, opts...)
	if err != nil {
		return nil, err
	}
	if subdir == "" {
		subdir = string(platform.Current())
	}
	if g == nil {
		g = &repodata.Gateway{}
	}
	var names []string // nil: every record, for a name glob
	if m.Name != "" && !strings.ContainsAny(m.Name, "*?[") {
		names = []string{m.Name}
	}
	recs, err := g.Query(ctx, chans, []string{subdir}, names)
	if err != nil {
		return nil, err
	}
	rank := make(map[string]int, len(chans))
	for i, c := range chans {
		rank[c.BaseURL] = i
	}
	var out []*record.RepoDataRecord
	for _, r := range recs {
		if (r.Subdir == subdir || r.Subdir == string(platform.Noarch)) && m.MatchRecord(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *record.RepoDataRecord) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := a.Version.Compare(b.Version); c != 0 {
			return c
		}
		if c := cmp.Compare(a.BuildNumber, b.BuildNumber); c != 0 {
			return c
		}
		if c := strings.Compare(a.Build, b.Build); c != 0 {
			return c
		}
		if c := rank[a.Channel] - rank[b.Channel]; c != 0 {
			return c
		}
		if c := strings.Compare(a.Subdir, b.Subdir); c != 0 {
			return c
		}
		return strings.Compare(a.FileName, b.FileName)
	})
	return out, nil
}
