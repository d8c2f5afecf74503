// Command solver measures envkit's conda solver (conda/solver) against
// libsolv side by side: each problem's records and request go to both
// solvers in one run, each timed over several repetitions (median), with
// repodata parsing and loading excluded and reported on their own.
//
// libsolv is driven through libsolv_bench (libsolv/libsolv_bench.c, built by
// scripts/bench-solver.sh against Debian's libsolv), which reads a libsolv
// testcase this command writes (see testcase.go for the translation and what
// it loses). Usage:
//
//	go run ./bench/solver -testdata ../shared/testdata -libsolv /path/to/libsolv_bench [-reps 9] [-run REGEXP]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/envkit/envkit/conda/solver"
	"golang.org/x/sys/unix"
)

func main() {
	testdata := flag.String("testdata", "", "the shared testdata directory (required)")
	libsolv := flag.String("libsolv", "", "the libsolv_bench binary (required)")
	reps := flag.Int("reps", 51, "timed repetitions per solver and problem (after one warm-up), within -budget: on a shared machine a median of 9 moved by 2× between runs for millisecond problems")
	mirrors := flag.Int("mirrors", 20, "copies of index4 in the large problems")
	run := flag.String("run", "", "only problems whose name matches this regexp")
	keep := flag.String("keep", "", "write the libsolv testcases into this directory (default: a temporary one, removed)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of envkit's timed solves of each problem into this directory (NN.pprof, NN as in -keep)")
	budget := flag.Duration("budget", 10*time.Second, "stop repeating a solver's solves of a problem once they took this long (at least one timed solve)")
	timeout := flag.Duration("timeout", time.Minute, "give up on libsolv for a problem after this long")
	clock := flag.String("clock", "wall", "what the solve times measure: wall (elapsed) or cpu (the process's CPU time, steadier on a machine shared with other work)")
	flag.Parse()
	if *testdata == "" || *libsolv == "" || *reps < 1 || (*clock != "wall" && *clock != "cpu") {
		flag.Usage()
		os.Exit(2)
	}
	o := options{testdata: *testdata, libsolv: *libsolv, reps: *reps, mirrors: *mirrors, run: *run, keep: *keep,
		cpuprofile: *cpuprofile, budget: *budget, timeout: *timeout, cpuClock: *clock == "cpu"}
	if err := bench(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/solver:", err)
		os.Exit(1)
	}
}

type options struct {
	testdata, libsolv string
	reps, mirrors     int
	run, keep         string
	cpuprofile        string
	budget, timeout   time.Duration
	cpuClock          bool // time solves by the process's CPU time
}

// now reads the clock the solve times use.
func (o options) now() time.Duration {
	if o.cpuClock {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err == nil {
			return time.Duration(ts.Nano())
		}
	}
	return time.Duration(time.Now().UnixNano())
}

// result is one problem's measurements.
type result struct {
	*problem
	envkitMS, encodeMS float64
	indexMS            float64 // solver.NewIndex, median of the same number of builds
	envkitReps         int
	envkit             []string // dists, sorted; nil when unsat
	envkitErr          error
	// invalid are checkSolution's findings on each solver's solution.
	envkitInvalid, libsolvInvalid error
	ls                            *libsolvRun // nil when libsolv timed out
}

func bench(w io.Writer, o options) error {
	filter, err := regexp.Compile(o.run)
	if err != nil {
		return err
	}
	dir := o.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bench-solver-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if o.cpuprofile != "" {
		if err := os.MkdirAll(o.cpuprofile, 0o755); err != nil {
			return err
		}
	}

	var results []*result
	for i, p := range listProblems(o.testdata, o.mirrors) {
		if !filter.MatchString(p.Name) {
			continue
		}
		if err := p.load(); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		r := &result{problem: p}
		prof := ""
		if o.cpuprofile != "" {
			prof = filepath.Join(o.cpuprofile, fmt.Sprintf("%02d.pprof", i))
		}
		if err := r.runEnvkit(o, prof); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		if err := r.runLibsolv(o, filepath.Join(dir, fmt.Sprintf("%02d.t", i))); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return errors.New("no problem matches -run " + o.run)
	}
	report(w, results, o)
	return nil
}

