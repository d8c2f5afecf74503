package llb

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/helper"
	bkllb "github.com/moby/buildkit/client/llb"
)

// A project directory is built as an sdist is, from the state that holds
// it (the build's own files, not fetched), and its wheel is installed with
// direct_url.json's dir_info; the step names say it is a directory.
func TestProjectLayer(t *testing.T) {
	recs := testRecords(t)
	c := testConda(recs...)
	src := bkllb.Scratch().File(bkllb.Mkdir("/mypkg", 0o755), bkllb.WithCustomName("the project"))
	c.Wheels = []*Wheel{testWheel("pip", "23.0.1", ""), {Name: "mypkg", Version: "1.0", URL: "file:src/mypkg", SHA256: strings.Repeat("ab", 32),
		Filename: "mypkg", Sdist: true, Project: true, Requested: true, Source: &src}}
	layers, err := c.LayersOn(bkllb.Image("docker.io/library/debian:bookworm"))
	if err != nil {
		t.Fatal(err)
	}
	g := marshal(t, bkllb.Merge(layers))
	build := g.named(t, "pip: build a wheel from the project directory src/mypkg")
	args := build.GetExec().Meta.Args
	if args[3] != "/sdist/mypkg" {
		t.Errorf("build args %q", args)
	}
	var in helper.WheelInput
	if err := json.Unmarshal([]byte(args[5]), &in); err != nil {
		t.Fatal(err)
	}
	du := in.Wheels[0].DirectURL
	if du == nil || du.Dir == nil || du.Archive != nil || du.URL != "file:///sdist/mypkg" || !in.Wheels[0].Requested {
		t.Errorf("direct URL %+v", du)
	}
	m, s := g.mount(t, build, sdistDir)
	if !m.Readonly || s != g.named(t, "the project") {
		t.Errorf("the project mount %+v of %+v", m, s)
	}
	_, sc := g.mount(t, build, sdistScriptDir)
	if got := string(mkfile(t, sc, sdistScriptFile)); !strings.Contains(got, "shutil.copytree(sdist, src, symlinks=True)") {
		t.Errorf("build script %q", got)
	}
	g.named(t, "pip: install the wheel built from the project directory src/mypkg")
}
