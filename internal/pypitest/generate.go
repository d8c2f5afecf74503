package pypitest

import (
	"fmt"
	"math/rand/v2"
)

// GenOptions shapes a generated index.
type GenOptions struct {
	Projects int    // default 200
	Versions int    // per project; default 20
	Roots    int    // root requirements; default 10
	Seed     uint64 // default 1
}

// Generated is a generated index and the root requirements to resolve.
type Generated struct {
	Projects []Project
	Requires []string
}

// Generate makes an index with a realistic dependency fan-out, the same
// for the same options: project pNNN has versions 1.0.0 ... (ten minor
// versions per major), each wheel (with an sdist for the newest) depending
// on 0 to 6 projects further down the list (so leaves exist), with lower
// bounds that rise with the version, some upper bounds on the next major,
// a few exact pins and environment markers, so that the resolution has to
// backtrack now and then.
func Generate(o GenOptions) *Generated {
	if o.Projects <= 0 {
		o.Projects = 200
	}
	if o.Versions <= 0 {
		o.Versions = 20
	}
	if o.Roots <= 0 {
		o.Roots = 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x656e766b6974))
	name := func(i int) string { return fmt.Sprintf("p%03d", i) }
	ver := func(k int) string { return fmt.Sprintf("%d.%d.0", 1+k/10, k%10) }
	g := &Generated{}
	for i := 0; i < o.Projects; i++ {
		// The project's dependencies: a set of candidates further down.
		var cands []int
		if i+1 < o.Projects {
			n := r.IntN(7)
			if i > o.Projects*4/5 {
				n = r.IntN(2)
			}
			for range n {
				j := i + 1 + r.IntN(min(o.Projects-i-1, 40))
				cands = append(cands, j)
			}
		}
		p := Project{Name: name(i)}
		for k := 0; k < o.Versions; k++ {
			m := Meta{Name: name(i), Version: ver(k), RequiresPython: ">=3.8"}
			seen := map[int]bool{}
			for di, j := range cands {
				if seen[j] || (di == len(cands)-1 && k < o.Versions/3) {
					continue // a dependency added in later versions
				}
				seen[j] = true
				lo := k * o.Versions / (2 * o.Versions) // rises with k
				lo = min(r.IntN(k+1)/2+lo, o.Versions-1)
				req := name(j)
				switch x := r.IntN(10); {
				case x < 3:
				case x < 7:
					req += ">=" + ver(lo)
				case x < 9:
					req += fmt.Sprintf(">=%s,<%d", ver(lo), 2+lo/10)
				default:
					req += "==" + ver(r.IntN(o.Versions))
				}
				if r.IntN(15) == 0 {
					req += "; sys_platform == 'win32'"
				}
				m.RequiresDist = append(m.RequiresDist, req)
			}
			p.Files = append(p.Files, File{Wheel: &Wheel{Meta: m}})
			if k == o.Versions-1 {
				p.Files = append(p.Files, File{Sdist: &Sdist{Meta: m}})
			}
		}
		g.Projects = append(g.Projects, p)
	}
	for i := 0; i < o.Roots; i++ {
		g.Requires = append(g.Requires, name(i*min(o.Projects/o.Roots, 5)))
	}
	return g
}
