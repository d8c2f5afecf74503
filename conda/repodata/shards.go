package repodata

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/internal/httpget"
	"github.com/vmihailenco/msgpack/v5"
)

// ShardIndexFile is the name of the sharded repodata index in a subdir (CEP 16).
const ShardIndexFile = "repodata_shards.msgpack.zst"

// ShardIndex is a sharded repodata index (CEP 16): for each package name,
// the SHA-256 of the shard that holds its records.
type ShardIndex struct {
	Version int
	Info    ShardIndexInfo
	Shards  map[string]Hash
}

// ShardIndexInfo is the index's "info": where packages and shards live,
// relative to the index's own URL.
type ShardIndexInfo struct {
	BaseURL       string `msgpack:"base_url"`
	ShardsBaseURL string `msgpack:"shards_base_url"`
	Subdir        string `msgpack:"subdir"`
	CreatedAt     string `msgpack:"created_at"`
}

// Hash is a SHA-256 digest. In msgpack it reads the raw 32 bytes CEP 16
// specifies, or a 64-character hex string as some servers write.
type Hash [32]byte

// String returns the lower-case hex form (the shard's file name stem).
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// DecodeMsgpack implements msgpack.CustomDecoder.
func (h *Hash) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case []byte:
		if len(v) == len(h) {
			copy(h[:], v)
			return nil
		}
		if len(v) == 2*len(h) {
			return h.fromHex(string(v))
		}
		return fmt.Errorf("shard hash: %d bytes, want 32", len(v))
	case string:
		return h.fromHex(v)
	}
	return fmt.Errorf("shard hash: want bytes or a hex string, got %T", v)
}

func (h *Hash) fromHex(s string) error {
	if len(s) != 2*len(h) {
		return fmt.Errorf("shard hash: %q is not 64 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return fmt.Errorf("shard hash: %q: %w", s, err)
	}
	return nil
}

// ParseShardIndex parses a shard index, zstd-compressed or not.
func ParseShardIndex(data []byte) (*ShardIndex, error) {
	if bytes.HasPrefix(data, zstdMagic) {
		var err error
		b := httpget.DefaultLimit(DefaultMaxShardSize, "shard index", "Gateway.MaxShardSize", EnvMaxShardSize)
		if data, err = decompress(data, b, "shard index"); err != nil {
			return nil, fmt.Errorf("shard index: zstd: %w", err)
		}
	}
	var raw struct {
		Version int             `msgpack:"version"`
		Info    ShardIndexInfo  `msgpack:"info"`
		Shards  map[string]Hash `msgpack:"shards"`
	}
	if err := msgpack.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("shard index: %w", err)
	}
	if raw.Version > 1 {
		return nil, fmt.Errorf("shard index: version %d not supported (want 1)", raw.Version)
	}
	return &ShardIndex{Version: raw.Version, Info: raw.Info, Shards: raw.Shards}, nil
}

// ShardURL returns the URL of name's shard, given the index's own URL,
// and false when the index has no shard for name.
func (ix *ShardIndex) ShardURL(indexURL, name string) (string, bool) {
	h, ok := ix.Shards[name]
	if !ok {
		return "", false
	}
	base, err := resolveDir(indexURL, ix.Info.ShardsBaseURL)
	if err != nil {
		return "", false
	}
	return base + h.String() + ".msgpack.zst", true
}

// PackageBaseURL returns the download base of the index's packages, with a
// trailing slash: info.base_url resolved against the index's URL.
func (ix *ShardIndex) PackageBaseURL(indexURL string) (string, error) {
	return resolveDir(indexURL, ix.Info.BaseURL)
}

// resolveDir resolves ref against base and ends it with a slash; an empty
// ref is base's directory.
func resolveDir(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if ref == "" {
		ref = "./"
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	s := b.ResolveReference(r).String()
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// ParseShard parses one shard (zstd-compressed msgpack holding "packages",
// "packages.conda" and "removed", with md5 and sha256 as raw bytes) into a
// RepoData. baseURL is where its packages are downloaded from (see
// ShardIndex.PackageBaseURL); name is the shard's name for messages.
//
// The shard is re-encoded as a repodata.json document and parsed by Parse,
// so records read from shards and from repodata.json behave the same
// (validation, warnings, .conda preference); shards are small.
func ParseShard(data []byte, channel, subdir, baseURL, name string) (*RepoData, error) {
	file := strings.TrimSuffix(channel, "/") + "/" + subdir + "/" + name
	if bytes.HasPrefix(data, zstdMagic) {
		var err error
		b := httpget.DefaultLimit(DefaultMaxShardSize, "shard", "Gateway.MaxShardSize", EnvMaxShardSize)
		if data, err = decompress(data, b, file); err != nil {
			return nil, &diag.Error{File: file, Msg: "zstd: " + err.Error()}
		}
	}
	var shard map[string]any
	if err := msgpack.Unmarshal(data, &shard); err != nil {
		return nil, &diag.Error{File: file, Msg: "msgpack: " + err.Error()}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<" in depends as is
	if err := enc.Encode(hexBytes(shard)); err != nil {
		return nil, &diag.Error{File: file, Msg: err.Error()}
	}
	return parse(buf.Bytes(), source{channel: channel, subdir: subdir, file: file, baseURL: baseURL})
}

// hexBytes replaces byte strings (the binary md5 and sha256 of shards) with
// their hex form, as repodata.json writes them.
func hexBytes(v any) any {
	switch v := v.(type) {
	case []byte:
		return hex.EncodeToString(v)
	case map[string]any:
		for k, x := range v {
			v[k] = hexBytes(x)
		}
	case []any:
		for i, x := range v {
			v[i] = hexBytes(x)
		}
	}
	return v
}
