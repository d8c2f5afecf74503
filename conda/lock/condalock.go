package lock

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"gopkg.in/yaml.v3"
)

// The keys of conda-lock v1 (conda-lock-v1.schema.json). "constrains" in
// a package is a mamba extension, kept as the record's constrains (but not
// written: conda-lock rejects unknown keys).
var (
	clTopKeys     = []string{"version", "metadata", "package"}
	clMetaKeys    = []string{"content_hash", "channels", "platforms", "sources", "time_metadata", "git_metadata", "inputs_metadata", "custom_metadata"}
	clMetaNeed    = []string{"content_hash", "channels", "platforms", "sources"}
	clPackageKeys = []string{"name", "version", "manager", "platform", "dependencies", "url", "hash", "source", "build", "category", "optional", "constrains", "noarch", "size", "license"}
	clPackageNeed = []string{"name", "version", "manager", "platform", "url", "hash"}
)

// ReadCondaLock reads a conda-lock v1 file (conda-lock.yml, CEP 37). Each
// problem is reported with the file, line and field. As mamba does, a
// package without "optional" is taken as not optional. Packages come back in
// the canonical order (conda first, then by name, platform, category).
func ReadCondaLock(file string, data []byte) (*Lock, error) {
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	return readCondaLock(file, root)
}

