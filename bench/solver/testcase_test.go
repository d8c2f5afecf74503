package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/solver"
	"github.com/envkit/envkit/conda/version"
	"github.com/envkit/envkit/internal/testdata"
)

func rec(ch, name, ver string, bn int64, ts int64, deps []string, cons ...string) *record.RepoDataRecord {
	return &record.RepoDataRecord{
		PackageRecord: record.PackageRecord{Name: name, Version: version.MustParse(ver), Build: "b" + ver, BuildNumber: bn,
			Timestamp: ts, Depends: deps, Constrains: cons, Subdir: "linux-64"},
		FileName: name + "-" + ver + ".conda", Channel: ch,
	}
}

// solvables parses the testtags of a testcase into "repo name evr" ->
// its Prv/Req/Con lines.
func solvables(t *testing.T, text string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var repo, cur string
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "repo":
			repo = f[1]
		case len(f) == 5 && f[0] == "#>=Pkg:":
			cur = repo + " " + f[1] + " " + f[2] + "-" + f[3]
			if _, dup := out[cur]; dup {
				t.Fatalf("solvable %s twice", cur)
			}
			out[cur] = []string{}
		case len(f) == 2 && strings.HasPrefix(f[0], "#>="):
			out[cur] = append(out[cur], strings.TrimPrefix(f[0], "#>=")+" "+f[1])
		}
	}
	return out
}

func TestTestcaseTranslation(t *testing.T) {
	const a, b = "https://a.example/main", "https://b.example/main"
	p := solver.Problem{
		Specs: []*matchspec.MatchSpec{matchspec.MustParse("app")},
		Available: []*record.RepoDataRecord{
			rec(a, "app", "1.0", 0, 0, []string{"lib >=2", "__glibc >=2.17"}, "tool <2"),
			rec(a, "lib", "2.0", 0, 0, nil),
			rec(a, "lib", "10.0", 0, 0, nil), // conda order: 10.0 > 2.0 (not as text)
			rec(b, "lib", "1.0", 0, 0, nil),
			rec(b, "tool", "1.0", 0, 0, nil),
			rec(b, "tool", "3.0", 0, 0, nil),
		},
		Virtual:         []*record.PackageRecord{{Name: "__glibc", Version: version.MustParse("2.28"), Build: "0"}},
		ChannelOrder:    []string{a, b},
		ChannelPriority: solver.Flexible,
	}
	tc, err := newTestcase(p)
	if err != nil {
		t.Fatal(err)
	}
	s := solvables(t, tc.text)
	// Capabilities are numbered in order of first use: the request "app"
	// is d:0, then app's depends d:1 (lib >=2), d:2 (__glibc), its
	// constrains c:0.
	want := map[string][]string{
		"system __glibc 1-0": {"Prv: d:2"},
		"ch0 app 1-0":        {"Prv: d:0", "Req: d:1", "Req: d:2", "Con: c:0"},
		"ch0 lib 3-0":        {"Prv: d:1"}, // 10.0: best of three
		"ch0 lib 2-0":        {"Prv: d:1"},
		"ch1 lib 1-0":        {},
		"ch1 tool 1-0":       {},
		"ch1 tool 2-0":       {"Prv: c:0"}, // 3.0 violates "tool <2"
	}
	for k, v := range want {
		if got, ok := s[k]; !ok || !slices.Equal(got, v) {
			t.Errorf("%s: %v, want %v", k, got, v)
		}
	}
	if len(s) != len(want) {
		t.Errorf("solvables %v", s)
	}
	for _, line := range []string{"repo ch0 1000 testtags <inline>", "repo ch1 999 testtags <inline>",
		"system x86_64 rpm system", "job install provides d:0"} {
		if !strings.Contains(tc.text, line+"\n") {
			t.Errorf("no %q in\n%s", line, tc.text)
		}
	}
	if strings.Contains(tc.text, "strictrepopriority") {
		t.Error("flexible priority made strict")
	}
	if tc.dist["lib 3-0"] != "lib-10.0-b10.0" || tc.capabilities != 4 {
		t.Errorf("dist %v, %d capabilities", tc.dist, tc.capabilities)
	}

	p.ChannelPriority = solver.Strict
	if tc, _ := newTestcase(p); !strings.Contains(tc.text, "solverflags strictrepopriority\n") {
		t.Error("strict priority not passed to libsolv")
	}
}