// runEnvkit builds the index of the problem's records and solves over it
// once to warm up and keep the solution, then times up to o.reps solves
// over that index within o.budget, as libsolv's solves are timed over a
// loaded pool, and as many index builds on their own (the "index ms"
// column). It collects garbage once before, not between solves: the
// collections a solve's own garbage causes are part of its cost.
func (r *result) runEnvkit(o options, prof string) error {
	ctx := context.Background()
	ix, err := solver.NewIndex(r.Problem.Available)
	if err != nil {
		return err
	}
	got, err := ix.Solve(ctx, r.Problem)
	var ue *solver.UnsatError
	switch {
	case errors.As(err, &ue):
		r.envkitErr = err
	case err != nil:
		return err
	default:
		for _, g := range got {
			r.envkit = append(r.envkit, g.Dist())
		}
		slices.Sort(r.envkit)
		r.envkitInvalid = checkSolution(r.Problem, got)
	}
	// Collect garbage and give freed memory back to the OS now: otherwise
	// the runtime's background scavenger returns what the problems before
	// left, during these solves, and the process CPU clock (-clock cpu)
	// bills it to them (a 33-record solve measured 16-30 µs after index4's
	// problems, 7-11 µs alone).
	debug.FreeOSMemory()
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var times []float64
	var spent time.Duration
	for len(times) < o.reps && (len(times) == 0 || spent < o.budget) {
		start := o.now()
		_, err := ix.Solve(ctx, r.Problem)
		d := o.now() - start
		spent += d
		times = append(times, float64(d.Nanoseconds())/1e6)
		if (err == nil) != (r.envkitErr == nil) {
			return fmt.Errorf("envkit's result changed between runs: %w", err)
		}
	}
	r.envkitMS, r.envkitReps = median(times), len(times)
	if prof != "" {
		pprof.StopCPUProfile()
	}
	runtime.GC()
	var builds []float64
	for range len(times) {
		start := o.now()
		if _, err := solver.NewIndex(r.Problem.Available); err != nil {
			return err
		}
		builds = append(builds, float64((o.now()-start).Nanoseconds())/1e6)
	}
	r.indexMS = median(builds)
	return nil
}

// runLibsolv writes the problem as a libsolv testcase and runs libsolv_bench
// on it with o.reps+1 solves within o.budget, the first a warm-up. When
// libsolv takes longer than o.timeout, r.ls stays nil.
func (r *result) runLibsolv(o options, path string) error {
	start := time.Now()
	tc, err := newTestcase(r.Problem)
	if err != nil {
		return err
	}
	r.encodeMS = msSince(start)
	if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, o.libsolv, path, fmt.Sprint(o.reps+1), fmt.Sprint(o.budget.Milliseconds()))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if o.cpuClock {
		cmd.Env = append(os.Environ(), "LIBSOLV_BENCH_CLOCK=cpu")
	}
	if err := cmd.Run(); ctx.Err() != nil {
		return nil
	} else if err != nil {
		return fmt.Errorf("%s %s: %w: %s", o.libsolv, path, err, strings.TrimSpace(stderr.String()))
	}
	if r.ls, err = parseLibsolvRun(&stdout, tc); err != nil {
		return err
	}
	r.ls.SolveMS, r.ls.NoChoiceMS = r.ls.SolveMS[1:], r.ls.NoChoiceMS[1:]
	if r.ls.Problems == 0 {
		r.libsolvInvalid = checkSolution(r.Problem, r.ls.Records)
	}
	return nil
}

func report(w io.Writer, results []*result, o options) {
	var ls *libsolvRun
	for _, r := range results {
		if r.ls != nil {
			ls = r.ls
		}
	}
	if ls != nil {
		conda := "without conda support: specs matched by envkit, versions ranked (see bench/solver/testcase.go)"
		if ls.Conda {
			conda = "with conda support (records still given as testtags)"
		}
		fmt.Fprintf(w, "libsolv %s %s\n", ls.Version, conda)
	}
	clock := "wall time"
	if o.cpuClock {
		clock = "process CPU time"
	}
	fmt.Fprintf(w, "median of up to %d solves (within %v) after one warm-up, timed by %s; ratio = envkit ms / libsolv ms (below 1: envkit faster)\n\n", o.reps, o.budget, clock)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "problem\trecords\tparse ms\tindex ms\tencode ms\tload ms\tenvkit ms\tlibsolv ms\tratio\tlibsolv-choice ms\tratio\tsame solution?\t")
	for _, r := range results {
		envkit := fmt.Sprintf("%.3f", r.envkitMS)
		if r.envkitReps < o.reps {
			envkit += fmt.Sprintf(" (n=%d)", r.envkitReps)
		}
		load, libsolv, ratio := "-", fmt.Sprintf("> %v", o.timeout), fmt.Sprintf("< %.4f", r.envkitMS/float64(o.timeout.Milliseconds()))
		noChoice, ratio2 := "-", "-"
		if r.ls != nil {
			m, mc := median(r.ls.SolveMS), median(r.ls.NoChoiceMS)
			load, libsolv, ratio = fmt.Sprintf("%.1f", r.ls.LoadMS), fmt.Sprintf("%.3f", m), fmt.Sprintf("%.2f", r.envkitMS/m)
			if len(r.ls.SolveMS) < o.reps {
				libsolv += fmt.Sprintf(" (n=%d)", len(r.ls.SolveMS))
			}
			noChoice = fmt.Sprintf("%.3f", mc)
			if mc > 0 {
				ratio2 = fmt.Sprintf("%.2f", r.envkitMS/mc)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, len(r.Problem.Available),
			r.ParseMS, r.indexMS, r.encodeMS, load, envkit, libsolv, ratio, noChoice, ratio2, r.same())
	}
	tw.Flush()
	fmt.Fprintln(w, "\nparse ms: conda/repodata Parse+Records (envkit); index ms: solver.NewIndex, built once per set of records")
	fmt.Fprintln(w, "(names grouped, versions ranked, depends parsed; same clock, median); encode ms: spec matching and testcase text")
	fmt.Fprintln(w, "for libsolv; load ms: libsolv testcase_read (testtags parsing, whatprovides). None of them is in the solve times.")
	fmt.Fprintln(w, "libsolv-choice ms: libsolv's solve less its choice-rule creation (whole ms, as libsolv's stats give it),")
	fmt.Fprintln(w, "which libsolv 0.7.27+ skips for conda and Debian's 0.7.23 cannot: an estimate of a current conda-mode libsolv.")
	fmt.Fprintln(w, "envkit's times include building its explanation when unsat; libsolv's do not (see the notes).")
	for _, r := range results {
		if notes := r.differences(); notes != "" {
			fmt.Fprintf(w, "\n%s:\n%s", r.Name, notes)
		}
	}
}

