package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/solver"
)

// A testcase is a solver.Problem translated into a libsolv testcase
// (testtags repos + install jobs) for a libsolv built without conda support,
// which can neither parse match specs nor order conda versions:
//
//   - every distinct dependency or requested spec becomes a capability
//     "d:N" that each record it matches (by conda/matchspec) provides, and
//     that the records depending on it require;
//   - every distinct constrains entry becomes a capability "c:N" provided by
//     the records of its name that it does NOT match, and conflicted by the
//     records that carry it;
//   - each name's records get an evr "R-0" where R is their rank in conda's
//     order (records without track_features first, then version, build
//     number, timestamp), so that libsolv's "newest evr" is conda's best;
//   - each channel is a repo with a priority falling in ChannelOrder order;
//     virtual packages are the installed ("system") repo, as mamba does.
//
// The spec matching is done here, ahead of time, so libsolv's timed solve
// does none, while envkit's Solve matches specs lazily as part of its time.
type testcase struct {
	text string
	// dist maps a solvable's "name evr" back to the record's dist, and rec
	// to the record (the first channel's, for mirrored copies).
	dist map[string]string
	rec  map[string]*record.RepoDataRecord
	// capabilities counts the d: and c: capabilities made.
	capabilities int
}

// newTestcase translates p. Specs of records that do not parse make a
// capability nobody provides (the record cannot be installed), as the
// solver treats them.
func newTestcase(p solver.Problem) (*testcase, error) {
	tc := &testcase{dist: map[string]string{}, rec: map[string]*record.RepoDataRecord{}}
	byName := map[string][]*record.RepoDataRecord{}
	for _, r := range p.Available {
		byName[r.Name] = append(byName[r.Name], r)
	}
	virtByName := map[string][]*record.PackageRecord{}
	for _, v := range p.Virtual {
		virtByName[v.Name] = append(virtByName[v.Name], v)
	}

	// evr of each record: its rank among its name's records, best highest.
	evr := make(map[*record.RepoDataRecord]string, len(p.Available))
	for name, rs := range byName {
		rs = slices.Clone(rs)
		slices.SortStableFunc(rs, condaOrder)
		rank := len(rs)
		for i, r := range rs {
			// Mirrored copies of one artifact share a rank.
			if i > 0 && (condaOrder(rs[i-1], r) != 0 || rs[i-1].Dist() != r.Dist()) {
				rank--
			}
			e := strconv.Itoa(rank) + "-0"
			evr[r] = e
			if _, ok := tc.dist[name+" "+e]; !ok {
				tc.dist[name+" "+e], tc.rec[name+" "+e] = r.Dist(), r
			}
		}
	}

	deps := capabilities{prefix: "d:", ids: map[string]int{}}
	cons := capabilities{prefix: "c:", ids: map[string]int{}}
	provides := map[*record.RepoDataRecord][]string{}
	virtProvides := map[*record.PackageRecord][]string{}
	// require returns the capability of a dependency spec, making it (and
	// its providers) on first use.
	require := func(spec string, parse func(string) (*matchspec.MatchSpec, error)) string {
		id, isNew := deps.get(spec)
		if !isNew {
			return id
		}
		m, err := parse(spec)
		if err != nil {
			return id // provided by nothing
		}
		for _, r := range byName[m.Name] {
			if m.MatchRecord(r) {
				provides[r] = append(provides[r], id)
			}
		}
		for _, v := range virtByName[m.Name] {
			if m.Match(v) {
				virtProvides[v] = append(virtProvides[v], id)
			}
		}
		return id
	}
	constrain := func(spec string) (string, bool) {
		id, isNew := cons.get(spec)
		m, err := matchspec.Parse(spec)
		if err != nil {
			return "", false // the solver ignores what it cannot parse
		}
		if isNew {
			for _, r := range byName[m.Name] {
				if !m.MatchRecord(r) {
					provides[r] = append(provides[r], id)
				}
			}
			for _, v := range virtByName[m.Name] {
				if !m.Match(v) {
					virtProvides[v] = append(virtProvides[v], id)
				}
			}
		}
		return id, true
	}

	var jobs []string
	for _, s := range p.Specs {
		jobs = append(jobs, "job install provides "+require(s.String(), matchspec.ParseLenient))
	}
	requires := make(map[*record.RepoDataRecord][]string, len(p.Available))
	conflicts := map[*record.RepoDataRecord][]string{}
	for _, r := range p.Available {
		for _, d := range r.Depends {
			requires[r] = append(requires[r], require(d, matchspec.Parse))
		}
		for _, c := range r.Constrains {
			if id, ok := constrain(c); ok {
				conflicts[r] = append(conflicts[r], id)
			}
		}
	}
	tc.capabilities = len(deps.ids) + len(cons.ids)

	var b strings.Builder
	b.WriteString("repo system 0 testtags <inline>\n")
	for _, v := range p.Virtual {
		fmt.Fprintf(&b, "#>=Pkg: %s 1 0 noarch\n", v.Name)
		for _, id := range virtProvides[v] {
			fmt.Fprintf(&b, "#>=Prv: %s\n", id)
		}
	}
	for i, ch := range channelOrder(p) {
		fmt.Fprintf(&b, "repo ch%d %d testtags <inline>\n", i, 1000-i)
		for _, r := range p.Available {
			if r.Channel != ch {
				continue
			}
			fmt.Fprintf(&b, "#>=Pkg: %s %s noarch\n", r.Name, strings.Replace(evr[r], "-", " ", 1))
			for _, id := range provides[r] {
				fmt.Fprintf(&b, "#>=Prv: %s\n", id)
			}
			for _, id := range requires[r] {
				fmt.Fprintf(&b, "#>=Req: %s\n", id)
			}
			for _, id := range conflicts[r] {
				fmt.Fprintf(&b, "#>=Con: %s\n", id)
			}
		}
	}
	b.WriteString("system x86_64 rpm system\n")
	if p.ChannelPriority == solver.Strict {
		b.WriteString("solverflags strictrepopriority\n")
	}
	for _, j := range jobs {
		b.WriteString(j + "\n")
	}
	tc.text = b.String()
	return tc, nil
}