func TestCondaOrder(t *testing.T) {
	tracked := rec("c", "x", "2.0", 0, 0, nil)
	tracked.TrackFeatures = record.StringList{"mkl"}
	recs := []*record.RepoDataRecord{
		rec("c", "x", "1.0", 5, 0, nil),
		tracked,
		rec("c", "x", "2.0", 1, 1, nil),
		rec("c", "x", "2.0", 1, 2, nil),
		rec("c", "x", "2.0rc1", 9, 0, nil),
	}
	slices.SortFunc(recs, condaOrder)
	var got []string
	for _, r := range recs {
		got = append(got, r.Version.String()+"/"+string(rune('0'+r.BuildNumber))+"/"+string(rune('0'+r.Timestamp)))
	}
	want := []string{"2.0/1/2", "2.0/1/1", "2.0rc1/9/0", "1.0/5/0", "2.0/0/0"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

// TestMirroredRanks checks that copies of one artifact on several channels
// share an evr, so that libsolv's solution maps back to one dist.
func TestMirroredRanks(t *testing.T) {
	recs, _, err := loadFile(testdata.Path(t, "conda", "channels", "conda-index1", "linux-64", "repodata.json"), index1URL)
	if err != nil {
		t.Fatal(err)
	}
	var all []*record.RepoDataRecord
	for _, ch := range []string{"https://m0.example", "https://m1.example"} {
		for _, r := range recs {
			c := *r
			c.Channel = ch
			all = append(all, &c)
		}
	}
	tc, err := newTestcase(solver.Problem{Specs: []*matchspec.MatchSpec{matchspec.MustParse("python 2.7*")}, Available: all})
	if err != nil {
		t.Fatal(err)
	}
	s := solvables(t, tc.text)
	if len(s) != len(all) {
		t.Fatalf("%d solvables for %d records", len(s), len(all))
	}
	if len(tc.dist) != len(recs) {
		t.Errorf("%d distinct evrs for %d distinct records", len(tc.dist), len(recs))
	}
	for k, v := range s {
		if repo, rest, _ := strings.Cut(k, " "); repo == "ch0" && !slices.Equal(s["ch1 "+rest], v) {
			t.Errorf("%s differs between mirrors: %v vs %v", rest, v, s["ch1 "+rest])
		}
	}
}

func TestParseLibsolvRun(t *testing.T) {
	tc := &testcase{dist: map[string]string{"lib 3-0": "lib-10.0-b", "app 1-0": "app-1.0-b"}}
	out := "libsolv 0.7.23 conda no\nload_ms 1.5\nsolvables 9\nsolve_ms 2.0 1 1 0\nsolve_ms 1.5 0 1 0\nproblems 0\n" +
		"install lib 3-0 ch0\ninstall app 1-0 ch0\n"
	run, err := parseLibsolvRun(strings.NewReader(out), tc)
	if err != nil {
		t.Fatal(err)
	}
	if run.Version != "0.7.23" || run.Conda || run.LoadMS != 1.5 || !slices.Equal(run.SolveMS, []float64{2, 1.5}) || !slices.Equal(run.NoChoiceMS, []float64{1, 0.5}) ||
		!slices.Equal(run.Installed, []string{"app-1.0-b", "lib-10.0-b"}) {
		t.Errorf("%+v", run)
	}
	for _, bad := range []string{out + "install lib 4-0 ch0\n", out + "what 1\n", "load_ms x\n", "load_ms 1\n", "solve_ms 1\nproblems 0\n"} {
		if _, err := parseLibsolvRun(strings.NewReader(bad), tc); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestDiffNames(t *testing.T) {
	got := diffNames([]string{"a-1-0", "b-2-py37_0", "c-1-0"}, []string{"a-1-0", "b-2-py35_0", "d-1-0"})
	want := []nameDiff{{"b", "2-py37_0", "2-py35_0"}, {"c", "1-0", "-"}, {"d", "-", "1-0"}}
	if !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

func TestRenameSpecs(t *testing.T) {
	got := renameSpecs([]string{"python >=2.7,<2.8.0a0", "zlib", "numpy 1.11* py27_0"}, "-m3")
	want := []string{"python-m3 >=2.7,<2.8.0a0", "zlib-m3", "numpy-m3 1.11* py27_0"}
	if !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestCheckSolution(t *testing.T) {
	app := rec("c", "app", "1.0", 0, 0, []string{"lib >=2", "__glibc >=2.17"}, "tool <2")
	lib2, lib1 := rec("c", "lib", "2.0", 0, 0, nil), rec("c", "lib", "1.0", 0, 0, nil)
	tool3 := rec("c", "tool", "3.0", 0, 0, nil)
	p := solver.Problem{
		Specs:   []*matchspec.MatchSpec{matchspec.MustParse("app")},
		Virtual: []*record.PackageRecord{{Name: "__glibc", Version: version.MustParse("2.28"), Build: "0"}},
	}
	if err := checkSolution(p, []*record.RepoDataRecord{app, lib2}); err != nil {
		t.Errorf("valid solution: %v", err)
	}
	for name, sol := range map[string][]*record.RepoDataRecord{
		"request":    {lib2},
		"depends":    {app, lib1},
		"missing":    {app},
		"constrains": {app, lib2, tool3},
		"two of one": {app, lib2, lib1},
	} {
		if err := checkSolution(p, sol); err == nil {
			t.Errorf("%s: invalid solution accepted", name)
		}
	}
	p.Virtual = nil
	if err := checkSolution(p, []*record.RepoDataRecord{app, lib2}); err == nil {
		t.Error("virtual dependency satisfied without virtual packages")
	}
}
