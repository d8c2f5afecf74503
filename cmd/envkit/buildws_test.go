package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/envkit/envkit/workspace"
)

// The workspace's store finds images of any name in its one images
// repository, and records each build (image, digest, base, lock) as the
// workspace's build record.
func TestWSStoreRecordsBuilds(t *testing.T) {
	reg := testRegistry(t)
	ctx := context.Background()
	ws, err := workspace.Open(reg + "/team/envkit")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newWSStore(ws, reg+"/elsewhere/env:1")
	if err != nil {
		t.Fatal(err)
	}
	const h = "envkit_0123456789abcdef0123456789abcdef"
	if names := s.Names(h); !slices.Equal(names, []string{reg + "/elsewhere/env:1", reg + "/team/envkit/images:" + h}) {
		t.Errorf("Names: %q", names)
	}
	if img, err := s.Lookup(ctx, h); img != nil || err != nil {
		t.Errorf("Lookup before a build: %+v %v", img, err)
	}
	if l, err := s.Lock(ctx, h); l != nil || err != nil {
		t.Errorf("Lock before a build: %q %v", l, err)
	}
	if err := s.PutLock(ctx, h, []byte("lock")); err == nil {
		t.Error("a build recorded without its image")
	}
	img := pushImage(t, ws.ImageRef(h), "amd64", map[string]string{labelBaseName: "base:1", labelBaseDigest: "sha256:" + h[7:] + h[7:]})
	if err := s.PutLock(ctx, h, []byte("lock 1")); err != nil {
		t.Fatal(err)
	}
	b, err := ws.LookupBuild(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	d := digestOfImage(t, img)
	if b.Image != reg+"/team/envkit/images@"+d || b.Digest != d || b.BaseImage != "base:1" || b.BaseDigest != "sha256:"+h[7:]+h[7:] || string(b.Lock) != "lock 1" {
		t.Errorf("record %+v", b)
	}
	if l, err := s.Lock(ctx, h); string(l) != "lock 1" || err != nil {
		t.Errorf("Lock: %q %v", l, err)
	}
	if ok, err := s.recorded(ctx, h); !ok || err != nil {
		t.Errorf("recorded: %v %v", ok, err)
	}
	// A rebuild (another image) replaces the record; nil records no lock.
	img2 := pushImage(t, ws.ImageRef(h), "amd64", nil)
	if err := s.PutLock(ctx, h, nil); err != nil {
		t.Fatal(err)
	}
	if b, err = ws.LookupBuild(ctx, h); err != nil || b.Digest != digestOfImage(t, img2) || b.Lock != nil || b.BaseImage != "" {
		t.Errorf("record after a rebuild: %+v %v", b, err)
	}
	if l, err := s.Lock(ctx, h); l != nil || err != nil {
		t.Errorf("Lock without one: %q %v", l, err)
	}
}

// The workspace a build uses: the flag, the environment, the local stack's.
func TestWorkspaceAddr(t *testing.T) {
	t.Setenv(workspace.EnvVar, "")
	local := &localStack{registry: "127.0.0.1:5765"}
	if got := workspaceAddr("", nil); got != "" {
		t.Errorf("no workspace: %q", got)
	}
	if got := workspaceAddr("", local); got != "127.0.0.1:5765/envkit" {
		t.Errorf("local: %q", got)
	}
	t.Setenv(workspace.EnvVar, "reg.example.com/team")
	if got := workspaceAddr("", local); got != "reg.example.com/team" {
		t.Errorf("env: %q", got)
	}
	if got := workspaceAddr("r.example.com/x", local); got != "r.example.com/x" {
		t.Errorf("flag: %q", got)
	}
}

// A curated environment builds by name without a workspace (the catalog
// is embedded): its files are written out and hash to its recorded hash; a
// registered name needs a workspace.
func TestLookupDefinitionCurated(t *testing.T) {
	t.Setenv(workspace.EnvVar, "")
	var stderr strings.Builder
	for _, r := range workspace.Curated() {
		dir := t.TempDir()
		file, err := lookupDefinition(context.Background(), buildOptions{envRef: "azureml:" + r.Name + "@latest"}, nil, dir, &stderr)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		code, out, errs := runCLI(t, "hash", file)
		if code != exitOK || strings.TrimSpace(out) != r.Hash {
			t.Errorf("%s: hash of %s: %q (exit %d, %s), want %s", r.Name, file, out, code, errs, r.Hash)
		}
	}
	if _, err := lookupDefinition(context.Background(), buildOptions{envRef: "my-env:1"}, nil, t.TempDir(), &stderr); err == nil || !strings.Contains(err.Error(), "--workspace") {
		t.Errorf("a registered name without a workspace: %v", err)
	}
}