func readCondaLock(file string, root *yaml.Node) (*Lock, error) {
	d := &decoder{file: file}
	if root == nil {
		d.fail(nil, "", "empty file: not a conda-lock file")
		return nil, d.err()
	}
	top := d.fields(root, "", clTopKeys, []string{"metadata", "package"})
	if top == nil {
		return nil, d.err()
	}
	if v := top["version"]; v != nil {
		if n, ok := d.integer(v, "version"); ok && n != 1 {
			d.fail(v, "version", "unsupported conda-lock version %d (want 1)", n)
		}
	}
	l := &Lock{}
	if top["metadata"] != nil {
		d.readCondaLockMeta(top["metadata"], l)
	}
	type key struct{ name, manager, platform, category string }
	seen := map[key]bool{}
	for i, n := range d.list(top["package"], "package") {
		p := d.readCondaLockPackage(n, item("package", i), l.Platforms)
		if p == nil {
			continue
		}
		k := key{p.Name, string(p.Manager), p.Platform, p.Category}
		if seen[k] {
			d.fail(n, item("package", i), "%s package %s is listed twice for %s in category %s", p.Manager, p.Name, p.Platform, p.Category)
		}
		seen[k] = true
		l.Packages = append(l.Packages, p)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	sortPackages(l.Packages)
	l.Skipped = d.skipped
	return l, nil
}

func (d *decoder) readCondaLockMeta(n *yaml.Node, l *Lock) {
	m := d.fields(n, "metadata", clMetaKeys, clMetaNeed)
	if m == nil {
		return
	}
	l.ContentHash = d.strMap(m["content_hash"], "metadata.content_hash")
	l.Platforms = d.strList(m["platforms"], "metadata.platforms")
	slices.Sort(l.Platforms)
	l.Sources = d.strList(m["sources"], "metadata.sources")
	for i, c := range d.list(m["channels"], "metadata.channels") {
		field := item("metadata.channels", i)
		if c.Kind == yaml.ScalarNode { // older conda-lock wrote bare names
			l.Channels = append(l.Channels, Channel{URL: d.str(c, field), UsedEnvVars: []string{}})
			continue
		}
		cm := d.fields(c, field, []string{"url", "used_env_vars"}, []string{"url"})
		if cm != nil {
			l.Channels = append(l.Channels, Channel{
				URL:         d.str(cm["url"], sub(field, "url")),
				UsedEnvVars: d.strList(cm["used_env_vars"], sub(field, "used_env_vars")),
			})
		}
	}
	if l.Channels == nil {
		l.Channels = []Channel{}
	}
}

func (d *decoder) readCondaLockPackage(n *yaml.Node, field string, platforms []string) *Package {
	nerr := len(d.errs)
	m := d.fields(n, field, clPackageKeys, clPackageNeed)
	if m == nil {
		return nil
	}
	p := &Package{
		Name:         d.str(m["name"], sub(field, "name")),
		Version:      d.str(m["version"], sub(field, "version")),
		Manager:      Manager(d.str(m["manager"], sub(field, "manager"))),
		Platform:     d.str(m["platform"], sub(field, "platform")),
		URL:          d.str(m["url"], sub(field, "url")),
		Dependencies: d.strMap(m["dependencies"], sub(field, "dependencies")),
		Category:     d.optStr(m["category"], sub(field, "category")),
		Optional:     d.boolean(m["optional"], sub(field, "optional")),
	}
	if m["category"] == nil {
		p.Category = MainCategory
	} else if p.Category == "" {
		d.fail(m["category"], sub(field, "category"), "must not be empty")
	}
	// A package whose digests or file name cannot be trusted is skipped,
	// once the file's structure is known to be sound.
	var (
		skipNode  *yaml.Node
		skipField string
		skipErr   error
	)
	if h := m["hash"]; h != nil {
		hm := d.fields(h, sub(field, "hash"), []string{"md5", "sha256"}, nil)
		md5 := d.optStr(hm["md5"], sub(field, "hash.md5"))
		sha256 := d.optStr(hm["sha256"], sub(field, "hash.sha256"))
		var f string
		if p.MD5, p.SHA256, f, skipErr = checkDigests(md5, sha256); skipErr != nil {
			skipNode, skipField = hm[f], sub(field, "hash."+f)
		}
	}
	if s := m["source"]; !isNull(s) {
		sm := d.fields(s, sub(field, "source"), []string{"type", "url"}, []string{"type", "url"})
		if t := d.str(sm["type"], sub(field, "source.type")); sm["type"] != nil && t != "url" {
			d.fail(sm["type"], sub(field, "source.type"), "must be url, not %q", t)
		}
	}
	if m["platform"] != nil && p.Platform != "" && len(platforms) > 0 && !slices.Contains(platforms, p.Platform) {
		d.fail(m["platform"], sub(field, "platform"), "%q is not one of metadata.platforms %v", p.Platform, platforms)
	}
	switch p.Manager {
	case Conda:
		if len(d.errs) == nerr && skipErr == nil {
			var err error
			if p.Record, err = d.condaLockRecord(p, m, field); err != nil {
				skipNode, skipField, skipErr = m["url"], sub(field, "url"), err
			}
		}
	case Pip:
		if len(d.errs) == nerr && skipErr == nil {
			if err := ValidPipFile(p.Name, p.Version, p.URL); err != nil {
				skipNode, skipField, skipErr = m["url"], sub(field, "url"), err
			}
		}
	default:
		if m["manager"] != nil {
			d.fail(m["manager"], sub(field, "manager"), "must be conda or pip, not %q", p.Manager)
		}
	}
	if len(d.errs) != nerr {
		return nil
	}
	if skipErr != nil {
		d.skip(skipNode, skipField, p.Platform, p.Name, skipErr)
		return nil
	}
	return p
}

// condaLockRecord builds a conda package's record from its URL and the
// fields conda-lock keeps. It fails, for the package to be skipped, when
// the URL's file name is not the package's plain name-version-build
// (record.ValidFileName); other problems are reported to d.
func (d *decoder) condaLockRecord(p *Package, m map[string]*yaml.Node, field string) (*record.RepoDataRecord, error) {
	r, err := recordFromURL(p.URL)
	if err != nil {
		return nil, err
	}
	v, err := version.Parse(p.Version)
	if err != nil {
		d.fail(m["version"], sub(field, "version"), "%v", err)
		return nil, nil
	}
	r.Name, r.Version = p.Name, v
	if b := d.optStr(m["build"], sub(field, "build")); b != "" {
		r.Build = b
	}
	if err := record.ValidFileName(r.FileName, &r.PackageRecord); err != nil {
		return nil, err
	}
	r.MD5, r.SHA256 = p.MD5, p.SHA256
	// envkit's extensions: what linking needs (noarch: python packages are
	// placed by the environment's Python) and what the layer budget groups
	// by (size), so that installing from a lock gives the layers a solve
	// gives.
	if n := m["noarch"]; n != nil {
		t, err := record.ParseNoarch(d.optStr(n, sub(field, "noarch")))
		if err != nil {
			d.fail(n, sub(field, "noarch"), "%v", err)
			return nil, nil
		}
		r.Noarch = t
	}
	if sz := m["size"]; sz != nil {
		v, ok := d.integer(sz, sub(field, "size"))
		if !ok {
			return nil, nil
		}
		if v < 0 {
			d.fail(sz, sub(field, "size"), "must not be negative")
			return nil, nil
		}
		r.Size = v
	}
	// and the licence, for the bill of materials of an image installed
	// from the lock.
	r.License = d.optStr(m["license"], sub(field, "license"))
	r.Depends = dependsList(p.Dependencies)
	if c := m["constrains"]; c != nil {
		r.Constrains = dependsList(d.strMap(c, sub(field, "constrains")))
	}
	return r, nil
}

// conda-lock v1 as written: keys in the order of CEP 37's example.
type (
	clFile struct {
		Version  int         `yaml:"version"`
		Metadata clMeta      `yaml:"metadata"`
		Package  []clPackage `yaml:"package"`
	}
	clMeta struct {
		ContentHash map[string]string `yaml:"content_hash"`
		Channels    []clChannel       `yaml:"channels"`
		Platforms   []string          `yaml:"platforms"`
		Sources     []string          `yaml:"sources"`
	}
	clChannel struct {
		URL         string   `yaml:"url"`
		UsedEnvVars []string `yaml:"used_env_vars"`
	}
	clPackage struct {
		Name         string            `yaml:"name"`
		Version      string            `yaml:"version"`
		Manager      Manager           `yaml:"manager"`
		Platform     string            `yaml:"platform"`
		Dependencies map[string]string `yaml:"dependencies"`
		URL          string            `yaml:"url"`
		Hash         clHash            `yaml:"hash"`
		Build        string            `yaml:"build,omitempty"`
		Noarch       string            `yaml:"noarch,omitempty"`
		Size         int64             `yaml:"size,omitempty"`
		License      string            `yaml:"license,omitempty"`
		Category     string            `yaml:"category"`
		Optional     bool              `yaml:"optional"`
	}
	clHash struct {
		MD5    string `yaml:"md5,omitempty"`
		SHA256 string `yaml:"sha256,omitempty"`
	}
)

const condaLockHeader = `# This lock file was generated by envkit. DO NOT EDIT!
# It is a conda-lock v1 file (CEP 37): install it with envkit, conda-lock or micromamba.
`

// WriteCondaLock writes l as a conda-lock v1 file. The output is
// deterministic: platforms and packages sorted (conda first, then by name,
// platform and category), maps by key; channels keep their priority order.
func WriteCondaLock(w io.Writer, l *Lock) error {
	f := clFile{Version: 1, Metadata: clMeta{
		ContentHash: l.ContentHash,
		Platforms:   slices.Sorted(slices.Values(l.Platforms)),
		Sources:     l.Sources,
		Channels:    make([]clChannel, 0, len(l.Channels)),
	}}
	if f.Metadata.ContentHash == nil {
		f.Metadata.ContentHash = map[string]string{}
	}
	if f.Metadata.Sources == nil {
		f.Metadata.Sources = []string{}
	}
	for _, c := range l.Channels {
		f.Metadata.Channels = append(f.Metadata.Channels, clChannel{URL: c.URL, UsedEnvVars: nonNil(c.UsedEnvVars)})
	}
	pkgs := slices.Clone(l.Packages)
	sortPackages(pkgs)
	f.Package = make([]clPackage, 0, len(pkgs))
	for _, p := range pkgs {
		if p.Name == "" || p.URL == "" || (p.Manager != Conda && p.Manager != Pip) || !slices.Contains(l.Platforms, p.Platform) {
			return fmt.Errorf("lock: cannot write package %q (%s, %s): it needs a name, url, manager conda or pip, and a platform of the lock", p.Name, p.Manager, p.Platform)
		}
		cp := clPackage{
			Name: p.Name, Version: p.Version, Manager: p.Manager, Platform: p.Platform,
			Dependencies: p.Dependencies, URL: p.URL, Hash: clHash{MD5: p.MD5, SHA256: p.SHA256},
			Category: p.Category, Optional: p.Optional,
		}
		if cp.Dependencies == nil {
			cp.Dependencies = map[string]string{}
		}
		if cp.Category == "" {
			cp.Category = MainCategory
		}
		if p.Record != nil {
			cp.Build, cp.Noarch, cp.Size, cp.License = p.Record.Build, string(p.Record.Noarch), p.Record.Size, p.Record.License
		}
		f.Package = append(f.Package, cp)
	}
	var buf bytes.Buffer
	buf.WriteString(condaLockHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
