package lock

import (
	"strings"
	"testing"
)

const (
	sha  = "8f5c9f1e8c6a3d2b9c1f9c0d8d7a8c1e4b5d9f5e7a2a4e7b3f1c9d2e8a6b4c0f"
	md5x = "68c34ec6149623be41a1933ab996a209"
)

// TestReadSkipsUntrustedPackages: in every format, a package whose file
// name is not a plain name-version-build.conda/.tar.bz2 of its own name,
// version and build, or whose sha256 or md5 is not a hex digest, is left
// out with a warning at its line and field; the other packages are read.
func TestReadSkipsUntrustedPackages(t *testing.T) {
	const condaLock = `version: 1
metadata:
  content_hash: {linux-64: abc}
  channels: [{url: https://conda.anaconda.org/conda-forge, used_env_vars: []}]
  platforms: [linux-64]
  sources: [environment.yml]
package:
- name: zlib
  version: 1.3.1
  manager: conda
  platform: linux-64
  url: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
  hash: {md5: ` + md5x + `, sha256: ` + sha + `}
- name: evil
  version: "1.0"
  manager: conda
  platform: linux-64
  url: https://conda.anaconda.org/conda-forge/linux-64/evil-1.0-0.conda
  hash: {md5: ` + md5x + `, sha256: ` + sha + `}
`
	const explicit = `# platform: linux-64
@EXPLICIT
https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda#sha256:` + sha + `
https://conda.anaconda.org/conda-forge/linux-64/evil-1.0-0.conda#sha256:` + sha + `
`
	const pixi = `version: 6
environments:
  default:
    channels:
      - url: https://conda.anaconda.org/conda-forge/
    packages:
      linux-64:
        - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
        - conda: https://conda.anaconda.org/conda-forge/linux-64/evil-1.0-0.conda
packages:
  - conda: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
    sha256: ` + sha + `
  - conda: https://conda.anaconda.org/conda-forge/linux-64/evil-1.0-0.conda
    name: evil
    version: "1.0"
    build: "0"
    sha256: ` + sha + `
    md5: ` + md5x + `
`
	const mambajs = `{
  "lockVersion": "1.0.0",
  "platform": "emscripten-wasm32",
  "channels": ["emscripten-forge"],
  "channelInfo": {"emscripten-forge": [{"url": "https://prefix.dev/emscripten-forge-dev"}]},
  "packages": {
    "zlib-1.3.1-h0_0.tar.bz2": {"name": "zlib", "version": "1.3.1", "build": "h0_0", "subdir": "emscripten-wasm32", "channel": "emscripten-forge"},
    "evil-1.0-0.tar.bz2": {"name": "evil", "version": "1.0", "build": "0", "subdir": "emscripten-wasm32", "channel": "emscripten-forge"}
  }
}`
	for _, c := range []struct {
		name, src, old, new string
		line                int
		field, want         string
	}{
		{"conda-lock sha256", condaLock, "sha256: " + sha + "}\n-", "sha256: abc}\n-", 13, "package[0].hash.sha256", `sha256 "abc" is not 64 hex digits`},
		{"conda-lock md5", condaLock, "{md5: " + md5x + ", sha256: " + sha + "}\n-", "{md5: xyz, sha256: " + sha + "}\n-", 13, "package[0].hash.md5", `md5 "xyz" is not 32 hex digits`},
		{"conda-lock other file", condaLock, "/zlib-1.3.1-hb9d3cd8_2.conda", "/evil-1.3.1-hb9d3cd8_2.conda", 12, "package[0].url",
			"does not match the record's name, version and build (zlib-1.3.1-hb9d3cd8_2)"},
		{"conda-lock path", condaLock, "/zlib-1.3.1-hb9d3cd8_2.conda", "/../../../../etc/passwd", 12, "package[0].url", "not a conda package file"},
		{"conda-lock query", condaLock, "hb9d3cd8_2.conda", "hb9d3cd8_2.conda?x=1", 12, "package[0].url", "not a conda package file"},
		{"conda-lock query path", condaLock, "hb9d3cd8_2.conda", "hb9d3cd8_2.conda?x=/y.conda", 12, "package[0].url", `"y.conda": want name-version-build.conda`},
		{"explicit sha256", explicit, "_2.conda#sha256:" + sha, "_2.conda#sha256:abc", 3, "hash", `sha256 "abc" is not 64 hex digits`},
		{"explicit md5", explicit, "_2.conda#sha256:" + sha, "_2.conda#" + md5x[:31] + "z", 3, "hash", "is not 32 hex digits"},
		{"explicit short", explicit, "_2.conda#sha256:" + sha, "_2.conda#abc", 3, "hash", `want #<md5>`},
		{"explicit zip", explicit, "hb9d3cd8_2.conda", "hb9d3cd8_2.zip", 3, "url", "not a conda package file"},
		{"explicit no build", explicit, "zlib-1.3.1-hb9d3cd8_2.conda", "zlib-1.3.1.conda", 3, "url", "want name-version-build.conda"},
		{"explicit escape", explicit, "zlib-1.3.1-hb9d3cd8_2.conda", "zlib-1.3.1-hb9d3cd8%2f_2.conda", 3, "url", `'%' is not allowed`},
		{"pixi sha256", pixi, "sha256: " + sha + "\n  - conda", "sha256: abc\n  - conda", 12, "packages[0].sha256", `sha256 "abc" is not 64 hex digits`},
		{"pixi other build", pixi, "hb9d3cd8_2.conda\n    sha256:", "hb9d3cd8_2.conda\n    build: h0_0\n    sha256:", 11, "packages[0].conda", "does not match the record's name, version and build (zlib-1.3.1-h0_0)"},
		{"mambajs other build", mambajs, `"build": "h0_0"`, `"build": "h1_0"`, 7, `packages.zlib-1.3.1-h0_0.tar.bz2`, "does not match the record's name, version and build (zlib-1.3.1-h1_0)"},
		{"mambajs subdir", mambajs, `"subdir": "emscripten-wasm32", "channel": "emscripten-forge"},
    "evil`, `"subdir": "../../x", "channel": "emscripten-forge"},
    "evil`, 7, `packages.zlib-1.3.1-h0_0.tar.bz2`, `subdir "../../x" is not a conda subdir`},
	} {
		t.Run(c.name, func(t *testing.T) {
			good, err := Read("lock", []byte(c.src))
			if err != nil || len(good.Packages) != 2 || len(good.Skipped) != 0 {
				t.Fatalf("untampered: %v, %d packages, skipped %v", err, len(good.Packages), good.Skipped)
			}
			src := strings.Replace(c.src, c.old, c.new, 1)
			if src == c.src {
				t.Fatalf("%q does not apply", c.old)
			}
			l, err := Read("lock", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Packages) != 1 || l.Packages[0].Name != "evil" {
				t.Errorf("packages %s, want evil only", dump(l))
			}
			if len(l.Skipped) != 1 {
				t.Fatalf("skipped %v, want one", l.Skipped)
			}
			s := l.Skipped[0]
			w := s.Warning
			if s.Platform != good.Platforms[0] || len(l.SkippedFor(good.Platforms[0])) != 1 || w.File != "lock" || w.Line != c.line || w.Field != c.field ||
				!strings.Contains(w.Msg, c.want) || !strings.HasPrefix(w.Msg, "skipped package") || w.Hint == "" {
				t.Errorf("skipped %s on %q: %v\nwant lock:%d: %s: ...%s", s.Name, s.Platform, w, c.line, c.field, c.want)
			}
		})
	}
}

// Digests are hex in either case; the lock keeps them lowercase.
func TestReadLowercasesDigests(t *testing.T) {
	src := "@EXPLICIT\nhttps://x/linux-64/a-1-0.conda#SHA256:" + strings.ToUpper(sha) + "\nhttps://x/linux-64/b-1-0.conda#" + strings.ToUpper(md5x) + "\n"
	l, err := ReadExplicit("x.txt", []byte(src))
	if err != nil || len(l.Packages) != 2 || len(l.Skipped) != 0 {
		t.Fatalf("%v %s %v", err, dump(l), l.Skipped)
	}
	if l.Packages[0].SHA256 != sha || l.Packages[0].Record.SHA256 != sha || l.Packages[1].MD5 != md5x {
		t.Errorf("digests %q %q", l.Packages[0].SHA256, l.Packages[1].MD5)
	}
}
