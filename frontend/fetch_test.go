package frontend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/opencontainers/go-digest"
)

// overTheWire is err as a gateway frontend's Solve returns it: wrapped by
// the solver as a vertex's failure (or not), sent as a gRPC status and
// decoded by the gateway client.
func overTheWire(err error, vertex bool) error {
	if vertex {
		op, _ := llb.HTTP("http://channel/noarch/repodata.json").Marshal(context.Background())
		err = errdefs.WrapVertex(fmt.Errorf("failed to load cache key: %w", err), digest.FromBytes(op.Def[0]))
	}
	return grpcerrors.FromGRPC(grpcerrors.ToGRPC(context.Background(), err))
}

func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		err    error
		vertex bool
		want   int // 0: not a status, the fetch's error stands
	}{
		{fmt.Errorf(statusText+"%d", 404), true, 404},
		{fmt.Errorf(statusText+"%d", 503), true, 503},
		{fmt.Errorf(statusText+"%d", 404), false, 0}, // not the source's failure
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true, 0},
		{errors.New(statusText + "4040"), true, 0},
		{errors.New(statusText), true, 0},
	} {
		err := overTheWire(tc.err, tc.vertex)
		got, ok := httpStatus(err)
		if ok != (tc.want != 0) || got != tc.want {
			t.Errorf("%q (vertex %v): status %d %v, want %d", err, tc.vertex, got, ok, tc.want)
		}
	}
}

// The status text httpStatus reads is the one the BuildKit in go.mod
// writes: an upgrade that changes it fails here, not in builds.
func TestStatusTextIsBuildKits(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moby/buildkit").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "source", "http", "source.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `errors.Errorf("` + statusText + `%d", resp.StatusCode)`; !strings.Contains(string(src), want) {
		t.Errorf("BuildKit's source/http no longer refuses a status with %s", want)
	}
}
