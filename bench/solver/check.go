package main

import (
	"fmt"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/solver"
)

// checkSolution verifies a solution against p with conda/matchspec, the
// same for both solvers' answers: one record per name, every request and
// every installed record's depends matched by an installed (or virtual)
// record, and no installed record that one's constrains excludes.
func checkSolution(p solver.Problem, sol []*record.RepoDataRecord) error {
	byName := map[string]*record.RepoDataRecord{}
	for _, v := range p.Virtual {
		byName[v.Name] = &record.RepoDataRecord{PackageRecord: *v}
	}
	for _, r := range sol {
		if o, dup := byName[r.Name]; dup {
			return fmt.Errorf("%s and %s both installed", o.Dist(), r.Dist())
		}
		byName[r.Name] = r
	}
	for _, s := range p.Specs {
		if r := byName[s.Name]; r == nil || !s.MatchRecord(r) {
			return fmt.Errorf("request %s not satisfied", s)
		}
	}
	for _, r := range sol {
		for _, d := range r.Depends {
			m, err := matchspec.Parse(d)
			if err != nil {
				return fmt.Errorf("%s: depends %q: %w", r.Dist(), d, err)
			}
			if t := byName[m.Name]; t == nil || !m.MatchRecord(t) {
				return fmt.Errorf("%s: depends %q not satisfied", r.Dist(), d)
			}
		}
		for _, c := range r.Constrains {
			m, err := matchspec.Parse(c)
			if err != nil {
				continue // the solver ignores what it cannot parse
			}
			if t := byName[m.Name]; t != nil && !m.MatchRecord(t) {
				return fmt.Errorf("%s: constrains %q excludes installed %s", r.Dist(), c, t.Dist())
			}
		}
	}
	return nil
}
