package solver

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/matchspec"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/testdata"
)

// repodata is the part of a repodata.json the tests read (conda/repodata
// is written in parallel; the solver tests do not depend on it).
type repodata struct {
	Packages      map[string]record.PackageRecord `json:"packages"`
	PackagesConda map[string]record.PackageRecord `json:"packages.conda"`
}

func toRecords(t testing.TB, rd repodata, channel, subdir string) []*record.RepoDataRecord {
	t.Helper()
	var out []*record.RepoDataRecord
	for _, m := range []map[string]record.PackageRecord{rd.Packages, rd.PackagesConda} {
		for fn, pr := range m {
			if pr.Subdir == "" {
				pr.Subdir = subdir
			}
			out = append(out, &record.RepoDataRecord{
				PackageRecord: pr, FileName: fn, Channel: channel,
				URL: channel + "/" + pr.Subdir + "/" + fn,
			})
		}
	}
	// Map iteration is random: the solver must not care, but keep the
	// input itself reproducible for benchmarks.
	sort.Slice(out, func(i, j int) bool { return out[i].FileName < out[j].FileName })
	return out
}

// loadChannel reads every subdir repodata.json of a shared fixture channel.
func loadChannel(t testing.TB, channel string, elem ...string) []*record.RepoDataRecord {
	t.Helper()
	dir := testdata.Path(t, elem...)
	subdirs, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*record.RepoDataRecord
	for _, sd := range subdirs {
		data, err := os.ReadFile(filepath.Join(dir, sd.Name(), "repodata.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		var rd repodata
		if err := json.Unmarshal(data, &rd); err != nil {
			t.Fatalf("%s/%s: %v", dir, sd.Name(), err)
		}
		out = append(out, toRecords(t, rd, channel, sd.Name())...)
	}
	return out
}

// loadIndex reads a repodata file or a flat {filename: record} index.
func loadIndex(t testing.TB, channel string, elem ...string) []*record.RepoDataRecord {
	t.Helper()
	data, err := os.ReadFile(testdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	var rd repodata
	if err := json.Unmarshal(data, &rd); err == nil && (len(rd.Packages) > 0 || len(rd.PackagesConda) > 0) {
		return toRecords(t, rd, channel, "")
	}
	rd = repodata{}
	if err := json.Unmarshal(data, &rd.Packages); err != nil {
		t.Fatal(err)
	}
	return toRecords(t, rd, channel, "")
}

func specs(t testing.TB, ss ...string) []*MatchSpec {
	t.Helper()
	var out []*MatchSpec
	for _, s := range ss {
		m, err := matchspec.ParseLenient(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func dists(recs []*record.RepoDataRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Dist())
	}
	slices.Sort(out)
	return out
}

func mustSolve(t *testing.T, p Problem) []*record.RepoDataRecord {
	t.Helper()
	got, err := Solve(context.Background(), p)
	if err != nil {
		t.Fatalf("solve %v: %v", p.Specs, err)
	}
	return got
}

func mustUnsat(t *testing.T, p Problem) *UnsatError {
	t.Helper()
	got, err := Solve(context.Background(), p)
	var ue *UnsatError
	if !errors.As(err, &ue) {
		t.Fatalf("solve %v: want *UnsatError, got %v (solution %v)", p.Specs, err, dists(got))
	}
	return ue
}

func find(recs []*record.RepoDataRecord, name string) *record.RepoDataRecord {
	for _, r := range recs {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func wantContains(t *testing.T, text string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(text, s) {
			t.Errorf("explanation lacks %q:\n%s", s, text)
		}
	}
}
