package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/spec"
)

func TestCuratedCatalog(t *testing.T) {
	rs := Curated()
	if len(rs) < 3 {
		t.Fatalf("%d curated environments, want at least 3", len(rs))
	}
	hashes := map[string]string{}
	for _, r := range rs {
		if !IsReserved(r.Name) || !strings.HasPrefix(r.Name, "AzureML-") {
			t.Errorf("%s: a curated name starts with AzureML-", r.Name)
		}
		if r.Kind != spec.Curated || !IsHash(r.Hash) || r.Description == "" || r.Created.IsZero() {
			t.Errorf("%s: incomplete record %+v", r.Name, r)
		}
		if other, ok := hashes[r.Hash]; ok {
			t.Errorf("%s and %s have the same hash", r.Name, other)
		}
		hashes[r.Hash] = r.Name
		d, err := curatedDefinition(Ref{Name: r.Name, Latest: true})
		if err != nil {
			t.Fatal(err)
		}
		env, err := d.Environment()
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if env.Conda == nil || len(d.Files) != 2 {
			t.Errorf("%s: want an environment file and a conda file, have %d files", r.Name, len(d.Files))
		}
		h, _ := hash.Compute(env, nil)
		if hash.Short(h) != r.Hash {
			t.Errorf("%s: record hash %s, files hash to %s", r.Name, r.Hash, hash.Short(h))
		}
	}
	if _, err := CuratedVersion(Ref{Name: "AzureML-nope", Latest: true}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown curated name: %v, want ErrNotFound", err)
	}
	if _, err := CuratedVersion(Ref{Name: rs[0].Name, Version: "99"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no version 99") {
		t.Errorf("unknown curated version: %v", err)
	}
}

func TestClone(t *testing.T) {
	src := Curated()[0]
	dir := filepath.Join(t.TempDir(), "copy")
	file, err := Clone(Ref{Name: src.Name, Latest: true}, "my-copy", dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env, err := spec.Load(file, data, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if env.Name != "my-copy" || env.Version != "1" || env.Kind() == spec.Curated {
		t.Errorf("copy: name %q version %q kind %s", env.Name, env.Version, env.Kind())
	}
	h, _ := hash.Compute(env, nil)
	if hash.Short(h) != src.Hash {
		t.Errorf("the copy hashes to %s, the curated environment to %s: same definition, same hash", hash.Short(h), src.Hash)
	}
	if _, err := Clone(Ref{Name: src.Name, Latest: true}, "other", dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("clone into a non-empty directory: %v", err)
	}
	if _, err := Clone(Ref{Name: src.Name, Latest: true}, "AzureML-mine", t.TempDir()); !errors.Is(err, ErrReserved) {
		t.Errorf("clone to a reserved name: %v", err)
	}
	if _, err := Clone(Ref{Name: "my-env", Latest: true}, "x", t.TempDir()); err == nil {
		t.Error("clone of a non-curated name succeeded")
	}
}
