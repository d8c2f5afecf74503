package repodata

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envkit/envkit/internal/testdata"
	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"
)

func TestShardFixture(t *testing.T) {
	dir := testdata.Path(t, "conda", "channels", "conda-format-repo", "linux-64")
	data, err := os.ReadFile(filepath.Join(dir, ShardIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := ParseShardIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Version != 1 || ix.Info.Subdir != "linux-64" || len(ix.Shards) != 2 {
		t.Fatalf("index = %+v", ix)
	}
	indexURL := "https://h/c/linux-64/" + ShardIndexFile
	u, ok := ix.ShardURL(indexURL, "zlib")
	if want := "https://h/c/linux-64/56a0c19b47ba1a2d0f1390eda489b1c49a00d35814571057e6d81e0c93dfd157.msgpack.zst"; !ok || u != want {
		t.Fatalf("ShardURL = %q, want %q", u, want)
	}
	if _, ok := ix.ShardURL(indexURL, "python"); ok {
		t.Error("ShardURL(python) found")
	}
	base, _ := ix.PackageBaseURL(indexURL)
	if base != "https://h/c/linux-64/" {
		t.Errorf("PackageBaseURL = %q", base)
	}
	full, err := Parse(readFixture(t, "conda", "channels", "conda-format-repo", "linux-64", "repodata.json"), "https://h/c", "linux-64")
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range ix.Shards {
		b, err := os.ReadFile(filepath.Join(dir, h.String()+".msgpack.zst"))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); sum != h {
			t.Errorf("shard %s: content hash %x != index hash %s", name, sum, h)
		}
		rd, err := ParseShard(b, "https://h/c", "linux-64", base, h.String())
		if err != nil {
			t.Fatal(err)
		}
		// A shard holds exactly what repodata.json holds for that name.
		if got, want := rd.ByName(name), full.ByName(name); len(got) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("shard %s:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestShardIndexHexHashesAndBaseURLs(t *testing.T) {
	h := sha256.Sum256([]byte("x"))
	doc := map[string]any{
		"version": 1,
		"info":    map[string]any{"base_url": "https://pkgs.example/linux-64", "shards_base_url": "../shards/"},
		"shards":  map[string]any{"a": hex.EncodeToString(h[:]), "b": h[:]},
	}
	b, _ := msgpack.Marshal(doc)
	enc, _ := zstd.NewWriter(nil)
	ix, err := ParseShardIndex(enc.EncodeAll(b, nil))
	if err != nil {
		t.Fatal(err)
	}
	if ix.Shards["a"] != h || ix.Shards["b"] != h {
		t.Errorf("hashes = %v", ix.Shards)
	}
	u, _ := ix.ShardURL("https://h/c/linux-64/"+ShardIndexFile, "a")
	if want := "https://h/c/shards/" + hex.EncodeToString(h[:]) + ".msgpack.zst"; u != want {
		t.Errorf("ShardURL = %q, want %q", u, want)
	}
	if base, _ := ix.PackageBaseURL("https://h/c/linux-64/" + ShardIndexFile); base != "https://pkgs.example/linux-64/" {
		t.Errorf("PackageBaseURL = %q", base)
	}
	for _, bad := range []map[string]any{
		{"version": 1, "shards": map[string]any{"a": "abc"}},
		{"version": 1, "shards": map[string]any{"a": []byte{1, 2}}},
		{"version": 2, "shards": map[string]any{}},
	} {
		b, _ := msgpack.Marshal(bad)
		if _, err := ParseShardIndex(b); err == nil || !strings.Contains(err.Error(), "shard index") {
			t.Errorf("ParseShardIndex(%v) error = %v", bad, err)
		}
	}
}

func TestParseShardKeepsSpecialCharacters(t *testing.T) {
	sum := sha256.Sum256([]byte("pkg"))
	shard := map[string]any{
		"packages.conda": map[string]any{
			"a-1-0.conda": map[string]any{"name": "a", "version": "1", "build": "0", "build_number": 0,
				"depends": []string{"python >=3.8,<3.9", "b & c"}, "sha256": sum[:], "md5": sum[:16], "size": 10},
		},
		"packages": map[string]any{
			"a-1-0.tar.bz2": map[string]any{"name": "a", "version": "1", "build": "0"},
		},
		"removed": []string{"a-0-0.conda"},
	}
	b, _ := msgpack.Marshal(shard)
	rd, err := ParseShard(b, "https://h/c", "noarch", "https://cdn/x/", "s")
	if err != nil {
		t.Fatal(err)
	}
	recs := rd.Records()
	if len(recs) != 1 {
		t.Fatalf("records = %v", names(recs))
	}
	r := recs[0]
	if r.SHA256 != hex.EncodeToString(sum[:]) || r.MD5 != hex.EncodeToString(sum[:16]) || r.URL != "https://cdn/x/a-1-0.conda" ||
		!reflect.DeepEqual(r.Depends, []string{"python >=3.8,<3.9", "b & c"}) || !reflect.DeepEqual(rd.Removed, []string{"a-0-0.conda"}) {
		t.Errorf("record = %+v", r)
	}
	if _, err := ParseShard([]byte{0xc1}, "https://h/c", "noarch", "", "bad"); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("bad shard: %v", err)
	}
}
