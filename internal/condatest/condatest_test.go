package condatest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/envkit/envkit/conda/channel"
	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/repodata"
)

// What WriteChannel makes is read back by envkit's own repodata parser and
// package reader, with matching checksums.
func TestWriteChannel(t *testing.T) {
	dir := t.TempDir()
	p := Package{Name: "tool", Version: "1.0", Build: "h0_0", Depends: []string{"lib >=2"},
		Files: []File{{Path: "bin/tool", Content: "#!/bin/sh\necho " + Placeholder + "\n", Mode: 0o755, Prefix: true}}}
	if err := WriteChannel(dir, p, Package{Name: "lib", Version: "2.1", Build: "0"}); err != nil {
		t.Fatal(err)
	}
	rd, err := (&repodata.Gateway{}).RepoData(context.Background(), mustChannel(t, dir), "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.ByName("tool")
	if len(recs) != 1 || recs[0].SHA256 == "" || recs[0].Depends[0] != "lib >=2" {
		t.Fatalf("records %+v", recs)
	}
	md, err := condapkg.ReadFile(filepath.Join(dir, "linux-64", "tool-1.0-h0_0.conda"))
	if err != nil {
		t.Fatal(err)
	}
	if md.Index.Name != "tool" || len(md.Paths) != 1 || md.Paths[0].PrefixPlaceholder != Placeholder {
		t.Errorf("metadata %+v", md)
	}
}

func mustChannel(t *testing.T, dir string) channel.Channel {
	t.Helper()
	c, err := channel.Parse(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
