package solver

import (
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/testdata"
)

const (
	index1URL = "https://conda.example/index1"
	dummyURL  = "https://conda.anaconda.org/conda-forge"
)

func extra(name, ver string, deps ...string) *record.RepoDataRecord {
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: "0", Depends: deps, Subdir: "linux-64"},
		FileName:      name + "-" + ver + "-0.tar.bz2", Channel: index1URL,
	}
}

// caseExtras are the records conda's tests add to the index before solving.
var caseExtras = map[string][]*record.RepoDataRecord{
	"conda/conda conda/testing/solver_helpers.py::test_nonexistent_deps": {
		extra("mypackage", "1.0", "nose", "python 3.3*", "notarealpackage 2.0*"),
		extra("mypackage", "1.1", "nose", "python 3.3*"),
		extra("anotherpackage", "1.0", "nose", "mypackage 1.1"),
		extra("anotherpackage", "2.0", "nose", "mypackage"),
	},
}

// TestSolverCases runs conda's shared solver test suite expectations.
func TestSolverCases(t *testing.T) {
	cases := testdata.SolverCases(t)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	chans := map[string][]*record.RepoDataRecord{}
	for _, c := range cases {
		t.Run(c.Source[strings.LastIndex(c.Source, "::")+2:], func(t *testing.T) {
			recs, ok := chans[c.Channel]
			if !ok {
				recs = loadChannel(t, index1URL, append([]string{"conda"}, strings.Split(c.Channel, "/")...)...)
				chans[c.Channel] = recs
			}
			got := mustSolve(t, Problem{Specs: specs(t, c.Specs...), Available: append(recs, caseExtras[c.Source]...)})
			want := slices.Clone(c.Expected)
			slices.Sort(want)
			if g := dists(got); !slices.Equal(g, want) {
				t.Errorf("specs %v\n got %v\nwant %v", c.Specs, g, want)
			}
		})
	}
}

func dummy(t testing.TB) []*record.RepoDataRecord {
	return loadChannel(t, dummyURL, "conda", "channels", "rattler-dummy")
}

func unix() []*record.PackageRecord {
	return []*record.PackageRecord{{Name: "__unix", Version: version.MustParse("0"), Build: "0"}}
}

// Behaviours of rattler's solver tests over its dummy channel, restated.
func TestDummyInstallNew(t *testing.T) {
	got := mustSolve(t, Problem{Specs: specs(t, "foo<4"), Available: dummy(t)})
	if len(got) != 1 {
		t.Fatalf("got %v", dists(got))
	}
	r := got[0]
	// highest build number of the highest version below 4, as .conda
	if r.FileName != "foo-3.0.2-py36h1af98f8_3.conda" || r.BuildNumber != 3 {
		t.Errorf("got %s (build number %d)", r.FileName, r.BuildNumber)
	}
	if r.URL != dummyURL+"/linux-64/foo-3.0.2-py36h1af98f8_3.conda" || r.Channel != dummyURL {
		t.Errorf("url %s channel %s", r.URL, r.Channel)
	}
}

func TestDummyPrefersConda(t *testing.T) {
	// foo-3.0.2-py36h1af98f8_1 exists as .tar.bz2 and .conda.
	got := mustSolve(t, Problem{Specs: specs(t, "foo=3.0.2=py36h1af98f8_1"), Available: dummy(t)})
	if len(got) != 1 || got[0].FileName != "foo-3.0.2-py36h1af98f8_1.conda" {
		t.Fatalf("got %v", got)
	}
	// Whatever the order of the input.
	recs := dummy(t)
	slices.Reverse(recs)
	got = mustSolve(t, Problem{Specs: specs(t, "foo=3.0.2=py36h1af98f8_1"), Available: recs})
	if got[0].FileName != "foo-3.0.2-py36h1af98f8_1.conda" {
		t.Fatalf("reversed input: got %s", got[0].FileName)
	}
}

