package lock

import (
	"fmt"

	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/conda/version"
	"gopkg.in/yaml.v3"
)

// ReadMambaJS reads the JSON lock of mambajs (emscripten-forge), version
// 1.0.0: one platform, channels by name with their URLs in channelInfo,
// and packages keyed by file name with name, version, build, subdir and
// channel. It has no hashes, so Records refuses it until the records are
// completed from repodata. Its pip packages are left out with a note.
func ReadMambaJS(file string, data []byte) (*Lock, error) {
	root, err := parseYAML(file, data) // JSON is YAML; positions come for free
	if err != nil {
		return nil, err
	}
	return readMambaJS(file, root)
}

func readMambaJS(file string, root *yaml.Node) (*Lock, error) {
	d := &decoder{file: file}
	if root == nil {
		d.fail(nil, "", "empty file: not a mambajs lock")
		return nil, d.err()
	}
	top := d.fields(root, "", nil, []string{"lockVersion", "platform", "channels", "channelInfo", "packages"})
	if top == nil {
		return nil, d.err()
	}
	if v := d.str(top["lockVersion"], "lockVersion"); top["lockVersion"] != nil && v != "1.0.0" {
		d.fail(top["lockVersion"], "lockVersion", "unsupported mambajs lock version %q (want 1.0.0)", v)
		return nil, d.err()
	}
	platform := d.str(top["platform"], "platform")
	l := &Lock{ContentHash: map[string]string{}, Channels: []Channel{}}
	if platform != "" {
		l.Platforms = []string{platform}
	}
	// A channel name's first URL is where its packages are.
	base := map[string]string{}
	info := d.fields(top["channelInfo"], "channelInfo", nil, nil)
	for _, name := range d.strList(top["channels"], "channels") {
		field := sub("channelInfo", name)
		urls := d.list(info[name], field)
		if len(urls) == 0 {
			d.fail(top["channelInfo"], field, "channel %s has no URL", name)
			continue
		}
		m := d.fields(urls[0], item(field, 0), nil, []string{"url"})
		base[name] = d.str(m["url"], sub(item(field, 0), "url"))
		l.Channels = append(l.Channels, Channel{URL: base[name], UsedEnvVars: []string{}})
	}
	pkgs := resolve(top["packages"])
	if pkgs != nil && pkgs.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(pkgs.Content); i += 2 {
			fn, n := pkgs.Content[i].Value, pkgs.Content[i+1]
			field := sub("packages", fn)
			nerr := len(d.errs)
			m := d.fields(n, field, nil, []string{"name", "version", "build", "subdir", "channel"})
			if m == nil || len(d.errs) != nerr {
				continue
			}
			ch := d.str(m["channel"], sub(field, "channel"))
			if _, ok := base[ch]; !ok {
				d.fail(m["channel"], sub(field, "channel"), "channel %q is not in channels", ch)
				continue
			}
			name := d.str(m["name"], sub(field, "name"))
			subdir := d.str(m["subdir"], sub(field, "subdir"))
			r, err := recordFromURL(base[ch] + "/" + subdir + "/" + fn)
			if err != nil {
				d.skip(pkgs.Content[i], field, platform, name, err)
				continue
			}
			r.Name = name
			r.Build = d.str(m["build"], sub(field, "build"))
			if r.Version, err = version.Parse(d.str(m["version"], sub(field, "version"))); err != nil {
				d.fail(m["version"], sub(field, "version"), "%v", err)
				continue
			}
			// The key is the file name, under a conda subdir of the channel.
			if err := record.ValidFileName(fn, &r.PackageRecord); err != nil || r.FileName != fn || r.Subdir != subdir {
				if err == nil {
					err = fmt.Errorf("subdir %q is not a conda subdir", subdir)
				}
				d.skip(pkgs.Content[i], field, platform, name, err)
				continue
			}
			l.Packages = append(l.Packages, condaPackage(r, platform, MainCategory, false))
		}
	} else {
		d.fields(pkgs, "packages", nil, nil) // reports the wrong kind
	}
	if pip := resolve(top["pipPackages"]); pip != nil && pip.Kind == yaml.MappingNode && len(pip.Content) > 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("left out %d pip packages", len(pip.Content)/2))
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	sortPackages(l.Packages)
	l.Skipped = d.skipped
	return l, nil
}