// condaOrder orders one name's records best first as conda and libsolv's
// conda mode do: without track_features first, then highest version, build
// number and timestamp; file name last for determinism.
func condaOrder(a, b *record.RepoDataRecord) int {
	ta, tb := len(a.TrackFeatures) > 0 || a.Features != "", len(b.TrackFeatures) > 0 || b.Features != ""
	if ta != tb {
		if ta {
			return 1
		}
		return -1
	}
	if c := b.Version.Compare(a.Version); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(b.BuildNumber, a.BuildNumber),
		cmp.Compare(b.Timestamp, a.Timestamp),
		cmp.Compare(a.Build, b.Build),
	)
}

// channelOrder lists p's channels, p.ChannelOrder first, then the others in
// order of first appearance (as the solver ranks them).
func channelOrder(p solver.Problem) []string {
	out := slices.Clone(p.ChannelOrder)
	for _, r := range p.Available {
		if !slices.Contains(out, r.Channel) {
			out = append(out, r.Channel)
		}
	}
	return out
}

// capabilities numbers spec strings.
type capabilities struct {
	prefix string
	ids    map[string]int
}

func (c *capabilities) get(spec string) (id string, isNew bool) {
	n, ok := c.ids[spec]
	if !ok {
		n = len(c.ids)
		c.ids[spec] = n
	}
	return c.prefix + strconv.Itoa(n), !ok
}

// libsolvRun is what libsolv_bench printed.
type libsolvRun struct {
	Version string
	Conda   bool
	LoadMS  float64
	SolveMS []float64
	// NoChoiceMS are the solve times less libsolv's choice-rule creation
	// (whole ms as libsolv reports it): libsolv 0.7.27 and later make no
	// choice rules for conda, Debian's 0.7.23 cannot be told not to.
	NoChoiceMS []float64
	// ExplainMS is how long describing the problems took, when unsat.
	ExplainMS float64
	Problems  int
	// Installed are the solution's dists (via testcase.dist), sorted, and
	// Records its records.
	Installed []string
	Records   []*record.RepoDataRecord
}

// parseLibsolvRun reads libsolv_bench's output.
func parseLibsolvRun(r io.Reader, tc *testcase) (*libsolvRun, error) {
	run := &libsolvRun{Problems: -1}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		bad := func(err error) error { return fmt.Errorf("libsolv_bench output line %d %q: %w", line, sc.Text(), err) }
		var err error
		switch {
		case f[0] == "libsolv" && len(f) == 4:
			run.Version, run.Conda = f[1], f[3] == "yes"
		case f[0] == "load_ms" && len(f) == 2:
			run.LoadMS, err = strconv.ParseFloat(f[1], 64)
		case f[0] == "solve_ms" && len(f) == 5:
			var ms float64
			var choice int
			ms, err = strconv.ParseFloat(f[1], 64)
			if err == nil {
				choice, err = strconv.Atoi(f[3])
			}
			run.SolveMS = append(run.SolveMS, ms)
			run.NoChoiceMS = append(run.NoChoiceMS, max(ms-float64(choice), 0))
		case f[0] == "explain_ms" && len(f) == 2:
			run.ExplainMS, err = strconv.ParseFloat(f[1], 64)
		case f[0] == "problems" && len(f) == 2:
			run.Problems, err = strconv.Atoi(f[1])
		case f[0] == "install" && len(f) == 4:
			d, ok := tc.dist[f[1]+" "+f[2]]
			if !ok {
				err = fmt.Errorf("solvable %s-%s is no record of the problem", f[1], f[2])
			}
			run.Installed = append(run.Installed, d)
			run.Records = append(run.Records, tc.rec[f[1]+" "+f[2]])
		case f[0] == "solvables":
		default:
			err = fmt.Errorf("unknown line")
		}
		if err != nil {
			return nil, bad(err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(run.SolveMS) == 0 || run.Problems < 0 {
		return nil, fmt.Errorf("libsolv_bench output has no solve (%d lines)", line)
	}
	slices.Sort(run.Installed)
	return run, nil
}
