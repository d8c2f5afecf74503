package main

import (
	"context"
	"strings"
	"testing"

	"github.com/envkit/envkit/frontend"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// --max-layers N reaches the frontend as its max-layers option; unset or
// 0 leaves the frontend's default; anything but a number of layers is a
// usage error, before any work.
func TestMaxLayersFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // the frontend option, "" for none
	}{
		{nil, ""},
		{[]string{"--max-layers", "0"}, ""},
		{[]string{"--max-layers", "60"}, "60"},
		{[]string{"--max-layers=1"}, "1"},
		{[]string{"--max-layers", "250"}, "250"},
	} {
		opt := &buildOptions{file: "env.yml"}
		if err := buildCommand(opt).Flags().Parse(c.args); err != nil {
			t.Fatal(err)
		}
		n, err := parseMaxLayers(opt.maxLayersFlag)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		opt.maxLayers = n
		got, ok := frontendAttrs(*opt)[frontend.KeyMaxLayers]
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%q: frontend option %s=%q (set: %v), want %q", c.args, frontend.KeyMaxLayers, got, ok, c.want)
		}
	}

	dir := t.TempDir()
	env := writeFile(t, dir, "env.yml", "name: t\nimage: busybox\n")
	for _, v := range []string{"-1", "many", "1.5", "0x10", " 3"} {
		code, out, errs := runCLI(t, "build", env, "--max-layers", v)
		want := `envkit build: --max-layers "` + v + `": want a number of layers, 1 or more (0: the default, 100)`
		if code != exitUsage || out != "" || !strings.Contains(errs, want) || !strings.Contains(errs, "--help' for usage.") {
			t.Errorf("--max-layers %q: exit %d, stdout %q, stderr:\n%s", v, code, out, errs)
		}
	}
}

// An image of the hash is reused under --max-layers N when each target
// platform's image has at most N layers, and built again (with its stored
// lock) when one has more; without --max-layers its layers do not count.
func TestReusableMaxLayers(t *testing.T) {
	ctx := context.Background()
	s, reg := testStore(t)
	if err := remote.Write(mustTag(t, reg+"/envkit/env:envkit_1"), layeredImage(t, "amd64", 5, nil)); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: layeredImage(t, "amd64", 2, nil), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: layeredImage(t, "arm64", 6, nil), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	if err := remote.WriteIndex(mustTag(t, reg+"/envkit/env:envkit_2"), idx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hash      string
		platforms []string
		max       int
		reuse     bool
		why       string
	}{
		{"envkit_1", []string{"linux/amd64"}, 0, true, "no base image to check"},
		{"envkit_1", []string{"linux/amd64"}, 100, true, "no base image to check"},
		{"envkit_1", []string{"linux/amd64"}, 5, true, "no base image to check"},
		{"envkit_1", []string{"linux/amd64"}, 4, false, reg + "/envkit/env:envkit_1 has 5 layers for linux/amd64, more than --max-layers 4"},
		{"envkit_2", []string{"linux/amd64"}, 2, true, "no base image to check"},
		{"envkit_2", []string{"linux/amd64,linux/arm64"}, 0, true, "no base image to check"},
		{"envkit_2", []string{"linux/amd64,linux/arm64"}, 6, true, "no base image to check"},
		{"envkit_2", []string{"linux/amd64,linux/arm64"}, 3, false, reg + "/envkit/env:envkit_2 has 6 layers for linux/arm64, more than --max-layers 3"},
	} {
		img, reuse, why, err := reusable(ctx, s, c.hash, buildOptions{platforms: c.platforms, maxLayers: c.max})
		if err != nil || img == nil || reuse != c.reuse || why != c.why {
			t.Errorf("%s %q --max-layers %d: reuse %v (%q) %v, want %v (%q)", c.hash, c.platforms, c.max, reuse, why, err, c.reuse, c.why)
		}
	}
}

// --rebuild builds again even when the image of the hash could be reused,
// keeping the image (its stored lock is installed); without an image it
// changes nothing. envkit patch has no --rebuild.
func TestReusableRebuild(t *testing.T) {
	ctx := context.Background()
	s, reg := testStore(t)
	if err := remote.Write(mustTag(t, reg+"/envkit/env:envkit_1"), layeredImage(t, "amd64", 3, nil)); err != nil {
		t.Fatal(err)
	}
	opt := buildOptions{platforms: []string{"linux/amd64"}}
	if img, reuse, why, err := reusable(ctx, s, "envkit_1", opt); err != nil || img == nil || !reuse {
		t.Fatalf("without --rebuild: reuse %v (%q) %v, want reused", reuse, why, err)
	}
	opt.rebuild = true
	img, reuse, why, err := reusable(ctx, s, "envkit_1", opt)
	if want := "--rebuild: " + reg + "/envkit/env:envkit_1 is built again with its stored lock"; err != nil || img == nil || reuse || why != want {
		t.Errorf("--rebuild: image %v, reuse %v (%q) %v, want the image, not reused (%q)", img, reuse, why, err, want)
	}
	if img, reuse, why, err := reusable(ctx, s, "envkit_2", opt); err != nil || img != nil || reuse || why != "no image of envkit_2 yet" {
		t.Errorf("--rebuild, no image: %v, reuse %v (%q) %v", img, reuse, why, err)
	}

	b := &buildOptions{file: "env.yml"}
	if err := buildCommand(b).Flags().Parse([]string{"--rebuild"}); err != nil || !b.rebuild {
		t.Errorf("envkit build --rebuild: %v (rebuild %v)", err, b.rebuild)
	}
	p := &buildOptions{file: "env.yml", patch: true}
	if err := buildCommand(p).Flags().Parse([]string{"--rebuild"}); err == nil {
		t.Errorf("envkit patch --rebuild: accepted")
	}
}