func TestDummyVirtualPackage(t *testing.T) {
	// bar depends on __unix: without it there is no solution.
	ue := mustUnsat(t, Problem{Specs: specs(t, "bar"), Available: dummy(t)})
	wantContains(t, ue.Error(), "bar", "__unix", "no candidates")
	got := mustSolve(t, Problem{Specs: specs(t, "bar"), Available: dummy(t), Virtual: unix()})
	if g := dists(got); !slices.Equal(g, []string{"bar-1.2.3-unix_py36h1af98f8_2"}) {
		t.Fatalf("got %v (virtual packages must not be returned)", g)
	}
}

func TestDummyVirtualConstrains(t *testing.T) {
	// cuda-version 12.5 constrains __cuda >=12.1; the target has __cuda 1.
	cuda := []*record.PackageRecord{{Name: "__cuda", Version: version.MustParse("1"), Build: "0"}}
	ue := mustUnsat(t, Problem{Specs: specs(t, "cuda-version"), Available: dummy(t), Virtual: cuda})
	t.Logf("\n%s", ue)
	wantContains(t, ue.Error(), "cuda-version 12.5", "constrains __cuda >=12.1, which excludes __cuda 1 (virtual package of the target)")
	// Without __cuda the constraint does not apply.
	got := mustSolve(t, Problem{Specs: specs(t, "cuda-version"), Available: dummy(t)})
	if len(got) != 1 || got[0].Name != "cuda-version" {
		t.Fatalf("got %v", dists(got))
	}
	cuda[0].Version = version.MustParse("12.4")
	got = mustSolve(t, Problem{Specs: specs(t, "cuda-version"), Available: dummy(t), Virtual: cuda})
	if len(got) != 1 {
		t.Fatalf("got %v", dists(got))
	}
}

func TestDummyMissing(t *testing.T) {
	ue := mustUnsat(t, Problem{Specs: specs(t, "asdfasdf", "foo<4"), Available: dummy(t)})
	if !slices.Equal(ue.Missing, []string{"asdfasdf"}) {
		t.Errorf("missing %v", ue.Missing)
	}
	wantContains(t, ue.Error(), `"asdfasdf"`)
}

func TestDummyUnsatExplanation(t *testing.T) {
	// foobar needs bors <2.0 but bors >=2 is requested.
	ue := mustUnsat(t, Problem{Specs: specs(t, "foobar >=2", "bors >= 2"), Available: dummy(t)})
	t.Logf("\n%s", ue.Error())
	wantContains(t, ue.Error(),
		"foobar >=2 can be installed with any of the following options",
		"foobar 2.1 | 2.0 would require",
		"bors <2.0",
		"bors 1.2.1 | 1.1 | 1.0",
		"bors >=2 can be installed",
		"bors 2.1 | 2.0",
		"only one bors can be installed",
	)
	if !slices.Equal(ue.Specs, []string{"foobar >=2", "bors >=2"}) {
		t.Errorf("specs %v", ue.Specs)
	}
	if !slices.Contains(ue.Packages, "bors") || !slices.Contains(ue.Packages, "foobar") {
		t.Errorf("packages %v", ue.Packages)
	}
}

func TestConstrains(t *testing.T) {
	// foo 3.0.2 build 3 constrains bors <2.0; only applies if bors is installed.
	got := mustSolve(t, Problem{Specs: specs(t, "foo<4"), Available: dummy(t)})
	if find(got, "bors") != nil {
		t.Fatalf("constrains must not install bors: %v", dists(got))
	}
	// With bors >=2 requested, foo falls back to a build without the constraint.
	got = mustSolve(t, Problem{Specs: specs(t, "foo<4", "bors>=2"), Available: dummy(t)})
	if f := find(got, "foo"); f == nil || f.Build != "py36h1af98f8_2" {
		t.Fatalf("got %v", dists(got))
	}
	if b := find(got, "bors"); b.Version.String() != "2.1" {
		t.Fatalf("got %v", dists(got))
	}
	// Forcing the constraining build makes it unsatisfiable, explained.
	ue := mustUnsat(t, Problem{Specs: specs(t, "foo==3.0.2=py36h1af98f8_3", "bors>=2"), Available: dummy(t)})
	t.Logf("\n%s", ue)
	wantContains(t, ue.Error(), "constrains bors <2.0, which excludes bors 2.1 | 2.0")
}

