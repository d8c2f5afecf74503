package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envkit/envkit/internal/stack"
)

var (
	ctrdOnce sync.Once
	ctrd     *stack.Containerd
	ctrdErr  error
	ctrdDir  string // removed by Main when the harness made it
	ctrIDs   atomic.Int64
)

// Containerd returns the test binary's private containerd (see
// stack.StartContainerd), started on first use beside the stack's state (a
// temporary directory of its own when the stack is a shared persistent
// one) and stopped by Main. It fails t when containerd cannot start.
func (e *Env) Containerd(t testing.TB) *stack.Containerd {
	t.Helper()
	ctrdOnce.Do(func() {
		dir := ""
		if tempDir != "" {
			dir = filepath.Join(tempDir, "containerd")
		} else {
			if ctrdDir, ctrdErr = os.MkdirTemp("", "envkit-ctrd-"); ctrdErr != nil {
				return
			}
			dir = ctrdDir
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ctrd, ctrdErr = stack.StartContainerd(ctx, dir, e.Registry, 0)
	})
	if ctrdErr != nil {
		t.Fatalf("private containerd: %v\n(it needs Debian's containerd package, which scripts/install-deps.sh installs)", ctrdErr)
	}
	return ctrd
}

// CtrPull pulls ref from the stack's registry into the private containerd
// (ctr images pull --plain-http). Pulling again is cheap (only what the
// containerd lacks is fetched) and follows a tag that moved.
func (e *Env) CtrPull(ctx context.Context, t testing.TB, ref string) error {
	t.Helper()
	return e.Containerd(t).Pull(ctx, ref)
}

// CtrRun pulls ref (see CtrPull) and runs cmd in a fresh container of it
// under containerd (ctr run --rm REF ID CMD...; no cmd runs the image's
// entrypoint and command), returning what the container wrote to stdout.
// The error of a container that exits non-zero carries its stderr.
func (e *Env) CtrRun(ctx context.Context, t testing.TB, ref string, cmd ...string) (string, error) {
	t.Helper()
	if err := e.CtrPull(ctx, t, ref); err != nil {
		return "", err
	}
	id := fmt.Sprintf("envkit-test-%d", ctrIDs.Add(1))
	out, err := e.Containerd(t).Run(ctx, ref, id, cmd...)
	return string(out), err
}

// stopContainerd stops the private containerd, if one was started, and
// removes its directory when the harness made one.
func stopContainerd() {
	if ctrd != nil {
		if err := ctrd.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: stopping containerd: %v\n", err)
		}
	}
	if ctrdDir != "" {
		os.RemoveAll(ctrdDir)
	}
}
