package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two private containerds run side by side, each answering on its own socket
// with its own root and state, and Close stops each.
func TestContainerdPrivate(t *testing.T) {
	needsDaemons(t)
	ctx := testCtx(t)
	_, varLibBefore := os.Stat("/var/lib/containerd")
	var cs []*Containerd
	for range 2 {
		c, err := StartContainerd(ctx, filepath.Join(shortTempDir(t), "ctrd"), "127.0.0.1:1", 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	for _, c := range cs {
		out, err := c.Ctr(ctx, "version")
		if err != nil {
			t.Fatal(err)
		}
		// The server part of `ctr version` is the daemon's own answer.
		if _, server, ok := strings.Cut(string(out), "Server:"); !ok || !strings.Contains(server, "Version:") {
			t.Errorf("ctr version: no server answer:\n%s", out)
		}
		if c.Snapshotter != "overlayfs" && c.Snapshotter != "native" {
			t.Errorf("snapshotter %q", c.Snapshotter)
		}
		if _, err := os.Stat(filepath.Join(c.Dir, "root", "io.containerd.content.v1.content")); err != nil {
			t.Errorf("content store not under the private root: %v", err)
		}
	}
	// Each is its own daemon: an image namespace made in one is absent from the other.
	if _, err := cs[0].Ctr(ctx, "namespaces", "create", "only-here"); err != nil {
		t.Fatal(err)
	}
	if out, err := cs[1].Ctr(ctx, "namespaces", "ls"); err != nil || strings.Contains(string(out), "only-here") {
		t.Errorf("second containerd sees the first's namespace: %v\n%s", err, out)
	}
	if _, err := os.Stat("/var/lib/containerd"); varLibBefore != nil && err == nil {
		t.Error("a private containerd created /var/lib/containerd")
	}
	for _, c := range cs {
		pid := c.d.pid
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for pidAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if pidAlive(pid) {
			t.Errorf("containerd pid %d still runs after Close", pid)
		}
		if _, err := c.Ctr(ctx, "--connect-timeout", "1s", "version"); err == nil {
			t.Error("ctr version still answers after Close")
		}
	}
}

func TestContainerdToolsOverride(t *testing.T) {
	t.Setenv("ENVKIT_CTR", "/nonexistent/ctr")
	_, err := FindContainerdTools()
	if err == nil || !strings.Contains(err.Error(), "ENVKIT_CTR=/nonexistent/ctr") || !strings.Contains(err.Error(), InstallHint) {
		t.Errorf("err = %v", err)
	}
}