// same tells whether both solvers found the same package set (or both
// found none).
func (r *result) same() string {
	if r.ls == nil {
		return "libsolv timed out"
	}
	switch eUnsat, lUnsat := r.envkitErr != nil, r.ls.Problems > 0; {
	case eUnsat && lUnsat:
		return "both unsat"
	case eUnsat:
		return "no: envkit unsat"
	case lUnsat:
		return "no: libsolv unsat"
	case r.envkitInvalid != nil || r.libsolvInvalid != nil:
		return "INVALID solution (see notes)"
	case slices.Equal(r.envkit, r.ls.Installed):
		return "yes"
	default:
		return fmt.Sprintf("no: %d of %d differ, both valid", len(diffNames(r.envkit, r.ls.Installed)), len(r.envkit))
	}
}

// differences lists, by package name, what each solver chose where they
// differ, and how each compares with conda's expected solution.
func (r *result) differences() string {
	if r.ls == nil {
		return ""
	}
	var b strings.Builder
	if r.ls.Problems > 0 {
		fmt.Fprintf(&b, "  libsolv: %d problems; describing them (findallproblemrules + problemruleinfo2str) took %.3f ms more\n",
			r.ls.Problems, r.ls.ExplainMS)
	}
	if r.envkitInvalid != nil {
		fmt.Fprintf(&b, "  envkit's solution is invalid: %v\n", r.envkitInvalid)
	}
	if r.libsolvInvalid != nil {
		fmt.Fprintf(&b, "  libsolv's solution is invalid: %v\n", r.libsolvInvalid)
	}
	if r.envkitErr == nil && r.ls.Problems == 0 {
		// Differences of version first; those only of build (a package
		// built for another python) are summed up.
		var builds []nameDiff
		for _, d := range diffNames(r.envkit, r.ls.Installed) {
			if d.version() {
				fmt.Fprintf(&b, "  %-20s envkit %-32s libsolv %s\n", d.name, d.a, d.b)
			} else {
				builds = append(builds, d)
			}
		}
		if len(builds) > 0 {
			d := builds[0]
			fmt.Fprintf(&b, "  and %d more of the same version but another build, e.g. %s envkit %s libsolv %s\n",
				len(builds), d.name, d.a, d.b)
		}
	}
	if r.Want != nil {
		want := slices.Sorted(slices.Values(r.Want))
		eq := func(got []string) string {
			if slices.Equal(got, want) {
				return "matches"
			}
			return "differs from"
		}
		if !slices.Equal(r.envkit, want) || !slices.Equal(r.ls.Installed, want) {
			fmt.Fprintf(&b, "  envkit %s conda's expected solution; libsolv %s it\n", eq(r.envkit), eq(r.ls.Installed))
		}
	}
	return b.String()
}

// nameDiff is one package name whose record differs between two solutions
// ("-" where a solution lacks the name).
type nameDiff struct{ name, a, b string }

// version tells whether the two records differ in version (not only build).
func (d nameDiff) version() bool {
	va, _, _ := strings.Cut(d.a, "-")
	vb, _, _ := strings.Cut(d.b, "-")
	return va != vb
}

// diffNames compares two sorted dist lists ("name-version-build") by name.
func diffNames(a, b []string) []nameDiff {
	split := func(ds []string) map[string]string {
		m := map[string]string{}
		for _, d := range ds {
			i := strings.LastIndexByte(d, '-')
			i = strings.LastIndexByte(d[:max(i, 0)], '-')
			if i < 0 {
				m[d] = d
				continue
			}
			m[d[:i]] = d[i+1:]
		}
		return m
	}
	ma, mb := split(a), split(b)
	var names []string
	for n := range ma {
		names = append(names, n)
	}
	for n := range mb {
		if _, ok := ma[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []nameDiff
	for _, n := range names {
		va, oka := ma[n]
		vb, okb := mb[n]
		if oka && okb && va == vb {
			continue
		}
		if !oka {
			va = "-"
		}
		if !okb {
			vb = "-"
		}
		out = append(out, nameDiff{n, va, vb})
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
