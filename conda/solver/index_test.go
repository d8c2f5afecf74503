package solver

import (
	"context"
	"fmt"
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
	want := solveShared(t, recs, problems)
	if !slices.Contains(want[len(want)-1], ghost.Dist()) {
		t.Errorf("the locked record Available lacks is not kept: %v", want[len(want)-1])
	}

	// A small index: solves reuse each other's memory.
	recs = loadIndex(t, "https://conda.anaconda.org/conda-forge", "conda", "indexes", "conda-forge-numpy-linux-64.json")
	if len(recs) > smallIndex {
		t.Fatalf("%d records: not a small index", len(recs))
	}
	virt := linuxVirtual(t)
	prev = mustSolve(t, Problem{Specs: specs(t, "numpy"), Available: recs, Virtual: virt})
	ghost = *find(prev, "python")
	ghost.Build += "_ghost"
	solveShared(t, recs, []Problem{
		{Specs: specs(t, "numpy"), Virtual: virt},
		{Specs: specs(t, "python"), Virtual: virt},
		{Specs: specs(t, "numpy"), Virtual: virt, ChannelPriority: Disabled, Locked: []*record.RepoDataRecord{&ghost}},
		{Specs: specs(t, "numpy"), Virtual: virt, Constraints: specs(t, "python <3")}, // unsatisfiable
	})
}

// solveShared solves problems with Solve, then each three times over one
// Index of recs, all at once, and checks that the solutions (or errors)
// agree. It returns Solve's solutions.
func solveShared(t *testing.T, recs []*record.RepoDataRecord, problems []Problem) [][]string {
	ix, err := NewIndex(recs)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != len(recs) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(recs))
	}
	want := make([][]string, len(problems))
	wantErr := make([]string, len(problems))
	for i, p := range problems {
		p.Available = recs
		sol, err := Solve(context.Background(), p)
		want[i], wantErr[i] = dists(sol), fmt.Sprint(err)
	}
	got := make([][][]string, len(problems))
	gotErr := make([][]string, len(problems))
	for i := range problems {
		got[i], gotErr[i] = make([][]string, 3), make([]string, 3)
	}
	var wg sync.WaitGroup
	for k := range 3 {
		for i, p := range problems {
			wg.Go(func() {
				sol, err := ix.Solve(context.Background(), p)
				got[i][k], gotErr[i][k] = dists(sol), fmt.Sprint(err)
			})
		}
	}
	wg.Wait()
	for i := range problems {
		for k := range 3 {
			if !slices.Equal(got[i][k], want[i]) || gotErr[i][k] != wantErr[i] {
				t.Errorf("problem %d over a shared index: %v %s, want %v %s", i, got[i][k], gotErr[i][k], want[i], wantErr[i])
			}
		}
	}
	return want
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

// TestIndexSubdirs solves over one index of two platforms' records, each
// platform with Problem.Subdirs, and checks each solution against Solve
// over that platform's records alone. The other platform's copies have
// higher build numbers, so a solve that let them in would choose them.
func TestIndexSubdirs(t *testing.T) {
	base := loadIndex(t, "https://conda.example/index4", "conda", "indexes", "index4.json")
	var all []*record.RepoDataRecord
	of := map[string][]*record.RepoDataRecord{}
	for _, r := range base {
		if r.Subdir == "noarch" {
			all = append(all, r)
			of["linux-64"], of["osx-64"] = append(of["linux-64"], r), append(of["osx-64"], r)
			continue
		}
		linux, osx := *r, *r
		linux.Subdir, osx.Subdir = "linux-64", "osx-64"
		osx.BuildNumber += 100
		all = append(all, &linux, &osx)
		of["linux-64"], of["osx-64"] = append(of["linux-64"], &linux), append(of["osx-64"], &osx)
	}
	ix, err := NewIndex(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, plat := range []string{"linux-64", "osx-64"} {
		for _, req := range index4Requests {
			want := dists(mustSolve(t, Problem{Specs: specs(t, req...), Available: of[plat]}))
			got, err := ix.Solve(context.Background(), Problem{Specs: specs(t, req...), Subdirs: []string{plat, "noarch"}})
			if err != nil {
				t.Fatalf("%s %v: %v", plat, req, err)
			}
			for _, r := range got {
				if r.Subdir != plat && r.Subdir != "noarch" {
					t.Errorf("%s %v: %s is of %s", plat, req, r.Dist(), r.Subdir)
				}
			}
			if !slices.Equal(dists(got), want) {
				t.Errorf("%s %v: %v, want %v", plat, req, dists(got), want)
			}
		}
	}
}
