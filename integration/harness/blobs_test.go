package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestBlobBytesStorage(t *testing.T) {
	root := t.TempDir()
	r := &Registry{Storage: root}
	// Nothing pushed yet: no blobs directory.
	if b, err := r.BlobBytes(); err != nil || len(b) != 0 {
		t.Fatalf("empty storage: %v %v", b, err)
	}
	put := func(content string) digest.Digest {
		d := digest.FromString(content)
		p := filepath.Join(root, "docker/registry/v2/blobs/sha256", d.Encoded()[:2], d.Encoded(), "data")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := put("layer a")
	// An upload in progress lives under repositories/, not blobs/.
	up := filepath.Join(root, "docker/registry/v2/repositories/x/_uploads/u1/data")
	os.MkdirAll(filepath.Dir(up), 0o755)
	os.WriteFile(up, []byte("partial"), 0o644)
	before, err := r.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	if n, size := before.Total(); n != 1 || size != 7 || before[a] != 7 {
		t.Errorf("before: %v", before)
	}
	b := put("layer bb")
	c := put(strings.Repeat("c", 1000))
	after, err := r.BlobBytes()
	if err != nil {
		t.Fatal(err)
	}
	if n, size := after.Since(before); n != 2 || size != 1008 || after[b] != 8 || after[c] != 1000 {
		t.Errorf("since: %d blobs, %d bytes: %v", n, size, after)
	}
	if _, err := (&Registry{}).BlobBytes(); err == nil {
		t.Error("no storage: no error")
	}
}
