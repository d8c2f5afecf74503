package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/envkit/envkit/spec"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/gateway/client"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// grpcLimit is the gRPC message size a gateway reply may not exceed
// (grpc's and containerd's default receive limit).
const grpcLimit = 16 << 20

// memRef is a gateway reference over files in memory that answers reads as
// the gateway does (a range, or the whole file) and refuses a reply larger
// than one gRPC message, as the gateway's client does.
type memRef struct {
	client.Reference
	files map[string][]byte
	reads int
}

func (r *memRef) ReadFile(_ context.Context, req client.ReadRequest) ([]byte, error) {
	r.reads++
	dt, ok := r.files[req.Filename]
	if !ok {
		return nil, fs.ErrNotExist
	}
	if rg := req.Range; rg != nil {
		dt = dt[min(rg.Offset, len(dt)):min(rg.Offset+rg.Length, len(dt))]
	}
	if len(dt) > grpcLimit {
		return nil, fmt.Errorf("rpc error: code = ResourceExhausted desc = grpc: received message larger than max (%d vs. %d)", len(dt), grpcLimit)
	}
	return bytes.Clone(dt), nil
}

func (r *memRef) StatFile(_ context.Context, req client.StatRequest) (*fstypes.Stat, error) {
	dt, ok := r.files[req.Path]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return &fstypes.Stat{Path: req.Path, Mode: 0o644, Size: int64(len(dt))}, nil
}

// Files larger than a gRPC message read whole, through fetch's reader and
// refFS alike; small ones in one request.
func TestReadFileInChunks(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{1})
	blob := func(n int) []byte {
		b := make([]byte, n)
		rnd.Read(b)
		return b
	}
	files := map[string][]byte{
		"ctx/big":   blob(grpcLimit + 5),
		"ctx/exact": blob(2 * readChunk),
		"ctx/small": blob(100),
		"ctx/empty": {},
	}
	ref := &memRef{files: files}
	if _, err := ref.ReadFile(context.Background(), client.ReadRequest{Filename: "ctx/big"}); err == nil {
		t.Fatal("memRef does not refuse a reply larger than a gRPC message")
	}
	rfs := &refFS{ctx: context.Background(), ref: ref, root: "ctx"}
	for name, want := range files {
		got, err := readFile(context.Background(), ref, name, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("readFile %s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
		got, err = fs.ReadFile(rfs, name[len("ctx/"):])
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("refFS.ReadFile %s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
		f, err := rfs.Open(name[len("ctx/"):])
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(f)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("refFS.Open %s: %d bytes, %v; want %d", name, len(got), err, len(want))
		}
	}
	ref.reads = 0
	if _, err := readFile(context.Background(), ref, "ctx/small", 0); err != nil || ref.reads != 1 {
		t.Errorf("a small file took %d reads (%v)", ref.reads, err)
	}
	// A limit stops the read once passed (the environment's own files: a
	// conda file that is a symlink to something huge is not read whole),
	// and names the file and the limit.
	ref.reads = 0
	_, err := readFile(context.Background(), ref, "ctx/big", readChunk)
	var tl *spec.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != readChunk || ref.reads > 2 {
		t.Errorf("ctx/big under a %d-byte limit: %v after %d reads", readChunk, err, ref.reads)
	}
	if got, err := readFile(context.Background(), ref, "ctx/exact", 2*readChunk); err != nil || len(got) != 2*readChunk {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(got), err)
	}
	limited := &refFS{ctx: context.Background(), ref: ref, root: "ctx", limit: 1 << 20}
	if _, err := spec.ReadFile(limited, "big", 0); !errors.As(err, &tl) || !strings.Contains(err.Error(), "big") {
		t.Errorf("spec.ReadFile over a limited refFS: %v", err)
	}
}

// A wheel is hashed from a reference in chunks of one gRPC message at
// most, never read whole.
func TestRefStream(t *testing.T) {
	rnd := rand.NewChaCha8([32]byte{2})
	for _, n := range []int{0, 1, readChunk, readChunk + 1, grpcLimit + 3} {
		dt := make([]byte, n)
		_, _ = rnd.Read(dt)
		ref := &memRef{files: map[string][]byte{"env/w.whl": dt}}
		got, err := io.ReadAll(&refStream{ctx: context.Background(), ref: ref, name: "env/w.whl"})
		if err != nil || !bytes.Equal(got, dt) {
			t.Errorf("%d bytes: read %d, %v", n, len(got), err)
		}
		if want := n/readChunk + 1; ref.reads != want {
			t.Errorf("%d bytes: %d reads, want %d", n, ref.reads, want)
		}
	}
}

// refReaderAt reads any range of a reference's file, in requests of one
// gRPC message at most, and io.EOF past its end, as io.ReaderAt says.
func TestRefReaderAt(t *testing.T) {
	dt := make([]byte, grpcLimit+5)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(dt)
	r := &refReaderAt{ctx: context.Background(), ref: &memRef{files: map[string][]byte{"w.whl": dt}}, name: "w.whl"}
	for _, c := range []struct{ off, n int }{{0, 10}, {len(dt) - 10, 10}, {1, grpcLimit + 2}, {len(dt) - 4, 10}} {
		p := make([]byte, c.n)
		n, err := r.ReadAt(p, int64(c.off))
		want := dt[c.off:min(c.off+c.n, len(dt))]
		if n != len(want) || !bytes.Equal(p[:n], want) || (n < c.n) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Errorf("ReadAt(%d bytes at %d): %d, %v", c.n, c.off, n, err)
		}
	}
}
