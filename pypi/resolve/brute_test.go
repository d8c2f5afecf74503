package resolve

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/envkit/envkit/internal/pypitest"
	"github.com/envkit/envkit/pypi/requirement"
	"github.com/envkit/envkit/pypi/version"
)

// TestAgainstBruteForce checks the resolver against an exhaustive search
// on many small random indexes: it finds a solution exactly when one
// exists, and what it finds meets every requirement.
func TestAgainstBruteForce(t *testing.T) {
	runs := 400
	if testing.Short() {
		runs = 100
	}
	r := rand.New(rand.NewPCG(7, 7))
	names := []string{"a", "b", "c", "d", "e"}
	vers := []string{"1.0", "2.0", "3.0"}
	ops := []string{"==", ">=", "<=", "!=", "<", ">"}
	spec := func() string {
		if r.IntN(4) == 0 {
			return ""
		}
		return ops[r.IntN(len(ops))] + vers[r.IntN(len(vers))]
	}
	for run := range runs {
		// deps[project][version] are requirement strings.
		deps := map[string]map[string][]string{}
		var projects []pypitest.Project
		for pi, n := range names {
			if r.IntN(8) == 0 {
				continue // a project that does not exist
			}
			p := pypitest.Project{Name: n}
			deps[n] = map[string][]string{}
			for _, v := range vers {
				if r.IntN(5) == 0 {
					continue
				}
				var ds []string
				for _, m := range names[pi+1:] {
					if r.IntN(3) == 0 {
						ds = append(ds, m+spec())
					}
				}
				deps[n][v] = ds
				p.Files = append(p.Files, whl(n, v, ds...))
			}
			projects = append(projects, p)
		}
		roots := []string{"a" + spec(), names[1+r.IntN(4)] + spec()}
		ix, err := pypitest.NewMemIndex(projects...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Resolve(context.Background(), request(t, ix, roots...))
		exists := bruteForce(names, deps, roots)
		var ue *UnsatError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("run %d: %v", run, err)
		case err != nil && exists:
			t.Fatalf("run %d: roots %v, index %v: a solution exists, yet:\n%v", run, roots, deps, err)
		case err == nil && !exists:
			t.Fatalf("run %d: roots %v, index %v: no solution exists, yet %+v", run, roots, deps, res.Packages)
		case err == nil:
			chosen := map[string]string{}
			for _, p := range res.Packages {
				chosen[p.Name] = p.Version.String()
			}
			if !meets(chosen, deps, roots) {
				t.Fatalf("run %d: roots %v, index %v: %v does not meet the requirements", run, roots, deps, chosen)
			}
		}
	}
}

// meets reports whether chosen (name to version) meets the roots and the
// dependencies of every chosen version.
func meets(chosen map[string]string, deps map[string]map[string][]string, roots []string) bool {
	ok := func(req string) bool {
		r := requirement.MustParse(req)
		v, in := chosen[r.Name]
		return in && r.Specifier.Matches(version.MustParse(v))
	}
	for _, req := range roots {
		if !ok(req) {
			return false
		}
	}
	for n, v := range chosen {
		for _, d := range deps[n][v] {
			if !ok(d) {
				return false
			}
		}
	}
	return true
}

// bruteForce tries every choice of one version or none per project.
func bruteForce(names []string, deps map[string]map[string][]string, roots []string) bool {
	var rec func(i int, chosen map[string]string) bool
	rec = func(i int, chosen map[string]string) bool {
		if i == len(names) {
			return meets(chosen, deps, roots)
		}
		if rec(i+1, chosen) {
			return true
		}
		for v := range deps[names[i]] {
			chosen[names[i]] = v
			if rec(i+1, chosen) {
				return true
			}
			delete(chosen, names[i])
		}
		return false
	}
	return rec(0, map[string]string{})
}
