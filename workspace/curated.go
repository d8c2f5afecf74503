package workspace

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/envkit/envkit/hash"
	"github.com/envkit/envkit/spec"
)

// curatedFS is the catalog of curated environments shipped inside envkit:
// curated/NAME/environment.yml and the conda file it names. The files have
// no name: key (spec refuses the reserved names in files); the catalog
// gives each its name and version.
//
//go:embed curated
var curatedFS embed.FS

// catalog lists the curated environments. A new definition of one is a new
// version: the old entry stays.
var catalog = []struct {
	Name, Version string
	Created       time.Time
}{
	{"AzureML-minimal-ubuntu22.04-py311-cpu", "1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	{"AzureML-sklearn-1.5-ubuntu22.04-py311-cpu", "1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	{"AzureML-pytorch-2.3-ubuntu22.04-py311-cpu", "1", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
}

// Curated returns the curated environments' records, ordered by name.
func Curated() []Record {
	var out []Record
	for _, c := range catalog {
		d, err := loadCurated(c.Name, c.Version, c.Created)
		if err != nil {
			panic(err) // the catalog is tested: every entry loads
		}
		out = append(out, d.Record)
	}
	sortRecords(out)
	return out
}

// CuratedVersion returns the record of the curated version ref names
// (NAME:VERSION or NAME@latest).
func CuratedVersion(ref Ref) (Record, error) {
	d, err := curatedDefinition(ref)
	if err != nil {
		return Record{}, err
	}
	return d.Record, nil
}

// curatedDefinition returns the curated version ref names (NAME:VERSION or
// NAME@latest).
func curatedDefinition(ref Ref) (*Definition, error) {
	var versions []Record
	for _, c := range catalog {
		if c.Name != ref.Name {
			continue
		}
		if !ref.Latest && c.Version == ref.Version {
			return loadCurated(c.Name, c.Version, c.Created)
		}
		versions = append(versions, Record{Name: c.Name, Version: c.Version, Created: c.Created})
	}
	if len(versions) == 0 {
		return nil, errorf(ErrNotFound, "no curated environment is named %s (envkit env list --curated lists them)", ref.Name)
	}
	if !ref.Latest {
		return nil, errorf(ErrNotFound, "curated environment %s has no version %s", ref.Name, ref.Version)
	}
	r, _ := latest(versions)
	for _, c := range catalog {
		if c.Name == r.Name && c.Version == r.Version {
			return loadCurated(c.Name, c.Version, c.Created)
		}
	}
	panic("unreachable")
}

func loadCurated(name, version string, created time.Time) (*Definition, error) {
	dir, err := fs.Sub(curatedFS, "curated/"+name)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(dir, "environment.yml")
	if err != nil {
		return nil, fmt.Errorf("curated %s: %w", name, err)
	}
	env, err := spec.Load("environment.yml", data, dir)
	if err != nil {
		return nil, fmt.Errorf("curated %s: %w", name, err)
	}
	h, err := hash.Compute(env, nil)
	if err != nil {
		return nil, fmt.Errorf("curated %s: %w", name, err)
	}
	d := &Definition{
		Record: Record{Name: name, Version: version, Hash: hash.Short(h), Kind: spec.Curated,
			Created: created, Description: env.Description, Tags: map[string]string{}},
		EnvFile: "environment.yml",
		Files:   []File{{Path: "environment.yml", Mode: 0o644, Data: data}},
	}
	for _, kv := range env.Tags {
		d.Tags[kv.Key] = kv.Value
	}
	if env.CondaFile != "" {
		cd, err := fs.ReadFile(dir, path.Clean(env.CondaFile))
		if err != nil {
			return nil, fmt.Errorf("curated %s: %w", name, err)
		}
		d.Files = append(d.Files, File{Path: path.Clean(env.CondaFile), Mode: 0o644, Data: cd})
	}
	return d, nil
}

// Clone writes an editable copy of the curated environment ref (NAME,
// NAME:VERSION or NAME@latest) into dir, which must not exist or be empty,
// named newName, version 1. It returns the environment file's path.
func Clone(ref Ref, newName, dir string) (string, error) {
	if !IsReserved(ref.Name) {
		return "", fmt.Errorf("%s is not a curated environment (clone copies curated ones; a registered one's files are shown by envkit env show)", ref.Name)
	}
	if err := checkName(newName); err != nil {
		return "", err
	}
	if IsReserved(newName) {
		return "", errorf(ErrReserved, "new name %q: names starting with %s are reserved for curated environments", newName, strings.Join(reservedPrefixes, " or "))
	}
	def, err := curatedDefinition(ref)
	if err != nil {
		return "", err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("%s exists and is not empty; give another directory", dir)
	}
	for i, f := range def.Files {
		if f.Path == def.EnvFile {
			def.Files[i].Data = withName(f.Data, newName, def.Name, def.Version)
		}
	}
	file, err := def.WriteFiles(dir)
	if err != nil {
		return "", err
	}
	// The copy must read back as a valid environment of its own.
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	if _, err := spec.Load(file, data, os.DirFS(filepath.Dir(file))); err != nil {
		return "", fmt.Errorf("the copy does not load: %w", err)
	}
	return file, nil
}

// withName puts name: and version: keys after the leading comment lines of
// an environment file and says where the copy came from.
func withName(data []byte, name, from, fromVersion string) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], "#") {
		i++
	}
	head := fmt.Sprintf("# Cloned from the curated environment %s:%s.\nname: %s\nversion: \"1\"\n", from, fromVersion, yamlString(name))
	return []byte(strings.Join(lines[:i], "") + head + strings.Join(lines[i:], ""))
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	if strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(s) != s {
		return fmt.Sprintf("%q", s)
	}
	return s
}
