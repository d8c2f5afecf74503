// Package condatest makes real conda channels for tests: .conda packages
// (CEP 35) with info/index.json and info/paths.json (CEP 34), and a
// repodata.json per subdir (CEP 36) with their md5, sha256 and size.
package condatest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	condapkg "github.com/envkit/envkit/conda/package"
	"github.com/envkit/envkit/conda/record"
	"github.com/klauspost/compress/zstd"
)

// Placeholder is conda-build's prefix placeholder.
const Placeholder = "/opt/anaconda1anaconda2anaconda3"

// File is one payload file of a package.
type File struct {
	Path    string
	Content string
	Mode    int64 // 0 means 0644
	// Prefix marks a text file holding Placeholder, to be replaced by the
	// environment's prefix when the package is linked.
	Prefix bool
}

// Package is one package to build.
type Package struct {
	Name, Version, Build string
	BuildNumber          int
	Depends              []string
	Subdir               string // default linux-64
	Noarch               string // "" or "python" / "generic"
	Files                []File
	// Archive is an existing package file (.conda or .tar.bz2) to serve
	// instead of building one; its info/index.json gives the record.
	Archive string
}

// Stem is name-version-build.
func (p Package) Stem() string { return p.Name + "-" + p.Version + "-" + p.Build }

func (p Package) subdir() string {
	if p.Subdir == "" {
		return "linux-64"
	}
	return p.Subdir
}

// WriteChannel writes pkgs as .conda files into dir/<subdir>/ with a
// repodata.json for each subdir (noarch always exists).
func WriteChannel(dir string, pkgs ...Package) error {
	// subdir -> "packages" | "packages.conda" -> file name -> record
	repos := map[string]map[string]any{"noarch": {}}
	for _, p := range pkgs {
		data, fn, rec, key, err := p.artifact()
		if err != nil {
			return err
		}
		sub, _ := rec["subdir"].(string)
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, sub, fn), data, 0o644); err != nil {
			return err
		}
		m5, s256 := md5.Sum(data), sha256.Sum256(data)
		rec["md5"], rec["sha256"], rec["size"] = hex.EncodeToString(m5[:]), hex.EncodeToString(s256[:]), len(data)
		if repos[sub] == nil {
			repos[sub] = map[string]any{"packages": map[string]any{}, "packages.conda": map[string]any{}}
		}
		if repos[sub][key] == nil {
			repos[sub][key] = map[string]any{}
		}
		repos[sub][key].(map[string]any)[fn] = rec
	}
	for sub, keys := range repos {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		doc := map[string]any{"info": map[string]any{"subdir": sub}, "packages": map[string]any{}, "packages.conda": map[string]any{}}
		for k, v := range keys {
			doc[k] = v
		}
		rd, err := json.MarshalIndent(doc, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, sub, "repodata.json"), rd, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// artifact returns the package file, its name, its repodata record and the
// repodata key it belongs under.
func (p Package) artifact() (data []byte, fn string, rec map[string]any, key string, err error) {
	if p.Archive == "" {
		data, err = buildConda(p)
		return data, p.Stem() + ".conda", p.index(), "packages.conda", err
	}
	if data, err = os.ReadFile(p.Archive); err != nil {
		return nil, "", nil, "", err
	}
	md, err := condapkg.ReadFile(p.Archive)
	if err != nil {
		return nil, "", nil, "", err
	}
	b, err := json.Marshal(md.Index)
	if err != nil {
		return nil, "", nil, "", err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, "", nil, "", err
	}
	key = "packages"
	if record.ArchiveTypeOf(p.Archive) == record.ArchiveConda {
		key = "packages.conda"
	}
	return data, filepath.Base(p.Archive), rec, key, nil
}

func (p Package) index() map[string]any {
	deps := p.Depends
	if deps == nil {
		deps = []string{}
	}
	idx := map[string]any{"name": p.Name, "version": p.Version, "build": p.Build, "build_number": p.BuildNumber,
		"depends": deps, "subdir": p.subdir(), "license": "BSD-3-Clause", "timestamp": 1700000000000}
	if p.Noarch != "" {
		idx["noarch"] = p.Noarch
	}
	return idx
}

// buildConda returns the .conda archive of p.
func buildConda(p Package) ([]byte, error) {
	files := append([]File(nil), p.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	type entry struct {
		Path        string `json:"_path"`
		PathType    string `json:"path_type"`
		SHA256      string `json:"sha256"`
		Size        int    `json:"size_in_bytes"`
		FileMode    string `json:"file_mode,omitempty"`
		Placeholder string `json:"prefix_placeholder,omitempty"`
	}
	entries := []entry{} // a metapackage has "paths": [], not null
	var payload []tarMember
	for _, f := range files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		h := sha256.Sum256([]byte(f.Content))
		e := entry{Path: f.Path, PathType: "hardlink", SHA256: hex.EncodeToString(h[:]), Size: len(f.Content)}
		if f.Prefix {
			if !strings.Contains(f.Content, Placeholder) {
				return nil, fmt.Errorf("%s: %s is marked Prefix but holds no placeholder", p.Stem(), f.Path)
			}
			e.FileMode, e.Placeholder = "text", Placeholder
		}
		entries = append(entries, e)
		payload = append(payload, tarMember{f.Path, f.Content, mode})
	}
	idx, err := json.Marshal(p.index())
	if err != nil {
		return nil, err
	}
	paths, err := json.Marshal(map[string]any{"paths": entries, "paths_version": 1})
	if err != nil {
		return nil, err
	}
	info := []tarMember{{"info/index.json", string(idx), 0o644}, {"info/paths.json", string(paths), 0o644}}
	infoTar, err := tarZst(info)
	if err != nil {
		return nil, err
	}
	pkgTar, err := tarZst(payload)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"info-" + p.Stem() + ".tar.zst", infoTar},
		{"pkg-" + p.Stem() + ".tar.zst", pkgTar},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Store})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(m.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type tarMember struct {
	name, body string
	mode       int64
}

func tarZst(ms []tarMember) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: m.mode, Size: int64(len(m.body)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
