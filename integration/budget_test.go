package integration

import (
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// 600 generated packages, one of them large, under the default limit: the
// image has at most 100 layers, the large package a layer of its own, two
// of its tools run in a RUN on top of it and under containerd, and a new
// version of one small package changes two layers: its group's and the
// metadata's.
func TestCondaBudget600(t *testing.T) {
	e := harness.Get(t)
	g := newGenEnv(t, e, condatest.GenOptions{N: 600, Big: 1, Seed: "budget"}, e.Base.Base)
	r := g.build(t, e, e.Ref("it/budget-600:1"))
	layers := r.Image.Manifest.Layers
	t.Logf("600 packages: %d layers, built and pushed in %v, %d bytes stored", len(layers), r.Took.Round(time.Millisecond), r.PushedBytes)
	if len(layers) > envllb.DefaultMaxLayers || len(layers) < envllb.DefaultMaxLayers/2 {
		t.Errorf("%d layers, want at most %d (and most of them used)", len(layers), envllb.DefaultMaxLayers)
	}
	bySize := g.G.BySize()
	big, small := bySize[0], bySize[len(bySize)-1]
	var alone bool
	for _, h := range r.Image.Config.History {
		alone = alone || h.CreatedBy == "envkit: conda package "+g.G.Installed[big]
	}
	if !alone {
		t.Errorf("the large package %s (%d bytes) has no layer of its own", big, g.G.Sizes[big])
	}
	tools := g.G.Tools[:2]
	run := newProject(t, "Dockerfile", "FROM "+r.Ref+"\nRUN "+tools[0]+" > /run.txt && "+tools[1]+" >> /run.txt\n", map[string]string{})
	ctx := ctxFor(t)
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, e.Ref("it/budget-600-run:1")); err != nil {
		t.Fatal(err)
	}
	want := g.G.ToolOutput(tools[0], envllb.DefaultPrefix) + g.G.ToolOutput(tools[1], envllb.DefaultPrefix)
	if got, err := e.Reg.ReadFile(ctx, e.Ref("it/budget-600-run:1"), "linux/amd64", "/run.txt"); err != nil || string(got) != want {
		t.Errorf("tools in a RUN: %q %v, want %q", got, err, want)
	}
	g.runTools(t, e, r.Ref, 2)

	g.bump(t, map[string]int{small: 1})
	r2 := g.build(t, e, e.Ref("it/budget-600:2"))
	had := map[string]bool{}
	for _, l := range layers {
		had[l.Digest.String()] = true
	}
	changed := 0
	for _, l := range r2.Image.Manifest.Layers {
		if !had[l.Digest.String()] {
			changed++
		}
	}
	t.Logf("a new version of %s: %d layers changed, built and pushed in %v, %d bytes stored", small, changed, r2.Took.Round(time.Millisecond), r2.PushedBytes)
	if changed > 2 || len(r2.Image.Manifest.Layers) != len(layers) {
		t.Errorf("a new version of %s changed %d of %d layers (%d before), want its group's and the metadata's", small, changed, len(r2.Image.Manifest.Layers), len(layers))
	}
}
