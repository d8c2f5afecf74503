package frontend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/conda/envfile"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/resolve"
	"github.com/envkit/envkit/internal/helper"
	envllb "github.com/envkit/envkit/llb"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/opencontainers/go-digest"
)

func failureRecord(t *testing.T, name, sha string, depends ...string) *record.RepoDataRecord {
	t.Helper()
	r := &record.RepoDataRecord{PackageRecord: record.PackageRecord{Name: name, Build: "0", Subdir: "linux-64", Depends: depends, SHA256: sha},
		FileName: name + "-1.0-0.conda", URL: "http://127.0.0.1:9/ch/linux-64/" + name + "-1.0-0.conda", Channel: "http://127.0.0.1:9/ch"}
	return r
}

// A failed fetch or link of a package names the package, its URL and
// channel, the sha256 it is fetched by, the line of the conda file that
// brought it in and through which dependency, keeps BuildKit's message
// verbatim (the received digest is only there) and marks the line.
func TestPackageError(t *testing.T) {
	recs := []*record.RepoDataRecord{
		failureRecord(t, "libbar", strings.Repeat("b", 64)),
		failureRecord(t, "libfoo", strings.Repeat("f", 64), "libbar"),
		failureRecord(t, "tool", strings.Repeat("c", 64), "libfoo >=1"),
	}
	ef, err := envfile.Parse("conda.yml", []byte("channels: [http://127.0.0.1:9/ch]\ndependencies:\n  - python\n  - tool\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := &envllb.Conda{Records: recs, Prefix: envllb.DefaultPrefix, Subdir: "linux-64", Helper: llb.Image("frontend:test"), HelperPath: helper.Path}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	def, err := llb.Merge(layers).Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops, err := envllb.PackageOps(def, recs)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]digest.Digest{}
	for _, dt := range def.Def {
		d := digest.FromBytes(dt)
		byName[def.Metadata[d].Description["llb.customname"]] = d
	}
	origins := resolve.Origins(envfile.Values(ef.Dependencies), recs)
	buildkit := "failed to load cache key: digest mismatch sha256:" + strings.Repeat("0", 64) + ": sha256:" + strings.Repeat("b", 64)
	failed := func(vertex digest.Digest, msg string) error {
		err := errdefs.WrapVertex(errors.New(msg), vertex)
		return grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), err))
	}
	sm := llb.NewSourceMap(nil, "conda.yml", "YAML", []byte("..."))

	err = withPackageSource(packageError(failed(byName["conda: fetch libbar-1.0-0.conda"], buildkit), ops, origins, ef), sm)
	for _, want := range []string{"conda.yml:4: ", "libbar-1.0-0.conda (required by tool (conda.yml:4) → libfoo → libbar)",
		"from channel http://127.0.0.1:9/ch", "http://127.0.0.1:9/ch/linux-64/libbar-1.0-0.conda", "expected sha256:" + strings.Repeat("b", 64), buildkit} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("fetch failure %q does not say %q", err, want)
		}
	}
	var ve *errdefs.VertexError
	if !errors.As(err, &ve) || ve.Digest != byName["conda: fetch libbar-1.0-0.conda"].String() {
		t.Error("the vertex is lost")
	}
	// What the gateway sends: our message, the vertex and the source.
	sent := grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), err))
	if !strings.Contains(sent.Error(), "libbar-1.0-0.conda (required by tool (conda.yml:4) → libfoo → libbar)") || !strings.Contains(sent.Error(), buildkit) {
		t.Errorf("sent as %q", sent)
	}
	if !errors.As(sent, &ve) || len(errdefs.Sources(sent)) != 1 {
		t.Errorf("sent without its vertex or source: %v", sent)
	}
	if src := errdefs.Sources(err); len(src) != 1 || src[0].Info.Filename != "conda.yml" || src[0].Ranges[0].Start.Line != 4 {
		t.Errorf("sources %v, want conda.yml line 4", src)
	}

	err = packageError(failed(byName["conda: link "+recs[2].Dist()], "process did not complete successfully: exit code: 1"), ops, origins, ef)
	if want := "conda.yml:4: linking tool-1.0-0.conda (requested at conda.yml:4) failed: process did not complete successfully: exit code: 1"; !strings.Contains(err.Error(), want) {
		t.Errorf("link failure %q, want %q", err, want)
	}

	other := failed(byName["conda: environment metadata"], "exit code: 1")
	if got := packageError(other, ops, origins, ef); got != other { //nolint:errorlint // the very error, not one wrapping it
		t.Errorf("another vertex's failure became %q", got)
	}
	plain := errors.New("no vertex")
	if got := packageError(plain, ops, origins, ef); got != plain { //nolint:errorlint // the very error, not one wrapping it
		t.Errorf("an error without a vertex became %q", got)
	}
}

// The fetch and link ops of a package carry the line of the spec that
// brought it in, each line once for an exec linking several packages.
func TestPackageLocations(t *testing.T) {
	recs := []*record.RepoDataRecord{
		failureRecord(t, "libbar", strings.Repeat("b", 64)),
		failureRecord(t, "libfoo", strings.Repeat("f", 64), "libbar"),
		failureRecord(t, "tool", strings.Repeat("c", 64), "libfoo >=1"),
		failureRecord(t, "docs", strings.Repeat("d", 64)),
	}
	data := []byte("channels: [http://127.0.0.1:9/ch]\ndependencies:\n  - docs\n  - tool\n")
	ef, err := envfile.Parse("conda.yml", data)
	if err != nil {
		t.Fatal(err)
	}
	sm := llb.NewSourceMap(nil, "conda.yml", "YAML", data)
	locate := packageLocations(resolve.Origins(envfile.Values(ef.Dependencies), recs), ef, sm)
	c := &envllb.Conda{Records: recs, Prefix: envllb.DefaultPrefix, Subdir: "linux-64", Helper: llb.Image("frontend:test"), HelperPath: helper.Path,
		Locations: locate, PackageLayers: 2}
	layers, err := c.Layers()
	if err != nil {
		t.Fatal(err)
	}
	def, err := llb.Merge(layers).Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := func(d digest.Digest) []int32 {
		var out []int32
		if locs := def.Source.Locations[d.String()]; locs != nil {
			for _, l := range locs.Locations {
				for _, r := range l.Ranges {
					out = append(out, r.Start.Line)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	line := map[string]int32{"docs": 3, "tool": 4, "libfoo": 4, "libbar": 4}
	ops, err := envllb.PackageOps(def, recs)
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for d, op := range ops {
		var want []int32
		for _, r := range op.Records {
			if !slices.Contains(want, line[r.Name]) {
				want = append(want, line[r.Name])
			}
		}
		slices.Sort(want)
		if got := lines(d); !slices.Equal(got, want) {
			t.Errorf("%s of %d packages (fetch %v): lines %v, want %v", d, len(op.Records), op.Fetch, got, want)
		}
		if !op.Fetch {
			links++
		}
	}
	if links != 2 {
		t.Errorf("%d link execs, want the 2 groups", links)
	}
}
