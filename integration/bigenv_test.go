package integration

import (
	"testing"
	"time"

	"github.com/envkit/envkit/integration/harness"
	"github.com/envkit/envkit/internal/condatest"
	envllb "github.com/envkit/envkit/llb"
)

// An environment of real size (600 generated packages, one of them large)
// builds through the frontend into an image of at most 100 layers that
// works where images are used: a RUN in a Dockerfile on top of it runs two
// of its tools, and it runs under containerd. A new version of one package
// changes at most 3 of its layers (by digest), and the new version is what
// runs.
func TestBigEnvironment(t *testing.T) {
	const n = 600
	e := harness.Get(t)
	g := newGenEnv(t, e, condatest.GenOptions{N: n, Big: 1, Seed: "bigenv"}, e.Base.Base)
	r := g.build(t, e, e.Ref("it/bigenv:1"))
	layers := r.Image.Manifest.Layers
	t.Logf("%d packages (%d MiB): %d layers, built and pushed in %v, %d bytes stored",
		n, g.G.TotalSize()>>20, len(layers), r.Took.Round(time.Millisecond), r.PushedBytes)
	if len(layers) > envllb.DefaultMaxLayers {
		t.Errorf("the image has %d layers, want at most %d", len(layers), envllb.DefaultMaxLayers)
	}
	if len(g.G.Tools) < 2 {
		t.Fatalf("%d tools generated, want 2", len(g.G.Tools))
	}
	// The largest package keeps a layer of its own (the budget groups the
	// small ones).
	big := g.G.BySize()[0]
	var alone bool
	for _, h := range r.Image.Config.History {
		alone = alone || h.CreatedBy == "envkit: conda package "+g.G.Installed[big]
	}
	if !alone {
		t.Errorf("the large package %s (%d bytes) has no layer of its own", big, g.G.Sizes[big])
	}

	// Two tools in a RUN of a Dockerfile built on the image: the
	// environment is on the PATH the image config sets.
	tools := g.G.Tools[:2]
	ctx := ctxFor(t)
	run := newProject(t, "Dockerfile", "FROM "+r.Ref+"\nRUN "+tools[0]+" > /tools.txt && "+tools[1]+" >> /tools.txt\n", map[string]string{})
	if _, err := e.BuildDockerfile(ctx, run.dir, nil, e.Ref("it/bigenv-run:1")); err != nil {
		t.Fatalf("a RUN on top of the image: %v", err)
	}
	want := g.G.ToolOutput(tools[0], envllb.DefaultPrefix) + g.G.ToolOutput(tools[1], envllb.DefaultPrefix)
	if got, err := e.Reg.ReadFile(ctx, e.Ref("it/bigenv-run:1"), "linux/amd64", "/tools.txt"); err != nil || string(got) != want {
		t.Errorf("two tools in a RUN printed %q (%v), want %q", got, err, want)
	}

	// The same two under containerd (ctr images pull --plain-http, ctr run).
	g.runTools(t, e, r.Ref, 2)

	// A new version of one package: the first tool, so that what runs
	// shows the new version.
	bumped := tools[0]
	g.bump(t, map[string]int{bumped: 1})
	r2 := g.build(t, e, e.Ref("it/bigenv:2"))
	had := map[string]bool{}
	for _, l := range layers {
		had[l.Digest.String()] = true
	}
	var changed []string
	for _, l := range r2.Image.Manifest.Layers {
		if !had[l.Digest.String()] {
			changed = append(changed, l.Digest.String())
		}
	}
	t.Logf("a new version of %s (%d bytes): %d of %d layers changed, built and pushed in %v, %d bytes stored",
		bumped, g.G.Sizes[bumped], len(changed), len(r2.Image.Manifest.Layers), r2.Took.Round(time.Millisecond), r2.PushedBytes)
	if len(changed) > 3 {
		t.Errorf("a new version of %s changed %d layers (%v), want at most 3", bumped, len(changed), changed)
	}
	if len(changed) == 0 {
		t.Errorf("a new version of %s changed no layer", bumped)
	}
	g.runTools(t, e, r2.Ref, 1)
}