func TestTrackFeatures(t *testing.T) {
	// Every track-features build tracks features: the highest still wins
	// among equals.
	got := mustSolve(t, Problem{Specs: specs(t, "track-features"), Available: dummy(t)})
	if r := find(got, "track-features"); r.Version.String() != "4" {
		t.Fatalf("got %v", dists(got))
	}
	// A lower version without track_features beats a higher one with.
	recs := append(dummy(t), &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: "track-features", Version: version.MustParse("0.5"), Build: "plain", Subdir: "linux-64"},
		FileName:      "track-features-0.5-plain.tar.bz2", Channel: dummyURL,
	})
	got = mustSolve(t, Problem{Specs: specs(t, "track-features"), Available: recs})
	if r := find(got, "track-features"); r.Version.String() != "0.5" {
		t.Fatalf("got %v", dists(got))
	}
	// ...unless the spec asks for the tracked one.
	got = mustSolve(t, Problem{Specs: specs(t, "track-features >=2"), Available: recs})
	if r := find(got, "track-features"); r.Version.String() != "4" {
		t.Fatalf("got %v", dists(got))
	}
}

func TestPins(t *testing.T) {
	// A pin restricts without requiring.
	got := mustSolve(t, Problem{Specs: specs(t, "foo"), Constraints: specs(t, "bors <2", "foo <4"), Available: dummy(t)})
	if g := dists(got); !slices.Equal(g, []string{"foo-3.0.2-py36h1af98f8_3"}) {
		t.Fatalf("got %v", g)
	}
	// rattler's panic_on_constraint: xbar needs xfoo >=2, the pin says xfoo==1.
	ue := mustUnsat(t, Problem{Specs: specs(t, "xbar"), Constraints: specs(t, "xfoo==1"), Available: dummy(t)})
	t.Logf("\n%s", ue)
	wantContains(t, ue.Error(), "xbar 1 would require", "xfoo >=2", "xfoo 2, excluded by the constraint xfoo==1")
}

func TestLocked(t *testing.T) {
	recs := dummy(t)
	var old *record.RepoDataRecord
	for _, r := range recs {
		if r.Name == "bors" && r.Version.String() == "1.1" {
			old = r
		}
	}
	// The locked record is kept while it satisfies the specs...
	got := mustSolve(t, Problem{Specs: specs(t, "bors"), Available: recs, Locked: []*record.RepoDataRecord{old}})
	if r := find(got, "bors"); r.Version.String() != "1.1" {
		t.Fatalf("got %v", dists(got))
	}
	// ...and left when it does not.
	got = mustSolve(t, Problem{Specs: specs(t, "bors >=2"), Available: recs, Locked: []*record.RepoDataRecord{old}})
	if r := find(got, "bors"); r.Version.String() != "2.1" {
		t.Fatalf("got %v", dists(got))
	}
	// Without a lock the newest is chosen.
	got = mustSolve(t, Problem{Specs: specs(t, "bors"), Available: recs})
	if r := find(got, "bors"); r.Version.String() != "2.1" {
		t.Fatalf("got %v", dists(got))
	}
}

