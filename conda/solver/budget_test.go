package solver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
)

// pigeonhole puts pigeons into holes as conda records: pigeon-i at version
// j sits in hole j and depends on hole-j at version i, and a name has one
// record installed, so a hole holds one pigeon. With more pigeons than
// holes it is unsatisfiable, and proving it takes a resolution proof of
// exponential size (issue 8: 364 records kept the solver busy 18.8 s).
func pigeonhole(t testing.TB, pigeons, holes int) Problem {
	const ch = "https://conda.example/pigeons"
	mk := func(name string, ver int, depends ...string) *record.RepoDataRecord {
		v := fmt.Sprint(ver)
		return &record.RepoDataRecord{
			PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(v), Build: "0", Subdir: "noarch", Depends: depends},
			FileName:      name + "-" + v + "-0.conda", Channel: ch, URL: ch + "/noarch/" + name + "-" + v + "-0.conda",
		}
	}
	var p Problem
	var names []string
	for i := 1; i <= pigeons; i++ {
		name := fmt.Sprintf("pigeon-%d", i)
		names = append(names, name)
		for j := 1; j <= holes; j++ {
			p.Available = append(p.Available, mk(name, j, fmt.Sprintf("hole-%d ==%d", j, i)))
		}
	}
	for j := 1; j <= holes; j++ {
		for i := 1; i <= pigeons; i++ {
			p.Available = append(p.Available, mk(fmt.Sprintf("hole-%d", j), i))
		}
	}
	p.Specs = specs(t, names...)
	return p
}

func TestBudgetConflicts(t *testing.T) {
	p := pigeonhole(t, 20, 19)
	p.Budget = Budget{Conflicts: 2000}
	_, err := Solve(context.Background(), p)
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v (%T), want a *BudgetError", err, err)
	}
	if be.Conflicts != 2000 || be.Limit != "2000 conflicts" || be.Decisions == 0 {
		t.Errorf("limit %q after %d conflicts, %d decisions; want 2000 conflicts", be.Limit, be.Conflicts, be.Decisions)
	}
	if len(be.Specs) != 20 || be.Specs[0] != "pigeon-1" || be.Candidates != 760 || be.Available != 760 {
		t.Errorf("shape: specs %v, %d candidates of %d", be.Specs, be.Candidates, be.Available)
	}
	t.Log(err)
	want := "gave up after 2000 conflicts (2000 conflicts, "
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "solving pigeon-1, pigeon-2, ") || !strings.Contains(msg, ", pigeon-10 and 10 more (") ||
		!strings.Contains(msg, "(760 candidate records of 760 available)") || !strings.Contains(msg, "raise the solver's time budget") {
		t.Errorf("error %q", msg)
	}
}

func TestBudgetTime(t *testing.T) {
	p := pigeonhole(t, 20, 19)
	p.Budget = Budget{Time: 50 * time.Millisecond}
	_, err := Solve(context.Background(), p)
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v (%T), want a *BudgetError", err, err)
	}
	// Not be.Conflicts > 0: on a loaded machine 50 ms of wall time may
	// give the search too little CPU to meet one.
	if be.Limit != "50ms" || be.Elapsed < 50*time.Millisecond {
		t.Errorf("limit %q after %v, %d conflicts", be.Limit, be.Elapsed, be.Conflicts)
	}
	if !strings.Contains(err.Error(), "gave up after 50ms (") {
		t.Errorf("error %q", err)
	}
}

// A request proved unsatisfiable within the budget is explained as
// without one.
func TestBudgetUnsatExplained(t *testing.T) {
	p := pigeonhole(t, 4, 3)
	p.Budget = Budget{Conflicts: 1000, Time: time.Hour}
	ue := mustUnsat(t, p)
	t.Log(ue)
	wantContains(t, ue.Error(), "pigeon-1 can be installed", "hole-")
	// And it is solvable with as many holes as pigeons.
	mustSolve(t, pigeonhole(t, 4, 4))
}
