package solver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
)

// conda's test_unsat and test_nonexistent over index1, with the
// explanation checked for the chain from the requests to the conflict.
func TestUnsatIndex1(t *testing.T) {
	recs := loadChannel(t, index1URL, "conda", "channels", "conda-index1")
	tests := []struct {
		specs []string
		want  []string
	}{
		{ // scipy 0.12.0b1 is not built for numpy 1.5, only 1.6 and 1.7
			[]string{"numpy 1.5*", "scipy 0.12.0b1"},
			[]string{"numpy 1.5.* can be installed", "scipy==0.12.0b1 can be installed", "scipy 0.12.0b1 np17py27_0 | np17py26_0 | np17py27_p0 (and 1 more builds) would require", "scipy 0.12.0b1 np16",
				"numpy 1.6* can be installed", "only one numpy can be installed"},
		},
		{ // numpy 1.5 does not have a python 3 package
			[]string{"numpy 1.5*", "python 3*"},
			[]string{"numpy 1.5.* can be installed", "numpy 1.5.1 py26_4 | py26_3 | py26_1 (and 5 more builds) would require", "python 2.7*", "python 3.* can be installed",
				"only one python can be installed"},
		},
		{
			[]string{"numpy 1.5*", "numpy 1.6*"},
			[]string{"numpy 1.5.* can be installed", "numpy 1.6.* can be installed", "only one numpy can be installed"},
		},
	}
	for _, tt := range tests {
		ue := mustUnsat(t, Problem{Specs: specs(t, tt.specs...), Available: recs})
		t.Logf("%v:\n%s", tt.specs, ue)
		wantContains(t, ue.Error(), tt.want...)
	}
	// A requested version that does not exist.
	ue := mustUnsat(t, Problem{Specs: specs(t, "numpy 1.5"), Available: recs})
	wantContains(t, ue.Error(), "numpy==1.5, for which no candidates were found")
	ue = mustUnsat(t, Problem{Specs: specs(t, "notarealpackage 2.0*"), Available: recs})
	if len(ue.Missing) != 1 {
		t.Errorf("missing %v", ue.Missing)
	}
}

func TestMissingDependency(t *testing.T) {
	recs := append(dummy(t),
		extra("needs-ghost", "1.0", "ghost >=1"),
		extra("needs-ghost", "2.0", "ghost >=1", "foo <0"),
	)
	ue := mustUnsat(t, Problem{Specs: specs(t, "needs-ghost"), Available: recs})
	t.Logf("\n%s", ue)
	wantContains(t, ue.Error(),
		"needs-ghost can be installed with any of the following options",
		"needs-ghost 2.0 | 1.0 would require",
		"ghost >=1, for which no candidates were found",
	)
}

func TestUnparsableDependency(t *testing.T) {
	recs := append(dummy(t), extra("broken", "1.0", "foo >=>1"))
	ue := mustUnsat(t, Problem{Specs: specs(t, "broken"), Available: recs})
	wantContains(t, ue.Error(), "broken 1.0 would require", "foo >=>1, which cannot be parsed")
	// A broken build is skipped when another works.
	recs = append(recs, extra("broken", "0.9"))
	got := mustSolve(t, Problem{Specs: specs(t, "broken"), Available: recs})
	if r := find(got, "broken"); r.Version.String() != "0.9" {
		t.Fatalf("got %v", dists(got))
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	star := specs(t, "*")
	if _, err := Solve(ctx, Problem{Specs: star}); err == nil || !strings.Contains(err.Error(), "Specs[0]") {
		t.Errorf("pattern spec: %v", err)
	}
	if _, err := Solve(ctx, Problem{Specs: specs(t, "foo"), Available: []*record.RepoDataRecord{nil}}); err == nil || !strings.Contains(err.Error(), "Available[0] is nil") {
		t.Errorf("nil record: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Solve(cancelled, Problem{Specs: specs(t, "foo"), Available: dummy(t)}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestPinExcludesVirtual(t *testing.T) {
	// A pin the target cannot meet: no request is involved.
	ue := mustUnsat(t, Problem{Specs: specs(t, "foo"), Constraints: specs(t, "__unix >=1"), Available: dummy(t), Virtual: unix()})
	wantContains(t, ue.Error(), "__unix 0 (virtual package of the target), excluded by the constraint __unix >=1")
}