func TestChannelPriority(t *testing.T) {
	const high, low = "https://example.com/high", "https://example.com/low"
	mk := func(ch, name, ver string, deps ...string) *record.RepoDataRecord {
		return &record.RepoDataRecord{
			PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: "0", Subdir: "noarch", Depends: deps},
			FileName:      name + "-" + ver + "-0.conda", Channel: ch,
		}
	}
	avail := []*record.RepoDataRecord{
		mk(low, "a", "2.0"), mk(high+"/", "a", "1.0"), // trailing slash: same channel
		mk(low, "b", "1.0"), // only in the low channel
		mk(low, "c", "3.0"), mk(high, "c", "1.0"),
	}
	order := []string{high, low}
	solve := func(prio Priority, ss ...string) []*record.RepoDataRecord {
		return mustSolve(t, Problem{Specs: specs(t, ss...), Available: avail, ChannelOrder: order, ChannelPriority: prio})
	}
	chanOf := func(got []*record.RepoDataRecord, name string) string {
		r := find(got, name)
		return strings.TrimRight(r.Channel, "/") + " " + r.Version.String()
	}
	// strict: a comes only from high; b still from low.
	got := solve(Strict, "a", "b")
	if chanOf(got, "a") != high+" 1.0" || chanOf(got, "b") != low+" 1.0" {
		t.Errorf("strict: %v", dists(got))
	}
	ue := mustUnsat(t, Problem{Specs: specs(t, "a >=2"), Available: avail, ChannelOrder: order})
	wantContains(t, ue.Error(), "a >=2, for which no candidates were found in the highest-priority channel of a (a-2.0-0 is in https://example.com/low; strict channel priority excludes it)")
	// flexible: prefer high, fall back to low when needed.
	if got := solve(Flexible, "a"); chanOf(got, "a") != high+" 1.0" {
		t.Errorf("flexible: %v", dists(got))
	}
	if got := solve(Flexible, "a >=2"); chanOf(got, "a") != low+" 2.0" {
		t.Errorf("flexible fallback: %v", dists(got))
	}
	// disabled: highest version wins.
	if got := solve(Disabled, "a", "c"); chanOf(got, "a") != low+" 2.0" || chanOf(got, "c") != low+" 3.0" {
		t.Errorf("disabled: %v", dists(got))
	}
	// A channel-qualified spec overrides strict priority for its package.
	if got := solve(Strict, low+"::a"); chanOf(got, "a") != low+" 2.0" {
		t.Errorf("channel spec: %v", dists(got))
	}
}

func TestDeterministic(t *testing.T) {
	recs := loadChannel(t, index1URL, "conda", "channels", "conda-index1")
	want := dists(mustSolve(t, Problem{Specs: specs(t, "scipy", "python 2.7*"), Available: recs}))
	for i := 0; i < 3; i++ {
		shuffled := slices.Clone(recs)
		for j := range shuffled {
			k := (j*7919 + i*104729) % len(shuffled)
			shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
		}
		if got := dists(mustSolve(t, Problem{Specs: specs(t, "scipy", "python 2.7*"), Available: shuffled})); !slices.Equal(got, want) {
			t.Fatalf("order-dependent result:\n%v\n%v", got, want)
		}
	}
}

// conda's test_timestamps_and_deps: among builds of one version, the one
// whose dependencies reach higher versions wins over a newer timestamp,
// unless the request rules it out.
func TestDependencyVersionsBeforeTimestamp(t *testing.T) {
	recs := loadChannel(t, index1URL, "conda", "channels", "conda-index1")
	h12 := extra("mypackage", "1.0", "libpng 1.2.*")
	h12.Build, h12.Timestamp, h12.FileName = "hash12_0", 1, "mypackage-1.0-hash12_0.tar.bz2"
	h15 := extra("mypackage", "1.0", "libpng 1.5.*")
	h15.Build, h15.Timestamp, h15.FileName = "hash15_0", 0, "mypackage-1.0-hash15_0.tar.bz2"
	recs = append(recs, h12, h15)
	for _, tt := range []struct {
		specs         []string
		build, libpng string
	}{
		{[]string{"mypackage"}, "hash15_0", "1.5.13"},
		{[]string{"libpng 1.2.*", "mypackage"}, "hash12_0", "1.2.50"},
		{[]string{"libpng 1.5.*", "mypackage"}, "hash15_0", "1.5.13"},
	} {
		got := mustSolve(t, Problem{Specs: specs(t, tt.specs...), Available: recs})
		if m, l := find(got, "mypackage"), find(got, "libpng"); m.Build != tt.build || l.Version.String() != tt.libpng {
			t.Errorf("%v: got %v", tt.specs, dists(got))
		}
	}
}

func TestLockedNotAvailable(t *testing.T) {
	// A locked record that the channels no longer list is still preferred.
	gone := extra("bors", "0.9", "")
	gone.Depends = nil
	gone.Channel = dummyURL
	got := mustSolve(t, Problem{Specs: specs(t, "bors"), Available: dummy(t), Locked: []*record.RepoDataRecord{gone}})
	if r := find(got, "bors"); r != gone {
		t.Fatalf("got %v", dists(got))
	}
}
