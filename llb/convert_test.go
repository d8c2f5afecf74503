package llb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/hash"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/solver/pb"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

const baseRef = "registry.example/base:1"

// baseRegistry answers BuildKit's image config resolution for the one base
// image the tests build on, as a registry would.
type baseRegistry struct{}

var (
	baseConfig = []byte(`{"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]},
 "rootfs": {"type": "layers", "diff_ids": ["sha256:` + strings.Repeat("1", 64) + `"]}, "history": [{"created_by": "base"}]}`)
	baseDigest = digest.FromBytes([]byte("the base manifest"))
)

func (baseRegistry) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if !strings.Contains(ref, baseRef) {
		return "", "", nil, fmt.Errorf("%s: not found", ref)
	}
	return ref, baseDigest, baseConfig, nil
}

var amd64 = &ocispecs.Platform{OS: "linux", Architecture: "amd64"}

// convert converts the environment file y as the frontend does for an image
// environment: its Dockerfile on the YAML's lines, the YAML as source map.
func convert(t *testing.T, y string, conda *Conda) (*Result, *graph) {
	t.Helper()
	env := load(t, y)
	df, aligned := Dockerfile(env)
	if !aligned {
		t.Fatalf("not aligned:\n%s", df)
	}
	h, err := hash.Compute(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Env: env, Hash: h, Dockerfile: df, SourceMap: bkllb.NewSourceMap(nil, "env.yml", "YAML", []byte(y))}
	res, err := Convert(context.Background(), in, amd64, conda, Options{MetaResolver: baseRegistry{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.Config.Labels[LabelHash] != h.String() {
		t.Errorf("hash label %q, want %s", res.Image.Config.Labels[LabelHash], h)
	}
	return res, marshal(t, res.State)
}

// kind returns the ops of a kind ("exec", "source", "file", "merge").
func (g *graph) kind(kind string) []*pb.Op {
	var ops []*pb.Op
	for _, op := range g.ops {
		var ok bool
		switch kind {
		case "exec":
			ok = op.GetExec() != nil
		case "source":
			ok = op.GetSource() != nil
		case "file":
			ok = op.GetFile() != nil
		case "merge":
			ok = op.GetMerge() != nil
		}
		if ok {
			ops = append(ops, op)
		}
	}
	return ops
}

// An image environment is its base image, with envkit's labels and
// variables in the config the base's config carries forward.
func TestConvertImage(t *testing.T) {
	res, g := convert(t, "name: vision\nversion: \"2\"\nimage: "+baseRef+"\nenvironment_variables:\n  OMP_NUM_THREADS: \"1\"\n", nil)
	src := g.kind("source")
	if len(src) != 1 || !strings.Contains(src[0].GetSource().Identifier, "docker-image://"+baseRef) || len(g.kind("exec")) != 0 || len(g.kind("merge")) != 0 {
		t.Errorf("want the base image alone, got %d ops: %v", len(g.ops), g.ops)
	}
	cfg := res.Image.Config
	if !slices.Contains(cfg.Env, "PATH=/usr/bin:/bin") || !slices.Contains(cfg.Env, "OMP_NUM_THREADS=1") || !slices.Contains(cfg.Env, "LANG=C.UTF-8") {
		t.Errorf("env %v", cfg.Env)
	}
	for k, want := range map[string]string{LabelName: "vision", LabelVersion: "2", LabelKind: "user-managed", ociBaseName: baseRef, ociBaseDigest: baseDigest.String()} {
		if cfg.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], want)
		}
	}
}

// Docker steps run on the base, each marked at its line of the YAML.
func TestConvertDockerSteps(t *testing.T) {
	y := "name: steps\nimage: " + baseRef + "\ndocker_steps: |\n  ENV A=1\n  RUN echo one\n"
	_, g := convert(t, y, nil)
	execs := g.kind("exec")
	if len(execs) != 1 || !strings.Contains(strings.Join(execs[0].GetExec().Meta.Args, " "), "echo one") {
		t.Fatalf("execs %v", execs)
	}
	var lines []int32
	for d, op := range g.ops {
		if op.GetExec() == nil {
			continue
		}
		for _, l := range g.def.Source.GetLocations()[d.String()].GetLocations() {
			if info := g.def.Source.Infos[l.SourceIndex]; info.Filename != "env.yml" {
				t.Errorf("RUN located in %s", info.Filename)
			}
			for _, r := range l.Ranges {
				lines = append(lines, r.Start.Line)
			}
		}
	}
	if !slices.Equal(lines, []int32{5}) {
		t.Errorf("RUN marked at lines %v of env.yml, want 5", lines)
	}
}

// A conda environment's packages are merged over the Docker build, one
// layer each and the metadata's, and activated in the config.
func TestConvertConda(t *testing.T) {
	y := "name: conda\nimage: " + baseRef + "\ndocker_steps: |\n  RUN echo one\nconda_file:\n  channels: [https://conda.example/c]\n  dependencies: [tool, pyhello]\n"
	recs := testRecords(t)
	res, g := convert(t, y, testConda(recs...))
	merges := g.kind("merge")
	if len(merges) != 1 {
		t.Fatalf("%d merge ops", len(merges))
	}
	merge := g.named(t, fmt.Sprintf("conda: merge %d packages", len(recs)))
	if n := len(merge.Inputs); n != 1+len(recs)+1 {
		t.Errorf("merge of %d inputs, want the Docker build, %d packages and the metadata", n, len(recs))
	}
	if first := g.ops[digest.Digest(merge.Inputs[0].Digest)]; !strings.Contains(strings.Join(first.GetExec().GetMeta().GetArgs(), " "), "echo one") {
		t.Errorf("the merge does not start with the Docker steps: %v", first)
	}
	if n := len(g.kind("exec")); n != 1+len(recs)+1 {
		t.Errorf("%d execs", n)
	}
	cfg := res.Image.Config
	if !slices.Contains(cfg.Env, "PATH="+DefaultPrefix+"/bin:/usr/bin:/bin") || !slices.Contains(cfg.Env, "CONDA_PREFIX="+DefaultPrefix) || cfg.Labels[LabelKind] != "system-managed" {
		t.Errorf("config %v %v", cfg.Env, cfg.Labels)
	}
	var created []string
	for _, h := range res.Image.History {
		created = append(created, h.CreatedBy)
	}
	want := []string{"envkit: conda package python-3.10.12-h0_0", "envkit: conda package libfoo-1.0-h0_0", "envkit: conda package tool-2.0-0",
		"envkit: conda package pyhello-0.1-py_0", "envkit: conda environment metadata (conda-meta history, state, lock)"}
	if len(created) < len(want) || !slices.Equal(created[len(created)-len(want):], want) {
		t.Errorf("history %q", created)
	}
}

func TestConvertCondaMismatch(t *testing.T) {
	env := load(t, "name: a\nimage: "+baseRef+"\n")
	_, err := Convert(context.Background(), Input{Env: env}, amd64, testConda(testRecords(t)...), Options{MetaResolver: baseRegistry{}})
	if err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("conda without a conda part: %v", err)
	}
}
