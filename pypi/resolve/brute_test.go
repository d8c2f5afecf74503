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
// on many small random indexes (cycles, extras, a package conda installs):
// it finds a solution exactly when one exists, and what it finds meets
// every requirement.
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
	extra := func() string {
		if r.IntN(4) == 0 {
			return "[x]"
		}
		return ""
	}
	for run := range runs {
		// deps[project][version] are requirement strings.
		deps := map[string]map[string][]string{}
		var projects []pypitest.Project
		for _, n := range names {
			if r.IntN(8) == 0 {
				continue // a project that does not exist
			}
			p := pypitest.Project{Name: n}
			deps[n] = map[string][]string{}
			for _, v := range vers {
				if r.IntN(5) == 0 {
					continue
				}
				m := pypitest.Meta{Name: n, Version: v}
				for _, d := range names { // cycles and self-dependencies included
					if r.IntN(3) == 0 {
						m.RequiresDist = append(m.RequiresDist, d+extra()+spec())
					}
				}
				if r.IntN(3) == 0 {
					m.Extras(map[string][]string{"x": {names[r.IntN(len(names))] + extra() + spec()}})
				}
				deps[n][v] = m.RequiresDist
				p.Files = append(p.Files, pypitest.File{Wheel: &pypitest.Wheel{Meta: m}})
			}
			projects = append(projects, p)
		}
		roots := []string{"a" + extra() + spec(), names[1+r.IntN(4)] + spec()}
		ix, err := pypitest.NewMemIndex(projects...)
		if err != nil {
			t.Fatal(err)
		}
		req := request(t, ix, roots...)
		if r.IntN(3) == 0 {
			// conda installs e 2.0: the index's e is never a candidate,
			// and conda's e brings no dependencies here.
			req.Installed = map[string]Installed{"e": {Name: "e", Version: version.MustParse("2.0")}}
			deps["e"] = map[string][]string{"2.0": nil}
		}
		res, err := Resolve(context.Background(), req)
		exists := bruteForce(names, deps, roots)
		var ue *UnsatError
		var ce *ConflictError
		switch {
		case err != nil && !errors.As(err, &ue) && !errors.As(err, &ce):
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
			for _, p := range res.Satisfied {
				chosen[p.Name] = p.Version.String()
			}
			if !meets(chosen, deps, roots) {
				t.Fatalf("run %d: roots %v, index %v: %v does not meet the requirements", run, roots, deps, chosen)
			}
		}
	}
}

// meets reports whether chosen (name to version) meets the roots and the
// dependencies of every chosen version, with the extras the requirements
// ask for (an extra a version does not provide is ignored).
func meets(chosen map[string]string, deps map[string]map[string][]string, roots []string) bool {
	active := map[string]map[string]bool{}
	activate := func(r *requirement.Requirement) bool {
		changed := false
		for _, e := range r.Extras {
			if active[r.Name] == nil {
				active[r.Name] = map[string]bool{}
			}
			if !active[r.Name][e] {
				active[r.Name][e] = true
				changed = true
			}
		}
		return changed
	}
	applies := func(n string, r *requirement.Requirement) bool {
		if r.Applies(requirement.Environment{}) {
			return true
		}
		for e := range active[n] {
			if r.Applies(requirement.Environment{Extra: e}) {
				return true
			}
		}
		return false
	}
	for _, req := range roots {
		activate(requirement.MustParse(req))
	}
	for changed := true; changed; {
		changed = false
		for n, v := range chosen {
			for _, d := range deps[n][v] {
				if r := requirement.MustParse(d); applies(n, r) && activate(r) {
					changed = true
				}
			}
		}
	}
	ok := func(r *requirement.Requirement) bool {
		v, in := chosen[r.Name]
		return in && r.Specifier.Matches(version.MustParse(v))
	}
	for _, req := range roots {
		if !ok(requirement.MustParse(req)) {
			return false
		}
	}
	for n, v := range chosen {
		for _, d := range deps[n][v] {
			if r := requirement.MustParse(d); applies(n, r) && !ok(r) {
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
