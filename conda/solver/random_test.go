package solver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// randomProblem builds a small repository of packages p0..p(n-1) with a few
// versions each, random depends and constrains.
func randomProblem(rng *rand.Rand) Problem {
	names := 3 + rng.IntN(4)
	var avail []*record.RepoDataRecord
	spec := func() string {
		n := rng.IntN(names)
		switch rng.IntN(4) {
		case 0:
			return fmt.Sprintf("p%d", n)
		case 1:
			return fmt.Sprintf("p%d >=%d", n, 1+rng.IntN(3))
		case 2:
			return fmt.Sprintf("p%d <%d", n, 1+rng.IntN(3))
		}
		return fmt.Sprintf("p%d !=%d", n, 1+rng.IntN(3))
	}
	for n := 0; n < names; n++ {
		for v := 1; v <= 1+rng.IntN(3); v++ {
			r := &record.RepoDataRecord{
				PackageRecord: record.PackageRecord{Name: fmt.Sprintf("p%d", n), Version: version.MustParse(fmt.Sprint(v)), Build: "0"},
				FileName:      fmt.Sprintf("p%d-%d-0.conda", n, v),
				Channel:       "c",
			}
			for k := rng.IntN(3); k > 0; k-- {
				r.Depends = append(r.Depends, spec())
			}
			if rng.IntN(3) == 0 {
				r.Constrains = append(r.Constrains, spec())
			}
			avail = append(avail, r)
		}
	}
	var ss []string
	for k := 1 + rng.IntN(3); k > 0; k-- {
		ss = append(ss, spec())
	}
	p := Problem{Available: avail}
	for _, s := range ss {
		m, err := matchspec.Parse(s)
		if err != nil {
			panic(err)
		}
		p.Specs = append(p.Specs, m)
	}
	return p
}

// consistent reports whether a set of records is a valid installation.
func consistent(p Problem, set []*record.RepoDataRecord) error {
	return consistentCached(p, set, map[string]*MatchSpec{})
}

func consistentCached(p Problem, set []*record.RepoDataRecord, parsed map[string]*MatchSpec) error {
	byName := map[string]*record.RepoDataRecord{}
	for _, r := range set {
		if byName[r.Name] != nil {
			return fmt.Errorf("two records of %s", r.Name)
		}
		byName[r.Name] = r
	}
	sat := func(s string, isConstrain bool) bool {
		m := parsed[s]
		if m == nil {
			m, _ = matchspec.Parse(s)
			parsed[s] = m
		}
		r := byName[m.Name]
		if r == nil {
			return isConstrain
		}
		return m.Match(&r.PackageRecord)
	}
	for _, s := range p.Specs {
		if !sat(s.String(), false) {
			return fmt.Errorf("spec %s unsatisfied", s)
		}
	}
	for _, r := range set {
		for _, d := range r.Depends {
			if !sat(d, false) {
				return fmt.Errorf("%s: depends %s unsatisfied", r.Dist(), d)
			}
		}
		for _, d := range r.Constrains {
			if !sat(d, true) {
				return fmt.Errorf("%s: constrains %s violated", r.Dist(), d)
			}
		}
	}
	return nil
}

// bruteForce reports whether any subset of the records is consistent.
func bruteForce(p Problem) bool {
	n := len(p.Available)
	parsed := map[string]*MatchSpec{}
	for mask := 0; mask < 1<<n; mask++ {
		var set []*record.RepoDataRecord
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				set = append(set, p.Available[i])
			}
		}
		if consistentCached(p, set, parsed) == nil {
			return true
		}
	}
	return false
}

// TestRandomAgainstBruteForce checks soundness and completeness of the
// search on thousands of small random problems.
func TestRandomAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1500; i++ {
		p := randomProblem(rng)
		got, err := Solve(context.Background(), p)
		// Solves over one index (the second reusing the first's memory)
		// agree with Solve.
		ix, ierr := NewIndex(p.Available)
		if ierr != nil {
			t.Fatal(ierr)
		}
		for k := 0; k < 2; k++ {
			again, aerr := ix.Solve(context.Background(), p)
			if fmt.Sprint(aerr) != fmt.Sprint(err) || !slices.Equal(dists(again), dists(got)) {
				t.Fatalf("problem %d: over an index (solve %d): %v %v, Solve: %v %v", i, k+1, dists(again), aerr, dists(got), err)
			}
		}
		want := bruteForce(p)
		var ue *UnsatError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("problem %d: %v", i, err)
		case err == nil && !want:
			t.Fatalf("problem %d: solver found %v, brute force none", i, dists(got))
		case err != nil && want:
			t.Fatalf("problem %d: solver says unsat but a solution exists: %v\nspecs %v", i, err, p.Specs)
		case err == nil:
			if cerr := consistent(p, got); cerr != nil {
				t.Fatalf("problem %d: invalid solution %v: %v", i, dists(got), cerr)
			}
		}
	}
}
