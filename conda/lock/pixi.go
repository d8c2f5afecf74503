package lock

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"gopkg.in/yaml.v3"
)

// ReadPixi reads a pixi.lock file (format version 6 or 7) and returns one
// Lock per environment. Binary conda packages come with the full record
// pixi keeps (depends, constrains, license, size, timestamp...); PyPI
// packages come as pip packages. Source packages (pixi builds them, v6
// "conda: <path>", v7 "conda_source:") are left out with a note in
// Lock.Notes. Pixi records no content hash, so ContentHash is empty.
// Platforms are subdirs: a v7 platform named "linux-64-cuda" with subdir
// "linux-64" becomes "linux-64".
func ReadPixi(file string, data []byte) (map[string]*Lock, error) {
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	return readPixi(file, root)
}

func readPixi(file string, root *yaml.Node) (map[string]*Lock, error) {
	d := &decoder{file: file}
	envs := d.readPixi(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	return envs, nil
}

// pixiIndex holds the packages list of a pixi.lock by URL.
type pixiIndex struct {
	conda map[string]*record.RepoDataRecord
	pypi  map[string]*Package
	// skipped are the packages left out, by URL (see Lock.Skipped); an
	// environment that selects one records it for its platform.
	skipped map[string]Skipped
}

func (d *decoder) readPixi(root *yaml.Node) map[string]*Lock {
	if root == nil {
		d.fail(nil, "", "empty file: not a pixi.lock")
		return nil
	}
	top := d.fields(root, "", nil, []string{"version", "environments"})
	if top == nil || top["version"] == nil {
		return nil
	}
	v, ok := d.integer(top["version"], "version")
	if !ok {
		return nil
	}
	if v != 6 && v != 7 {
		d.fail(top["version"], "version", "unsupported pixi.lock version %d (want 6 or 7)", v)
		return nil
	}
	// v7 names platforms and maps each to a subdir; v6 uses subdirs.
	var subdirs map[string]string
	if v == 7 {
		subdirs = map[string]string{}
		for i, n := range d.list(top["platforms"], "platforms") {
			field := item("platforms", i)
			m := d.fields(n, field, nil, []string{"name"})
			name := d.str(m["name"], sub(field, "name"))
			subdirs[name] = name
			if s := d.optStr(m["subdir"], sub(field, "subdir")); s != "" {
				subdirs[name] = s
			}
		}
	}
	idx := pixiIndex{conda: map[string]*record.RepoDataRecord{}, pypi: map[string]*Package{}, skipped: map[string]Skipped{}}
	for i, n := range d.list(top["packages"], "packages") {
		d.readPixiPackage(n, item("packages", i), idx)
	}
	envNode := resolve(top["environments"])
	out := map[string]*Lock{}
	if envNode == nil || envNode.Kind != yaml.MappingNode {
		d.fields(envNode, "environments", nil, nil) // reports the wrong kind
		return out
	}
	for i := 0; i+1 < len(envNode.Content); i += 2 {
		name := envNode.Content[i].Value
		out[name] = d.readPixiEnv(resolve(envNode.Content[i+1]), sub("environments", name), subdirs, idx)
	}
	return out
}

// readPixiPackage indexes one entry of the packages list.
func (d *decoder) readPixiPackage(n *yaml.Node, field string, idx pixiIndex) {
	m := d.fields(n, field, nil, nil)
	switch {
	case m == nil:
	case m["conda"] != nil:
		u := d.str(m["conda"], sub(field, "conda"))
		if !isArchive(u) {
			return // a v6 source package
		}
		if _, skipped := idx.skipped[u]; skipped || idx.conda[u] != nil {
			d.fail(m["conda"], sub(field, "conda"), "package %s is listed twice", u)
			return
		}
		nerr := len(d.errs)
		r, skip := d.pixiRecord(u, m, field)
		switch {
		case len(d.errs) != nerr:
		case skip != nil:
			idx.skipped[u] = *skip
		default:
			idx.conda[u] = r
		}
	case m["conda_source"] != nil:
	case m["pypi"] != nil && !strings.Contains(m["pypi"].Value, "://"):
		// A path: a source package pixi builds.
	case m["pypi"] != nil:
		u := d.str(m["pypi"], sub(field, "pypi"))
		p := &Package{
			Name:     d.str(m["name"], sub(field, "name")),
			Version:  d.optStr(m["version"], sub(field, "version")),
			Manager:  Pip,
			URL:      u,
			Category: MainCategory,
		}
		if m["name"] == nil {
			d.fail(n, sub(field, "name"), "required field is missing")
		}
		p.Dependencies = dependencyMap(d.strList(m["requires_dist"], sub(field, "requires_dist")))
		var f string
		var err error
		if p.MD5, p.SHA256, f, err = checkDigests(d.optStr(m["md5"], sub(field, "md5")), d.optStr(m["sha256"], sub(field, "sha256"))); err != nil {
			idx.skipped[u] = d.skipAt(m[f], sub(field, f), "", p.Name, err)
			return
		}
		if err := ValidPipFile(p.Name, p.Version, u); err != nil {
			idx.skipped[u] = d.skipAt(m["pypi"], sub(field, "pypi"), "", p.Name, err)
			return
		}
		idx.pypi[u] = p
	default:
		d.fail(n, field, "want a conda, conda_source or pypi key")
	}
}

func isArchive(u string) bool {
	return record.ArchiveTypeOf(u) != record.ArchiveUnknown
}

// pixiRecord builds the record of a binary conda package: what the URL
// tells, overridden by the fields pixi wrote. A package whose digests or
// file name cannot be trusted comes back as skipped; other problems are
// reported to d.
func (d *decoder) pixiRecord(u string, m map[string]*yaml.Node, field string) (*record.RepoDataRecord, *Skipped) {
	r, err := recordFromURL(u)
	if err != nil {
		s := d.skipAt(m["conda"], sub(field, "conda"), "", nameOfURL(u), err)
		return nil, &s
	}
	str := func(key string, dst *string) {
		if m[key] != nil {
			*dst = d.optStr(m[key], sub(field, key))
		}
	}
	num := func(key string, dst *int64) {
		if m[key] != nil {
			*dst, _ = d.integer(m[key], sub(field, key))
		}
	}
	str("name", &r.Name)
	str("build", &r.Build)
	str("subdir", &r.Subdir)
	str("channel", &r.Channel)
	r.Channel = strings.TrimSuffix(r.Channel, "/")
	str("md5", &r.MD5)
	str("sha256", &r.SHA256)
	str("license", &r.License)
	str("license_family", &r.LicenseFamily)
	str("features", &r.Features)
	str("arch", &r.Arch)
	str("platform", &r.Platform)
	str("python_site_packages_path", &r.PythonSitePackagesPath)
	num("build_number", &r.BuildNumber)
	num("size", &r.Size)
	num("timestamp", &r.Timestamp)
	if n := m["version"]; n != nil {
		s := d.str(n, sub(field, "version"))
		v, err := version.Parse(s)
		if err != nil {
			d.fail(n, sub(field, "version"), "%v", err)
		}
		r.Version = v
	}
	if m["depends"] != nil {
		r.Depends = d.strList(m["depends"], sub(field, "depends"))
	}
	if m["constrains"] != nil {
		r.Constrains = d.strList(m["constrains"], sub(field, "constrains"))
	}
	if n := m["track_features"]; n != nil {
		if n.Kind == yaml.SequenceNode {
			r.TrackFeatures = d.strList(n, sub(field, "track_features"))
		} else {
			r.TrackFeatures = strings.FieldsFunc(d.optStr(n, sub(field, "track_features")), func(c rune) bool { return c == ' ' || c == ',' })
		}
	}
	if n := m["noarch"]; n != nil {
		switch s := d.optStr(n, sub(field, "noarch")); s {
		case "", "false":
		case "true", "generic":
			r.Noarch = record.NoarchGeneric
		case "python":
			r.Noarch = record.NoarchPython
		default:
			d.fail(n, sub(field, "noarch"), "unknown noarch type %q (want generic or python)", s)
		}
	}
	var f string
	if r.MD5, r.SHA256, f, err = checkDigests(r.MD5, r.SHA256); err != nil {
		s := d.skipAt(m[f], sub(field, f), "", r.Name, err)
		return nil, &s
	}
	if err := record.ValidFileName(r.FileName, &r.PackageRecord); err != nil {
		s := d.skipAt(m["conda"], sub(field, "conda"), "", r.Name, err)
		return nil, &s
	}
	return r, nil
}

// readPixiEnv builds the Lock of one environment from its package selectors.
func (d *decoder) readPixiEnv(n *yaml.Node, field string, subdirs map[string]string, idx pixiIndex) *Lock {
	l := &Lock{ContentHash: map[string]string{}, Channels: []Channel{}}
	m := d.fields(n, field, nil, nil)
	for i, c := range d.list(m["channels"], sub(field, "channels")) {
		cf := item(sub(field, "channels"), i)
		cm := d.fields(c, cf, nil, []string{"url"})
		l.Channels = append(l.Channels, Channel{
			URL:         strings.TrimSuffix(d.str(cm["url"], sub(cf, "url")), "/"),
			UsedEnvVars: d.strList(cm["used_env_vars"], sub(cf, "used_env_vars")),
		})
	}
	pf := sub(field, "packages")
	pm := resolve(m["packages"])
	if isNull(pm) {
		return l
	}
	if pm.Kind != yaml.MappingNode {
		d.fail(pm, pf, "must be a mapping of platforms to packages, not %s", kind(pm))
		return l
	}
	for i := 0; i+1 < len(pm.Content); i += 2 {
		name := pm.Content[i].Value
		platform := name
		if subdirs != nil {
			var ok bool
			if platform, ok = subdirs[name]; !ok {
				d.fail(pm.Content[i], sub(pf, name), "platform %q is not in platforms", name)
				continue
			}
		}
		if !slices.Contains(l.Platforms, platform) {
			l.Platforms = append(l.Platforms, platform)
		}
		for j, sel := range d.list(pm.Content[i+1], sub(pf, name)) {
			d.addPixiPackage(l, sel, item(sub(pf, name), j), platform, idx)
		}
	}
	slices.Sort(l.Platforms)
	sortPackages(l.Packages)
	return l
}

// addPixiPackage adds the package a selector ({conda: url}, {pypi: url},
// {conda_source: ...}) names.
func (d *decoder) addPixiPackage(l *Lock, sel *yaml.Node, field, platform string, idx pixiIndex) {
	m := d.fields(sel, field, nil, nil)
	switch {
	case m == nil:
	case m["conda"] != nil && isArchive(m["conda"].Value):
		u := d.str(m["conda"], sub(field, "conda"))
		if s, ok := idx.skipped[u]; ok {
			s.Platform = platform
			l.Skipped = append(l.Skipped, s)
			return
		}
		r := idx.conda[u]
		if r == nil {
			d.fail(m["conda"], sub(field, "conda"), "conda package %s is not in packages", u)
			return
		}
		l.Packages = append(l.Packages, condaPackage(cloneRecord(r), platform, MainCategory, false))
	case m["conda"] != nil || m["conda_source"] != nil:
		src := d.optStr(m["conda"], sub(field, "conda")) + d.optStr(m["conda_source"], sub(field, "conda_source"))
		l.Notes = append(l.Notes, fmt.Sprintf("%s: left out source package %s (pixi builds it; only binary packages can be installed)", platform, src))
	case m["pypi"] != nil && !strings.Contains(m["pypi"].Value, "://"):
		l.Notes = append(l.Notes, fmt.Sprintf("%s: left out pypi source package %s (a path: pixi builds it; only files from an index or a URL can be installed)", platform, m["pypi"].Value))
	case m["pypi"] != nil:
		u := d.str(m["pypi"], sub(field, "pypi"))
		if s, ok := idx.skipped[u]; ok {
			s.Platform = platform
			l.Skipped = append(l.Skipped, s)
			return
		}
		p := idx.pypi[u]
		if p == nil {
			d.fail(m["pypi"], sub(field, "pypi"), "pypi package %s is not in packages", u)
			return
		}
		c := *p
		c.Platform = platform
		c.Dependencies = maps.Clone(p.Dependencies)
		l.Packages = append(l.Packages, &c)
	default:
		d.fail(sel, field, "want a conda, conda_source or pypi key")
	}
}
