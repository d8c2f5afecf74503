package solver

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

// TestIndexShared solves several problems over one Index, concurrently and
// with different channel priorities and locks, and checks each against
// Solve (which indexes its Available afresh): an Index holds nothing of a
// solve.
func TestIndexShared(t *testing.T) {
	recs := loadIndex(t, "https://conda.example/index4", "conda", "indexes", "index4.json")
	ix, err := NewIndex(recs)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != len(recs) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(recs))
	}
	var problems []Problem
	for _, prio := range []Priority{Strict, Flexible, Disabled} {
		for _, req := range index4Requests {
			problems = append(problems, Problem{Specs: specs(t, req...), ChannelPriority: prio})
		}
	}
	// A previous solution to keep, and one with a record Available lacks.
	prev := mustSolve(t, Problem{Specs: specs(t, "numpy 1.11*", "python 3.5*"), Available: recs})
	problems = append(problems, Problem{Specs: specs(t, "numpy", "pandas"), Locked: prev})
	ghost := *find(prev, "numpy")
	ghost.Build += "_ghost"
	problems = append(problems, Problem{Specs: specs(t, "numpy"), Locked: []*record.RepoDataRecord{&ghost}})
	want := make([][]string, len(problems))
	for i, p := range problems {
		p.Available = recs
		want[i] = dists(mustSolve(t, p))
	}
	got := make([][]string, len(problems))
	errs := make([]error, len(problems))
	var wg sync.WaitGroup
	for range 3 {
		for i, p := range problems {
			wg.Go(func() {
				sol, err := ix.Solve(context.Background(), p)
				if err != nil {
					errs[i] = err
					return
				}
				if d := dists(sol); !slices.Equal(d, want[i]) {
					got[i] = d
				}
			})
		}
	}
	wg.Wait()
	for i := range problems {
		if errs[i] != nil {
			t.Errorf("problem %d: %v", i, errs[i])
		} else if got[i] != nil {
			t.Errorf("problem %d over a shared index: %v, want %v", i, got[i], want[i])
		}
	}
	if !slices.Contains(want[len(want)-1], ghost.Dist()) {
		t.Errorf("the locked record Available lacks is not kept: %v", want[len(want)-1])
	}
}

func TestIndexOtherAvailable(t *testing.T) {
	recs := loadIndex(t, "https://conda.example/index4", "conda", "indexes", "index4.json")
	ix, err := NewIndex(recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Solve(context.Background(), Problem{Specs: specs(t, "numpy"), Available: recs}); err != nil {
		t.Errorf("the index's own records: %v", err)
	}
	_, err = ix.Solve(context.Background(), Problem{Specs: specs(t, "numpy"), Available: recs[1:]})
	if err == nil || !strings.Contains(err.Error(), "not the index's records") {
		t.Errorf("other records: %v", err)
	}
}
