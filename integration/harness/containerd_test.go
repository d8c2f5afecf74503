package harness_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/envkit/envkit/integration/harness"
)

// An image built and pushed by the harness runs under the private
// containerd: ctr pulls it over plain HTTP and runs the given command, the
// image's own CMD, and a failing command whose error says why.
func TestCtrRun(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+"\nRUN echo hello from $(cat /etc/envkit-test-arch) > /greeting\n"+
		"ENV GREETING_FILE=/greeting\nCMD [\"cat\", \"/greeting\"]\n")
	ref := e.Ref("smoke/ctr:1")
	if _, err := e.BuildDockerfile(ctx, dir, nil, ref); err != nil {
		t.Fatal(err)
	}
	// The image's environment reaches the process.
	out, err := e.CtrRun(ctx, t, ref, "sh", "-c", `cat "$GREETING_FILE"; echo "pid $$"`)
	if err != nil {
		t.Fatal(err)
	}
	if out != "hello from amd64\npid 1\n" {
		t.Errorf("ctr run: %q, want the greeting and pid 1 (its own pid namespace)", out)
	}
	if out, err := e.CtrRun(ctx, t, ref); err != nil || out != "hello from amd64\n" {
		t.Errorf("the image's CMD: %q, %v", out, err)
	}
	out, err = e.CtrRun(ctx, t, ref, "sh", "-c", "echo partial; echo broken >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "exit status 3") || out != "partial\n" {
		t.Errorf("failing command: out %q, err %v", out, err)
	}
	// A moved tag is followed.
	moved := writeContext(t, "FROM "+ref+"\nRUN echo moved > /greeting\n")
	if _, err := e.BuildDockerfile(ctx, moved, nil, ref); err != nil {
		t.Fatal(err)
	}
	if out, err := e.CtrRun(ctx, t, ref); err != nil || out != "moved\n" {
		t.Errorf("after the tag moved: %q, %v", out, err)
	}
	// The private containerd holds the image in its own namespace and root.
	c := e.Containerd(t)
	if ls, err := c.Ctr(ctx, "images", "ls", "-q"); err != nil || !strings.Contains(string(ls), ref) {
		t.Errorf("ctr images ls: %v\n%s", err, ls)
	}
	if !strings.HasPrefix(c.Addr, c.Dir+"/") {
		t.Errorf("socket %s outside %s", c.Addr, c.Dir)
	}
}

// BlobBytes counts exactly what a push stored: the new layer, the config
// and the manifest; pushing the same image again stores nothing.
func TestBlobBytesOfAPush(t *testing.T) {
	e := harness.Get(t)
	ctx := ctxFor(t)
	dir := writeContext(t, "FROM "+e.Base.Base+"\nCOPY random.bin /random.bin\n")
	payload := make([]byte, 1<<20)
	rand.Read(payload)
	if err := os.WriteFile(filepath.Join(dir, "random.bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := e.Reg.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	ref := e.Ref("smoke/blobs:1")
	if _, err := e.BuildDockerfile(ctx, dir, nil, ref); err != nil {
		t.Fatal(err)
	}
	after, err := e.Reg.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Reg.Image(ctx, ref, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Reg.Manifest(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	want := map[digest.Digest]int64{m.Digest: int64(len(m.Raw)), img.ConfigDigest: img.Manifest.Config.Size}
	for _, l := range img.Manifest.Layers {
		if _, ok := before[l.Digest]; !ok {
			want[l.Digest] = l.Size
		}
	}
	var wantBytes int64
	for d, size := range want {
		wantBytes += size
		if after[d] != size {
			t.Errorf("blob %s: stored %d bytes, descriptor says %d", d, after[d], size)
		}
	}
	n, got := after.Since(before)
	if n != len(want) || got != wantBytes {
		t.Errorf("push stored %d blobs, %d bytes; want %d blobs, %d bytes (manifest, config, new layers)", n, got, len(want), wantBytes)
	}
	if got < int64(len(payload)) {
		t.Errorf("push stored %d bytes, less than its 1 MiB of random data", got)
	}
	// The same image under another name: every blob is already there.
	if _, err := e.BuildDockerfile(ctx, dir, nil, e.Ref("smoke/blobs-again:1")); err != nil {
		t.Fatal(err)
	}
	again, err := e.Reg.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	if n, b := again.Since(after); n != 0 || b != 0 {
		t.Errorf("pushing the same image again stored %d blobs, %d bytes", n, b)
	}
}
